"""Process-level set-up, made explicitly by the entry points (:func:`setup`).

The command-line tools call :func:`setup` first thing (through :func:`draw.cli.main`),
and so do the benchmark workers and the test suite; a notebook may call it before
anything imports MXNet. Importing :mod:`draw` changes nothing in the process.

This module imports nothing from MXNet at import time, so that it can run first.
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


def limit_main_thread_openmp():
    """Give the Python main thread a single OpenMP thread (call after importing MXNet).

    MXNet runs operators on its engine worker threads, each with its own OpenMP team. The
    main thread also runs OpenMP regions, e.g. when an NDArray is copied from NumPy
    (``mx.nd.array``, loading data); its team then keeps competing with the worker's for
    the cores for the rest of the process. Measured on 2 cores: DRAW (paper
    configuration) trained at 38 samples/s after one ``mx.nd.array`` of a 2000-image
    array, and at 81 with this limit. Engine threads keep their own thread counts.
    Returns False where libgomp cannot be reached (non-GNU OpenMP builds).
    """
    import ctypes
    try:
        libgomp = ctypes.CDLL("libgomp.so.1")
    except OSError:
        return False
    libgomp.omp_set_num_threads(1)
    return True


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


def setup():
    """Set up the process for MXNet: choose the OpenMP threads (must come before MXNet is
    imported, see :func:`configure_threads`), import MXNet with a clear error when it is
    missing, and give the main thread a single OpenMP thread. Returns the log line that
    describes the thread choice."""
    configure_threads()
    try:
        import mxnet  # noqa: F401
    except ImportError:
        raise ImportError(
            "draw needs MXNet 1.9.1, which is not installed: pip install -e '.[cpu]' "
            "(or '.[gpu]' for the CUDA 11.2 build; never both)") from None
    limit_main_thread_openmp()
    return THREADS_NOTE
