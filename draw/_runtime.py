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
