"""Package-level behaviour: import without MXNet, runtime defaults."""
import subprocess
import sys

import pytest

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


# the OSError MXNet's GPU build raises at import when the NVIDIA driver is missing
_NO_DRIVER = ("import ctypes; real = ctypes.CDLL\n"
              "class Fake(real):\n"
              "    def __init__(self, name, *a, **k):\n"
              "        if 'libmxnet' in str(name):\n"
              "            raise OSError('%s: cannot open shared object file: No such file or "
              "directory')\n"
              "        real.__init__(self, name, *a, **k)\n"
              "ctypes.CDLL = Fake\n")


@pytest.mark.parametrize("library,message", [
    ("libcuda.so.1", "error: the NVIDIA driver is missing (libcuda.so.1 not found)"),
    ("libcudnn.so.8", "error: MXNet cannot load libcudnn.so.8 (libcudnn.so.8: cannot open "
                      "shared object file: No such file or directory): the GPU build needs "
                      "the CUDA 11 libraries; pip install -e '.[gpu]' installs them"),
])
def test_missing_gpu_library_is_one_line(library, message):
    """A GPU build of MXNet whose library cannot load (simulated: ctypes refuses
    libmxnet.so the way the loader does without the driver or a CUDA library): the tools
    print one line naming the library and exit 2; the library raises ImportError."""
    code = _NO_DRIVER % library
    proc = _python(code + "import sys; sys.argv = ['examples/sample.py', 'x']; "
                   "import runpy; runpy.run_path('examples/sample.py', run_name='__main__')")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(message) and len(proc.stderr.strip().splitlines()) == 1
    proc = _python(code + "import draw\ntry:\n    draw.get_model('draw_mnist')\n"
                          "except ImportError as e:\n    print(e)")
    assert proc.stdout.startswith(message[len("error: "):]), proc.stderr


def test_preload_loads_the_wheels_libraries_in_dependency_order(tmp_path):
    """With the nvidia-*-cu11 wheels' layout (site-packages/nvidia/<name>/lib), every
    library named in CUDA_LIBRARIES is loaded from there, each after those it needs (here
    stand-ins: copies of a real shared library under the CUDA names)."""
    import ctypes.util
    import os
    import shutil
    from draw import runtime
    real = ctypes.util.find_library("z") or ctypes.util.find_library("m")
    real = real if os.path.isabs(real) else next(
        os.path.join(d, real) for d in ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
                                        "/lib64", "/usr/lib64", "/lib", "/usr/lib")
        if os.path.exists(os.path.join(d, real)))
    expected = []
    for name, patterns in runtime.CUDA_LIBRARIES:
        lib = tmp_path / "nvidia" / name / "lib"
        lib.mkdir(parents=True)
        for pattern in patterns:
            target = lib / pattern.replace("*", "11.8.89")
            shutil.copy(real, str(target))
            expected.append(str(target))
    env = dict(os.environ, PYTHONPATH=str(tmp_path) + os.pathsep + ROOT)
    proc = _python("from draw import runtime; print('\\n'.join(runtime.preload_cuda_libraries()))",
                   env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == expected
    assert expected.index(str(tmp_path / "nvidia/cublas/lib/libcublasLt.so.11")) < \
        expected.index(str(tmp_path / "nvidia/cusolver/lib/libcusolver.so.11"))
    # without the wheels nothing is loaded (a system CUDA is left to the loader)
    assert _python("from draw import runtime; print(runtime.preload_cuda_libraries())"
                   ).stdout.strip() == "[]"


def test_gpu_runs_keep_mxnets_thread_policy():
    import os
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    proc = _python("import os; from draw import runtime; note = runtime.setup(gpu=True); "
                   "print('OMP_NUM_THREADS' in os.environ); print(note)", env=env)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "False" and lines[1].startswith("OpenMP threads: MXNet's own policy")


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


def _imports():
    """{module: set of draw/convdraw modules it imports} from the source (ast)."""
    import ast
    import os
    graph = {}
    for package in ("draw", "convdraw"):
        for folder, _, files in os.walk(os.path.join(ROOT, package)):
            for name in files:
                if not name.endswith(".py"):
                    continue
                path = os.path.join(folder, name)
                rel = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
                module = rel[:-len(".__init__")] if rel.endswith(".__init__") else rel
                pkg = module if name == "__init__.py" else module.rsplit(".", 1)[0]
                found = set()
                for node in ast.walk(ast.parse(open(path).read())):
                    if isinstance(node, ast.ImportFrom):
                        base = node.module or ""
                        if node.level:
                            parts = pkg.split(".")[:len(pkg.split(".")) - node.level + 1]
                            base = ".".join(parts + ([base] if base else []))
                        targets = [base] + ["%s.%s" % (base, a.name) for a in node.names]
                    elif isinstance(node, ast.Import):
                        targets = [a.name for a in node.names]
                    else:
                        continue
                    found |= {t for t in targets if t.split(".")[0] in ("draw", "convdraw")}
                graph[module] = found
    return {m: {t for t in deps if t in graph and t != m} for m, deps in graph.items()}


def test_no_import_cycles_and_argparse_only_in_cli():
    """The layers import downwards only (no cycle among the modules, lazy imports
    included), and no library module but draw.cli touches argparse."""
    graph = _imports()
    assert "draw.run" in graph and "convdraw.model" in graph
    # a package imports its own submodules; that is not a cycle between modules
    edges = {m: {t for t in deps if not t.startswith(m + ".")} for m, deps in graph.items()}
    state = {}

    def visit(m, path):
        state[m] = "open"
        for t in sorted(edges[m]):
            if state.get(t) == "open":
                raise AssertionError("import cycle: " + " -> ".join(path + [m, t]))
            if t not in state:
                visit(t, path + [m])
        state[m] = "done"

    for m in sorted(edges):
        if m not in state:
            visit(m, [])
    import os
    import re

    def source(m):
        base = os.path.join(ROOT, *m.split("."))
        return open(base + "/__init__.py" if os.path.isdir(base) else base + ".py").read()
    users = [m for m in sorted(graph)
             if re.search(r"^\s*(import|from) argparse\b", source(m), re.M)]
    assert users == ["draw.cli"], users


def test_main_thread_openmp_limit_except_under_the_naive_engine():
    """The main thread gets one OpenMP thread (the engine's threads run the operators),
    except with MXNET_ENGINE_TYPE=NaiveEngine, which runs them on the main thread."""
    import os
    code = ("import ctypes; from draw import runtime; runtime.setup(); "
            "print(ctypes.CDLL('libgomp.so.1').omp_get_max_threads())")
    env = dict(os.environ, OMP_NUM_THREADS="2")
    assert _python(code, env=env).stdout.split() == ["1"]
    naive = _python(code, env=dict(env, MXNET_ENGINE_TYPE="NaiveEngine"))
    assert naive.stdout.split() == ["2"], naive.stderr
