"""Files written whole or not at all, and JSON."""
import json
import os


def atomic_write(path, write):
    """Call ``write(tmp_path)`` then rename ``tmp_path`` to ``path``."""
    tmp = "%s.tmp-%d" % (path, os.getpid())
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_json(path, obj):
    """Atomically write ``obj`` as indented JSON."""
    def write(tmp):
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=2, sort_keys=True)
            f.write("\n")
    atomic_write(path, write)


def read_json(path):
    with open(path) as f:
        return json.load(f)
