"""The papers' figures (draw/figures.py) on tiny models: documented sizes, data files, and
the numbers behind them checked against the model's own loss."""
import csv
import json

import mxnet as mx
import numpy as np
import pytest
from PIL import Image

from convdraw.model import ConvDRAW
from draw import figures
from draw.loss import VariationalLoss
from draw.model import DRAW
from draw.visualize import LABEL_HEIGHT

H, W = 12, 10  # not square, not a multiple of 8


@pytest.fixture(scope="module")
def draw_model():
    mx.random.seed(0)
    model = DRAW(image_shape=(1, H, W), num_steps=5, num_recurrent_units=8, latent_dim=3,
                 read_size=2, write_size=3)
    model.initialize(mx.init.Xavier())
    return model


@pytest.fixture(scope="module")
def convdraw_model():
    mx.random.seed(0)
    model = ConvDRAW(image_shape=(1, H, W), num_steps=3, num_latent_maps=2,
                     num_recurrent_maps=4, encoder_maps=3)
    model.initialize(mx.init.Xavier())
    return model


@pytest.fixture(scope="module")
def images():
    return (np.random.RandomState(0).uniform(size=(7, 1, H, W)) > 0.6).astype(np.float32)


def read_csv(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}


def png(path):
    return np.asarray(Image.open(path).convert("RGB"))


def test_available_figures(draw_model, convdraw_model):
    assert figures.available(draw_model) == ("generation", "nearest_training", "reading",
                                             "filterbank", "kl_per_step")
    assert figures.available(convdraw_model) == ("compression", "rate_distortion", "codec",
                                                 "generation", "nearest_training",
                                                 "kl_per_step")
    plain = DRAW(image_shape=(1, H, W), num_steps=2, num_recurrent_units=4, latent_dim=2,
                 attention=False)
    assert figures.available(plain) == ("generation", "nearest_training", "kl_per_step")


def test_nearest_training_images_finds_the_closest():
    rng = np.random.RandomState(1)
    train = (rng.uniform(size=(9000, 1, H, W)) > 0.5).astype(np.uint8)  # > one chunk
    samples = np.stack([train[5000], train[17] * 0.9, 1 - train[8999]]).astype(np.float32)
    index, distance = figures.nearest_training_images(samples, mx.nd.array(train,
                                                                              dtype="uint8"))
    assert index[:2].tolist() == [5000, 17]
    assert distance[0] == 0 and distance[1] == pytest.approx(0.01 * train[17].sum())
    brute = ((train.reshape(9000, -1) - samples[2].reshape(1, -1)) ** 2).sum(1)
    assert distance[2] == pytest.approx(brute.min()) and brute[index[2]] == brute.min()


@pytest.mark.parametrize("which", ["draw", "convdraw"])
def test_nearest_training_figure(tmp_path, draw_model, convdraw_model, which):
    """Two rows (samples, their nearest training images) of num_samples tiles, and the
    CSV's indices and distances are those of the samples drawn with the same seed."""
    model = draw_model if which == "draw" else convdraw_model
    train = mx.nd.array((np.random.RandomState(2).uniform(size=(300, 1, H, W)) > 0.5),
                        dtype="uint8")
    written = figures.nearest_training(model, train, str(tmp_path), num_samples=5, seed=4)
    assert [p.rsplit("/", 1)[1] for p in written] == ["nearest_training.png",
                                                      "nearest_training.csv"]
    s = figures.SCALE
    assert png(written[0]).shape == (s * (2 * (H + 1) + 1), s * (5 * (W + 1) + 1), 3)
    rows = read_csv(written[1])
    canvases, _ = model.generate(figures.latent_noise(model, 5, 4))
    index, distance = figures.nearest_training_images(canvases[-1].asnumpy(), train)
    assert rows["train_index"].tolist() == index.tolist()
    np.testing.assert_allclose(rows["squared_distance"], distance, rtol=1e-6)


@pytest.mark.parametrize("kind", ["draw", "convdraw"])
def test_generation(kind, draw_model, convdraw_model, tmp_path):
    model = draw_model if kind == "draw" else convdraw_model
    paths = figures.generation(model, str(tmp_path), num_samples=3, num_columns=4, seed=1)
    assert [p.split("/")[-1] for p in paths] == ["generation.png", "generation.gif",
                                                 "generation.json"]
    cols = min(4, model.num_steps)
    image = png(paths[0])
    assert image.shape == (2 * (3 * (H + 1) + 1) + LABEL_HEIGHT, 2 * (cols * (W + 1) + 1), 3)
    assert (image[:LABEL_HEIGHT] < 128).any()  # the step labels, dark on white
    red = (image[..., 0] == 255) & (image[..., 1] == 0) & (image[..., 2] == 0)
    assert red.any() == (kind == "draw")  # the write window
    assert Image.open(paths[1]).n_frames == model.num_steps
    info = json.load(open(paths[2]))
    assert info["steps"][0] == 1 and info["steps"][-1] == model.num_steps
    assert len(info["steps"]) == cols and info["seed"] == 1
    if kind == "draw":
        assert len(info["write_windows"]) == 3 and len(info["write_windows"][0]) == cols
        assert set(info["write_windows"][0][0]) == {"step", "gx", "gy", "sigma", "delta",
                                                     "gamma"}
    # deterministic for a seed, different for another
    for name, seed, same in (("again", 1, True), ("other", 2, False)):
        (tmp_path / name).mkdir()
        path = figures.generation(model, str(tmp_path / name), num_samples=3,
                                  num_columns=4, seed=seed)[0]
        assert (png(path) == image).all() == same


