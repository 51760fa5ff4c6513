"""Every bad input to the scripts: one line ``error: ...``, exit status 2, nothing written.

(Converter inputs are covered in test_datasets.py and test_omniglot.py.)
"""
import json
import os
import shutil

import numpy as np
import pytest

from draw import context, rundir
from draw.datasets import store
from draw.errors import UsageError

from .conftest import load_example, run_script
from .helpers import assert_one_line_error

TINY = ["-s", "2", "-u", "16", "-l", "4", "-b", "50", "--log_every", "10", "--hist_every", "0",
        "--num_val", "100", "--no_progress"]


def snapshot(directory):
    """{relative path: bytes} of every file under ``directory``."""
    out = {}
    for root, _, files in os.walk(directory):
        for f in files:
            path = os.path.join(root, f)
            out[os.path.relpath(path, directory)] = open(path, "rb").read()
    return out


def copy_run(tiny_run, tmp_path):
    target = str(tmp_path / "copy")
    shutil.copytree(tiny_run, target)
    return target


# ----------------------------------------------------------------- arguments

MNIST, OMNIGLOT = "examples/train_mnist.py", "examples/train_omniglot.py"


@pytest.mark.parametrize("script,args,message", [
    (MNIST, ["-u", "0"], "argument --num_recurrent_units/-u: must be a positive integer"),
    (MNIST, ["--latent_dim", "-1"], "argument --latent_dim/-l: must be a positive integer"),
    (MNIST, ["--read_size", "0"], "argument --read_size: must be a positive integer"),
    (MNIST, ["--epochs", "0"], "argument --epochs: must be a positive integer"),
    (MNIST, ["--max_steps", "-5"], "argument --max_steps: must be >= 0"),
    (MNIST, ["-r", "0"], "argument --learning_rate/-r: must be positive"),
    (MNIST, ["-b", "x"], "argument --batch_size/-b: invalid positive_int value"),
    (MNIST, ["--cpus", "0"], "argument --cpus: must be a positive integer"),
    (MNIST, ["--dataset", "cifar"], "argument --dataset: invalid choice"),
    (MNIST, ["-r", "inf"], "argument --learning_rate/-r: must be positive and finite, got inf"),
    (MNIST, ["--clip_gradient", "nan"], "argument --clip_gradient: must be >= 0 and finite"),
    (MNIST, ["--clip_gradient", "-1"], "argument --clip_gradient: must be >= 0 and finite"),
    # ConvDRAW sizes that cannot work (the model says why)
    (OMNIGLOT, ["-k", "4"], "bad model settings: kernel_size must be odd, got 4"),
    (OMNIGLOT, ["-k", "29"], "bad model settings: image height and width must be even (the 2x "
                             "sub-pixel write) and at least kernel_size + 1 = 30 (a state of at "
                             "least 1x1), got 28x28"),
    (OMNIGLOT, ["-k", "0"], "argument --kernel_size/-k: must be a positive integer"),
])
def test_train_nonsense(tmp_path, script, args, message):
    logdir = tmp_path / "run"
    proc = run_script([script, "--logdir", str(logdir)] + args)
    assert_one_line_error(proc, message)
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not logdir.exists()


@pytest.mark.parametrize("args,message", [
    (["--write_size", "29"], "larger than the 28x28 image"),
    (["-b", "60000"], "--batch_size 60000 is larger than the training set (50000)"),
    (["--gpu"], "GPU requested but this MXNet has no CUDA support"),
    (["--gpus", "0,1,2,3"], "GPU requested but this MXNet has no CUDA support"),
    (["--gpus", "a,b"], "--gpus takes comma-separated GPU ids"),
])
def test_train_impossible_requests(tmp_path, data_dir, args, message):
    logdir = tmp_path / "run"
    proc = run_script(["examples/train_mnist.py", "--logdir", str(logdir),
                       "--data_dir", data_dir] + TINY + args)
    assert_one_line_error(proc, message)
    assert not logdir.exists()


def test_more_gpus_than_exist(monkeypatch):
    monkeypatch.setattr(context, "gpu_count", lambda: 2)
    monkeypatch.setattr(context, "check_gpus", lambda ctxs: None)
    assert [c.device_id for c in context.parse_contexts(gpus="0,1")] == [0, 1]
    with pytest.raises(UsageError, match="GPU 2 requested but only 2 GPU"):
        context.parse_contexts(gpus="0,1,2")
    with pytest.raises(UsageError, match="distinct non-negative"):
        context.parse_contexts(gpus="1,1")


