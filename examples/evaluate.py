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

from draw.cli import add_data_args, evaluate, main, non_negative_int, positive_int, script_parser


def parser():
    p = script_parser(__doc__, run_dir=True, pretrained=True)
    p.add_argument("--split", choices=("train", "val", "test"), default="test",
                   help="data split (default test)")
    p.add_argument("--num_images", type=non_negative_int, default=0,
                   help="evaluate the first N images only, 0 = all")
    p.add_argument("--batch_size", "-b", type=positive_int, default=500)
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the latent samples (the bound is a one-sample estimate)")
    p.add_argument("--gpu", action="store_true", help="evaluate on GPU 0")
    p.add_argument("--iw_samples", type=positive_int, default=None, metavar="K",
                   help="also the importance-weighted bound from K posterior samples per "
                        "image (images x K forward passes)")
    p.add_argument("--no_progress", action="store_true", help="no progress bar")
    p.add_argument("--json", default=None, help="also write the result to this JSON file")
    return add_data_args(p)


if __name__ == "__main__":
    main(evaluate, parser().parse_args(sys.argv[1:]))
