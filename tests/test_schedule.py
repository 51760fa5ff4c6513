"""Learning-rate schedules (draw/schedule.py): closed-form rates, a resume in the middle
of a cosine decay bit-identical to the uninterrupted run, a warm start with a schedule,
and one-line errors for bad settings."""
import json
import math
import os
import signal

import mxnet as mx
import numpy as np
import pytest

from draw import rundir, schedule
from draw.config import TrainConfig

from .conftest import run_script
from .helpers import assert_one_line_error, tensorboard_scalars
from .test_reliability import params_of, start, wait_for

TINY = ["examples/train_mnist.py", "-s", "2", "-u", "16", "-l", "4", "-b", "50",
        "--log_every", "1", "--hist_every", "0", "--num_val", "100", "--no_progress",
        "--seed", "3"]
#: updates per epoch in the closed-form checks (the tiny runs have 50,000 / 50 = 1,000)
SPE = 20


def cfg(**kw):
    return TrainConfig(**dict(dict(learning_rate=1e-3, epochs=3), **kw))


# ---------------------------------------------------------------- closed-form rates
def test_constant_is_the_rate_at_every_update():
    c = cfg()
    assert {schedule.learning_rate(c, u, SPE) for u in (1, 2, 59, 60, 10 ** 6)} == {1e-3}


def test_cosine_from_the_rate_to_the_minimum():
    c = cfg(lr_schedule="cosine", lr_min=1e-5)  # L = 3 epochs = 60 updates
    lr = lambda u: schedule.learning_rate(c, u, SPE)  # noqa: E731
    assert lr(1) == pytest.approx(1e-5 + (1e-3 - 1e-5) * (1 + math.cos(math.pi / 60)) / 2)
    assert lr(30) == pytest.approx((1e-3 + 1e-5) / 2)  # half way: the mean of both ends
    assert lr(60) == pytest.approx(1e-5)
    assert lr(61) == lr(1000) == pytest.approx(1e-5)  # after its end: the minimum
    assert all(lr(u) > lr(u + 1) for u in range(1, 60))
    # max_steps shorter than the epochs sets the length
    short = cfg(lr_schedule="cosine", max_steps=40)
    assert schedule.length(short, SPE) == 40
    assert schedule.learning_rate(short, 20, SPE) == pytest.approx(5e-4)


def test_cosine_matches_mxnets_scheduler_stepped_through():
    """The same curve as MXNet's (stateful) CosineScheduler called in order."""
    c = cfg(lr_schedule="cosine", lr_min=1e-5, lr_warmup_steps=10)
    theirs = mx.lr_scheduler.CosineScheduler(60, base_lr=1e-3, final_lr=1e-5,
                                             warmup_steps=10)
    for u in range(11, 61):  # MXNet's warm-up starts at 0 for update 0; ours at r / W
        assert schedule.learning_rate(c, u, SPE) == pytest.approx(theirs(u), rel=1e-12)


def test_step_decay_and_warmup():
    c = cfg(lr_schedule="step", lr_decay_factor=0.5, lr_decay_epochs=1, lr_warmup_steps=4)
    lr = [schedule.learning_rate(c, u, SPE) for u in range(1, 61)]
    assert lr[:4] == pytest.approx([2.5e-4, 5e-4, 7.5e-4, 1e-3])  # r * u / W
    assert lr[4:20] == [1e-3] * 16
    assert lr[20:40] == [5e-4] * 20 and lr[40:] == [2.5e-4] * 20


def test_schedule_start_continues_another_runs_schedule():
    """A run that starts at the schedule's update S has the rates of the first run's
    updates S + 1, S + 2, ..."""
    whole = cfg(lr_schedule="cosine", lr_min=1e-5, lr_schedule_steps=60, epochs=10)
    rest = whole.replace(lr_schedule_start=25)
    for u in range(1, 40):
        assert schedule.learning_rate(rest, u, SPE) == schedule.learning_rate(whole, 25 + u,
                                                                               SPE)


@pytest.mark.parametrize("settings, message", [
    (dict(lr_schedule="cosine", lr_min=2e-3), "--lr_min 0.002: a cosine schedule decays"),
    (dict(lr_decay_factor=0.0), "--lr_decay_factor 0.0: must be in (0, 1]"),
    (dict(lr_decay_factor=1.5), "--lr_decay_factor 1.5: must be in (0, 1]"),
    (dict(lr_warmup_steps=-1), "--lr_warmup_steps -1: must be >= 0"),
    (dict(lr_schedule="linear"), "--lr_schedule linear: unknown schedule"),
    (dict(lr_schedule="step"), "--lr_schedule step: give --lr_decay_epochs"),
])
def test_bad_settings_are_refused(settings, message):
    with pytest.raises(ValueError) as e:
        schedule.check(cfg(**settings))
    assert str(e.value).startswith(message)


# ---------------------------------------------------------------- the trainer
@pytest.mark.parametrize("flags, message", [
    (["--lr_schedule", "cosine", "--lr_min", "0.01"],
     "--lr_min 0.01: a cosine schedule decays from --learning_rate 0.001"),
    (["--lr_decay_factor", "0"], "argument --lr_decay_factor: must be in (0, 1], got 0"),
    (["--lr_decay_factor", "1.01"], "argument --lr_decay_factor: must be in (0, 1]"),
    (["--lr_warmup_steps", "-5"], "argument --lr_warmup_steps: must be >= 0, got -5"),
    (["--lr_schedule", "exponential"], "argument --lr_schedule: invalid choice"),
    (["--lr_schedule", "step"], "--lr_schedule step: give --lr_decay_epochs N"),
    (["--lr_schedule", "cosine", "--lr_warmup_steps", "60", "--max_steps", "60"],
     "--lr_warmup_steps 60: the cosine schedule is 60 updates long"),
])
def test_bad_schedule_flags_are_one_line_and_write_nothing(tmp_path, data_dir, flags,
                                                           message):
    logdir = tmp_path / "run"
    proc = run_script(TINY + ["--epochs", "3"] + flags
                      + ["--logdir", str(logdir), "--data_dir", data_dir])
    assert_one_line_error(proc, message)
    assert not logdir.exists()


