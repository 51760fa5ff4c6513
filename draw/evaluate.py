"""Evaluation: the variational bound and the importance-weighted bound on -log p(x)."""
import math

import mxnet as mx
import numpy as np
from mxnet import gluon


class EvaluationStopped(Exception):
    """``evaluate_bound``'s ``stop()`` asked it to end early."""


def evaluate_bound(net, images, batch_size, ctxs, stop=None, progress=None):
    """Mean negative ELBO over ``images``, in nats per image, with its two parts.

    Parameters
    ----------
    net : HybridBlock
        ``x -> (total, reconstruction, kl)`` per example (:class:`draw.loss.ModelWithLoss`).
    images : NDArray, shape (N, C, H, W), values in {0, 1} (or [0, 1])
    batch_size : int
        Global batch size, split over ``ctxs``.
    ctxs : list of Context
    stop : callable, optional
        Asked before every batch; :class:`EvaluationStopped` is raised when it returns
        True (a signal need not wait for a whole validation pass).
    progress : callable, optional
        Called with the number of images done after every batch (a tqdm update).

    Returns
    -------
    dict with float ``total``, ``reconstruction``, ``kl``.
    """
    n = len(images)
    if n == 0:
        raise ValueError("no images to evaluate")
    sums = []
    for start in range(0, n, batch_size):
        if stop is not None and stop():
            raise EvaluationStopped()
        x = images[start:start + batch_size].astype("float32")
        parts = gluon.utils.split_and_load(x, ctxs[:len(x)], even_split=False)
        for xi in parts:
            total, recon, kl = net(xi)
            sums.append(mx.nd.stack(total.sum(), recon.sum(), kl.sum()).as_in_context(mx.cpu()))
        if progress is not None:
            sums[-1].wait_to_read()  # the bar follows the computation, not the queue
            progress(len(x))
    total, recon, kl = (mx.nd.add_n(*sums) / n).asnumpy().ravel()
    return {"total": float(total), "reconstruction": float(recon), "kl": float(kl)}


def model_bound(model, images, batch_size, ctxs, seed=0, progress=None):
    """:func:`evaluate_bound` of ``model`` with its loss (one hybridized
    :class:`draw.loss.ModelWithLoss`), the latent noise seeded by ``seed``: the bound of
    ``examples/evaluate.py`` and of the pretrained weights' records."""
    from .loss import ModelWithLoss
    net = ModelWithLoss(model)
    net.hybridize(static_alloc=True)
    mx.random.seed(seed)
    return evaluate_bound(net, images, batch_size, ctxs, progress=progress)


def importance_weighted_bound(weights, images, num_samples, batch_size, ctx, latent_shape,
                              num_steps, chunk=None, progress=None):
    """Per-image bounds on ``-log p(x)`` from ``num_samples`` posterior samples each.

    Parameters
    ----------
    weights : HybridBlock
        :class:`draw.loss.ImportanceWeights` of the model (``(x, noise) -> log w``).
    images : NDArray, shape (N, C, H, W), in {0, 1}
    num_samples : int
        K, latent sequences per image (one full forward pass each).
    batch_size : int
        Forward-pass batch: images x samples per pass (bounds memory).
    ctx : Context
    latent_shape : tuple
        One step's latent shape (Z,) or (L, h, w).
    num_steps : int
        T.
    progress : callable, optional
        Called with the number of image-samples done after every pass (a tqdm update).

    Returns
    -------
    elbo, iw : numpy float64 arrays, shape (N,)
        ``-mean_k log w_k`` (the K-sample estimate of the negative ELBO) and
        ``-(logsumexp_k log w_k - log K)`` (the negative importance-weighted bound), in
        nats per image. The log-sum-exp is accumulated in float64 with a running
        maximum, so no weight overflows or underflows.
    """
    n, k = len(images), int(num_samples)
    if n == 0 or k < 1:
        raise ValueError("need images and at least one sample per image")
    per_pass = max(1, batch_size)
    images_per_pass = max(1, per_pass // k) if k <= per_pass else 1
    chunk = min(k, per_pass) if chunk is None else chunk
    elbo = np.zeros(n)
    iw = np.zeros(n)
    for start in range(0, n, images_per_pass):
        x = images[start:start + images_per_pass].astype("float32").as_in_context(ctx)
        b = len(x)
        top = np.full(b, -np.inf)
        total = np.zeros(b)
        mean = np.zeros(b)
        for done in range(0, k, chunk):
            c = min(chunk, k - done)
            xs = mx.nd.repeat(x, repeats=c, axis=0)                      # image-major
            noise = mx.nd.random.normal(shape=(num_steps, b * c) + tuple(latent_shape),
                                        ctx=ctx)
            w = weights(xs, noise).asnumpy().astype(np.float64).reshape(b, c)
            mean += w.sum(axis=1) / k
            new_top = np.maximum(top, w.max(axis=1))
            total = total * np.exp(top - new_top) + np.exp(w - new_top[:, None]).sum(axis=1)
            top = new_top
            if progress is not None:
                progress(b * c)
        elbo[start:start + b] = -mean
        iw[start:start + b] = -(top + np.log(total) - math.log(k))
    return elbo, iw
