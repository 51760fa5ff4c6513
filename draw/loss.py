"""The variational loss shared by DRAW and ConvDRAW, in nats per example.

``total = reconstruction + KL`` where

* reconstruction = ``-log D(x | c_T)`` with D Bernoulli of mean ``sigmoid(c_T)``, i.e. the
  sigmoid cross-entropy of the final canvas logits, summed over pixels;
* KL is summed over latent units and steps, either to N(0, I)
  (``0.5 * (mu^2 + sigma^2 - log sigma^2 - 1)``, DRAW eq. 11) or to a learned diagonal
  Gaussian prior given per step (ConvDRAW).

Latents are parametrised by ``mu`` and ``log sigma``. Any latent layout works as long as
axis 1 is the batch axis: (T, batch, Z) for DRAW, (T, batch, L, h, w) for ConvDRAW.

The model/loss contract: a model's forward returns the fields of :class:`ModelOutputs`
in order (DRAW the first three, ConvDRAW all five), and :class:`ModelWithLoss` joins a
model and this loss into one block that hybridizes as one graph.
"""
from collections import namedtuple

from mxnet.gluon import HybridBlock

ModelOutputs = namedtuple("ModelOutputs", "logits mu_q log_sigma_q mu_p log_sigma_p",
                          defaults=(None, None))
ModelOutputs.__doc__ = """What ``model(x)`` returns, in this order (a plain tuple once hybridized:
rebuild with ``ModelOutputs(*model(x))``).

logits : shape (B, D) or (B, C, H, W), the final canvas c_T (Bernoulli logits)
mu_q, log_sigma_q : shape (T, B, ...), the posterior of every step
mu_p, log_sigma_p : same shape, the learned prior (ConvDRAW), or None for N(0, I) (DRAW)
"""


def bernoulli_nll(F, logits, x):
    """Elementwise ``-[x log p + (1-x) log(1-p)]`` with ``p = sigmoid(logits)``.

    Computed stably as ``softplus(logits) - x * logits`` (oneDNN softrelu).
    """
    return F.Activation(logits, act_type="softrelu") - x * logits


def gaussian_kl(F, mu_q, log_sigma_q, mu_p=None, log_sigma_p=None):
    """Elementwise KL(N(mu_q, sigma_q^2) || N(mu_p, sigma_p^2)); N(0, 1) if no prior."""
    if mu_p is None:
        return 0.5 * (F.square(mu_q) + F.exp(2 * log_sigma_q) - 2 * log_sigma_q - 1)
    return (log_sigma_p - log_sigma_q
            + 0.5 * (F.exp(2 * (log_sigma_q - log_sigma_p))
                     + F.square(mu_q - mu_p) * F.exp(-2 * log_sigma_p))
            - 0.5)


class VariationalLoss(HybridBlock):
    """Negative evidence lower bound per example, with its two parts.

    Inputs
    ------
    logits : shape (batch, D) or (batch, C, H, W)
        Final canvas logits c_T.
    x : any shape with batch*D elements
        Targets in [0, 1] (reshaped like ``logits``).
    mu_q, log_sigma_q : shape (T, batch, ...)
        Posterior parameters for every step.
    mu_p, log_sigma_p : optional, same shape as ``mu_q``
        Learned prior parameters; omit both for the N(0, I) prior.

    Outputs
    -------
    total, reconstruction, kl : each shape (batch,), in nats.
    """

    def hybrid_forward(self, F, logits, x, mu_q, log_sigma_q, mu_p=None, log_sigma_p=None):
        if (mu_p is None) != (log_sigma_p is None):
            raise ValueError("give both mu_p and log_sigma_p, or neither")
        x = F.reshape_like(x, logits)
        recon = F.sum(bernoulli_nll(F, logits, x), axis=0, exclude=True)
        kl = F.sum(gaussian_kl(F, mu_q, log_sigma_q, mu_p, log_sigma_p), axis=1, exclude=True)
        return recon + kl, recon, kl


