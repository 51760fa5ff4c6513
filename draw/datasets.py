"""Dataset converters (original files -> NDArray files) and in-memory batch loading.

A converted dataset is two files in the output directory:

* ``<name>.nd``: ``mx.nd.save`` dict, e.g. ``train_x``, ``val_x``, ``test_x`` (images,
  shape (N, 1, 28, 28)) and, for MNIST, ``train_y``, ``val_y``, ``test_y`` (int32 labels);
* ``<name>.json``: provenance: converter version, source files with the sha256 of their
  (decompressed) content, split, shapes, dtypes, and the sha256 of the ``.nd`` file.

Both are written under temporary names and renamed, so an interrupted conversion leaves
no partial file; a conversion whose output exists and matches is skipped.

Sources: with ``source=None`` the original files are downloaded from their official URLs
into ``<out_dir>/raw/<name>``; otherwise they are read from a local directory (directly in
it, or in its ``<name>/`` sub-directory). Either way every file is checked against the
sha256 of its decompressed content, so a re-compressed copy (``.amat.gz`` for ``.amat``)
is accepted and a corrupt one is not.
"""
import gzip
import hashlib
import json
import os
import struct
import sys
import urllib.request

import mxnet as mx
import numpy as np

from .config import DATA_DIR_ENV, SOURCE_ENV, default_data_dir, default_source
from .errors import DatasetError

#: Bump when the output format or processing changes; older outputs are then rebuilt.
CONVERTER_VERSION = 1

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
    # the upstream zips (downloads must match; local copies are validated by structure)
    "omniglot": {
        "images_background.zip": "ad41ab679c8b5d90b271ef46be6987cc81211774a695c29dcc5367b2b26ee640",
        "images_evaluation.zip": "1f61a8f3366785b057fc117d9228e78a16e3d976c8953b2a10fcc74cf0609cee",
    },
}


# --------------------------------------------------------------------------- paths

def dataset_path(name, data_dir=None):
    """Path of the converted ``<name>.nd`` file."""
    return os.path.join(data_dir or default_data_dir(), name + ".nd")


def _sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# --------------------------------------------------------------------------- fetching

def find_local(source, name, candidates):
    """First of ``candidates`` (file names) found in ``source`` or ``source/name``."""
    if not os.path.isdir(source):
        raise DatasetError("source directory %s does not exist" % source)
    for folder in (source, os.path.join(source, name)):
        for candidate in candidates:
            path = os.path.join(folder, candidate)
            if os.path.isfile(path):
                return path
    raise DatasetError("%s: missing file (looked for %s in %s and %s)"
                       % (candidates[-1], " or ".join(candidates), source,
                          os.path.join(source, name)))


def download(urls, candidates, dest_dir):
    """Download the first of ``candidates`` that one of ``urls`` serves into ``dest_dir``
    (kept as a cache: an existing file is reused)."""
    os.makedirs(dest_dir, exist_ok=True)
    errors = []
    for base in urls:
        for candidate in candidates:
            dest = os.path.join(dest_dir, candidate)
            if os.path.isfile(dest):
                return dest
            tmp = dest + ".part"
            try:
                with urllib.request.urlopen(base + candidate, timeout=60) as r, \
                        open(tmp, "wb") as f:
                    while True:
                        block = r.read(1 << 20)
                        if not block:
                            break
                        f.write(block)
                os.replace(tmp, dest)
                return dest
            except OSError as e:  # URLError, HTTPError, timeouts are OSErrors
                errors.append("%s: %s" % (base + candidate, e))
                if os.path.exists(tmp):
                    os.remove(tmp)
    raise DatasetError("%s: download failed (%s). Pass a local directory of the original "
                       "files with --source or $%s." % (candidates[-1], "; ".join(errors),
                                                        SOURCE_ENV))


