"""The tools' outputs and bounds: one output-path rule (the directory is created, or the
request refused, before the work; nothing left behind on a failure; no output written
over another), an upper bound for every size-like flag, and a resume that checks the
data it continues on."""
import json
import os
import shutil

import pytest

from draw.files import output_dir
from draw.errors import UsageError

from .conftest import run_script
from .helpers import assert_one_line_error, small_disk
from .test_bad_inputs import snapshot


def test_output_dir_is_created_and_removed_again_on_failure(tmp_path):
    target = tmp_path / "a" / "b"
    with output_dir(str(target), "--out"):
        assert target.is_dir()
    with pytest.raises(RuntimeError):
        with output_dir(str(tmp_path / "c" / "d"), "--out"):
            raise RuntimeError("the work failed")
    assert not (tmp_path / "c").exists()  # both levels it created are gone
    with pytest.raises(RuntimeError):  # a directory that was there stays
        with output_dir(str(target), "--out"):
            raise RuntimeError
    assert target.is_dir()
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(UsageError, match="cannot write there"):
        with output_dir(str(afile / "sub"), "--out"):
            pass


def test_evaluate_json_in_a_new_directory(tiny_run, tmp_path, data_dir):
    """--json in a directory that does not exist yet: created before the work."""
    path = tmp_path / "new" / "deeper" / "result.json"
    proc = run_script(["examples/evaluate.py", tiny_run, "--num_images", "50", "--json",
                       str(path), "--data_dir", data_dir, "--no_progress"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.load(open(str(path)))["images"] == 50


def test_failed_figures_leave_no_directory(tiny_run, tmp_path, data_dir):
    """A failure during the work (here: the data cannot be found) removes the output
    directory the tool created."""
    out = tmp_path / "figs"
    proc = run_script(["examples/figures.py", tiny_run, "--out", str(out), "--data_dir",
                       str(tmp_path / "no_data"), "--source", str(tmp_path / "no_source"),
                       "--no_progress"])
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert not out.exists()


def test_curves_out_must_be_a_png(tiny_run, tmp_path):
    """The CSV goes beside the PNG: --out x.csv would write one over the other."""
    for out, message in ((tmp_path / "x.csv", "give a .png file name"),
                         (tmp_path, "is a directory")):
        proc = run_script(["examples/curves.py", tiny_run, "--out", str(out)])
        assert_one_line_error(proc, message)
    proc = run_script(["examples/curves.py", tiny_run, "--out",
                       str(tmp_path / "new" / "c.png")])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(os.listdir(str(tmp_path / "new"))) == ["c.csv", "c.png"]


def test_pictures_on_a_full_disk_leave_no_temporary_file(tiny_run, tmp_path):
    """sample.py on a disk that fills up: one line, no temporary file left."""
    with small_disk(tmp_path / "disk", size="4k") as disk:
        proc = run_script(["examples/sample.py", tiny_run, "--out", str(disk / "s"),
                           "-n", "256"])
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
        assert "No space left on device" in proc.stderr.strip().splitlines()[-1]
        left = [f for _, _, files in os.walk(str(disk)) for f in files]
        assert not [f for f in left if ".tmp" in f], left


@pytest.mark.parametrize("argv, message", [
    (["examples/figures.py", "{run}", "--rows", "1000000000"],
     "argument --rows: must be at most 256, got 1000000000"),
    (["examples/figures.py", "{run}", "--num_images", "10000000"],
     "argument --num_images: must be at most 100000"),
    (["examples/figures.py", "{run}", "--seed", "-1"], "argument --seed: must be >= 0, got -1"),
    (["examples/evaluate.py", "{run}", "--iw_samples", "99999999999999999999999"],
     "argument --iw_samples: must be at most 100000"),
    (["examples/evaluate.py", "{run}", "-b", "10000000"],
     "argument --batch_size/-b: must be at most 100000"),
    (["examples/sample.py", "{run}", "--seed", "4294967296"],
     "argument --seed: must be at most 4294967295"),
    (["examples/curves.py", "{run}", "--ylim", "nan", "1"],
     "argument --ylim: must be a finite number, got nan"),
    (["examples/curves.py", "{run}", "--ylim", "5", "1"], "--ylim 5 1: LOW must be below"),
    (["examples/launch_local.py", "-n", "100000", "--", "x", "dist_sync"],
     "argument --num_workers/-n: must be at most 256"),
])
def test_size_like_flags_are_bounded(tiny_run, tmp_path, argv, message):
    before = snapshot(tiny_run)
    proc = run_script([a.format(run=tiny_run) for a in argv])
    assert_one_line_error(proc, message)
    assert snapshot(tiny_run) == before


def test_resume_refuses_another_dataset(tiny_run, tmp_path, data_dir):
    """The converted dataset under a run replaced by a different one: --resume refuses
    in one line and writes nothing; --accept_other_data continues (and logs it)."""
    run_dir = str(tmp_path / "run")
    shutil.copytree(tiny_run, run_dir)
    os.remove(os.path.join(run_dir, "result.json"))  # as if stopped before its end
    other = str(tmp_path / "other_data")
    shutil.copytree(data_dir, other)
    meta_path = os.path.join(other, "binarized_mnist.json")
    meta = json.load(open(meta_path))
    from draw.datasets import load_dataset
    import mxnet as mx
    arrays, _ = load_dataset(os.path.join(other, "binarized_mnist.nd"))
    arrays["train_x"][0] = 1 - arrays["train_x"][0]  # one image changed
    mx.nd.save(os.path.join(other, "binarized_mnist.nd"), arrays)
    from draw.files import sha256_file
    json.dump(dict(meta, nd_sha256=sha256_file(os.path.join(other, "binarized_mnist.nd"))),
              open(meta_path, "w"))
    before = snapshot(run_dir)
    proc = run_script(["examples/train_mnist.py", "--resume", run_dir, "--data_dir", other])
    assert_one_line_error(proc, "is not the one the run trained on")
    assert snapshot(run_dir) == before
    proc = run_script(["examples/train_mnist.py", "--resume", run_dir, "--data_dir", other,
                       "--accept_other_data"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "continuing on another converted dataset" in proc.stderr
    assert os.path.exists(os.path.join(run_dir, "result.json"))
    proc = run_script(["examples/train_mnist.py", "--accept_other_data", "--logdir",
                       str(tmp_path / "new")])
    assert_one_line_error(proc, "--accept_other_data is for --resume")


def test_refused_resume_writes_no_log(tiny_run, tmp_path, data_dir):
    """--resume of a directory with a run's settings but no checkpoint: refused, and no
    empty train.log left behind."""
    run_dir = tmp_path / "empty_run"
    run_dir.mkdir()
    shutil.copy(os.path.join(tiny_run, "args.json"), str(run_dir))
    proc = run_script(["examples/train_mnist.py", "--resume", str(run_dir), "--data_dir",
                       data_dir])
    assert_one_line_error(proc, "no checkpoint found")
    assert sorted(os.listdir(str(run_dir))) == ["args.json"]


def test_benchmark_and_screenshot_outputs_checked_first(tmp_path, tiny_run):
    """The same rule for the benchmark's --json and the screenshot tool: refused in one
    line before any work."""
    afile = tmp_path / "afile"
    afile.write_text("x")
    proc = run_script(["examples/benchmark.py", "--tiny", "--json", str(tmp_path)])
    assert_one_line_error(proc, "--json %s is a directory" % tmp_path)
    proc = run_script(["examples/benchmark.py", "--tiny", "--json", str(afile / "b.json")])
    assert_one_line_error(proc, "cannot write there (not a directory)")
    proc = run_script(["examples/tensorboard_screenshot.py", tiny_run, "--width", "5"])
    assert_one_line_error(proc, "argument --width: must be at least 200, got 5")