class ModelWithLoss(HybridBlock):
    """``x -> (total, reconstruction, kl)`` per example (nats), so that a model and
    :class:`VariationalLoss` hybridize as one graph. ``model`` is the child whose
    parameters are saved.

    Inputs: ``x`` (B, C, H, W) in [0, 1]. Outputs: total, reconstruction, kl, each (B,).
    """

    def __init__(self, model, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.model = model
            self.loss = VariationalLoss()

    def hybrid_forward(self, F, x):
        out = ModelOutputs(*self.model(x))
        return self.loss(out.logits, x, out.mu_q, out.log_sigma_q, out.mu_p, out.log_sigma_p)


class ModelWithLossAndNoise(ModelWithLoss):
    """:class:`ModelWithLoss` with the latent noise given: ``(x, noise) -> (total,
    reconstruction, kl)``, so that a bound can use noise drawn per image
    (:func:`draw.evaluate.model_bound`).

    Inputs: ``x`` (B, C, H, W); ``noise`` (T, B, latent...) standard normal. Outputs as
    :class:`ModelWithLoss`.
    """

    def hybrid_forward(self, F, x, noise):
        out = ModelOutputs(*self.model(x, noise))
        return self.loss(out.logits, x, out.mu_q, out.log_sigma_q, out.mu_p, out.log_sigma_p)


class ClassifierWithLoss(HybridBlock):
    """``(x, y) -> (loss, error)`` per example for a classifier
    (:class:`draw.base.Classifier`): the softmax cross-entropy ``-log p(y | x)`` in nats,
    and 1 where the most likely class is not ``y`` (0 otherwise), so that the mean of
    the second is the error rate. One graph with the model, as :class:`ModelWithLoss`.

    Inputs: ``x`` (B, C, H, W); ``y`` (B,), class indices. Outputs: loss, error, each (B,).
    """

    def __init__(self, model, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.model = model

    def hybrid_forward(self, F, x, y):
        logits = self.model(x)[0]
        y = F.cast(y, "float32")
        loss = -F.pick(F.log_softmax(logits, axis=1), y, axis=1)
        return loss, F.argmax(logits, axis=1) != y


LOG_2PI = 1.8378770664093453  # log(2 pi)


class ImportanceWeights(HybridBlock):
    """``log w = log p(x | z) + log p(z) - log q(z | x)`` per example, for the latent
    sequence ``z`` that ``noise`` draws from the recurrent posterior (one full pass).

    ``z_t = mu_q + sigma_q * noise_t``, so ``log q(z | x) = sum_t log N(noise_t; 0, I) -
    log sigma_q``; ``log p(z)`` is ``sum_t log N(z_t; 0, I)`` (DRAW) or the learned prior
    ``sum_t log N(z_t; mu_p, sigma_p^2)`` along the same trajectory (ConvDRAW), and
    ``log p(x | z) = -reconstruction``. ``mean_k log w_k`` is the ELBO estimate and
    ``log mean_k w_k`` the importance-weighted bound (Burda et al. 2015).

    Inputs: ``x`` (B, C, H, W); ``noise`` (T, B, latent...) standard normal.
    Output: log w, shape (B,), in nats.
    """

    def __init__(self, model, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.model = model

    def hybrid_forward(self, F, x, noise):
        out = ModelOutputs(*self.model(x, noise))
        log_px = -F.sum(bernoulli_nll(F, out.logits, F.reshape_like(x, out.logits)), axis=0,
                        exclude=True)
        z = out.mu_q + F.exp(out.log_sigma_q) * noise
        log_q = -0.5 * F.square(noise) - out.log_sigma_q
        if out.mu_p is None:
            log_p = -0.5 * F.square(z)
        else:
            log_p = -0.5 * F.square((z - out.mu_p) * F.exp(-out.log_sigma_p)) - out.log_sigma_p
        # the -log(2 pi)/2 of every latent unit cancels between log p and log q
        return log_px + F.sum(log_p - log_q, axis=1, exclude=True)
