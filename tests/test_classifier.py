"""The DRAW paper's classifier (draw/classifier.py, "Differentiable RAM"): its forward
pass against NumPy written from the equations, hybridized == imperative, sizes that are
not multiples of 8, bad settings."""
import json

import mxnet as mx
import numpy as np
import pytest

from draw.classifier import DRAWClassifier

from . import reference as ref
from .helpers import assert_hybrid_matches, tiny_classifier

SHAPE, T, N, U, K = (1, 20, 30), 3, 5, 12, 7  # not multiples of 8 or 16


@pytest.fixture
def model():
    net = tiny_classifier(SHAPE, T, N, U, K)
    rs = np.random.RandomState(1)  # non-trivial initial states and attention
    for name, p in net._collect_params_with_prefix().items():
        if name.endswith(("h0", "c0", "loc.weight")):
            p.set_data(mx.nd.array(rs.normal(0, 0.3, p.shape)))
    return net


def _numpy_forward(params, x):
    """The equations, one example at a time."""
    logits, windows = [], []
    for xb in x:
        h, c = params["h0"], params["c0"]
        ws = []
        for _ in range(T):
            raw = (h @ params["glimpse.loc.weight"].T + params["glimpse.loc.bias"])[0]
            g = ref.read(xb, np.zeros_like(xb), raw, N)[:SHAPE[0] * N * N]  # no error image
            h, c = ref.lstm(g[None], h, c, params["lstm.gates.weight"],
                            params["lstm.gates.bias"])
            gx, gy, s2, delta, gamma = ref.params(raw, SHAPE[2], SHAPE[1], N)
            ws.append([gx, gy, np.log(s2), delta, gamma])
        logits.append((h @ params["output.weight"].T + params["output.bias"])[0])
        windows.append(ws)
    return np.array(logits), np.array(windows).transpose(1, 0, 2)