def test_reading(draw_model, images, tmp_path):
    paths = figures.reading(draw_model, images[:3], str(tmp_path), seed=0)
    assert [p.split("/")[-1] for p in paths] == ["reading.png", "reading.gif", "reading.csv"]
    assert Image.open(paths[0]).size == (500, 3 * 250)
    gif = Image.open(paths[1])
    assert gif.n_frames == draw_model.num_steps
    assert gif.size == (2 * 2 * (W + 2), 2 * (3 * (H + 1) + 1))  # inputs | canvases
    table = read_csv(paths[2])
    assert len(table["step"]) == 3 * draw_model.num_steps
    # the windows in the CSV are the trace's
    out = draw_model.trace(mx.nd.array(images[:3]),
                           figures.latent_noise(draw_model, 3, 0))
    reads = out["read_windows"].asnumpy()
    np.testing.assert_allclose(table["read_gx"][:draw_model.num_steps], reads[:, 0, 0],
                               rtol=1e-5)
    np.testing.assert_allclose(table["read_sigma"][:draw_model.num_steps],
                               np.exp(reads[:, 0, 2] / 2), rtol=1e-5)


def test_filterbank(images, tmp_path):
    paths = figures.filterbank(images[0], str(tmp_path), glimpses=4)
    assert Image.open(paths[0]).size == (800, 400)
    info = json.load(open(paths[1]))
    assert len(info["windows"]) == 3
    for window in info["windows"]:
        assert np.array(window["patch"]).shape == (1, 4, 4)
        assert len(window["centres_x"]) == 4


def test_extract_patch_with_unit_stride_and_tiny_sigma_is_a_crop():
    """Filters on pixel centres with sigma -> 0 pick single pixels: the patch is a crop."""
    image = np.random.RandomState(0).uniform(size=(2, H, W)).astype(np.float32)
    xs, ys, patch = figures.extract_patch(image, gx=5.5, gy=6.5, delta=1.0, sigma=0.05,
                                          glimpses=4)
    np.testing.assert_allclose(xs, [4, 5, 6, 7])
    np.testing.assert_allclose(ys, [5, 6, 7, 8])
    np.testing.assert_allclose(patch, image[:, 4:8, 3:7], rtol=1e-5)  # 1-based -> 0-based


@pytest.mark.parametrize("kind", ["draw", "convdraw"])
def test_kl_per_step_sums_to_the_models_kl(kind, draw_model, convdraw_model, images,
                                           tmp_path):
    model = draw_model if kind == "draw" else convdraw_model
    paths = figures.kl_per_step(model, images, str(tmp_path), seed=3, batch_size=4)
    assert Image.open(paths[0]).size == (600, 400)
    table = read_csv(paths[1])
    assert list(table["step"]) == list(range(1, model.num_steps + 1))
    assert (table["kl_nats"] > 0).all() and (table["kl_se"] >= 0).all()
    # the model's KL term on the same passes (batches of 4: seeds 3 and 4)
    kls = []
    for b, start in enumerate((0, 4)):
        x = mx.nd.array(images[start:start + 4])
        outs = model(x, figures.latent_noise(model, len(x), 3 + b))
        kls.append(VariationalLoss()(outs[0], x, *outs[1:])[2].asnumpy())
    np.testing.assert_allclose(table["kl_nats"].sum(), np.concatenate(kls).mean(), rtol=1e-5)


