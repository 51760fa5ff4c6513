"""Package-level behaviour: import without MXNet, runtime defaults."""
import subprocess
import sys

from .conftest import ROOT


def _python(code, env=None):
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_import_without_mxnet_names_the_extra():
    proc = _python("import sys; sys.modules['mxnet'] = None; import draw")
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: draw needs MXNet 1.9.1") and "'.[cpu]'" in last \
        and "'.[gpu]'" in last


def test_thread_count_chosen_before_mxnet_starts():
    import os
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    proc = _python("import os, draw; from draw import _runtime; "
                   "print(os.environ['OMP_NUM_THREADS'], _runtime.available_cores())", env=env)
    assert proc.returncode == 0, proc.stderr
    threads, cores = proc.stdout.split()
    assert threads == cores
    env["OMP_NUM_THREADS"] = "1"
    proc = _python("import os, draw; print(os.environ['OMP_NUM_THREADS'])", env=env)
    assert proc.stdout.split() == ["1"]  # the user's choice wins