def test_contradicting_schedule_flags_are_refused_before_the_data(tmp_path):
    """Settings that contradict each other need no data to be refused: the error comes
    before a dataset is looked for (here there is none to convert)."""
    empty = tmp_path / "data"
    empty.mkdir()
    proc = run_script(TINY + ["--lr_schedule", "cosine", "--lr_min", "0.01",
                              "--logdir", str(tmp_path / "run"), "--data_dir", str(empty),
                              "--source", str(empty)])
    assert_one_line_error(proc, "--lr_min 0.01: a cosine schedule decays")
    assert not os.listdir(str(empty)) and not (tmp_path / "run").exists()


def _rates(logdir):
    return dict(tensorboard_scalars(str(logdir), "train/learning_rate"))


@pytest.fixture(scope="module")
def cosine_run(tmp_path_factory, data_dir):
    """An uninterrupted cosine run of 120 updates, checkpoints every 20."""
    logdir = tmp_path_factory.mktemp("cosine") / "run"
    proc = run_script(TINY + COSINE + ["--logdir", str(logdir), "--data_dir", data_dir])
    assert proc.returncode == 0, proc.stderr[-3000:]
    return logdir


COSINE = ["--max_steps", "120", "--lr_schedule", "cosine", "--lr_min", "1e-5",
          "--lr_warmup_steps", "10", "--checkpoint_every", "20", "-r", "3e-3"]


def test_tensorboard_shows_the_scheduled_rate(cosine_run):
    c = TrainConfig(learning_rate=3e-3, max_steps=120, lr_schedule="cosine", lr_min=1e-5,
                    lr_warmup_steps=10, epochs=20)
    rates = _rates(cosine_run)
    assert sorted(rates) == list(range(1, 121))
    for step, value in rates.items():  # float32 in the event file
        assert value == pytest.approx(schedule.learning_rate(c, step, 1000), rel=1e-6)
    assert "learning rate: cosine from 0.003 to 1e-05 over 120 updates, after a linear " \
           "warm-up over 10 updates" in open(os.path.join(str(cosine_run), "train.log")).read()


def test_resume_mid_schedule_is_bit_identical(cosine_run, tmp_path, data_dir):
    """SIGTERM in the middle of the decay, then --resume: the same rates, the same
    parameters as the uninterrupted run."""
    logdir = tmp_path / "stopped"
    proc = start(TINY + COSINE, logdir, data_dir)
    try:
        wait_for(lambda: any(s >= 40 for s in rundir.list_steps(str(logdir))),
                 what="the checkpoint at step 40")
        proc.send_signal(signal.SIGTERM)
    finally:
        proc.wait(60)
    assert proc.returncode == 0
    stopped_at = rundir.list_steps(str(logdir))[-1]
    assert 40 <= stopped_at < 120 and not (logdir / "result.json").exists()
    proc = run_script(["examples/train_mnist.py", "--resume", str(logdir), "--no_progress",
                       "--data_dir", data_dir])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "resumed %s at step %d" % (logdir, stopped_at) in proc.stderr
    assert "settings changed on resume" not in proc.stderr
    assert _rates(logdir) == _rates(cosine_run)
    a, b = params_of(cosine_run, 120), params_of(logdir, 120)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_resume_refuses_to_stretch_a_cosine_schedule(cosine_run, tmp_path):
    """A longer run would move the cosine's end (its rate would jump): refused, and
    nothing is written."""
    before = sorted(os.listdir(str(cosine_run)))
    for flags, given in ((["--max_steps", "200"], "--max_steps 200 (run has 120)"),
                         (["--epochs", "50"], "--epochs 50 (run has 20)")):
        proc = run_script(["examples/train_mnist.py", "--resume", str(cosine_run)] + flags)
        assert_one_line_error(proc, "--resume: %s would change the length of the run's "
                                    "cosine learning-rate schedule" % given)
    assert sorted(os.listdir(str(cosine_run))) == before


def test_warm_start_with_a_continued_schedule(cosine_run, tmp_path, data_dir):
    """--init_from with --lr_schedule_start: a new run from the first run's weights at
    step 80 continues its schedule (a run directory lost mid-way)."""
    weights = str(tmp_path / "weights")
    proc = run_script(["examples/export_pretrained.py", str(cosine_run), "--step", "80",
                       "--name", "at80", "--out", weights, "--data_dir", data_dir])
    assert proc.returncode == 0, proc.stderr[-3000:]
    warm = tmp_path / "warm"
    proc = run_script(TINY + COSINE[:1] + ["40"] + COSINE[2:] + [
        "--lr_schedule_steps", "120", "--lr_schedule_start", "80", "--logdir", str(warm),
        "--init_from", os.path.join(weights, "at80.params"), "--data_dir", data_dir])
    assert proc.returncode == 0, proc.stderr[-3000:]
    args = json.load(open(str(warm / "args.json")))
    assert args["init_from"]["source"]["step"] == 80
    assert args["train"]["lr_schedule_start"] == 80
    first, second = _rates(cosine_run), _rates(warm)
    assert sorted(second) == list(range(1, 41))
    for step, value in second.items():
        assert value == first[step + 80]
