"""draw.curves: training hours from the event files' wall times."""
import pytest

from draw.curves import read_scalars, scalar_events, training_hours
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
