"""Evaluation: the variational bound and the importance-weighted bound on -log p(x)."""
import math

import mxnet as mx
import numpy as np
from mxnet import gluon


class EvaluationStopped(Exception):
    """``evaluate_bound``'s ``stop()`` asked it to end early."""


def evaluate_mean(net, data, batch_size, ctxs, names, stop=None, progress=None, noise=None):
    """Means over a set of examples of the per-example values ``net`` returns.

    Parameters
    ----------
    net : HybridBlock
        ``batch -> values`` per example, each shape (B,) (an objective's block,
        :meth:`draw.objectives.Objective.block`).
    data : NDArray, shape (N, ...), or tuple of NDArrays
        The examples: images, or ``(images, labels)`` with the same N.
    batch_size : int
        Global batch size, split over ``ctxs``.
    ctxs : list of Context
    names : tuple of str
        The names of ``net``'s values, in order: the keys of the result.
    stop : callable, optional
        Asked before every batch; :class:`EvaluationStopped` is raised when it returns
        True (a signal need not wait for a whole validation pass).
    progress : callable, optional
        Called with the number of examples done after every batch (a tqdm update).
    noise : callable, optional
        ``noise(start, stop)`` -> the latent noise (T, stop - start, latent...) of those
        examples, passed to ``net`` as its last input (:class:`ModelWithLossAndNoise`);
        default: ``net`` draws its own from MXNet's stream.

    Returns
    -------
    dict of float, by ``names``.
    """
    parts = data if isinstance(data, tuple) else (data,)
    n = len(parts[0])
    if n == 0:
        raise ValueError("no images to evaluate")
    sums = []
    for start in range(0, n, batch_size):
        if stop is not None and stop():
            raise EvaluationStopped()
        batch = [a[start:start + batch_size] for a in parts]
        count = len(batch[0])
        batch[0] = batch[0].astype("float32")
        if noise is not None:
            batch.append(noise(start, start + count))
        devices = ctxs[:count]
        loaded = [gluon.utils.split_and_load(a, devices, even_split=False,
                                             batch_axis=1 if noise is not None and
                                             i == len(batch) - 1 else 0)
                  for i, a in enumerate(batch)]
        for args in zip(*loaded):
            values = net(*args)
            sums.append(mx.nd.stack(*[v.astype("float32").sum() for v in values])
                        .as_in_context(mx.cpu()))
        if progress is not None:
            sums[-1].wait_to_read()  # the bar follows the computation, not the queue
            progress(count)
    means = (mx.nd.add_n(*sums) / n).asnumpy().ravel()
    return {name: float(v) for name, v in zip(names, means)}


def evaluate_bound(net, images, batch_size, ctxs, stop=None, progress=None, noise=None):
    """Mean negative ELBO over ``images``, in nats per image, with its two parts:
    :func:`evaluate_mean` of ``net`` (``x -> (total, reconstruction, kl)`` per example,
    :class:`draw.loss.ModelWithLoss`) on images (N, C, H, W) in {0, 1} (or [0, 1]).

    Returns
    -------
    dict with float ``total``, ``reconstruction``, ``kl``.
    """
    return evaluate_mean(net, images, batch_size, ctxs, ("total", "reconstruction", "kl"),
                         stop=stop, progress=progress, noise=noise)


def image_noise(seed, first, count, num_steps, latent_shape):
    """Standard-normal latent noise of images ``first .. first + count - 1`` of a set,
    each image's from its own ``RandomState([seed, index])``: the same numbers however
    the images are batched or spread over devices, on every machine.

    Returns
    -------
    NDArray, shape (T, count, latent...), on the CPU
    """
    shape = (num_steps,) + tuple(latent_shape)
    eps = np.stack([np.random.RandomState([seed, i]).standard_normal(shape)
                    for i in range(first, first + count)], axis=1)
    return mx.nd.array(eps.astype(np.float32))


def model_bound(model, images, batch_size, ctxs, seed=0, progress=None):
    """:func:`evaluate_bound` of ``model`` with its loss (one hybridized
    :class:`draw.loss.ModelWithLossAndNoise`), each image's latent noise drawn from
    ``seed`` and its index (:func:`image_noise`), so the bound does not depend on the
    batch size or the devices: the bound of ``examples/evaluate.py`` and of the
    pretrained weights' records."""
    from .loss import ModelWithLossAndNoise
    net = ModelWithLossAndNoise(model)
    net.hybridize(static_alloc=True)
    latent = tuple(model.latent_shape())
    return evaluate_bound(net, images, batch_size, ctxs, progress=progress,
                          noise=lambda a, b: image_noise(seed, a, b - a, model.num_steps,
                                                         latent))


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
