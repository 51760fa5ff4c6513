"""Evaluation: the variational bound on -log p(x) over a whole dataset."""
import mxnet as mx
from mxnet import gluon


class EvaluationStopped(Exception):
    """``evaluate_bound``'s ``stop()`` asked it to end early."""


def evaluate_bound(net, images, batch_size, ctxs, stop=None):
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
    total, recon, kl = (mx.nd.add_n(*sums) / n).asnumpy().ravel()
    return {"total": float(total), "reconstruction": float(recon), "kl": float(kl)}
