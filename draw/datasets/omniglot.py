"""Omniglot (Lake et al. 2015) -> ``omniglot.nd``: 28x28 images with alphabet, character
and drawer ids, split by drawers (default) or by alphabets.

Inputs are the official ``images_background.zip`` (30 alphabets, 964 characters, 19,280
PNGs) and ``images_evaluation.zip`` (20 alphabets, 659 characters, 13,180 PNGs), members
``images_<set>/<Alphabet>/characterNN/XXXX_YY.png`` (105x105, 1 bit; XXXX = character
number, YY = drawer 01-20). Downloads are checked against the upstream zips' sha256. Local
copies may be re-zipped, so their bytes are not compared; instead the structure is
validated: member counts, names, and every PNG decodes at 105x105.

Processing: ink = 1 (the PNGs are black ink on white), resized to 28x28 with area
averaging (PIL's BOX filter, an anti-aliasing downscale), stored as grey float32 in
[0, 1] (``<split>_x``) and binarized at 0.5 (``<split>_bin``, uint8).

Splits:

* ``drawers`` (default): all 50 alphabets; for every character 14 of the 20 drawers are
  drawn for training and 6 for test with a fixed seed (22,722 / 9,738 images).
* ``alphabets``: background set for training, evaluation set for test (Lake et al.).
"""
import hashlib
import io
import re
import zipfile

import numpy as np
from PIL import Image

from ..config import OMNIGLOT_SPLITS
from ..errors import DatasetError
from .store import convert_with, download, find_local

URLS = ("https://github.com/brendenlake/omniglot/raw/master/python/",)
SETS = ("images_background", "images_evaluation")
#: sha256 of the upstream zip files (downloads must match; local copies are validated by
#: structure).
ZIP_SHA256 = {
    "images_background.zip": "ad41ab679c8b5d90b271ef46be6987cc81211774a695c29dcc5367b2b26ee640",
    "images_evaluation.zip": "1f61a8f3366785b057fc117d9228e78a16e3d976c8953b2a10fcc74cf0609cee",
}
#: set -> (alphabets, characters, images)
EXPECTED_COUNTS = {"images_background": (30, 964, 19280),
                   "images_evaluation": (20, 659, 13180)}
SPLITS = OMNIGLOT_SPLITS
TRAIN_DRAWERS = 14
IMAGE_SIZE = 28
_MEMBER = re.compile(r"^(images_background|images_evaluation)/([^/]+)/character(\d\d)/"
                     r"(\d{4})_(\d\d)\.png$")


def read_zip(path, set_name):
    """Validate one Omniglot zip and return its drawings.

    Returns
    -------
    list of (alphabet, character_number_in_alphabet, drawer, png_bytes), sorted by name.

    Raises
    ------
    DatasetError
        Corrupt zip, unexpected member layout or counts, PNG that does not decode at
        105x105 (the message names the zip and member).
    """
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise DatasetError("%s: corrupt zip file (%s)" % (path, e)) from None
    items = []
    with zf:
        for info in sorted(zf.infolist(), key=lambda i: i.filename):
            name = info.filename
            if name.endswith("/"):
                if not name.startswith(set_name + "/"):
                    raise DatasetError("%s: unexpected member %s (expected everything under "
                                       "%s/)" % (path, name, set_name))
                continue
            m = _MEMBER.match(name)
            if not m or m.group(1) != set_name:
                raise DatasetError("%s: unexpected member %s (expected %s/<Alphabet>/"
                                   "characterNN/XXXX_YY.png)" % (path, name, set_name))
            drawer = int(m.group(5))
            if not 1 <= drawer <= 20:
                raise DatasetError("%s: member %s has drawer %d, expected 01-20"
                                   % (path, name, drawer))
            try:
                data = zf.read(info)
            except (zipfile.BadZipFile, OSError, EOFError) as e:
                raise DatasetError("%s: corrupt member %s (%s)" % (path, name, e)) from None
            items.append((m.group(2), int(m.group(3)), drawer, data, name))
    alphabets = {a for a, _, _, _, _ in items}
    characters = {(a, c) for a, c, _, _, _ in items}
    counts = (len(alphabets), len(characters), len(items))
    if counts != EXPECTED_COUNTS[set_name]:
        raise DatasetError("%s: %d alphabets, %d characters, %d images; expected %d, %d, %d"
                           % ((path,) + counts + EXPECTED_COUNTS[set_name]))
    return items


def decode(png, where):
    """PNG bytes -> ink image (105, 105) float32, ink = 1."""
    try:
        img = Image.open(io.BytesIO(png))
        img.load()
    except Exception as e:  # PIL raises many types for broken files
        raise DatasetError("%s: PNG does not decode (%s)" % (where, e)) from None
    if img.size != (105, 105):
        raise DatasetError("%s: image is %dx%d, expected 105x105" % ((where,) + img.size))
    return 1.0 - np.asarray(img.convert("L"), dtype=np.float32) / 255.0


