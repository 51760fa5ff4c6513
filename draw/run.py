"""The application: train, resume, sample and evaluate with plain arguments.

Each function owns the order of one job's life (check the request, build the model, get
the data, create or open the run directory, hand over to the training loop, write the
results) and raises :mod:`draw.errors` exceptions with a one-line message. The
command-line tools (:mod:`draw.cli`) only turn flags into these arguments; a notebook
calls the same functions::

    from draw import run
    from draw.config import Environment, TrainConfig
    run.train({"kind": "draw", "kwargs": {...}}, TrainConfig(max_steps=500),
              "binarized_mnist", "runs/draw", env=Environment(progress=False))
    run.resume("runs/draw", changes={"max_steps": 1000})

Where and how a job runs (devices, data locations, progress bars) is one
:class:`draw.config.Environment`, passed whole.
"""
import logging
import os
import time
from collections import namedtuple

import mxnet as mx
import numpy as np

from . import precision, schedule
from .base import GenerativeModel
from .config import RESUMABLE, Environment, TrainConfig
from .batches import GeneratedImages, fixed_binarization, take_subset
from .datasets import ensure_dataset, load_examples
from .distributed import launched
from .errors import CheckpointError, DatasetError, TrainingError, UsageError
from .evaluate import importance_weighted_bound
from .files import output_dir, without_nonfinite, write_json
from .logs import setup_logging
from .loss import ImportanceWeights
from .registry import model_config, model_from_config, model_from_weights
from .rundir import RunDir
from .train import Trainer, param_digest, write_samples

log = logging.getLogger("draw")


#: the script that trains each model kind
TRAINERS = {"draw": "examples/train_mnist.py", "convdraw": "examples/train_omniglot.py",
            "classifier": "examples/train_cluttered_mnist.py"}


def train(model_config, train_config, dataset, run_dir, env=None, init_from=None):
    """Start a new run in ``run_dir`` (which must be new or empty).

    Parameters
    ----------
    model_config : dict
        ``{"kind": "draw" | "convdraw" | "classifier", "kwargs": constructor arguments}``.
    train_config : TrainConfig
    dataset : str
        Converted dataset name (``binarized_mnist``, ``mnist``, ``omniglot``, ...);
        converted first when missing.
    run_dir : str
    env : Environment, optional
        Devices, data locations and progress bars (default: one CPU, the default
        locations, progress bars).
    init_from : str, optional
        Warm start: begin from these pretrained weights (a name in ``assets/pretrained``
        or a ``.params`` file with its record, :func:`draw.pretrained.resolve`) instead
        of the seeded initialisation; the optimizer starts afresh and the step counter
        at 0. They must be of ``model_config``; ``args.json`` records them (sha256, the
        run and step they come from).

    Returns
    -------
    dict or None
        The final validation result, None when stopped by a signal.
    """
    rd = RunDir(run_dir)
    try:
        return _train(model_config, train_config, dataset, rd, env or Environment(),
                      init_from=init_from)
    finally:
        rd.unlock()


def resume(run_dir, changes=None, env=None, kind=None, accept_other_data=False):
    """Continue the run in ``run_dir`` from its newest loadable checkpoint.

    ``changes`` are settings the caller asked for explicitly, by name: model constructor
    arguments, ``dataset`` or :class:`TrainConfig` fields. Those in
    :data:`draw.config.RESUMABLE` (length, logging and checkpoint periods, kvstore)
    override the run's; any other that differs from the run's is refused. Devices may
    change (``env`` as :func:`train`). ``kind``: the model kind the caller trains; a run
    of another kind is refused. A run that already finished (``result.json``) is
    refused; one that reached its end but not its final validation only finishes. The
    converted dataset must be the one the run recorded (its sha256 in ``args.json``);
    ``accept_other_data`` continues on another one (logged). Returns as :func:`train`.
    """
    rd = RunDir(run_dir)
    saved = rd.read_args()
    if kind is not None and saved["model"]["kind"] != kind:
        raise UsageError("--resume %s: that is a %s run; resume it with the script that "
                         "trains %s (%s)" % (run_dir, saved["model"]["kind"],
                                             saved["model"]["kind"],
                                             TRAINERS.get(saved["model"]["kind"], "?")))
    changes = dict(changes or {})
    _refuse_changes(saved, changes)
    _refuse_schedule_jump(saved, changes)
    train_cfg = TrainConfig.from_dict(saved["train"]).replace(
        **{k: v for k, v in changes.items() if k in RESUMABLE})
    try:
        return _train(saved["model"], train_cfg, saved["dataset"], rd, env or Environment(),
                      resume_from=saved, accept_other_data=accept_other_data)
    finally:
        rd.unlock()


