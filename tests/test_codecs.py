"""JPEG and JPEG2000 through Pillow (draw/codecs.py): real encoded sizes, the payload
without headers, decoding back, bad input."""
import os

import numpy as np
import pytest

from draw import codecs


def _digits(n, seed=0):
    rs = np.random.RandomState(seed)
    images = np.zeros((n, 28, 28))
    for i in range(n):  # a few strokes
        for _ in range(4):
            y, x = rs.randint(4, 24, size=2)
            images[i, y - 3:y + 3, x - 1:x + 1] = 1.0
    return images


@pytest.mark.parametrize("codec, settings", [("jpeg", (95, 50, 10)),
                                             ("jpeg2000", (2, 10, 40))])
def test_sizes_are_real_files_and_payload_is_less(tmp_path, codec, settings):
    images = _digits(3)
    headers = {}
    for setting in settings:
        for i, image in enumerate(images):
            data, decoded = codecs.encode(image, codec, setting)
            path = tmp_path / ("%s_%s_%d" % (codec, setting, i))
            path.write_bytes(data)
            assert os.path.getsize(str(path)) == len(data)  # the size is the file's
            payload = codecs.payload_bytes(data, codec)
            assert 0 < payload < len(data)
            headers.setdefault(setting, set()).add(len(data) - payload)
            assert decoded.shape == image.shape and 0 <= decoded.min() <= decoded.max() <= 1
    if codec == "jpeg":  # the tables do not depend on the image at one quality
        assert all(len(h) == 1 for h in headers.values())


@pytest.mark.parametrize("codec, lossless_enough", [("jpeg", 95), ("jpeg2000", 1.5)])
def test_more_bits_less_distortion(codec, lossless_enough):
    image = _digits(1, seed=3)[0]
    sweep = (10, 50, lossless_enough) if codec == "jpeg" else (40, 8, lossless_enough)
    results = [codecs.encode(image, codec, s) for s in sweep]
    sizes = [codecs.payload_bytes(d, codec) for d, _ in results]
    errors = [float(((dec - image) ** 2).mean()) for _, dec in results]
    assert sizes == sorted(sizes) and errors == sorted(errors, reverse=True)
    assert errors[-1] < 0.01


def test_bad_input():
    with pytest.raises(ValueError, match="unknown codec 'png'"):
        codecs.encode(np.zeros((8, 8)), "png", 1)
    with pytest.raises(ValueError, match="not a JPEG file"):
        codecs.payload_bytes(b"GIF89a", "jpeg")
    data, _ = codecs.encode(np.zeros((8, 8)), "jpeg", 50)
    with pytest.raises(ValueError, match="truncated JPEG"):
        codecs.payload_bytes(data[:-2], "jpeg")
    data, _ = codecs.encode(np.zeros((8, 8)), "jpeg2000", 5)
    with pytest.raises(ValueError, match="not a JPEG2000 codestream"):
        codecs.payload_bytes(data[1:], "jpeg2000")


def _with_comment(data, codec, text):
    """The encoded image with a comment segment in its main header (JPEG: after the
    start-of-image marker; JPEG2000: after SIZ, which must follow SOC)."""
    if codec == "jpeg":
        at, segment = 2, b"\xff\xfe" + (2 + len(text)).to_bytes(2, "big") + text
    else:
        at = 4 + int.from_bytes(data[4:6], "big")
        segment = b"\xff\x64" + (4 + len(text)).to_bytes(2, "big") + b"\x00\x00" + text
    return data[:at] + segment + data[at:]


@pytest.mark.parametrize("codec, setting", [("jpeg", 50), ("jpeg2000", 10)])
def test_payload_ignores_marker_bytes_inside_header_segments(codec, setting):
    # the parameters of a header segment may hold any bytes, markers' included
    data, _ = codecs.encode(_digits(1)[0], codec, setting)
    tricky = _with_comment(data, codec, b"\xff\x90\x00\x0a\xff\x93\xff\xda\xff\xd9")
    assert len(tricky) > len(data)
    assert codecs.payload_bytes(tricky, codec) == codecs.payload_bytes(data, codec)
