"""Command-line plumbing shared by the example scripts (train, sample).

The scripts in ``examples/`` only declare their model flags and call :func:`run_train`
or :func:`run_sample`; everything here is importable and tested.
"""
import argparse
import logging
import os
import sys
import time

import mxnet as mx

from . import checkpoint, events
from .checkpoint import CheckpointError
from .context import UsageError, parse_contexts
from .distributed import KVSTORES, create_kvstore
from .datasets import (DatasetError, default_data_dir, default_source, ensure_dataset,
                       fixed_binarization, load_dataset)
from .evaluate import evaluate_bound
from .registry import model_config, model_from_config
from .loss import ModelWithLoss
from .train import (DEFAULTS, Trainer, TrainingError, param_digest,
                    summarize_run, write_samples)

log = logging.getLogger("draw")

#: Settings that may be changed when resuming (everything else comes from args.json).
RESUME_OVERRIDES = ("epochs", "max_steps", "log_every", "hist_every", "checkpoint_every",
                    "keep_checkpoints", "checkpoint_each_epoch", "max_nonfinite", "val_every",
                    "kvstore")


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one-line errors: ``error: <problem> (see <prog> --help)``, status 2."""

    def error(self, message):
        self.exit(2, "error: %s (see %s --help)\n" % (message, self.prog))


def script_parser(doc, run_dir=False):
    """The parser of an example script: its docstring as description, one-line errors;
    with ``run_dir``, the positional run directory and ``--step`` of sample/evaluate."""
    p = ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    if run_dir:
        p.add_argument("checkpoint", help="run directory (holds args.json and checkpoints)")
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
    if not v > 0:
        raise argparse.ArgumentTypeError("must be positive, got %s" % value)
    return v


def add_train_args(parser, **defaults):
    """Flags common to both trainers; ``defaults`` override :data:`draw.train.DEFAULTS`."""
    d = dict(DEFAULTS, **defaults)
    g = parser.add_argument_group("training")
    g.add_argument("--batch_size", "-b", type=positive_int, default=d["batch_size"],
                   help="global batch size, split over devices (default %(default)s)")
    g.add_argument("--learning_rate", "-r", type=positive_float, default=d["learning_rate"],
                   help="Adam learning rate (default %(default)s)")
    g.add_argument("--epochs", type=positive_int, default=d["epochs"],
                   help="number of epochs (default %(default)s)")
    g.add_argument("--max_steps", type=non_negative_int, default=d["max_steps"],
                   help="stop after this many updates in total, 0 = no limit")
    g.add_argument("--clip_gradient", type=float, default=d["clip_gradient"],
                   help="clip the global gradient norm of the mean loss; 0 = off "
                        "(default %(default)s)")
    g.add_argument("--seed", type=int, default=d["seed"], help="random seed (default 0)")
    g.add_argument("--num_val", type=non_negative_int, default=d["num_val"],
                   help="validate on the first N validation images, 0 = all")
    d_ = parser.add_argument_group("devices")
    d_.add_argument("--gpu", action="store_true", help="train on GPU 0")
    d_.add_argument("--gpus", default=None, help="train on several GPUs, e.g. 0,1")
    d_.add_argument("--cpus", type=positive_int, default=1,
                    help="number of CPU contexts (to exercise multi-device code on a CPU)")
    d_.add_argument("--kvstore", default=d["kvstore"], choices=KVSTORES,
                    help="kvstore for several devices (default %(default)s); dist_sync / "
                         "dist_device_sync train on several machines (see "
                         "examples/launch_local.py)")
    o = parser.add_argument_group("output")
    o.add_argument("--logdir", default=d.get("logdir", "runs/run"),
                   help="run directory: mxboard events, checkpoints, samples "
                        "(default %(default)s)")
    o.add_argument("--resume", metavar="DIR", default=None,
                   help="continue the run in DIR from its newest checkpoint")
    o.add_argument("--log_every", type=positive_int, default=d["log_every"],
                   help="log training scalars every N steps (default %(default)s)")
    o.add_argument("--hist_every", type=non_negative_int, default=d["hist_every"],
                   help="log gradient histograms every N steps, 0 = never")
    o.add_argument("--checkpoint_every", type=non_negative_int, default=d["checkpoint_every"],
                   help="also checkpoint every N steps (always at each epoch end), 0 = off")
    o.add_argument("--no_epoch_checkpoints", dest="checkpoint_each_epoch",
                   action="store_false", help="no checkpoint at epoch ends")
    o.add_argument("--keep_checkpoints", type=positive_int, default=d["keep_checkpoints"],
                   help="keep the newest K checkpoints (default %(default)s)")
    o.add_argument("--no_progress", action="store_true", help="no progress bar")
    o.add_argument("--max_nonfinite", type=non_negative_int, default=d["max_nonfinite"],
                   help="stop after N consecutive steps with a non-finite loss or gradient "
                        "(each is skipped), 0 = never (default %(default)s)")
    s = parser.add_argument_group("data")
    s.add_argument("--data_dir", default=default_data_dir(),
                   help="converted datasets (default $DRAW_DATA_DIR or ~/.mxnet/datasets/draw)")
    s.add_argument("--source", default=default_source(),
                   help="directory of original dataset files used if a conversion is needed "
                        "(default $DRAW_DATA_SOURCE; unset = download)")
    return parser


def explicit_options(parser, argv):
    """Destinations of the options actually present in ``argv``."""
    given = {a.split("=", 1)[0] for a in argv if a.startswith("-")}
    return {a.dest for a in parser._actions if given & set(a.option_strings)}


def setup_logging(logdir=None):
    """Log the ``draw`` logger's INFO lines to stderr (and ``<logdir>/train.log``)."""
    log.setLevel(logging.INFO)
    if not any(getattr(h, "_draw_console", False) for h in log.handlers):
        console = logging.StreamHandler(sys.stderr)
        console.setFormatter(logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))
        console._draw_console = True
        log.addHandler(console)
    if logdir:
        for old in [h for h in log.handlers if isinstance(h, logging.FileHandler)]:
            log.removeHandler(old)
            old.close()
        handler = logging.FileHandler(os.path.join(logdir, "train.log"))
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        log.addHandler(handler)


