#!/usr/bin/env python
"""Convert MNIST (IDX .gz files) to mnist.nd + mnist.json. See draw/datasets.py."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from draw.datasets import convert_cli  # noqa: E402

if __name__ == "__main__":
    convert_cli("mnist", extra_args=[(("--val_size",), dict(
        type=int, default=10000, help="last N training images form the validation split"))])
