#!/usr/bin/env python
"""Convert Omniglot (images_background.zip, images_evaluation.zip) to omniglot.nd + .json
(or omniglot_alphabets.nd with --split alphabets). See docs/data.md."""
import sys

from draw.cli import convert, converter_parser, main
from draw.config import OMNIGLOT_SPLITS


def parser():
    p = converter_parser("omniglot", __doc__)
    p.add_argument("--split", choices=OMNIGLOT_SPLITS, default="drawers",
                   help="drawers: 14/6 drawers of every character (default); "
                        "alphabets: background / evaluation alphabets")
    p.add_argument("--seed", type=int, default=0, help="seed of the drawers split")
    return p


if __name__ == "__main__":
    args = parser().parse_args(sys.argv[1:])
    main(convert, "omniglot", args, {"split": args.split, "seed": args.seed})
