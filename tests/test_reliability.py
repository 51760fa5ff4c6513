"""Crash safety, exact resume, signals, the non-finite guard and determinism.

The subprocess runs train a tiny DRAW on the real binarized MNIST (about 30 steps/s).
"""
import io
import os
import re
import signal
import subprocess
import sys
import time

import mxnet as mx
import numpy as np
import pytest

from draw import rundir
from draw.registry import get_model
from draw.errors import TrainingError
from draw.config import TrainConfig
from draw.rundir import RunDir
from draw.train import Trainer

from .conftest import ROOT, run_script
from .helpers import small_disk, tensorboard_scalars

STEPS = 300
RUN = ["examples/train_mnist.py", "-s", "4", "-u", "32", "-l", "8", "-b", "50",
       "--log_every", "5", "--hist_every", "0", "--num_val", "200", "--no_progress",
       "--checkpoint_every", "50", "--seed", "7"]


def start(args, logdir, data_dir):
    """Start a training run in the background; stderr goes to ``<logdir>.stderr``."""
    err = open(str(logdir) + ".stderr", "w")
    return subprocess.Popen([sys.executable] + args + ["--logdir", str(logdir), "--data_dir",
                                                       data_dir],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err, text=True)


def wait_for(condition, timeout=180, what="condition"):
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.02)


def params_of(logdir, step):
    return {k: v.asnumpy() for k, v in
            mx.nd.load(rundir.paths(str(logdir), step)[0]).items()}


def scalars(logdir, tag):
    return tensorboard_scalars(logdir, tag)


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory, data_dir):
    """An uninterrupted run of STEPS steps."""
    logdir = tmp_path_factory.mktemp("ref") / "run"
    proc = run_script(RUN + ["--max_steps", str(STEPS), "--logdir", str(logdir),
                             "--data_dir", data_dir])
    assert proc.returncode == 0, proc.stderr[-3000:]
    return logdir


def test_same_seed_same_run(reference_run, tmp_path, data_dir):
    """Determinism on CPU: a second run with the same seed has identical curves and params."""
    logdir = tmp_path / "again"
    proc = run_script(RUN + ["--max_steps", str(STEPS), "--logdir", str(logdir),
                             "--data_dir", data_dir])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert scalars(logdir, "train/loss") == scalars(reference_run, "train/loss")
    assert scalars(logdir, "val/total") == scalars(reference_run, "val/total")
    a, b = params_of(reference_run, STEPS), params_of(logdir, STEPS)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_sigkill_then_resume_is_bit_exact(reference_run, tmp_path, data_dir):
    logdir = tmp_path / "killed"
    proc = start(RUN + ["--max_steps", str(STEPS)], logdir, data_dir)
    try:
        wait_for(lambda: any(s >= 150 for s in rundir.list_steps(str(logdir))),
                 what="the checkpoint at step 150")
        time.sleep(0.15)  # a few steps (and event records) past the checkpoint
        proc.kill()
    finally:
        proc.wait(60)
    assert proc.returncode == -signal.SIGKILL
    assert not (logdir / "result.json").exists(), "the run finished before it was killed"
    killed_at = rundir.list_steps(str(logdir))[-1]
    assert killed_at < STEPS
    # (a) every committed checkpoint is complete and loads
    for step in rundir.list_steps(str(logdir)):
        params, states, state_json = rundir.paths(str(logdir), step)
        assert rundir.read_json(state_json)["step"] == step
        assert mx.nd.load(params) and os.path.getsize(states) > 0

    proc = run_script(["examples/train_mnist.py", "--resume", str(logdir), "--no_progress",
                       "--data_dir", data_dir])
    assert proc.returncode == 0, proc.stderr[-3000:]
    # (b) continues from the last checkpoint's step
    assert "resumed %s at step %d" % (logdir, killed_at) in proc.stderr
    # (a) nothing half-written is left (event files are never rewritten: TensorBoard's
    # reader skips a record torn by the kill, and the resume marker hides later steps)
    assert not [f for f in os.listdir(logdir) if ".tmp" in f]
    # (c) bit-exact: the same params as the uninterrupted run
    a, b = params_of(reference_run, STEPS), params_of(logdir, STEPS)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    # (d) one value per step, no gap, and the same curve as the uninterrupted run
    loss = scalars(logdir, "train/loss")
    assert [s for s, _ in loss] == list(range(5, STEPS + 1, 5))
    assert loss == scalars(reference_run, "train/loss")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_finishes_step_and_checkpoints(tmp_path, data_dir, sig):
    logdir = tmp_path / "run"
    proc = start(RUN + ["--max_steps", "100000"], logdir, data_dir)
    try:
        wait_for(lambda: os.path.exists(logdir / "train.log")
                 and "steps/epoch" in open(logdir / "train.log").read(), what="training")
        time.sleep(1.0)
        if sig == signal.SIGTERM:  # one process per run: a second one is refused
            second = run_script(["examples/train_mnist.py", "--resume", str(logdir),
                                 "--no_progress", "--data_dir", data_dir])
            assert second.returncode == 2 and second.stderr.strip().splitlines()[-1] == (
                "error: %s is in use by another process (pid %d): wait for it to end or "
                "stop it" % (logdir, proc.pid)), second.stderr[-2000:]
        proc.send_signal(sig)
        proc.wait(120)
    finally:
        if proc.poll() is None:
            proc.kill()
    stderr = open(str(logdir) + ".stderr").read()
    assert proc.returncode == 0, stderr[-3000:]
    m = re.search(r"%s: stopped after step (\d+); checkpoint written" % sig.name, stderr)
    assert m, stderr[-2000:]
    step = int(m.group(1))
    assert rundir.list_steps(str(logdir))[-1] == step > 0
    assert "Traceback" not in stderr and not (logdir / "result.json").exists()
    assert not [f for f in os.listdir(logdir) if ".tmp" in f]
    if sig == signal.SIGTERM:
        proc = run_script(["examples/train_mnist.py", "--resume", str(logdir), "--max_steps",
                           str(step + 5), "--no_progress", "--data_dir", data_dir])
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "resumed %s at step %d" % (logdir, step) in proc.stderr
        assert rundir.list_steps(str(logdir))[-1] == step + 5


