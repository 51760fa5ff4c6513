"""Mixed precision (``--amp``): bfloat16 on CPUs that have it, float16 on GPUs.

MXNet's AMP (``mxnet.contrib.amp``) rewrites the operators of the whole process when it
is initialised, before any model is built: with bfloat16 (CPU) the convolutions and
fully connected layers run in bfloat16 and their outputs are cast back to float32 by
the next operator that needs it (AMP's lists), so the losses, the KL and the
log-likelihood sums stay in float32; with float16 (GPU) the same, plus dynamic loss
scaling of the gradients (:func:`loss_scaled`, :mod:`draw.train`). Parameters,
gradients, optimizer state and checkpoints stay float32: a run resumes with or without
AMP and its weights export as any other.

Because it changes the process, AMP cannot be turned off again once on: :func:`use`
refuses a float32 job in a process that enabled it (start a new process).
"""
import logging

from .errors import UsageError

log = logging.getLogger("draw")

#: /proc/cpuinfo flags of a CPU with bfloat16 arithmetic (oneDNN's bfloat16 kernels)
BF16_FLAGS = ("avx512_bf16", "amx_bf16")

#: the dtype AMP was initialised with in this process (None: float32)
_ENABLED = None


def cpu_flags(path="/proc/cpuinfo"):
    """The CPU's feature flags (Linux); an empty set where they cannot be read."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def target_dtype(gpu, flags=None):
    """The AMP dtype for a job on GPUs (``float16``) or on this CPU (``bfloat16``).

    Raises
    ------
    UsageError
        A CPU without bfloat16 support (``flags``: default :func:`cpu_flags`).
    """
    if gpu:
        return "float16"
    flags = cpu_flags() if flags is None else set(flags)
    if not flags & set(BF16_FLAGS):
        raise UsageError("--amp: this CPU has no bfloat16 arithmetic (neither of the "
                         "flags %s in /proc/cpuinfo); train without --amp"
                         % " or ".join(BF16_FLAGS))
    return "bfloat16"


def dtype():
    """``"bfloat16"``, ``"float16"`` or ``"float32"``: how this process computes."""
    return _ENABLED or "float32"


def use(amp, contexts, flags=None):
    """Make this process compute as asked: with ``amp``, initialise MXNet's AMP for
    ``contexts`` (float16 if they are GPUs, else bfloat16, :func:`target_dtype`), before
    any model is built; without, check that AMP was not turned on earlier. Idempotent.
    Returns :func:`dtype`.

    Raises
    ------
    UsageError
        No bfloat16 on this CPU; a float32 job after AMP, or AMP of another dtype.
    """
    global _ENABLED
    if not amp:
        if _ENABLED:
            raise UsageError("AMP (%s) is on in this process and cannot be turned off: run "
                             "the float32 job in a new process" % _ENABLED)
        return dtype()
    wanted = target_dtype(any(c.device_type == "gpu" for c in contexts), flags)
    if _ENABLED and _ENABLED != wanted:
        raise UsageError("AMP is on in %s in this process; %s needs a new process"
                         % (_ENABLED, wanted))
    if not _ENABLED:
        from mxnet.contrib import amp as mx_amp
        root = logging.getLogger()
        had = list(root.handlers)
        mx_amp.init(target_dtype=wanted)
        # amp.init logs "Using AMP" through the root logger, whose implicit basicConfig
        # installs a root handler: every ``draw`` (and mxboard) line would print twice
        for handler in root.handlers[:]:
            if handler not in had:
                root.removeHandler(handler)
        _ENABLED = wanted
        log.info("mixed precision: %s (MXNet AMP; parameters, gradients and checkpoints "
                 "in float32)", wanted)
    return dtype()


#: (model kind, AMP dtype) pairs whose training was measured to reach a worse bound than
#: float32 (docs/performance.md, "Mixed precision"): the log says so when such a run starts
TRAINING_CAVEATS = {
    ("convdraw", "bfloat16"): "ConvDRAW trained in bfloat16 reached a bound 4-5 nats worse "
                              "than float32 after the same 500 updates (the gradients lose "
                              "precision; evaluation is unaffected): train it in float32 "
                              "(see docs/performance.md, Mixed precision)",
}


def training_caveat(kind, precision=None):
    """What is known against training a model of ``kind`` (``"draw"``, ``"convdraw"``,
    ``"classifier"``) in ``precision`` (default :func:`dtype`): a sentence, or None."""
    return TRAINING_CAVEATS.get((kind, precision or dtype()))


def loss_scaled():
    """Whether training scales its loss dynamically (float16 AMP)."""
    return _ENABLED == "float16"