def _refuse_changes(saved, changes):
    """Refuse requested settings that contradict the run being resumed."""
    conflicts = []
    settings = dict(saved["model"]["kwargs"], dataset=saved["dataset"], **saved["train"])
    for key, have in settings.items():  # model, dataset, training: the run's order
        if key in changes and key not in RESUMABLE and changes[key] != have:
            conflicts.append("%s=%s (run has %s)" % (key, changes[key], have))
    if conflicts:
        raise UsageError("--resume: the run was started with other settings: %s; resume "
                         "without them or start a new run" % ", ".join(conflicts))


def _refuse_schedule_jump(saved, changes):
    """A cosine schedule whose length is the run's (``lr_schedule_steps`` 0) would jump
    if a resume changed the run's length: refuse it. With an explicit
    ``lr_schedule_steps`` the length is the schedule's own, and a longer run continues at
    ``lr_min`` after it."""
    train = TrainConfig.from_dict(saved["train"])
    if train.lr_schedule != "cosine" or train.lr_schedule_steps:
        return
    moved = ["--%s %s (run has %s)" % (k, changes[k], getattr(train, k))
             for k in ("epochs", "max_steps") if k in changes and changes[k] != getattr(train, k)]
    if moved:
        raise UsageError("--resume: %s would change the length of the run's cosine "
                         "learning-rate schedule and make its rate jump; resume without it, "
                         "or start a new run with --init_from and --lr_schedule_start "
                         "(see docs/training.md)" % ", ".join(moved))


def _train(model_cfg, cfg, dataset, rd, env, init_from=None, resume_from=None,
           accept_other_data=False):
    """A run's life, new (``init_from``: warm start) or resumed (``resume_from``: its
    ``args.json``), as its steps: the model, the data, the trainer (which checks the
    settings against the data and the devices), the run directory (created and
    recorded, or reopened and its checkpoint restored), fit, finish. Everything a
    request can get wrong is refused before the run directory is written."""
    start = time.time()
    setup_logging()
    precision.use(env.amp, env.devices())  # before any model is built
    if resume_from and not rd.steps():  # refused before anything is read or written
        raise CheckpointError("%s: no checkpoint found" % rd.path)
    try:  # the schedule's own contradictions, before any data is converted or read
        schedule.check(cfg)
    except ValueError as e:
        raise UsageError(str(e)) from None
    if not resume_from and not launched():  # a worker of a distributed job checks later,
        rd.check_new()  # when it knows whether it writes; everyone else before the data
    model, warm = _build_model(model_cfg, init_from)
    caveat = precision.training_caveat(model_cfg["kind"])
    if caveat:
        log.warning("--amp: %s", caveat)
    data = _load_data(model, dataset, cfg.batch_size, env)
    trainer = _make_trainer(model, warm, data, cfg, env.devices(), rd)
    _open_run_dir(rd, trainer, dataset, data, warm, resume_from, accept_other_data)
    result = _fit(trainer, rd, env.progress, resumed=bool(resume_from))
    if trainer.interrupted or not rd.writes:
        return result
    return _finish(trainer, rd, result, start)


#: a run's data (:func:`_load_data`): ``train`` and ``val`` are images, or ``(images,
#: labels)``; ``meta`` the converted file's metadata, ``path`` the file
RunData = namedtuple("RunData", "train val meta path")


