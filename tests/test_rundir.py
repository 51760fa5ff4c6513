"""The run directory's owner: new-run checks, args.json, checkpoints, rotation, results."""
import os

import mxnet as mx
import pytest
from mxnet import gluon

from draw import rundir
from draw.errors import CheckpointError, UsageError
from draw.rundir import RunDir


ARGS = {"model": {"kind": "draw", "kwargs": {}}, "dataset": "binarized_mnist", "train": {}}


def _net():
    net = gluon.nn.Dense(3, in_units=2)
    net.initialize()
    return net


def test_new_run_checks_then_create(tmp_path):
    rd = RunDir(str(tmp_path / "run"))
    rd.check_new()
    rd.create(ARGS)
    assert rd.read_args() == ARGS
    with pytest.raises(UsageError, match="already holds a run: continue it with --resume"):
        rd.check_new()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x").write_text("")
    with pytest.raises(UsageError, match="is not empty and holds no run of ours"):
        RunDir(str(tmp_path / "other")).check_new()
    (tmp_path / "file").write_text("")
    with pytest.raises(UsageError, match="exists and is not a directory"):
        RunDir(str(tmp_path / "file")).check_new()
    with pytest.raises(UsageError, match=r"--resume .*nothing: no readable args.json"):
        RunDir(str(tmp_path / "nothing")).read_args()
    with pytest.raises(UsageError, match=r"nothing: not a run"):
        RunDir(str(tmp_path / "nothing")).read_args("%s: not a run")


def test_checkpoints_save_rotate_load(tmp_path):
    rd = RunDir(str(tmp_path))
    net = _net()
    trainer = gluon.Trainer(net.collect_params(), "adam")
    for step in (10, 20, 30):
        net.weight.set_data(mx.nd.full((3, 2), step))
        rd.save_checkpoint(step, net, trainer, {"epoch": 0, "batch": step}, keep=2)
    assert rd.steps() == [20, 30]
    assert not [n for n in os.listdir(tmp_path) if ".tmp" in n]
    fresh = _net()
    state = rd.load_checkpoint(fresh, gluon.Trainer(fresh.collect_params(), "adam"))
    assert (state["step"], state["epoch"], state["batch"]) == (30, 0, 30)
    assert set(state["files"]) == {"params", "states"}
    assert (fresh.weight.data().asnumpy() == 30).all()
    assert rd.load_checkpoint(fresh, step=20)["step"] == 20
    with pytest.raises(CheckpointError, match="no checkpoint at step 10"):
        rd.load_checkpoint(fresh, step=10)
    # a torn newest checkpoint: the one before is used
    open(rundir.paths(str(tmp_path), 30)[0], "wb").write(b"torn")
    assert rd.load_checkpoint(_net())["step"] == 20
    with pytest.raises(CheckpointError, match="does not fit the model"):
        rd.load_checkpoint(gluon.nn.Dense(4, in_units=2))


def test_readers_never_write(tmp_path):
    net = _net()
    rd = RunDir(str(tmp_path), writes=False)
    rd.save_checkpoint(5, net, None, {})
    assert rd.open_writer() is None and os.listdir(tmp_path) == []


def test_partial_files_removed_and_result_written(tmp_path):
    rd = RunDir(str(tmp_path))
    (tmp_path / "model-00000010.params.tmp-123").write_text("half")
    messages = []
    rd.prepare_resume(log=lambda *a: messages.append(a[0] % a[1:]))
    assert not os.listdir(tmp_path) and "half-written" in messages[0]
    summary = rd.write_result({"total": 1.5}, step=7, elapsed=12.34)
    assert summary == {"total": 1.5, "step": 7, "wall_time_s": 12.3}
    assert rundir.read_json(rd.file(rd.RESULT)) == summary


def test_one_process_per_run_directory(tmp_path):
    """The lock: a second owner is refused with the holder's pid; released on unlock or
    when the process ends (so a lock left by kill -9 is taken over)."""
    first = RunDir(str(tmp_path / "run"))
    first.check_new()
    first.create({"model": {}})
    second = RunDir(str(tmp_path / "run"))
    with pytest.raises(UsageError, match=r"run is in use by another process \(pid %d\)"
                       % os.getpid()):
        second.lock()
    other = RunDir(str(tmp_path / "run2"))
    other.check_new()
    os.makedirs(other.path)
    open(other.file(other.LOCK), "w").write("4242\n")  # stale: nobody holds it
    other.check_new()  # a directory holding only a stale lock is still new
    first.unlock()
    second.lock()  # taken over
    second.unlock()
    with pytest.raises(UsageError, match="already holds a run"):
        RunDir(str(tmp_path / "run")).create({"model": {}})


