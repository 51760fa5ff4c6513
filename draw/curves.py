"""Training curves of runs as a PNG and CSV, read from their event files with
TensorBoard's own reader (as TensorBoard shows them: after a resume, the restart marker
drops what a killed run logged past its checkpoint).

Needs TensorBoard (``pip install -e '.[viz]'``). Imports neither MXNet nor mxboard
(mxboard's generated protobuf modules and TensorBoard's cannot share a process).
"""
import csv
import os

from .errors import UsageError
from .files import atomic_write

#: the tags drawn by default: training loss (every --log_every steps) and the validation
#: bound (every validation)
DEFAULT_TAGS = ("train/loss", "val/total")


def scalar_events(run_dir, tags):
    """``{tag: [ScalarEvent(wall_time, step, value), ...]}`` of ``run_dir``'s event files
    (tags it lacks are left out). Reading a long run takes a while (the reader parses
    every event, images and histograms too): read once, then plot and count hours.

    Raises
    ------
    UsageError
        TensorBoard is not installed, or ``run_dir`` has no event file.
    """
    try:
        from tensorboard.backend.event_processing import event_accumulator
    except ImportError:
        raise UsageError("reading event files needs TensorBoard: pip install -e '.[viz]'") \
            from None
    if not os.path.isdir(run_dir) or not any(f.startswith("events.out.tfevents")
                                             for f in os.listdir(run_dir)):
        raise UsageError("%s: no event files (not a run directory?)" % run_dir)
    acc = event_accumulator.EventAccumulator(
        run_dir, size_guidance={event_accumulator.SCALARS: 0})
    acc.Reload()
    have = set(acc.Tags().get("scalars", ()))
    return {tag: acc.Scalars(tag) for tag in tags if tag in have}


def read_scalars(run_dir, tags):
    """``{tag: [(step, value), ...]}`` of ``run_dir``'s event files (tags it lacks are
    left out); raises as :func:`scalar_events`."""
    return {tag: [(e.step, e.value) for e in events]
            for tag, events in scalar_events(run_dir, tags).items()}


def steps_before(run_dir):
    """Updates that the weights a warm-started run began from (``--init_from``) had had:
    its ``args.json``'s ``init_from`` source, ``steps_in_all`` or else ``step``; 0 for a
    run started from its seeded initialisation. Add it to a run's steps to count those of
    the whole chain."""
    from . import pretrained
    from .files import read_json
    path = os.path.join(run_dir, "args.json")
    if not os.path.isfile(path):
        return 0
    try:
        init_from = read_json(path).get("init_from")
        return pretrained.steps_before(init_from) if init_from else 0
    except (ValueError, AttributeError, TypeError, KeyError):  # a damaged args.json: not
        return 0  # our business (the plot still shows the run's own steps)


def read_csv(path):
    """The curves in a CSV that :func:`plot_curves` wrote: ``{run label: {tag: [(step,
    value), ...]}}``, e.g. to draw a run whose directory is gone beside a newer one.

    Raises
    ------
    UsageError
        No such file, or not such a CSV.
    """
    out = {}
    try:
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                out.setdefault(row["run"], {}).setdefault(row["tag"], []).append(
                    (int(row["step"]), float(row["value"])))
    except OSError as e:
        raise UsageError("--csv %s: %s" % (path, e.strerror)) from None
    except (KeyError, TypeError, ValueError):
        raise UsageError("--csv %s: not a CSV of curves.py (columns run, tag, step, value)"
                         % path) from None
    return out


def training_hours(events, max_gap=900.0):
    """Wall-clock hours a run spent training, from the wall times of one tag's events
    (:func:`scalar_events`, e.g. ``train/loss``): the sum of the gaps between consecutive
    logged steps, leaving out gaps longer than ``max_gap`` seconds (the run was stopped
    and resumed later). The time from a run's last logged step to its stop is not
    counted (at most one ``--log_every`` interval per stop).

    Returns
    -------
    (hours, steps) : float, int
        The hours and the last logged step (0, 0 without events).
    """
    events = sorted(events, key=lambda e: e.step)
    gaps = [b.wall_time - a.wall_time for a, b in zip(events, events[1:])]
    seconds = sum(g for g in gaps if 0 < g <= max_gap)
    return seconds / 3600.0, (events[-1].step if events else 0)


#: the y-axis label of the scalars that are not in nats per image
Y_LABELS = {"train/learning_rate": "learning rate", "train/grad_norm": "gradient norm",
            "train/samples_per_sec": "images per second",
            "train/nonfinite_steps": "non-finite steps"}


def y_label(tag):
    """The y-axis label of a scalar tag: a classifier's error (``*/error``) is a rate, the
    losses and bounds are nats per image."""
    if tag.endswith("/error"):
        return "error rate"
    return Y_LABELS.get(tag, "nats per image")


def plot_curves(runs, out_png, tags=DEFAULT_TAGS, out_csv=None, ylim=None):
    """One panel per tag, one line per run: ``runs`` is ``{label: {tag: [(step, value),
    ...]}}`` (:func:`read_scalars`, :func:`read_csv`; tags beyond ``tags`` are ignored).

    Writes ``out_png`` (matplotlib, 5 x 3.5 inches per panel at 100 dpi) and ``out_csv``
    (default: beside it, ``.csv``; columns run, tag, step, value). ``ylim``: optional
    (low, high) of every panel. Returns the written paths.
    """
    from matplotlib.figure import Figure
    data = {label: {tag: list(scalars[tag]) for tag in tags if tag in scalars}
            for label, scalars in runs.items()}
    present = [t for t in tags if any(t in d for d in data.values())]
    if not present:
        raise UsageError("none of the tags %s is in the runs' event files" % ", ".join(tags))
    fig = Figure(figsize=(5.0 * len(present), 3.5), dpi=100, constrained_layout=True)
    axes = fig.subplots(1, len(present), squeeze=False)[0]
    for ax, tag in zip(axes, present):
        for label, scalars in data.items():
            if tag in scalars:
                steps, values = zip(*scalars[tag])
                ax.plot(steps, values, label=label, linewidth=1.2,
                        marker="o" if len(steps) < 30 else None, markersize=3)
        ax.set_title(tag, fontsize=9)
        ax.set_xlabel("step")
        ax.set_ylabel(y_label(tag))
        if ylim:
            ax.set_ylim(*ylim)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    out_csv = out_csv or os.path.splitext(out_png)[0] + ".csv"
    atomic_write(out_png, lambda tmp: fig.savefig(tmp, format="png"))

    def write(tmp):
        with open(tmp, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["run", "tag", "step", "value"])
            for label, scalars in data.items():
                for tag in present:
                    for step, value in scalars.get(tag, ()):
                        w.writerow([label, tag, step, value])
    atomic_write(out_csv, write)
    return [out_png, out_csv]
