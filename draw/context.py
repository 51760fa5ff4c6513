"""Device contexts from command-line flags, with clear errors."""
import mxnet as mx
from .errors import UsageError


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
        raise UsageError("GPU requested but this MXNet has no CUDA support or sees no GPU: "
                         "pip uninstall mxnet && pip install -e '.[gpu]' (needs CUDA 11.2)")
    if max(ids) >= available:
        raise UsageError("GPU %d requested but only %d GPU(s) visible" % (max(ids), available))
    return [mx.gpu(i) for i in ids]
