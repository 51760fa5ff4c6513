"""Convolutional DRAW (Gregor et al. 2016, "Towards Conceptual Compression").

Per step t = 1..T, with E the image encoder (Conv 16 maps 5x5 stride 2, ELU)::

    e_x    = E(x)                                     (once, and its share of the gates too)
    e_err  = E(x - sigmoid(c_{t-1}))
    h_enc  = ConvLSTM_enc([e_x, e_err, h_dec_{t-1}, c_dec_{t-1}])
    q_t    = N(mu_q, sigma_q^2),  (mu_q, log sigma_q) = Conv_q(h_enc)       (L maps)
    p_t    = N(mu_p, sigma_p^2),  (mu_p, log sigma_p) = Conv_p(h_dec_{t-1}) (learned prior)
    z_t    ~ q_t (training) or p_t (generation)
    h_dec  = ConvLSTM_dec([z_t, E(sigmoid(c_{t-1}))])
    c_t    = c_{t-1} + write(h_dec)

The loss is the shared :class:`draw.loss.VariationalLoss` with the learned prior:
reconstruction + sum_t KL(q_t || p_t).

``write`` is a sub-pixel upsampling: a 5x5 convolution to ``4*C`` maps at half the image
resolution, then ``depth_to_space(2)``. (MXNet 1.9.1's oneDNN ``Conv2DTranspose`` with 1
or 2 output channels fails in backward or crashes on some CPUs; this write trains with
oneDNN enabled.) The image height and width must therefore be even.

The ConvLSTMs convolve each of their inputs separately and add the results
(:class:`convdraw.cell.ConvLSTMCell`), which equals one convolution of the channel
concatenation but never cuts a oneDNN blocked-layout gradient at a channel offset that
depends on ``U`` or ``L``: every size trains on every CPU.
"""
import mxnet as mx
from mxnet import init
from mxnet.gluon import HybridBlock, nn

from draw.base import GenerativeModel, broadcast_params, broadcast_to_batch, check_sizes
from draw.loss import gaussian_kl

from .cell import ConvLSTMCell


def state_size(image_size, kernel_size):
    """Height (or width) of the states: E's stride-2 'valid' convolution of the image."""
    return (image_size - kernel_size) // 2 + 1


def write_padding(image_size, kernel_size):
    """(before, after) zero padding of the write's convolution along one axis.

    The write maps the state (size ``s``, :func:`state_size`) to half the image size:
    ``s + before + after - k + 1 = image_size / 2``, so ``before + after = 3 (k - 1) / 2``
    for an even image. That total is odd for k = 3 mod 4 (k = 3, 7, ...): the extra row
    goes after, which keeps the write's receptive fields centred within half a pixel.
    """
    total = image_size // 2 - state_size(image_size, kernel_size) + kernel_size - 1
    return total // 2, total - total // 2


class SubPixelWrite(HybridBlock):
    """Decoder state (B, U, h, w) -> canvas update (B, C, H, W): a convolution to ``4C``
    maps at H/2 x W/2, then ``depth_to_space(2)``.

    Parameters
    ----------
    image_shape : tuple of int
        (C, H, W), H and W even.
    kernel_size : int
        Odd kernel size; the padding comes from :func:`write_padding`.
    in_channels : int
        U (0 infers it on first use).
    """

    def __init__(self, image_shape, kernel_size, in_channels=0, **kwargs):
        super().__init__(**kwargs)
        c, h, w = image_shape
        (top, bottom), (left, right) = write_padding(h, kernel_size), write_padding(w, kernel_size)
        # the convolution pads (top, left) on both sides; F.pad adds the odd extra row/column
        self._extra = (0, 0, 0, 0, 0, bottom - top, 0, right - left)
        with self.name_scope():
            self.conv = nn.Conv2D(4 * c, kernel_size, padding=(top, left),
                                  in_channels=in_channels, prefix="conv_")

    def hybrid_forward(self, F, h):
        if any(self._extra):
            h = F.pad(h, mode="constant", pad_width=self._extra)
        return F.depth_to_space(self.conv(h), block_size=2)