# ----------------------------------------------------------------- non-finite guard

def _small_trainer(logdir, images, **cfg):
    model = get_model("draw_mnist", num_steps=2, num_recurrent_units=16, latent_dim=4)
    model.initialize(mx.init.Xavier())
    settings = dict(batch_size=20, max_steps=4, checkpoint_every=2, log_every=1, num_val=20,
                    val_each_epoch=False, max_nonfinite=3)
    settings.update(cfg)
    return Trainer(model, images, images[:20], TrainConfig.from_dict(settings), [mx.cpu()],
                   RunDir(str(logdir)))


def _values(model):
    return {k: p.data().asnumpy().copy() for k, p in model.collect_params().items()}


def test_nonfinite_step_is_skipped(tmp_path):
    rng = np.random.RandomState(0)
    images = mx.nd.array(rng.rand(100, 1, 28, 28) > 0.5)
    trainer = _small_trainer(tmp_path, images)
    nan = images[:20].copy()
    nan[3] = np.nan
    trainer.step(images[:20])  # initialise
    before, updates = _values(trainer.model), trainer.updater._optimizer.num_update
    _, norm, finite = trainer.step(nan)
    assert not finite and np.isnan(norm)
    after = _values(trainer.model)
    for k in before:
        np.testing.assert_array_equal(before[k], after[k], err_msg=k)
    assert trainer.updater._optimizer.num_update == updates
    _, norm, finite = trainer.step(images[20:40])
    assert finite and np.isfinite(norm)
    assert any(not np.array_equal(before[k], v) for k, v in _values(trainer.model).items())


def test_nonfinite_run_stops_and_keeps_last_good_checkpoint(tmp_path):
    rng = np.random.RandomState(0)
    images = mx.nd.array(rng.rand(100, 1, 28, 28) > 0.5)
    trainer = _small_trainer(tmp_path, images)
    trainer.fit(writer=None, progress=False)
    assert rundir.list_steps(str(tmp_path)) == [2, 4]
    files = {f: open(tmp_path / f, "rb").read() for f in os.listdir(tmp_path)}
    good = _values(trainer.model)
    trainer.train_iter.images = images * np.nan  # every following step is non-finite
    trainer.cfg.max_steps = 40
    with pytest.raises(TrainingError, match=r"non-finite for 3 consecutive steps.*"
                                            r"last good one: step 4 in "):
        trainer.fit(writer=None, progress=False)
    assert trainer.state["step"] == 7 and trainer.state["nonfinite"] == 3
    assert {f: open(tmp_path / f, "rb").read() for f in os.listdir(tmp_path)} == files
    for k, v in _values(trainer.model).items():
        np.testing.assert_array_equal(good[k], v, err_msg=k)