def _check_logdir(logdir):
    """Refuse to mix two runs in one directory (checked before anything is written)."""
    if os.path.exists(logdir) and not os.path.isdir(logdir):
        raise UsageError("--logdir %s exists and is not a directory" % logdir)
    if os.path.isfile(os.path.join(logdir, "args.json")):
        raise UsageError("%s already holds a run: continue it with --resume %s, or choose "
                         "another --logdir" % (logdir, logdir))
    if os.path.isdir(logdir) and os.listdir(logdir):
        raise UsageError("--logdir %s is not empty and holds no run of ours; choose an "
                         "empty or new directory" % logdir)
    parent = os.path.dirname(os.path.abspath(logdir))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.access(parent if not os.path.isdir(logdir) else logdir, os.W_OK):
        raise UsageError("cannot write to --logdir %s (permission denied)" % logdir)


def _create_logdir(logdir):
    try:
        os.makedirs(logdir, exist_ok=True)
        probe = os.path.join(logdir, ".write-test")
        open(probe, "w").close()
        os.remove(probe)
    except OSError as e:
        raise UsageError("cannot write to --logdir %s (%s)" % (logdir, e.strerror)) from None


def run_train(args, model_cfg, dataset, binarize=None, explicit=()):
    """Train a model from parsed CLI ``args`` (see :func:`add_train_args`).

    Parameters
    ----------
    model_cfg : dict
        ``{"kind", "kwargs"}`` (ignored when resuming: the run's args.json wins).
    dataset : str
        Converted dataset name (e.g. ``binarized_mnist``).
    binarize : None or 'dynamic'
    explicit : set of str
        CLI options given explicitly (only these override a resumed run's settings).
    """
    start = time.time()
    setup_logging()
    train_cfg = {k: getattr(args, k) for k in DEFAULTS if hasattr(args, k)}
    train_cfg["binarize"] = binarize
    if args.resume:
        logdir = args.resume
        try:
            saved = checkpoint.read_json(os.path.join(logdir, "args.json"))
        except (OSError, ValueError) as e:
            raise UsageError("--resume %s: no readable args.json (%s)" % (logdir, e)) from None
        _check_resume_request(saved, model_cfg, dataset, train_cfg, explicit)
        model_cfg, dataset = saved["model"], saved["dataset"]
        overrides = {k: v for k, v in train_cfg.items() if k in explicit and k in RESUME_OVERRIDES}
        train_cfg = dict(DEFAULTS, **dict(saved["train"], **overrides))
    else:
        logdir = args.logdir
    ctxs = parse_contexts(args.gpu, args.gpus, args.cpus)
    kvstore, rank, num_workers = create_kvstore(train_cfg["kvstore"], len(ctxs))
    writes = rank == 0  # only rank 0 of a distributed run writes files
    if not args.resume and writes:
        _check_logdir(logdir)
    if train_cfg["batch_size"] % num_workers:
        raise UsageError("--batch_size %d (global) is not divisible by the %d workers"
                         % (train_cfg["batch_size"], num_workers))
    try:
        model = model_from_config(model_cfg)
    except (TypeError, ValueError) as e:
        raise UsageError("bad model settings: %s" % e) from None
    path = ensure_dataset(dataset, args.data_dir, args.source, log=log.info)
    arrays, meta = load_dataset(path, require=("train_x",))
    val_key = "val_x" if "val_x" in arrays else "test_x"  # Omniglot validates on its test split
    if val_key not in arrays:
        raise DatasetError("%s: has neither val_x nor test_x to validate on" % path)
    image_shape = tuple(arrays["train_x"].shape[1:])
    if image_shape != tuple(model.config()["image_shape"]):
        raise UsageError("dataset %s has images %s but the model expects %s"
                         % (dataset, image_shape, tuple(model.config()["image_shape"])))
    if train_cfg["batch_size"] > len(arrays["train_x"]):
        raise UsageError("--batch_size %d is larger than the training set (%d)"
                         % (train_cfg["batch_size"], len(arrays["train_x"])))
    val = arrays[val_key]
    if binarize == "dynamic":  # evaluate on one fixed binarization of the validation set
        val = fixed_binarization(val)
    if not args.resume and writes:
        _create_logdir(logdir)
        checkpoint.write_json(os.path.join(logdir, "args.json"), {
            "model": model_config(model), "dataset": dataset, "train": train_cfg,
            "dataset_meta": {"converter_version": meta.get("converter_version"),
                             "nd_sha256": meta.get("nd_sha256")}})
    setup_logging(logdir if writes else None)
    # seeded initialisation, finished by one forward pass (deferred shapes), so every
    # worker of a distributed run starts from the same parameters
    mx.random.seed(train_cfg["seed"])
    model.initialize(mx.init.Xavier(), ctx=ctxs)
    model(mx.nd.zeros((1,) + image_shape, ctx=ctxs[0]))
    trainer = Trainer(model, arrays["train_x"], val, train_cfg, ctxs, logdir, kvstore=kvstore)
    if args.resume:
        partial = checkpoint.remove_partial(logdir) if writes else []
        if partial:
            log.info("removed files left half-written by the interrupted run: %s",
                     ", ".join(sorted(partial)))
        state = checkpoint.load(logdir, model, trainer.trainer, ctx=ctxs)
        trainer.restore_state(state)
        log.info("resumed %s at step %d (epoch %d, batch %d)", logdir, state["step"],
                 state["epoch"], state["batch"])
        removed = events.trim_events(logdir, state["step"]) if writes else 0
        if removed:
            log.info("removed %d event records logged after step %d by the interrupted run",
                     removed, state["step"])
    writer = None
    if writes:
        from mxboard import SummaryWriter
        writer = SummaryWriter(logdir=logdir, flush_secs=10)
    try:
        result = trainer.fit(writer, progress=not args.no_progress and writes)
        if num_workers > 1:
            log.info("worker %d of %d: step %d, parameter digest %s", rank, num_workers,
                     trainer.state["step"], param_digest(model))
        if trainer.interrupted or not writes:
            return result
        written = write_samples(model, logdir, n=64, ctx=ctxs[0], seed=train_cfg["seed"])
        log.info("wrote %s", ", ".join(written))
    finally:
        if writer is not None:
            writer.close()
    summarize_run(logdir, result, time.time() - start, trainer.state["step"])
    return result