def _build_model(model_cfg, init_from):
    """The model of ``model_cfg``, and with ``init_from`` the warm start's
    ``(params file, origin record, init_from)``, checked (record, sha256, shapes)."""
    try:
        model = model_from_config(model_cfg)
    except (TypeError, ValueError) as e:
        raise UsageError("bad model settings: %s" % e) from None
    if not init_from:
        return model, None
    from .pretrained import for_config
    record, params, origin = for_config(model_config(model), init_from)
    model_from_weights(record, params)
    return model, (params, origin, init_from)


def _load_data(model, dataset, batch_size, env):
    """The training and validation data of ``dataset`` (converted first if needed) for
    ``model``: images, with their labels when the model's objective is labelled.
    Validation is on ``val``, or on ``test`` where a dataset has no validation split
    (Omniglot). Returns a :class:`RunData`."""
    labelled = model.objective().labelled
    path = ensure_dataset(dataset, env.data_dir, env.source, log=log.info)
    arrays, meta = load_examples(dataset, path, require=("train_x", "train_y") if labelled
                                 else ("train_x",))
    split = "val" if "val_x" in arrays else "test"
    if split + "_x" not in arrays or (labelled and split + "_y" not in arrays):
        raise DatasetError("%s: has neither val_x nor test_x to validate on" % path)
    image_shape = tuple(arrays["train_x"].shape[1:])
    if image_shape != tuple(model.image_shape):
        raise UsageError("dataset %s has images %s but the model expects %s"
                         % (dataset, image_shape, tuple(model.image_shape)))
    if batch_size > len(arrays["train_x"]):
        raise UsageError("--batch_size %d is larger than the training set (%d)"
                         % (batch_size, len(arrays["train_x"])))
    if isinstance(arrays["train_x"], GeneratedImages):
        log.info("training images of %s: %s", dataset, arrays["train_x"].description)
    if labelled:
        return RunData((arrays["train_x"], arrays["train_y"]),
                       (arrays[split + "_x"], arrays[split + "_y"]), meta, path)
    return RunData(arrays["train_x"], arrays[split + "_x"], meta, path)


def _make_trainer(model, warm, data, cfg, ctxs, rd):
    """The model initialised from ``cfg.seed`` (finished by one forward pass: deferred
    shapes; every worker of a distributed run starts from the same parameters), or
    from the warm start's weights, and its :class:`Trainer`, which makes the kvstore of
    ``cfg.kvstore`` and checks the batch and the schedule against the data. A
    dynamically binarized dataset validates on one fixed binarization of its split."""
    mx.random.seed(cfg.seed)
    model.initialize(mx.init.Xavier(), ctx=ctxs)
    model(mx.nd.zeros((1,) + tuple(model.image_shape), ctx=ctxs[0]))
    if warm:
        model.load_parameters(warm[0], ctx=ctxs)
    val = data.val
    if cfg.binarize == "dynamic":
        val = fixed_binarization(val)
    return Trainer(model, data.train, val, cfg, ctxs, rd)


def _open_run_dir(rd, trainer, dataset, data, warm, resume_from, accept_other_data):
    """Only rank 0 of a distributed run writes. A new run needs a new or empty
    directory, which gets ``args.json`` (model, dataset and its sha256, settings, the
    warm start); a resumed one is locked (one process per run), must continue on the
    dataset it recorded, and gets its newest loadable checkpoint."""
    rd.writes = trainer.rank == 0
    if resume_from:
        rd.lock()  # before anything is read or written
        _check_same_data(rd, resume_from, data, accept_other_data)
        setup_logging(rd.file(rd.LOG) if rd.writes else None)
        _restore(trainer, rd)
        if precision.dtype() != resume_from.get("precision", "float32"):
            log.info("computing in %s (the run started in %s)", precision.dtype(),
                     resume_from.get("precision", "float32"))
        return
    if rd.writes:
        rd.check_new()
        rd.create({"model": model_config(trainer.model), "dataset": dataset,
                   "train": trainer.cfg.to_dict(), "precision": precision.dtype(),
                   **({"init_from": warm[1]} if warm else {}),
                   "dataset_meta": {"converter_version": data.meta.get("converter_version"),
                                    "nd_sha256": data.meta.get("nd_sha256")}})
        setup_logging(rd.file(rd.LOG))
    if warm:
        log.info("warm start from %s (run %s, step %s)", warm[2],
                 warm[1]["source"].get("run"), warm[1]["source"].get("step"))


