#!/usr/bin/env python
"""Train DRAW on (binarized) MNIST. Defaults are the paper's configuration
(Gregor et al. 2015, table 2): T=64, 256 LSTM units, z=100, read 2x2, write 5x5, Adam.

    python examples/train_mnist.py --gpu --logdir runs/draw_mnist
    python examples/train_mnist.py --no-attention --logdir runs/draw_noattn
    python examples/train_mnist.py --resume runs/draw_mnist --epochs 40
"""
import sys

from draw.cli import add_model_args, add_train_args, explicit_options, main, script_parser, train
from draw.registry import PRESETS

PAPER = PRESETS["draw_mnist"][1]  # the defaults


def parser():
    p = script_parser(__doc__)
    _, m = add_model_args(p, "draw_mnist", {
        "num_steps": ("-s", "T"), "num_recurrent_units": ("-u", "LSTM units"),
        "latent_dim": ("-l", "latent units per step"), "read_size": (None, "read N"),
        "write_size": (None, "write N")})
    m.add_argument("--no-attention", dest="attention", action="store_false",
                   help="read and write the whole image (the paper's second row)")
    m.add_argument("--dataset", choices=("binarized_mnist", "mnist"), default="binarized_mnist",
                   help="binarized_mnist (Larochelle, fixed) or mnist (dynamically binarized)")
    return add_train_args(p, batch_size=100, learning_rate=1e-3, epochs=20,
                          logdir="runs/draw_mnist")


def run(args, explicit):
    model = {"kind": "draw", "kwargs": dict(
        image_shape=PAPER["image_shape"], num_steps=args.num_steps,
        num_recurrent_units=args.num_recurrent_units, latent_dim=args.latent_dim,
        read_size=args.read_size, write_size=args.write_size, attention=args.attention)}
    return train(args, model, args.dataset, explicit=explicit,
                 binarize="dynamic" if args.dataset == "mnist" else None)


if __name__ == "__main__":
    p = parser()  # flags are parsed (and --help answered) before MXNet loads
    main(run, p.parse_args(sys.argv[1:]), explicit_options(p, sys.argv[1:]))
