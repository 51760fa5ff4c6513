#!/usr/bin/env python
"""Convert Larochelle's binarized MNIST (.amat[.gz]) to binarized_mnist.nd + .json."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from draw.datasets import convert_cli  # noqa: E402

if __name__ == "__main__":
    convert_cli("binarized_mnist")
