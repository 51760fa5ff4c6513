"""Checkpoints: params + trainer states + counters, each file written atomically.

A checkpoint directory holds ``args.json`` (written once per run: everything needed to
rebuild the model and resume) and, per checkpoint at global step ``s``::

    model-<s>.params      gluon parameters
    trainer-<s>.states    optimizer state
    state-<s>.json        counters (step, epoch, batch position, seed, ...)

Every file is written to a temporary name and renamed. ``state-<s>.json`` is written
last, so a checkpoint counts only once all three files are complete.
"""
import json
import logging
import os
import re

import mxnet as mx

log = logging.getLogger("draw")

_STATE_RE = re.compile(r"^state-(\d+)\.json$")


class CheckpointError(Exception):
    """A checkpoint is missing, corrupt or does not fit the model."""


def atomic_write(path, write):
    """Call ``write(tmp_path)`` then rename ``tmp_path`` to ``path``."""
    tmp = "%s.tmp-%d" % (path, os.getpid())
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_json(path, obj):
    """Atomically write ``obj`` as indented JSON."""
    def write(tmp):
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=2, sort_keys=True)
            f.write("\n")
    atomic_write(path, write)


def read_json(path):
    with open(path) as f:
        return json.load(f)


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


def list_steps(directory):
    """Steps with a committed ``state-<s>.json``, ascending."""
    if not os.path.isdir(directory):
        return []
    return sorted(int(m.group(1)) for m in map(_STATE_RE.match, os.listdir(directory)) if m)


def load(directory, net, trainer=None, ctx=None, step=None):
    """Load the checkpoint at ``step`` (default: newest loadable one) into ``net``/``trainer``.

    A newest checkpoint that is incomplete or corrupt is skipped with a warning, and the
    one before it is used.

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
            net.load_parameters(params, ctx=ctx)
            if trainer is not None:
                trainer.load_states(states)
            return state
        except (OSError, ValueError, mx.base.MXNetError, AssertionError) as e:
            msg = str(e).strip().splitlines()
            errors.append("step %d: %s" % (s, msg[-1] if msg else type(e).__name__))
            log.warning("skipping unreadable checkpoint at step %d in %s (%s)",
                        s, directory, errors[-1])
    raise CheckpointError("%s: no loadable checkpoint (%s)" % (directory, "; ".join(errors)))
