#!/usr/bin/env python
"""Try distributed training on one machine: a scheduler, parameter servers and workers as
local processes on 127.0.0.1, all stopped at the end (or after --timeout seconds).

    python examples/launch_local.py -n 2 -- \\
        python examples/train_mnist.py --kvstore dist_sync -b 100 --logdir runs/dist

Each worker trains on its own shard of the data with batch_size / n images per step; rank
0 writes the run directory. For several machines use MXNet's tools/launch.py or any
scheduler that sets DMLC_ROLE, DMLC_PS_ROOT_URI, DMLC_PS_ROOT_PORT, DMLC_NUM_SERVER and
DMLC_NUM_WORKER (see README, "Several machines").
"""
import sys

import argparse

from draw.runtime import available_cores
from draw.cli import ArgumentParser, positive_int
from draw.distributed import launch_local


def parser():
    p = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--num_workers", "-n", type=positive_int, default=2)
    p.add_argument("--num_servers", "-s", type=positive_int, default=1)
    p.add_argument("--timeout", type=positive_int, default=24 * 3600,
                   help="stop everything after this many seconds (default one day)")
    p.add_argument("--worker_threads", type=positive_int, default=None,
                   help="OMP_NUM_THREADS of each worker (default: cores / workers, "
                        "here %d cores)" % available_cores())
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
    if command[0] in ("python", "python3"):
        command[0] = sys.executable
    status = launch_local(command, num_workers=args.num_workers, num_servers=args.num_servers,
                          timeout=args.timeout, worker_threads=args.worker_threads)
    if status:
        print("error: distributed run failed (status %d)" % status, file=sys.stderr)
    sys.exit(status)


if __name__ == "__main__":
    main(sys.argv[1:])
