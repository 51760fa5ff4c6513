"""The DRAW attention filterbank and its read/write blocks (Gregor et al. 2015, sec. 3).

Notation follows the paper. An image has ``C`` channels, height ``B`` and width ``A``
(NCHW layout: ``(batch, C, B, A)``). Pixel coordinates are 1-based (``a = 1..A``,
``b = 1..B``) so that ``g~ = 0`` is the exact image centre, matching
``gX = (A+1)/2 (g~X + 1)``. For ``N`` glimpses the filter centres are

    mu_i = g + (i - N/2 - 0.5) * delta,   i = 1..N
    delta = (max(A, B) - 1) / (N - 1) * delta~
    F[i, a] = exp(-(a - mu_i)^2 / (2 sigma^2)) / Z_i,   Z_i = sum_a exp(...)

computed as a softmax over ``a``, so every row sums to 1 even for a filter far off the
image (where all exp(...) would underflow to 0 and the plain quotient would be 0/0).
The filterbank is finite for any finite input: ``log sigma^2`` is clipped to +-60 and the
exponent to -1e30 (far beyond any float32 that exp() does not round to 0).

N = 1: the single filter sits at ``mu_1 = g`` whatever ``delta`` is, so the stride only
matters for drawing the attention box. To keep it finite we use
``delta = (max(A, B) - 1) * delta~`` (the denominator ``N - 1`` clamped to 1).

The pure functions take ``F`` (``mx.nd`` or ``mx.sym``) so they work in hybridized
blocks; the blocks wrap them with the linear layer that emits the five attention
parameters ``(g~X, g~Y, log sigma^2, log delta~, log gamma)`` from ``h_dec``.
"""
import mxnet as mx
import numpy as np
from mxnet.gluon import HybridBlock, nn

from .ops import split

#: log sigma^2 is clipped to [-LOG_SIGMA2_LIMIT, LOG_SIGMA2_LIMIT] in the filterbank
#: (sigma from e^-30 to e^30 pixels), so that 1/sigma^2 is a finite, non-zero float32.
LOG_SIGMA2_LIMIT = 60.0
#: The filterbank's exponents -(a - mu)^2 / 2 sigma^2 are bounded below by -MAX_NEG_LOGIT.
#: For a centre on the image the nearest pixel is within 1/2 pixel, and its exponent,
#: at least -(1/2)^2 / 2 e^60 = -1.4e25, stays above the bound: a tiny sigma still picks
#: the nearest pixel instead of flattening the row.
MAX_NEG_LOGIT = 1e30


def attention_params(F, raw, width, height, num_glimpses):
    """Decode the linear layer's output into attention parameters.

    Parameters
    ----------
    raw : Symbol or NDArray, shape (batch, 5)
        ``(g~X, g~Y, log sigma^2, log delta~, log gamma)``.
    width, height : int
        Image width A and height B.
    num_glimpses : int
        N, the grid size of the attention patch.

    Returns
    -------
    gx, gy, log_sigma2, delta, gamma : each shape (batch, 1)
        Centres in 1-based pixel coordinates, log variance, stride, intensity.
    """
    gx_, gy_, log_sigma2, log_delta_, log_gamma = split(F, raw, 5)
    gx = (width + 1) / 2.0 * (gx_ + 1)
    gy = (height + 1) / 2.0 * (gy_ + 1)
    delta = (max(width, height) - 1) / float(max(num_glimpses - 1, 1)) * F.exp(log_delta_)
    gamma = F.exp(log_gamma)
    return gx, gy, log_sigma2, delta, gamma


def glimpse_offsets(num_glimpses):
    """``(i - N/2 - 0.5)`` for i = 1..N, shape (1, N) (NumPy; a constant of the blocks)."""
    n = num_glimpses
    return (np.arange(1, n + 1) - (n / 2.0 + 0.5)).reshape(1, n)


def pixel_coords(size):
    """1-based pixel coordinates ``1..size``, shape (1, 1, size) (NumPy)."""
    return np.arange(1, size + 1, dtype=np.float64).reshape(1, 1, size)


