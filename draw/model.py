"""DRAW: a recurrent variational auto-encoder with attention (Gregor et al. 2015).

Per step t = 1..T (eq. 3-8)::

    x_hat  = x - sigmoid(c_{t-1})
    r_t    = read(x, x_hat, h_dec_{t-1})
    h_enc  = LSTM_enc([r_t, h_dec_{t-1}])
    z_t    ~ Q(z | h_enc) = N(mu_t, sigma_t^2),   (mu_t, log sigma_t) = W(h_enc)
    h_dec  = LSTM_dec(z_t)
    c_t    = c_{t-1} + write(h_dec)

The initial canvas c_0 and LSTM states are learned biases, broadcast to the batch.
"""
import mxnet as mx
from mxnet import init
from mxnet.gluon import nn

from .attention import AttentionRead, AttentionWrite, PlainRead, PlainWrite
from .base import GenerativeModel, broadcast_params, broadcast_to_batch, check_sizes
from .lstm import LSTMCell
from .ops import split


class DRAW(GenerativeModel):
    """The DRAW network.

    Parameters
    ----------
    image_shape : tuple of int
        (C, H, W); H and W may differ.
    num_steps : int
        T, the number of glimpses / canvas updates.
    num_recurrent_units : int
        U, the size of both LSTMs.
    latent_dim : int
        Z, latent units per step.
    read_size, write_size : int
        N of the read and write attention grids (ignored without attention).
    attention : bool
        False gives the paper's "no attention" model (read the whole image, write with a
        linear layer).

    Inputs
    ------
    x : shape (batch, C, H, W) or (batch, C*H*W), values in [0, 1]
    noise : optional, shape (T, batch, Z)
        Standard normal draws for the reparametrisation; drawn inside when omitted.

    Outputs
    -------
    The first three fields of :class:`draw.loss.ModelOutputs`:

    logits : shape (batch, C*H*W)
        Final canvas c_T (Bernoulli logits).
    mu, log_sigma : shape (T, batch, Z)
        Posterior parameters of every step (the prior is N(0, I)).
    """

    #: registry kind (see :func:`draw.model_config`)
    kind = "draw"

    def __init__(self, image_shape=(1, 28, 28), num_steps=64, num_recurrent_units=256,
                 latent_dim=100, read_size=2, write_size=5, attention=True, **kwargs):
        super().__init__(**kwargs)
        self.image_shape = check_sizes(image_shape, num_steps=num_steps,
                                       num_recurrent_units=num_recurrent_units,
                                       latent_dim=latent_dim, read_size=read_size,
                                       write_size=write_size)
        c, h, w = self.image_shape
        if attention and max(read_size, write_size) > max(h, w):
            raise ValueError("read_size/write_size (%d/%d) larger than the %dx%d image"
                             % (read_size, write_size, h, w))
        self.num_steps = int(num_steps)
        self.num_recurrent_units = int(num_recurrent_units)
        self.latent_dim = int(latent_dim)
        self.attention = bool(attention)
        # the window sizes are ignored without attention: recorded as the defaults
        self._window_sizes = (int(read_size), int(write_size)) if self.attention else (2, 5)
        self.num_pixels = c * h * w
        u = self.num_recurrent_units
        with self.name_scope():
            if self.attention:
                self.read = AttentionRead(read_size, self.image_shape, prefix="read_")
                self.write = AttentionWrite(write_size, self.image_shape, prefix="write_")
            else:
                self.read = PlainRead(self.image_shape, prefix="read_")
                self.write = PlainWrite(self.image_shape, prefix="write_")
            self.encoder = LSTMCell(u, input_size=self.read.output_size() + u, prefix="enc_")
            self.decoder = LSTMCell(u, input_size=self.latent_dim, prefix="dec_")
            self.posterior = nn.Dense(2 * self.latent_dim, flatten=False, in_units=u,
                                      prefix="posterior_")
            self.canvas0 = self.params.get("canvas0", shape=(1, self.num_pixels), init=init.Zero())
            self.h_enc0 = self.params.get("h_enc0", shape=(1, u), init=init.Zero())
            self.c_enc0 = self.params.get("c_enc0", shape=(1, u), init=init.Zero())
            self.h_dec0 = self.params.get("h_dec0", shape=(1, u), init=init.Zero())
            self.c_dec0 = self.params.get("c_dec0", shape=(1, u), init=init.Zero())

    def latent_shape(self):
        """(Z,): one step's latents."""
        return (self.latent_dim,)

    @property
    def display_name(self):
        return "DRAW" if self.attention else "DRAW (no attention)"

    @property
    def figures(self):
        if self.attention:
            return ("generation", "nearest_training", "reading", "filterbank", "kl_per_step")
        # DRAW without attention has no window to show
        return ("generation", "nearest_training", "kl_per_step")

    @property
    def write_size(self):
        """N of the write window (for drawing attention boxes), None without attention."""
        return self.write.num_glimpses if self.attention else None

    def forward_flops(self):
        """Forward FLOPs per image (2 per multiply-add; matrix products only: elementwise
        ops, building the filterbanks and the loss are not counted). Training costs about
        3x this (the backward pass computes two products per forward product).

        Per step, with U units, Z latents, read N_r, write N_w, an A x B image with C
        channels (no attention: the read is ``[x, x_hat]`` and the write a dense layer)::

            encoder LSTM   4U (R + U + U)        R = 2 C N_r^2 (attention) or 2 C A B
            decoder LSTM   4U (Z + U)
            posterior      2Z U
            attention      5U (read) + 5U + C N_w^2 U (write params and patch)
            read filters   2 C (N_r B A + N_r A N_r)
            write filters  C (B N_w N_w + B N_w A)
            (no attention: write C A B U)
        """
        c, h, w = self.image_shape
        u, z = self.num_recurrent_units, self.latent_dim
        if self.attention:
            nr, nw = self.read.num_glimpses, self.write.num_glimpses
            read = 2 * c * nr * nr
            att = 5 * u + 5 * u + c * nw * nw * u
            filters = 2 * c * (nr * h * w + nr * w * nr) + c * (h * nw * nw + h * nw * w)
        else:
            read, att, filters = 2 * c * h * w, c * h * w * u, 0
        macs = 4 * u * (read + 2 * u) + 4 * u * (z + u) + 2 * z * u + att + filters
        return 2.0 * self.num_steps * macs

    def config(self):
        """Constructor arguments, JSON-serialisable (see :func:`draw.get_model`)."""
        return dict(image_shape=list(self.image_shape), num_steps=self.num_steps,
                    num_recurrent_units=self.num_recurrent_units, latent_dim=self.latent_dim,
                    read_size=self._window_sizes[0], write_size=self._window_sizes[1],
                    attention=self.attention)

    def hybrid_forward(self, F, x, noise=None, canvas0=None, h_enc0=None, c_enc0=None,
                       h_dec0=None, c_dec0=None):
        c, h, w = self.image_shape
        x = F.reshape(x, shape=(-1, c, h, w))
        flat = F.reshape(x, shape=(0, -1))
        canvas, h_enc, c_enc, h_dec, c_dec = broadcast_to_batch(
            F, (canvas0, h_enc0, c_enc0, h_dec0, c_dec0), flat)
        if noise is not None:
            noise = F.split(noise, num_outputs=self.num_steps, axis=0, squeeze_axis=True) \
                if self.num_steps > 1 else [F.reshape(noise, shape=(-3, 0))]
        state = (h_enc, c_enc, h_dec, c_dec)
        mus, log_sigmas = [], []
        for t in range(self.num_steps):
            canvas, state, mu, log_sigma, _ = self._step(
                F, x, canvas, state, None if noise is None else noise[t])
            mus.append(mu)
            log_sigmas.append(log_sigma)
        return canvas, F.stack(*mus, axis=0), F.stack(*log_sigmas, axis=0)

    def _step(self, F, x, canvas, state, eps):
        """One step of eq. 3-8 on x (batch, C, H, W) and the flat canvas logits c_{t-1}.

        ``state`` is ``(h_enc, c_enc, h_dec, c_dec)``; ``eps`` (batch, Z) standard normal,
        or None to draw it. Returns ``(c_t, state, mu_t, log_sigma_t, write window or
        None)``."""
        h_enc, c_enc, h_dec, c_dec = state
        x_hat = x - F.reshape_like(F.Activation(canvas, act_type="sigmoid"), x)
        r = self.read(x, x_hat, h_dec)
        h_enc, c_enc = self.encoder(F.concat(r, h_dec, dim=1), h_enc, c_enc)
        mu, log_sigma = split(F, self.posterior(h_enc), 2)
        eps = F.random.normal_like(mu) if eps is None else eps
        z = mu + F.exp(log_sigma) * eps
        h_dec, c_dec = self.decoder(z, h_dec, c_dec)
        update, window = self._write(h_dec)
        return canvas + update, (h_enc, c_enc, h_dec, c_dec), mu, log_sigma, window

    def trace(self, x, noise):
        """Every step of the inference pass on ``x`` (imperative; for figures).

        Parameters
        ----------
        x : NDArray, shape (n, C, H, W)
        noise : NDArray, shape (T, n, Z), standard normal
            The same noise gives the same pass as ``self(x, noise)``.

        Returns
        -------
        dict of NDArray:
            ``canvases`` (T, n, C, H, W), ``sigmoid(c_t)`` after every step;
            ``logits`` (n, C*H*W), c_T; ``mu``, ``log_sigma`` (T, n, Z), the posterior;
            ``read_windows`` and ``write_windows`` (T, n, 5) ``[gx, gy, log sigma^2,
            delta, gamma]`` of every step's read and write (1-based pixel coordinates),
            or None without attention.
        """
        nd = mx.nd
        n = x.shape[0]
        x = x.reshape((n,) + self.image_shape)
        canvas, *state = broadcast_params(
            (self.canvas0, self.h_enc0, self.c_enc0, self.h_dec0, self.c_dec0), n, x.context)
        out = {key: [] for key in ("canvases", "mu", "log_sigma", "read_windows",
                                   "write_windows")}
        for t in range(self.num_steps):
            if self.attention:
                out["read_windows"].append(self.read.window(state[2]))
            canvas, state, mu, log_sigma, window = self._step(nd, x, canvas, state, noise[t])
            out["canvases"].append(nd.Activation(canvas, act_type="sigmoid")
                                   .reshape((n,) + self.image_shape))
            out["mu"].append(mu)
            out["log_sigma"].append(log_sigma)
            out["write_windows"].append(window)
        result = {key: nd.stack(*v, axis=0) if v and v[0] is not None else None
                  for key, v in out.items()}
        result["logits"] = canvas
        return result

    def _write(self, h_dec):
        """(canvas update, window or None) from either kind of write block."""
        out = self.write(h_dec)
        return out if self.write.has_window else (out, None)

    def generate(self, z):
        """Run the generative model on given latents (imperative).

        Parameters
        ----------
        z : NDArray, shape (T, n, Z)

        Returns
        -------
        canvases : NDArray, shape (T, n, C, H, W)
            ``sigmoid(c_t)`` after every step.
        windows : NDArray of shape (T, n, 5) or None
            Write attention ``[gx, gy, log sigma^2, delta, gamma]`` per step (1-based
            pixel coordinates), None without attention.
        """
        nd = mx.nd
        n = z.shape[1]
        ctx = z.context
        canvas, h, c = broadcast_params((self.canvas0, self.h_dec0, self.c_dec0), n, ctx)
        canvases, windows = [], []
        for t in range(self.num_steps):
            h, c = self.decoder(z[t], h, c)
            update, window = self._write(h)
            canvas = canvas + update
            canvases.append(nd.Activation(canvas, act_type="sigmoid"))
            windows.append(window)
        canvases = nd.stack(*canvases, axis=0).reshape((self.num_steps, n) + self.image_shape)
        windows = nd.stack(*windows, axis=0) if self.write.has_window else None
        return canvases, windows
