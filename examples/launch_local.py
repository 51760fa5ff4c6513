#!/usr/bin/env python
"""Try distributed training on one machine: a scheduler, parameter servers and workers as
local processes on 127.0.0.1, all stopped at the end (or after --timeout seconds).

    python examples/launch_local.py -n 2 -- \\
        python examples/train_mnist.py --kvstore dist_sync -b 100 --logdir runs/dist

Each worker trains on its own shard of the data with batch_size / n images per step; rank
0 writes the run directory. For several machines use MXNet's tools/launch.py or any
scheduler that sets DMLC_ROLE, DMLC_PS_ROOT_URI, DMLC_PS_ROOT_PORT, DMLC_NUM_SERVER and
DMLC_NUM_WORKER (see docs/distributed.md).
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

from _tools import free_port

from draw.cli import ArgumentParser, bounded_int, positive_int
from draw.runtime import available_cores


#: seconds the processes get to end after SIGTERM before they are killed
GRACE = 10


def _pump(stream, prefix, out):
    for line in iter(stream.readline, ""):
        out.write(prefix + line)
        out.flush()
    stream.close()


def worker_command(command):
    """The command every worker runs: ``python`` or ``python3`` become this interpreter,
    and a Python script given without one (``examples/train_mnist.py ...``) runs with it."""
    if command[0] in ("python", "python3"):
        return [sys.executable] + command[1:]
    if command[0].endswith(".py") and os.path.isfile(command[0]):
        return [sys.executable] + command
    return list(command)


def worker_gpus(gpus, num_workers):
    """Share the GPU ids ``gpus`` out: worker i gets the i-th of ``num_workers`` equal
    consecutive groups, as a ``CUDA_VISIBLE_DEVICES`` value (``["0,1", "2,3"]``)."""
    twice = sorted({g for g in gpus if gpus.count(g) > 1})
    if twice:
        raise ValueError("GPU %s given more than once" % ", ".join(str(g) for g in twice))
    if len(gpus) % num_workers:
        raise ValueError("%d GPUs cannot be shared equally by %d workers"
                         % (len(gpus), num_workers))
    k = len(gpus) // num_workers
    return [",".join(str(g) for g in gpus[i * k:(i + 1) * k]) for i in range(num_workers)]


def wait_listening(port, proc, timeout, stopped=lambda: False):
    """Wait until something accepts TCP connections on 127.0.0.1:``port``.

    Returns True then, False when the process ``proc`` exits, ``stopped()`` becomes true
    or ``timeout`` seconds pass first."""
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None and not stopped():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def launch_local(command, num_workers=2, num_servers=1, timeout=3600, port=None,
                 out=None, worker_threads=None, gpus=None, grace=None):
    """Run ``command`` as ``num_workers`` workers of a dist kvstore on this machine.

    Starts a scheduler, waits until it listens on ``port``, then starts ``num_servers``
    servers (``python -c "import mxnet"``) and the workers, all on 127.0.0.1; prefixes
    the workers' output with ``[worker i]``; waits for the workers, then stops the
    servers and the scheduler. Everything is killed when
    ``timeout`` seconds pass or the launcher is interrupted.

    Parameters
    ----------
    command : list of str
        The worker command, e.g. ``[sys.executable, "examples/train_mnist.py", ...,
        "--kvstore", "dist_sync"]``.
    worker_threads : int, optional
        ``OMP_NUM_THREADS`` of each worker (default: the cores divided among the workers).
    gpus : list of int, optional
        GPU ids shared out among the workers (:func:`worker_gpus`): each worker sees only
        its own through ``CUDA_VISIBLE_DEVICES``, numbered from 0 (so every worker's
        ``--gpu`` or ``--gpus 0,1`` means its own GPUs).

    SIGINT and SIGTERM (in the main thread) stop it like the timeout: every process gets
    SIGTERM (the trainers checkpoint on it), what has not ended ``grace`` seconds
    (default :data:`GRACE`) later is killed.

    Returns
    -------
    int
        0 when every worker succeeded, else the first non-zero exit status (124 on
        timeout, 128 + the signal's number when interrupted).
    """
    out = out or sys.stderr
    grace = GRACE if grace is None else grace
    port = port or free_port()
    base = dict(os.environ, DMLC_PS_ROOT_URI="127.0.0.1", DMLC_PS_ROOT_PORT=str(port),
                DMLC_NUM_SERVER=str(num_servers), DMLC_NUM_WORKER=str(num_workers),
                DMLC_NODE_HOST="127.0.0.1", PYTHONUNBUFFERED="1")
    service = dict(base, OMP_NUM_THREADS="1")
    threads = worker_threads or max(1, available_cores() // num_workers)
    worker_env = dict(base, DMLC_ROLE="worker", OMP_NUM_THREADS=str(threads))
    server_cmd = [sys.executable, "-c", "import mxnet"]
    procs, pumps = [], []
    visible = worker_gpus(gpus, num_workers) if gpus else [None] * num_workers
    received = []

    def on_signal(signum, frame):
        received.append(signum)
    saved = {}
    if threading.current_thread() is threading.main_thread():
        saved = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    deadline = time.time() + timeout
    services = [subprocess.Popen(server_cmd, env=dict(service, DMLC_ROLE="scheduler"))]
    try:
        # The others start once the scheduler holds its port: a server or worker binds a
        # port the OS hands out, which could otherwise be the one free_port() just freed
        # (ps-lite then fails with "Check failed: is_scheduler_").
        if not wait_listening(port, services[0], timeout=120,
                              stopped=lambda: bool(received)):
            if received:
                return _interrupted(received[0], out, grace)
            out.write("launch_local: the scheduler did not listen on 127.0.0.1:%d\n" % port)
            return 1
        services += [subprocess.Popen(server_cmd, env=dict(service, DMLC_ROLE="server"))
                     for _ in range(num_servers)]
        for i in range(num_workers):
            env = worker_env if visible[i] is None else \
                dict(worker_env, CUDA_VISIBLE_DEVICES=visible[i])
            p = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
            t = threading.Thread(target=_pump, args=(p.stdout, "[worker %d] " % i, out),
                                 daemon=True)
            t.start()
            procs.append(p)
            pumps.append(t)
        status = None
        while status is None:
            codes = [p.poll() for p in procs]
            failed = [c for c in codes if c not in (None, 0)]
            if received:
                status = _interrupted(received[0], out, grace)
            elif failed:
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
        if status == 0:  # servers exit once the workers have finalised
            for t in pumps:
                t.join(timeout=5)
            end = time.time() + 30
            while time.time() < end and any(s.poll() is None for s in services):
                time.sleep(0.1)
        return status
    finally:
        for p in procs + services:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        end = time.time() + grace
        for p in procs + services:
            try:
                p.wait(max(0.1, end - time.time()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for t in pumps:  # the rest of the workers' output
            t.join(timeout=1)
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def _interrupted(signum, out, grace):
    name = signal.Signals(signum).name
    out.write("launch_local: %s received; stopping every process (killed after %g s)\n"
              % (name, grace))
    return 128 + signum


def parser():
    p = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--num_workers", "-n", type=bounded_int(1, 256), default=2)
    p.add_argument("--num_servers", "-s", type=bounded_int(1, 256), default=1)
    p.add_argument("--timeout", type=positive_int, default=24 * 3600,
                   help="stop everything after this many seconds (default one day)")
    p.add_argument("--grace", type=bounded_int(0, 600), default=GRACE,
                   help="seconds the processes get to end after SIGTERM (at the end, on "
                        "timeout or interrupt) before they are killed (default %(default)s)")
    p.add_argument("--worker_threads", type=positive_int, default=None,
                   help="OMP_NUM_THREADS of each worker (default: cores / workers, "
                        "here %d cores)" % available_cores())
    p.add_argument("--gpus", default=None, metavar="IDS",
                   help="GPU ids to share out equally among the workers, e.g. 0,1,2,3 for "
                        "2 workers: each sees its own as GPU 0..k-1 (CUDA_VISIBLE_DEVICES)")
    p.add_argument("command", nargs=argparse.REMAINDER,
                   help="the worker command, after --")
    return p


def main(argv):
    p = parser()
    args = p.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        p.error("give the worker command after --")
    if not any(a.startswith("dist") for a in command):
        p.error("the worker command must train with --kvstore dist_sync (or dist_device_sync)")
    gpus = None
    if args.gpus:
        try:
            gpus = [int(v) for v in args.gpus.split(",")]
            worker_gpus(gpus, args.num_workers)
        except ValueError as e:
            p.error("--gpus %s: %s" % (args.gpus, e))
    elif args.num_workers > 1 and any(a == "--gpu" or a.startswith("--gpus")
                                      for a in command):
        p.error("every worker would train on the same GPUs: give --gpus with the GPU ids "
                "to share out among the %d workers" % args.num_workers)
    command = worker_command(command)
    if shutil.which(command[0]) is None:
        p.error("the worker command %s is not an executable program" % command[0])
    status = launch_local(command, num_workers=args.num_workers, num_servers=args.num_servers,
                          timeout=args.timeout, worker_threads=args.worker_threads, gpus=gpus,
                          grace=args.grace)
    if status > 128 and status - 128 in (signal.SIGINT, signal.SIGTERM):
        print("error: interrupted (%s)" % signal.Signals(status - 128).name, file=sys.stderr)
    elif status:
        print("error: distributed run failed (status %d)" % status, file=sys.stderr)
    sys.exit(status)


if __name__ == "__main__":
    main(sys.argv[1:])