class ConvDRAW(GenerativeModel):
    """The Convolutional DRAW network.

    Parameters
    ----------
    image_shape : tuple of int
        (C, H, W); H and W even and at least 6.
    num_steps : int
        T.
    num_latent_maps : int
        L, latent feature maps per step.
    num_recurrent_maps : int
        U, hidden maps of both ConvLSTMs.
    encoder_maps : int
        Maps of the image encoder E.
    kernel_size : int
        Odd kernel size of E, the ConvLSTMs, the posterior/prior and the write.

    Inputs
    ------
    x : shape (B, C, H, W) (or (B, C*H*W)), values in [0, 1]
    noise : optional, shape (T, B, L, h, w)
        Standard normal draws for the posterior samples; drawn inside when omitted.

    Outputs
    -------
    All the fields of :class:`draw.loss.ModelOutputs`:

    logits : shape (B, C, H, W), the final canvas c_T
    mu_q, log_sigma_q, mu_p, log_sigma_p : shape (T, B, L, h, w)
        with ``h = (H - k) // 2 + 1`` (12 for 28x28 and k = 5).
    """

    #: registry kind (see :func:`draw.model_config`)
    kind = "convdraw"
    display_name = "ConvDRAW"
    figures = ("compression", "rate_distortion", "codec", "generation", "nearest_training",
               "kl_per_step")

    def __init__(self, image_shape=(1, 28, 28), num_steps=16, num_latent_maps=3,
                 num_recurrent_maps=64, encoder_maps=16, kernel_size=5, **kwargs):
        super().__init__(**kwargs)
        self.image_shape = check_sizes(image_shape, num_steps=num_steps,
                                       num_latent_maps=num_latent_maps,
                                       num_recurrent_maps=num_recurrent_maps,
                                       encoder_maps=encoder_maps, kernel_size=kernel_size)
        c, h, w = self.image_shape
        k = int(kernel_size)
        if k % 2 == 0:
            raise ValueError("kernel_size must be odd, got %d" % k)
        if h % 2 or w % 2 or min(h, w) < k + 1:
            raise ValueError(
                "image height and width must be even (the 2x sub-pixel write) and at least "
                "kernel_size + 1 = %d (a state of at least 1x1), got %dx%d" % (k + 1, h, w))
        self.num_steps = int(num_steps)
        self.num_latent_maps = int(num_latent_maps)
        self.num_recurrent_maps = int(num_recurrent_maps)
        self.encoder_maps = int(encoder_maps)
        self.kernel_size = k
        self.state_shape = (state_size(h, k), state_size(w, k))
        sh, sw = self.state_shape
        u, L, e = self.num_recurrent_maps, self.num_latent_maps, self.encoder_maps
        same = (k // 2, k // 2)
        with self.name_scope():
            self.image_encoder = nn.HybridSequential(prefix="imgenc_")
            with self.image_encoder.name_scope():
                self.image_encoder.add(nn.Conv2D(e, k, strides=2, in_channels=c),
                                       nn.ELU())
            # inputs e_x, e_err, h_dec, c_dec
            self.encoder = ConvLSTMCell(u, (e, e, u, u), k, prefix="enc_")
            self.posterior = nn.Conv2D(2 * L, k, padding=same, in_channels=u, prefix="posterior_")
            self.prior = nn.Conv2D(2 * L, k, padding=same, in_channels=u, prefix="prior_")
            # inputs z, E(sigmoid(c))
            self.decoder = ConvLSTMCell(u, (L, e), k, prefix="dec_")
            self.write = SubPixelWrite(self.image_shape, k, in_channels=u, prefix="write_")
            self.canvas0 = self.params.get("canvas0", shape=(1,) + self.image_shape,
                                           init=init.Zero())
            self.h_enc0 = self.params.get("h_enc0", shape=(1, u, sh, sw), init=init.Zero())
            self.c_enc0 = self.params.get("c_enc0", shape=(1, u, sh, sw), init=init.Zero())
            self.h_dec0 = self.params.get("h_dec0", shape=(1, u, sh, sw), init=init.Zero())
            self.c_dec0 = self.params.get("c_dec0", shape=(1, u, sh, sw), init=init.Zero())

    def config(self):
        """Constructor arguments, JSON-serialisable (see :func:`draw.get_model`)."""
        return dict(image_shape=list(self.image_shape), num_steps=self.num_steps,
                    num_latent_maps=self.num_latent_maps,
                    num_recurrent_maps=self.num_recurrent_maps,
                    encoder_maps=self.encoder_maps, kernel_size=self.kernel_size)

    def upgrade_parameters(self, arrays):
        """Parameters saved by the first version of this model, whose ConvLSTMs were
        Gluon's ``Conv2DLSTMCell`` (one kernel over the concatenated inputs), in today's
        names and shapes (:meth:`ConvLSTMCell.upgrade_parameters`): the same function, so
        an old checkpoint loads exactly. Changes ``arrays`` in place; returns a note for
        the log, or '' when nothing was old."""
        upgraded = [prefix for prefix, cell in (("encoder.", self.encoder),
                                                ("decoder.", self.decoder))
                    if cell.upgrade_parameters(arrays, prefix)]
        return ("converted the Conv2DLSTMCell parameters of %s to one kernel per input"
                % " and ".join(p.rstrip(".") for p in upgraded)) if upgraded else ""

    def forward_flops(self):
        """Forward FLOPs per image (2 per multiply-add; convolutions only). Training costs
        about 3x this.

        Per step, with k x k kernels, U recurrent maps, E encoder maps, L latent maps,
        state h x w and write output H/2 x W/2::

            image encoder  2 x (h w E C k^2)     E(x - sigmoid(c)) and E(sigmoid(c))
            encoder LSTM   h w 4U (E + 2U + U) k^2
            decoder LSTM   h w 4U (L + E + U) k^2
            posterior, prior  2 x h w 2L U k^2
            write          (H/2)(W/2) 4C U k^2

        plus, once per image, E(x) and its share of the encoder's gates, h w 4U E k^2.
        """
        c, h, w = self.image_shape
        u, L, e, k2 = (self.num_recurrent_maps, self.num_latent_maps, self.encoder_maps,
                       self.kernel_size ** 2)
        pos = self.state_shape[0] * self.state_shape[1]
        step = (2 * pos * e * c * k2 + pos * 4 * u * (e + 3 * u) * k2
                + pos * 4 * u * (L + e + u) * k2 + 2 * pos * 2 * L * u * k2
                + (h // 2) * (w // 2) * 4 * c * u * k2)
        return 2.0 * (self.num_steps * step + pos * e * c * k2 + pos * 4 * u * e * k2)

    def latent_shape(self):
        """(L, h, w) of one step's latents."""
        return (self.num_latent_maps,) + self.state_shape

    def _encode_pair(self, F, a, b):
        """E(a), E(b) in one convolution over the concatenated batch."""
        both = self.image_encoder(F.concat(a, b, dim=0))
        return F.split(both, num_outputs=2, axis=0)

    def hybrid_forward(self, F, x, noise=None, canvas0=None, h_enc0=None, c_enc0=None,
                       h_dec0=None, c_dec0=None):
        c, h, w = self.image_shape
        x = F.reshape(x, shape=(-1, c, h, w))
        canvas, h_enc, c_enc, h_dec, c_dec = broadcast_to_batch(
            F, (canvas0, h_enc0, c_enc0, h_dec0, c_dec0), x)
        if noise is not None:
            noise = F.split(noise, num_outputs=self.num_steps, axis=0, squeeze_axis=True) \
                if self.num_steps > 1 else [F.reshape(noise, shape=(-3, -2))]
        gates_x = self.encoder.input_gates(self.image_encoder(x))  # W * E(x), the same every step
        enc = (h_enc, c_enc)
        outs = [[], [], [], []]
        for t in range(self.num_steps):
            p = F.Activation(canvas, act_type="sigmoid")
            (mu_q, log_sigma_q), enc, e_canvas = self._posterior(F, gates_x, x, p, enc,
                                                                 h_dec, c_dec)
            mu_p, log_sigma_p = self._prior(F, h_dec)
            eps = F.random.normal_like(mu_q) if noise is None else noise[t]
            z = mu_q + F.exp(log_sigma_q) * eps
            canvas, h_dec, c_dec = self._decode(F, z, e_canvas, canvas, h_dec, c_dec)
            for lst, v in zip(outs, (mu_q, log_sigma_q, mu_p, log_sigma_p)):
                lst.append(v)
        return (canvas,) + tuple(F.stack(*lst, axis=0) for lst in outs)

    def _posterior(self, F, gates_x, x, p, enc, h_dec, c_dec):
        """The encoder's step and q_t from ``gates_x`` (E(x)'s share of the gates), x, the
        canvas means ``p = sigmoid(c_{t-1})``, the encoder state ``enc = (h_enc, c_enc)``
        and the decoder's ``h_dec, c_dec``. Returns ``((mu_q, log sigma_q), enc, E(p))``."""
        e_err, e_canvas = self._encode_pair(F, x - p, p)
        gates = gates_x + self.encoder.input_gates(e_err, h_dec, c_dec, first=1)
        enc = self.encoder.step(gates, *enc)
        return tuple(F.split(self.posterior(enc[0]), num_outputs=2, axis=1)), enc, e_canvas

    def _prior(self, F, h_dec):
        """p_t from the previous decoder state: ``(mu_p, log sigma_p)``."""
        return tuple(F.split(self.prior(h_dec), num_outputs=2, axis=1))

    def _decode(self, F, z, e_canvas, canvas, h_dec, c_dec):
        """The decoder's step from z_t and E(sigmoid(c_{t-1})), and the write:
        returns ``(c_t, h_dec, c_dec)``."""
        h_dec, c_dec = self.decoder.step(self.decoder.input_gates(z, e_canvas), h_dec, c_dec)
        return canvas + self.write(h_dec), h_dec, c_dec

    def trace(self, x, eps, posterior_steps=None):
        """A pass in which the first ``k = posterior_steps`` steps take ``z_t`` from the
        posterior of ``x`` and the rest from the learned prior, both with the same
        standard-normal ``eps`` (``z_t = mu + sigma * eps_t``) (imperative; the
        conceptual-compression figure of the paper).

        With ``k = T`` (the default) this is the model's reconstruction
        ``self(x, eps)``; with ``k = 0`` it is :meth:`generate` ``(eps)`` and ``x`` is
        not used.

        Parameters
        ----------
        x : NDArray, shape (n, C, H, W), or None when ``posterior_steps`` is 0
        eps : NDArray, shape (T, n, L, h, w), standard normal
        posterior_steps : int, 0..T

        Returns
        -------
        dict of NDArray:
            ``canvases`` (T, n, C, H, W), ``sigmoid(c_t)`` after every step;
            ``logits`` (n, C, H, W), c_T; ``kl`` (T, n), ``KL(q_t || p_t)`` in nats
            summed over the latent units at the first k steps, 0 at the others (the
            information the first k steps carry about x).
        """
        nd = mx.nd
        k = self.num_steps if posterior_steps is None else int(posterior_steps)
        if not 0 <= k <= self.num_steps:
            raise ValueError("posterior_steps must be in 0..%d, got %d" % (self.num_steps, k))
        n, ctx = eps.shape[1], eps.context
        canvas, h_dec, c_dec, h_enc, c_enc = broadcast_params(
            (self.canvas0, self.h_dec0, self.c_dec0, self.h_enc0, self.c_enc0), n, ctx)
        enc = (h_enc, c_enc)
        if k:
            x = x.reshape((n,) + self.image_shape)
            gates_x = self.encoder.input_gates(self.image_encoder(x))
        canvases, kls = [], []
        for t in range(self.num_steps):
            p = nd.Activation(canvas, act_type="sigmoid")
            mu_p, log_sigma_p = self._prior(nd, h_dec)
            if t < k:
                (mu, log_sigma), enc, e_canvas = self._posterior(nd, gates_x, x, p, enc,
                                                                 h_dec, c_dec)
                kls.append(nd.sum(gaussian_kl(nd, mu, log_sigma, mu_p, log_sigma_p),
                                  axis=0, exclude=True))
            else:
                mu, log_sigma, e_canvas = mu_p, log_sigma_p, self.image_encoder(p)
                kls.append(nd.zeros((n,), ctx=ctx))
            z = mu + nd.exp(log_sigma) * eps[t]
            canvas, h_dec, c_dec = self._decode(nd, z, e_canvas, canvas, h_dec, c_dec)
            canvases.append(nd.Activation(canvas, act_type="sigmoid"))
        return {"canvases": nd.stack(*canvases, axis=0), "logits": canvas,
                "kl": nd.stack(*kls, axis=0)}

    def generate(self, eps):
        """Run the generative model: ``z_t = mu_p + sigma_p * eps_t`` (imperative).

        Parameters
        ----------
        eps : NDArray, shape (T, n, L, h, w), standard normal

        Returns
        -------
        canvases : NDArray, shape (T, n, C, H, W), ``sigmoid(c_t)`` after every step
        windows : None (no attention)
        """
        return self.trace(None, eps, posterior_steps=0)["canvases"], None
