#!/usr/bin/env python
"""Benchmark training and sampling speed, validation and conversion time, and memory.

    python examples/benchmark.py                       # the table in README (several minutes)
    python examples/benchmark.py --workloads draw --repeats 3
    python examples/benchmark.py --gpu --json gpu.json

See draw/benchmark.py for what is measured and the FLOP formulas.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import draw  # noqa: E402,F401  (chooses the OpenMP thread count before MXNet starts)
from draw.benchmark import main  # noqa: E402

if __name__ == "__main__":
    main(sys.argv[1:])
