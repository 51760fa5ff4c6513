"""The Omniglot converter on the real zips and on broken synthetic ones."""
import io
import os
import zipfile

import numpy as np
import pytest
from PIL import Image

from draw import datasets
from draw.datasets import omniglot
from draw.errors import DatasetError

from .conftest import run_script

QUIET = dict(log=lambda *a: None)


@pytest.fixture(scope="module")
def converted(omniglot_data_dir):
    return omniglot_data_dir, os.path.join(omniglot_data_dir, "omniglot.nd")


def test_real_zips_counts_shapes_values(converted):
    _, path = converted
    arrays, meta = datasets.load_dataset(path)
    a = {k: v.asnumpy() for k, v in arrays.items()}
    assert a["train_x"].shape == (22722, 1, 28, 28) and a["test_x"].shape == (9738, 1, 28, 28)
    assert a["train_x"].dtype == np.float32 and a["train_bin"].dtype == np.uint8
    assert a["train_x"].min() == 0 and a["train_x"].max() == 1
    assert set(np.unique(a["test_bin"])) == {0, 1}
    np.testing.assert_array_equal(a["train_bin"], a["train_x"] >= 0.5)
    assert 0.03 < a["train_x"].mean() < 0.15  # ink is the minority: ink = 1
    chars = np.concatenate([a["train_character"], a["test_character"]])
    alphabets = np.concatenate([a["train_alphabet"], a["test_alphabet"]])
    assert len(np.unique(chars)) == 1623 and len(np.unique(alphabets)) == 50
    # drawers split: every character has 14 training and 6 test drawings, disjoint drawers
    assert (np.bincount(a["train_character"]) == 14).all()
    assert (np.bincount(a["test_character"]) == 6).all()
    for cid in (0, 500, 1622):
        train_d = set(a["train_drawer"][a["train_character"] == cid])
        test_d = set(a["test_drawer"][a["test_character"] == cid])
        assert not train_d & test_d and len(train_d | test_d) == 20
    assert meta["split"]["name"] == "drawers" and meta["split"]["seed"] == 0
    assert all(not s["identical_to_upstream"] for s in meta["sources"])  # re-zipped copies


def test_split_is_deterministic_and_seeded():
    chars = np.repeat(np.arange(5), 20)
    drawers = np.tile(np.arange(1, 21), 5)
    a = omniglot.drawer_split(chars, drawers, seed=0)
    np.testing.assert_array_equal(a, omniglot.drawer_split(chars, drawers, seed=0))
    assert not np.array_equal(a, omniglot.drawer_split(chars, drawers, seed=1))
    assert a.sum() == 5 * 14


def test_alphabets_split(tmp_path, source_dir):
    path = datasets.convert_omniglot(out_dir=str(tmp_path), source=source_dir,
                                     split="alphabets", **QUIET)
    assert os.path.basename(path) == "omniglot_alphabets.nd"
    arrays, meta = datasets.load_dataset(path)
    assert arrays["train_x"].shape[0] == 19280 and arrays["test_x"].shape[0] == 13180
    assert len(np.unique(arrays["train_alphabet"].asnumpy())) == 30
    assert meta["split"]["name"] == "alphabets"


def test_resize_keeps_ink_mass():
    ink = np.zeros((105, 105), np.float32)
    ink[30:75, 50:55] = 1  # a vertical stroke
    small = omniglot.resize(ink)
    assert small.shape == (28, 28) and 0 <= small.min() and small.max() <= 1
    # PIL's BOX filter on a non-integer ratio (3.75) preserves the ink mass only roughly
    np.testing.assert_allclose(small.sum() * (105 / 28) ** 2, ink.sum(), rtol=0.1)


# --------------------------------------------------------------- broken zips

def _png(size=(105, 105)):
    buf = io.BytesIO()
    Image.new("1", size, 1).save(buf, format="PNG")
    return buf.getvalue()


def _zip(path, set_name, members):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(set_name + "/", b"")
        for name, data in members:
            zf.writestr(name, data)


def _tiny(folder, background_members=None):
    """Zips with a valid layout but far too few images (so counts fail unless another
    problem is found first)."""
    os.makedirs(folder, exist_ok=True)
    good = [("images_background/Latin/character01/0001_%02d.png" % d, _png()) for d in (1, 2)]
    _zip(os.path.join(folder, "images_background.zip"), "images_background",
         background_members if background_members is not None else good)
    _zip(os.path.join(folder, "images_evaluation.zip"), "images_evaluation",
         [("images_evaluation/Greek/character01/0002_01.png", _png())])


BROKEN = {
    "missing zip": (lambda d: os.makedirs(d), "missing file"),
    "corrupt zip": (lambda d: (_tiny(d), open(os.path.join(d, "images_background.zip"),
                                              "wb").write(b"PK\x03\x04 not a zip")),
                    "corrupt zip"),
    "unexpected member": (lambda d: _tiny(d, [("images_background/readme.txt", b"hi")]),
                          "unexpected member"),
    "undecodable png": (lambda d: _tiny(d, [("images_background/Latin/character01/0001_01.png",
                                             b"\x89PNG\r\n\x1a\nbroken")]),
                        "PNG does not decode"),
    "wrong png size": (lambda d: _tiny(d, [("images_background/Latin/character01/0001_01.png",
                                            _png((50, 50)))]), "expected 105x105"),
    "counts": (lambda d: _tiny(d), "expected 30, 964, 19280"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_inputs(tmp_path, case):
    make, message = BROKEN[case]
    src = str(tmp_path / "src")
    make(src)
    out = tmp_path / "out"
    if case in ("undecodable png", "wrong png size"):
        # structure is checked before decoding: decode the bad member directly
        with zipfile.ZipFile(os.path.join(src, "images_background.zip")) as zf:
            name = [n for n in zf.namelist() if n.endswith(".png")][0]
            with pytest.raises(DatasetError, match=message):
                omniglot.decode(zf.read(name), name)
        return
    with pytest.raises(DatasetError, match=message):
        datasets.convert_omniglot(out_dir=str(out), source=src, **QUIET)
    assert not out.exists() or not [f for f in os.listdir(out) if f.endswith((".nd", ".json"))]


@pytest.mark.parametrize("case", ["corrupt zip", "unexpected member", "missing zip"])
def test_broken_inputs_cli(tmp_path, case):
    make, message = BROKEN[case]
    src = str(tmp_path / "src")
    make(src)
    out = tmp_path / "out"
    proc = run_script(["data/convert_omniglot.py", "--source", src, "--out", str(out)])
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not out.exists() or not [f for f in os.listdir(out) if f.endswith((".nd", ".json"))]


def test_download_must_match_upstream_bytes(tmp_path, source_dir, monkeypatch):
    """Downloaded zips are checked byte for byte; the re-zipped local copies served over
    loopback therefore fail with a checksum error (and nothing is written)."""
    import functools
    import http.server
    import threading
    handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                                directory=os.path.join(source_dir, "omniglot"))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setattr(omniglot, "URLS", ("http://127.0.0.1:%d/" % server.server_address[1],))
        with pytest.raises(DatasetError, match="checksum mismatch"):
            datasets.convert_omniglot(out_dir=str(tmp_path), source=None, **QUIET)
    finally:
        server.shutdown()
    assert not (tmp_path / "omniglot.nd").exists()
