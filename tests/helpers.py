"""Test helpers: compare a block's imperative and hybridized outputs and gradients; read
a run's curves as TensorBoard shows them."""
import contextlib
import json
import os
import subprocess
import sys

import mxnet as mx
import numpy as np
from mxnet import autograd


def forward_backward(block, inputs):
    """Outputs and gradients (inputs + params) of ``sum_k sum(out_k * w_k)``.

    Fixed random weights ``w_k`` make every output element matter in the gradients.
    """
    inputs = [x.copy() for x in inputs]
    for x in inputs:
        x.attach_grad()
    with autograd.record():
        outs = block(*inputs)
        outs = outs if isinstance(outs, (list, tuple)) else [outs]
        rs = np.random.RandomState(0)
        head = mx.nd.add_n(*[(o * mx.nd.array(rs.uniform(-1, 1, o.shape), dtype=o.dtype)).sum()
                             for o in outs])
    head.backward()
    params = block.collect_params()
    grads = {k: p.grad().asnumpy().copy() for k, p in params.items() if p.grad_req != "null"}
    return ([o.asnumpy() for o in outs], [x.grad.asnumpy() for x in inputs], grads)


def assert_hybrid_matches(block, inputs, rtol=1e-5, atol=1e-5):
    """The block gives the same outputs and gradients before and after hybridize()."""
    imp = forward_backward(block, inputs)
    block.hybridize(static_alloc=True, static_shape=True)
    hyb = forward_backward(block, inputs)
    for a, b in zip(imp[0], hyb[0]):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
    for a, b in zip(imp[1], hyb[1]):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
    assert imp[2].keys() == hyb[2].keys() and imp[2]
    for k in imp[2]:
        np.testing.assert_allclose(imp[2][k], hyb[2][k], rtol=rtol, atol=atol, err_msg=k)
        assert np.abs(imp[2][k]).sum() > 0 or "bias" in k, "gradient of %s is all zero" % k
    return imp


def check_finite_differences(block, objective, rs, eps, atol, rtol, per_param=3):
    """Compare the gradients already in ``block``'s parameters (from ``objective()``'s
    backward) with central differences of ``objective`` at ``per_param`` random entries
    of every trained parameter. Returns the number of entries checked."""
    checked = 0
    for name, p in block.collect_params().items():
        if p.grad_req == "null":
            continue
        grad = p.grad().asnumpy().reshape(-1)
        flat = p.data().reshape((-1,))
        for idx in rs.choice(flat.size, size=min(per_param, flat.size), replace=False):
            old = flat[idx].asscalar()
            flat[idx] = old + eps
            up = objective().asscalar()
            flat[idx] = old - eps
            down = objective().asscalar()
            flat[idx] = old
            numeric = (up - down) / (2 * eps)
            assert abs(numeric - grad[idx]) <= atol + rtol * abs(numeric), \
                (name, idx, numeric, grad[idx])
            checked += 1
    return checked


_READ_SCALARS = """
import json, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
acc = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0})
acc.Reload()
tags = acc.Tags()["scalars"]
print(json.dumps([[e.step, e.value] for e in acc.Scalars(sys.argv[2])] if sys.argv[2] in tags
                 else None))
"""


def tensorboard_scalars(logdir, tag):
    """``[(step, value)]`` of scalar ``tag`` as TensorBoard's own reader (EventAccumulator)
    shows the run, read in a separate process (mxboard's and TensorBoard's generated
    protobuf modules cannot both be imported in one process). None if the tag is absent."""
    proc = subprocess.run([sys.executable, "-c", _READ_SCALARS, str(logdir), tag],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    values = json.loads(proc.stdout)
    return None if values is None else [tuple(v) for v in values]


def assert_one_line_error(proc, message):
    """A script's bad-input answer: exit status 2, one line ``error: ...`` containing
    ``message`` last on stderr, no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    lines = proc.stderr.strip().splitlines()
    assert "Traceback" not in proc.stderr
    assert lines and lines[-1].startswith("error: ") and message in lines[-1], lines


@contextlib.contextmanager
def small_disk(path, size="300k"):
    """A tmpfs of ``size`` mounted at ``path`` (a new directory) for the block: a disk
    that fills up. Skips the test where the machine cannot mount one (it needs root),
    and says so."""
    import pytest
    os.makedirs(str(path))
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size, "tmpfs",
                            str(path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
    if mount.returncode != 0:
        pytest.skip("this machine cannot mount a tmpfs (needs root): %s" % mount.stdout.strip())
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)])


def read_events(logdir):
    """All scalars, images and histograms of a run, read with TensorBoard's reader."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    acc = EventAccumulator(logdir, size_guidance={"scalars": 0, "images": 0, "histograms": 0})
    acc.Reload()
    return acc


def tiny_classifier(shape=(1, 20, 30), steps=3, glimpse=5, units=12, classes=7):
    """A small DRAW classifier (sizes not multiples of 8 or 16), initialised from seed 0
    and shaped by one forward pass."""
    from draw.classifier import DRAWClassifier
    mx.random.seed(0)
    net = DRAWClassifier(image_shape=shape, num_steps=steps, glimpse_size=glimpse,
                         num_recurrent_units=units, num_classes=classes)
    net.initialize(mx.init.Xavier())
    net(mx.nd.zeros((1,) + tuple(shape)))
    return net
