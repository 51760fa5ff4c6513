"""The run directory, and its one owner :class:`RunDir`.

A run directory holds::

    args.json             written once: model config, dataset, training config
                          (everything needed to rebuild the model and resume)
    model-<s>.params      per checkpoint at global step s: gluon parameters,
    trainer-<s>.states    optimizer state,
    state-<s>.json        counters (step, epoch, batch position, seeds, NumPy RNG)
    events.out.tfevents.* mxboard event files
    train.log             the log lines
    result.json           final numbers of the run
    samples.png/.gif      final samples

Every file is written to a temporary name and renamed. ``state-<s>.json`` is written
last, so a checkpoint counts only once all three files are complete. The functions
below are the file format; :class:`RunDir` is what the application uses.
"""
import logging
import os
import re
import time

import mxnet as mx

from .errors import CheckpointError, UsageError
from .files import atomic_write, read_json, write_json  # noqa: F401  (part of the API)

log = logging.getLogger("draw")

_STATE_RE = re.compile(r"^state-(\d+)\.json$")


def paths(directory, step):
    """(params, trainer states, state json) paths of the checkpoint at ``step``."""
    return (os.path.join(directory, "model-%08d.params" % step),
            os.path.join(directory, "trainer-%08d.states" % step),
            os.path.join(directory, "state-%08d.json" % step))


def save(directory, step, net, trainer, state, keep=3):
    """Write the checkpoint of ``step`` and delete all but the newest ``keep``."""
    os.makedirs(directory, exist_ok=True)
    params, states, state_json = paths(directory, step)
    atomic_write(params, net.save_parameters)
    if trainer is not None:
        atomic_write(states, trainer.save_states)
    write_json(state_json, dict(state, step=step))
    if keep:
        for old in list_steps(directory)[:-keep]:
            for p in paths(directory, old):
                if os.path.exists(p):
                    os.remove(p)


def remove_partial(directory):
    """Delete temporary files left by a process killed while writing; returns their names."""
    if not os.path.isdir(directory):
        return []
    names = [n for n in os.listdir(directory) if re.search(r"\.tmp-\d+$", n)]
    for n in names:
        os.remove(os.path.join(directory, n))
    return names


def list_steps(directory):
    """Steps with a committed ``state-<s>.json``, ascending."""
    if not os.path.isdir(directory):
        return []
    return sorted(int(m.group(1)) for m in map(_STATE_RE.match, os.listdir(directory)) if m)


def load(directory, net, trainer=None, ctx=None, step=None):
    """Load the checkpoint at ``step`` (default: newest loadable one) into ``net``/``trainer``.

    A newest checkpoint that is incomplete or corrupt is skipped with a warning, and the
    one before it is used. Parameters in an older layout of the model are converted
    (``net.upgrade_parameters``, where the model has it); such a checkpoint cannot be
    resumed (``trainer`` given), since its optimizer state does not fit.

    Returns
    -------
    dict
        The state JSON (counters).

    Raises
    ------
    CheckpointError
        No (loadable) checkpoint in ``directory``.
    """
    steps = list_steps(directory)
    if step is not None:
        if step not in steps:
            raise CheckpointError("%s: no checkpoint at step %d (have: %s)"
                                  % (directory, step, steps or "none"))
        steps = [step]
    if not steps:
        raise CheckpointError("%s: no checkpoint found" % directory)
    errors = []
    for s in reversed(steps):
        params, states, state_json = paths(directory, s)
        try:
            state = read_json(state_json)
            arrays = mx.nd.load(params)
        except (OSError, ValueError, mx.base.MXNetError) as e:
            errors.append("step %d: %s" % (s, _last_line(e)))
            continue
        upgrade = getattr(net, "upgrade_parameters", None)
        upgraded = upgrade(arrays) if upgrade else ""
        mismatch = _mismatch(net, arrays)
        if mismatch:
            raise CheckpointError("%s: the checkpoint at step %d does not fit the model "
                                  "(%s)" % (directory, s, mismatch))
        if upgraded and trainer is not None:
            raise CheckpointError(
                "%s: the checkpoint at step %d was written by an older version of the model "
                "(%s); its parameters load for sampling and evaluation, but its optimizer "
                "state does not fit, so the run cannot be resumed" % (directory, s, upgraded))
        try:
            if upgraded:
                _load_arrays(net, arrays, ctx)
                log.info("%s: step %d: %s", directory, s, upgraded)
            else:
                net.load_parameters(params, ctx=ctx)
            if trainer is not None:
                trainer.load_states(states)
        except (OSError, ValueError, mx.base.MXNetError, AssertionError) as e:
            errors.append("step %d: %s" % (s, _last_line(e)))
            continue
        if errors:
            log.warning("%s: skipped unreadable checkpoint(s) (%s); using step %d",
                        directory, "; ".join(errors), s)
        return state
    raise CheckpointError("%s: no loadable checkpoint (%s)" % (directory, "; ".join(errors)))


def _load_arrays(net, arrays, ctx):
    """``net.load_parameters`` from a name -> NDArray dict (Gluon 1.x loads files only)."""
    import tempfile
    fd, tmp = tempfile.mkstemp(suffix=".params")
    os.close(fd)
    try:
        mx.nd.save(tmp, arrays)
        net.load_parameters(tmp, ctx=ctx)
    finally:
        os.remove(tmp)


def _last_line(error):
    lines = str(error).strip().splitlines()
    return lines[-1] if lines else type(error).__name__


