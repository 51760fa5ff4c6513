"""Mini-batches of in-memory images, and the fixed binarization used for evaluation."""
import mxnet as mx
import numpy as np

#: Seed of the one binarization on which dynamically binarized data are evaluated.
EVAL_BINARIZATION_SEED = 12345


def fixed_binarization(images, seed=EVAL_BINARIZATION_SEED):
    """One reproducible draw ``x ~ Bernoulli(images)``: how validation and test images of
    a dynamically binarized dataset are evaluated (the same draw in training and in
    ``examples/evaluate.py``).

    Parameters
    ----------
    images : NDArray, shape (N, C, H, W), values in [0, 1]

    Returns
    -------
    NDArray of 0/1, float32, same shape
    """
    mx.random.seed(seed)
    return mx.nd.random.uniform_like(images.astype("float32")) < images


def evaluation_subset(num_images, size, seed=0):
    """Indices of ``size`` of ``num_images`` images: the first ``size`` of the
    permutation ``RandomState(seed).permutation(num_images)`` (all images in their order
    when ``size`` is 0 or not smaller). The images a figure or a check uses when it
    cannot use a whole split: a split sorted by class (the binarized-MNIST test split
    is) would otherwise give its first images, all of one class. The first k of a subset
    are the subset of size k, and the indices are the same on every machine.

    Returns
    -------
    ndarray of int64
    """
    if not size or size >= num_images:
        return np.arange(num_images)
    return np.random.RandomState(seed).permutation(num_images)[:size]


def take_subset(images, size, seed=0):
    """``images`` (NDArray, (N, ...)) at :func:`evaluation_subset` ``(N, size, seed)``:
    all of them when ``size`` is 0 or not smaller than N."""
    if not size or size >= len(images):
        return images
    return images[mx.nd.array(evaluation_subset(len(images), size, seed))]


class GeneratedImages:
    """Training images drawn anew every epoch (data that a generator defines, such as
    cluttered MNIST's clutter), instead of a fixed NDArray: :class:`BatchIterator` asks
    for each batch with :meth:`take`. A subclass defines ``shape`` (N, C, H, W) and
    :meth:`take`, which must depend only on the epoch and the indices, so that a resumed
    run sees the batches of the uninterrupted one."""

    shape = ()
    #: What the images are, for the run's log (e.g. "fresh clutter every epoch").
    description = "generated anew every epoch"

    def __len__(self):
        return self.shape[0]

    def take(self, epoch, indices):
        """The images ``indices`` (ndarray of int) of epoch ``epoch``: NDArray float32
        (len(indices), C, H, W)."""
        raise NotImplementedError


class BatchIterator:
    """Mini-batches from in-memory images (and their labels), in a reproducible order.

    The order of epoch ``e`` is a permutation drawn from ``seed + e``, so a run resumed at
    (epoch, batch) sees exactly the batches the uninterrupted run would have.

    Parameters
    ----------
    images : NDArray, shape (N, C, H, W), uint8 or float32 in [0, 1]; or
        :class:`GeneratedImages`, drawn anew every epoch
    batch_size : int
    shuffle : bool
    seed : int
    binarize : None or 'dynamic'
        'dynamic' resamples ``x ~ Bernoulli(x)`` for every batch (MNIST).
    drop_last : bool
        Drop the final incomplete batch (training) or keep it (evaluation).
    labels : NDArray, shape (N,), optional
        Class labels: then a batch is ``(images, labels)``.
    """

    def __init__(self, images, batch_size, shuffle=True, seed=0, binarize=None,
                 drop_last=True, labels=None):
        if binarize not in (None, "dynamic"):
            raise ValueError("binarize must be None or 'dynamic', got %r" % (binarize,))
        if batch_size < 1:
            raise ValueError("batch_size must be positive, got %d" % batch_size)
        if drop_last and len(images) < batch_size:
            raise ValueError("batch_size %d is larger than the dataset (%d images)"
                             % (batch_size, len(images)))
        if labels is not None and len(labels) != len(images):
            raise ValueError("%d labels for %d images" % (len(labels), len(images)))
        self.images = images
        self.labels = labels
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.binarize = binarize
        self.drop_last = drop_last

    def __len__(self):
        n = len(self.images)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def order(self, epoch):
        """Index order of ``epoch`` (numpy int64 array)."""
        n = len(self.images)
        if not self.shuffle:
            return np.arange(n)
        return np.random.RandomState((self.seed * 1000003 + epoch) % (2 ** 32)).permutation(n)

    def epoch(self, epoch, start=0):
        """Yield float32 batches (B, C, H, W) of ``epoch`` from batch index ``start``
        (with labels: ``(images, labels)`` pairs)."""
        order = self.order(epoch)
        for b in range(start, len(self)):
            chosen = order[b * self.batch_size:(b + 1) * self.batch_size]
            idx = mx.nd.array(chosen, dtype="int64")
            if isinstance(self.images, GeneratedImages):
                x = self.images.take(epoch, chosen)
            else:
                x = mx.nd.take(self.images, idx).astype("float32")
            if self.binarize == "dynamic":
                x = mx.nd.random.uniform_like(x) < x
            yield x if self.labels is None else (x, mx.nd.take(self.labels, idx))