def read_source(name, filename, source=None, urls=(), cache_dir=None, verify=True):
    """Read and verify one original file; returns its decompressed bytes.

    Parameters
    ----------
    name : str
        Dataset name (key of :data:`CHECKSUMS`, and the sub-directory looked in).
    filename : str
        File name without ``.gz``.
    source : str or None
        Local directory; None downloads from ``urls`` into ``cache_dir``.
    verify : bool
        Check the sha256 of the decompressed content against :data:`CHECKSUMS`.

    Raises
    ------
    DatasetError
        Missing file, failed download, truncated/corrupt gzip or checksum mismatch.
    """
    candidates = (filename + ".gz", filename)
    path = find_local(source, name, candidates) if source else \
        download(urls, candidates, cache_dir)
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                raw = f.read()
        else:
            with open(path, "rb") as f:
                raw = f.read()
    except (EOFError, OSError, gzip.BadGzipFile) as e:
        raise DatasetError("%s: truncated or corrupt gzip file (%s)" % (path, e)) from None
    digest = hashlib.sha256(raw).hexdigest()
    expected = CHECKSUMS[name][filename]
    if verify and digest != expected:
        raise DatasetError("%s: checksum mismatch: sha256 of the content is %s, expected %s"
                           % (path, digest, expected))
    return raw, {"file": os.path.basename(path), "content_sha256": digest,
                 "origin": "local" if source else "download"}


# --------------------------------------------------------------------------- parsers

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


# --------------------------------------------------------------------------- writing

def _stale_reason(nd_path, json_path, expected_meta):
    """Why the converted output must be (re)written, or None when it is up to date."""
    if not os.path.isfile(nd_path):
        return "missing"
    try:
        with open(json_path) as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return "its provenance file %s is missing or corrupt" % os.path.basename(json_path)
    if meta.get("converter_version") != expected_meta.get("converter_version"):
        return "written by converter version %r, this code writes version %r" % (
            meta.get("converter_version"), expected_meta.get("converter_version"))
    keys = ("dataset", "split", "expected_sources")
    changed = [k for k in keys if meta.get(k) != expected_meta.get(k)]
    if changed:
        return "converted with other settings (%s)" % ", ".join(changed)
    if _sha256_file(nd_path) != meta.get("nd_sha256"):
        return "truncated or modified (sha256 differs from %s)" % os.path.basename(json_path)
    return None


def write_dataset(out_dir, name, arrays, meta):
    """Atomically write ``<name>.nd`` (numpy arrays -> NDArrays) and ``<name>.json``."""
    os.makedirs(out_dir, exist_ok=True)
    nd_path = os.path.join(out_dir, name + ".nd")
    json_path = os.path.join(out_dir, name + ".json")
    suffix = ".tmp-%d" % os.getpid()
    try:
        mx.nd.save(nd_path + suffix, {k: mx.nd.array(v, dtype=v.dtype) for k, v in arrays.items()})
        meta = dict(meta, nd_sha256=_sha256_file(nd_path + suffix),
                    arrays={k: {"shape": list(v.shape), "dtype": str(v.dtype)}
                            for k, v in arrays.items()})
        with open(json_path + suffix, "w") as f:
            json.dump(meta, f, indent=2, sort_keys=True)
        os.replace(nd_path + suffix, nd_path)
        os.replace(json_path + suffix, json_path)
    finally:
        for tmp in (nd_path + suffix, json_path + suffix):
            if os.path.exists(tmp):
                os.remove(tmp)
    return nd_path


class Fetcher:
    """What a converter's ``build`` step gets: where the originals are, and a record of
    the files it read (``sources``, written to the JSON sidecar)."""

    def __init__(self, name, source, cache_dir, verify):
        self.name, self.source, self.cache_dir, self.verify = name, source, cache_dir, verify
        self.sources = []

    def __call__(self, filename, urls):
        """Decompressed, verified content of ``filename`` and its file name."""
        raw, info = read_source(self.name, filename, self.source, urls, self.cache_dir,
                                self.verify)
        self.sources.append(info)
        return raw, info["file"]


