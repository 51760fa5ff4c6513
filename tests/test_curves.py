"""draw.curves: training hours from the event files' wall times; curves of a warm-started run."""
import pytest

from draw.curves import read_csv, read_scalars, scalar_events, steps_before, training_hours
from draw.errors import UsageError


def write_events(run_dir, tag, points):
    """An event file with ``tag`` at ``(wall_time, step, value)`` points, written with
    TensorBoard's own writer (so that the wall times are ours)."""
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    writer = EventFileWriter(str(run_dir))
    for wall_time, step, value in points:
        summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(
            tag=tag, simple_value=value)])
        writer.add_event(event_pb2.Event(wall_time=wall_time, step=step, summary=summary))
    writer.close()


def test_training_hours_leave_out_the_pauses(tmp_path):
    # two sessions of 3 logged steps 60 s apart, a night between them
    points = [(1000.0, 50, 3.0), (1060.0, 100, 2.5), (1120.0, 150, 2.0),
              (50000.0, 200, 1.9), (50060.0, 250, 1.8), (50120.0, 300, 1.7)]
    write_events(tmp_path, "train/loss", points)
    events = scalar_events(str(tmp_path), ["train/loss", "val/total"])
    assert list(events) == ["train/loss"]
    hours, step = training_hours(events["train/loss"])
    assert step == 300
    assert hours == pytest.approx(4 * 60 / 3600.0)
    assert training_hours(events["train/loss"], max_gap=1e6)[0] == \
        pytest.approx((50120 - 1000) / 3600.0)
    assert read_scalars(str(tmp_path), ["train/loss"])["train/loss"][-1] == (300, pytest.approx(1.7))
    assert training_hours(events.get("val/total", [])) == (0.0, 0)


def test_reading_a_directory_without_events(tmp_path):
    with pytest.raises(UsageError, match="no event files"):
        scalar_events(str(tmp_path), ["train/loss"])


def _curves(runs, out, labels=None, csv_files=None):
    import argparse

    from draw import cli
    return cli.curves(argparse.Namespace(runs=runs, label=labels, csv=csv_files, tag=None,
                                         out=str(out), ylim=None))


def test_warm_started_run_continues_the_chain(tmp_path, capsys):
    """A run started with --init_from counts its steps on from the weights' steps, and the
    CSV of an earlier part (whose run directory is gone) is drawn beside it."""
    import csv
    import json
    first, warm = tmp_path / "first", tmp_path / "warm"
    write_events(first, "train/loss", [(0.0, 100, 9.0), (60.0, 200, 8.0)])
    _curves([str(first)], tmp_path / "first.png")
    write_events(warm, "train/loss", [(0.0, 100, 7.0), (60.0, 200, 6.0)])
    (warm / "args.json").write_text(json.dumps(
        {"init_from": {"weights": "x", "source": {"run": "first", "step": 200}}}))
    assert steps_before(str(warm)) == 200 and steps_before(str(first)) == 0
    capsys.readouterr()
    _curves([str(warm)], tmp_path / "chain.png", csv_files=[str(tmp_path / "first.csv")])
    assert "warm: 0.02 hours of training to step 400" in capsys.readouterr().out
    rows = [(r["run"], int(r["step"]), float(r["value"]))
            for r in csv.DictReader(open(tmp_path / "chain.csv"))]
    assert rows == [("first", 100, 9.0), ("first", 200, 8.0), ("warm", 300, 7.0),
                    ("warm", 400, 6.0)]
    assert read_csv(str(tmp_path / "chain.csv"))["warm"]["train/loss"] == [(300, 7.0),
                                                                           (400, 6.0)]
    (warm / "args.json").write_text(json.dumps(  # a chain of warm starts: all its updates
        {"init_from": {"source": {"step": 200, "steps_in_all": 500}}}))
    assert steps_before(str(warm)) == 500
    with pytest.raises(UsageError, match="distinct labels"):
        _curves([str(warm)], tmp_path / "c.png", labels=["first"],
                csv_files=[str(tmp_path / "first.csv")])
    with pytest.raises(UsageError, match="not a CSV of curves.py"):
        read_csv(str(tmp_path / "chain.png"))
    # every directory of the chain gone: its parts' CSVs alone redraw it
    _curves([], tmp_path / "again.png", csv_files=[str(tmp_path / "chain.csv")])
    assert read_csv(str(tmp_path / "again.csv")) == read_csv(str(tmp_path / "chain.csv"))
    with pytest.raises(UsageError, match="give a run directory or a --csv"):
        _curves([], tmp_path / "none.png")


def test_y_labels():
    from draw.curves import y_label
    assert y_label("val/error") == y_label("train/error") == "error rate"
    assert y_label("val/total") == "nats per image"
    assert y_label("train/learning_rate") == "learning rate"