def resize(ink, size=IMAGE_SIZE):
    """Area-average an ink image down to ``size`` x ``size`` (values stay in [0, 1])."""
    out = Image.fromarray(ink.astype(np.float32), mode="F").resize((size, size), Image.BOX)
    return np.clip(np.asarray(out, dtype=np.float32), 0.0, 1.0)


def drawer_split(character_ids, drawers, seed=0, train_drawers=TRAIN_DRAWERS):
    """Boolean train mask: per character, ``train_drawers`` of its drawers, chosen with a
    permutation from ``seed`` (characters taken in sorted order, so it is reproducible)."""
    rs = np.random.RandomState(seed)
    train = np.zeros(len(character_ids), dtype=bool)
    for cid in np.unique(character_ids):
        idx = np.flatnonzero(character_ids == cid)
        chosen = rs.permutation(np.unique(drawers[idx]))[:train_drawers]
        train[idx] = np.isin(drawers[idx], chosen)
    return train


def convert_omniglot(out_dir=None, source=None, split="drawers", seed=0, verify=True,
                     force=False, log=print):
    """Omniglot zips -> ``omniglot.nd`` (split ``drawers``) or ``omniglot_alphabets.nd``
    (see the module docstring). Returns the path.

    Arrays: ``train_x``/``test_x`` float32 (N, 1, 28, 28) grey ink, ``train_bin``/
    ``test_bin`` uint8 0/1, ``*_alphabet``, ``*_character`` (global ids over the 50
    alphabets, in sorted order), ``*_drawer`` (1-20), all int32. (No separate
    validation split: the trainers validate on ``test_*``.)
    """
    if split not in SPLITS:
        raise DatasetError("unknown Omniglot split %r; choose one of %s"
                           % (split, ", ".join(SPLITS)))

    def build(fetch):
        records = []
        for set_name in SETS:
            filename = set_name + ".zip"
            if fetch.source:
                path = find_local(fetch.source, "omniglot", (filename,))
            else:
                path = download(URLS, (filename,), fetch.cache_dir)
            with open(path, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            exact = digest == ZIP_SHA256[filename]
            if fetch.verify and not fetch.source and not exact:
                raise DatasetError("%s: checksum mismatch: sha256 %s, expected %s"
                                   % (path, digest, ZIP_SHA256[filename]))
            items = read_zip(path, set_name)
            fetch.sources.append({"file": filename, "zip_sha256": digest,
                                  "identical_to_upstream": exact,
                                  "origin": "local" if fetch.source else "download",
                                  "validated": "structure (%d alphabets, %d characters, "
                                               "%d PNGs at 105x105)" % EXPECTED_COUNTS[set_name]})
            records += [(set_name,) + item for item in items]
        alphabet_names = sorted({(s, a) for s, a, _, _, _, _ in records})
        alphabet_id = {k: i for i, k in enumerate(alphabet_names)}
        char_names = sorted({(s, a, c) for s, a, c, _, _, _ in records})
        char_id = {k: i for i, k in enumerate(char_names)}
        n = len(records)
        grey = np.empty((n, 1, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
        alph = np.empty(n, dtype=np.int32)
        char = np.empty(n, dtype=np.int32)
        drawer = np.empty(n, dtype=np.int32)
        in_background = np.empty(n, dtype=bool)
        for i, (s, a, c, d, png, name) in enumerate(records):
            grey[i, 0] = resize(decode(png, "%s.zip: %s" % (s, name)))
            alph[i], char[i], drawer[i] = alphabet_id[(s, a)], char_id[(s, a, c)], d
            in_background[i] = s == "images_background"
        train = drawer_split(char, drawer, seed) if split == "drawers" else in_background
        out = {}
        for part, mask in (("train", train), ("test", ~train)):
            out[part + "_x"] = grey[mask]
            out[part + "_bin"] = (grey[mask] >= 0.5).astype(np.uint8)
            out[part + "_alphabet"] = alph[mask]
            out[part + "_character"] = char[mask]
            out[part + "_drawer"] = drawer[mask]
        return out

    settings = {"split": {"name": split, "seed": seed, "train_drawers": TRAIN_DRAWERS
                          if split == "drawers" else None, "image_size": IMAGE_SIZE,
                          "binarize_threshold": 0.5, "resize": "PIL BOX (area average)"}}
    name = "omniglot" if split == "drawers" else "omniglot_" + split
    return convert_with(name, out_dir, build, settings, ZIP_SHA256, source, verify, force, log)


def convert_omniglot_alphabets(**kwargs):
    """Omniglot with Lake et al.'s split (background alphabets / evaluation alphabets)."""
    return convert_omniglot(split="alphabets", **kwargs)
