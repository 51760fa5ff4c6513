"""End to end: the example scripts as subprocesses, on the real binarized MNIST."""
import json
import os

import numpy as np
import pytest
from PIL import Image

from draw.visualize import LABEL_HEIGHT

from .conftest import load_example, run_script
from .helpers import read_events, tensorboard_scalars

TINY = ["-s", "4", "-u", "32", "-l", "8", "-b", "50", "--log_every", "10",
        "--hist_every", "50", "--num_val", "1000", "--no_progress"]


@pytest.fixture(scope="module")
def short_run(tmp_path_factory, data_dir):
    logdir = str(tmp_path_factory.mktemp("run") / "draw")
    proc = run_script(["examples/train_mnist.py"] + TINY + ["--max_steps", "150",
                       "--logdir", logdir, "--data_dir", data_dir])
    assert proc.returncode == 0, proc.stderr[-3000:]
    return logdir, data_dir, proc


def test_training_run_outputs_and_loss_falls(short_run):
    logdir, _, proc = short_run
    assert "OpenMP threads: " in proc.stderr
    files = set(os.listdir(logdir))
    assert {"args.json", "result.json", "samples.png", "samples.gif", "train.log",
            "model-00000150.params", "trainer-00000150.states", "state-00000150.json"} <= files
    assert not [f for f in files if ".tmp" in f]
    acc = read_events(logdir)
    tags = acc.Tags()
    assert {"train/loss", "train/reconstruction", "train/kl", "train/grad_norm",
            "train/samples_per_sec", "train/learning_rate", "val/total",
            "val/reconstruction", "val/kl"} <= set(tags["scalars"])
    assert {"samples", "canvas_sequence", "reconstructions"} <= set(tags["images"])
    assert any(t.startswith("grad/") for t in tags["histograms"])
    loss = [e.value for e in acc.Scalars("train/loss")]
    assert [e.step for e in acc.Scalars("train/loss")] == list(range(10, 151, 10))
    assert np.mean(loss[-3:]) < 0.6 * loss[0], loss  # from ~540 nats toward ~200
    image = acc.Images("samples")[-1]
    assert image.width == image.height == 8 * 29 + 1  # 8x8 grid of 28x28 with 1px padding
    val_steps = [e.step for e in acc.Scalars("val/total")]
    assert [e.step for e in acc.Images("samples")] == val_steps
    strip = acc.Images("canvas_sequence")[-1]  # 8 samples x the T = 4 canvases
    assert (strip.width, strip.height) == (4 * 29 + 1, 8 * 29 + 1)
    recon = acc.Images("reconstructions")[-1]  # 32 (data, reconstruction) pairs, 16 a row
    assert (recon.width, recon.height) == (16 * 29 + 1, 4 * 29 + 1)
    hist = acc.Histograms([t for t in tags["histograms"] if t.startswith("grad/")][0])
    assert [h.step for h in hist] == [50, 100, 150]
    result = json.load(open(os.path.join(logdir, "result.json")))
    assert result["step"] == 150 and result["total"] < loss[0]
    assert abs(result["total"] - result["reconstruction"] - result["kl"]) < 1e-3


def test_sample_script_writes_png_and_gif(short_run, tmp_path):
    logdir = short_run[0]
    proc = run_script(["examples/sample.py", logdir, "--out", str(tmp_path), "-n", "16",
                       "--seed", "3"])
    assert proc.returncode == 0, proc.stderr
    png = Image.open(tmp_path / "samples.png")
    assert png.format == "PNG" and png.size == (2 * (4 * 29 + 1),) * 2  # as the GIF
    gif = Image.open(tmp_path / "samples.gif")
    assert gif.size == png.size
    assert gif.format == "GIF" and gif.n_frames == 4  # one frame per step (T = 4)
    gif.seek(0)
    rgb = np.asarray(gif.convert("RGB"))
    reds = (rgb[..., 0] > 200) & (rgb[..., 1] < 60) & (rgb[..., 2] < 60)
    assert reds.any()  # attention boxes are drawn
    again = run_script(["examples/sample.py", logdir, "--out", str(tmp_path / "b"), "-n", "16",
                        "--seed", "3"])
    assert again.returncode == 0
    assert (tmp_path / "samples.png").read_bytes() == (tmp_path / "b" / "samples.png").read_bytes()


