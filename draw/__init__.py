"""DRAW (Gregor et al. 2015) in MXNet Gluon, plus the shared pieces used by ConvDRAW.

Importing this package chooses an OpenMP thread count and, on the CPU build of MXNet, the
NaiveEngine when the user has not chosen them (see :mod:`draw._runtime`), so import it
before ``mxnet``.
"""
from ._runtime import configure_engine as _configure_engine
from ._runtime import configure_threads as _configure_threads

_configure_threads()
_configure_engine()

try:
    import mxnet as _mx  # noqa: F401
except ImportError:
    raise ImportError(
        "draw needs MXNet 1.9.1, which is not installed: pip install -e '.[cpu]' "
        "(or '.[gpu]' for the CUDA 11.2 build; never both)") from None

__version__ = "0.1.0"

from .registry import get_model, model_config, model_from_config  # noqa: E402,F401
