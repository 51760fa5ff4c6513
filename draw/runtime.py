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


def configure_threads(gpu=False):
    """Pick an OpenMP thread count for MXNet unless the user chose one.

    MXNet's default OpenMP thread count is badly chosen for CPU training on small machines
    (measured on 2 cores: DRAW trains 1.4x and ConvDRAW 1.9x faster with
    ``OMP_NUM_THREADS=2``). When ``OMP_NUM_THREADS`` is unset, MXNet has not been imported
    yet and the run is on the CPU, set it to the number of available cores. A GPU run
    (``gpu``) keeps MXNet's own policy, which leaves cores to the threads that feed the
    GPUs. Returns the thread count in force (None: MXNet's policy).
    """
    global THREADS_NOTE
    if "OMP_NUM_THREADS" in os.environ:
        THREADS_NOTE = "OpenMP threads: %s (from OMP_NUM_THREADS)" % os.environ["OMP_NUM_THREADS"]
        return int(os.environ["OMP_NUM_THREADS"])
    if "mxnet" in sys.modules:
        THREADS_NOTE = "OpenMP threads: MXNet default (mxnet was imported before draw)"
        return None
    if gpu:
        THREADS_NOTE = ("OpenMP threads: MXNet's own policy for a GPU run (it keeps cores for "
                        "the GPU feeder threads; set OMP_NUM_THREADS to override)")
        return None
    n = available_cores()
    os.environ["OMP_NUM_THREADS"] = str(n)
    THREADS_NOTE = ("OpenMP threads: %d (chosen by draw = available cores; "
                    "set OMP_NUM_THREADS to override)" % n)
    return n


#: The CUDA 11 libraries that the ``mxnet-cu112`` wheel's ``libmxnet.so`` links and does not
#: bundle (besides the driver's ``libcuda.so.1``), as (directory under the ``nvidia``
#: namespace package of the ``nvidia-*-cu11`` wheels, file name patterns), in load order:
#: each after the libraries it needs. cuDNN 8 and NVRTC open further libraries of their
#: own directory by name at run time; preloading them too makes those found.
CUDA_LIBRARIES = (
    ("cuda_runtime", ("libcudart.so.11.0",)),
    ("cublas", ("libcublasLt.so.11", "libcublas.so.11")),
    ("cufft", ("libcufft.so.10",)),
    ("curand", ("libcurand.so.10",)),
    ("cusolver", ("libcusolver.so.11",)),
    ("cuda_nvrtc", ("libnvrtc.so.11.2", "libnvrtc-builtins.so.*")),
    ("nvtx", ("libnvToolsExt.so.1",)),
    ("nccl", ("libnccl.so.2",)),
    ("cudnn", ("libcudnn.so.8", "libcudnn_ops_infer.so.8", "libcudnn_ops_train.so.8",
               "libcudnn_cnn_infer.so.8", "libcudnn_cnn_train.so.8",
               "libcudnn_adv_infer.so.8", "libcudnn_adv_train.so.8")),
)
#: What provides a library that may be missing when MXNet loads, for the error message.
DRIVER_LIBRARY = "libcuda.so.1"


def cuda_library_dirs():
    """``{name: lib directory}`` of the installed ``nvidia-*-cu11`` wheels (empty when the
    GPU extra is not installed)."""
    import importlib.util
    try:
        spec = importlib.util.find_spec("nvidia")
    except (ImportError, ValueError):
        return {}
    roots = list(spec.submodule_search_locations or ()) if spec else []
    found = {}
    for name, _ in CUDA_LIBRARIES:
        for root in roots:
            lib = os.path.join(root, name, "lib")
            if os.path.isdir(lib):
                found[name] = lib
                break
    return found


def preload_cuda_libraries():
    """Load the CUDA 11 libraries of the ``nvidia-*-cu11`` wheels (``pip install -e
    '.[gpu]'``) into the process, globally and in dependency order, so that MXNet's GPU
    build finds them when it loads: the wheels install them under ``site-packages/nvidia``,
    where the dynamic loader does not look (PyTorch's wheels do the same). Libraries that
    are not installed are left to the system's loader (a CUDA toolkit on
    ``LD_LIBRARY_PATH``). Returns the paths loaded."""
    import ctypes
    import glob
    dirs = cuda_library_dirs()
    loaded = []
    for name, patterns in CUDA_LIBRARIES:
        if name not in dirs:
            continue
        for pattern in patterns:
            for path in sorted(glob.glob(os.path.join(dirs[name], pattern))):
                ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
                loaded.append(path)
    return loaded


def missing_library_message(error):
    """The one-line explanation of an ``OSError`` raised while MXNet loads its library."""
    import re
    text = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
    found = re.search(r"(lib[\w.+-]+?\.so(?:\.[\d.]+)?)", text)
    lib = found.group(1) if found else None
    if lib == DRIVER_LIBRARY:
        return ("the NVIDIA driver is missing (%s not found): the GPU build of MXNet needs "
                "it; install the driver for your GPU, or the CPU build: pip uninstall -y "
                "mxnet-cu112 && pip install -e '.[cpu]'" % DRIVER_LIBRARY)
    if lib:
        return ("MXNet cannot load %s (%s): the GPU build needs the CUDA 11 libraries; "
                "pip install -e '.[gpu]' installs them from the package index"
                % (lib, text))
    return "MXNet's library failed to load: %s" % text


def load_mxnet():
    """Import MXNet, after :func:`preload_cuda_libraries`, with one-line errors: an
    ``ImportError`` when MXNet is not installed or a library it needs (the NVIDIA driver,
    a CUDA library) is missing. Returns the ``mxnet`` module."""
    if "mxnet" not in sys.modules:
        try:
            preload_cuda_libraries()
        except OSError as e:
            raise ImportError(missing_library_message(e)) from None
    try:
        import mxnet
    except OSError as e:
        raise ImportError(missing_library_message(e)) from None
    except ImportError:
        raise ImportError(
            "draw needs MXNet 1.9.1, which is not installed: pip install -e '.[cpu]' "
            "(or '.[gpu]' for the CUDA 11.2 build; never both)") from None
    return mxnet


def setup(gpu=False):
    """Set up the process for MXNet: choose the OpenMP threads (must come before MXNet is
    imported, see :func:`configure_threads`; ``gpu``: the run uses GPUs), load MXNet with
    a clear error when it or a library it needs is missing (:func:`load_mxnet`), and give
    the main thread a single OpenMP thread. Returns the log line that describes the
    thread choice."""
    configure_threads(gpu)
    load_mxnet()
    if os.environ.get("MXNET_ENGINE_TYPE") != "NaiveEngine":  # it runs ops on this thread
        limit_main_thread_openmp()
    return THREADS_NOTE
