"""Shared fixtures. The real-data tests need the original dataset files.

They are looked for in ``$DRAW_DATA_SOURCE`` or ``../shared/data`` beside the project.
Locally a missing copy skips those tests; in CI (``CI=true``) it is a failure.
"""
import os
import subprocess
import sys

import pytest

from draw import runtime

runtime.setup()  # OpenMP threads chosen before MXNet starts, as the command-line tools do

from draw import config  # noqa: E402
from draw import datasets  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _source_dir():
    candidates = [os.environ.get(config.SOURCE_ENV),
                  os.path.join(ROOT, "..", "shared", "data")]
    for c in candidates:
        if c and os.path.isdir(c):
            return os.path.abspath(c)
    return None


@pytest.fixture(scope="session")
def source_dir():
    """Directory with the original files (MNIST IDX, binarized .amat.gz, Omniglot zips)."""
    path = _source_dir()
    if path is None:
        msg = ("original dataset files not found: set $%s or put them in ../shared/data"
               % config.SOURCE_ENV)
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return path


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory, source_dir):
    """A data directory with binarized MNIST converted from the real files."""
    out = str(tmp_path_factory.mktemp("datasets"))
    datasets.convert_binarized_mnist(out_dir=out, source=source_dir, log=lambda *a: None)
    return out


@pytest.fixture(scope="session")
def omniglot_data_dir(data_dir, source_dir):
    """``data_dir`` with Omniglot (drawers split) converted from the real zips too."""
    datasets.convert_omniglot(out_dir=data_dir, source=source_dir, log=lambda *a: None)
    return data_dir


def run_script(args, env=None, timeout=600):
    """Run a project script with the test interpreter; returns CompletedProcess."""
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable] + args, cwd=ROOT, env=full_env, timeout=timeout,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def load_example(name):
    """Import the tool script ``examples/<name>.py`` as a module (the tools live in
    examples/, outside the package, with their helper ``examples/_tools.py``)."""
    folder = os.path.join(ROOT, "examples")
    if folder not in sys.path:
        sys.path.append(folder)
    from _tools import load_example as load
    return load(name)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, data_dir):
    """A tiny DRAW run of 20 steps (checkpoints at 10 and 20) on the real data."""
    from .test_bad_inputs import TINY
    logdir = str(tmp_path_factory.mktemp("tiny") / "run")
    proc = run_script(["examples/train_mnist.py"] + TINY + [
        "--max_steps", "20", "--checkpoint_every", "10", "--logdir", logdir,
        "--data_dir", data_dir])
    assert proc.returncode == 0, proc.stderr[-3000:]
    return logdir
