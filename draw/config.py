"""Configuration in one place: the training settings and where data live.

:class:`TrainConfig` is every training setting with its default; the trainers' flags are
generated from its fields (:func:`draw.cli.add_train_args`), a run's ``args.json`` stores
it, and :data:`RESUMABLE` names the fields that may change when a run is resumed. Model
settings are the models' constructor arguments, with the papers' configurations as
presets in :mod:`draw.registry`.

This module imports nothing from MXNet.
"""
import dataclasses
import os
from dataclasses import dataclass, field
from typing import Optional

#: Environment variable naming the directory of original dataset files (no download).
SOURCE_ENV = "DRAW_DATA_SOURCE"
#: Environment variable naming the directory of converted datasets.
DATA_DIR_ENV = "DRAW_DATA_DIR"

#: kvstore types the trainers accept. Not ``dist_async``: it needs the update on the
#: servers (Gluon refuses it with the local update), where the gradient cannot be clipped
#: by its global norm before the update and the optimizer state cannot be checkpointed,
#: so a run could neither train as configured nor resume.
KVSTORES = ("device", "local", "nccl", "dist_sync", "dist_device_sync")

#: Omniglot splits (see :mod:`draw.datasets.omniglot`)
OMNIGLOT_SPLITS = ("drawers", "alphabets")

#: Most images or samples in one of the papers' picture grids (``figures.py --rows``)
MAX_FIGURE_ROWS = 256

#: Settings of an old ``args.json`` that no longer exist (read and ignored).
RETIRED = ("num_samples",)


def default_data_dir():
    """``$DRAW_DATA_DIR``, else ``~/.mxnet/datasets/draw``."""
    return os.environ.get(DATA_DIR_ENV) or os.path.join(
        os.path.expanduser("~"), ".mxnet", "datasets", "draw")


def default_source():
    """``$DRAW_DATA_SOURCE`` or None (download)."""
    return os.environ.get(SOURCE_ENV) or None


def _setting(default, help=None, flags=(), kind=None, group="training", resumable=False):
    """A :class:`TrainConfig` field. ``help`` (with ``flags``, e.g. ``("-b",)``) makes it
    a command-line flag ``--<name>``; ``kind`` is the argparse type name in
    :mod:`draw.cli` (``positive_int``, ``non_negative_int``, ``positive_float``, ...)."""
    return field(default=default, metadata=dict(help=help, flags=tuple(flags), kind=kind,
                                                group=group, resumable=resumable))


