"""The command line: flags to configurations, errors to one line.

The scripts in ``examples/`` declare their model flags, then call :func:`train`,
:func:`sample`, :func:`evaluate` or :func:`figures` through :func:`main`, which turn the flags into the
plain arguments of :mod:`draw.run` and every expected error into ``error: ...`` and exit
status 2. This module does not import MXNet: :func:`main` first chooses the OpenMP
threads (:func:`draw.runtime.setup`), then the application is loaded.
"""
import argparse
import dataclasses
import math
import os
import sys

from .config import (DATA_DIR_ENV, KVSTORES, SOURCE_ENV, TrainConfig, default_data_dir,
                     default_source)
from .schedule import SCHEDULES
from .errors import CheckpointError, DatasetError, TrainingError, UsageError

#: what examples/curves.py draws by default (draw.curves.DEFAULT_TAGS, without importing it)
DEFAULT_CURVE_TAGS = ("train/loss", "val/total")


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one-line errors: ``error: <problem> (see <prog> --help)``, status 2."""

    def error(self, message):
        self.exit(2, "error: %s (see %s --help)\n" % (message, self.prog))


def script_parser(doc, run_dir=False, pretrained=False):
    """The parser of an example script: its docstring as description, one-line errors;
    with ``run_dir``, the positional run directory and ``--step`` of sample/evaluate
    (with ``pretrained``, the positional may also name pretrained weights)."""
    p = ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    if run_dir:
        p.add_argument("checkpoint", help="run directory (holds args.json and checkpoints)"
                       + (", or pretrained weights: a name in assets/pretrained such as "
                          "convdraw_drawers, or a .params file with its .json"
                          if pretrained else ""))
        p.add_argument("--step", type=non_negative_int, default=None,
                       help="checkpoint step (default newest)")
    return p


def positive_int(value):
    v = int(value)
    if v < 1:
        raise argparse.ArgumentTypeError("must be a positive integer, got %s" % value)
    return v


def non_negative_int(value):
    v = int(value)
    if v < 0:
        raise argparse.ArgumentTypeError("must be >= 0, got %s" % value)
    return v


def positive_float(value):
    v = float(value)
    if not (math.isfinite(v) and v > 0):
        raise argparse.ArgumentTypeError("must be positive and finite, got %s" % value)
    return v


def non_negative_float(value):
    v = float(value)
    if not (math.isfinite(v) and v >= 0):
        raise argparse.ArgumentTypeError("must be >= 0 and finite, got %s" % value)
    return v


def bounded_int(low, high):
    """An argparse type: an integer in [low, high] (sizes whose memory or time grows
    with them get an upper bound, so a typo is refused instead of tried)."""
    def parse(value):
        v = int(value)
        if v < low:
            raise argparse.ArgumentTypeError(
                ("must be a positive integer, got %s" if low == 1 else
                 "must be >= 0, got %s" if low == 0 else
                 "must be at least %d, got %%s" % low) % value)
        if v > high:
            raise argparse.ArgumentTypeError("must be at most %d, got %s" % (high, value))
        return v
    parse.__name__ = "integer"
    return parse


#: seeds of NumPy's RandomState (figures, sampling, evaluation noise)
seed_int = bounded_int(0, 2 ** 32 - 1)


def finite_float(value):
    v = float(value)
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError("must be a finite number, got %s" % value)
    return v


def unit_interval_float(value):
    v = float(value)
    if not 0 < v <= 1:
        raise argparse.ArgumentTypeError("must be in (0, 1], got %s" % value)
    return v


def unit_float(value):
    v = float(value)
    if not 0 <= v < 1:
        raise argparse.ArgumentTypeError("must be in [0, 1), got %s" % value)
    return v


#: argparse types of the :class:`draw.config.TrainConfig` fields' ``kind``
_KINDS = {"positive_int": positive_int, "non_negative_int": non_negative_int,
          "positive_float": positive_float, "non_negative_float": non_negative_float,
          "unit_float": unit_float, "unit_interval_float": unit_interval_float, "int": int}


def _add_setting(group, f, default):
    """The flag ``--<name>`` of a :class:`TrainConfig` field."""
    meta = f.metadata
    kwargs = dict(default=default, help="%s (default %%(default)s)" % meta["help"])
    if meta["kind"] == "kvstore":
        kwargs["choices"] = KVSTORES
    elif meta["kind"] == "lr_schedule":
        kwargs["choices"] = SCHEDULES
    else:
        kwargs["type"] = _KINDS[meta["kind"]]
    group.add_argument("--" + f.name, *meta["flags"], **kwargs)


def add_model_args(parser, preset, flags):
    """A "model" group of positive-integer flags ``--<argument>`` for constructor
    arguments of a :mod:`draw.registry` preset, whose values are the defaults.

    ``flags`` maps each argument to ``(short flag or None, help text)``. Returns the
    preset's arguments (for what has no flag, such as the image shape) and the group.
    """
    from .registry import PRESETS
    kwargs = PRESETS[preset][1]
    group = parser.add_argument_group("model")
    for name, (short, text) in flags.items():
        group.add_argument(*(["--" + name] + ([short] if short else [])), type=positive_int,
                           default=kwargs[name], help="%s (default %%(default)s)" % text)
    return kwargs, group


def add_train_args(parser, **defaults):
    """Flags common to both trainers: every :class:`draw.config.TrainConfig` field with
    help text, plus devices, run directory and data; ``defaults`` override the
    TrainConfig defaults (and set ``logdir``)."""
    base = TrainConfig().to_dict()
    groups = {name: parser.add_argument_group(name)
              for name in ("training", "learning-rate schedule", "devices", "output", "data")}
    settings = {f.name: f for f in dataclasses.fields(TrainConfig) if f.metadata["help"]}
    for name in ("batch_size", "learning_rate", "beta1", "beta2", "epochs", "max_steps",
                 "clip_gradient", "seed", "num_val", "val_batch_size"):
        _add_setting(groups["training"], settings.pop(name), defaults.get(name, base[name]))
    schedule = groups["learning-rate schedule"]
    for name in ("lr_schedule", "lr_min", "lr_decay_factor", "lr_decay_epochs",
                 "lr_warmup_steps", "lr_schedule_steps", "lr_schedule_start"):
        _add_setting(schedule, settings.pop(name), defaults.get(name, base[name]))
    d_ = groups["devices"]
    d_.add_argument("--gpu", action="store_true", help="train on GPU 0")
    d_.add_argument("--gpus", default=None, help="train on several GPUs, e.g. 0,1")
    d_.add_argument("--cpus", type=positive_int, default=1,
                    help="number of CPU contexts (to exercise multi-device code on a CPU)")
    _add_setting(d_, settings.pop("kvstore"), defaults.get("kvstore", base["kvstore"]))
    add_amp_args(d_)
    o = groups["output"]
    o.add_argument("--logdir", default=defaults.get("logdir", "runs/run"),
                   help="run directory: mxboard events, checkpoints, samples "
                        "(default %(default)s)")
    o.add_argument("--resume", metavar="DIR", default=None,
                   help="continue the run in DIR from its newest checkpoint")
    o.add_argument("--accept_other_data", action="store_true",
                   help="with --resume: continue although the converted dataset differs "
                        "from the one the run recorded (its sha256)")
    o.add_argument("--init_from", metavar="WEIGHTS", default=None,
                   help="warm start a new run from pretrained weights: a name in "
                        "assets/pretrained or a .params file with its .json record "
                        "(optimizer and step counter start afresh)")
    for name in ("log_every", "hist_every", "checkpoint_every"):
        _add_setting(o, settings.pop(name), defaults.get(name, base[name]))
    o.add_argument("--no_epoch_checkpoints", dest="checkpoint_each_epoch",
                   action="store_false", help="no checkpoint at epoch ends")
    for name in ("keep_checkpoints", "max_nonfinite"):
        _add_setting(o, settings.pop(name), defaults.get(name, base[name]))
    o.add_argument("--no_progress", action="store_true", help="no progress bar")
    assert not settings, "TrainConfig fields without a flag: %s" % sorted(settings)
    add_data_args(groups["data"])
    return parser


def add_data_args(parser):
    """``--data_dir`` and ``--source``: where converted datasets are, and the original
    files a conversion uses."""
    parser.add_argument("--data_dir", default=default_data_dir(),
                        help="converted datasets (default $DRAW_DATA_DIR or "
                             "~/.mxnet/datasets/draw)")
    parser.add_argument("--source", default=default_source(),
                        help="directory of original dataset files used if a conversion is "
                             "needed (default $DRAW_DATA_SOURCE; unset = download)")
    return parser


def train_config(args, **settings):
    """The :class:`TrainConfig` of parsed trainer flags; ``settings`` are the fields that
    have no flag (``binarize``, ``val_every``, ``val_each_epoch``)."""
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    values = {k: v for k, v in vars(args).items() if k in names}
    return TrainConfig(**dict(values, **settings))


def explicit_options(parser, argv):
    """Destinations of the options given in ``argv``, however they were spelled
    (abbreviated ``--max_st 40``, attached ``-s8``, ``--seed=3``): ``argv`` is parsed
    again with every default suppressed, so only what was given is set."""
    defaults = [(a, a.default) for a in parser._actions]
    try:
        for action, _ in defaults:
            action.default = argparse.SUPPRESS
        given, _ = parser.parse_known_args(argv)
    finally:
        for action, default in defaults:
            action.default = default
    return set(vars(given))


def contexts(args):
    """Devices of ``--gpu`` / ``--gpus`` / ``--cpus`` (flags a script may lack)."""
    from .context import parse_contexts
    return parse_contexts(getattr(args, "gpu", False), getattr(args, "gpus", None),
                          getattr(args, "cpus", 1))


def environment(args, devices=None):
    """The :class:`draw.config.Environment` of parsed flags: the devices (``devices`` of
    them, default all), ``--data_dir``, ``--source`` and ``--no_progress`` (flags a
    script may lack)."""
    from .config import Environment
    return Environment(contexts=tuple(contexts(args)[:devices]),
                       data_dir=getattr(args, "data_dir", None),
                       source=getattr(args, "source", None),
                       progress=not getattr(args, "no_progress", False),
                       amp=getattr(args, "amp", False))


def add_amp_args(parser):
    """``--amp``: mixed precision (:mod:`draw.precision`)."""
    parser.add_argument("--amp", action="store_true",
                        help="mixed precision: bfloat16 on a CPU with AVX512_BF16 or AMX, "
                             "float16 with dynamic loss scaling on GPUs (parameters and "
                             "checkpoints stay float32)")
    return parser


def train(args, model_cfg, dataset, explicit=(), **settings):
    """Start or (``--resume``) continue a run from parsed trainer flags.

    ``model_cfg`` is ``{"kind", "kwargs"}`` from the script's model flags, ``settings``
    the :class:`TrainConfig` fields without a flag, ``explicit`` the destinations of the
    flags given on the command line (:func:`explicit_options`): on resume only those
    count as requested changes.
    """
    from . import run
    env = environment(args)
    config = train_config(args, **settings)
    if args.accept_other_data and not args.resume:
        raise UsageError("--accept_other_data is for --resume (a new run records the "
                         "dataset it trains on)")
    if args.resume:
        if "logdir" in explicit and args.logdir != args.resume:
            raise UsageError("--logdir %s and --resume %s name different runs: give only "
                             "--resume" % (args.logdir, args.resume))
        if args.init_from:
            raise UsageError("--init_from starts a new run; --resume %s continues from its "
                             "own checkpoint: give one of them" % args.resume)
        requested = dict(model_cfg["kwargs"], dataset=dataset, **config.to_dict())
        changes = {k: v for k, v in requested.items() if k in explicit}
        return run.resume(args.resume, changes=changes, env=env, kind=model_cfg["kind"],
                          accept_other_data=args.accept_other_data)
    return run.train(model_cfg, config, dataset, args.logdir, env=env,
                     init_from=args.init_from)


def saved_batch_size(args):
    """The batch size of the run ``--resume`` names (for flags counted in samples), or
    ``--batch_size`` for a new run."""
    if not args.resume:
        return args.batch_size
    from .rundir import RunDir
    return RunDir(args.resume).read_args()["train"]["batch_size"]


def sample(args):
    """``examples/sample.py``: write the PNG grid and GIF, print their paths."""
    from . import run
    ctx = contexts(args)[0]
    written = run.sample(args.checkpoint, args.out, num_samples=args.num_samples,
                         step=args.step, ctx=ctx, seed=args.seed, gif=not args.no_gif,
                         boxes=not args.no_boxes, prefix=args.prefix)
    for path in written:
        print(path)
    return written


def evaluate(args):
    """``examples/evaluate.py``: print the bound (a classifier: the error) of a
    checkpoint on a split."""
    from . import run
    result = run.evaluate(args.checkpoint, split=args.split, num_images=args.num_images,
                          batch_size=args.batch_size, step=args.step,
                          env=environment(args, devices=1), seed=args.seed,
                          json_path=args.json, iw_samples=args.iw_samples or 0)
    from .objectives import describe
    print("%s step %d: %s split (%d images): %s" % (
        args.checkpoint, result["step"], result["split"], result["images"], describe(result)))
    if args.iw_samples:
        print("K=%d: ELBO %.3f nats (SE %.3f, %.4f bits/dim), importance-weighted bound "
              "%.3f nats (SE %.3f, %.4f bits/dim)"
              % (result["iw_samples"], result["elbo"], result["elbo_se"],
                 result["elbo_bits_per_dim"], result["iw_bound"], result["iw_se"],
                 result["iw_bits_per_dim"]))
    return result


def figures(args):
    """``examples/figures.py``: draw a run's figures, print the written paths."""
    from . import run
    written = run.figures(args.checkpoint, args.out, names=args.figure, step=args.step,
                          env=environment(args, devices=1), seed=args.seed, rows=args.rows,
                          num_images=args.num_images)
    for path in written:
        print(path)
    return written


