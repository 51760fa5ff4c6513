"""MNIST (LeCun et al.) and Larochelle's binarized MNIST: parsers and converters.

* ``mnist.nd``: float32 in [0, 1], (N, 1, 28, 28), int32 labels; validation = the last
  ``val_size`` training images.
* ``binarized_mnist.nd``: uint8 0/1 (N, 1, 28, 28), train 50,000 / val 10,000 / test
  10,000: the split of every published NLL table.
"""
import struct

import numpy as np

from ..errors import DatasetError
from .store import convert_with

MNIST_URLS = ("http://yann.lecun.com/exdb/mnist/",
              "https://ossci-datasets.s3.amazonaws.com/mnist/")
BINARIZED_MNIST_URLS = ("http://www.cs.toronto.edu/~larocheh/public/datasets/binarized_mnist/",)

#: name -> {file: sha256 of the decompressed content}
CHECKSUMS = {
    "mnist": {
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    "binarized_mnist": {
        "binarized_mnist_train.amat": "ad693b29f94c14277b095f5238ddefbbdaaae0939789dd2f4f0205278cee3e4d",
        "binarized_mnist_valid.amat": "1de3d397c40fe8eeb33dafd4099a1f665ec01e96d9be234aaeeac8a34930e2e2",
        "binarized_mnist_test.amat": "e6687bfea3f820c174f33b7865140b2a2dd2930ef786f35d45795fc193b5ab2c",
    },
}


def parse_idx(raw, path, expect_magic, expect_dims=None):
    """Parse an IDX file (big-endian header, unsigned bytes).

    Parameters
    ----------
    raw : bytes
    path : str
        For error messages.
    expect_magic : int
        2051 for images, 2049 for labels.
    expect_dims : tuple of int or None
        Trailing dimensions to require, e.g. (28, 28).

    Returns
    -------
    numpy.ndarray of uint8, shape (n, *dims)
    """
    if len(raw) < 8:
        raise DatasetError("%s: too short for an IDX header (%d bytes)" % (path, len(raw)))
    magic = struct.unpack(">I", raw[:4])[0]
    if magic != expect_magic:
        raise DatasetError("%s: wrong IDX magic number %d, expected %d"
                           % (path, magic, expect_magic))
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetError("%s: truncated IDX header" % path)
    dims = struct.unpack(">" + "I" * ndim, raw[4:header])
    if expect_dims is not None and tuple(dims[1:]) != tuple(expect_dims):
        raise DatasetError("%s: wrong IDX dimensions %s, expected (n, %s)"
                           % (path, dims, ", ".join(map(str, expect_dims))))
    size = int(np.prod(dims))
    if len(raw) - header != size:
        raise DatasetError("%s: IDX body has %d bytes, header says %s = %d"
                           % (path, len(raw) - header, dims, size))
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def parse_amat(raw, path, width=784):
    """Parse a Larochelle ``.amat`` text file of 0/1 values, one image per line.

    Returns
    -------
    numpy.ndarray of uint8, shape (n, width)
    """
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if not lines:
        raise DatasetError("%s: empty amat file" % path)
    line_len = 2 * width - 1
    lens = np.fromiter((len(line) for line in lines), dtype=np.int64, count=len(lines))
    if np.all(lens == line_len):  # fast path: "v v v ... v" with single spaces
        chars = np.frombuffer(b"".join(lines), dtype=np.uint8).reshape(len(lines), line_len)
        values, seps = chars[:, 0::2], chars[:, 1::2]
        if np.all(seps == ord(" ")) and np.all((values == ord("0")) | (values == ord("1"))):
            return (values - ord("0")).astype(np.uint8)
    out = np.empty((len(lines), width), dtype=np.uint8)
    for i, line in enumerate(lines):  # slow path: find and report the first bad line
        fields = line.split()
        if len(fields) != width:
            raise DatasetError("%s: line %d has %d values, expected %d"
                               % (path, i + 1, len(fields), width))
        bad = [v for v in fields if v not in (b"0", b"1")]
        if bad:
            raise DatasetError("%s: line %d has value %r; only 0 and 1 are allowed"
                               % (path, i + 1, bad[0].decode("ascii", "replace")))
        out[i] = [v == b"1" for v in fields]
    return out


def read_mnist(fetch):
    """MNIST's four IDX files through a converter's ``fetch``: ``{"train": (images,
    labels), "test": (...)}``, images uint8 (N, 28, 28), labels int32 (N,)."""
    parts = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        raw, f = fetch(prefix + "-images-idx3-ubyte", MNIST_URLS)
        images = parse_idx(raw, f, 2051, (28, 28))
        raw, g = fetch(prefix + "-labels-idx1-ubyte", MNIST_URLS)
        labels = parse_idx(raw, g, 2049, ())
        if len(images) != len(labels):
            raise DatasetError("%s has %d images but %s has %d labels"
                               % (f, len(images), g, len(labels)))
        parts[split] = (images, labels.astype(np.int32))
    return parts


def convert_mnist(out_dir=None, source=None, val_size=10000, verify=True, force=False,
                  log=print):
    """MNIST IDX files -> ``mnist.nd``.

    Images become float32 in [0, 1] shaped (N, 1, 28, 28), labels int32. The validation
    split is the last ``val_size`` training images (train 50,000 / val 10,000 / test
    10,000 by default). Returns the path of ``mnist.nd``.
    """
    if not 0 <= val_size < 60000:
        raise DatasetError("val_size must be in [0, 60000), got %d" % val_size)

    def build(fetch):
        parts = {split: ((images.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28), labels)
                 for split, (images, labels) in read_mnist(fetch).items()}
        (x, y), (tx, ty) = parts["train"], parts["test"]
        n = len(x) - val_size
        return {"train_x": x[:n], "train_y": y[:n], "val_x": x[n:], "val_y": y[n:],
                "test_x": tx, "test_y": ty}

    split = {"train": "first %d of train" % (60000 - val_size),
             "val": "last %d of train" % val_size, "test": "t10k"}
    return convert_with("mnist", out_dir, build, {"split": split}, CHECKSUMS["mnist"], source,
                        verify, force, log)


def convert_binarized_mnist(out_dir=None, source=None, verify=True, force=False, log=print):
    """Larochelle's statically binarized MNIST (``.amat``) -> ``binarized_mnist.nd``.

    uint8 0/1 images shaped (N, 1, 28, 28): train 50,000, val 10,000, test 10,000 (the
    split of every published NLL table). Returns the path of ``binarized_mnist.nd``.
    """
    expected_rows = {"train": 50000, "valid": 10000, "test": 10000}

    def build(fetch):
        out = {}
        for split, rows in expected_rows.items():
            raw, f = fetch("binarized_mnist_%s.amat" % split, BINARIZED_MNIST_URLS)
            x = parse_amat(raw, f)
            if len(x) != rows:
                raise DatasetError("%s: %d rows, expected %d" % (f, len(x), rows))
            out[("val" if split == "valid" else split) + "_x"] = x.reshape(-1, 1, 28, 28)
        return out

    split = {"train": "binarized_mnist_train.amat", "val": "binarized_mnist_valid.amat",
             "test": "binarized_mnist_test.amat"}
    return convert_with("binarized_mnist", out_dir, build, {"split": split},
                        CHECKSUMS["binarized_mnist"], source, verify, force, log)
