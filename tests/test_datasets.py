"""Converters on the real files and on deliberately broken ones; the batch iterator."""
import functools
import gzip
import http.server
import json
import os
import shutil
import struct
import threading

import numpy as np
import pytest

from draw import datasets
from draw.datasets import mnist, store
from draw.errors import DatasetError

from .conftest import run_script

QUIET = dict(log=lambda *a: None)


# ----------------------------------------------------------------- real files

def test_binarized_mnist_real(data_dir):
    arrays, meta = datasets.load_dataset(os.path.join(data_dir, "binarized_mnist.nd"),
                                         require=("train_x", "val_x", "test_x"))
    for split, n in (("train_x", 50000), ("val_x", 10000), ("test_x", 10000)):
        a = arrays[split].asnumpy()
        assert a.shape == (n, 1, 28, 28) and a.dtype == np.uint8
        assert set(np.unique(a)) == {0, 1}
    # mean intensity of binarized MNIST is about 0.13
    assert 0.1 < arrays["train_x"].asnumpy().mean() < 0.16
    assert meta["checksum_verified"] and meta["converter_version"] == store.CONVERTER_VERSION
    assert {s["content_sha256"] for s in meta["sources"]} == \
        set(mnist.CHECKSUMS["binarized_mnist"].values())


def test_mnist_real_split_and_values(tmp_path, source_dir):
    path = datasets.convert_mnist(out_dir=str(tmp_path), source=source_dir, **QUIET)
    arrays, meta = datasets.load_dataset(path)
    shapes = {k: v.shape for k, v in arrays.items()}
    assert shapes == {"train_x": (50000, 1, 28, 28), "train_y": (50000,),
                      "val_x": (10000, 1, 28, 28), "val_y": (10000,),
                      "test_x": (10000, 1, 28, 28), "test_y": (10000,)}
    x = arrays["train_x"].asnumpy()
    assert x.dtype == np.float32 and x.min() == 0 and x.max() == 1
    assert sorted(np.unique(arrays["test_y"].asnumpy())) == list(range(10))
    # validation = the last 10,000 training images of the IDX file
    with gzip.open(os.path.join(source_dir, "mnist", "train-images-idx3-ubyte.gz")) as f:
        raw = f.read()
    idx = np.frombuffer(raw, np.uint8, offset=16).reshape(60000, 28, 28)
    np.testing.assert_allclose(arrays["val_x"].asnumpy()[0, 0] * 255, idx[50000], atol=1e-3)
    np.testing.assert_allclose(x[-1, 0] * 255, idx[49999], atol=1e-3)
    assert meta["split"]["val"] == "last 10000 of train"
    # up to date: a second call does not rewrite
    mtime = os.path.getmtime(path)
    messages = []
    assert datasets.convert_mnist(out_dir=str(tmp_path), source=source_dir,
                                  log=messages.append) == path
    assert os.path.getmtime(path) == mtime and "up to date" in messages[0]
    assert not [f for f in os.listdir(tmp_path) if ".tmp" in f]