def convert_with(name, out_dir, build, settings, source, verify, force, log):
    """Shared driver: skip if up to date, else ``build(fetch) -> arrays`` and write."""
    out_dir = out_dir or default_data_dir()
    nd_path = os.path.join(out_dir, name + ".nd")
    json_path = os.path.join(out_dir, name + ".json")
    expected = dict(settings, converter_version=CONVERTER_VERSION, dataset=name,
                    expected_sources=CHECKSUMS.get(name))
    stale = "forced" if force else _stale_reason(nd_path, json_path, expected)
    if stale is None:
        log("%s is up to date: %s" % (name, nd_path))
        return nd_path
    if stale not in ("missing", "forced"):
        log("%s: %s; converting again" % (nd_path, stale))
    fetch = Fetcher(name, source, os.path.join(out_dir, "raw", name), verify)
    try:
        arrays = build(fetch)
    except DatasetError as e:
        if stale in ("missing", "forced"):
            raise
        raise DatasetError("%s is %s, and converting again failed: %s"
                           % (nd_path, stale, e)) from None
    meta = dict(expected, sources=fetch.sources, checksum_verified=bool(verify))
    write_dataset(out_dir, name, arrays, meta)
    log("wrote %s (%s)" % (nd_path, ", ".join("%s %s" % (k, tuple(v.shape))
                                               for k, v in sorted(arrays.items()))))
    return nd_path


# --------------------------------------------------------------------------- datasets

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
        parts = {}
        for split, prefix in (("train", "train"), ("test", "t10k")):
            raw, f = fetch(prefix + "-images-idx3-ubyte", MNIST_URLS)
            images = parse_idx(raw, f, 2051, (28, 28))
            raw, g = fetch(prefix + "-labels-idx1-ubyte", MNIST_URLS)
            labels = parse_idx(raw, g, 2049, ())
            if len(images) != len(labels):
                raise DatasetError("%s has %d images but %s has %d labels"
                                   % (f, len(images), g, len(labels)))
            parts[split] = ((images.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28),
                            labels.astype(np.int32))
        (x, y), (tx, ty) = parts["train"], parts["test"]
        n = len(x) - val_size
        return {"train_x": x[:n], "train_y": y[:n], "val_x": x[n:], "val_y": y[n:],
                "test_x": tx, "test_y": ty}

    split = {"train": "first %d of train" % (60000 - val_size),
             "val": "last %d of train" % val_size, "test": "t10k"}
    return convert_with("mnist", out_dir, build, {"split": split}, source, verify, force, log)


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
    return convert_with("binarized_mnist", out_dir, build, {"split": split}, source, verify,
                    force, log)


def convert_omniglot(**kwargs):
    """See :func:`draw.omniglot.convert_omniglot`."""
    from .omniglot import convert_omniglot as convert
    return convert(**kwargs)


def convert_omniglot_alphabets(**kwargs):
    """Omniglot with Lake et al.'s split (background alphabets / evaluation alphabets)."""
    return convert_omniglot(split="alphabets", **kwargs)


CONVERTERS = {"mnist": convert_mnist, "binarized_mnist": convert_binarized_mnist,
              "omniglot": convert_omniglot, "omniglot_alphabets": convert_omniglot_alphabets}


# --------------------------------------------------------------------------- loading

#: dtypes a converted image array may have
IMAGE_DTYPES = ("uint8", "float32")


def load_dataset(path, require=("train_x",)):
    """Load a converted dataset.

    Parameters
    ----------
    path : str
        The ``.nd`` file.
    require : tuple of str
        Arrays that must be present.

    Returns
    -------
    arrays : dict of str -> NDArray (on CPU)
    meta : dict
        The JSON sidecar.
    """
    json_path = os.path.splitext(path)[0] + ".json"
    if not os.path.isfile(path):
        raise DatasetError("%s: missing dataset file" % path)
    try:
        with open(json_path) as f:
            meta = json.load(f)
    except OSError:
        raise DatasetError("%s: missing provenance file %s" % (path, json_path)) from None
    except ValueError as e:
        raise DatasetError("%s: corrupt JSON (%s)" % (json_path, e)) from None
    if meta.get("converter_version") != CONVERTER_VERSION:
        raise DatasetError("%s: written by converter version %r, this code reads version %d; "
                           "convert again" % (path, meta.get("converter_version"),
                                              CONVERTER_VERSION))
    try:
        arrays = mx.nd.load(path)
    except mx.base.MXNetError:
        raise DatasetError("%s: truncated or corrupt NDArray file" % path) from None
    for key in require:
        if key not in arrays:
            raise DatasetError("%s: has no array %r (has %s)" % (path, key, sorted(arrays)))
    for key, spec in meta.get("arrays", {}).items():
        a = arrays.get(key)
        if a is None or list(a.shape) != spec["shape"] or np.dtype(a.dtype).name != spec["dtype"]:
            raise DatasetError("%s: array %r does not match its JSON sidecar (%s %s vs %s %s)"
                               % (path, key, None if a is None else a.shape,
                                  None if a is None else np.dtype(a.dtype).name,
                                  spec["shape"], spec["dtype"]))
    for key, a in arrays.items():
        if key.endswith("_x") and (a.ndim != 4 or np.dtype(a.dtype).name not in IMAGE_DTYPES):
            raise DatasetError("%s: array %r is %s %s; images must be (N, C, H, W) %s"
                               % (path, key, np.dtype(a.dtype).name, a.shape,
                                  " or ".join(IMAGE_DTYPES)))
    return arrays, meta