def test_gpu_without_kernels_for_it():
    """The start-up probe: a GPU the wheel has no kernels for (an H100, capability 9.0) is
    one line naming it, its capability, the supported range and the way out; a GPU in
    range that fails says so; the real probe on this CPU-only MXNet fails cleanly too."""
    import mxnet as mx

    def no_kernel(ctx):
        raise mx.base.MXNetError("[11:02:03] src/ndarray.cc:1\nCUDA: no kernel image is "
                                 "available for execution on the device")
    with pytest.raises(UsageError) as e:
        context.check_gpus([mx.cpu(), mx.gpu(1)], probe=no_kernel,
                           properties=lambda i: ("NVIDIA H100 80GB HBM3", (9, 0)))
    message = str(e.value)
    assert message.startswith("GPU 1 (NVIDIA H100 80GB HBM3) has compute capability 9.0, but "
                              "the installed MXNet 1.9.1 has GPU kernels for compute "
                              "capability 5.0 to 8.9 only (CUDA: no kernel image is available")
    assert "Hopper (9.0) and newer GPUs need MXNet built from source" in message
    assert "\n" not in message
    with pytest.raises(UsageError, match=r"GPU 0 \(Tesla T4, compute capability 7.5\) fails a "
                                         r"test operation: CUDA: no kernel image"):
        context.check_gpus([mx.gpu(0)], probe=no_kernel,
                           properties=lambda i: ("Tesla T4", (7, 5)))
    with pytest.raises(UsageError, match=r"^GPU 0 fails a test operation \("):
        context.check_gpus([mx.gpu(0)], properties=lambda i: None)  # the real probe
    context.check_gpus([mx.cpu(0), mx.cpu(1)], probe=no_kernel)  # CPUs are not probed


@pytest.mark.parametrize("case", ["foreign", "file", "unwritable", "existing_run"])
def test_bad_logdir(tmp_path, data_dir, tiny_run, case):
    if case == "foreign":
        logdir = tmp_path / "mine"
        logdir.mkdir()
        (logdir / "thesis.tex").write_text("precious")
        message = "is not empty and holds no run of ours"
    elif case == "file":
        logdir = tmp_path / "afile"
        logdir.write_text("x")
        message = "exists and is not a directory"
    elif case == "unwritable":
        if os.geteuid() == 0:  # root ignores permissions; /proc refuses new directories
            logdir = "/proc/draw-test-run"
        else:
            parent = tmp_path / "ro"
            parent.mkdir()
            parent.chmod(0o500)
            logdir = parent / "run"
        message = "cannot write to --logdir"
    else:
        logdir = tiny_run
        message = "already holds a run: continue it with --resume"
    before = snapshot(str(logdir)) if os.path.isdir(str(logdir)) else None
    proc = run_script(["examples/train_mnist.py", "--logdir", str(logdir),
                       "--data_dir", data_dir] + TINY)
    assert_one_line_error(proc, message)
    if before is not None:
        assert snapshot(str(logdir)) == before


# ----------------------------------------------------------------- data files

def _broken_data(tmp_path, data_dir, case):
    out = tmp_path / "data"
    out.mkdir()
    if case == "missing":
        return str(out), "binarized_mnist_train.amat: missing file"
    for f in ("binarized_mnist.nd", "binarized_mnist.json"):
        shutil.copy(os.path.join(data_dir, f), out / f)
    nd, js = out / "binarized_mnist.nd", out / "binarized_mnist.json"
    if case == "truncated":
        with open(nd, "r+b") as f:
            f.truncate(5000)
        return str(out), "binarized_mnist.nd is truncated or modified"
    if case == "wrong_types":
        open(js, "w").write("[]")  # valid JSON, not the converter's
        return str(out), "its provenance file binarized_mnist.json is missing, corrupt or of " \
                         "the wrong form"
    meta = json.load(open(js))
    if case == "old_converter":
        meta["converter_version"] = 0
        json.dump(meta, open(js, "w"))
        return str(out), "written by converter version 0"
    # a consistent file (checksum and sidecar agree) holding the wrong kind of array
    arrays = {"train_x": np.zeros((100, 784), np.float32),
              "val_x": np.zeros((100, 1, 28, 28), np.float64)}
    if case == "wrong_dtype":
        arrays["train_x"] = np.zeros((100, 1, 28, 28), np.float64)
        message = "array 'train_x' is float64 (100, 1, 28, 28); images must be (N, C, H, W)"
    else:
        message = "array 'train_x' is float32 (100, 784); images must be (N, C, H, W)"
    meta = {k: v for k, v in meta.items() if k not in ("nd_sha256", "arrays")}
    store.write_dataset(str(out), "binarized_mnist", arrays, meta)
    return str(out), message


