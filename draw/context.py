"""Device contexts from command-line flags, with clear errors, and a start-up check that
every requested GPU can run this MXNet's kernels."""
import ctypes

import mxnet as mx

from .errors import UsageError

#: Compute capabilities the ``mxnet-cu112==1.9.1`` wheel has GPU kernels for: it holds
#: cubins for sm_50, 60, 70, 80 and 86 and no PTX, and a cubin runs on GPUs of its major
#: version with an equal or higher minor one: 5.0 to 8.9 (Maxwell to Ada). Hopper (9.0)
#: and newer fail every kernel ("no kernel image is available for execution").
WHEEL_CAPABILITIES = ((5, 0), (8, 9))
#: cuDeviceGetAttribute's CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR / _MINOR
_CC_MAJOR, _CC_MINOR = 75, 76


def gpu_count():
    """GPUs MXNet can use (0 for a CPU-only build)."""
    try:
        return mx.context.num_gpus()
    except mx.base.MXNetError:
        return 0


def parse_contexts(gpu=False, gpus=None, cpus=1):
    """Contexts for ``--gpu`` / ``--gpus 0,1`` / (testing) ``--cpus N``.

    Parameters
    ----------
    gpu : bool
        One GPU, ``mx.gpu(0)``.
    gpus : str or None
        Comma-separated GPU ids, e.g. ``"0,1"``.
    cpus : int
        Number of CPU contexts when no GPU is asked for (several are only useful to test
        multi-device code paths).

    Raises
    ------
    UsageError
        GPUs requested from a CPU-only MXNet or more GPUs than exist.
    """
    if gpus:
        try:
            ids = [int(v) for v in str(gpus).split(",") if v.strip() != ""]
        except ValueError:
            raise UsageError("--gpus takes comma-separated GPU ids like 0,1; got %r" % gpus) \
                from None
        if not ids or min(ids) < 0 or len(set(ids)) != len(ids):
            raise UsageError("--gpus takes distinct non-negative GPU ids like 0,1; got %r" % gpus)
    elif gpu:
        ids = [0]
    else:
        if cpus < 1:
            raise UsageError("--cpus must be positive, got %d" % cpus)
        return [mx.cpu(i) for i in range(cpus)]
    available = gpu_count()
    if available == 0:
        raise UsageError(no_gpu_message())
    if max(ids) >= available:
        raise UsageError("GPU %d requested but only %d GPU(s) visible" % (max(ids), available))
    ctxs = [mx.gpu(i) for i in ids]
    check_gpus(ctxs)
    return ctxs


def no_gpu_message():
    """Why no GPU can be used, and what to do: the machine has none (train on the CPU),
    this MXNet is the CPU build on a machine with a GPU (install the GPU extra), or the
    CUDA build sees none (the driver)."""
    import glob
    cuda_build = mx.runtime.Features().is_enabled("CUDA")
    has_device = bool(glob.glob("/dev/nvidia[0-9]*")) or _has_driver()
    if cuda_build:
        return ("GPU requested but this MXNet (CUDA build) sees no GPU: check the NVIDIA "
                "driver (nvidia-smi) and CUDA_VISIBLE_DEVICES")
    if not has_device:
        return ("GPU requested but this MXNet has no CUDA support and this machine has no "
                "NVIDIA GPU: train on the CPU (leave out --gpu/--gpus)")
    return ("GPU requested but this MXNet has no CUDA support (the CPU build) on a machine "
            "with an NVIDIA GPU: pip uninstall mxnet && pip install -e '.[gpu]' (the CUDA "
            "11.2 build, about 4 GB; see docs/gpus.md)")


def _has_driver():
    try:
        ctypes.CDLL("libcuda.so.1")
        return True
    except OSError:
        return False


def gpu_properties(device_id):
    """``(name, (major, minor))`` of GPU ``device_id`` from the CUDA driver (libcuda), or
    None when the driver cannot tell."""
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return None
    device, major, minor = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
    name = ctypes.create_string_buffer(256)
    if (cuda.cuInit(0) or cuda.cuDeviceGet(ctypes.byref(device), device_id)
            or cuda.cuDeviceGetName(name, len(name), device)
            or cuda.cuDeviceGetAttribute(ctypes.byref(major), _CC_MAJOR, device)
            or cuda.cuDeviceGetAttribute(ctypes.byref(minor), _CC_MINOR, device)):
        return None
    return name.value.decode(errors="replace"), (major.value, minor.value)


def _probe(ctx):
    """A tiny operation on ``ctx``, waited for: an elementwise kernel and a reduction."""
    (mx.nd.ones((4,), ctx=ctx) * 2).sum().asscalar()


def check_gpus(ctxs, probe=_probe, properties=gpu_properties):
    """Run a tiny operation on every GPU of ``ctxs`` before any work, so that a GPU this
    MXNet has no kernels for is one clear error at start-up instead of a traceback at
    the first step.

    Raises
    ------
    UsageError
        Naming the GPU, its compute capability and the range the installed MXNet wheel
        supports (:data:`WHEEL_CAPABILITIES`).
    """
    for ctx in ctxs:
        if ctx.device_type != "gpu":
            continue
        try:
            probe(ctx)
        except mx.base.MXNetError as e:
            raise UsageError(gpu_failure_message(ctx.device_id, e, properties(ctx.device_id))) \
                from None


def gpu_failure_message(device_id, error, props):
    """The one-line explanation of a failed start-up probe on GPU ``device_id``."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    reason = lines[-1] if lines else type(error).__name__
    (low, high) = WHEEL_CAPABILITIES
    supported = "%d.%d to %d.%d" % (low + high)
    if props is None:
        return ("GPU %d fails a test operation (%s); the mxnet-cu112 wheel supports GPUs of "
                "compute capability %s" % (device_id, reason, supported))
    name, capability = props
    if not low <= capability <= high:
        return ("GPU %d (%s) has compute capability %d.%d, but the installed MXNet %s has GPU "
                "kernels for compute capability %s only (%s): Hopper (9.0) and newer GPUs "
                "need MXNet built from source with their architecture (e.g. cmake "
                "-DMXNET_CUDA_ARCH=9.0)" % ((device_id, name) + capability
                                            + (mx.__version__, supported, reason)))
    return ("GPU %d (%s, compute capability %d.%d) fails a test operation: %s"
            % ((device_id, name) + capability + (reason,)))