def test_concurrent_starts_on_one_new_directory(tmp_path):
    """Two processes that both passed the new-run checks: the second to create is refused
    in one line, and args.json holds the first one's settings."""
    a, b = RunDir(str(tmp_path / "run")), RunDir(str(tmp_path / "run"))
    a.check_new()
    b.check_new()
    a.create(dict(ARGS, dataset="a"))
    with pytest.raises(UsageError, match="in use by another process"):
        b.create(dict(ARGS, dataset="b"))
    assert a.read_args()["dataset"] == "a"
    a.unlock()


def _three_checkpoints(tmp_path, keep=5):
    rd = RunDir(str(tmp_path))
    net = _net()
    trainer = gluon.Trainer(net.collect_params(), "adam")
    net(mx.nd.ones((1, 2)))
    for step in (10, 20, 30):
        net.weight.set_data(mx.nd.full((3, 2), step))
        rd.save_checkpoint(step, net, trainer, {"epoch": 0, "batch": step}, keep=keep)
    return rd, net, trainer


@pytest.mark.parametrize("damage,problem", [
    ("truncate_states", "trainer-00000030.states is truncated"),
    ("flip_params", "model-00000030.params does not match its checksum"),
    ("state_of_wrong_form", "state file of the wrong form"),
    ("state_not_json", "state file unreadable"),
])
def test_damaged_newest_checkpoint_falls_back(tmp_path, damage, problem):
    """A damaged newest checkpoint is skipped with one warning (no traceback), resume
    sets it aside, and rotation afterwards keeps the good checkpoints."""
    rd, net, trainer = _three_checkpoints(tmp_path)
    params, states, state_json = rundir.paths(str(tmp_path), 30)
    if damage == "truncate_states":
        data = open(states, "rb").read()
        open(states, "wb").write(data[:len(data) // 2])
    elif damage == "flip_params":
        data = bytearray(open(params, "rb").read())
        data[-1] ^= 1
        open(params, "wb").write(bytes(data))
    elif damage == "state_of_wrong_form":
        open(state_json, "w").write('{"step": "thirty"}')
    else:
        open(state_json, "w").write("{")
    assert rundir.check(str(tmp_path), 30, deep=True)[1].startswith(problem)
    fresh = _net()
    state = rd.load_checkpoint(fresh, gluon.Trainer(fresh.collect_params(), "adam"))
    assert state["step"] == 20 and (fresh.weight.data().asnumpy() == 20).all()
    assert rd.steps() == [10, 20]  # the damaged one is set aside, not counted
    assert os.path.exists(params + ".unreadable")
    # the resumed run goes on: keeping 1 checkpoint never deletes the last good one
    rd.save_checkpoint(21, fresh, trainer, {"epoch": 0, "batch": 21}, keep=1)
    assert rd.steps() == [21]


def test_rotation_never_counts_an_unreadable_checkpoint(tmp_path):
    rd, net, trainer = _three_checkpoints(tmp_path)
    params = rundir.paths(str(tmp_path), 30)[0]
    open(params, "wb").write(b"torn")
    rd.save_checkpoint(25, net, trainer, {"epoch": 0, "batch": 25}, keep=2)
    # intact, newest first: 25, 20 -> older ones go; the unreadable 30 is not "newest"
    assert rd.steps() == [20, 25, 30]
    assert rd.load_checkpoint(_net())["step"] == 25


def test_event_writer_cannot_hang_the_trainer(tmp_path):
    """mxboard's writer thread dies when a write fails (a full disk, simulated here);
    the next add_* or flush is an OSError at once, not a wait forever. (In a separate
    process: mxboard's protobuf modules must not meet TensorBoard's in this one.)"""
    import subprocess
    import sys
    code = """
import errno, sys
from draw.rundir import RunDir
writer = RunDir(sys.argv[1]).open_writer()
def full(event):
    raise OSError(errno.ENOSPC, "No space left on device")
writer._events()._ev_writer.write_event = full
try:
    for step in range(100):
        writer.add_scalar("train/loss", 1.0, step)
    writer.flush()
except OSError as e:
    print("OSError:", e)
writer.close()
"""
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "run")],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("OSError: [Errno 5] writing the event file failed (is the "
                                  "disk full?)")
