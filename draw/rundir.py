"""The run directory, and its one owner :class:`RunDir`.

A run directory holds::

    args.json             model config, dataset, training config (everything needed
                          to rebuild the model and resume), written at the start; a
                          resume that changes training settings records them here
    model-<s>.params      per checkpoint at global step s: gluon parameters,
    trainer-<s>.states    optimizer state (both from one device's copy, on the CPU: a
                          checkpoint loads on any set of devices),
    state-<s>.json        counters (step, epoch, batch position, seeds, NumPy RNG)
    events.out.tfevents.* mxboard event files
    train.log             the log lines
    result.json           final numbers of the run
    samples.png/.gif      final samples

Every file is written to a temporary name and renamed. ``state-<s>.json`` is written
last, so a checkpoint counts only once all three files are complete. The functions
below are the file format; :class:`RunDir` is what the application uses.
"""
import errno
import hashlib
import logging
import os
import pickle
import re
import time

import mxnet as mx

from .base import Model
from .config import TrainConfig
from .errors import CheckpointError, UsageError, last_line
from .files import atomic_write, read_json, without_nonfinite, write_json  # noqa: F401

log = logging.getLogger("draw")

_STATE_RE = re.compile(r"^state-(\d+)\.json$")


def paths(directory, step):
    """(params, trainer states, state json) paths of the checkpoint at ``step``."""
    return (os.path.join(directory, "model-%08d.params" % step),
            os.path.join(directory, "trainer-%08d.states" % step),
            os.path.join(directory, "state-%08d.json" % step))


def save(directory, step, net, trainer, state, keep=3):
    """Write the checkpoint of ``step``, its state JSON last with the size and sha256 of
    each file, then delete the checkpoints older than the newest ``keep`` intact ones
    (an unreadable checkpoint never makes a good one go)."""
    os.makedirs(directory, exist_ok=True)
    params, states, state_json = paths(directory, step)
    try:
        atomic_write(params, lambda tmp: save_parameters(net, tmp))
        files = {"params": _fingerprint(params)}
        if trainer is not None:
            atomic_write(states, lambda tmp: save_trainer_states(trainer, tmp))
            files["states"] = _fingerprint(states)
    except mx.base.MXNetError as e:  # MXNet's writers report a failed write this way
        raise OSError(errno.EIO, "writing the checkpoint of step %d failed (%s; is the disk "
                                 "full?)" % (step, last_line(e)), directory) from None
    write_json(state_json, dict(state, step=step, files=files))
    if keep:
        intact = [s for s in reversed(list_steps(directory)) if not check(directory, s)[1]]
        if len(intact) >= keep:
            for old in [s for s in list_steps(directory) if s < intact[keep - 1]]:
                for p in paths(directory, old):
                    if os.path.exists(p):
                        os.remove(p)


def save_parameters(net, path):
    """``net.save_parameters(path)`` from the first device's copy of every parameter,
    on the CPU. (Gluon's own averages the copies of all devices, and a sum of 3, 5, 6 or
    7 equal float32 values divided by their count can be an ulp off: the resumed run would
    not continue the same numbers.) Same names and format, so ``load_parameters`` reads
    it onto any devices."""
    mx.nd.save(path, {name: p.list_data()[0].as_in_context(mx.cpu())
                      for name, p in net._collect_params_with_prefix().items()})


def _on_cpu(obj):
    """``obj`` with every NDArray in it (nested tuples, lists, dicts) copied to the CPU."""
    if isinstance(obj, mx.nd.NDArray):
        return obj.as_in_context(mx.cpu())
    if isinstance(obj, (tuple, list)):
        return type(obj)(_on_cpu(v) for v in obj)
    if isinstance(obj, dict):
        return {k: _on_cpu(v) for k, v in obj.items()}
    return obj


def save_trainer_states(trainer, path):
    """``trainer.save_states(path)`` with the optimizer state on the CPU. Gluon pickles
    the state arrays with their device and unpickles them onto it, so a state saved on
    ``gpu(3)`` could not be loaded on a one-GPU machine; on the CPU it loads anywhere and
    Gluon's updater moves it to each parameter's device at the next update."""
    trainer.save_states(path)
    with open(path, "rb") as f:
        saved = pickle.loads(f.read())  # (states, optimizer): Updater.get_states(True)
    with open(path, "wb") as f:
        f.write(pickle.dumps(_on_cpu(saved)))