def test_figures_script_draws_every_draw_figure(short_run, tmp_path):
    """examples/figures.py on a trained DRAW run: every figure and its data, the same
    files for the same seed."""
    logdir, data_dir = short_run[:2]
    out = tmp_path / "fig"
    args = ["examples/figures.py", logdir, "--out", str(out), "--num_images", "50",
            "--rows", "3", "--no_progress", "--data_dir", data_dir]
    proc = run_script(args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    names = ["generation.png", "generation.gif", "generation.json",
             "nearest_training.png", "nearest_training.csv", "reading.png",
             "reading.gif", "reading.csv", "filterbank.png", "filterbank.json",
             "kl_per_step.png", "kl_per_step.csv"]
    assert sorted(os.listdir(out)) == sorted(names)
    assert proc.stdout.split() == [str(out / n) for n in names]
    assert Image.open(out / "reading.png").size == (500, 3 * 250)
    again = run_script(args[:3] + [str(tmp_path / "again")] + args[4:] + ["--figure",
                                                                        "kl_per_step"])
    assert again.returncode == 0, again.stderr[-3000:]
    assert sorted(os.listdir(tmp_path / "again")) == ["kl_per_step.csv", "kl_per_step.png"]
    assert (out / "kl_per_step.csv").read_bytes() == \
        (tmp_path / "again" / "kl_per_step.csv").read_bytes()


def test_curves_script(short_run, tmp_path):
    """examples/curves.py: the PNG and the CSV hold what TensorBoard's reader shows."""
    import csv
    logdir = short_run[0]
    out = tmp_path / "c.png"
    proc = run_script(["examples/curves.py", logdir, logdir, "--label", "a", "--label", "b",
                       "--out", str(out)])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert Image.open(out).size == (1000, 350)  # two panels of 5 x 3.5 inches at 100 dpi
    rows = list(csv.DictReader(open(tmp_path / "c.csv")))
    loss = [(int(r["step"]), float(r["value"])) for r in rows
            if r["run"] == "a" and r["tag"] == "train/loss"]
    want = tensorboard_scalars(logdir, "train/loss")
    assert [s for s, _ in loss] == [s for s, _ in want]
    np.testing.assert_allclose([v for _, v in loss], [v for _, v in want], rtol=1e-6)
    assert {r["tag"] for r in rows} == {"train/loss", "val/total"}
    proc = run_script(["examples/curves.py", logdir, "--tag", "nope", "--out", str(out)])
    assert proc.returncode == 2 and "none of the tags nope" in proc.stderr
    proc = run_script(["examples/curves.py", logdir, logdir, "--out", str(out)])
    assert proc.returncode == 2 and "distinct labels" in proc.stderr


def test_resume_continues_steps(short_run, tmp_path):
    import shutil
    logdir = str(tmp_path / "copy")
    shutil.copytree(short_run[0], logdir)
    proc = run_script(["examples/train_mnist.py", "--resume", logdir, "--max_steps", "170",
                       "--no_progress", "--data_dir", short_run[1]])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "resumed %s at step 150" % logdir in proc.stderr
    steps = [e.step for e in read_events(logdir).Scalars("train/loss")]
    assert steps == list(range(10, 171, 10))  # no overlap, no gap
    assert os.path.exists(os.path.join(logdir, "state-00000170.json"))


@pytest.mark.parametrize("args,message", [
    (["--gpu"], "GPU requested"),
    (["--gpus", "0,1"], "GPU requested"),
    (["--read_size", "40"], "larger than the 28x28 image"),
])
def test_clear_errors(tmp_path, data_dir, args, message):
    logdir = tmp_path / "run"
    proc = run_script(["examples/train_mnist.py", "--logdir", str(logdir), "--data_dir",
                       data_dir] + TINY + args)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error: ")
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert not logdir.exists()


@pytest.mark.parametrize("script,args,message", [
    ("examples/train_mnist.py", ["-b", "0"], "must be a positive integer"),
    ("examples/train_mnist.py", ["--num_steps", "-3"], "must be a positive integer"),
    ("examples/train_omniglot.py", ["--split", "nope"], "invalid choice"),
    ("examples/train_omniglot.py", ["-t", "10"], "smaller than the batch size"),
    ("examples/sample.py", [], "required: checkpoint"),
])
def test_nonsense_arguments_one_line(tmp_path, script, args, message):
    logdir = tmp_path / "run"
    proc = run_script([script] + args + (["--logdir", str(logdir)] if "train" in script else []))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert not logdir.exists()


def test_existing_run_is_not_overwritten(short_run):
    proc = run_script(["examples/train_mnist.py", "--logdir", short_run[0]] + TINY)
    assert proc.returncode == 2 and "already holds a run" in proc.stderr


def test_sample_missing_checkpoint(tmp_path):
    proc = run_script(["examples/sample.py", str(tmp_path / "nothing")])
    assert proc.returncode == 2 and "not a run directory" in proc.stderr


def test_train_omniglot_convdraw_short_run(tmp_path, omniglot_data_dir):
    """A tiny ConvDRAW on the real Omniglot: loss falls, validation, samples, checkpoints."""
    logdir = str(tmp_path / "convdraw")
    proc = run_script(["examples/train_omniglot.py", "-u", "8", "-s", "3", "-b", "32",
                       "-t", "4800", "-f", "1600", "-v", "64", "--checkpoint_freq", "1600",
                       "--log_every", "10", "--hist_every", "50", "--no_progress",
                       "--logdir", logdir, "--data_dir", omniglot_data_dir])
    assert proc.returncode == 0, proc.stderr[-3000:]
    acc = read_events(logdir)
    loss = [e.value for e in acc.Scalars("train/loss")]
    assert len(loss) == 15 and np.mean(loss[-3:]) < 0.7 * loss[0], loss
    assert [e.step for e in acc.Scalars("val/total")] == [50, 100, 150]
    assert [e.step for e in acc.Scalars("val_full/total")] == [150]
    assert {"samples", "canvas_sequence", "reconstructions"} <= set(acc.Tags()["images"])
    result = json.load(open(os.path.join(logdir, "result.json")))
    assert result["step"] == 150 and result["total"] < loss[0]
    args = json.load(open(os.path.join(logdir, "args.json")))
    assert args["model"]["kind"] == "convdraw" and args["dataset"] == "omniglot"
    assert args["train"]["learning_rate"] == 5e-4 and args["train"]["clip_gradient"] == 10
    assert Image.open(os.path.join(logdir, "samples.gif")).n_frames == 3
    proc = run_script(["examples/sample.py", logdir, "--out", str(tmp_path / "s"), "-n", "9"])
    assert proc.returncode == 0, proc.stderr
    assert Image.open(tmp_path / "s" / "samples.png").size == (2 * (3 * 29 + 1),) * 2
    proc = run_script(["examples/figures.py", logdir, "--num_images", "40", "--rows", "4",
                       "--no_progress", "--data_dir", omniglot_data_dir])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sorted(os.listdir(os.path.join(logdir, "figures"))) == sorted(
        ["compression.png", "compression.json", "rate_distortion.png", "rate_distortion.csv",
         "codec.png", "codec_grid.png", "codec.csv",
         "generation.png", "generation.gif", "generation.json", "nearest_training.png",
         "nearest_training.csv", "kl_per_step.png", "kl_per_step.csv"])
    grid = Image.open(os.path.join(logdir, "figures", "compression.png"))
    assert grid.size == (2 * ((3 + 2) * 29 + 1), 2 * (4 * 29 + 1) + LABEL_HEIGHT)  # k = 0..3


def test_tensorboard_server_serves_the_run(short_run, monkeypatch):
    """The TensorBoard server (viz extra) lists the run's scalars and images; the
    screenshot helper names what is missing when no Chromium is installed."""
    import urllib.request

    tb = load_example("tensorboard_screenshot")
    proc, url = tb.start_tensorboard(short_run[0])
    try:
        with urllib.request.urlopen(url + "data/plugin/scalars/tags", timeout=30) as r:
            scalars = json.loads(r.read().decode())
        with urllib.request.urlopen(url + "data/plugin/images/tags", timeout=30) as r:
            images = json.loads(r.read().decode())
    finally:
        proc.terminate()
        proc.wait(10)
    (run, tags), = scalars.items()
    assert {"train/loss", "train/samples_per_sec", "train/learning_rate", "val/total"} <= set(tags)
    assert {"samples", "canvas_sequence", "reconstructions"} <= set(images[run])
    monkeypatch.setattr(tb.shutil, "which", lambda name: None)
    with pytest.raises(tb.ScreenshotError, match="no Chromium found: install Debian's chromium"):
        tb.find_chromium()


def test_importance_weighted_bound_tightens_with_k(short_run, tmp_path):
    """evaluate.py --iw_samples on the 150-step DRAW: K = 1 is the ELBO (and agrees with
    the one-sample bound within its standard error); the bound tightens from K = 1 to 10
    to 100, by more than its standard error over the images."""
    logdir, data_dir, _ = short_run
    results = {}
    for k in (1, 10, 100):
        out = tmp_path / ("iw%d.json" % k)
        proc = run_script(["examples/evaluate.py", logdir, "--num_images", "200",
                           "--iw_samples", str(k), "--no_progress", "--data_dir", data_dir,
                           "--json", str(out)])
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "K=%d: ELBO" % k in proc.stdout
        results[k] = json.load(open(out))
    one = results[1]
    assert one["iw_bound"] == pytest.approx(one["elbo"], rel=1e-9)
    assert abs(one["elbo"] - one["total"]) < 3 * one["elbo_se"]
    assert results[1]["iw_bound"] > results[10]["iw_bound"] > results[100]["iw_bound"]
    assert results[1]["iw_bound"] - results[100]["iw_bound"] > results[100]["iw_se"]
    assert results[100]["iw_bits_per_dim"] == pytest.approx(
        results[100]["iw_bound"] / (784 * np.log(2)))


def test_gpu_request_says_what_to_do(monkeypatch):
    """Without a GPU the advice is to train on the CPU; the 4 GB GPU extra is advised
    only where a GPU exists and this MXNet is the CPU build."""
    import mxnet as mx
    from draw import context
    monkeypatch.setattr(context, "_has_driver", lambda: False)
    monkeypatch.setattr("glob.glob", lambda pattern: [])
    assert "no NVIDIA GPU: train on the CPU" in context.no_gpu_message()
    monkeypatch.setattr(context, "_has_driver", lambda: True)
    assert "pip install -e '.[gpu]'" in context.no_gpu_message()

    class CudaBuild:
        def is_enabled(self, name):
            return name == "CUDA"
    monkeypatch.setattr(mx.runtime, "Features", CudaBuild)
    assert "check the NVIDIA driver" in context.no_gpu_message()
