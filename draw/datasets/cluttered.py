"""Cluttered translated MNIST (Mnih et al. 2014, "Recurrent Models of Visual Attention";
the DRAW paper's classification experiment): a 28x28 MNIST digit at a random position of
a 100x100 black canvas, with 8 pieces of clutter, each an 8x8 crop of another random
digit at a random position.

The recipe follows DeepMind's generator (``mnist-cluttered``, ``megapatch_w=100,
num_dist=8``): the clutter pieces are added first (crop offset and position uniform over
the valid range) and the sum clipped to 1, then the digit is added (position uniform,
fully inside) and the sum clipped to [0, 1]. Intensities are MNIST's / 255.

The converted file does not hold the 100x100 images (70,000 of them would be 700 MB as
uint8) but what draws them exactly: each split's 28x28 digits and labels, and per
example its digit's position and its clutter pieces (source digit, crop offset,
position), all drawn from ``RandomState(seed)``. :func:`render` makes the images of any
examples, the same on every machine. Each split takes its clutter only from its own
digits: training from MNIST's first 50,000 training digits, validation from the last
10,000, test from the test digits; one example per digit, so 50,000 / 10,000 / 10,000.
"""
from collections.abc import Mapping

import numpy as np

from ..errors import DatasetError
from .mnist import CHECKSUMS, read_mnist
from ..batches import GeneratedImages
from .store import convert_with, load_dataset

#: the task's defaults (Mnih et al. 2014; the DRAW paper's Table 1)
CANVAS, CLUTTER, CLUTTER_SIZE, DIGIT = 100, 8, 8, 28
#: columns of a recipe: the digit's (y, x), then per clutter piece (source digit,
#: crop y, crop x, y, x)
PIECE = 5


def make_recipes(num_examples, num_sources, rng, canvas=CANVAS, clutter=CLUTTER,
                 clutter_size=CLUTTER_SIZE, digit=DIGIT):
    """The random choices of ``num_examples`` examples whose clutter comes from
    ``num_sources`` digits.

    Returns
    -------
    ndarray of int32, shape (num_examples, 2 + PIECE * clutter)
    """
    n = num_examples
    cols = [rng.randint(0, canvas - digit + 1, size=(n, 2))]
    for _ in range(clutter):
        cols += [rng.randint(0, num_sources, size=(n, 1)),
                 rng.randint(0, digit - clutter_size + 1, size=(n, 2)),
                 rng.randint(0, canvas - clutter_size + 1, size=(n, 2))]
    return np.concatenate(cols, axis=1).astype(np.int32)


def render(digits, recipes, indices, canvas=CANVAS, clutter_size=CLUTTER_SIZE):
    """The cluttered images of examples ``indices``.

    Parameters
    ----------
    digits : ndarray of uint8, shape (N, 28, 28)
        The split's digits; example ``i`` shows digit ``i``.
    recipes : ndarray of int32, shape (N, 2 + 5 k)
        :func:`make_recipes` output (k clutter pieces).
    indices : sequence of int

    Returns
    -------
    ndarray of float32, shape (len(indices), 1, canvas, canvas), values in [0, 1]
    """
    indices = np.asarray(indices, dtype=np.int64)
    digits = np.asarray(digits)
    size = digits.shape[-1]
    out = np.zeros((len(indices), canvas, canvas), dtype=np.float32)
    scale = np.float32(1.0 / 255)
    for row, i in enumerate(indices):
        recipe = recipes[i]
        image = out[row]
        for p in range(2, len(recipe), PIECE):
            src, cy, cx, y, x = (int(v) for v in recipe[p:p + PIECE])
            image[y:y + clutter_size, x:x + clutter_size] += \
                digits[src, cy:cy + clutter_size, cx:cx + clutter_size] * scale
        np.minimum(image, 1, out=image)
        y, x = int(recipe[0]), int(recipe[1])
        image[y:y + size, x:x + size] += digits[i] * scale
        np.clip(image, 0, 1, out=image)
    return out[:, None]


def convert_cluttered_mnist(out_dir=None, source=None, verify=True, force=False, log=print,
                            seed=0, clutter=CLUTTER):
    """MNIST IDX files -> ``cluttered_mnist.nd``: per split ``<split>_digits`` (uint8,
    (N, 28, 28)), ``<split>_y`` (int32) and ``<split>_recipe`` (int32, (N, 2 + 5 clutter);
    :func:`render` draws the images). About 67 MB. Returns the path."""
    if not 0 <= clutter <= 100:
        raise DatasetError("clutter must be between 0 and 100 pieces, got %d" % clutter)

    def build(fetch):
        parts = read_mnist(fetch)
        (x, y), (tx, ty) = parts["train"], parts["test"]
        splits = {"train": (x[:50000], y[:50000]), "val": (x[50000:], y[50000:]),
                  "test": (tx, ty)}
        rng = np.random.RandomState(seed)
        out = {}
        for name in ("train", "val", "test"):  # a fixed order: the same draws every time
            digits, labels = splits[name]
            out[name + "_digits"] = np.ascontiguousarray(digits)
            out[name + "_y"] = labels
            out[name + "_recipe"] = make_recipes(len(digits), len(digits), rng,
                                                 clutter=clutter)
        return out

    settings = {"split": {"train": "first 50000 of train", "val": "last 10000 of train",
                          "test": "t10k"},
                "generator": {"seed": seed, "canvas": CANVAS, "clutter": clutter,
                              "clutter_size": CLUTTER_SIZE,
                              "recipe": "DeepMind mnist-cluttered (megapatch_w=100, "
                                        "num_dist=8): clutter added and clipped to 1, "
                                        "then the digit, clipped to [0, 1]"}}
    return convert_with("cluttered_mnist", out_dir, build, settings, CHECKSUMS["mnist"],
                        source, verify, force, log, originals="mnist")