def test_forward_matches_numpy(model):
    x = (np.random.RandomState(2).uniform(size=(4,) + SHAPE) > 0.7).astype(np.float32)
    logits, windows = model(mx.nd.array(x))
    assert logits.shape == (4, K) and windows.shape == (T, 4, 5)
    params = {k: p.data().asnumpy().astype(np.float64)
              for k, p in model._collect_params_with_prefix().items()}
    want_logits, want_windows = _numpy_forward(params, x.astype(np.float64))
    np.testing.assert_allclose(logits.asnumpy(), want_logits, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(windows.asnumpy(), want_windows, rtol=1e-4, atol=1e-4)


def test_hybridized_equals_imperative(model):
    x = mx.nd.array(np.random.RandomState(3).uniform(size=(3,) + SHAPE))
    assert_hybrid_matches(model, [x])


def test_config_rebuilds_the_model(model):
    again = DRAWClassifier(**model.config())
    assert again.config() == model.config() and model.kind == "classifier"


@pytest.mark.parametrize("kwargs, message", [
    (dict(num_steps=0), "num_steps must be positive"),
    (dict(glimpse_size=-1), "glimpse_size must be positive"),
    (dict(image_shape=(100, 100)), "image_shape must be (C, H, W)"),
    (dict(image_shape=(1, 20, 30), glimpse_size=31), "glimpse_size 31 larger than the 20x30"),
])
def test_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        DRAWClassifier(**kwargs)


def test_presets_of_the_papers_two_rows():
    import draw
    for name, steps in (("draw_cluttered_4", 4), ("draw_cluttered_8", 8)):
        net = draw.get_model(name)
        assert isinstance(net, DRAWClassifier) and net.num_steps == steps
        assert net.config()["image_shape"] == [1, 100, 100] and net.glimpse_size == 12
        assert draw.model_from_config({"kind": "classifier",
                                       "kwargs": net.config()}).config() == net.config()


def test_glimpse_figure(model, tmp_path):
    """One row of images under a label strip, every glimpse's window drawn in its step's
    colour; the CSV's windows and predictions are the model's."""
    from PIL import Image
    from draw import figures
    from draw.visualize import LABEL_HEIGHT
    x = np.random.RandomState(4).uniform(size=(3,) + SHAPE).astype(np.float32)
    labels = np.array([1, 2, 3])
    paths = figures.glimpses(model, x, labels, str(tmp_path))
    assert [p.rsplit("/", 1)[1] for p in paths] == ["glimpses.png", "glimpses.gif",
                                                    "glimpses.csv"]
    s = figures.SCALE
    image = np.asarray(Image.open(paths[0]).convert("RGB"))
    assert image.shape == (s * (SHAPE[1] + 2) + LABEL_HEIGHT, s * (3 * (SHAPE[2] + 1) + 1), 3)
    assert Image.open(paths[1]).n_frames == T
    import csv
    rows = list(csv.DictReader(open(paths[2])))
    assert len(rows) == 3 * T
    logits, windows = model(mx.nd.array(x))
    predicted = logits.argmax(axis=1).asnumpy().astype(int)
    assert [int(r["predicted"]) for r in rows[::T]] == predicted.tolist()
    assert [int(r["label"]) for r in rows[::T]] == [1, 2, 3]
    np.testing.assert_allclose([float(r["gx"]) for r in rows[:T]],
                               windows.asnumpy()[:, 0, 0], rtol=1e-5)


def test_search_distances_in_closed_form():
    """A window's grid centre g (1-based pixel coordinates) is the point g - 0.5 from the
    image's corner; a digit at top-left pixel (y, x) of side d has its centre at
    (y + d/2, x + d/2)."""
    from draw.figures import search_distances
    positions = np.array([[10, 20], [0, 0], [50, 60]])  # (y, x)
    windows = np.zeros((2, 3, 5))
    windows[0, :, :2] = [[20 + 14.5, 10 + 14.5], [14.5, 14.5], [60 + 14.5 + 3, 50 + 14.5 + 4]]
    windows[1, :, :2] = [[20 + 0.5, 10 + 0.5], [14.5 + 14.01, 14.5], [1.5, 1.5]]
    distance, inside = search_distances(windows, positions, 28)
    np.testing.assert_allclose(distance[0], [0, 0, 5])
    np.testing.assert_allclose(distance[1], [np.hypot(14, 14), 14.01,
                                             np.hypot(60 + 13, 50 + 13)])
    assert inside.tolist() == [[True, True, True], [True, False, False]]


def test_search_figure(model, tmp_path):
    """The numbers are the model's windows and predictions, whatever the batch size;
    found and missed split the images and the errors."""
    from PIL import Image
    from draw import figures
    rs = np.random.RandomState(6)
    n = 23
    x = rs.uniform(size=(n,) + SHAPE).astype(np.float32)
    labels = rs.randint(0, K, size=n)
    positions = np.stack([rs.randint(0, SHAPE[1] - 8, n), rs.randint(0, SHAPE[2] - 8, n)], 1)
    paths = figures.search(model, x, labels, positions, str(tmp_path), digit_size=8,
                           batch_size=5)
    assert [p.rsplit("/", 1)[1] for p in paths] == ["search.png", "search.json"]
    assert Image.open(paths[0]).size == (2 * 100 * figures.PLOT_INCHES[0],
                                         100 * figures.PLOT_INCHES[1])
    info = json.load(open(paths[1]))
    logits, windows = model(mx.nd.array(x))
    wrong = logits.argmax(axis=1).asnumpy().astype(int) != labels
    distance, inside = figures.search_distances(windows.asnumpy(), positions, 8)
    assert info["images"] == n and info["error"] == pytest.approx(wrong.mean())
    assert info["found"]["images"] == inside[-1].sum()
    assert info["found"]["images"] + info["missed"]["images"] == n
    assert info["found"]["errors"] + info["missed"]["errors"] == wrong.sum()
    assert info["missed"]["errors"] == (wrong & ~inside[-1]).sum()
    assert [s["inside_digit_box"] for s in info["steps"]] == pytest.approx(inside.mean(1))
    assert [s["median_distance"] for s in info["steps"]] == \
        pytest.approx(np.median(distance, 1), rel=1e-5)
    bins = info["last_glimpse_by_distance"]
    assert sum(b["images"] for b in bins) == n and sum(b["errors"] for b in bins) == wrong.sum()
    assert [b["from"] for b in bins] == list(figures.SEARCH_BINS) and bins[-1]["to"] is None
    again = json.load(open(figures.search(model, x, labels, positions, str(tmp_path),
                                          digit_size=8, batch_size=100)[1]))
    for key in ("found", "missed", "last_glimpse_by_distance", "error"):
        assert again[key] == info[key]  # one batch or five: the same (up to rounding)
    assert [s["median_distance"] for s in again["steps"]] == \
        pytest.approx([s["median_distance"] for s in info["steps"]], rel=1e-5)


def test_zoom_figure(tmp_path):
    """The glimpse is the filterbank read of the window, and putting it back with the
    transposed filters of a window that tiles the image at full resolution gives the
    image again."""
    from PIL import Image
    from draw import figures
    rs = np.random.RandomState(5)
    image = rs.uniform(size=(1, 12, 12)).astype(np.float32)
    # N = 12 filters one pixel apart with a tiny sigma: the identity
    window = np.array([6.5, 6.5, 2 * np.log(0.05), 1.0, 1.0])
    paths = figures.zoom(image, window, 12, str(tmp_path))
    assert Image.open(paths[0]).size == (800, 400)
    info = json.load(open(paths[1]))
    np.testing.assert_allclose(np.array(info["patch"])[0], image[0], atol=1e-4)
    assert info["window"]["delta"] == 1.0
    raw = rs.normal(size=5)  # any window: the patch is the reference read's
    window = np.array(ref.params(raw, 12, 12, 5), dtype=np.float64)
    window[2] = np.log(window[2])
    paths = figures.zoom(image, window, 5, str(tmp_path))
    want = ref.read(image.astype(np.float64), np.zeros_like(image), raw, 5)[:25]
    np.testing.assert_allclose(np.array(json.load(open(paths[1]))["patch"]).ravel(), want,
                               rtol=1e-4, atol=1e-5)