def filterbank(F, center, log_sigma2, delta, offsets, coords):
    """Normalised 1-D Gaussian filterbank along one image axis.

    Parameters
    ----------
    center, log_sigma2, delta : shape (batch, 1)
        Grid centre g (1-based pixel coordinates), log sigma^2 and stride delta.
    offsets : shape (1, N)
        :func:`glimpse_offsets`, ``i - N/2 - 0.5``.
    coords : shape (1, 1, size)
        :func:`pixel_coords` of the axis (A for x, B for y).

    Returns
    -------
    Symbol or NDArray, shape (batch, N, size)
        Row i is filter i evaluated at every pixel, normalised to sum to 1.
    """
    mu = F.broadcast_add(center, F.broadcast_mul(offsets, delta))            # (batch, N)
    diff = F.broadcast_sub(coords, F.expand_dims(mu, axis=2))                # (batch, N, size)
    # 1/sigma^2 stays a positive float32 for |log sigma^2| <= LOG_SIGMA2_LIMIT (exp(-(-89))
    # would overflow to inf, and inf * 0 is NaN)
    log_sigma2 = F.clip(log_sigma2, -LOG_SIGMA2_LIMIT, LOG_SIGMA2_LIMIT)
    neg_half_precision = F.expand_dims(-0.5 * F.exp(-log_sigma2), axis=2)    # (batch, 1, 1)
    # a far-off centre with a small sigma can still overflow d^2 / 2 sigma^2 to -inf, and a
    # row of -inf is NaN after the softmax: bound it (exp(-1e30) is 0 all the same)
    logits = F.maximum(F.broadcast_mul(F.square(diff), neg_half_precision), -MAX_NEG_LOGIT)
    # exp(-d^2 / 2 sigma^2) / Z is a softmax over the pixels: one fused op (its backward
    # avoids two generic broadcast-division backward kernels, 190 ms of a 1.2 s DRAW step)
    return F.softmax(logits, axis=2)


def apply_read_filters(F, images, fy, fx, num_glimpses, width):
    """Extract glimpses ``Fy · image · FxT`` from every channel.

    Parameters
    ----------
    images : shape (batch, K, B, A)
    fy : shape (batch, N, B)
    fx : shape (batch, N, A)
    num_glimpses, width : int
        N and A (static, so that the symbolic graph can reshape).

    Returns
    -------
    shape (batch, K, N, N)
    """
    n = num_glimpses
    t = F.reshape(F.transpose(images, axes=(0, 2, 1, 3)), shape=(0, 0, -1))   # (b, B, K*A)
    u = F.reshape(F.batch_dot(fy, t), shape=(0, -1, width))                   # (b, N*K, A)
    v = F.batch_dot(u, fx, transpose_b=True)                                  # (b, N*K, N)
    return F.transpose(F.reshape(v, shape=(0, n, -1, n)), axes=(0, 2, 1, 3))


def apply_write_filters(F, patches, fy, fx, num_glimpses, height, width):
    """Place patches on the canvas: ``FyT · patch · Fx`` for every channel.

    Parameters
    ----------
    patches : shape (batch, K, N, N)
    fy : shape (batch, N, B)
    fx : shape (batch, N, A)
    num_glimpses, height, width : int
        N, B and A.

    Returns
    -------
    shape (batch, K, B, A)
    """
    n = num_glimpses
    t = F.reshape(F.transpose(patches, axes=(0, 2, 1, 3)), shape=(0, 0, -1))  # (b, N, K*N)
    u = F.reshape(F.batch_dot(fy, t, transpose_a=True), shape=(0, -1, n))     # (b, B*K, N)
    v = F.batch_dot(u, fx)                                                     # (b, B*K, A)
    return F.transpose(F.reshape(v, shape=(0, height, -1, width)), axes=(0, 2, 1, 3))


