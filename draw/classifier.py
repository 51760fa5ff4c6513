"""The DRAW paper's classification network ("Differentiable RAM", Gregor et al. 2015,
section 4.1): one LSTM that takes a glimpse per step through the attention filterbank,
the window chosen from its previous state, and classifies after the last glimpse::

    g_t = glimpse(x, h_{t-1})              (N x N, no error image)
    h_t = LSTM(g_t, h_{t-1})
    p(y | x) = softmax(W h_T + b)

The initial LSTM state is learned (as DRAW's); the attention layer starts with its grid
tiling the whole image (:func:`draw.attention.tiling_bias`), so the first glimpse is a
coarse view of all of it, where the paper gives no initialisation.
"""
from mxnet import init
from mxnet.gluon import nn

from .attention import AttentionGlimpse
from .base import Classifier, broadcast_to_batch, check_sizes
from .lstm import LSTMCell


class DRAWClassifier(Classifier):
    """Differentiable RAM: classify an image from T attention glimpses.

    Parameters
    ----------
    image_shape : tuple of int
        (C, H, W), e.g. (1, 100, 100) for cluttered MNIST.
    num_steps : int
        T, the number of glimpses (the paper: 4 or 8).
    glimpse_size : int
        N, each glimpse is N x N per channel (the paper: 12).
    num_recurrent_units : int
        U, the LSTM's size (the paper: 256).
    num_classes : int

    Notes
    -----
    Input: ``x`` (B, C, H, W) in [0, 1]. Outputs: the class scores (logits) (B, classes)
    and the window of every glimpse (T, B, 5), ``[gx, gy, log sigma^2, delta, gamma]``.
    """

    kind = "classifier"
    display_name = "DRAW classifier"
    figures = ("glimpses", "zoom", "search")

    def __init__(self, image_shape=(1, 100, 100), num_steps=8, glimpse_size=12,
                 num_recurrent_units=256, num_classes=10, **kwargs):
        super().__init__(**kwargs)
        image_shape = check_sizes(image_shape, num_steps=num_steps, glimpse_size=glimpse_size,
                                  num_recurrent_units=num_recurrent_units,
                                  num_classes=num_classes)
        if int(glimpse_size) > max(image_shape[1:]):
            raise ValueError("glimpse_size %d larger than the %dx%d image"
                             % (int(glimpse_size), image_shape[1], image_shape[2]))
        self.image_shape = image_shape
        self.num_steps = int(num_steps)
        self.glimpse_size = int(glimpse_size)
        self.num_recurrent_units = u = int(num_recurrent_units)
        self.num_classes = int(num_classes)
        with self.name_scope():
            self.glimpse = AttentionGlimpse(self.glimpse_size, image_shape, prefix="glimpse_")
            self.lstm = LSTMCell(u, input_size=self.glimpse.output_size(), prefix="lstm_")
            self.output = nn.Dense(self.num_classes, flatten=False, prefix="output_")
            self.h0 = self.params.get("h0", shape=(1, u), init=init.Zero())
            self.c0 = self.params.get("c0", shape=(1, u), init=init.Zero())

    def config(self):
        """Constructor arguments (JSON-serialisable), to rebuild the model."""
        return {"image_shape": list(self.image_shape), "num_steps": self.num_steps,
                "glimpse_size": self.glimpse_size,
                "num_recurrent_units": self.num_recurrent_units,
                "num_classes": self.num_classes}

    def hybrid_forward(self, F, x, h0, c0):
        first = F.reshape(F.slice_axis(F.flatten(x), axis=1, begin=0, end=1), shape=(-1, 1))
        h, c = broadcast_to_batch(F, (h0, c0), first)
        windows = []
        for _ in range(self.num_steps):
            g, window = self.glimpse(x, h)
            h, c = self.lstm(g, h, c)
            windows.append(window)
        return self.output(h), F.stack(*windows, axis=0)
