"""Classical lossy codecs for the compression comparison (the ConvDRAW paper's
lossy-compression figure): JPEG and JPEG2000 through Pillow, with their real encoded
sizes, and the share of those bytes that are headers.

At 28x28 the headers dominate a JPEG file (its quantisation and Huffman tables alone are
about 600 bytes), so sizes are reported both ways: the whole file, and the payload, the
entropy-coded data (JPEG: the bytes after the start-of-scan header up to the end-of-image
marker; JPEG2000: each tile-part's data after its start-of-data marker, in a raw
codestream without the JP2 box wrapper).
"""
import io

import numpy as np
from PIL import Image

#: the codecs and the setting their sweep varies: JPEG's quality (1-95) and JPEG2000's
#: compression ratio (raw bytes / coded bytes, Pillow's ``quality_mode="rates"``)
CODECS = ("jpeg", "jpeg2000")


def encode(image, codec, setting):
    """Encode ``image`` and decode it again.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, 3), values in [0, 1]
        Quantised to 8 bits first (the codecs' input).
    codec : str
        ``"jpeg"`` (``setting``: quality 1-95) or ``"jpeg2000"`` (``setting``: the
        compression ratio, > 1).

    Returns
    -------
    data : bytes
        The encoded file (JPEG) or raw codestream (JPEG2000).
    decoded : ndarray of float32, the shape of ``image``, values in [0, 1]
    """
    pixels = np.clip(np.round(np.asarray(image, dtype=np.float64) * 255), 0, 255)
    picture = Image.fromarray(pixels.astype(np.uint8))
    out = io.BytesIO()
    if codec == "jpeg":
        picture.save(out, format="JPEG", quality=int(setting), subsampling=0)
    elif codec == "jpeg2000":
        picture.save(out, format="JPEG2000", quality_mode="rates",
                     quality_layers=[float(setting)], irreversible=True, no_jp2=True)
    else:
        raise ValueError("unknown codec %r (known: %s)" % (codec, ", ".join(CODECS)))
    data = out.getvalue()
    decoded = np.asarray(Image.open(io.BytesIO(data)), dtype=np.float32) / 255.0
    return data, decoded.reshape(np.shape(image))


def payload_bytes(data, codec):
    """The entropy-coded bytes of an encoded image (the file without its headers)."""
    if codec == "jpeg":
        return _jpeg_payload(data)
    if codec == "jpeg2000":
        return _j2k_payload(data)
    raise ValueError("unknown codec %r (known: %s)" % (codec, ", ".join(CODECS)))


def _jpeg_payload(data):
    """Bytes between the end of the (last) start-of-scan header and the end-of-image
    marker. Markers: FFD8 start of image; FFxx with a 2-byte length for the segments;
    FFDA start of scan, after whose header the entropy-coded data run to FFD9."""
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG file (no start-of-image marker)")
    pos, payload = 2, 0
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise ValueError("bad JPEG marker at byte %d" % pos)
        marker = data[pos + 1]
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        pos += 2 + length
        if marker == 0xDA:  # start of scan: data until the next marker that is not
            start = pos     # a stuffed byte (FF00) or a restart marker (FFD0-FFD7)
            while pos + 1 < len(data) and not (
                    data[pos] == 0xFF and data[pos + 1] not in (0x00,)
                    and not 0xD0 <= data[pos + 1] <= 0xD7):
                pos += 1
            payload += pos - start
            if data[pos:pos + 2] == b"\xff\xd9":
                return payload
    raise ValueError("truncated JPEG file (no end-of-image marker)")


def _j2k_payload(data):
    """Sum over tile-parts of the bytes after the start-of-data marker (FF93). A tile-part
    starts with SOT (FF90: length 10, tile index, Psot = the tile-part's length from the
    SOT marker on, ...); the main header, everything before the first SOT, is read segment
    by segment (a segment's parameters may hold the bytes FF90)."""
    if data[:2] != b"\xff\x4f":
        raise ValueError("not a JPEG2000 codestream (no SOC marker)")
    pos = 2  # the main header's marker segments (FFxx, 2-byte length) up to the first SOT
    while pos + 4 <= len(data) and data[pos] == 0xFF and data[pos + 1] != 0x90:
        pos += 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
    payload = 0
    while data[pos:pos + 2] == b"\xff\x90":
        psot = int.from_bytes(data[pos + 6:pos + 10], "big")
        end = pos + psot if psot else len(data) - 2  # Psot 0: up to the EOC marker
        sod = data.find(b"\xff\x93", pos, end)
        if sod == -1:
            raise ValueError("JPEG2000 tile-part without a start-of-data marker")
        payload += end - (sod + 2)
        pos = end
    if data[pos:pos + 2] != b"\xff\xd9":
        raise ValueError("truncated JPEG2000 codestream (no EOC marker)")
    return payload
