#!/usr/bin/env python
"""Screenshot TensorBoard's scalars and images pages for a run, headless (needs the viz
extra and Chromium: apt install chromium).

    python examples/tensorboard_screenshot.py runs/demo --out assets/tensorboard
    # writes assets/tensorboard_scalars.png and assets/tensorboard_images.png
"""
import os
import sys

from draw.cli import script_parser
from draw.tensorboard import ScreenshotError, capture


def main(argv):
    p = script_parser(__doc__)
    p.add_argument("logdir", help="run directory (or a directory of runs)")
    p.add_argument("--out", default="tensorboard", help="output prefix (default tensorboard)")
    p.add_argument("--width", type=int, default=1400)
    p.add_argument("--height", type=int, default=1000)
    args = p.parse_args(argv)
    if not os.path.isdir(args.logdir):
        p.error("%s is not a directory" % args.logdir)
    try:
        for path in capture(args.logdir, args.out, size=(args.width, args.height)):
            print(path)
    except ScreenshotError as e:
        print("error: %s" % e, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
