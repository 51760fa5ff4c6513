"""The ConvLSTM cell with one kernel per input, against NumPy (tests/reference.py)."""
import mxnet as mx
import numpy as np
import pytest
from mxnet.gluon import HybridBlock

from convdraw.cell import ConvLSTMCell

from . import reference as ref
from .helpers import assert_hybrid_matches


@pytest.mark.parametrize("channels,k", [((3,), 3), ((2, 5, 4), 5), ((1, 1), 1)])
def test_step_matches_numpy_conv_lstm(channels, k):
    """One step equals the ConvLSTM on the channel concatenation of the inputs, with the
    inputs' kernels joined along their input channels."""
    rs = np.random.RandomState(0)
    cell = ConvLSTMCell(4, channels, k, forget_bias=0.5)
    cell.initialize(mx.init.Normal(0.3))
    cell.cast("float64")
    inputs = [rs.normal(size=(2, c, 6, 7)) for c in channels]
    h, c = rs.normal(size=(2, 4, 6, 7)), rs.normal(size=(2, 4, 6, 7))
    nd = [mx.nd.array(a, dtype="float64") for a in inputs + [h, c]]
    h1, c1 = cell(cell.input_gates(*nd[:-2]), nd[-2], nd[-1])
    w = np.concatenate([conv.weight.data().asnumpy() for conv in cell.i2h]
                       + [cell.h2h.weight.data().asnumpy()], axis=1)
    bias = cell.h2h.bias.data().asnumpy()
    want_h, want_c = ref.conv_lstm(inputs, h, c, w, bias)
    np.testing.assert_allclose(h1.asnumpy(), want_h, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(c1.asnumpy(), want_c, rtol=1e-10, atol=1e-12)


def test_forget_bias_and_input_ranges():
    cell = ConvLSTMCell(3, (2, 2), 3, forget_bias=1.0)
    cell.initialize()
    np.testing.assert_array_equal(cell.h2h.bias.data().asnumpy(), [0] * 3 + [1] * 3 + [0] * 6)
    x = mx.nd.ones((1, 2, 4, 4))
    total = cell.input_gates(x, x)
    np.testing.assert_allclose(total.asnumpy(), (cell.input_gates(x) +
                                                 cell.input_gates(x, first=1)).asnumpy(),
                               rtol=1e-6)
    with pytest.raises(ValueError, match="inputs 1..2 of a cell with 2 inputs"):
        cell.input_gates(x, x, first=1)
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        ConvLSTMCell(3, (2,), 4)


class _OneStep(HybridBlock):
    """How a model uses the cell: input gates and the update in one graph."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.cell = ConvLSTMCell(4, (3, 2), 3)

    def hybrid_forward(self, F, x, y, h, c):
        return self.cell(self.cell.input_gates(x, y), h, c)


def test_hybridized_matches_imperative():
    block = _OneStep()
    block.initialize(mx.init.Xavier())
    inputs = [mx.nd.random.normal(shape=s) for s in
              ((2, 3, 5, 5), (2, 2, 5, 5), (2, 4, 5, 5), (2, 4, 5, 5))]
    assert_hybrid_matches(block, inputs, rtol=1e-5, atol=1e-5)
