#!/usr/bin/env python
"""Export a run's checkpoint as pretrained weights (assets/pretrained/<name>.params and
<name>.json: model, source run and step, sha256, and the bound on the first 500 test
images, which the tests check). Then draw.get_model(name, pretrained=True) loads them.

    python examples/export_pretrained.py runs/draw_mnist --name draw_mnist
"""
import sys

from draw.cli import add_data_args, export_pretrained, main, script_parser


def parser():
    p = script_parser(__doc__, run_dir=True)
    p.add_argument("--name", required=True, help="name of the weights (e.g. draw_mnist)")
    p.add_argument("--out", default=None, help="directory (default assets/pretrained)")
    return add_data_args(p)


if __name__ == "__main__":
    main(export_pretrained, parser().parse_args(sys.argv[1:]))
