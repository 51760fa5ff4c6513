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

:func:`launch_local` starts such a set on one machine (127.0.0.1) for trying it out; on
a cluster use MXNet's ``tools/launch.py`` (ssh, mpi, sge, yarn) or any scheduler that sets
the same variables.
"""
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from .config import KVSTORES

DMLC_VARS = ("DMLC_ROLE", "DMLC_PS_ROOT_URI", "DMLC_PS_ROOT_PORT", "DMLC_NUM_SERVER",
             "DMLC_NUM_WORKER")


def is_distributed(kvstore):
    return isinstance(kvstore, str) and kvstore.startswith("dist")


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


def free_port():
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pump(stream, prefix, out):
    for line in iter(stream.readline, ""):
        out.write(prefix + line)
        out.flush()
    stream.close()


def launch_local(command, num_workers=2, num_servers=1, timeout=3600, port=None,
                 out=None, worker_threads=None):
    """Run ``command`` as ``num_workers`` workers of a dist kvstore on this machine.

    Starts a scheduler and ``num_servers`` servers (``python -c "import mxnet"``) and the
    workers, all on 127.0.0.1; prefixes the workers' output with ``[worker i]``; waits
    for the workers, then stops the servers and the scheduler. Everything is killed when
    ``timeout`` seconds pass or the launcher is interrupted.

    Parameters
    ----------
    command : list of str
        The worker command, e.g. ``[sys.executable, "examples/train_mnist.py", ...,
        "--kvstore", "dist_sync"]``.
    worker_threads : int, optional
        ``OMP_NUM_THREADS`` of each worker (default: the cores divided among the workers).

    Returns
    -------
    int
        0 when every worker succeeded, else the first non-zero exit status (124 on
        timeout).
    """
    from .runtime import available_cores
    out = out or sys.stderr
    port = port or free_port()
    base = dict(os.environ, DMLC_PS_ROOT_URI="127.0.0.1", DMLC_PS_ROOT_PORT=str(port),
                DMLC_NUM_SERVER=str(num_servers), DMLC_NUM_WORKER=str(num_workers),
                DMLC_NODE_HOST="127.0.0.1", PYTHONUNBUFFERED="1")
    service = dict(base, OMP_NUM_THREADS="1")
    threads = worker_threads or max(1, available_cores() // num_workers)
    worker_env = dict(base, DMLC_ROLE="worker", OMP_NUM_THREADS=str(threads))
    server_cmd = [sys.executable, "-c", "import mxnet"]
    procs, pumps = [], []
    services = [subprocess.Popen(server_cmd, env=dict(service, DMLC_ROLE="scheduler"))]
    services += [subprocess.Popen(server_cmd, env=dict(service, DMLC_ROLE="server"))
                 for _ in range(num_servers)]
    try:
        for i in range(num_workers):
            p = subprocess.Popen(command, env=worker_env, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
            t = threading.Thread(target=_pump, args=(p.stdout, "[worker %d] " % i, out),
                                 daemon=True)
            t.start()
            procs.append(p)
            pumps.append(t)
        deadline = time.time() + timeout
        status = None
        while status is None:
            codes = [p.poll() for p in procs]
            failed = [c for c in codes if c not in (None, 0)]
            if failed:
                status = failed[0]
            elif all(c == 0 for c in codes):
                status = 0
            elif any(s.poll() not in (None, 0) for s in services):
                out.write("launch_local: a server or the scheduler died\n")
                status = 1
            elif time.time() > deadline:
                out.write("launch_local: timed out after %d s; stopping all processes\n"
                          % timeout)
                status = 124
            else:
                time.sleep(0.1)
        for t in pumps:
            t.join(timeout=5)
        if status == 0:  # servers exit once the workers have finalised
            end = time.time() + 30
            while time.time() < end and any(s.poll() is None for s in services):
                time.sleep(0.1)
        return status
    finally:
        for p in procs + services:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        end = time.time() + 10
        for p in procs + services:
            try:
                p.wait(max(0.1, end - time.time()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