def curves(args):
    """``examples/curves.py``: plot the runs' curves, print the written paths. A
    warm-started run's steps continue those of the weights it began from
    (:func:`draw.curves.steps_before`)."""
    from .curves import read_csv
    if not args.runs and not args.csv:
        raise UsageError("give a run directory or a --csv this tool wrote")
    labels = args.label or [os.path.basename(os.path.normpath(r)) for r in args.runs]
    if len(labels) != len(args.runs):
        raise UsageError("give one --label per run (%d runs, %d labels)"
                         % (len(args.runs), len(labels)))
    earlier = {}
    for path in args.csv or ():
        earlier.update(read_csv(path))
    if len(set(labels) | set(earlier)) != len(labels) + len(earlier):
        raise UsageError("the runs need distinct labels (got %s): give --label"
                         % ", ".join(list(earlier) + labels))
    from .files import output_dir
    if args.ylim and not args.ylim[0] < args.ylim[1]:
        raise UsageError("--ylim %g %g: LOW must be below HIGH" % tuple(args.ylim))
    if os.path.isdir(args.out):
        raise UsageError("--out %s is a directory; give a .png file name" % args.out)
    if not args.out.lower().endswith(".png"):
        raise UsageError("--out %s: give a .png file name (the numbers go beside it as "
                         ".csv)" % args.out)
    with output_dir(os.path.dirname(os.path.abspath(args.out)), "--out"):
        return _curves(args, labels, earlier)


