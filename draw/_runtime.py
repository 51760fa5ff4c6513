"""Process-level set-up that must happen before MXNet is imported.

This module imports nothing from MXNet so that it can run first.
"""
import os
import sys

#: Set by :func:`configure_threads` to describe what it did (for the trainers' logs).
THREADS_NOTE = ""


def available_cores():
    """Number of CPU cores this process may run on (affinity-aware)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _gpu_build_installed():
    """True if a CUDA build of MXNet (``mxnet-cu*``) is installed (checked without import)."""
    try:
        from importlib import metadata
    except ImportError:  # Python < 3.8
        return False
    return any((d.metadata.get("Name") or "").lower().startswith("mxnet-cu")
               for d in metadata.distributions())


def configure_engine():
    """Use MXNet's NaiveEngine on the CPU build unless the user chose an engine.

    With the default threaded engine, operators run on an engine worker thread while
    NDArray copies from NumPy (data loading) run OpenMP regions on the main thread: two
    OpenMP teams then compete for the cores, and DRAW training on 2 cores ran 2.5x slower
    (37 vs 95 samples/s, paper configuration). The NaiveEngine runs everything on the
    main thread. On a CUDA build the threaded engine is kept (it overlaps GPU work).
    """
    if "MXNET_ENGINE_TYPE" in os.environ or "mxnet" in sys.modules or _gpu_build_installed():
        return os.environ.get("MXNET_ENGINE_TYPE")
    os.environ["MXNET_ENGINE_TYPE"] = "NaiveEngine"
    return "NaiveEngine"


def configure_threads():
    """Pick an OpenMP thread count for MXNet unless the user chose one.

    MXNet's default OpenMP thread count is badly chosen on small machines (measured on
    2 cores: DRAW trains 1.4x and ConvDRAW 1.9x faster with ``OMP_NUM_THREADS=2``).
    When ``OMP_NUM_THREADS`` is unset and MXNet has not been imported yet, set it to the
    number of available cores. Returns the thread count in force (or None if MXNet was
    already imported with an unknown setting).
    """
    global THREADS_NOTE
    if "OMP_NUM_THREADS" in os.environ:
        THREADS_NOTE = "OpenMP threads: %s (from OMP_NUM_THREADS)" % os.environ["OMP_NUM_THREADS"]
        return int(os.environ["OMP_NUM_THREADS"])
    if "mxnet" in sys.modules:
        THREADS_NOTE = "OpenMP threads: MXNet default (mxnet was imported before draw)"
        return None
    n = available_cores()
    os.environ["OMP_NUM_THREADS"] = str(n)
    THREADS_NOTE = ("OpenMP threads: %d (chosen by draw = available cores; "
                    "set OMP_NUM_THREADS to override)" % n)
    return n