def test_download_path_verifies_checksums(tmp_path, source_dir, monkeypatch):
    """No local source: files are fetched from the URL list (here a loopback server
    serving the real files) and verified."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                                directory=os.path.join(source_dir, "binarized_mnist"))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setattr(mnist, "BINARIZED_MNIST_URLS",
                            ("http://127.0.0.1:9/nothing/",  # refused: falls through
                             "http://127.0.0.1:%d/" % server.server_address[1]))
        path = datasets.convert_binarized_mnist(out_dir=str(tmp_path), source=None, **QUIET)
    finally:
        server.shutdown()
    _, meta = datasets.load_dataset(path)
    assert {s["origin"] for s in meta["sources"]} == {"download"}
    assert sorted(os.listdir(tmp_path / "raw" / "binarized_mnist")) == [
        "binarized_mnist_test.amat.gz", "binarized_mnist_train.amat.gz",
        "binarized_mnist_valid.amat.gz"]


def test_download_failure_is_clear(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist, "MNIST_URLS", ("http://127.0.0.1:9/",))
    with pytest.raises(DatasetError, match="download failed.*--source"):
        datasets.convert_mnist(out_dir=str(tmp_path), source=None, **QUIET)
    assert not os.path.exists(tmp_path / "mnist.nd")


# ----------------------------------------------------------------- broken inputs

def _idx(magic, dims, data=None):
    body = bytes(int(np.prod(dims))) if data is None else data
    return struct.pack(">I", magic) + struct.pack(">" + "I" * len(dims), *dims) + body


def _write_gz(path, raw):
    with gzip.open(path, "wb") as f:
        f.write(raw)


def _fake_mnist(folder, n=5, images_magic=2051, dims=(28, 28)):
    os.makedirs(folder, exist_ok=True)
    for prefix in ("train", "t10k"):
        _write_gz(os.path.join(folder, prefix + "-images-idx3-ubyte.gz"),
                  _idx(images_magic, (n,) + dims))
        _write_gz(os.path.join(folder, prefix + "-labels-idx1-ubyte.gz"), _idx(2049, (n,)))


def _fake_amat(folder, line=None, rows=3):
    os.makedirs(folder, exist_ok=True)
    good = " ".join(["0", "1"] * 392) + "\n"
    for split in ("train", "valid", "test"):
        lines = [good] * rows
        if line is not None and split == "train":
            lines[1] = line
        with open(os.path.join(folder, "binarized_mnist_%s.amat" % split), "w") as f:
            f.writelines(lines)


CASES = {
    "missing file": ("mnist", lambda d: os.makedirs(d), [], "missing file"),
    "checksum mismatch": ("mnist", lambda d: _fake_mnist(d), [], "checksum mismatch"),
    "truncated gzip": ("mnist", lambda d: (_fake_mnist(d), _truncate(
        os.path.join(d, "train-images-idx3-ubyte.gz"))), ["--no-checksum"], "truncated or corrupt gzip"),
    "wrong IDX magic": ("mnist", lambda d: _fake_mnist(d, images_magic=2049 + 0x100),
                        ["--no-checksum"], "wrong IDX magic"),
    "wrong IDX dimensions": ("mnist", lambda d: _fake_mnist(d, dims=(27, 28)), ["--no-checksum"],
                             "wrong IDX dimensions"),
    "amat row length": ("binarized_mnist", lambda d: _fake_amat(d, "0 1 0\n"), ["--no-checksum"],
                        "line 2 has 3 values"),
    "amat value": ("binarized_mnist", lambda d: _fake_amat(d, " ".join(["0"] * 783 + ["2"]) + "\n"),
                   ["--no-checksum"], "line 2 has value '2'"),
    "amat checksum": ("binarized_mnist", lambda d: _fake_amat(d), [], "checksum mismatch"),
}


def _truncate(path):
    with open(path, "rb") as f:
        raw = f.read()
    with open(path, "wb") as f:
        f.write(raw[:len(raw) // 2])


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_library_error(tmp_path, case):
    name, make, flags, message = CASES[case]
    src = str(tmp_path / "src")
    make(src)
    with pytest.raises(DatasetError, match=message):
        datasets.CONVERTERS[name](out_dir=str(tmp_path / "out"), source=src,
                                  verify="--no-checksum" not in flags, **QUIET)
    assert not os.path.exists(tmp_path / "out") or not os.listdir(tmp_path / "out")


@pytest.mark.parametrize("case", ["missing file", "checksum mismatch", "truncated gzip",
                                  "wrong IDX magic", "amat value"])
def test_bad_input_cli_exit_2(tmp_path, case):
    name, make, flags, message = CASES[case]
    src = str(tmp_path / "src")
    make(src)
    out = tmp_path / "out"
    proc = run_script(["data/convert_%s.py" % name, "--source", src, "--out", str(out)] + flags)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert "Traceback" not in proc.stderr
    assert not out.exists() or not os.listdir(out)


def test_corrupt_converted_file_detected(tmp_path, data_dir):
    for f in ("binarized_mnist.nd", "binarized_mnist.json"):
        shutil.copy(os.path.join(data_dir, f), tmp_path / f)
    path = str(tmp_path / "binarized_mnist.nd")
    with open(path, "r+b") as f:
        f.truncate(1000)
    with pytest.raises(DatasetError, match="truncated or corrupt"):
        datasets.load_dataset(path)
    meta = json.load(open(tmp_path / "binarized_mnist.json"))
    meta["converter_version"] = 0
    json.dump(meta, open(tmp_path / "binarized_mnist.json", "w"))
    with pytest.raises(DatasetError, match="converter version"):
        datasets.load_dataset(path)
    with pytest.raises(DatasetError, match="missing dataset file"):
        datasets.load_dataset(str(tmp_path / "nope.nd"))
