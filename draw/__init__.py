"""DRAW (Gregor et al. 2015) in MXNet Gluon, plus the shared pieces used by ConvDRAW.

Importing this package chooses an OpenMP thread count for MXNet when the user has not,
and keeps the Python main thread's OpenMP team from competing with MXNet's engine threads
(see :mod:`draw._runtime`), so import it before ``mxnet``.
"""
from ._runtime import configure_threads as _configure_threads
from ._runtime import limit_main_thread_openmp as _limit_main_thread_openmp

_configure_threads()

try:
    import mxnet as _mx  # noqa: F401
except ImportError:
    raise ImportError(
        "draw needs MXNet 1.9.1, which is not installed: pip install -e '.[cpu]' "
        "(or '.[gpu]' for the CUDA 11.2 build; never both)") from None

_limit_main_thread_openmp()

__version__ = "0.1.0"

from .registry import get_model, model_config, model_from_config  # noqa: E402,F401
