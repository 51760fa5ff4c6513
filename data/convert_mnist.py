#!/usr/bin/env python
"""Convert MNIST (IDX .gz files) to mnist.nd + mnist.json. See draw/datasets.py."""

from draw.datasets import convert_cli

if __name__ == "__main__":
    convert_cli("mnist", extra_args=[(("--val_size",), dict(
        type=int, default=10000, help="last N training images form the validation split"))])