def tiling_bias(num_glimpses, width, height, write=False):
    """Initial bias of the attention layer: the N x N grid tiles the whole image.

    With the paper's parametrisation a zero bias puts the grid's outer filters on the
    image border (delta = (max(A, B) - 1)/(N - 1)) with sigma = 1, so a 2x2 read at
    initialisation sees only border pixels, which are blank in MNIST: the encoder gets no
    information and training sits on a plateau. We start instead from the grid that covers
    the image evenly, ``delta = max(A, B) / N``, with ``sigma = delta / 2`` (each filter
    averages its own cell), centred (``g~ = 0``) and ``gamma = 1``, and the layer's
    weights start small (N(0, 0.01^2)) so that every example starts there and attention
    moves as it learns. Only the starting point changes; the equations are the paper's.

    For a write, the normalised filters spread each patch value over the
    ``(max(A, B)/N)^2`` pixels of its cell, so the canvas would start with a gain of about
    ``(N / max(A, B))^2`` (1/31 for N = 5 on 28x28) and the paper's ``1/gamma_hat`` would
    need thousands of updates to undo it. With ``write=True`` the initial
    ``gamma_hat = (N / max(A, B))^2`` makes the gain about 1 from the start.

    Returns
    -------
    numpy.ndarray, shape (5,): ``[g~X, g~Y, log sigma^2, log delta~, log gamma]``.
    """
    size = max(width, height)
    delta = size / float(num_glimpses)
    delta_tilde = delta * max(num_glimpses - 1, 1) / float(max(size - 1, 1))
    log_gamma = 2 * np.log(num_glimpses / float(size)) if write else 0.0
    return np.array([0.0, 0.0, np.log((delta / 2.0) ** 2), np.log(delta_tilde), log_gamma])


class _Attention(HybridBlock):
    """Shared part of read and write: the linear layer emitting the attention
    parameters and the two filterbanks."""

    def __init__(self, num_glimpses, image_shape, write=False, **kwargs):
        super().__init__(**kwargs)
        self.num_glimpses = int(num_glimpses)
        self.channels, self.height, self.width = (int(v) for v in image_shape)
        with self.name_scope():
            self.loc = nn.Dense(5, flatten=False, prefix="loc_",
                                weight_initializer=mx.init.Normal(0.01),
                                bias_initializer=mx.init.Constant(tiling_bias(
                                    self.num_glimpses, self.width, self.height, write)))
            # constants (not trained), so that they follow the block's dtype and context
            self.offsets = self.params.get_constant("offsets", glimpse_offsets(self.num_glimpses))
            self.xcoords = self.params.get_constant("xcoords", pixel_coords(self.width))
            self.ycoords = self.params.get_constant("ycoords", pixel_coords(self.height))

    def _filters(self, F, h_dec, offsets, xcoords, ycoords):
        """Returns Fx (batch, N, A), Fy (batch, N, B), gamma (batch, 1) and the window
        ``[gx, gy, log sigma^2, delta, gamma]`` (batch, 5)."""
        gx, gy, log_sigma2, delta, gamma = attention_params(
            F, self.loc(h_dec), self.width, self.height, self.num_glimpses)
        fx = filterbank(F, gx, log_sigma2, delta, offsets, xcoords)
        fy = filterbank(F, gy, log_sigma2, delta, offsets, ycoords)
        window = F.concat(gx, gy, log_sigma2, delta, gamma, dim=1)
        return fx, fy, gamma, window

    def window(self, h_dec):
        """The window ``[gx, gy, log sigma^2, delta, gamma]`` (batch, 5) that ``h_dec``
        (batch, U) gives (imperative; for drawing where attention looks)."""
        return mx.nd.concat(*attention_params(mx.nd, self.loc(h_dec), self.width,
                                              self.height, self.num_glimpses), dim=1)


class AttentionRead(_Attention):
    """Read with attention: ``r = gamma [Fy x FxT, Fy x_hat FxT]`` (eq. 27).

    Parameters
    ----------
    num_glimpses : int
        N, the read patch is N x N per channel.
    image_shape : tuple of int
        (C, B, A) = (channels, height, width).

    Notes
    -----
    Inputs: ``x``, ``x_hat`` of shape (batch, C, B, A) and ``h_dec`` (batch, U).
    Output: shape (batch, 2*C*N*N), the x glimpses first.
    """

    def output_size(self):
        return 2 * self.channels * self.num_glimpses ** 2

    def hybrid_forward(self, F, x, x_hat, h_dec, offsets, xcoords, ycoords):
        fx, fy, gamma, _ = self._filters(F, h_dec, offsets, xcoords, ycoords)
        both = F.concat(x, x_hat, dim=1)                       # one pass for x and x_hat
        glimpse = apply_read_filters(F, both, fy, fx, self.num_glimpses, self.width)
        return F.broadcast_mul(F.flatten(glimpse), gamma)