@pytest.mark.parametrize("case", ["missing", "truncated", "old_converter", "wrong_shape",
                                  "wrong_dtype", "wrong_types"])
def test_bad_data_file(tmp_path, data_dir, case):
    out, message = _broken_data(tmp_path, data_dir, case)
    empty_source = tmp_path / "no-originals"
    empty_source.mkdir()
    logdir = tmp_path / "run"
    proc = run_script(["examples/train_mnist.py", "--logdir", str(logdir), "--data_dir", out,
                       "--source", str(empty_source)] + TINY)
    assert_one_line_error(proc, message)
    assert not logdir.exists()


# ----------------------------------------------------------------- checkpoints

def test_resume_with_other_model_settings(tiny_run, tmp_path, data_dir):
    run = copy_run(tiny_run, tmp_path)
    before = snapshot(run)
    proc = run_script(["examples/train_mnist.py", "--resume", run, "-u", "64", "-b", "20",
                       "--data_dir", data_dir, "--no_progress"])
    assert_one_line_error(proc, "--resume: the run was started with other settings: "
                                "num_recurrent_units=64 (run has 16), batch_size=20 (run has 50)")
    assert snapshot(run) == before


def test_checkpoint_not_fitting_its_args(tiny_run, tmp_path):
    run = copy_run(tiny_run, tmp_path)
    args = json.load(open(os.path.join(run, "args.json")))
    args["model"]["kwargs"]["num_recurrent_units"] = 24
    json.dump(args, open(os.path.join(run, "args.json"), "w"))
    before = snapshot(run)
    for script in ("examples/sample.py", "examples/evaluate.py"):
        proc = run_script([script, run, "--num_images" if "eval" in script else "-n", "10"])
        assert_one_line_error(proc, "the checkpoint at step 20 does not fit the model")
        assert "shape" in proc.stderr
    assert snapshot(run) == before


def test_corrupt_params_falls_back_then_fails(tiny_run, tmp_path):
    run = copy_run(tiny_run, tmp_path)
    with open(os.path.join(run, "model-00000020.params"), "r+b") as f:
        f.truncate(100)
    proc = run_script(["examples/sample.py", run, "--out", str(tmp_path / "s"), "-n", "4"])
    assert proc.returncode == 0, proc.stderr
    assert "skipped unreadable checkpoint(s) (step 20:" in proc.stderr
    assert "using step 10" in proc.stderr
    with open(os.path.join(run, "model-00000010.params"), "wb") as f:
        f.write(b"garbage")
    proc = run_script(["examples/sample.py", run, "--out", str(tmp_path / "t"), "-n", "4"])
    assert_one_line_error(proc, "no loadable checkpoint (step 20: ")
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "t").exists()


@pytest.mark.parametrize("script", ["examples/sample.py", "examples/evaluate.py"])
def test_missing_checkpoint(tiny_run, tmp_path, script):
    proc = run_script([script, tiny_run, "--step", "999"])
    assert_one_line_error(proc, "no checkpoint at step 999 (have: [10, 20])")
    proc = run_script([script, str(tmp_path / "nothing")])
    assert_one_line_error(proc, "not a run directory (no readable args.json)")


def test_evaluate_split(tiny_run, tmp_path, data_dir):
    out = tmp_path / "bound.json"
    proc = run_script(["examples/evaluate.py", tiny_run, "--split", "val", "--json", str(out),
                       "--data_dir", data_dir])
    assert proc.returncode == 0, proc.stderr
    result = json.load(open(out))
    final = json.load(open(os.path.join(tiny_run, "result.json")))
    assert result["images"] == 10000 and result["step"] == 20
    # the trainer's full validation pass, up to the noise of the one-sample bound
    assert abs(result["total"] - final["total"]) < 0.2
    assert "val split (10000 images): bound" in proc.stdout
    proc = run_script(["examples/evaluate.py", tiny_run, "--split", "nope"])
    assert_one_line_error(proc, "argument --split: invalid choice: 'nope'")


