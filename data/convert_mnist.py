#!/usr/bin/env python
"""Convert MNIST (the IDX .gz files) to mnist.nd + mnist.json (float32 images in [0, 1],
int32 labels; validation = the last --val_size training images). See docs/data.md."""
import sys

from draw.cli import convert, converter_parser, main, non_negative_int


def parser():
    p = converter_parser("mnist", __doc__)
    p.add_argument("--val_size", type=non_negative_int, default=10000,
                   help="last N training images form the validation split (default 10000)")
    return p


if __name__ == "__main__":
    args = parser().parse_args(sys.argv[1:])
    main(convert, "mnist", args, {"val_size": args.val_size})
