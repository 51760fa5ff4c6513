"""Reading and trimming the mxboard event files of a run.

mxboard writes TensorBoard event files: a sequence of records, each
``uint64 length | uint32 masked crc(length) | Event protobuf | uint32 masked crc(data)``.

A run killed after its last checkpoint has logged steps that the resumed run will log
again. :func:`trim_events` removes them (and a half-written last record) before the
resumed run starts writing, so each tag holds one value per step. Only the trainers use
this module. It imports neither mxboard nor TensorBoard: their generated protobuf
modules cannot both be loaded in one process.
"""
import glob
import os
import struct

from .files import atomic_write

_HEADER = struct.Struct("<QI")
_FOOTER = struct.Struct("<I")


def event_files(logdir):
    """mxboard event files in ``logdir``, oldest first."""
    return sorted(glob.glob(os.path.join(logdir, "events.out.tfevents.*")))


def read_records(path):
    """The complete records of an event file, in order, as raw bytes (header, data, CRC).

    Reading stops at an incomplete record, or a last record whose checksum is wrong (a
    write cut short by a crash); returns ``(records, clean)`` where ``clean`` tells
    whether the whole file was read. Use :func:`record_body` for the data.
    """
    with open(path, "rb") as f:
        data = f.read()
    records, pos = [], 0
    while pos < len(data):
        if pos + _HEADER.size > len(data):
            return records, False
        length = _HEADER.unpack_from(data, pos)[0]
        end = pos + _HEADER.size + length + _FOOTER.size
        if end > len(data):
            return records, False
        record = data[pos:end]
        if end == len(data) and not _checksums_ok(record):
            return records, False
        records.append(record)
        pos = end
    return records, True


def record_body(record):
    """The serialized ``Event`` inside a raw record."""
    return record[_HEADER.size:-_FOOTER.size]


def _checksums_ok(record):
    crc = _HEADER.unpack_from(record, 0)[1]
    body = record_body(record)
    return (_masked_crc(record[:8]) == crc
            and _masked_crc(body) == _FOOTER.unpack_from(record, len(record) - 4)[0])


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _crc32c_table()


def _masked_crc(data):
    """TFRecord's masked CRC-32C (Castagnoli) of ``data``."""
    crc = 0xFFFFFFFF
    for b in data:
        crc = _CRC_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    crc ^= 0xFFFFFFFF
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


class Event:
    """The parts of a TensorBoard ``Event`` record the trainers need.

    Attributes
    ----------
    step : int
    wall_time : float
    values : list of (tag, simple_value or None)
        Summary values (None for images and histograms).
    """

    __slots__ = ("step", "wall_time", "values")

    def __init__(self, step=0, wall_time=0.0, values=()):
        self.step, self.wall_time, self.values = step, wall_time, list(values)

    @property
    def is_summary(self):
        return bool(self.values)


def _varint(data, pos):
    result = shift = 0
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _fields(data):
    """(field number, wire type, value) of a serialized protobuf message."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos:pos + length], pos + length
        elif wire == 5:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise ValueError("unsupported protobuf wire type %d" % wire)
        yield number, wire, value


def parse_event(body):
    """Decode an event record (``tensorboard.Event``: wall_time = 1, step = 2,
    summary = 5; ``Summary.Value``: tag = 1, simple_value = 2).

    Decoded by hand: importing mxboard's and TensorBoard's generated protobuf modules in
    one process conflicts (both define ``tensorboard.*`` messages).
    """
    event = Event()
    for number, wire, value in _fields(body):
        if number == 1 and wire == 1:
            event.wall_time = struct.unpack("<d", value)[0]
        elif number == 2 and wire == 0:
            event.step = value - (1 << 64) if value >= 1 << 63 else value
        elif number == 5 and wire == 2:
            for vnum, vwire, item in _fields(value):
                if vnum != 1 or vwire != 2:
                    continue
                tag, simple = None, None
                for inum, iwire, field in _fields(item):
                    if inum == 1 and iwire == 2:
                        tag = field.decode("utf-8")
                    elif inum == 2 and iwire == 5:
                        simple = struct.unpack("<f", field)[0]
                event.values.append((tag, simple))
    return event


def read_events(logdir):
    """All events of a run (every event file in ``logdir``, in order), as :class:`Event`."""
    return [parse_event(record_body(r)) for path in event_files(logdir)
            for r in read_records(path)[0]]


def scalars(logdir, tag):
    """``(step, value)`` of scalar ``tag`` in file order (duplicates kept)."""
    return [(e.step, v) for e in read_events(logdir) for t, v in e.values if t == tag]


def trim_events(logdir, step):
    """Drop events logged after global step ``step`` and a half-written last record.

    Returns the number of records removed. Files are rewritten atomically (kept records
    are copied byte for byte); a file left with no summary at all is removed.
    """
    removed = 0
    for path in event_files(logdir):
        records, clean = read_records(path)
        events = [parse_event(record_body(r)) for r in records]
        keep = [r for r, e in zip(records, events) if not (e.is_summary and e.step > step)]
        if len(keep) == len(records) and clean:
            continue
        removed += len(records) - len(keep) + (0 if clean else 1)
        if not any(e.is_summary and e.step <= step for e in events):
            os.remove(path)
            continue

        def write(tmp, keep=keep):
            with open(tmp, "wb") as f:
                f.write(b"".join(keep))
        atomic_write(path, write)
    return removed
