"""Several contexts: one update on 2 CPU contexts equals one update on 1 context."""
import mxnet as mx
import numpy as np
import pytest

from draw.model import DRAW
from draw.config import TrainConfig
from draw.rundir import RunDir
from draw.train import Trainer


def _deterministic_draw():
    """A tiny DRAW whose posterior sigma is ~exp(-30), so the sampled noise has no effect
    and two runs with different random streams must agree."""
    model = DRAW(image_shape=(1, 12, 10), num_steps=3, num_recurrent_units=8, latent_dim=3,
                 read_size=2, write_size=3)
    model.initialize(mx.init.Xavier())
    model(mx.nd.zeros((2, 1, 12, 10)))  # finish deferred initialisation
    w = model.posterior.weight.data().copy()
    w[3:] = 0
    b = model.posterior.bias.data().copy()
    b[3:] = -30
    model.posterior.weight.set_data(w)
    model.posterior.bias.set_data(b)
    return model


def test_two_contexts_match_one(tmp_path):
    mx.random.seed(0)
    model = _deterministic_draw()
    start = {k: v.data().copy() for k, v in model.collect_params().items()}
    images = mx.nd.array((np.random.RandomState(0).uniform(size=(16, 1, 12, 10)) > 0.6)
                         .astype(np.uint8), dtype="uint8")
    x = images[:8].astype("float32")
    results = []
    for ctxs in ([mx.cpu(0)], [mx.cpu(0), mx.cpu(1)]):
        model.collect_params().reset_ctx(ctxs)
        for k, p in model.collect_params().items():
            p.set_data(start[k])
        trainer = Trainer(model, images, images,
                          TrainConfig(batch_size=8, learning_rate=0.01), ctxs,
                          RunDir(str(tmp_path)))
        trainer.step(x)
        results.append({k: p.data(mx.cpu(0)).asnumpy() for k, p in
                        model.collect_params().items()})
        if len(ctxs) == 2:  # both devices hold the same updated parameters
            for p in model.collect_params().values():
                np.testing.assert_array_equal(p.data(mx.cpu(0)).asnumpy(),
                                              p.data(mx.cpu(1)).asnumpy())
    changed = 0
    for k in results[0]:
        np.testing.assert_allclose(results[0][k], results[1][k], rtol=1e-4, atol=1e-6, err_msg=k)
        changed += not np.allclose(results[0][k], start[k].asnumpy())
    assert changed > 10


def _trained_on(ctxs, tmp_path, steps=2):
    """A tiny DRAW and its Trainer on ``ctxs`` after ``steps`` updates (same start)."""
    mx.random.seed(0)
    model = _deterministic_draw()
    model.collect_params().reset_ctx(ctxs)
    images = mx.nd.array((np.random.RandomState(0).uniform(size=(16, 1, 12, 10)) > 0.6)
                         .astype(np.uint8), dtype="uint8")
    trainer = Trainer(model, images, images, TrainConfig(batch_size=6, learning_rate=0.01),
                      ctxs, RunDir(str(tmp_path)))
    for _ in range(steps):
        trainer.step(images[:6].astype("float32"))
    return model, trainer


def _saved_arrays(directory, step):
    import pickle
    from draw import rundir
    params, states, _ = rundir.paths(directory, step)
    saved_states, _ = pickle.loads(open(states, "rb").read())
    flat = {}
    for index, value in saved_states.items():
        for j, array in enumerate(value if isinstance(value, (tuple, list)) else [value]):
            flat["%s/%d" % (index, j)] = array
    return mx.nd.load(params), flat


