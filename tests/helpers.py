"""Test helpers: compare a block's imperative and hybridized outputs and gradients."""
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
