#!/usr/bin/env python
"""Sample canvases from a trained run (or pretrained weights): a PNG grid of final
canvases and a GIF of the canvas over all T steps (DRAW: with the write attention box in
red).

    python examples/sample.py runs/draw_mnist --out samples/ -n 64 --seed 1
    python examples/sample.py convdraw_drawers --out samples/   # assets/pretrained
"""
import sys

from draw.cli import main, positive_int, sample, script_parser, seed_int


def parser():
    p = script_parser(__doc__, run_dir=True, pretrained=True)
    p.add_argument("--out", default=None, help="output directory (default: the run directory)")
    p.add_argument("--prefix", default="samples", help="file name prefix (default samples)")
    p.add_argument("--num_samples", "-n", type=positive_int, default=64)
    p.add_argument("--seed", type=seed_int, default=0)
    p.add_argument("--gpu", action="store_true", help="sample on GPU 0")
    p.add_argument("--no_gif", action="store_true", help="write only the PNG grid")
    p.add_argument("--no_boxes", action="store_true", help="no attention boxes in the GIF")
    return p


if __name__ == "__main__":
    main(sample, parser().parse_args(sys.argv[1:]))