def test_compression_grid_columns(convdraw_model, images, tmp_path):
    """Column k = T is the model's reconstruction with the figure's noise, k = 0 the
    prior sample with the same noise; the picture holds them (uint8, 2x enlarged)."""
    model, n, t = convdraw_model, 3, convdraw_model.num_steps
    paths = figures.compression(model, images[:n], str(tmp_path), seed=5)
    image = png(paths[0])
    assert image.shape == (2 * (n * (H + 1) + 1) + LABEL_HEIGHT,
                           2 * ((t + 2) * (W + 1) + 1), 3)
    eps = figures.latent_noise(model, n, 5)
    recon = mx.nd.sigmoid(model(mx.nd.array(images[:n]), eps)[0]).asnumpy()
    prior = model.generate(eps)[0][-1].asnumpy()
    means, rate, distortion = figures.compression_passes(model, images[:n], eps)
    np.testing.assert_allclose(means[t], recon, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(means[0], prior, rtol=1e-5, atol=1e-6)

    def tile(row, col):  # one grid cell of the PNG, back at 1x
        y, x = LABEL_HEIGHT + 2 * (1 + row * (H + 1)), 2 * (1 + col * (W + 1))
        return image[y:y + 2 * H:2, x:x + 2 * W:2, 0]

    for row in range(n):
        assert (tile(row, 0) == np.round(images[row, 0] * 255)).all()        # the input
        assert np.abs(tile(row, t + 1) - recon[row, 0] * 255).max() <= 0.51  # k = T
        assert np.abs(tile(row, 1) - prior[row, 0] * 255).max() <= 0.51      # k = 0
    info = json.load(open(paths[1]))
    assert info["columns"][0] == "input" and info["columns"][-1] == "k=%d" % t
    assert np.array(info["rate_bits"]).shape == (n, t + 1)
    assert np.array(info["rate_bits"])[:, 0].tolist() == [0.0] * n


def test_rate_distortion(convdraw_model, images, tmp_path):
    """One point per k; rate starts at 0 and never falls; at k = T rate + distortion is
    the negative ELBO of the same pass (in bits)."""
    model, t = convdraw_model, convdraw_model.num_steps
    paths = figures.rate_distortion(model, images, str(tmp_path), seed=2, batch_size=100)
    assert Image.open(paths[0]).size == (600, 400)
    table = read_csv(paths[1])
    assert list(table["k"]) == list(range(t + 1))
    assert table["rate_bits"][0] == 0 and (np.diff(table["rate_bits"]) > 0).all()
    x = mx.nd.array(images)
    outs = model(x, figures.latent_noise(model, len(images), 2))
    elbo = VariationalLoss()(outs[0], x, *outs[1:])[0].asnumpy().mean() / np.log(2)
    np.testing.assert_allclose(table["rate_bits"][t] + table["distortion_bits"][t], elbo,
                               rtol=1e-5)


def test_reading_draws_every_row_asked_for(draw_model, images, tmp_path):
    paths = figures.reading(draw_model, images[:6], str(tmp_path), seed=0)
    assert Image.open(paths[0]).size == (500, 6 * 250)


def test_codec_points(convdraw_model, images):
    """Rates grow with k; with every step sent (k = T) both decodings are the
    reconstruction; at k = 0 the mean decoding is the prior's mean, whatever the seed."""
    rate, sampled, mean = figures.codec_points(convdraw_model, images[:5], seed=2,
                                               batch_size=3)
    t = convdraw_model.num_steps
    assert rate.shape == sampled.shape == mean.shape == (t + 1, 5)
    assert (rate[0] == 0).all() and (np.diff(rate, axis=0) >= -1e-5).all()
    np.testing.assert_allclose(sampled[t], mean[t], rtol=1e-5)
    _, _, again = figures.codec_points(convdraw_model, images[:5], seed=7)
    np.testing.assert_allclose(again[0], mean[0], rtol=1e-5)
    means, _, _ = figures.compression_passes(convdraw_model, images[:3],  # batch 1
                                             figures.latent_noise(convdraw_model, 3, 2))
    np.testing.assert_allclose(sampled[:, :3], ((means[:, :3] - images[None, :3]) ** 2)
                               .reshape(t + 1, 3, -1).mean(axis=2), rtol=1e-5)


def test_codec_figure(convdraw_model, images, tmp_path):
    """The CSV holds ConvDRAW's k = 0..T both ways and every JPEG / JPEG2000 setting,
    sizes of real encoded files (whole >= payload), and the two pictures exist."""
    paths = figures.codec(convdraw_model, images[:4], str(tmp_path), seed=1,
                          jpeg_qualities=(10, 90), j2k_ratios=(1.2, 3.0), num_shown=3)
    assert [p.rsplit("/", 1)[1] for p in paths] == ["codec.png", "codec_grid.png",
                                                    "codec.csv"]
    rows = list(csv.DictReader(open(paths[2])))
    t = convdraw_model.num_steps
    methods = [r["method"] for r in rows]
    assert methods.count("convdraw_prior_sample") == methods.count("convdraw_prior_mean") \
        == t + 1
    assert methods.count("jpeg") == 2 and methods.count("jpeg2000") == 2
    for r in rows:
        assert float(r["bits_per_image"]) >= float(r["payload_bits_per_image"]) >= 0
    from draw import codecs
    sizes = [8 * len(codecs.encode(image[0], "jpeg", 10)[0]) for image in images[:4]]
    jpeg10 = [r for r in rows if r["method"] == "jpeg" and r["setting"] == "10"][0]
    assert float(jpeg10["bits_per_image"]) == pytest.approx(np.mean(sizes))
    assert Image.open(paths[0]).size == (600, 400)
