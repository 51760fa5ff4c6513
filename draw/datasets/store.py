"""The dataset store: fetching and verifying original files, writing and loading
converted datasets. The datasets themselves are in :mod:`draw.datasets.mnist` and
:mod:`draw.datasets.omniglot`.

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
import re
import urllib.request

import mxnet as mx
import numpy as np

from ..config import SOURCE_ENV, default_data_dir
from ..errors import DatasetError
from ..files import sha256_file

#: Bump when the output format or processing changes; older outputs are then rebuilt.
CONVERTER_VERSION = 1

# --------------------------------------------------------------------------- paths

def dataset_path(name, data_dir=None):
    """Path of the converted ``<name>.nd`` file."""
    return os.path.join(data_dir or default_data_dir(), name + ".nd")


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


def read_source(name, filename, expected, source=None, urls=(), cache_dir=None, verify=True):
    """Read and verify one original file; returns its decompressed bytes.

    Parameters
    ----------
    name : str
        Dataset name (the sub-directory of ``source`` looked in).
    filename : str
        File name without ``.gz``.
    expected : str
        sha256 of the decompressed content.
    source : str or None
        Local directory; None downloads from ``urls`` into ``cache_dir``.
    verify : bool
        Check the sha256 of the decompressed content against ``expected``.

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
    if verify and digest != expected:
        raise DatasetError("%s: checksum mismatch: sha256 of the content is %s, expected %s"
                           % (path, digest, expected))
    return raw, {"file": os.path.basename(path), "content_sha256": digest,
                 "origin": "local" if source else "download"}


# --------------------------------------------------------------------------- writing

def _stale_reason(nd_path, json_path, expected_meta):
    """Why the converted output must be (re)written, or None when it is up to date."""
    if not os.path.isfile(nd_path):
        return "missing"
    try:
        with open(json_path) as f:
            meta = json.load(f)
    except (OSError, ValueError):
        meta = None
    if not isinstance(meta, dict):
        return "its provenance file %s is missing, corrupt or of the wrong form" % \
            os.path.basename(json_path)
    if meta.get("converter_version") != expected_meta.get("converter_version"):
        return "written by converter version %r, this code writes version %r" % (
            meta.get("converter_version"), expected_meta.get("converter_version"))
    keys = ("dataset", "split", "expected_sources")
    changed = [k for k in keys if meta.get(k) != expected_meta.get(k)]
    if changed:
        return "converted with other settings (%s)" % ", ".join(changed)
    if sha256_file(nd_path) != meta.get("nd_sha256"):
        return "truncated or modified (sha256 differs from %s)" % os.path.basename(json_path)
    return None


def _remove_stale_tmp(out_dir, name):
    """Delete ``<name>.nd.tmp-PID`` / ``<name>.json.tmp-PID`` left by a converter that was
    killed while writing (its process is gone)."""
    if not os.path.isdir(out_dir):
        return
    for entry in os.listdir(out_dir):
        m = re.match(r"^%s\.(nd|json)\.tmp-(\d+)$" % re.escape(name), entry)
        if m and not _alive(int(m.group(2))):
            os.remove(os.path.join(out_dir, entry))


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_dataset(out_dir, name, arrays, meta):
    """Atomically write ``<name>.nd`` (numpy arrays -> NDArrays) and ``<name>.json``."""
    os.makedirs(out_dir, exist_ok=True)
    nd_path = os.path.join(out_dir, name + ".nd")
    json_path = os.path.join(out_dir, name + ".json")
    suffix = ".tmp-%d" % os.getpid()
    try:
        mx.nd.save(nd_path + suffix, {k: mx.nd.array(v, dtype=v.dtype) for k, v in arrays.items()})
        meta = dict(meta, nd_sha256=sha256_file(nd_path + suffix),
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
    """What a converter's ``build`` step gets: where the originals are, their checksums,
    and a record of the files it read (``sources``, written to the JSON sidecar)."""

    def __init__(self, name, checksums, source, cache_dir, verify):
        self.name, self.checksums = name, checksums
        self.source, self.cache_dir, self.verify = source, cache_dir, verify
        self.sources = []

    def __call__(self, filename, urls):
        """Decompressed, verified content of ``filename`` and its file name."""
        raw, info = read_source(self.name, filename, self.checksums[filename], self.source,
                                urls, self.cache_dir, self.verify)
        self.sources.append(info)
        return raw, info["file"]


def convert_with(name, out_dir, build, settings, checksums, source, verify, force, log,
                 originals=None):
    """Shared driver: skip if up to date, else ``build(fetch) -> arrays`` and write.

    ``checksums`` maps each original file name to the sha256 of its (decompressed)
    content, as published. ``originals``: the dataset whose original files these are
    (their folder under ``source`` and the download cache), default ``name``."""
    out_dir = out_dir or default_data_dir()
    nd_path = os.path.join(out_dir, name + ".nd")
    json_path = os.path.join(out_dir, name + ".json")
    expected = dict(settings, converter_version=CONVERTER_VERSION, dataset=name,
                    expected_sources=checksums)
    stale = "forced" if force else _stale_reason(nd_path, json_path, expected)
    if stale is None:
        log("%s is up to date: %s" % (name, nd_path))
        return nd_path
    if stale not in ("missing", "forced"):
        log("%s: %s; converting again" % (nd_path, stale))
    _remove_stale_tmp(out_dir, name)
    originals = originals or name
    fetch = Fetcher(originals, checksums, source, os.path.join(out_dir, "raw", originals),
                    verify)
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
    specs = meta.get("arrays") if isinstance(meta, dict) else None
    if not (isinstance(specs, dict) and all(
            isinstance(v, dict) and isinstance(v.get("shape"), list)
            and isinstance(v.get("dtype"), str) for v in specs.values())):
        raise DatasetError("%s: provenance file %s is not of the converter's form; convert "
                           "again (--force)" % (path, json_path))
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
    for key, spec in specs.items():
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