def _check_same_data(rd, saved, data, accept):
    """A resumed run continues on the converted dataset it trained on: the sha256 of
    the ``.nd`` file (``data``, :class:`RunData`) must be the one ``args.json``
    (``saved``) recorded (runs that recorded none are not checked), unless ``accept``."""
    recorded = (saved.get("dataset_meta") or {}).get("nd_sha256")
    now = data.meta.get("nd_sha256")
    if not recorded or recorded == now:
        return
    if not accept:
        raise UsageError("--resume %s: the converted dataset %s is not the one the run "
                         "trained on (sha256 %s..., the run recorded %s...); convert the "
                         "original files again, or pass --accept_other_data to continue on "
                         "this one" % (rd.path, data.path, str(now)[:12], recorded[:12]))
    log.warning("%s: continuing on another converted dataset than the run trained on "
                "(sha256 %s..., recorded %s...): --accept_other_data", rd.path,
                str(now)[:12], recorded[:12])


def _restore(trainer, rd):
    """Load the newest loadable checkpoint into ``trainer``; record the settings the
    resume changed."""
    rd.prepare_resume()
    state = rd.load_checkpoint(trainer.model, trainer.updater, ctx=trainer.ctxs)
    trainer.restore_state(state)
    if trainer.done() and os.path.exists(rd.file(rd.RESULT)):
        raise UsageError("--resume %s: the run already finished at step %d (see %s); "
                         "give a larger --max_steps or --epochs to train longer"
                         % (rd.path, state["step"], rd.file(rd.RESULT)))
    log.info("resumed %s at step %d (epoch %d, batch %d)%s", rd.path, state["step"],
             state["epoch"], state["batch"],
             "; the run reached its end, only its final validation is left"
             if trainer.done() else "")
    changed = rd.update_train(trainer.cfg.to_dict())
    if changed:
        log.info("settings changed on resume (recorded in %s): %s", rd.ARGS, ", ".join(
            "%s %s -> %s" % (k, old, new) for k, (old, new) in changed.items()))


def _fit(trainer, rd, progress, resumed):
    """Train to the end (or a signal), TensorBoard events in the run directory; the
    objective's outputs after the last step (a generative model's samples). Returns the final validation
    result (None when stopped by a signal)."""
    writer = rd.open_writer(resumed_at=trainer.state["step"] if resumed else None)
    try:
        result = trainer.fit(writer, progress=progress and rd.writes)
        if trainer.num_workers > 1:
            log.info("worker %d of %d: step %d, parameter digest %s", trainer.rank,
                     trainer.num_workers, trainer.state["step"], param_digest(trainer.model))
        if trainer.interrupted or not rd.writes:
            return result
        written = trainer.objective.write_outputs(rd.path, trainer.ctxs[0], trainer.cfg.seed)
        if written:
            log.info("wrote %s", ", ".join(written))
    finally:
        if writer is not None:
            writer.close()
    return result


def _finish(trainer, rd, result, start):
    """``result.json`` with the run's summary; a diverged run is an error."""
    summary = rd.write_result(result, trainer.state["step"], time.time() - start)
    log.info("run summary: %s", summary)
    if summary.get("diverged"):
        raise TrainingError("the run diverged: the final validation bound is %s (see %s)"
                            % (result[trainer.objective.names[0]], rd.file(rd.RESULT)))
    return result


