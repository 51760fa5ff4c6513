"""A convolutional LSTM cell that reads several inputs without concatenating them.

The cell computes (Shi et al. 2015, without peepholes; ``*`` is a 'same' convolution)::

    gates = sum_j W_j * x_j + W_h * h + b                 (4U maps)
    i, f, o = sigmoid(gates_i), sigmoid(gates_f), sigmoid(gates_o)
    g = tanh(gates_g)
    c' = f c + i g
    h' = o tanh(c')

which is the usual ConvLSTM on the channel concatenation ``[x_1, ..., x_n]``: a
convolution of a concatenation is the sum of the convolutions of its parts. The inputs
are kept apart on purpose. In MXNet 1.9.1 with oneDNN, the gradient that reaches a
channel concatenation from a convolution is in a blocked layout (8 or 16 channels per
block, by the CPU's vector width), and the backward of ``concat`` cuts it at the parts'
channel offsets; an offset that is not a multiple of the block fails ("could not
construct a sub-memory") or crashes with SIGFPE. With one convolution per input no
tensor is ever cut along channels at a user-chosen offset, so every channel count works
on every CPU. It also lets a caller compute the share of an input that does not change
over the steps once (:meth:`ConvLSTMCell.input_gates`).
"""
from functools import reduce
from operator import add

import mxnet as mx
from mxnet.gluon import HybridBlock, nn

from draw.lstm import lstm_update


class ConvLSTMCell(HybridBlock):
    """Convolutional LSTM over ``n`` separately convolved inputs.

    Parameters
    ----------
    hidden_channels : int
        U, the maps of ``h`` and ``c``.
    input_channels : sequence of int
        Channels of each input ``x_j`` (its own kernel ``W_j``, child ``i2h<j>_``).
    kernel_size : int
        Odd size of every kernel ('same' padding keeps the state's height and width).
    forget_bias : float
        Initial bias of the forget gate (the other gates start at 0).

    Inputs (``hybrid_forward``)
    ---------------------------
    gates_x : shape (B, 4U, h, w)
        The inputs' share ``sum_j W_j * x_j``, from :meth:`input_gates`.
    h, c : shape (B, U, h, w)
        The previous state.

    Outputs
    -------
    h, c : shape (B, U, h, w), the new state.

    Gates are ordered ``i, f, g, o`` along the channel axis of ``W_j``, ``W_h`` and ``b``.
    """

    def __init__(self, hidden_channels, input_channels, kernel_size, forget_bias=0.0,
                 **kwargs):
        super().__init__(**kwargs)
        self.hidden_channels = int(hidden_channels)
        self.input_channels = tuple(int(v) for v in input_channels)
        k = int(kernel_size)
        if k % 2 == 0:
            raise ValueError("kernel_size must be odd, got %d" % k)
        u4 = 4 * self.hidden_channels
        with self.name_scope():
            self.i2h = []
            for j, channels in enumerate(self.input_channels):
                conv = nn.Conv2D(u4, k, padding=k // 2, in_channels=channels, use_bias=False,
                                 prefix="i2h%d_" % j)
                self.register_child(conv, "i2h%d" % j)
                self.i2h.append(conv)
            self.h2h = nn.Conv2D(u4, k, padding=k // 2, in_channels=self.hidden_channels,
                                 bias_initializer=mx.init.LSTMBias(forget_bias), prefix="h2h_")

    def upgrade_parameters(self, arrays, prefix):
        """Saved parameters of Gluon's ``Conv2DLSTMCell`` (one input kernel over the
        channel concatenation, ``<prefix>i2h_weight``, and two biases) renamed and cut
        into this cell's (one kernel per input, ``<prefix>i2h<j>.weight``, one bias).
        Gate order is the same (i, f, g, o), so the cell computes exactly what the old
        one did. ``arrays`` is a name -> NDArray dict, changed in place; returns whether
        it held the old form."""
        old = prefix + "i2h_weight"
        if old not in arrays:
            return False
        weight = arrays.pop(old)
        start = 0
        for j, channels in enumerate(self.input_channels):
            arrays["%si2h%d.weight" % (prefix, j)] = weight[:, start:start + channels]
            start += channels
        arrays[prefix + "h2h.weight"] = arrays.pop(prefix + "h2h_weight")
        arrays[prefix + "h2h.bias"] = arrays.pop(prefix + "i2h_bias") + \
            arrays.pop(prefix + "h2h_bias")
        return True

    def input_gates(self, *inputs, first=0):
        """``sum_j W_j * x_j`` over the inputs ``x_first, x_first+1, ...`` given.

        Parameters
        ----------
        *inputs : each shape (B, input_channels[j], h, w)
        first : int
            Index of the first input given, so that the share of inputs that stay the same
            over the steps can be computed once and added to the rest.

        Returns
        -------
        shape (B, 4U, h, w)
        """
        if not inputs or first + len(inputs) > len(self.i2h):
            raise ValueError("inputs %d..%d of a cell with %d inputs"
                             % (first, first + len(inputs) - 1, len(self.i2h)))
        return reduce(add, (conv(x) for conv, x in zip(self.i2h[first:], inputs)))

    def hybrid_forward(self, F, gates_x, h, c):
        return self.step(gates_x, h, c)

    def step(self, gates_x, h, c):
        """The cell's update from ``gates_x`` (:meth:`input_gates`) and the state ``h, c``;
        the same as calling the cell. Call this, not the cell, from imperative code when
        the model is hybridized: the cell's own cached graph holds only ``W_h``, so
        calling it alone makes Gluon warn that the input kernels are unused."""
        F = mx.sym if isinstance(h, mx.sym.Symbol) else mx.nd
        gates = gates_x + self.h2h(h)
        i, f, g, o = F.split(gates, num_outputs=4, axis=1)
        return lstm_update(F, i, f, g, o, c)