def _curves(args, labels, earlier):
    """:func:`curves` once its output directory exists."""
    from .curves import plot_curves, scalar_events, steps_before, training_hours
    tags = args.tag or DEFAULT_CURVE_TAGS
    runs = {label: scalar_events(run_dir, list(tags) + ["train/loss"])  # one read per run
            for label, run_dir in zip(labels, args.runs)}
    offsets = {label: steps_before(run_dir) for label, run_dir in zip(labels, args.runs)}
    data = dict(earlier, **{label: {tag: [(e.step + offsets[label], e.value) for e in events]
                                    for tag, events in scalars.items()}
                            for label, scalars in runs.items()})
    written = plot_curves(data, args.out, tags=tags, ylim=args.ylim)
    for path in written:
        print(path)
    for label, events in runs.items():
        hours, step = training_hours(events.get("train/loss", []))
        print("%s: %.2f hours of training to step %d (from the train/loss wall times; "
              "pauses over 15 minutes left out)%s" % (
                  label, hours, step + offsets[label],
                  "; a warm start: its steps counted from the weights' %d" % offsets[label]
                  if offsets[label] else ""))
    return written


def export_pretrained(args):
    """``examples/export_pretrained.py``: a run's checkpoint as pretrained weights."""
    from . import run
    record = run.export_pretrained(args.checkpoint, args.name, directory=args.out,
                                   step=args.step, env=environment(args))
    from .objectives import describe
    print("%s: step %d of %s, %s on %d test images (a seeded subset; sha256 %s)"
          % (args.name, record["source"]["step"], args.checkpoint, describe(record["check"]),
             record["check"]["images"], record["sha256"][:12]))
    return record


