"""The device smoke test behind ``python -m draw.selftest`` (see :mod:`draw.selftest`).

For every device, against the same computation on the CPU (``cpu(0)``): one training step
of a small DRAW and a small ConvDRAW (loss, gradient norm, every updated parameter),
sampling with fixed noise, and a checkpoint round trip (saved from the device, loaded
back onto it, bit for bit).
"""
import tempfile

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon

from . import rundir
from .loss import VariationalLoss
from .registry import model_from_config

#: the two models of the smoke test: small, non-square sizes off the 8/16 channel blocks
MODELS = {
    "DRAW": {"kind": "draw", "kwargs": dict(image_shape=[1, 28, 28], num_steps=6,
                                            num_recurrent_units=40, latent_dim=10,
                                            read_size=2, write_size=5)},
    "ConvDRAW": {"kind": "convdraw", "kwargs": dict(image_shape=[1, 28, 28], num_steps=4,
                                                    num_latent_maps=3, num_recurrent_maps=12)},
}
#: agreement asked of a device with the CPU: relative, on the loss and gradient norm, and
#: absolute on parameters after one Adam step (learning rate 1e-3: the update is ~1e-3)
RTOL, PARAM_ATOL = 1e-3, 1e-5


def _build(config, ctx, seed=0):
    """The model initialised on the CPU from ``seed``, then copied to ``ctx``."""
    mx.random.seed(seed)
    model = model_from_config(config)
    model.initialize(mx.init.Xavier(), ctx=mx.cpu())
    shape = (1,) + tuple(config["kwargs"]["image_shape"])
    model(mx.nd.zeros(shape))  # finish the deferred shapes
    model.collect_params().reset_ctx(ctx)
    return model


def _step(model, x, noise, ctx):
    """One Adam step with global-norm clipping, as the trainers do; returns (loss, grad
    norm, parameters after the step as NumPy, the gluon.Trainer)."""
    model.hybridize(static_alloc=True)
    loss = VariationalLoss()
    trainer = gluon.Trainer(model.collect_params(), "adam", {"learning_rate": 1e-3})
    x, noise = x.as_in_context(ctx), noise.as_in_context(ctx)
    with autograd.record():
        outs = model(x, noise)
        total = loss(outs[0], x, *outs[1:])[0].mean()
    total.backward()
    grads = [p.grad(ctx) for p in model.collect_params().values() if p.grad_req != "null"]
    norm = gluon.utils.clip_global_norm(grads, 10.0)
    trainer.step(1)
    params = _values(model, ctx)
    return float(total.asscalar()), float(norm), params, trainer


def _values(model, ctx):
    """{structural name (as in a checkpoint): NumPy value on ctx} of every parameter."""
    return {k: p.data(ctx).asnumpy() for k, p in model._collect_params_with_prefix().items()}


def _inputs(model, n=4, seed=1):
    rs = np.random.RandomState(seed)
    x = (rs.uniform(size=(n,) + model.image_shape) > 0.7).astype(np.float32)
    noise = rs.standard_normal((model.num_steps, n) + model.latent_shape()).astype(np.float32)
    return mx.nd.array(x), mx.nd.array(noise)


def check_training_step(name, config, ctx):
    """(ok, line): one training step on ``ctx`` against the CPU."""
    results = []
    for where in (mx.cpu(0), ctx):
        model = _build(config, where)
        x, noise = _inputs(model)
        results.append(_step(model, x, noise, where)[:3])
    (loss_c, norm_c, p_c), (loss_d, norm_d, p_d) = results
    diff = max(float(np.abs(p_c[k] - p_d[k]).max()) for k in p_c)
    ok = (np.isclose(loss_d, loss_c, rtol=RTOL) and np.isclose(norm_d, norm_c, rtol=RTOL)
          and diff <= PARAM_ATOL)
    return ok, ("%s training step on %s: loss %.4f (CPU %.4f), gradient norm %.4f (CPU %.4f), "
                "largest parameter difference %.2g" % (name, ctx, loss_d, loss_c, norm_d,
                                                       norm_c, diff))