def split_images(dataset, split="test", num_images=0, binarize=None, env=None, labels=False):
    """``num_images`` (0: all) images of a split of a converted dataset (converted first
    if needed), chosen by :func:`draw.batches.evaluation_subset` (seed 0), as a run of
    that dataset validates on them: with
    ``binarize="dynamic"`` (a run's ``train.binarize``) the one fixed binarization of the
    whole split (:func:`draw.batches.fixed_binarization`; an image's draw depends on the
    array's size, so the split is binarized before it is cut). With ``labels``, the
    images' class labels too.

    Returns
    -------
    NDArray, shape (num_images, C, H, W); with ``labels`` a pair ``(images, labels
    (num_images,))``
    """
    key = split + "_x"
    arrays = _dataset_arrays(dataset, env)
    if key not in arrays:
        raise UsageError("dataset %s has no %s split (has: %s)" % (
            dataset, split, ", ".join(sorted(k[:-2] for k in arrays if k.endswith("_x")))))
    images = arrays[key]
    if binarize == "dynamic":
        images = fixed_binarization(images)
    if not labels:
        return take_subset(images, num_images)
    if split + "_y" not in arrays:
        raise UsageError("dataset %s has no labels of its %s split" % (dataset, split))
    return take_subset(images, num_images), take_subset(arrays[split + "_y"], num_images)


def split_positions(dataset, split="test", num_images=0, env=None):
    """The digits' top-left pixels (y, x) (ndarray of int, (num_images, 2)) of the images
    that :func:`split_images` gives, for a dataset whose images are drawn from recipes
    that place a digit (cluttered MNIST)."""
    key = split + "_position"
    arrays = _dataset_arrays(dataset, env)
    if key not in arrays:
        raise UsageError("dataset %s records no digit positions for its %s split (the "
                         "search figure needs cluttered MNIST)" % (dataset, split))
    return take_subset(arrays[key], num_images).asnumpy()


def _dataset_arrays(dataset, env=None):
    """The arrays of a converted dataset (converted first if needed)."""
    env = env or Environment()
    path = ensure_dataset(dataset, env.data_dir, env.source, log=log.info)
    return load_examples(dataset, path, require=())[0]


def _split_images(saved, split, num_images, env, labels=False):
    """:func:`split_images` of the run whose ``args.json`` is ``saved``."""
    return split_images(saved["dataset"], split, num_images, saved["train"].get("binarize"),
                        env, labels)


def _iw_summary(model, images, k, batch_size, ctx, progress):
    """ELBO and importance-weighted bound over ``images`` with their standard errors."""
    from tqdm import tqdm
    weights = ImportanceWeights(model)
    weights.hybridize(static_alloc=True)
    bar = tqdm(total=len(images) * k, unit="sample", disable=not progress, mininterval=1.0,
               desc="importance-weighted bound (K=%d)" % k)
    try:
        elbo, iw = importance_weighted_bound(weights, images, k, batch_size, ctx,
                                             model.latent_shape(), model.num_steps,
                                             progress=bar.update)
    finally:
        bar.close()
    dims = float(np.prod(images.shape[1:]))
    out = {"iw_samples": k}
    for name, values in (("elbo", elbo), ("iw", iw)):
        mean = float(values.mean())
        out["iw_bound" if name == "iw" else "elbo"] = mean
        out[name + "_se"] = float(values.std(ddof=1) / np.sqrt(len(values))) \
            if len(values) > 1 else float("nan")
        out[name + "_bits_per_dim"] = mean / (dims * np.log(2.0))
    return out


