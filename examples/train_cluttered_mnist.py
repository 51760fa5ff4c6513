#!/usr/bin/env python
"""Train the DRAW paper's classifier ("Differentiable RAM", Gregor et al. 2015, table 1)
on 100x100 cluttered translated MNIST: one LSTM (256 units) that takes a 12x12 attention
glimpse per step and classifies after the last one. Defaults: 8 glimpses (the paper's
3.36 % row); --num_steps 4 is its 4.18 % row. The data are converted from the MNIST
files on first use (data/convert_cluttered_mnist.py).

    python examples/train_cluttered_mnist.py --gpu --logdir runs/draw_cluttered_8
    python examples/train_cluttered_mnist.py --num_steps 4 --logdir runs/draw_cluttered_4
    python examples/train_cluttered_mnist.py --resume runs/draw_cluttered_8
"""
import sys

from draw.cli import add_model_args, add_train_args, explicit_options, main, script_parser, train
from draw.registry import PRESETS

PAPER = PRESETS["draw_cluttered_8"][1]  # the defaults


def parser():
    p = script_parser(__doc__)
    add_model_args(p, "draw_cluttered_8", {
        "num_steps": ("-s", "glimpses T"), "glimpse_size": (None, "glimpse N (N x N)"),
        "num_recurrent_units": ("-u", "LSTM units")})
    return add_train_args(p, batch_size=100, learning_rate=1e-3, epochs=150,
                          lr_schedule="cosine", lr_min=1e-5, num_val=10000,
                          logdir="runs/draw_cluttered_8")


def run(args, explicit):
    model = {"kind": "classifier", "kwargs": dict(
        image_shape=PAPER["image_shape"], num_steps=args.num_steps,
        glimpse_size=args.glimpse_size, num_recurrent_units=args.num_recurrent_units,
        num_classes=PAPER["num_classes"])}
    return train(args, model, "cluttered_mnist", explicit=explicit)


if __name__ == "__main__":
    p = parser()  # flags are parsed (and --help answered) before MXNet loads
    main(run, p.parse_args(sys.argv[1:]), explicit_options(p, sys.argv[1:]))