def selftest_parser(doc):
    """The flags of ``python -m draw.selftest``: the devices to check."""
    p = script_parser(doc)
    p.add_argument("--gpu", action="store_true", help="check GPU 0")
    p.add_argument("--gpus", default=None, help="check these GPUs, e.g. 0,1")
    p.add_argument("--cpus", type=positive_int, default=1,
                   help="without GPUs: check this many CPU contexts (default 1)")
    p.add_argument("--amp", action="store_true",
                   help="instead: check mixed-precision training on the devices (float16 "
                        "with loss scaling on GPUs, bfloat16 on a CPU)")
    return p


def selftest(args):
    """``python -m draw.selftest``: the device checks of :mod:`draw.smoke`; exit status 1
    when one fails."""
    from .smoke import selftest as run_checks
    if not run_checks(contexts(args), amp=args.amp):
        sys.exit(1)


def converter_parser(name, doc):
    """The parser of a ``data/convert_<name>.py`` script: ``--source``, ``--out``,
    ``--force``, ``--no-checksum``; the script adds its own."""
    p = script_parser(doc)
    p.add_argument("--source", default=default_source(),
                   help="directory holding the original files (default: $%s; if unset, "
                        "download from the official URLs)" % SOURCE_ENV)
    p.add_argument("--out", default=default_data_dir(),
                   help="output directory (default: $%s or ~/.mxnet/datasets/draw)"
                        % DATA_DIR_ENV)
    p.add_argument("--force", action="store_true", help="convert even if up to date")
    p.add_argument("--no-checksum", dest="verify", action="store_false",
                   help="accept files whose sha256 differs from the published one (their "
                        "structure is still validated)")
    return p