def load_model(run_dir, step=None, ctx=None):
    """The model of a run with the parameters of its checkpoint ``step`` (default: the
    newest). Returns ``(model, args.json dict, checkpoint state dict)``.

    ``run_dir`` may also name pretrained weights (``convdraw_drawers``, or a ``.params``
    file with its ``.json``; :func:`draw.pretrained.resolve`): then the dict holds the
    settings of the run they come from and the state their number of updates
    (:func:`draw.pretrained.run_settings`)."""
    from . import pretrained
    if pretrained.is_spec(run_dir):
        if step is not None:
            raise UsageError("--step %d: %s are pretrained weights (one set of parameters, "
                             "no checkpoints to choose from)" % (step, run_dir))
        record, params = pretrained.resolve(run_dir)
        return (model_from_weights(record, params, ctx),) + pretrained.run_settings(record)
    if not os.path.exists(run_dir):
        raise UsageError("%s: not a run directory (no readable args.json), nor "
                         "pretrained weights (no such file; assets/pretrained has: %s; or "
                         "give a .params file)"
                         % (run_dir, ", ".join(pretrained.available()) or "none"))
    rd = RunDir(run_dir, writes=False)
    saved = rd.read_args("%s: not a run directory (no readable args.json)")
    try:
        model = model_from_config(saved["model"])
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError("%s/args.json: bad model settings (%s)" % (run_dir, e)) from None
    state = rd.load_checkpoint(model, None, ctx=ctx or mx.cpu(), step=step)
    return model, saved, state


#: most images one call of :func:`sample` draws (its memory grows with n x T canvases)
MAX_SAMPLES = 4096


def sample(run_dir, out_dir=None, num_samples=64, step=None, ctx=None, seed=None, gif=True,
           boxes=True, prefix="samples"):
    """Sample a run's model (or pretrained weights, :func:`load_model`): ``<prefix>.png``
    (final canvases) and ``<prefix>.gif`` (every step, attention boxes in red) in
    ``out_dir`` (default ``run_dir``; required for pretrained weights). Returns the
    written paths."""
    if not 1 <= num_samples <= MAX_SAMPLES:
        raise UsageError("-n %d: draw between 1 and %d images per call"
                         % (num_samples, MAX_SAMPLES))
    out_dir = out_dir or _default_out(run_dir)
    model, _, _ = load_model(run_dir, step, ctx)
    if not isinstance(model, GenerativeModel):
        raise UsageError("%s is a %s, which draws no samples (its figures: "
                         "examples/figures.py)" % (run_dir, model.display_name))
    with output_dir(out_dir, "--out"):
        return write_samples(model, out_dir, n=num_samples, ctx=ctx or mx.cpu(),
                             seed=seed, gif=gif, boxes=boxes, prefix=prefix)


def evaluate(run_dir, split="test", num_images=0, batch_size=100, step=None, env=None,
             seed=0, json_path=None, iw_samples=0):
    """The variational bound (nats per image) of a run's checkpoint on a data split, and
    with ``iw_samples`` K > 0 the importance-weighted bound from K posterior samples per
    image (images x K forward passes).

    Images of a dynamically binarized dataset get the one fixed binarization that
    training validated on. A classifier's run gets its objective's numbers instead of a
    bound (:meth:`draw.objectives.Classification.measure`: ``loss``, ``error`` and
    ``error_se``). Returns a dict with ``total``, ``reconstruction``, ``kl``
    (the one-sample bound), ``split``, ``images``, ``step``, ``dataset`` and, with
    ``iw_samples``: ``iw_samples``, ``elbo`` and ``iw_bound`` (negative bounds, nats per
    image, mean over images), ``elbo_se``/``iw_se`` (standard errors over images) and
    ``elbo_bits_per_dim``/``iw_bits_per_dim``. Also written to ``json_path``.
    """
    env = env or Environment()
    ctxs = env.devices()
    precision.use(env.amp, ctxs)
    if json_path:  # before the long work
        if os.path.isdir(json_path):
            raise UsageError("--json %s is a directory; give a file name" % json_path)
        with output_dir(os.path.dirname(os.path.abspath(json_path)), "--json"):
            result = evaluate(run_dir, split, num_images, batch_size, step, env, seed, None,
                              iw_samples)
            write_json(json_path, without_nonfinite(result)[0])
            return result
    from tqdm import tqdm
    model, saved, state = load_model(run_dir, step, ctxs[0])
    objective = model.objective()
    if iw_samples and not isinstance(model, GenerativeModel):
        raise UsageError("--iw_samples: the importance-weighted bound is for the "
                         "generative models; %s is a %s" % (run_dir, model.display_name))
    data = _split_images(saved, split, num_images, env, labels=objective.labelled)
    images = data[0] if objective.labelled else data
    bar = tqdm(total=len(images), unit="image", disable=not env.progress, mininterval=1.0,
               desc="%s on the %s split" % (objective.names[0], split), leave=False)
    try:
        result = objective.measure(data, batch_size, ctxs, seed,
                                   progress=None if bar.disable else bar.update)
    finally:
        bar.close()
    result.update(split=split, images=len(images), step=state["step"],
                  dataset=saved["dataset"], precision=precision.dtype())
    if iw_samples:
        result.update(_iw_summary(model, images, iw_samples, batch_size, ctxs[0],
                                  env.progress))
    return result


