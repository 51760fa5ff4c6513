"""DRAW (Gregor et al. 2015) in MXNet Gluon, plus the shared pieces used by ConvDRAW.

Importing the package has no side effects and does not load MXNet. Programs call
:func:`draw.runtime.setup` first (the command-line tools do), which chooses MXNet's
OpenMP threads before MXNet starts. ``draw.get_model``, ``draw.model_config`` and
``draw.model_from_config`` come from :mod:`draw.registry`.
"""
__version__ = "0.1.0"

_REGISTRY = ("get_model", "model_config", "model_from_config")


def __getattr__(name):
    """The registry's functions, loaded on first use (PEP 562)."""
    if name in _REGISTRY:
        from . import runtime
        runtime.load_mxnet()  # one clear line when MXNet or a CUDA library is missing
        from . import registry
        return getattr(registry, name)
    raise AttributeError("module 'draw' has no attribute %r" % name)


def __dir__():
    return sorted(list(globals()) + list(_REGISTRY))
