"""draw.ops: the faster operator forms give exactly what MXNet's own operators give."""
import mxnet as mx
import numpy as np
import pytest
from mxnet.gluon import HybridBlock

from draw import ops

from .helpers import forward_backward


class _Split(HybridBlock):
    def __init__(self, num_outputs, axis, fast):
        super().__init__()
        self.num_outputs, self.axis, self.fast = num_outputs, axis, fast

    def hybrid_forward(self, F, x):
        if self.fast:
            parts = ops.split(F, x, self.num_outputs, self.axis)
        else:
            parts = F.split(x, num_outputs=self.num_outputs, axis=self.axis)
            parts = list(parts) if self.num_outputs > 1 else [parts]
        # every part used, each in its own way, so that wrong gradients show
        return [p * (k + 1) for k, p in enumerate(parts)]


@pytest.mark.parametrize("shape,num_outputs,axis", [
    ((5, 12), 4, 1), ((5, 12), 3, 1), ((5, 12), 5, 0), ((5, 12), 1, 1),
    ((3, 6, 4, 7), 2, 1), ((3, 6, 4, 7), 2, 2), ((3, 6, 4, 8), 4, 3)])
@pytest.mark.parametrize("hybridize", [False, True])
def test_split_equals_mxnet_split(shape, num_outputs, axis, hybridize):
    x = mx.nd.array(np.random.RandomState(0).normal(size=shape))
    results = []
    for fast in (False, True):
        block = _Split(num_outputs, axis, fast)
        if hybridize:
            block.hybridize(static_alloc=True, static_shape=True)
        results.append(forward_backward(block, [x]))
    (want_out, want_grad, _), (out, grad, _) = results
    assert len(out) == num_outputs
    for a, b in zip(want_out + want_grad, out + grad):
        assert a.shape == b.shape
        np.testing.assert_array_equal(a, b)
