#!/usr/bin/env python
"""Benchmark training and sampling speed, validation and conversion time, and memory.

    python examples/benchmark.py                       # the table in README (several minutes)
    python examples/benchmark.py --workloads draw --repeats 3
    python examples/benchmark.py --gpu --json gpu.json

See draw/benchmark.py for what is measured and the FLOP formulas.
"""
import sys

from draw.benchmark import main

if __name__ == "__main__":
    main(sys.argv[1:])