def test_diverged_run_exits_1_with_valid_json(tmp_path, data_dir):
    """Fewer non-finite steps than --max_nonfinite before the end, and a final bound that
    is not a number: not a success (exit 1, one line) and result.json stays valid JSON."""
    logdir = tmp_path / "run"
    proc = run_script(["examples/train_mnist.py", "--logdir", str(logdir), "--data_dir",
                       data_dir] + TINY + ["-r", "1e30", "--max_steps", "6",
                                           "--clip_gradient", "0"])
    assert proc.returncode == 1, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: the run diverged: the final validation bound is "), last
    result = json.loads((logdir / "result.json").read_text())  # strict JSON: no bare NaN
    assert result["diverged"] is True and result["total"] is None and result["step"] == 6


# ----------------------------------------------------------------- resume

@pytest.mark.parametrize("argv,conflict", [
    (["-u64"], "num_recurrent_units=64 (run has 16)"),          # attached short flag
    (["--num_rec", "64"], "num_recurrent_units=64 (run has 16)"),  # abbreviated
    (["-r0.5"], "learning_rate=0.5 (run has 0.001)"),
    (["--learning_rate=0.5"], "learning_rate=0.5 (run has 0.001)"),
])
def test_resume_sees_every_spelling_of_a_flag(tiny_run, tmp_path, data_dir, argv, conflict):
    run = copy_run(tiny_run, tmp_path)
    before = snapshot(run)
    proc = run_script(["examples/train_mnist.py", "--resume", run, "--data_dir", data_dir,
                       "--no_progress"] + argv)
    assert_one_line_error(proc, "--resume: the run was started with other settings: "
                          + conflict)
    assert snapshot(run) == before


def test_resume_with_the_wrong_script_or_another_logdir(tiny_run, tmp_path, data_dir):
    run = copy_run(tiny_run, tmp_path)
    before = snapshot(run)
    proc = run_script(["examples/train_omniglot.py", "--resume", run, "--data_dir", data_dir])
    assert_one_line_error(proc, "that is a draw run; resume it with the script that trains "
                                "draw (examples/train_mnist.py)")
    proc = run_script(["examples/train_mnist.py", "--resume", run, "--logdir",
                       str(tmp_path / "other"), "--data_dir", data_dir])
    assert_one_line_error(proc, "name different runs: give only --resume")
    assert snapshot(run) == before and not (tmp_path / "other").exists()


def test_resume_of_a_finished_run(tiny_run, tmp_path, data_dir):
    """A finished run is refused (nothing written); one that reached its last step but not
    the end of its final validation only finishes, with the same numbers."""
    run = copy_run(tiny_run, tmp_path)
    before = snapshot(run)
    resume = ["examples/train_mnist.py", "--resume", run, "--data_dir", data_dir,
              "--no_progress"]
    proc = run_script(resume)
    assert_one_line_error(proc, "the run already finished at step 20")
    assert snapshot(run) == before
    result = json.load(open(os.path.join(run, "result.json")))
    os.remove(os.path.join(run, "result.json"))
    proc = run_script(resume)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "the run reached its end, only its final validation is left" in proc.stderr
    again = json.load(open(os.path.join(run, "result.json")))
    for key in ("total", "reconstruction", "kl", "step"):  # validation is seeded by step
        assert again[key] == result[key], key


