"""Files written whole or not at all, and JSON."""
import contextlib
import hashlib
import json
import math
import os

from .errors import UsageError


def atomic_write(path, write):
    """Call ``write(tmp_path)`` then rename ``tmp_path`` to ``path``."""
    tmp = "%s.tmp-%d" % (path, os.getpid())
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def dump_json(path, obj):
    """Write ``obj`` to ``path`` as indented JSON with sorted keys (strict: NaN or
    infinity is an error, never the invalid bare ``NaN``); not atomic by itself."""
    with open(path, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True, allow_nan=False)
        f.write("\n")


def write_json(path, obj):
    """Atomically write ``obj`` as :func:`dump_json` does."""
    atomic_write(path, lambda tmp: dump_json(tmp, obj))


def read_json(path):
    with open(path) as f:
        return json.load(f)


def without_nonfinite(values):
    """``(copy of the dict with every NaN or infinite float replaced by None, the keys
    replaced)``: what strict JSON can hold of a diverged result."""
    bad = [k for k, v in values.items() if isinstance(v, float) and not math.isfinite(v)]
    return dict(values, **{k: None for k in bad}), bad


def sha256_file(path):
    """Hex sha256 of a file, read in 1 MB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def writable_dir(path, what):
    """Check, creating nothing, that ``path`` is or can become a writable directory;
    :class:`UsageError` ``"<what> <path>: cannot write there (<reason>)"`` if not."""
    existing = path
    while not os.path.exists(existing):
        existing = os.path.dirname(os.path.abspath(existing))
    if not os.path.isdir(existing):
        reason = "not a directory"
    elif not os.access(existing, os.W_OK | os.X_OK):
        reason = "permission denied"
    else:
        return
    raise UsageError("%s %s: cannot write there (%s)" % (what, path, reason))


@contextlib.contextmanager
def output_dir(path, what):
    """The one rule for where a tool writes: ``path`` is checked (:func:`writable_dir`)
    and created before the work; if the block fails, a directory it created is removed
    again when it is still empty, so a failed tool leaves nothing behind. Temporary
    files are the writers' own business (:func:`atomic_write` removes them)."""
    writable_dir(path, what)
    created = []
    missing = os.path.abspath(path)
    while not os.path.exists(missing):
        created.append(missing)
        missing = os.path.dirname(missing)
    os.makedirs(path, exist_ok=True)
    try:
        yield path
    except BaseException:
        for folder in created:  # innermost first
            try:
                os.rmdir(folder)
            except OSError:
                break
        raise
