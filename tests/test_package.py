"""Package-level behaviour: import without MXNet, runtime defaults."""
import subprocess
import sys

from .conftest import ROOT


def _python(code, env=None):
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_import_has_no_side_effects():
    """Importing the package neither loads MXNet nor changes the environment."""
    proc = _python("import os, sys; before = dict(os.environ); import draw, draw.cli, "
                   "draw.config, draw.errors, draw.runtime; "
                   "assert 'mxnet' not in sys.modules, 'mxnet imported'; "
                   "assert dict(os.environ) == before, 'environment changed'; "
                   "print(draw.__version__)")
    assert proc.returncode == 0, proc.stderr
    assert "get_model" in dir(__import__("draw"))


def test_setup_without_mxnet_names_the_extra():
    proc = _python("import sys; sys.modules['mxnet'] = None; from draw import runtime; "
                   "runtime.setup()")
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: draw needs MXNet 1.9.1") and "'.[cpu]'" in last \
        and "'.[gpu]'" in last
    # the command-line tools say it in one line
    proc = subprocess.run([sys.executable, "-c", "import sys; sys.modules['mxnet'] = None; "
                           "sys.argv[1:] = ['--help']; from draw.cli import main; "
                           "main(lambda: None)"], cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    assert proc.returncode == 2 and proc.stderr.startswith("error: draw needs MXNet 1.9.1")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_thread_count_chosen_by_setup_before_mxnet_starts():
    import os
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    proc = _python("import os, sys; from draw import runtime; note = runtime.setup(); "
                   "print(os.environ['OMP_NUM_THREADS'], runtime.available_cores()); "
                   "print(note)", env=env)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    threads, cores = lines[0].split()
    assert threads == cores and lines[1].startswith("OpenMP threads: %s (chosen" % cores)
    env["OMP_NUM_THREADS"] = "1"
    proc = _python("import os; from draw import runtime; runtime.setup(); "
                   "print(os.environ['OMP_NUM_THREADS'])", env=env)
    assert proc.stdout.split() == ["1"]  # the user's choice wins
