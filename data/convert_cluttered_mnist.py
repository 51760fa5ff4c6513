#!/usr/bin/env python
"""Convert MNIST (the IDX .gz files) to cluttered_mnist.nd + cluttered_mnist.json: the
digits, labels and the seeded recipe of every 100x100 cluttered translated MNIST image
(8 pieces of 8x8 clutter; draw.datasets.cluttered.render draws them). See docs/data.md."""
import sys

from draw.cli import bounded_int, convert, converter_parser, main, seed_int


def parser():
    p = converter_parser("cluttered_mnist", __doc__)
    p.add_argument("--seed", type=seed_int, default=0,
                   help="seed of the digits' positions and the clutter (default 0)")
    p.add_argument("--clutter", type=bounded_int(0, 100), default=8,
                   help="pieces of clutter per image (default 8, the paper's task)")
    return p


if __name__ == "__main__":
    args = parser().parse_args(sys.argv[1:])
    main(convert, "cluttered_mnist", args, {"seed": args.seed, "clutter": args.clutter})
