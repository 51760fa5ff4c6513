#!/usr/bin/env python
"""Convert Larochelle's binarized MNIST (.amat[.gz]) to binarized_mnist.nd + .json
(uint8 0/1 images: train 50,000, val 10,000, test 10,000). See docs/data.md."""
import sys

from draw.cli import convert, converter_parser, main

if __name__ == "__main__":
    main(convert, "binarized_mnist", converter_parser("binarized_mnist", __doc__)
         .parse_args(sys.argv[1:]))
