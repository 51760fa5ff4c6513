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
            arrays = mx.nd.load(params)
        except (OSError, ValueError, mx.base.MXNetError) as e:
            errors.append("step %d: %s" % (s, _last_line(e)))
            continue
        mismatch = _mismatch(net, arrays)
        if mismatch:
            raise CheckpointError("%s: the checkpoint at step %d does not fit the model "
                                  "(%s)" % (directory, s, mismatch))
        try:
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