def test_training_error_is_one_line_exit_1(capsys):
    from draw.cli import main

    def diverge():
        raise TrainingError("step 9: loss or gradient non-finite for 3 consecutive steps")
    with pytest.raises(SystemExit) as exit_:
        main(diverge)
    assert exit_.value.code == 1
    assert capsys.readouterr().err == ("error: step 9: loss or gradient non-finite for 3 "
                                       "consecutive steps\n")


def test_resume_marker_hides_later_steps_and_torn_record(reference_run, tmp_path):
    """TensorBoard's reader, after a torn last record and the marker a resumed run writes
    (SessionLog.START at the checkpoint's step + 1), shows each step once: the old values
    up to the checkpoint, then the resumed run's."""
    import glob
    import shutil
    logdir = tmp_path / "copy"
    shutil.copytree(reference_run, logdir)
    path = sorted(glob.glob(str(logdir / "events.out.tfevents.*")))[-1]
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "ab") as f:  # a record cut short by a crash
        f.write(data[-40:-20])
    code = ("import sys; from draw.rundir import RunDir; "
            "w = RunDir(sys.argv[1]).open_writer(resumed_at=100); "
            "w.add_scalar('train/loss', 1.5, 105); w.close()")
    proc = subprocess.run([sys.executable, "-c", code, str(logdir)], cwd=ROOT,
                          stderr=subprocess.PIPE, text=True)
    assert proc.returncode == 0, proc.stderr
    loss = scalars(logdir, "train/loss")
    assert [s for s, _ in loss] == list(range(5, 101, 5)) + [105]
    assert loss[:-1] == [x for x in scalars(reference_run, "train/loss") if x[0] <= 100]
    assert loss[-1] == (105, 1.5)
    # every tag: nothing logged after step 100 by the first run survives
    assert [s for s, _ in scalars(logdir, "val/total")] == \
        [s for s, _ in scalars(reference_run, "val/total") if s <= 100]


@pytest.mark.parametrize("each_epoch,expected", [(True, [2, 4, 6]), (False, [6])])
def test_epoch_checkpoints_configurable(tmp_path, each_epoch, expected):
    images = mx.nd.array(np.random.RandomState(0).rand(40, 1, 28, 28) > 0.5)
    trainer = _small_trainer(tmp_path, images, max_steps=0, epochs=3, checkpoint_every=0,
                             checkpoint_each_epoch=each_epoch, keep_checkpoints=5)
    trainer.fit(writer=None, progress=False)
    assert rundir.list_steps(str(tmp_path)) == expected


def _stderr(logdir):
    path = str(logdir) + ".stderr"
    return open(path).read() if os.path.exists(path) else ""


def _signal_when(args, logdir, data_dir, ready, what):
    """Start a run, send SIGTERM once ``ready()``, wait for the end (a process still
    running when the test fails is killed). Returns the process."""
    proc = start(args, logdir, data_dir)
    try:
        wait_for(ready, what=what)
        proc.send_signal(signal.SIGTERM)
        proc.wait(120)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc


def test_signal_checkpoint_resumes_identically(reference_run, tmp_path, data_dir):
    """A checkpoint written on SIGTERM, at whatever step, resumes to the same parameters
    and curve as the uninterrupted run (every step's noise is seeded from its number)."""
    logdir = tmp_path / "signalled"

    def past_50():
        if any(s >= 50 for s in rundir.list_steps(str(logdir))):
            time.sleep(0.23)  # between two periodic checkpoints
            return True
        return False
    proc = _signal_when(RUN + ["--max_steps", str(STEPS)], logdir, data_dir, past_50,
                        "the checkpoint at step 50")
    assert proc.returncode == 0, _stderr(logdir)[-3000:]
    stopped = int(re.search(r"SIGTERM: stopped after step (\d+)", _stderr(logdir)).group(1))
    assert 50 <= stopped < STEPS
    proc = run_script(["examples/train_mnist.py", "--resume", str(logdir), "--no_progress",
                       "--data_dir", data_dir])
    assert proc.returncode == 0, proc.stderr[-3000:]
    a, b = params_of(reference_run, STEPS), params_of(logdir, STEPS)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert scalars(logdir, "train/loss") == scalars(reference_run, "train/loss")