def _fingerprint(path):
    with open(path, "rb") as f:
        data = f.read()
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def check(directory, step, deep=False, need_states=True):
    """``(state dict or None, problem or '')`` of the checkpoint at ``step``: its state
    JSON has the right form, and its files the sizes (with ``deep``, the sha256) that
    the state JSON records (checkpoints written before these records: the files exist).
    """
    params, states, state_json = paths(directory, step)
    try:
        state = read_json(state_json)
    except (OSError, ValueError) as e:
        return None, "state file unreadable (%s)" % last_line(e)
    if not (isinstance(state, dict) and state.get("step") == step
            and all(isinstance(state.get(k), int) for k in ("epoch", "batch"))):
        return None, "state file of the wrong form"
    files = state.get("files") or {}
    for key, path in (("params", params), ("states", states)):
        if key == "states" and not need_states:
            continue
        if not os.path.isfile(path):
            return None, "%s is missing" % os.path.basename(path)
        record = files.get(key)
        if record is None:
            continue
        if os.path.getsize(path) != record.get("size"):
            return None, "%s is truncated or extended" % os.path.basename(path)
        if deep and _fingerprint(path)["sha256"] != record.get("sha256"):
            return None, "%s does not match its checksum" % os.path.basename(path)
    return state, ""


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
        state, problem = check(directory, s, deep=True, need_states=trainer is not None)
        if problem:
            errors.append("step %d: %s" % (s, problem))
            continue
        try:
            arrays = mx.nd.load(params)
        except (OSError, ValueError, mx.base.MXNetError) as e:
            errors.append("step %d: %s" % (s, last_line(e)))
            continue
        upgraded = net.upgrade_parameters(arrays) if isinstance(net, Model) else ""
        mismatch = parameters_mismatch(net, arrays)
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
        except (OSError, ValueError, EOFError, pickle.UnpicklingError, mx.base.MXNetError,
                AssertionError, KeyError, TypeError) as e:
            errors.append("step %d: %s" % (s, last_line(e)))
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



