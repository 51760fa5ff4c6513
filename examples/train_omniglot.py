#!/usr/bin/env python
"""Train Convolutional DRAW on Omniglot (Gregor et al. 2016). Defaults are the reference
configuration: batch 32, 16 steps, 3 latent maps, 64 recurrent maps, 5x5 kernels, Adam 5e-4,
gradient-norm clipping at 10, 500,000 training samples, validation on 128 test images
every 20,000 samples and on the whole test split at the end.

    python examples/train_omniglot.py --gpu
    python examples/train_omniglot.py --gpus 0,1 -b 64 --logdir results/2gpu
    python examples/train_omniglot.py --resume results
"""
import sys

from draw.cli import (add_model_args, add_train_args, explicit_options, main, positive_int,
                      saved_batch_size, script_parser, train)
from draw.config import OMNIGLOT_SPLITS
from draw.errors import UsageError
from draw.registry import PRESETS

REFERENCE = PRESETS["convdraw_omniglot"][1]  # the defaults
#: the reference's flags that the trainers' settings can replace: flag -> (setting, what
#: both set); the flags count samples or images, the settings updates or images
REFERENCE_FLAGS = {
    "num_train_samples": ("max_steps", "the training length (updates or samples)"),
    "checkpoint_freq": ("checkpoint_every", "the checkpoint period (updates or samples)"),
    "num_val_samples": ("num_val", "the number of validation images"),
}


def parser():
    p = script_parser(__doc__)
    add_model_args(p, "convdraw_omniglot", {
        "num_steps": ("-s", "T"), "num_latent_maps": ("-l", "latent maps per step"),
        "num_recurrent_maps": ("-u", "ConvLSTM hidden maps"),
        "kernel_size": ("-k", "odd kernel size of every convolution, below the image size")})
    r = p.add_argument_group("schedule (in samples, as the reference)")
    r.add_argument("--num_train_samples", "-t", type=positive_int, default=500000,
                   help="training length in samples (or --max_steps in updates) (default 500000)")
    r.add_argument("--num_val_samples", "-v", type=positive_int, default=128,
                   help="test images per periodic validation (or --num_val) (default 128)")
    r.add_argument("--val_freq", "-f", type=positive_int, default=20000,
                   help="validate and log samples every N training samples (default 20000)")
    r.add_argument("--checkpoint_freq", type=positive_int, default=100000,
                   help="checkpoint every N training samples (or --checkpoint_every in "
                   "updates) (default 100000)")
    r.add_argument("--split", choices=OMNIGLOT_SPLITS, default="drawers",
                   help="drawers: 14/6 drawers of every character; alphabets: Lake et al.")
    return add_train_args(p, batch_size=32, learning_rate=5e-4, epochs=10 ** 6,
                          logdir="results", log_every=100, hist_every=1000)


def run(args, explicit):
    per = saved_batch_size(args)  # the resumed run's: the schedule flags count samples
    for name in ("num_train_samples", "val_freq", "checkpoint_freq"):
        if getattr(args, name) < per:
            raise UsageError("--%s (%d) is smaller than the batch size (%d)"
                             % (name, getattr(args, name), per))
    # given both a reference flag and the setting it stands for, which one wins would be a
    # guess; given one, it decides (an explicit setting is never replaced by the other
    # flag's default)
    for flag, (setting, what) in REFERENCE_FLAGS.items():
        if {setting, flag} <= explicit:
            raise UsageError("--%s and --%s set %s: give one of them" % (setting, flag, what))
    if not ("max_steps" in explicit and args.max_steps):  # 0: the default, the samples
        args.max_steps = args.num_train_samples // per
    if "checkpoint_every" not in explicit:
        args.checkpoint_every = args.checkpoint_freq // per
    if "num_val" not in explicit:
        args.num_val = args.num_val_samples
    renamed = {flag: setting for flag, (setting, _) in REFERENCE_FLAGS.items()}
    renamed.update(val_freq="val_every", split="dataset")
    explicit = explicit | {renamed[k] for k in explicit if k in renamed}
    model = {"kind": "convdraw", "kwargs": dict(
        image_shape=REFERENCE["image_shape"], num_steps=args.num_steps,
        num_latent_maps=args.num_latent_maps,
        num_recurrent_maps=args.num_recurrent_maps, kernel_size=args.kernel_size)}
    dataset = "omniglot" if args.split == "drawers" else "omniglot_alphabets"
    return train(args, model, dataset, explicit=explicit, binarize="dynamic",
                 val_every=args.val_freq // per, val_each_epoch=False)


if __name__ == "__main__":
    p = parser()  # flags are parsed (and --help answered) before MXNet loads
    main(run, p.parse_args(sys.argv[1:]), explicit_options(p, sys.argv[1:]))