def _check_resume_request(saved, model_cfg, dataset, train_cfg, explicit):
    """Refuse explicit options that contradict the run being resumed."""
    conflicts = []
    for key, value in model_cfg["kwargs"].items():
        if key in explicit and saved["model"]["kwargs"].get(key) != value:
            conflicts.append("%s=%s (run has %s)" % (key, value, saved["model"]["kwargs"].get(key)))
    if "dataset" in explicit and dataset != saved["dataset"]:
        conflicts.append("dataset=%s (run has %s)" % (dataset, saved["dataset"]))
    for key, value in train_cfg.items():
        if (key in explicit and key not in RESUME_OVERRIDES
                and key in saved["train"] and saved["train"][key] != value):
            conflicts.append("%s=%s (run has %s)" % (key, value, saved["train"][key]))
    if conflicts:
        raise UsageError("--resume: the run was started with other settings: %s; resume "
                         "without them or start a new run" % ", ".join(conflicts))


def run_sample(args):
    """``examples/sample.py``: rebuild from ``args.json``, load params, write PNG + GIF."""
    ctxs = parse_contexts(args.gpu, None, 1)
    model, _, _ = _load_run(args.checkpoint, args.step, ctxs[0])
    out = args.out or args.checkpoint
    written = write_samples(model, out, n=args.num_samples, ctx=ctxs[0], seed=args.seed,
                            gif=not args.no_gif, boxes=not args.no_boxes, prefix=args.prefix)
    for path in written:
        print(path)
    return written