class AttentionGlimpse(_Attention):
    """A glimpse for recognition: ``g = gamma Fy x FxT`` (eq. 27 without the error image),
    the read of the DRAW paper's classification experiment ("Differentiable RAM").

    Parameters
    ----------
    num_glimpses : int
        N, the glimpse is N x N per channel.
    image_shape : tuple of int
        (C, B, A).

    Notes
    -----
    Inputs: ``x`` (batch, C, B, A) and ``h`` (batch, U), the state that chooses the window.
    Outputs: the glimpse (batch, C*N*N) and the window (batch, 5) =
    ``[gx, gy, log sigma^2, delta, gamma]``.
    """
    has_window = True

    def output_size(self):
        return self.channels * self.num_glimpses ** 2

    def hybrid_forward(self, F, x, h, offsets, xcoords, ycoords):
        fx, fy, gamma, window = self._filters(F, h, offsets, xcoords, ycoords)
        glimpse = apply_read_filters(F, x, fy, fx, self.num_glimpses, self.width)
        return F.broadcast_mul(F.flatten(glimpse), gamma), window


class AttentionWrite(_Attention):
    """Write with attention: ``(1/gamma_hat) Fy_hatT w Fx_hat`` (eq. 28-29).

    Parameters
    ----------
    num_glimpses : int
        N, the write patch w is N x N per channel.
    image_shape : tuple of int
        (C, B, A).

    Notes
    -----
    Input: ``h_dec`` (batch, U).
    Outputs: the canvas update (batch, C*B*A) and the window (batch, 5) =
    ``[gx, gy, log sigma^2, delta, gamma]`` (for drawing attention boxes).
    """
    has_window = True

    def __init__(self, num_glimpses, image_shape, **kwargs):
        super().__init__(num_glimpses, image_shape, write=True, **kwargs)
        with self.name_scope():
            self.patch = nn.Dense(self.channels * self.num_glimpses ** 2, flatten=False,
                                  prefix="patch_")

    def hybrid_forward(self, F, h_dec, offsets, xcoords, ycoords):
        fx, fy, gamma, window = self._filters(F, h_dec, offsets, xcoords, ycoords)
        n = self.num_glimpses
        # (1/gamma) Fy^T w Fx = Fy^T (w/gamma) Fx: scale the small patch, not the canvas
        w = F.broadcast_mul(self.patch(h_dec), F.reciprocal(gamma))
        w = F.reshape(w, shape=(0, self.channels, n, n))
        canvas = apply_write_filters(F, w, fy, fx, n, self.height, self.width)
        return F.flatten(canvas), window


class PlainRead(HybridBlock):
    """Read without attention: ``r = [x, x_hat]`` flattened (eq. 17).

    Inputs: ``x``, ``x_hat`` (batch, C, B, A), ``h_dec`` (unused). Output (batch, 2*C*B*A).
    """

    def __init__(self, image_shape, **kwargs):
        super().__init__(**kwargs)
        self.channels, self.height, self.width = (int(v) for v in image_shape)

    def output_size(self):
        return 2 * self.channels * self.height * self.width

    def hybrid_forward(self, F, x, x_hat, h_dec):
        return F.concat(F.flatten(x), F.flatten(x_hat), dim=1)


class PlainWrite(HybridBlock):
    """Write without attention: a linear layer from h_dec to the canvas (eq. 18).

    Input ``h_dec`` (batch, U); output the canvas update (batch, C*B*A).
    """
    has_window = False

    def __init__(self, image_shape, **kwargs):
        super().__init__(**kwargs)
        self.channels, self.height, self.width = (int(v) for v in image_shape)
        with self.name_scope():
            self.patch = nn.Dense(self.channels * self.height * self.width, flatten=False,
                                  prefix="patch_")

    def hybrid_forward(self, F, h_dec):
        return self.patch(h_dec)
