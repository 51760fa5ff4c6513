"""Data-parallel training over several processes with MXNet's parameter server.

A run with ``--kvstore dist_sync`` (or ``dist_device_sync``) is a set of processes whose
roles come from the standard ps-lite variables::

    DMLC_ROLE            scheduler | server | worker
    DMLC_PS_ROOT_URI     address of the scheduler
    DMLC_PS_ROOT_PORT    its port
    DMLC_NUM_SERVER      number of server processes
    DMLC_NUM_WORKER      number of worker processes

Servers and the scheduler are plain ``python -c "import mxnet"`` processes (MXNet starts
the server loop on import when ``DMLC_ROLE`` says so). Every worker runs the same
training command; each reads its own shard of the data (by ``kv.rank``), the gradients
are summed over all workers and devices, and every worker applies the same update, so
all hold the same parameters. Only rank 0 writes checkpoints, samples and logs.

``examples/launch_local.py`` starts such a set on one machine (127.0.0.1) for trying it out; on
a cluster use MXNet's ``tools/launch.py`` (ssh, mpi, sge, yarn) or any scheduler that sets
the same variables.
"""
import os

from .config import KVSTORES

DMLC_VARS = ("DMLC_ROLE", "DMLC_PS_ROOT_URI", "DMLC_PS_ROOT_PORT", "DMLC_NUM_SERVER",
             "DMLC_NUM_WORKER")


def is_distributed(kvstore):
    return isinstance(kvstore, str) and kvstore.startswith("dist")


def launched():
    """Whether this process is one of a distributed job's (a launcher set
    ``DMLC_ROLE``): then its rank, and whether it writes the run, are known only once
    the kvstore exists."""
    return bool(os.environ.get("DMLC_ROLE"))


def create_kvstore(kind, num_contexts):
    """The kvstore for ``--kvstore kind``.

    Returns
    -------
    kvstore : KVStore, str or None
        A created dist kvstore, or the local type name for several devices (Gluon creates
        it), or None for one device.
    rank, num_workers : int

    Raises
    ------
    draw.errors.UsageError
        A dist kvstore without the launcher's variables, or an unknown type.
    """
    import mxnet as mx
    from .errors import UsageError
    if kind not in KVSTORES:
        raise UsageError("--kvstore %s: unknown type (choose from %s)"
                         % (kind, ", ".join(KVSTORES)))
    if not is_distributed(kind):
        return (kind if num_contexts > 1 else None), 0, 1
    missing = [v for v in DMLC_VARS if not os.environ.get(v)]
    if missing:
        raise UsageError("--kvstore %s needs the parameter-server variables set by a launcher "
                         "(missing: %s); try examples/launch_local.py" % (kind, ", ".join(missing)))
    if os.environ["DMLC_ROLE"] != "worker":
        raise UsageError("DMLC_ROLE=%s: the trainers run as workers only"
                         % os.environ["DMLC_ROLE"])
    kv = mx.kv.create(kind)
    return kv, kv.rank, kv.num_workers


def worker_batch(batch_size, num_workers):
    """Each worker's share of a global batch of ``batch_size``.

    Raises
    ------
    draw.errors.UsageError
        ``batch_size`` not divisible by ``num_workers``.
    """
    from .errors import UsageError
    if batch_size % num_workers:
        raise UsageError("--batch_size %d (global) is not divisible by the %d workers"
                         % (batch_size, num_workers))
    return batch_size // num_workers
