"""The run directory's owner: new-run checks, args.json, checkpoints, rotation, results."""
import os

import mxnet as mx
import pytest
from mxnet import gluon

from draw import rundir
from draw.errors import CheckpointError, UsageError
from draw.rundir import RunDir


def _net():
    net = gluon.nn.Dense(3, in_units=2)
    net.initialize()
    return net


def test_new_run_checks_then_create(tmp_path):
    rd = RunDir(str(tmp_path / "run"))
    rd.check_new()
    rd.create({"model": {"kind": "draw"}})
    assert rd.read_args() == {"model": {"kind": "draw"}}
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
        rd.save_checkpoint(step, net, trainer, {"epoch": 0}, keep=2)
    assert rd.steps() == [20, 30]
    assert not [n for n in os.listdir(tmp_path) if ".tmp" in n]
    fresh = _net()
    state = rd.load_checkpoint(fresh, gluon.Trainer(fresh.collect_params(), "adam"))
    assert state == {"epoch": 0, "step": 30}
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