@pytest.mark.parametrize("saved_on,loaded_on", [(1, 2), (2, 1), (3, 1), (1, 3)])
def test_checkpoint_loads_on_other_devices_exactly(tmp_path, saved_on, loaded_on):
    """A checkpoint holds one device's copy of the parameters and the optimizer state, on
    the CPU (cpu(0) here stands for the host: the run used cpu(1), cpu(2), ... only), and
    loads bit-exactly on another set of devices: saving it again gives the same arrays."""
    from draw import rundir
    ctxs = [mx.cpu(i + 1) for i in range(saved_on)]
    model, trainer = _trained_on(ctxs, tmp_path / "a")
    first = str(tmp_path / "first")
    rundir.save(first, 2, model, trainer.updater, {"epoch": 0, "batch": 2})
    params, states = _saved_arrays(first, 2)
    assert all(a.context == mx.cpu(0) for a in list(params.values()) + list(states.values()))
    for name, p in model._collect_params_with_prefix().items():  # the first device's copy
        np.testing.assert_array_equal(params[name].asnumpy(), p.list_data()[0].asnumpy())
    other = [mx.cpu(i + 4) for i in range(loaded_on)]
    model2, trainer2 = _trained_on(other, tmp_path / "b", steps=0)
    rundir.load(first, model2, trainer2.updater, ctx=other)
    trainer2.step(mx.nd.zeros((6, 1, 12, 10)))  # the states move to the new devices
    again = str(tmp_path / "again")
    rundir.load(first, model2, trainer2.updater, ctx=other)
    rundir.save(again, 2, model2, trainer2.updater, {"epoch": 0, "batch": 2})
    params2, states2 = _saved_arrays(again, 2)
    assert sorted(params2) == sorted(params) and sorted(states2) == sorted(states)
    for name in params:
        np.testing.assert_array_equal(params2[name].asnumpy(), params[name].asnumpy())
        for ctx in other:
            np.testing.assert_array_equal(
                dict(model2._collect_params_with_prefix())[name].data(ctx).asnumpy(),
                params[name].asnumpy())
    for key in states:
        np.testing.assert_array_equal(states2[key].asnumpy(), states[key].asnumpy())


TINY = ["examples/train_mnist.py", "-s", "2", "-u", "16", "-l", "4", "-b", "48",
        "--log_every", "5", "--hist_every", "0", "--num_val", "48", "--no_progress",
        "--no_epoch_checkpoints"]


def _final_params(logdir, step):
    from draw import rundir
    return mx.nd.load(rundir.paths(logdir, step)[0])


def test_resume_on_other_device_counts(tmp_path, data_dir):
    """Script level: a run on 3 contexts stopped at step 10 and resumed on 3 ends
    bit-identical to the uninterrupted one; runs move from 2 contexts to 1 and back."""
    from .conftest import run_script
    common = TINY + ["--data_dir", data_dir, "--checkpoint_every", "10"]
    whole, parts = str(tmp_path / "whole"), str(tmp_path / "parts")
    for args in ([*common, "--cpus", "3", "--max_steps", "20", "--logdir", whole],
                 [*common, "--cpus", "3", "--max_steps", "10", "--logdir", parts],
                 ["examples/train_mnist.py", "--resume", parts, "--cpus", "3", "--max_steps",
                  "20", "--no_progress", "--data_dir", data_dir]):
        proc = run_script(args)
        assert proc.returncode == 0, proc.stderr[-3000:]
    a, b = _final_params(whole, 20), _final_params(parts, 20)
    for name in a:
        np.testing.assert_array_equal(a[name].asnumpy(), b[name].asnumpy(), err_msg=name)
    moved = str(tmp_path / "moved")
    for args in ([*common, "--cpus", "2", "--max_steps", "10", "--logdir", moved],
                 ["examples/train_mnist.py", "--resume", moved, "--cpus", "1", "--max_steps",
                  "15", "--no_progress", "--data_dir", data_dir],
                 ["examples/train_mnist.py", "--resume", moved, "--cpus", "2", "--max_steps",
                  "20", "--no_progress", "--data_dir", data_dir]):
        proc = run_script(args)
        assert proc.returncode == 0, proc.stderr[-3000:]
    assert "resumed %s at step 15" % moved in proc.stderr
