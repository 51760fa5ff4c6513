#!/usr/bin/env python
"""Plot training curves of one or more runs from their event files (TensorBoard's reader;
needs pip install -e '.[viz]'): a PNG with one panel per tag and the numbers as CSV.

    python examples/curves.py runs/draw_mnist --out curves.png
    python examples/curves.py runs/lr_1e-3 runs/lr_3e-4 --label 1e-3 --label 3e-4 \\
        --tag val/total --out lr.png
    python examples/curves.py runs/warm --csv first_part.csv --out chain.png
    python examples/curves.py --csv part1.csv --csv part2.csv --out chain.png
"""
import sys

from draw.cli import curves, finite_float, main, script_parser


def parser():
    p = script_parser(__doc__)
    p.add_argument("runs", nargs="*",
                   help="run directories (none if every part comes from --csv)")
    p.add_argument("--out", default="curves.png",
                   help="PNG to write; the CSV goes beside it (default curves.png)")
    p.add_argument("--tag", action="append", default=None,
                   help="scalar tag to draw (repeatable; default train/loss and val/total)")
    p.add_argument("--label", action="append", default=None,
                   help="legend label of each run, in order (default: directory names)")
    p.add_argument("--csv", action="append", default=None,
                   help="also draw the curves of a CSV this tool wrote (repeatable), e.g. "
                        "the first part of a warm-started run whose directory is gone")
    p.add_argument("--ylim", type=finite_float, nargs=2, default=None, metavar=("LOW", "HIGH"),
                   help="y range of every panel")
    return p


if __name__ == "__main__":
    main(curves, parser().parse_args(sys.argv[1:]), needs_mxnet=False)
