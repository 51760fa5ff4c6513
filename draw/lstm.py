"""A fused LSTM cell on oneDNN activations.

Gluon's ``rnn.LSTMCell`` uses two matmuls and ``F.sigmoid``/``F.tanh``, which in the
mxnet 1.9.1 wheel are generic SSE2 kernels 10-35x slower than oneDNN's
``F.Activation``. This cell does one matmul on ``[x, h]`` and uses ``F.Activation``.
"""
import mxnet as mx
from mxnet.gluon import HybridBlock, nn

from .ops import split


def lstm_update(F, i, f, g, o, c):
    """The LSTM's state update from its four gate pre-activations (any shape, each that
    of the state), shared by :class:`LSTMCell` and the ConvLSTM
    (:class:`convdraw.cell.ConvLSTMCell`), whatever order they cut their gates in::

        c' = sigmoid(f) c + sigmoid(i) tanh(g)
        h' = sigmoid(o) tanh(c')

    ``F.Activation`` (oneDNN) rather than ``F.sigmoid``/``F.tanh`` (see the module's
    note). Returns ``(h', c')``.
    """
    c = F.Activation(f, act_type="sigmoid") * c + \
        F.Activation(i, act_type="sigmoid") * F.Activation(g, act_type="tanh")
    return F.Activation(o, act_type="sigmoid") * F.Activation(c, act_type="tanh"), c


class LSTMCell(HybridBlock):
    """LSTM cell, gates ``i, f, o, g`` from one linear layer on ``[x, h]``.

    Parameters
    ----------
    hidden_size : int
        U, the number of units.
    input_size : int, optional
        Size of ``x``; 0 infers it on first use.
    forget_bias : float
        Initial bias of the forget gate.

    Notes
    -----
    Inputs: ``x`` (batch, input_size), ``h`` and ``c`` (batch, U).
    Outputs: new ``h`` and ``c``, each (batch, U).
    """

    def __init__(self, hidden_size, input_size=0, forget_bias=1.0, **kwargs):
        super().__init__(**kwargs)
        self.hidden_size = int(hidden_size)
        in_units = input_size + hidden_size if input_size else 0
        with self.name_scope():
            # LSTMBias sets slice [U:2U] (our forget gate) to forget_bias.
            self.gates = nn.Dense(4 * self.hidden_size, flatten=False, in_units=in_units,
                                  bias_initializer=mx.init.LSTMBias(forget_bias),
                                  prefix="gates_")

    def hybrid_forward(self, F, x, h, c):
        i, f, o, g = split(F, self.gates(F.concat(x, h, dim=1)), 4)
        return lstm_update(F, i, f, g, o, c)
