"""Cluttered translated MNIST (draw/datasets/cluttered.py): the recipes' ranges and
determinism, the images against a reference drawn pixel by pixel from the recipe, and
the converter on the real MNIST files."""
import json
import os

import numpy as np
import pytest

from draw.datasets import load_dataset
from draw.datasets.cluttered import (CANVAS, CLUTTER, CLUTTER_SIZE, DIGIT, PIECE,
                                     convert_cluttered_mnist, make_recipes, render)

from .conftest import run_script
from .helpers import assert_one_line_error, read_events


def test_recipes_are_seeded_and_in_range():
    a = make_recipes(500, 37, np.random.RandomState(3))
    assert a.shape == (500, 2 + PIECE * CLUTTER) and a.dtype == np.int32
    assert (make_recipes(500, 37, np.random.RandomState(3)) == a).all()
    assert not (make_recipes(500, 37, np.random.RandomState(4)) == a).all()
    digit = a[:, :2]
    assert digit.min() == 0 and digit.max() == CANVAS - DIGIT  # fully inside, every place
    pieces = a[:, 2:].reshape(500, CLUTTER, PIECE)
    assert pieces[..., 0].min() >= 0 and pieces[..., 0].max() < 37
    assert pieces[..., 1:3].min() >= 0 and pieces[..., 1:3].max() == DIGIT - CLUTTER_SIZE
    assert pieces[..., 3:].min() >= 0 and pieces[..., 3:].max() == CANVAS - CLUTTER_SIZE


def _reference(digits, recipe):
    """One image drawn pixel by pixel, as the generator defines it."""
    canvas = [[0.0] * CANVAS for _ in range(CANVAS)]
    for p in range(2, len(recipe), PIECE):
        src, cy, cx, y, x = recipe[p:p + PIECE]
        for i in range(CLUTTER_SIZE):
            for j in range(CLUTTER_SIZE):
                canvas[y + i][x + j] += digits[src][cy + i][cx + j] / 255.0
    canvas = [[min(v, 1.0) for v in row] for row in canvas]
    return canvas


def test_render_matches_the_recipe_pixel_by_pixel():
    rng = np.random.RandomState(0)
    digits = rng.randint(0, 256, size=(6, DIGIT, DIGIT)).astype(np.uint8)
    recipes = make_recipes(6, 6, rng)
    images = render(digits, recipes, [4, 1])
    assert images.shape == (2, 1, CANVAS, CANVAS) and images.dtype == np.float32
    for row, i in enumerate((4, 1)):
        expected = np.array(_reference(digits, recipes[i]))
        y, x = recipes[i][:2]
        expected[y:y + DIGIT, x:x + DIGIT] += digits[i] / 255.0
        np.testing.assert_allclose(images[row, 0], np.clip(expected, 0, 1), atol=1e-6)
    assert images.min() >= 0 and images.max() <= 1


def test_clutter_stays_in_its_pieces():
    """With a blank digit, ink appears only inside the clutter pieces' squares."""
    rng = np.random.RandomState(1)
    digits = np.full((3, DIGIT, DIGIT), 255, dtype=np.uint8)
    digits[0] = 0
    recipes = make_recipes(3, 3, rng)
    recipes[0, 2::PIECE] = 1  # every piece from a full digit
    image = render(digits, recipes, [0])[0, 0]
    mask = np.zeros_like(image, dtype=bool)
    for p in range(2, recipes.shape[1], PIECE):
        y, x = recipes[0, p + 3:p + 5]
        mask[y:y + CLUTTER_SIZE, x:x + CLUTTER_SIZE] = True
    assert (image[mask] == 1).all() and (image[~mask] == 0).all()


@pytest.fixture(scope="module")
def converted(tmp_path_factory, source_dir):
    out = str(tmp_path_factory.mktemp("cluttered"))
    path = convert_cluttered_mnist(out_dir=out, source=source_dir, log=lambda *a: None)
    return out, path