def _mismatch(net, arrays):
    """Why saved ``arrays`` (name -> NDArray) cannot be loaded into ``net``, or ''."""
    expected = {name: p.shape for name, p in net._collect_params_with_prefix().items()}
    missing = sorted(set(expected) - set(arrays))
    extra = sorted(set(arrays) - set(expected))
    if missing or extra:
        return "parameters missing: %s; unexpected: %s" % (", ".join(missing[:3]) or "none",
                                                          ", ".join(extra[:3]) or "none")
    for name, shape in expected.items():
        known = shape is not None and all(d > 0 for d in shape)
        if known and tuple(arrays[name].shape) != tuple(shape):
            return "%s has shape %s in the checkpoint, %s in the model" % (
                name, tuple(arrays[name].shape), tuple(shape))
    return ""


class RunDir:
    """One run directory: creating and checking it, ``args.json``, checkpoints (save,
    load, rotate), what resuming needs (partial files, events logged after the
    checkpoint) and ``result.json``.

    Parameters
    ----------
    path : str
    writes : bool
        False for the workers of a distributed run other than rank 0: they read
        checkpoints but never write or delete anything.
    """

    ARGS = "args.json"
    RESULT = "result.json"
    LOG = "train.log"

    def __init__(self, path, writes=True):
        self.path = path
        self.writes = writes

    def __repr__(self):
        return "RunDir(%r)" % self.path

    def file(self, name):
        return os.path.join(self.path, name)

    # ------------------------------------------------------------------ a new run
    def check_new(self):
        """Refuse to mix two runs in one directory (checked before anything is written)."""
        path = self.path
        if os.path.exists(path) and not os.path.isdir(path):
            raise UsageError("--logdir %s exists and is not a directory" % path)
        if os.path.isfile(self.file(self.ARGS)):
            raise UsageError("%s already holds a run: continue it with --resume %s, or choose "
                             "another --logdir" % (path, path))
        if os.path.isdir(path) and os.listdir(path):
            raise UsageError("--logdir %s is not empty and holds no run of ours; choose an "
                             "empty or new directory" % path)
        parent = os.path.dirname(os.path.abspath(path))
        while not os.path.exists(parent):
            parent = os.path.dirname(parent)
        if not os.access(parent if not os.path.isdir(path) else path, os.W_OK):
            raise UsageError("cannot write to --logdir %s (permission denied)" % path)

    def create(self, args):
        """Create the directory and write ``args.json`` (after :meth:`check_new`)."""
        try:
            os.makedirs(self.path, exist_ok=True)
            probe = self.file(".write-test")
            open(probe, "w").close()
            os.remove(probe)
        except OSError as e:
            raise UsageError("cannot write to --logdir %s (%s)" % (self.path, e.strerror)) \
                from None
        write_json(self.file(self.ARGS), args)

    # ------------------------------------------------------------------ an existing run
    def read_args(self, error=None):
        """``args.json`` as a dict. :class:`UsageError` when there is none readable: with
        ``error`` (``%s`` is the path) as its message, else one for ``--resume``."""
        try:
            return read_json(self.file(self.ARGS))
        except (OSError, ValueError) as e:
            message = error % self.path if error else \
                "--resume %s: no readable args.json (%s)" % (self.path, e)
            raise UsageError(message) from None

    def steps(self):
        """Steps with a committed checkpoint, ascending."""
        return list_steps(self.path)

    def save_checkpoint(self, step, net, trainer, state, keep=3):
        """Write the checkpoint of ``step`` and delete all but the newest ``keep``."""
        if self.writes:
            save(self.path, step, net, trainer, state, keep=keep)

    def load_checkpoint(self, net, trainer=None, ctx=None, step=None):
        """Load a checkpoint (default: the newest loadable) into ``net``/``trainer``;
        returns its state dict (see :func:`load`)."""
        return load(self.path, net, trainer, ctx=ctx, step=step)

    def prepare_resume(self, log=log.info):
        """Before a resumed run writes: remove files half-written by the interrupted run."""
        if not self.writes:
            return
        partial = remove_partial(self.path)
        if partial:
            log("removed files left half-written by the interrupted run: %s",
                ", ".join(sorted(partial)))

    def open_writer(self, resumed_at=None):
        """The run's mxboard ``SummaryWriter`` (a new event file; None when this process
        does not write).

        Its first events follow TensorBoard's convention for restarts (what PyTorch's
        ``SummaryWriter(purge_step=...)`` writes): the file version ``brain.Event:2`` and
        ``SessionLog.START`` at the step the process starts from: 0 for a new run,
        ``resumed_at + 1`` for a run resumed from the checkpoint at ``resumed_at``. The
        interrupted run may have logged steps after that checkpoint; TensorBoard's
        readers drop every event of a step >= the restart's logged before it (the first
        START of a run only marks its start), so each tag shows one value per step.
        Event files are never rewritten.
        """
        if not self.writes:
            return None
        from mxboard import SummaryWriter
        from mxboard.proto.event_pb2 import Event, SessionLog
        writer = SummaryWriter(logdir=self.path, flush_secs=10)
        start = 0 if resumed_at is None else resumed_at + 1
        # SummaryWriter has no public add_event; its FileWriter (mxboard==0.1.0) has
        for event in (Event(wall_time=time.time(), step=start, file_version="brain.Event:2"),
                      Event(wall_time=time.time(), step=start,
                            session_log=SessionLog(status=SessionLog.START))):
            writer._file_writer.add_event(event)
        return writer

    def write_result(self, result, step, elapsed):
        """``result.json``: the final numbers of the run, its last step and wall time."""
        summary = dict(result or {}, step=step, wall_time_s=round(elapsed, 1))
        write_json(self.file(self.RESULT), summary)
        return summary