@dataclass
class TrainConfig:
    """Training settings (both models). Steps are optimizer updates on a global batch."""

    batch_size: int = _setting(100, "global batch size, split over devices", ("-b",),
                               "positive_int")
    learning_rate: float = _setting(1e-3, "Adam learning rate", ("-r",), "positive_float")
    beta1: float = _setting(0.9, "Adam beta1", kind="unit_float")
    beta2: float = _setting(0.999, "Adam beta2", kind="unit_float")
    #: the learning-rate schedule (:mod:`draw.schedule` has the formulas)
    lr_schedule: str = _setting("constant", "learning-rate schedule: constant, cosine "
                                "(decay to --lr_min over the run) or step (a factor every "
                                "--lr_decay_epochs epochs)", kind="lr_schedule")
    lr_min: float = _setting(0.0, "cosine: the rate at the schedule's end",
                             kind="non_negative_float")
    lr_decay_factor: float = _setting(0.1, "step: multiply the rate by this, in (0, 1]",
                                      kind="unit_interval_float")
    lr_decay_epochs: int = _setting(0, "step: epochs between two decays",
                                    kind="non_negative_int")
    lr_warmup_steps: int = _setting(0, "linear warm-up over the first N updates, 0 = none",
                                    kind="non_negative_int")
    lr_schedule_steps: int = _setting(
        0, "cosine: updates until the rate reaches --lr_min, 0 = the run's length "
           "(--lr_schedule_start + --max_steps or --epochs)", kind="non_negative_int")
    lr_schedule_start: int = _setting(
        0, "the schedule's updates before this run's first (continue a schedule in a "
           "warm-started run)", kind="non_negative_int")
    epochs: int = _setting(20, "number of epochs", kind="positive_int", resumable=True)
    max_steps: int = _setting(0, "stop after this many updates in total, 0 = no limit",
                              kind="non_negative_int", resumable=True)
    clip_gradient: float = _setting(
        10.0, "clip the global gradient norm of the mean loss; 0 = off",
        kind="non_negative_float")
    seed: int = _setting(0, "random seed", kind="int")
    num_val: int = _setting(0, "validate on N validation images (a seeded subset spread "
                               "over the split), 0 = all",
                            kind="non_negative_int", resumable=True)
    val_batch_size: int = _setting(0, "validation batch size, 0 = --batch_size",
                                   kind="non_negative_int", resumable=True)
    kvstore: str = _setting("device", kind="kvstore", group="devices", resumable=True,
                            help="kvstore for several devices; dist_sync / dist_device_sync "
                                 "train on several machines (see examples/launch_local.py)")
    log_every: int = _setting(50, "log training scalars (their means over these N steps) "
                                  "every N steps", kind="positive_int", group="output",
                              resumable=True)
    hist_every: int = _setting(500, "log gradient histograms every N steps, 0 = never",
                               kind="non_negative_int", group="output", resumable=True)
    checkpoint_every: int = _setting(
        0, "also checkpoint every N steps (always at each epoch end), 0 = off",
        kind="non_negative_int", group="output", resumable=True)
    checkpoint_each_epoch: bool = _setting(True, resumable=True)
    keep_checkpoints: int = _setting(3, "keep the newest K checkpoints", kind="positive_int",
                                     group="output", resumable=True)
    max_nonfinite: int = _setting(
        20, "stop after N consecutive steps with a non-finite loss or gradient (each is "
            "skipped), 0 = never", kind="non_negative_int", group="output", resumable=True)
    #: validate every N steps (0 = only at epoch ends and the end)
    val_every: int = _setting(0, resumable=True)
    #: validate at every epoch end
    val_each_epoch: bool = _setting(True)
    #: None (images used as they are) or 'dynamic' (resampled Bernoulli every batch)
    binarize: Optional[str] = _setting(None)

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values):
        """From ``to_dict()`` output (e.g. a run's ``args.json``); unknown keys are an
        error, retired ones are dropped."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names - set(RETIRED))
        if unknown:
            raise ValueError("unknown training settings: %s" % ", ".join(unknown))
        return cls(**{k: v for k, v in values.items() if k in names})

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)


#: Settings that may change when a run is resumed (everything else comes from args.json).
RESUMABLE = tuple(f.name for f in dataclasses.fields(TrainConfig) if f.metadata["resumable"])


@dataclass(frozen=True)
class Environment:
    """Where and how a job runs, handed whole from the command line
    (:func:`draw.cli.environment`) to :mod:`draw.run`: the same four things every job
    needs, never taken apart on the way.

    Attributes
    ----------
    contexts : tuple of mxnet.Context
        The devices (a global batch is split over them); empty: one CPU.
    data_dir : str or None
        Converted datasets (None: :func:`default_data_dir`).
    source : str or None
        Original dataset files a conversion reads (None: :func:`default_source`, which
        downloads when that is unset).
    progress : bool
        tqdm progress bars (else log lines).
    amp : bool
        Mixed precision (:mod:`draw.precision`): bfloat16 on a CPU that has it, float16
        on GPUs; parameters and checkpoints stay float32.
    """

    contexts: tuple = ()
    data_dir: Optional[str] = None
    source: Optional[str] = None
    progress: bool = True
    amp: bool = False

    def devices(self):
        """The contexts as a list: ``[mx.cpu()]`` when none were given."""
        if self.contexts:
            return list(self.contexts)
        import mxnet as mx
        return [mx.cpu()]

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)
