"""Learning-rate schedules: the rate of every update as a pure function of its number.

The schedule is set by :class:`draw.config.TrainConfig` fields (``lr_schedule``,
``lr_min``, ``lr_decay_factor``, ``lr_decay_epochs``, ``lr_warmup_steps``,
``lr_schedule_steps``, ``lr_schedule_start``). The trainer sets the rate of update ``u``
(1-based: the first update of a run is ``u = 1``) to :func:`learning_rate` before it
applies it. Nothing about the schedule is kept in a checkpoint: a run killed and resumed
at any step gets the rates of the uninterrupted run.

With ``s = u + lr_schedule_start`` (the schedule's own update count), base rate ``r``
(``learning_rate``), warm-up length ``W`` and length ``L`` (:func:`length`):

- warm-up, ``s <= W``: ``r * s / W`` (a linear ramp that reaches ``r`` at ``s = W``);
  every schedule may have one;
- ``constant``: ``r``;
- ``cosine``, ``s > W``: ``r_min + (r - r_min) * (1 + cos(pi * p)) / 2`` with
  ``p = min(1, (s - W) / (L - W))``: from ``r`` down to ``lr_min`` at ``s = L``, then
  ``lr_min``;
- ``step``, ``s > W``: ``r * factor ** floor((s - 1) / (E * steps_per_epoch))``: the rate
  is multiplied by ``lr_decay_factor`` after every ``lr_decay_epochs`` epochs of updates.

These are the curves of MXNet's ``CosineScheduler`` and ``FactorScheduler``, written as
closed forms: MXNet's scheduler objects keep state between calls (a new
``CosineScheduler`` asked for an update past its end returns the base rate), which a
resumed run could not rebuild.

``lr_schedule_start`` lets a new run continue a schedule another run began: a run lost
at update 12,000 of a 75,000-update cosine schedule is warm-started from its weights
with ``--lr_schedule_steps 75000 --lr_schedule_start 12000``.

This module imports nothing from MXNet.
"""
import math

#: the schedules ``lr_schedule`` may name
SCHEDULES = ("constant", "cosine", "step")


def run_length(cfg, steps_per_epoch):
    """Updates of the whole run: ``max_steps`` when it ends the run before ``epochs``."""
    by_epochs = cfg.epochs * steps_per_epoch
    return min(cfg.max_steps, by_epochs) if cfg.max_steps else by_epochs


def length(cfg, steps_per_epoch):
    """``L``, the update at which a cosine schedule reaches ``lr_min``:
    ``lr_schedule_steps``, or (0) ``lr_schedule_start`` plus the run's length."""
    return cfg.lr_schedule_steps or cfg.lr_schedule_start + run_length(cfg, steps_per_epoch)


def check(cfg, steps_per_epoch=None):
    """Raise ``ValueError`` (one line naming the flags) when the schedule settings of
    ``cfg`` contradict each other. With ``steps_per_epoch``, also the checks that need
    the run's length (a cosine decay longer than its warm-up)."""
    if cfg.lr_schedule not in SCHEDULES:
        raise ValueError("--lr_schedule %s: unknown schedule (choose from %s)"
                         % (cfg.lr_schedule, ", ".join(SCHEDULES)))
    if not 0 < cfg.lr_decay_factor <= 1:
        raise ValueError("--lr_decay_factor %s: must be in (0, 1]" % cfg.lr_decay_factor)
    if cfg.lr_warmup_steps < 0:
        raise ValueError("--lr_warmup_steps %s: must be >= 0" % cfg.lr_warmup_steps)
    if cfg.lr_schedule_steps < 0 or cfg.lr_schedule_start < 0:
        raise ValueError("--lr_schedule_steps and --lr_schedule_start must be >= 0")
    if cfg.lr_schedule == "cosine" and not 0 <= cfg.lr_min <= cfg.learning_rate:
        raise ValueError("--lr_min %g: a cosine schedule decays from --learning_rate %g to "
                         "--lr_min, which must be in [0, %g]"
                         % (cfg.lr_min, cfg.learning_rate, cfg.learning_rate))
    if cfg.lr_schedule == "step" and cfg.lr_decay_epochs < 1:
        raise ValueError("--lr_schedule step: give --lr_decay_epochs N (>= 1), the epochs "
                         "between two decays")
    if cfg.lr_schedule == "cosine" and steps_per_epoch is not None:
        total = length(cfg, steps_per_epoch)
        if total <= cfg.lr_warmup_steps:
            raise ValueError("--lr_warmup_steps %d: the cosine schedule is %d updates long; "
                             "its warm-up must be shorter"
                             % (cfg.lr_warmup_steps, total))


def describe(cfg, steps_per_epoch):
    """One line for the log, e.g. ``cosine from 0.001 to 1e-05 over 75000 updates``."""
    text = {"constant": "constant %g" % cfg.learning_rate,
            "cosine": "cosine from %g to %g over %d updates"
                      % (cfg.learning_rate, cfg.lr_min, length(cfg, steps_per_epoch)),
            "step": "%g, times %g every %d epochs (%d updates)"
                    % (cfg.learning_rate, cfg.lr_decay_factor, cfg.lr_decay_epochs,
                       cfg.lr_decay_epochs * steps_per_epoch)}[cfg.lr_schedule]
    if cfg.lr_warmup_steps:
        text += ", after a linear warm-up over %d updates" % cfg.lr_warmup_steps
    if cfg.lr_schedule_start:
        text += ", starting at the schedule's update %d" % (cfg.lr_schedule_start + 1)
    return text


def learning_rate(cfg, update, steps_per_epoch):
    """The rate of update ``update`` (1-based) of a run with settings ``cfg``.

    Parameters
    ----------
    cfg : TrainConfig
    update : int
        1 for a run's first update (a trainer at ``state["step"] = k`` applies update
        ``k + 1``).
    steps_per_epoch : int
        Updates per epoch of this process (the trainer's batches per epoch).

    Returns
    -------
    float
    """
    base = cfg.learning_rate
    s = int(update) + cfg.lr_schedule_start
    warmup = cfg.lr_warmup_steps
    if warmup and s <= warmup:
        return base * s / warmup
    if cfg.lr_schedule == "constant":
        return base
    if cfg.lr_schedule == "cosine":
        total = length(cfg, steps_per_epoch)
        progress = min(1.0, (s - warmup) / float(total - warmup))
        return cfg.lr_min + (base - cfg.lr_min) * (1 + math.cos(math.pi * progress)) / 2
    if cfg.lr_schedule == "step":
        period = cfg.lr_decay_epochs * steps_per_epoch
        return base * cfg.lr_decay_factor ** ((s - 1) // period)
    raise ValueError("unknown learning-rate schedule %r" % cfg.lr_schedule)