def check_sampling(name, config, ctx):
    """(ok, line): sampling with fixed noise on ``ctx`` against the CPU."""
    canvases = []
    for where in (mx.cpu(0), ctx):
        model = _build(config, where)
        _, noise = _inputs(model, n=8, seed=2)
        canvases.append(model.generate(noise.as_in_context(where))[0].asnumpy())
    diff = float(np.abs(canvases[0] - canvases[1]).max())
    return diff <= 1e-4, ("%s sampling on %s: 8 samples, largest pixel difference from the "
                          "CPU %.2g" % (name, ctx, diff))


def check_checkpoint(name, config, ctx):
    """(ok, line): a checkpoint written from ``ctx`` loads back onto it bit for bit."""
    model = _build(config, ctx)
    x, noise = _inputs(model)
    _, _, params, trainer = _step(model, x, noise, ctx)
    with tempfile.TemporaryDirectory() as tmp:
        rundir.save(tmp, 1, model, trainer, {"epoch": 0, "batch": 1})
        fresh = _build(config, ctx, seed=5)
        fresh_trainer = gluon.Trainer(fresh.collect_params(), "adam", {"learning_rate": 1e-3})
        rundir.load(tmp, fresh, fresh_trainer, ctx=ctx)
    loaded = _values(fresh, ctx)
    same = sorted(loaded) == sorted(params) and all(np.array_equal(params[k], loaded[k])
                                                      for k in params)
    return same, ("%s checkpoint round trip on %s: %d parameters %s"
                  % (name, ctx, len(params), "identical" if same else "DIFFER"))


def check_amp_training(name, config, ctx, steps=3):
    """(ok, line): ``steps`` updates through :class:`draw.train.Trainer` in mixed
    precision (AMP must be on in the process: bfloat16 on a CPU, float16 with loss
    scaling on a GPU): finite losses, every trained parameter changed and still float32
    (what a checkpoint stores)."""
    from . import precision
    from .config import TrainConfig
    from .rundir import RunDir
    from .train import Trainer
    model = _build(config, ctx)
    before = _values(model, ctx)
    x, _ = _inputs(model, n=8)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(model, x, x, TrainConfig(batch_size=8), [ctx], RunDir(tmp))
        losses = []
        for _ in range(steps):
            values, _, finite = trainer.step(x)
            losses.append(float(values[0][0].mean().asscalar()) if finite else float("nan"))
    after = _values(model, ctx)
    trained = [k for k, p in model._collect_params_with_prefix().items()
               if p.grad_req != "null"]
    changed = sum(not np.array_equal(before[k], after[k]) for k in trained)
    float32 = all(after[k].dtype == np.float32 for k in after)
    ok = bool(np.isfinite(losses).all()) and changed == len(trained) and float32
    return ok, ("%s %s training on %s: %d steps, loss %s, %d of %d parameters updated, "
                "all float32: %s" % (name, precision.dtype(), ctx, steps,
                                     " -> ".join("%.2f" % v for v in losses), changed,
                                     len(trained), "yes" if float32 else "NO"))


def selftest(ctxs, out=print, amp=False):
    """Run every check on every context; print a line per check. Returns True if all
    passed. ``amp``: instead, the mixed-precision training check
    (:func:`check_amp_training`; AMP is turned on for the process first)."""
    ok = True
    if amp:
        from . import precision
        precision.use(True, ctxs)
    checks = (check_amp_training,) if amp else (check_training_step, check_sampling,
                                                check_checkpoint)
    for ctx in ctxs:
        for name, config in MODELS.items():
            for check in checks:
                passed, line = check(name, config, ctx)
                out("%s  %s" % ("ok  " if passed else "FAIL", line))
                ok &= bool(passed)
    out("all checks passed" if ok else "some checks FAILED")
    return ok

