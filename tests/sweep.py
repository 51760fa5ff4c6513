"""Worker for the size sweep (tests/test_sizes.py): full training steps in a subprocess.

A oneDNN layout bug does not raise: it can kill the process with SIGFPE. Running the
configurations here, one JSON line each as it finishes, lets the test name the
configuration that crashed instead of losing the whole test session.

    python -m tests.sweep '<json list of {"kind", "model", "batch"}>'
"""
import json
import sys

import draw  # noqa: F401  (first: OpenMP set-up)
import mxnet as mx
import numpy as np
from mxnet import autograd, gluon

from draw.loss import ModelWithLoss


def train_step(kind, model_kwargs, batch=3, hybridize=False, seed=0):
    """One forward + backward + Adam step; returns (loss, all losses and grads finite,
    every trained parameter changed)."""
    mx.random.seed(seed)
    model = draw.model_from_config({"kind": kind, "kwargs": model_kwargs})
    model.initialize(mx.init.Xavier())
    net = ModelWithLoss(model)
    if hybridize:
        net.hybridize(static_alloc=True, static_shape=True)
    trainer = gluon.Trainer(model.collect_params(), "adam", {"learning_rate": 1e-3})
    shape = (batch,) + tuple(model_kwargs["image_shape"])
    x = mx.nd.array(np.random.RandomState(seed).uniform(size=shape) > 0.7)
    net(x)  # finish deferred initialisation
    params = [p for p in model.collect_params().values() if p.grad_req != "null"]
    before = [p.data().asnumpy() for p in params]
    with autograd.record():
        total, recon, kl = net(x)
    total.backward()
    grads = [p.grad().asnumpy() for p in params]
    trainer.step(batch)
    mx.nd.waitall()
    after = [p.data().asnumpy() for p in params]
    finite = all(np.isfinite(a.asnumpy()).all() for a in (total, recon, kl)) and \
        all(np.isfinite(g).all() for g in grads) and all(np.isfinite(a).all() for a in after)
    changed = all(not np.array_equal(b, a) for b, a in zip(before, after))
    return float(total.mean().asscalar()), finite, changed


def main(argv):
    for cfg in json.loads(argv[0]):
        for hybrid in (False, True):
            loss, finite, changed = train_step(cfg["kind"], cfg["model"], cfg.get("batch", 3),
                                               hybridize=hybrid)
            print(json.dumps(dict(cfg, hybridize=hybrid, loss=loss, finite=finite,
                                  changed=changed)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