def test_signal_during_the_final_validation(tmp_path, data_dir):
    """SIGTERM while the run validates on the whole set at its end: it stops within a
    batch, keeps the final checkpoint and exits 0; resuming only finishes the run."""
    logdir = tmp_path / "final"
    proc = _signal_when(RUN + ["--max_steps", "20", "--checkpoint_every", "0"], logdir,
                        data_dir, lambda: "step 20: validation bound" in _stderr(logdir),
                        "the end")
    err = _stderr(logdir)
    assert proc.returncode == 0 and "Traceback" not in err, err[-3000:]
    assert "SIGTERM: stopped after step 20; checkpoint written" in err
    assert rundir.list_steps(str(logdir))[-1] == 20 and not (logdir / "result.json").exists()
    proc = run_script(["examples/train_mnist.py", "--resume", str(logdir), "--no_progress",
                       "--data_dir", data_dir])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "only its final validation is left" in proc.stderr
    assert rundir.read_json(str(logdir / "result.json"))["step"] == 20


def test_second_signal_stops_at_once():
    """The first SIGTERM or SIGINT is recorded (the step finishes, a checkpoint follows);
    from then on both signals have their default action, which ends the process at once
    whatever it is doing (no Python handler has to run). Checked on the handlers
    themselves: an end-to-end race against the end of a step would be flaky."""
    from draw.train import _StopSignals
    before = signal.getsignal(signal.SIGTERM)
    with _StopSignals() as stop:
        assert signal.getsignal(signal.SIGTERM) == stop._handle
        os.kill(os.getpid(), signal.SIGTERM)
        wait_for(lambda: stop.signal is not None, timeout=10, what="the handler")
        assert stop.signal == "SIGTERM"
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
        assert signal.getsignal(signal.SIGINT) == signal.SIG_DFL
    assert signal.getsignal(signal.SIGTERM) == before  # restored after training


def test_full_disk_is_one_line_not_a_hang(tmp_path, data_dir):
    """A run directory on a 300 KB tmpfs fills up within a few checkpoints: the run ends
    with one error line and exit status 2, without a traceback and without hanging."""
    with small_disk(tmp_path / "small", size="300k") as small:
        proc = run_script(RUN + ["--max_steps", "2000", "--checkpoint_every", "20",
                                 "--logdir", str(small / "run"), "--data_dir", data_dir],
                          timeout=300)
        assert proc.returncode == 2, proc.stderr[-3000:]
        assert "Traceback" not in proc.stderr
        last = proc.stderr.strip().splitlines()[-1]
        assert last.startswith("error: ") and ("No space left on device" in last
                                               or "is the disk full?" in last), last


def test_progress_bar_clock_restarts_after_the_first_step():
    """The first step builds the graph: the bar forgets its time, keeps its count."""
    from draw.train import _progress_bar, _restart_clock
    out = io.StringIO()
    bar = _progress_bar(True, total=100, initial=7, file=out)
    bar.update(1)
    bar.start_t -= 3600  # as if the first step had taken an hour
    _restart_clock(bar)
    assert bar.n == 8 and time.time() - bar.start_t < 5
    bar.update(1)
    bar.close()
    shown = out.getvalue()
    # no redraw at zero (tqdm's reset() drew "0/100" with a negative rate on resume)
    assert "9/100" in shown, shown
    assert " 0/100" not in shown and "-" not in shown.split("9/100")[-1], shown


def test_validation_shows_progress(tmp_path, data_dir):
    proc = run_script(RUN[:-5] + ["--max_steps", "5", "--logdir", str(tmp_path / "r"),
                                  "--data_dir", data_dir])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "validation:" in proc.stderr and "image/s" in proc.stderr
