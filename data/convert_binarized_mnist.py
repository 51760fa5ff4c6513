#!/usr/bin/env python
"""Convert Larochelle's binarized MNIST (.amat[.gz]) to binarized_mnist.nd + .json."""

from draw.datasets import convert_cli

if __name__ == "__main__":
    convert_cli("binarized_mnist")