def figures(run_dir, out_dir=None, names=None, step=None, env=None, seed=0, rows=8,
            num_images=100, batch_size=100):
    """Draw the papers' figures of a run's checkpoint into ``out_dir`` (default
    ``<run_dir>/figures``): PNGs and the numbers behind them (:mod:`draw.figures`).

    ``names``: the figures to draw (default: every one that exists for the run's model,
    :func:`draw.figures.available`). ``rows``: images or samples in the picture grids;
    ``num_images``: test images the averaged figures (KL per step, rate-distortion) use.
    Drawn on the first device of ``env`` (:class:`Environment`). Everything is checked
    before anything is written. Returns the written paths.
    """
    from . import figures as fig
    from .config import MAX_FIGURE_ROWS
    for name, value in (("--rows", rows), ("--num_images", num_images)):
        if value < 1:
            raise UsageError("%s %d: give a positive number" % (name, value))
    if rows > MAX_FIGURE_ROWS:
        raise UsageError("--rows %d: at most %d images per grid" % (rows, MAX_FIGURE_ROWS))
    out_dir = out_dir or _default_out(run_dir, "figures")
    env = env or Environment()
    ctx = env.devices()[0]
    model, saved, state = load_model(run_dir, step, ctx)
    have = fig.available(model)
    unknown = [n for n in names or () if n not in have]
    if unknown:
        raise UsageError("--figure %s: no such figure for this %s run (it has: %s)"
                         % (", ".join(unknown), model.display_name, ", ".join(have)))
    names = [n for n in have if n in names] if names else list(have)
    with output_dir(out_dir, "--out"):
        written = _draw_figures(fig, model, saved, names, out_dir, ctx, seed, rows,
                                num_images, batch_size, env)
    log.info("%s step %d: wrote %d files to %s", run_dir, state["step"], len(written), out_dir)
    return written