def test_resume_keeps_the_settings_a_resume_changed(tiny_run, tmp_path, data_dir):
    """A run extended with ``--resume --max_steps`` that then crashes continues to the new
    length on a plain ``--resume``: the changed settings are recorded in args.json
    (before this, the plain resume fell back to the first length and only validated)."""
    run = copy_run(tiny_run, tmp_path)
    resume = ["examples/train_mnist.py", "--resume", run, "--data_dir", data_dir,
              "--no_progress"]
    proc = run_script(resume + ["--max_steps", "30", "--checkpoint_every", "5"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "settings changed on resume (recorded in args.json): checkpoint_every 10 -> 5, " \
           "max_steps 20 -> 30" in proc.stderr
    train = json.load(open(os.path.join(run, "args.json")))["train"]
    assert (train["max_steps"], train["checkpoint_every"]) == (30, 5)
    # the crash: the end (step 30) and the result never got written
    os.remove(os.path.join(run, "result.json"))
    for path in rundir.paths(run, 30):
        os.remove(path)
    proc = run_script(resume)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "resumed %s at step 25 (" % run in proc.stderr
    assert "only its final validation is left" not in proc.stderr
    assert "settings changed" not in proc.stderr
    assert json.load(open(os.path.join(run, "result.json")))["step"] == 30
    proc = run_script(resume)
    assert_one_line_error(proc, "the run already finished at step 30")


def test_resumed_omniglot_schedule_counts_with_the_runs_batch(tmp_path):
    """train_omniglot.py's flags count samples; on resume they are converted with the
    saved run's batch size, not the parser's default."""
    import argparse

    from draw import cli
    from draw.rundir import RunDir
    rd = RunDir(str(tmp_path / "run"))
    rd.create({"model": {"kind": "convdraw", "kwargs": {}}, "dataset": "omniglot",
               "train": {"batch_size": 64}})
    rd.unlock()
    assert cli.saved_batch_size(argparse.Namespace(resume=rd.path, batch_size=32)) == 64
    assert cli.saved_batch_size(argparse.Namespace(resume=None, batch_size=32)) == 32


@pytest.mark.parametrize("content", ['{"dataset": "binarized_mnist", "train": {}}',
                                     '{"model": {"kind": "draw"}, "dataset": 3}', "[1, 2]"])
def test_args_json_of_the_wrong_form(tiny_run, tmp_path, data_dir, content):
    run = copy_run(tiny_run, tmp_path)
    open(os.path.join(run, "args.json"), "w").write(content)
    for args in (["examples/train_mnist.py", "--resume", run, "--data_dir", data_dir],
                 ["examples/sample.py", run, "--out", str(tmp_path / "s")]):
        proc = run_script(args)
        assert_one_line_error(proc, "args.json does not hold a run's settings")


# ----------------------------------------------------------------- outputs

def test_outputs_checked_before_the_work(tiny_run, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    proc = run_script(["examples/sample.py", tiny_run, "--out", str(afile)])
    assert_one_line_error(proc, "--out %s: cannot write there" % afile)
    proc = run_script(["examples/sample.py", tiny_run, "-n", "100000"])
    assert_one_line_error(proc, "-n 100000: draw between 1 and 4096 images per call")
    proc = run_script(["examples/evaluate.py", tiny_run, "--iw_samples", "0"])
    assert_one_line_error(proc, "argument --iw_samples: must be a positive integer")
    proc = run_script(["examples/evaluate.py", tiny_run, "--json", str(tmp_path)])
    assert_one_line_error(proc, "--json %s is a directory; give a file name" % tmp_path)
    assert "validation bound" not in proc.stderr and "split (" not in proc.stdout


def test_figures_bad_requests(tiny_run, tmp_path, data_dir):
    """A figure the run's model does not have, an unwritable --out, a run without a
    checkpoint: one line, exit 2, nothing written."""
    out = tmp_path / "fig"
    before = snapshot(tiny_run)
    proc = run_script(["examples/figures.py", tiny_run, "--out", str(out), "--figure",
                       "compression", "--data_dir", data_dir])
    assert_one_line_error(proc, "--figure compression: no such figure for this DRAW run (it "
                                "has: generation, nearest_training, reading, filterbank, "
                                "kl_per_step)")
    afile = tmp_path / "afile"
    afile.write_text("x")
    proc = run_script(["examples/figures.py", tiny_run, "--out", str(afile / "sub"),
                       "--data_dir", data_dir])
    assert_one_line_error(proc, "--out %s: cannot write there (not a directory)"
                          % (afile / "sub"))
    empty = tmp_path / "no_checkpoint"
    empty.mkdir()
    shutil.copy(os.path.join(tiny_run, "args.json"), str(empty))
    proc = run_script(["examples/figures.py", str(empty), "--data_dir", data_dir])
    assert_one_line_error(proc, "no checkpoint")
    proc = run_script(["examples/figures.py", tiny_run, "--rows", "0"])
    assert_one_line_error(proc, "argument --rows: must be a positive integer")
    assert not out.exists() and sorted(os.listdir(empty)) == ["args.json"]
    assert snapshot(tiny_run) == before


def test_failed_start_leaves_no_run_directory(tmp_path, data_dir, monkeypatch):
    """A failure after args.json is written but before the first checkpoint (here the
    trainer cannot be built) removes what the run wrote, so the directory can be used."""
    from draw import run
    from draw.config import Environment, TrainConfig

    def no_memory(*args, **kwargs):
        raise MemoryError("cannot allocate")
    monkeypatch.setattr(run, "Trainer", no_memory)
    logdir = tmp_path / "run"
    with pytest.raises(MemoryError):
        run.train({"kind": "draw", "kwargs": dict(image_shape=[1, 28, 28], num_steps=2,
                                                  num_recurrent_units=8, latent_dim=2)},
                  TrainConfig(batch_size=10, max_steps=1), "binarized_mnist", str(logdir),
                  env=Environment(data_dir=data_dir))
    assert not logdir.exists()


def test_converter_removes_files_of_a_killed_conversion(tmp_path, source_dir):
    from draw.datasets import convert_binarized_mnist
    out = tmp_path / "out"
    out.mkdir()
    dead = 2 ** 22 + 12345  # no such process
    for name in ("binarized_mnist.nd.tmp-%d" % dead, "binarized_mnist.json.tmp-%d" % dead):
        (out / name).write_bytes(b"half")
    convert_binarized_mnist(out_dir=str(out), source=source_dir, log=lambda *a: None)
    assert sorted(p.name for p in out.iterdir()) == ["binarized_mnist.json",
                                                     "binarized_mnist.nd"]


def test_resume_does_not_read_event_files(tiny_run, tmp_path, data_dir):
    """A flipped bit in an event record's length header used to break --resume: resuming
    never reads event files now (TensorBoard's restart marker does their work)."""
    import glob
    run = copy_run(tiny_run, tmp_path)
    path = sorted(glob.glob(os.path.join(run, "events.out.tfevents.*")))[0]
    data = bytearray(open(path, "rb").read())
    data[3] ^= 0x40  # the first record's length
    open(path, "wb").write(bytes(data))
    os.remove(os.path.join(run, "result.json"))
    proc = run_script(["examples/train_mnist.py", "--resume", run, "--data_dir", data_dir,
                       "--no_progress"])
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.parametrize("argv, setting, value", [
    ([], "checkpoint_every", 3125), (["--checkpoint_freq", "6400"], "checkpoint_every", 200),
    (["--checkpoint_every", "250"], "checkpoint_every", 250),
    ([], "max_steps", 15625), (["-t", "6400"], "max_steps", 200),
    (["--max_steps", "500"], "max_steps", 500),
    ([], "num_val", 128), (["-v", "64"], "num_val", 64), (["--num_val", "2000"], "num_val", 2000)])
def test_omniglot_reference_flags(monkeypatch, argv, setting, value):
    """train_omniglot.py: the reference's flags count samples (--num_train_samples,
    --checkpoint_freq) or name the validation images (--num_val_samples); the trainers'
    settings they stand for (--max_steps, --checkpoint_every, --num_val) may be given
    instead, and an explicit one is kept (not replaced by the other flag's default)."""
    script = load_example("train_omniglot")
    seen = {}
    monkeypatch.setattr(script, "train", lambda args, *a, **k: seen.update(vars(args)))
    p = script.parser()
    script.run(p.parse_args(argv), script.explicit_options(p, argv))
    assert seen[setting] == value


@pytest.mark.parametrize("argv, message", [
    (["--checkpoint_every", "250", "--checkpoint_freq", "6400"],
     "--checkpoint_every and --checkpoint_freq set the checkpoint period (updates or samples)"),
    (["--max_steps", "500", "-t", "6400"],
     "--max_steps and --num_train_samples set the training length (updates or samples)"),
    (["--num_val", "2000", "-v", "64"],
     "--num_val and --num_val_samples set the number of validation images")])
def test_omniglot_reference_flag_given_twice(tmp_path, argv, message):
    logdir = tmp_path / "run"
    proc = run_script(["examples/train_omniglot.py", "--logdir", str(logdir)] + argv)
    assert_one_line_error(proc, message + ": give one of them")
    assert not logdir.exists()