def test_converter_on_the_real_files(converted, source_dir, tmp_path):
    out, path = converted
    arrays, meta = load_dataset(path, require=())
    sizes = {"train": 50000, "val": 10000, "test": 10000}
    for split, n in sizes.items():
        assert arrays[split + "_digits"].shape == (n, DIGIT, DIGIT)
        assert arrays[split + "_y"].shape == (n,)
        recipe = arrays[split + "_recipe"].asnumpy()
        assert recipe.shape == (n, 2 + PIECE * CLUTTER)
        assert recipe[:, 2::PIECE].max() < n  # clutter only from the split's own digits
    assert meta["generator"]["seed"] == 0 and meta["generator"]["clutter"] == CLUTTER
    assert os.path.getsize(path) < 70e6
    # deterministic: a second conversion writes the same arrays
    again = convert_cluttered_mnist(out_dir=str(tmp_path), source=source_dir,
                                    log=lambda *a: None)
    assert json.load(open(again[:-3] + ".json"))["nd_sha256"] == meta["nd_sha256"]
    # the images: the digit is there in full, values in [0, 1], about 9 pieces of ink
    digits = arrays["test_digits"].asnumpy()
    recipe = arrays["test_recipe"].asnumpy()
    images = render(digits, recipe, range(50))
    for i in range(50):
        y, x = recipe[i, :2]
        assert (images[i, 0, y:y + DIGIT, x:x + DIGIT] >= digits[i] / 255.0 - 1e-6).all()
    assert images.min() >= 0 and images.max() <= 1
    # the digits' positions, as a figure takes them: the recipes' of the same subset
    from draw.batches import evaluation_subset
    from draw.config import Environment
    from draw.datasets import load_examples
    from draw.errors import UsageError
    from draw.run import split_images, split_positions
    rendered, _ = load_examples("cluttered_mnist", path, require=("test_position",))
    assert "train_position" not in rendered and "val_position" in rendered
    np.testing.assert_array_equal(rendered["test_position"].asnumpy(), recipe[:, :2])
    env = Environment(data_dir=out, progress=False)
    chosen = evaluation_subset(10000, 7)
    positions = split_positions("cluttered_mnist", "test", 7, env)
    np.testing.assert_array_equal(positions, recipe[chosen, :2])
    images = split_images("cluttered_mnist", "test", 7, env=env).asnumpy()
    for i, (j, (y, x)) in enumerate(zip(chosen, positions)):
        assert (images[i, 0, y:y + DIGIT, x:x + DIGIT] >= digits[j] / 255.0 - 1e-6).all()
    with pytest.raises(UsageError, match="records no digit positions for its train split"):
        split_positions("cluttered_mnist", "train", 7, env)


def test_converter_script_bad_values(tmp_path, source_dir):
    proc = run_script(["data/convert_cluttered_mnist.py", "--clutter", "1000", "--out",
                       str(tmp_path), "--source", source_dir])
    assert_one_line_error(proc, "argument --clutter: must be at most 100")
    proc = run_script(["data/convert_cluttered_mnist.py", "--out", str(tmp_path),
                       "--source", str(tmp_path / "nowhere")])
    assert_one_line_error(proc, "does not exist")
    assert not os.path.exists(str(tmp_path / "cluttered_mnist.nd"))


# ------------------------------------------------------------------ the classifier's run

TINY = ["--num_steps", "3", "--glimpse_size", "5", "--num_recurrent_units", "20",
        "--batch_size", "50", "--max_steps", "30", "--num_val", "300", "--log_every", "10",
        "--hist_every", "0", "--learning_rate", "3e-3", "--no_progress"]


@pytest.fixture(scope="module")
def classifier_run(converted, tmp_path_factory):
    data_dir = converted[0]
    logdir = str(tmp_path_factory.mktemp("clt") / "run")
    proc = run_script(["examples/train_cluttered_mnist.py"] + TINY +
                      ["--logdir", logdir, "--data_dir", data_dir])
    assert proc.returncode == 0, proc.stderr[-3000:]
    return logdir, data_dir, proc


def test_classifier_run_logs_loss_error_and_glimpses(classifier_run):
    logdir, _, proc = classifier_run
    assert "validation error " in proc.stderr and "full validation on 10000 images" in proc.stderr
    assert "training images of cluttered_mnist: each digit at a new position with new " \
        "clutter every epoch" in proc.stderr
    result = json.load(open(os.path.join(logdir, "result.json")))
    assert 0 <= result["error"] <= 1 and result["loss"] > 0 and result["step"] == 30
    assert json.load(open(os.path.join(logdir, "args.json")))["model"]["kind"] == "classifier"
    acc = read_events(logdir)
    tags = acc.Tags()
    assert {"train/loss", "train/error", "train/grad_norm", "train/learning_rate",
            "val/loss", "val/error", "val_full/error"} <= set(tags["scalars"])
    assert "glimpses" in tags["images"] and "samples" not in tags["images"]
    image = acc.Images("glimpses")[-1]  # 8 images of 100x100, twice enlarged, + labels
    assert image.width == 2 * (8 * 101 + 1)
    assert not os.path.exists(os.path.join(logdir, "samples.png"))
    assert [e.step for e in acc.Scalars("train/error")] == [10, 20, 30]