def load_rendered(path, require=()):
    """The converted file at ``path`` as the models take it: per split ``<split>_x``
    and ``<split>_y`` (int32), for validation and test ``<split>_position`` too (the
    digits' top-left pixels (y, x)), with the file's metadata. The validation and test images
    are the stored recipes' (NDArray float32, (N, 1, 100, 100), :func:`render`), rendered
    when first asked for (about 10,000 a second, so a tool that needs the test split
    renders only it); the training images are :class:`FreshClutter`, new clutter every
    epoch.

    Returns
    -------
    arrays : Mapping of NDArray
    meta : dict
    """
    need = tuple(k for k in require if not k.endswith(("_x", "_position")))
    stored, meta = load_dataset(path, require=need + tuple(
        k[:-2] + part for k in require if k.endswith("_x") for part in ("_digits", "_recipe"))
        + tuple(k[:-len("_position")] + "_recipe" for k in require if k.endswith("_position")))
    generator = meta.get("generator", {})
    return _Rendered(stored, generator.get("seed", 0), generator.get("clutter", CLUTTER)), meta


class FreshClutter(GeneratedImages):
    """The training split as the task defines it: each digit at a new position with new
    clutter every epoch (Mnih et al. 2014 draw the clutter anew, so a network never sees
    an image twice). The recipes of epoch ``e`` come from ``RandomState([seed, e])``
    (:func:`make_recipes`, clutter from the split's own digits), so a resumed run sees
    the images of the uninterrupted one; an image is rendered when its batch is taken.

    Parameters
    ----------
    digits : ndarray of uint8, shape (N, 28, 28)
    seed : int
        The converter's seed (the fixed validation and test images used it too).
    clutter : int
        Pieces of clutter per image.
    """

    description = "each digit at a new position with new clutter every epoch"

    def __init__(self, digits, seed=0, clutter=CLUTTER):
        self.digits = np.asarray(digits)
        self.seed = int(seed)
        self.clutter = int(clutter)
        self.shape = (len(self.digits), 1, CANVAS, CANVAS)
        self._recipes = (None, None)

    def recipes(self, epoch):
        """The recipes of epoch ``epoch`` (int32, (N, 2 + 5 clutter)), kept for one epoch."""
        if self._recipes[0] != epoch:
            n = len(self.digits)
            rng = np.random.RandomState([self.seed, 1 + int(epoch)])
            self._recipes = (epoch, make_recipes(n, n, rng, clutter=self.clutter))
        return self._recipes[1]

    def take(self, epoch, indices):
        import mxnet as mx
        return mx.nd.array(render(self.digits, self.recipes(epoch), indices))


class _Rendered(Mapping):
    """The stored arrays' labels, each split's images rendered on first access (the
    training split's as :class:`FreshClutter`), and for the splits of stored recipes
    ``<split>_position``, the digits' top-left pixels (y, x) (int32, (N, 2)), to measure
    where a classifier looks (:func:`draw.figures.search`)."""

    def __init__(self, stored, seed=0, clutter=CLUTTER):
        self._stored = stored
        self._generator = (seed, clutter)
        self._images = {}
        self._keys = [k for k in stored if k.endswith("_y")] + \
            [k[:-len("_digits")] + "_x" for k in stored if k.endswith("_digits")] + \
            [k[:-len("_recipe")] + "_position" for k in stored
             if k.endswith("_recipe") and k != "train_recipe"]

    def __getitem__(self, key):
        if key.endswith("_y"):
            return self._stored[key]
        if key.endswith("_position") and key in self._keys:
            return self._stored[key[:-len("_position")] + "_recipe"][:, :2]
        if key not in self._keys:
            raise KeyError(key)
        if key == "train_x" and key not in self._images:
            self._images[key] = FreshClutter(self._stored["train_digits"].asnumpy(),
                                             *self._generator)
        if key not in self._images:
            import mxnet as mx
            split = key[:-2]
            digits = self._stored[split + "_digits"].asnumpy()
            recipes = self._stored[split + "_recipe"].asnumpy()
            self._images[key] = mx.nd.array(render(digits, recipes, range(len(digits))))
        return self._images[key]

    def __iter__(self):
        return iter(self._keys)

    def __len__(self):
        return len(self._keys)
