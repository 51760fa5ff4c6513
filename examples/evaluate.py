#!/usr/bin/env python
"""Evaluate a trained run (or pretrained weights): the variational bound on -log p(x), in
nats per image, on a split of the run's dataset (binarized MNIST: train/val/test;
Omniglot: train/test).

    python examples/evaluate.py runs/draw_mnist --split test
    python examples/evaluate.py results --split test --json results/test_bound.json
    python examples/evaluate.py runs/draw_mnist --iw_samples 100 --num_images 1000
    python examples/evaluate.py draw_mnist --split test   # weights in assets/pretrained
"""
import sys

from draw.cli import (add_amp_args, add_data_args, bounded_int, evaluate, main, script_parser,
                      seed_int)


def parser():
    p = script_parser(__doc__, run_dir=True, pretrained=True)
    p.add_argument("--split", choices=("train", "val", "test"), default="test",
                   help="data split (default test)")
    p.add_argument("--num_images", type=bounded_int(0, 10 ** 8), default=0,
                   help="evaluate N images spread over the split (the same subset on every "
                   "machine; not its first N), 0 = all")
    p.add_argument("--batch_size", "-b", type=bounded_int(1, 100000), default=500,
                   help="images (times K with --iw_samples) per forward pass (default 500)")
    p.add_argument("--seed", type=seed_int, default=0,
                   help="seed of the latent samples (the bound is a one-sample estimate)")
    p.add_argument("--gpu", action="store_true", help="evaluate on GPU 0")
    p.add_argument("--iw_samples", type=bounded_int(1, 100000), default=None, metavar="K",
                   help="also the importance-weighted bound from K posterior samples per "
                        "image (images x K forward passes)")
    p.add_argument("--no_progress", action="store_true", help="no progress bar")
    p.add_argument("--json", default=None, help="also write the result to this JSON file")
    return add_data_args(add_amp_args(p))


if __name__ == "__main__":
    main(evaluate, parser().parse_args(sys.argv[1:]))