def ensure_dataset(name, data_dir=None, source=None, log=print):
    """Path of a converted dataset, converting it first if needed."""
    if name not in CONVERTERS:
        raise DatasetError("unknown dataset %r; known: %s" % (name, ", ".join(sorted(CONVERTERS))))
    return CONVERTERS[name](out_dir=data_dir, source=source or default_source(), log=log)


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


class BatchIterator:
    """Mini-batches from an in-memory image NDArray, in a reproducible order.

    The order of epoch ``e`` is a permutation drawn from ``seed + e``, so a run resumed at
    (epoch, batch) sees exactly the batches the uninterrupted run would have.

    Parameters
    ----------
    images : NDArray, shape (N, C, H, W), uint8 or float32 in [0, 1]
    batch_size : int
    shuffle : bool
    seed : int
    binarize : None or 'dynamic'
        'dynamic' resamples ``x ~ Bernoulli(x)`` for every batch (MNIST).
    drop_last : bool
        Drop the final incomplete batch (training) or keep it (evaluation).
    """

    def __init__(self, images, batch_size, shuffle=True, seed=0, binarize=None,
                 drop_last=True):
        if binarize not in (None, "dynamic"):
            raise ValueError("binarize must be None or 'dynamic', got %r" % (binarize,))
        if batch_size < 1:
            raise ValueError("batch_size must be positive, got %d" % batch_size)
        if drop_last and len(images) < batch_size:
            raise ValueError("batch_size %d is larger than the dataset (%d images)"
                             % (batch_size, len(images)))
        self.images = images
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
        """Yield float32 batches (B, C, H, W) of ``epoch`` from batch index ``start``."""
        order = self.order(epoch)
        for b in range(start, len(self)):
            idx = mx.nd.array(order[b * self.batch_size:(b + 1) * self.batch_size],
                              dtype="int64")
            x = mx.nd.take(self.images, idx).astype("float32")
            if self.binarize == "dynamic":
                x = mx.nd.random.uniform_like(x) < x
            yield x


# --------------------------------------------------------------------------- CLI

def convert_cli(name, argv=None, extra_args=None):
    """Command line for a converter: ``python data/convert_<name>.py [--source DIR]``.

    Exits with status 2 and one line on stderr for any :class:`DatasetError`.
    """
    from .cli import ArgumentParser
    parser = ArgumentParser(
        description="Convert %s to an NDArray file (%s.nd + %s.json)." % (name, name, name))
    parser.add_argument("--source", default=default_source(),
                        help="directory holding the original files (default: $%s; "
                             "if unset, download from the official URLs)" % SOURCE_ENV)
    parser.add_argument("--out", default=default_data_dir(),
                        help="output directory (default: $%s or ~/.mxnet/datasets/draw)"
                             % DATA_DIR_ENV)
    parser.add_argument("--force", action="store_true", help="convert even if up to date")
    parser.add_argument("--no-checksum", dest="verify", action="store_false",
                        help="accept files whose sha256 differs from the published one "
                             "(their structure is still validated)")
    for args, kwargs in (extra_args or []):
        parser.add_argument(*args, **kwargs)
    args = vars(parser.parse_args(argv))
    kwargs = {k: args.pop(k) for k in list(args) if k not in ("source", "out", "force", "verify")}
    try:
        CONVERTERS[name](out_dir=args["out"], source=args["source"], verify=args["verify"],
                         force=args["force"], **kwargs)
    except DatasetError as e:
        print("error: %s" % e, file=sys.stderr)
        sys.exit(2)
