#!/usr/bin/env python
"""Convert Omniglot (images_background.zip, images_evaluation.zip) to omniglot.nd + .json."""

from draw.datasets import convert_cli
from draw.omniglot import SPLITS

if __name__ == "__main__":
    convert_cli("omniglot", extra_args=[
        (("--split",), dict(choices=SPLITS, default="drawers",
                            help="drawers: 14/6 drawers of every character (default); "
                                 "alphabets: background / evaluation alphabets")),
        (("--seed",), dict(type=int, default=0, help="seed of the drawers split"))])
