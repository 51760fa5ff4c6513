"""Smoke test of a device: run it first on a new GPU machine.

    python -m draw.selftest --gpu          # GPU 0 against the CPU
    python -m draw.selftest --gpus 0,1     # each GPU
    python -m draw.selftest --cpus 2       # the same checks on CPU contexts
    python -m draw.selftest --gpu --amp    # mixed-precision training (float16, loss scaling)

For every device, against the same computation on the CPU: one training step of a small
DRAW and a small ConvDRAW (loss, gradient norm, every updated parameter), sampling with
fixed noise, and a checkpoint round trip (saved from the device, loaded back onto it, bit
for bit). Prints one line per check; exit status 1 if any fails. A device that cannot be
used at all (no driver, a missing CUDA library, no kernels for the GPU) is the tools'
usual one-line error (status 2), found before any check runs. The checks are in
:mod:`draw.smoke`; this entry point loads MXNet only after the process set-up.
"""
import sys

from .cli import main, selftest, selftest_parser

if __name__ == "__main__":
    main(selftest, selftest_parser(__doc__).parse_args(sys.argv[1:]))
