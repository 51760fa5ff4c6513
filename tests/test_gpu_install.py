"""The GPU extra on a machine with no NVIDIA driver (slow: installs about 4 GB).

Not part of ``make test``; run it with ``make test-gpu-install`` (or
``pytest -m gpu_install tests/test_gpu_install.py``). It builds a virtualenv with
``pip install -e '.[gpu]'`` (or uses ``$DRAW_GPU_VENV`` if that names one that has it) and
checks that every library ``libmxnet.so`` needs resolves from the ``nvidia-*-cu11`` wheels
except the driver's ``libcuda.so.1``, that ``draw`` preloads them all, and that then both
the library and the tools say in one line that the NVIDIA driver is missing.
"""
import os
import subprocess
import sys

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.gpu_install


def _run(cmd, **kwargs):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          **kwargs)


@pytest.fixture(scope="module")
def gpu_venv(tmp_path_factory):
    venv = os.environ.get("DRAW_GPU_VENV") or str(tmp_path_factory.mktemp("gpu") / "venv")
    python = os.path.join(venv, "bin", "python")
    if not os.path.exists(python):
        proc = _run([sys.executable, "-m", "venv", venv])
        assert proc.returncode == 0, proc.stderr
    proc = _run([python, "-m", "pip", "install", "-q", "-e", ROOT + "[gpu]"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    return python


def test_gpu_extra_resolves_everything_but_the_driver(gpu_venv):
    site = _run([gpu_venv, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    libmxnet = os.path.join(site.stdout.strip(), "mxnet", "libmxnet.so")
    assert os.path.exists(libmxnet), libmxnet
    dirs = _run([gpu_venv, "-c", "from draw import runtime; "
                 "print(':'.join(runtime.cuda_library_dirs().values()))"], cwd=ROOT)
    ldd = _run(["ldd", libmxnet], env=dict(os.environ, LD_LIBRARY_PATH=dirs.stdout.strip()))
    missing = [line.split()[0] for line in ldd.stdout.splitlines() if "not found" in line]
    print("ldd libmxnet.so with the nvidia-*-cu11 lib directories: not found:", missing)
    assert missing == ["libcuda.so.1"], ldd.stdout
    loaded = _run([gpu_venv, "-c", "from draw import runtime; "
                   "print('\\n'.join(runtime.preload_cuda_libraries()))"], cwd=ROOT)
    names = [os.path.basename(p) for p in loaded.stdout.split()]
    print("preloaded:", " ".join(names))
    needed = [line.split()[0] for line in ldd.stdout.splitlines() if "nvidia" in line]
    assert set(needed) <= set(names), (needed, names)


def test_library_and_tools_say_the_driver_is_missing(gpu_venv):
    proc = _run([gpu_venv, "-c", "import draw\ntry:\n    draw.get_model('draw_mnist')\n"
                 "except ImportError as e:\n    print(e)"], cwd=ROOT)
    print("import draw; draw.get_model(...):", proc.stdout.strip())
    assert proc.stdout.startswith("the NVIDIA driver is missing (libcuda.so.1 not found)")
    proc = _run([gpu_venv, "examples/train_mnist.py", "--gpu"], cwd=ROOT)
    print("examples/train_mnist.py --gpu:", proc.stderr.strip(), "exit", proc.returncode)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert proc.stderr.startswith("error: the NVIDIA driver is missing (libcuda.so.1")
    proc = _run([gpu_venv, "examples/train_mnist.py", "--help"], cwd=ROOT)
    assert proc.returncode == 0 and "--gpu" in proc.stdout  # help needs no MXNet