def _draw_figures(fig, model, saved, names, out_dir, ctx, seed, rows, num_images,
                  batch_size, env):
    """The figures ``names`` of :func:`figures`, into the existing ``out_dir``."""
    from tqdm import tqdm
    needs_test = [n for n in names if n not in ("generation", "nearest_training")]
    labels = None
    if needs_test and model.objective().labelled:
        images, labels = _split_images(saved, "test", max(rows, num_images), env, labels=True)
        images, labels = images.astype("float32").asnumpy(), labels.asnumpy()
    elif needs_test:
        images = _split_images(saved, "test", max(rows, num_images), env) \
            .astype("float32").asnumpy()
    # the training images as they are (grey for a dynamically binarized dataset)
    train = split_images(saved["dataset"], "train", 0, None, env) \
        if "nearest_training" in names else None
    positions = split_positions(saved["dataset"], "test", num_images, env) \
        if "search" in names else None
    jobs = {
        "generation": lambda: fig.generation(model, out_dir, num_samples=rows, seed=seed,
                                             ctx=ctx),
        "nearest_training": lambda: fig.nearest_training(model, train, out_dir,
                                                         num_samples=rows, seed=seed,
                                                         ctx=ctx),
        "reading": lambda: fig.reading(model, images[:rows], out_dir, seed=seed, ctx=ctx),
        "filterbank": lambda: fig.filterbank(images[0], out_dir),
        "glimpses": lambda: fig.glimpses(model, images[:rows], labels[:rows], out_dir,
                                         ctx=ctx),
        "zoom": lambda: fig.glimpse_zoom(model, images[0], out_dir, ctx=ctx),
        "search": lambda: fig.search(model, images[:num_images], labels[:num_images],
                                     positions, out_dir, batch_size=batch_size, ctx=ctx),
        "kl_per_step": lambda: fig.kl_per_step(model, images[:num_images], out_dir,
                                               seed=seed, batch_size=batch_size, ctx=ctx),
        "compression": lambda: fig.compression(model, images[:rows], out_dir, seed=seed,
                                               ctx=ctx),
        "codec": lambda: fig.codec(model, images[:num_images], out_dir, seed=seed,
                                   batch_size=batch_size, ctx=ctx, num_shown=rows),
        "rate_distortion": lambda: fig.rate_distortion(model, images[:num_images], out_dir,
                                                       seed=seed, batch_size=batch_size,
                                                       ctx=ctx),
    }
    written = []
    for name in tqdm(names, unit="figure", disable=not env.progress, desc="figures"):
        written += jobs[name]()
    return written


def _default_out(checkpoint, sub=None):
    """The default output directory: the run directory (or its ``sub``); pretrained
    weights have no directory of their own, so there ``--out`` is needed."""
    from . import pretrained
    if pretrained.is_spec(checkpoint):
        raise UsageError("%s are pretrained weights: give --out DIR for what is written"
                         % checkpoint)
    return os.path.join(checkpoint, sub) if sub else checkpoint


def export_pretrained(run_dir, name, directory=None, step=None, env=None):
    """Write the parameters of a run's checkpoint (``step``, default newest) as the
    pretrained weights ``name`` (:mod:`draw.pretrained`), with their record: model,
    dataset, source run and step (for a warm-started run also the weights it began
    from and ``steps_in_all``, the updates of the chain), and the bound on
    ``CHECK_IMAGES`` test images (the subset of seed 0, :func:`split_images`), which the
    tests check. Returns the record."""
    import re

    from . import pretrained
    if not re.match(r"^[A-Za-z0-9_.-]+$", name):
        raise UsageError("--name %r: use letters, digits, '_', '.' and '-' only" % name)
    if pretrained.is_spec(run_dir):
        raise UsageError("%s are pretrained weights already; export a run directory"
                         % run_dir)
    directory = directory or pretrained.PRETRAINED_DIR
    with output_dir(directory, "--out"):
        return _export(run_dir, name, directory, step, env or Environment())


def _export(run_dir, name, directory, step, env):
    """:func:`export_pretrained` into the existing ``directory``."""
    from . import pretrained
    from .rundir import save_parameters
    model, saved, state = load_model(run_dir, step)
    objective = model.objective()
    data = _split_images(saved, "test", 0, env, labels=objective.labelled)
    result = pretrained.check_bound(model, data)
    origin = {"run": os.path.basename(os.path.normpath(run_dir)), "step": state["step"],
              "epoch": state.get("epoch"), "train": saved["train"]}
    if "init_from" in saved:  # a warm-started run: the weights it began from, and the
        warm = saved["init_from"]  # updates of the whole chain
        origin.update(init_from=warm,
                      steps_in_all=state["step"] + pretrained.steps_before(warm))
    return pretrained.publish(name, lambda path: save_parameters(model, path),
                              directory=directory, record={
        "model": saved["model"], "dataset": saved["dataset"],
        "source": origin,
        "check": {"split": "test", "images": pretrained.CHECK_IMAGES, "seed": 0,
                  "subset": "random", "noise": "per image",
                  **{key: result[key] for key in objective.names}}})