def parameters_mismatch(net, arrays):
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
    LOCK = ".lock"

    def __init__(self, path, writes=True):
        self.path = path
        self.writes = writes
        self.created = False
        self._lock = None

    # ------------------------------------------------------------------ ownership
    def lock(self):
        """Make this process the directory's one writer: an advisory ``flock`` on
        ``.lock`` (holding the pid), released when the process ends in any way, kill -9
        included, so a stale lock is simply taken over. Raises :class:`UsageError`
        naming the holder's pid when another process has it."""
        if not self.writes or self._lock is not None:
            return
        import fcntl
        f = open(self.file(self.LOCK), "a+")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.seek(0)
            holder = f.read().strip() or "unknown"
            f.close()
            raise UsageError("%s is in use by another process (pid %s): wait for it to end "
                             "or stop it" % (self.path, holder)) from None
        f.seek(0)
        f.truncate()
        f.write("%d\n" % os.getpid())
        f.flush()
        self._lock = f

    def unlock(self):
        if self._lock is not None:
            self._lock.seek(0)
            self._lock.truncate()  # no pid: nobody holds it
            self._lock.close()
            self._lock = None

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
        if os.path.isdir(path) and set(os.listdir(path)) - {self.LOCK}:
            raise UsageError("--logdir %s is not empty and holds no run of ours; choose an "
                             "empty or new directory" % path)
        if os.path.exists(self.file(self.LOCK)):  # another start in progress, or a stale one
            self.lock()
            self.unlock()
        parent = os.path.dirname(os.path.abspath(path))
        while not os.path.exists(parent):
            parent = os.path.dirname(parent)
        if not os.access(parent if not os.path.isdir(path) else path, os.W_OK):
            raise UsageError("cannot write to --logdir %s (permission denied)" % path)

    def create(self, args):
        """Create the directory, take its lock and write ``args.json`` (after
        :meth:`check_new`; a run that another process created meanwhile is refused)."""
        try:
            os.makedirs(self.path, exist_ok=True)
            probe = self.file(".write-test")
            open(probe, "w").close()
            os.remove(probe)
        except OSError as e:
            raise UsageError("cannot write to --logdir %s (%s)" % (self.path, e.strerror)) \
                from None
        self.lock()
        if os.path.exists(self.file(self.ARGS)):
            self.unlock()
            raise UsageError("%s already holds a run (started meanwhile by another process)"
                             % self.path)
        write_json(self.file(self.ARGS), args)
        self.created = True

    def discard(self):
        """Remove a run this process created that never reached a checkpoint (a failure
        or an interrupt during start-up), so that the directory can be used again."""
        if not self.created or self.steps():
            return
        for name in os.listdir(self.path):
            os.remove(self.file(name))
        self.unlock()
        try:
            os.rmdir(self.path)
        except OSError:
            pass
        self.created = False

    # ------------------------------------------------------------------ an existing run
    def read_args(self, error=None):
        """``args.json`` as a dict. :class:`UsageError` when there is none readable: with
        ``error`` (``%s`` is the path) as its message, else one for ``--resume``."""
        try:
            args = read_json(self.file(self.ARGS))
        except (OSError, ValueError) as e:
            message = error % self.path if error else \
                "--resume %s: no readable args.json (%s)" % (self.path, e)
            raise UsageError(message) from None
        model = args.get("model") if isinstance(args, dict) else None
        if not (isinstance(model, dict) and isinstance(model.get("kind"), str)
                and isinstance(model.get("kwargs"), dict)
                and isinstance(args.get("dataset"), str) and isinstance(args.get("train"), dict)):
            raise UsageError("%s: args.json does not hold a run's settings (model kind and "
                             "arguments, dataset, training settings)" % self.path)
        return args

    def update_train(self, train):
        """Record the training settings a resumed run continues with (``train``, a
        :class:`draw.config.TrainConfig` dict) in ``args.json``, so that a later
        ``--resume`` without flags keeps what this one changed (e.g. ``--epochs``).

        Returns
        -------
        dict
            ``{name: (old, new)}`` for each setting that changed (empty: nothing written).
        """
        args = self.read_args()
        # a setting newer than the run has its default there
        before = dict(TrainConfig().to_dict(), **args["train"])
        changed = {k: (before.get(k), v) for k, v in sorted(train.items())
                   if before.get(k) != v}
        if changed and self.writes:
            write_json(self.file(self.ARGS), dict(args, train=dict(train)))
        return changed

    def steps(self):
        """Steps with a committed checkpoint, ascending."""
        return list_steps(self.path)

    def save_checkpoint(self, step, net, trainer, state, keep=3):
        """Write the checkpoint of ``step`` and delete all but the newest ``keep``."""
        if self.writes:
            save(self.path, step, net, trainer, state, keep=keep)

    def load_checkpoint(self, net, trainer=None, ctx=None, step=None):
        """Load a checkpoint (default: the newest loadable) into ``net``/``trainer``;
        returns its state dict (see :func:`load`).

        When resuming (``trainer`` given, this process writes), checkpoints newer than
        the one loaded could not be read: their files are renamed ``*.unreadable``, kept
        for inspection but no longer counted, so that rotation keeps the good ones."""
        state = load(self.path, net, trainer, ctx=ctx, step=step)
        if trainer is not None and self.writes:
            for newer in [s for s in self.steps() if s > state["step"]]:
                for path in paths(self.path, newer):
                    if os.path.exists(path):
                        os.replace(path, path + ".unreadable")
                log.warning("%s: set aside the unreadable checkpoint of step %d "
                            "(*.unreadable)", self.path, newer)
        return state

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
        return GuardedWriter(writer, self.path)

    def write_result(self, result, step, elapsed):
        """``result.json``: the final numbers of the run, its last step and wall time.
        Non-finite numbers (a diverged run) are written as null, with ``"diverged":
        true``, so that the file stays valid JSON."""
        summary, bad = without_nonfinite(dict(result or {}, step=step,
                                              wall_time_s=round(elapsed, 1)))
        if bad:
            summary["diverged"] = True
        write_json(self.file(self.RESULT), summary)
        return summary


class GuardedWriter:
    """An mxboard ``SummaryWriter`` that cannot hang the trainer.

    mxboard writes events from a thread through a bounded queue. When the thread dies
    (a write failed, e.g. on a full disk), the queue fills and ``add_*`` or ``flush()``
    wait forever. Here every call first checks the thread, ``flush()`` waits with the
    thread in view, and a dead thread is an ``OSError`` (one error line from the command
    line tools, exit status 2). Everything else is the wrapped writer's.
    """

    def __init__(self, writer, path):
        self._writer = writer
        self._path = path

    def _events(self):
        return self._writer._file_writer._event_writer  # mxboard==0.1.0's EventFileWriter

    def _check(self):
        if not self._events()._worker.is_alive():
            raise OSError(errno.EIO, "writing the event file failed (is the disk full?)",
                          self._path)

    def __getattr__(self, name):
        attr = getattr(self._writer, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            # each add_* puts one event: wait for room with the thread in view, so that
            # the put never blocks (the trainer is the queue's only producer)
            queue = self._events()._event_queue
            self._check()
            while queue.full():
                time.sleep(0.005)
                self._check()
            return attr(*args, **kwargs)
        return call

    def flush(self):
        queue = self._events()._event_queue
        while queue.unfinished_tasks:
            self._check()
            time.sleep(0.01)
        self._writer.flush()

    def close(self):
        """Flush and close; with a dead writer thread, give up on the queued events."""
        if self._events()._worker.is_alive():
            self.flush()
            self._writer.close()