def _load_run(directory, step, ctx):
    """Model of the run in ``directory`` with the parameters of its checkpoint ``step``
    (default: newest). Returns ``(model, saved args, checkpoint state)``."""
    try:
        saved = checkpoint.read_json(os.path.join(directory, "args.json"))
    except (OSError, ValueError):
        raise UsageError("%s: not a run directory (no readable args.json)" % directory) from None
    try:
        model = model_from_config(saved["model"])
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError("%s/args.json: bad model settings (%s)" % (directory, e)) from None
    state = checkpoint.load(directory, model, None, ctx=ctx, step=step)
    return model, saved, state


def run_evaluate(args):
    """``examples/evaluate.py``: the variational bound of a checkpoint on a data split."""
    ctxs = parse_contexts(args.gpu, None, 1)
    model, saved, state = _load_run(args.checkpoint, args.step, ctxs[0])
    path = ensure_dataset(saved["dataset"], args.data_dir, args.source, log=log.info)
    key = args.split + "_x"
    arrays, _ = load_dataset(path, require=())
    if key not in arrays:
        raise UsageError("dataset %s has no %s split (has: %s)" % (
            saved["dataset"], args.split,
            ", ".join(sorted(k[:-2] for k in arrays if k.endswith("_x")))))
    images = arrays[key][:args.num_images] if args.num_images else arrays[key]
    if saved["train"].get("binarize") == "dynamic":  # the fixed binarization training used
        images = fixed_binarization(images)
    net = ModelWithLoss(model)
    net.hybridize(static_alloc=True)
    mx.random.seed(args.seed)
    result = evaluate_bound(net, images, args.batch_size, ctxs)
    result.update(split=args.split, images=len(images), step=state["step"],
                  dataset=saved["dataset"])
    print("%s step %d: %s split (%d images): bound %.3f nats (reconstruction %.3f, KL %.3f)"
          % (args.checkpoint, state["step"], args.split, len(images), result["total"],
             result["reconstruction"], result["kl"]))
    if args.json:
        checkpoint.write_json(args.json, result)
    return result


def main(fn, *fn_args):
    """Run ``fn``; turn expected errors into one line on stderr and exit status 2
    (1 when training stopped because it diverged)."""
    try:
        return fn(*fn_args)
    except (UsageError, DatasetError, CheckpointError) as e:
        print("error: %s" % e, file=sys.stderr)
        sys.exit(2)
    except TrainingError as e:
        print("error: %s" % e, file=sys.stderr)
        sys.exit(1)