def test_classifier_evaluate_figures_and_export(classifier_run, tmp_path):
    logdir, data_dir, _ = classifier_run
    path = str(tmp_path / "test.json")
    proc = run_script(["examples/evaluate.py", logdir, "--num_images", "400", "--json", path,
                       "--data_dir", data_dir, "--no_progress"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "test split (400 images): error " in proc.stdout and "standard error" in proc.stdout
    result = json.load(open(path))
    e = result["error"]
    assert result["error_se"] == pytest.approx(np.sqrt(e * (1 - e) / 399))
    proc = run_script(["examples/evaluate.py", logdir, "--iw_samples", "5",
                       "--data_dir", data_dir])
    assert_one_line_error(proc, "--iw_samples: the importance-weighted bound is for the "
                                "generative models")
    out = str(tmp_path / "figures")
    proc = run_script(["examples/figures.py", logdir, "--out", out, "--rows", "3",
                       "--data_dir", data_dir, "--no_progress"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert {"glimpses.png", "glimpses.gif", "glimpses.csv", "zoom.png", "zoom.json",
            "search.png", "search.json"} <= set(os.listdir(out))
    search = json.load(open(os.path.join(out, "search.json")))
    assert search["images"] == 100 and search["digit_size"] == DIGIT  # --num_images' default
    weights = str(tmp_path / "weights")
    proc = run_script(["examples/export_pretrained.py", logdir, "--name", "clt", "--out",
                       weights, "--data_dir", data_dir])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "clt: step 30 of " in proc.stdout and "error " in proc.stdout
    record = json.load(open(os.path.join(weights, "clt.json")))
    assert set(record["check"]) >= {"loss", "error"} and "total" not in record["check"]
    import draw
    model = draw.get_model("clt", pretrained=weights)
    assert model.kind == "classifier" and model.num_steps == 3


def test_a_classifier_draws_no_samples(classifier_run, tmp_path):
    logdir, data_dir, _ = classifier_run
    proc = run_script(["examples/sample.py", logdir, "--out", str(tmp_path / "s")])
    assert_one_line_error(proc, "is a DRAW classifier, which draws no samples")
    assert not os.path.exists(str(tmp_path / "s"))


def test_classifier_run_is_resumed_by_its_own_script(classifier_run):
    logdir, data_dir, _ = classifier_run
    proc = run_script(["examples/train_mnist.py", "--resume", logdir, "--data_dir", data_dir])
    assert_one_line_error(proc, "that is a classifier run; resume it with the script that "
                                "trains classifier (examples/train_cluttered_mnist.py)")


@pytest.mark.parametrize("argv, message", [
    (["--glimpse_size", "101"], "bad model settings: glimpse_size 101 larger than the "
                                "100x100 image"),
    (["--num_steps", "0"], "argument --num_steps/-s: must be a positive integer, got 0"),
    (["--batch_size", "60000"], "--batch_size 60000 is larger than the training set (50000)"),
])
def test_classifier_script_bad_values(converted, tmp_path, argv, message):
    logdir = str(tmp_path / "run")
    proc = run_script(["examples/train_cluttered_mnist.py", "--logdir", logdir,
                       "--data_dir", converted[0]] + argv)
    assert_one_line_error(proc, message)
    assert not os.path.exists(os.path.join(logdir, "args.json"))


def test_fresh_clutter_every_epoch_is_seeded():
    """The training images: new clutter every epoch, the same for an epoch however the
    batches are taken (a resumed run sees the uninterrupted run's images)."""
    from draw.batches import BatchIterator
    from draw.datasets.cluttered import FreshClutter
    digits = (np.random.RandomState(0).uniform(size=(30, DIGIT, DIGIT)) > 0.8) * 255
    fresh = FreshClutter(digits.astype(np.uint8), seed=3)
    assert len(fresh) == 30 and fresh.shape == (30, 1, CANVAS, CANVAS)
    first = fresh.take(0, np.arange(30)).asnumpy()
    again = FreshClutter(digits.astype(np.uint8), seed=3)
    np.testing.assert_array_equal(again.take(0, [4, 7]).asnumpy(), first[[4, 7]])
    other = fresh.take(1, np.arange(30)).asnumpy()
    assert not np.array_equal(first, other)  # another epoch, other positions and clutter
    np.testing.assert_array_equal(first, render(digits, fresh.recipes(0), range(30)))
    for e in (0, 1):  # every digit in full, values in [0, 1]
        recipe = fresh.recipes(e)
        images = fresh.take(e, np.arange(30)).asnumpy()
        for i in range(30):
            y, x = recipe[i, :2]
            assert (images[i, 0, y:y + DIGIT, x:x + DIGIT] >= digits[i] / 255.0 - 1e-6).all()
        assert images.min() >= 0 and images.max() <= 1
    it = BatchIterator(fresh, 10, seed=5)
    whole = [b.asnumpy() for b in it.epoch(1)]
    resumed = [b.asnumpy() for b in BatchIterator(fresh, 10, seed=5).epoch(1, start=2)]
    np.testing.assert_array_equal(resumed[0], whole[2])
