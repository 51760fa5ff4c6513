#!/usr/bin/env python
"""Draw the papers' figures from a trained run (or pretrained weights): PNGs and the
numbers behind them (JSON or CSV), the same for a seed on any device.

DRAW: generation (samples step by step, write window in red; + GIF), reading (the read
window of every step over test images, beside the reconstruction; + GIF), filterbank
(N x N filter centres and patches at three zooms), kl_per_step (bar chart).
ConvDRAW: compression (first k steps from the posterior, the rest from the prior,
k = 0..T), rate_distortion (KL of the first k steps against -log p(x | canvas)),
generation, kl_per_step. The cluttered-MNIST classifier: glimpses (its windows over test
images with its predictions; + GIF), zoom (one glimpse and what it resolves).

    python examples/figures.py runs/demo --out runs/demo/figures
    python examples/figures.py runs/draw_mnist --figure reading --figure kl_per_step
    python examples/figures.py convdraw_drawers --out figures/   # assets/pretrained
"""
import sys

from draw.cli import add_data_args, bounded_int, figures, main, script_parser, seed_int
from draw.config import MAX_FIGURE_ROWS as MAX_ROWS


def parser():
    p = script_parser(__doc__, run_dir=True, pretrained=True)
    p.add_argument("--out", default=None,
                   help="output directory (default: <run directory>/figures)")
    p.add_argument("--figure", action="append", default=None, metavar="NAME",
                   help="draw only this figure (repeatable; default: all of the run's kind)")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of the latent noise")
    p.add_argument("--rows", type=bounded_int(1, MAX_ROWS), default=8,
                   help="images or samples in the picture grids (default 8, at most %d)"
                        % MAX_ROWS)
    p.add_argument("--num_images", type=bounded_int(1, 100000), default=100,
                   help="test images the averaged figures use (default 100)")
    p.add_argument("--gpu", action="store_true", help="compute on GPU 0")
    p.add_argument("--no_progress", action="store_true", help="no progress bar")
    return add_data_args(p)


if __name__ == "__main__":
    main(figures, parser().parse_args(sys.argv[1:]))
