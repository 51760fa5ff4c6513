"""Mixed precision (draw/precision.py, ``--amp``): the dtype for the device, the one-line
error on a CPU without bfloat16 (simulated), and, in fresh processes (AMP changes the
whole process), a tiny AMP run: float32 checkpoints, recorded precision, resumed without
``--amp`` and back, evaluated with ``--amp``."""
import json
import os

import mxnet as mx
import pytest

from draw import precision
from draw.errors import UsageError

from .conftest import run_script
from .helpers import assert_one_line_error

TINY = ["--num_steps", "3", "--num_recurrent_units", "20", "--latent_dim", "5",
        "--batch_size", "50", "--num_val", "100", "--log_every", "2", "--hist_every", "0",
        "--checkpoint_every", "2", "--no_progress"]
HAS_BF16 = bool(precision.cpu_flags() & set(precision.BF16_FLAGS))


def test_target_dtype():
    assert precision.target_dtype(gpu=True, flags=()) == "float16"
    assert precision.target_dtype(gpu=False, flags={"avx2", "avx512_bf16"}) == "bfloat16"
    assert precision.target_dtype(gpu=False, flags={"amx_bf16"}) == "bfloat16"
    with pytest.raises(UsageError, match="--amp: this CPU has no bfloat16 arithmetic"):
        precision.target_dtype(gpu=False, flags={"avx2", "avx512f"})


def test_a_cpu_without_bfloat16_is_refused_before_amp_starts():
    with pytest.raises(UsageError, match="train without --amp"):
        precision.use(True, [mx.cpu()], flags={"avx2"})
    assert precision.dtype() == "float32"  # this process was left as it was
    assert precision.use(False, [mx.cpu()]) == "float32"


def test_training_caveats_name_what_the_ab_measured():
    """ConvDRAW trained in bfloat16 reached a worse bound (docs/performance.md): its run's
    log says so; DRAW (0.27 nats apart), float16 (not measured) and float32 have none."""
    assert "4-5 nats worse" in precision.training_caveat("convdraw", "bfloat16")
    for kind, dtype in [("draw", "bfloat16"), ("classifier", "bfloat16"),
                        ("convdraw", "float16"), ("convdraw", "float32")]:
        assert precision.training_caveat(kind, dtype) is None
    assert precision.training_caveat("convdraw") is None  # this process: float32


def test_cpu_flags_of_a_missing_file(tmp_path):
    assert precision.cpu_flags(str(tmp_path / "none")) == set()
    path = tmp_path / "cpuinfo"
    path.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512_bf16\n")
    assert precision.cpu_flags(str(path)) == {"fpu", "avx2", "avx512_bf16"}


def test_amp_run_resumes_with_and_without_amp(tmp_path, data_dir):
    logdir = str(tmp_path / "amp")
    proc = run_script(["examples/train_mnist.py"] + TINY + ["--max_steps", "4", "--amp",
                       "--logdir", logdir, "--data_dir", data_dir])
    if not HAS_BF16:  # the machine has no bfloat16: the one-line error, nothing written
        assert_one_line_error(proc, "--amp: this CPU has no bfloat16 arithmetic")
        assert not os.path.exists(os.path.join(logdir, "args.json"))
        return
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "mixed precision: bfloat16" in proc.stderr and "; bfloat16; " in proc.stderr
    # each line once: amp.init's root handler would repeat them as "INFO:draw:..."
    assert proc.stderr.count("mixed precision: bfloat16") == 1, proc.stderr[-2000:]
    assert "INFO:" not in proc.stderr, proc.stderr[-2000:]
    assert "nats worse" not in proc.stderr  # DRAW trains in bfloat16 without a caveat
    args = json.load(open(os.path.join(logdir, "args.json")))
    assert args["precision"] == "bfloat16" and "amp" not in args["train"]
    arrays = mx.nd.load(os.path.join(logdir, "model-00000004.params"))
    assert {str(a.dtype) for a in arrays.values()} == {"<class 'numpy.float32'>"}
    result = json.load(open(os.path.join(logdir, "result.json")))
    assert 100 < result["total"] < 1000
    # resumed in float32, then in bfloat16 again
    proc = run_script(["examples/train_mnist.py", "--resume", logdir, "--max_steps", "6",
                       "--data_dir", data_dir, "--no_progress"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "computing in float32 (the run started in bfloat16)" in proc.stderr
    proc = run_script(["examples/train_mnist.py", "--resume", logdir, "--max_steps", "8",
                       "--amp", "--data_dir", data_dir, "--no_progress"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.load(open(os.path.join(logdir, "result.json")))["step"] == 8
    path = str(tmp_path / "eval.json")
    proc = run_script(["examples/evaluate.py", logdir, "--amp", "--num_images", "100",
                       "--json", path, "--data_dir", data_dir, "--no_progress"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.load(open(path))["precision"] == "bfloat16"


def test_convdraw_amp_run_logs_its_caveat(tmp_path, omniglot_data_dir):
    """A ConvDRAW run under --amp says at its start that bfloat16 training reached a
    worse bound (the caveat wired into the trainer, not only the table)."""
    logdir = str(tmp_path / "convdraw_amp")
    proc = run_script(["examples/train_omniglot.py", "-u", "8", "-s", "2", "-k", "3", "-b", "32",
                       "-t", "64", "-f", "64", "-v", "32", "--checkpoint_freq", "64",
                       "--hist_every", "0", "--no_progress", "--amp", "--logdir", logdir,
                       "--data_dir", omniglot_data_dir])
    if not HAS_BF16:
        assert_one_line_error(proc, "--amp: this CPU has no bfloat16 arithmetic")
        return
    assert proc.returncode == 0, proc.stderr[-3000:]
    warnings = [line for line in proc.stderr.splitlines() if "--amp: " in line]
    assert len(warnings) == 1 and "4-5 nats worse" in warnings[0], proc.stderr[-2000:]