def convert(name, args, settings=None):
    """Convert dataset ``name`` with the flags of :func:`converter_parser` and the
    converter's own ``settings`` (a dict, e.g. Omniglot's ``split``)."""
    from .datasets import CONVERTERS
    return CONVERTERS[name](out_dir=args.out, source=args.source, verify=args.verify,
                            force=args.force, **(settings or {}))


def main(fn, *fn_args, needs_mxnet=True):
    """Set up the process (:func:`draw.runtime.setup`; not for a tool that does not use
    MXNet, ``needs_mxnet=False``), run ``fn``, and turn expected errors into one line on
    stderr and exit status 2 (1 when training stopped because it diverged)."""
    import signal

    from . import runtime

    def interrupt(signum, frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)
    # SIGTERM as SIGINT outside the training loop (which checkpoints on either): start-up
    # and the other tools end through the same clean-up
    signal.signal(signal.SIGTERM, interrupt)
    try:
        args = fn_args[0] if fn_args else None
        if needs_mxnet:
            runtime.setup(gpu=bool(getattr(args, "gpu", False) or getattr(args, "gpus", None)))
        return fn(*fn_args)
    except (UsageError, DatasetError, CheckpointError, ImportError) as e:
        print("error: %s" % e, file=sys.stderr)
        sys.exit(2)
    except TrainingError as e:
        print("error: %s" % e, file=sys.stderr)
        sys.exit(1)
    except OSError as e:  # e.g. a full disk or a read-only directory
        where = ": %s" % e.filename if getattr(e, "filename", None) else ""
        print("error: %s%s" % (e.strerror or e, where), file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt as e:
        print("error: interrupted (%s)" % (e.args[0] if e.args else "SIGINT"), file=sys.stderr)
        sys.exit(130)
