"""Pretrained weights (draw/pretrained.py): export from a run, load in one line, warm-start
a new run from them, and the committed weights reach the bound stored with them."""
import json
import os
import shutil

import mxnet as mx
import numpy as np
import pytest

import draw
from draw import pretrained, run
from draw.config import Environment
from draw.datasets import load_dataset
from draw.errors import CheckpointError

from .conftest import run_script
from .helpers import assert_one_line_error

TINY = ["examples/train_mnist.py", "-s", "2", "-u", "16", "-l", "4", "-b", "50",
        "--log_every", "10", "--hist_every", "0", "--num_val", "100", "--no_progress"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory, data_dir):
    base = tmp_path_factory.mktemp("pretrained")
    run = str(base / "run")
    proc = run_script(TINY + ["--max_steps", "20", "--logdir", run, "--data_dir", data_dir])
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = str(base / "weights")
    proc = run_script(["examples/export_pretrained.py", run, "--name", "tiny", "--out", out,
                       "--data_dir", data_dir])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.startswith("tiny: step 20 of %s, bound " % run)
    return run, out


def test_export_and_load(exported, data_dir):
    run, out = exported
    assert pretrained.available(out) == ["tiny"]
    record = json.load(open(os.path.join(out, "tiny.json")))
    assert record["source"]["step"] == 20 and record["dataset"] == "binarized_mnist"
    model = draw.get_model("tiny", pretrained=out)
    saved = mx.nd.load(os.path.join(run, "model-00000020.params"))
    for name, p in model._collect_params_with_prefix().items():
        np.testing.assert_array_equal(p.data().asnumpy(), saved[name].asnumpy())
    images = load_dataset(os.path.join(data_dir, "binarized_mnist.nd"))[0]["test_x"]
    again = pretrained.check_bound(model, images)
    assert again["total"] == pytest.approx(record["check"]["total"], rel=1e-6)


def test_bad_pretrained_requests(exported, tmp_path):
    _, out = exported
    with pytest.raises(CheckpointError, match="no pretrained weights for 'nope' .have: tiny"):
        draw.get_model("nope", pretrained=out)
    with pytest.raises(ValueError, match="no overrides .num_steps"):
        draw.get_model("tiny", pretrained=out, num_steps=3)
    broken = str(tmp_path / "broken")
    shutil.copytree(out, broken)
    with open(os.path.join(broken, "tiny.params"), "ab") as f:
        f.write(b"x")
    with pytest.raises(CheckpointError, match="sha256 differs"):
        draw.get_model("tiny", pretrained=broken)
    proc = run_script(["examples/export_pretrained.py", exported[0], "--name", "../x"])
    assert proc.returncode == 2 and "--name '../x': use letters" in proc.stderr


def test_tools_read_pretrained_weights(exported, tmp_path, data_dir):
    """sample/evaluate/figures take pretrained weights wherever they take a run: the
    bound is the run's checkpoint's, the step their updates; what needs a run directory
    is refused in one line."""
    run_dir, out = exported
    weights = os.path.join(out, "tiny.params")
    mine = run.evaluate(weights, num_images=200, env=Environment(data_dir=data_dir, progress=False))
    theirs = run.evaluate(run_dir, num_images=200, env=Environment(data_dir=data_dir, progress=False))
    assert mine == theirs and mine["step"] == 20
    pictures = str(tmp_path / "pictures")
    proc = run_script(["examples/sample.py", weights, "-n", "4", "--no_gif", "--out", pictures])
    assert proc.returncode == 0 and proc.stdout.split() == [
        os.path.join(pictures, "samples.png")], proc.stderr[-3000:]
    written = run.figures(weights, pictures, names=["kl_per_step"], num_images=10,
                          env=Environment(data_dir=data_dir, progress=False))
    assert written and all(os.path.exists(p) for p in written)
    for argv, message in [
            (["examples/sample.py", weights], "tiny.params are pretrained weights: give --out"),
            (["examples/evaluate.py", weights, "--step", "3"],
             "--step 3: %s are pretrained weights" % weights),
            (["examples/export_pretrained.py", weights, "--name", "x", "--out", pictures],
             "%s are pretrained weights already" % weights)]:
        assert_one_line_error(run_script(argv), message)


def test_warm_start_begins_from_the_weights(exported, tmp_path, data_dir):
    """--init_from: a new run starts from pretrained weights (not the seeded
    initialisation), records them, and its export counts the updates of the chain. With
    a learning rate of 1e-30 one Adam step leaves the weights as they were."""
    _, out = exported
    warm = str(tmp_path / "warm")
    proc = run_script(TINY + ["--max_steps", "1", "--learning_rate", "1e-30", "--logdir", warm,
                              "--init_from", os.path.join(out, "tiny.params"),
                              "--data_dir", data_dir])
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = json.load(open(os.path.join(out, "tiny.json")))
    args = json.load(open(os.path.join(warm, "args.json")))
    assert args["init_from"]["sha256"] == record["sha256"]
    assert args["init_from"]["source"] == {"run": "run", "step": 20, "epoch": 0}
    assert "warm start from %s (run run, step 20)" % os.path.join(out, "tiny.params") \
        in open(os.path.join(warm, "train.log")).read()
    start = mx.nd.load(os.path.join(out, "tiny.params"))
    after = mx.nd.load(os.path.join(warm, "model-00000001.params"))
    assert sorted(start) == sorted(after)
    for name in start:
        np.testing.assert_allclose(after[name].asnumpy(), start[name].asnumpy(), atol=1e-20)
    again = run.export_pretrained(warm, "again", directory=str(tmp_path / "w2"),
                                  env=Environment(data_dir=data_dir))
    assert again["source"]["steps_in_all"] == 21
    assert again["source"]["init_from"]["source"]["step"] == 20


@pytest.mark.parametrize("args, message", [
    (["--init_from", "nope"], "no pretrained weights for 'nope'"),
    (["-u", "8", "--init_from", "{out}/tiny.params"],
     "those weights are for another model (draw attention=True"),
    (["--init_from", "{out}/tiny.params", "--resume", "{run}"],
     "--init_from starts a new run; --resume"),
])
def test_bad_warm_starts(exported, tmp_path, data_dir, args, message):
    run_dir, out = exported
    logdir = str(tmp_path / "new")
    argv = TINY + ["--max_steps", "1", "--data_dir", data_dir] + [
        a.format(out=out, run=run_dir) for a in args]
    if "--resume" not in args:
        argv += ["--logdir", logdir]
    assert_one_line_error(run_script(argv), message)
    assert not os.path.exists(logdir)


@pytest.mark.parametrize("name", pretrained.available())
def test_committed_weights_reach_their_bound(name, data_dir, omniglot_data_dir, source_dir):
    """Each committed model loads with draw.get_model(name, pretrained=True) and its bound
    on 500 test images (the subset of seed 0) is the one stored with it. A dynamically binarized
    dataset (Omniglot) is checked on the fixed binarization its run validated on; a
    classifier's numbers are its cross-entropy and error (cluttered MNIST, converted here
    from the MNIST files)."""
    model = draw.get_model(name, pretrained=True)
    record, _ = pretrained.read_record(name)
    objective = model.objective()
    data = run.split_images(record["dataset"], "test", 0,
                            record["source"]["train"]["binarize"],
                            Environment(data_dir=data_dir, source=source_dir),
                            labels=objective.labelled)
    result = pretrained.check_bound(model, data)
    for key in objective.names:
        assert result[key] == pytest.approx(record["check"][key], abs=0.01), key


def _damaged_copies(out, base):
    """Copies of the exported ``tiny`` weights, each damaged one way: name -> (directory,
    the message every loader gives)."""
    from draw.files import sha256_file
    record = json.load(open(os.path.join(out, "tiny.json")))
    cases = {}

    def copy(name):
        d = os.path.join(base, name)
        shutil.copytree(out, d)
        return d
    d = copy("not_json")
    open(os.path.join(d, "tiny.json"), "w").write("{not json")
    cases["not_json"] = (d, "tiny.json: not a readable JSON record")
    d = copy("no_sha")
    json.dump({k: v for k, v in record.items() if k != "sha256"},
              open(os.path.join(d, "tiny.json"), "w"))
    cases["no_sha"] = (d, "not a pretrained-weights record: missing sha256")
    d = copy("bad_model")
    json.dump(dict(record, model={"kind": "draw"}), open(os.path.join(d, "tiny.json"), "w"))
    cases["bad_model"] = (d, "not a pretrained-weights record: model must be")
    d = copy("other_model")  # a valid record of another model than the file holds
    other = json.loads(json.dumps(record))
    other["model"]["kwargs"]["latent_dim"] = 5
    json.dump(other, open(os.path.join(d, "tiny.json"), "w"))
    cases["other_model"] = (d, "the parameters do not fit the model of its record "
                               "(decoder.gates.weight has shape")
    d = copy("garbage")  # a params file that is not one, with its sha256 recorded
    params = os.path.join(d, "tiny.params")
    open(params, "wb").write(b"\x00garbage" * 100)
    json.dump(dict(record, sha256=sha256_file(params)), open(os.path.join(d, "tiny.json"), "w"))
    cases["garbage"] = (d, "tiny.params: unreadable parameter file")
    return cases


@pytest.fixture(scope="module")
def damaged(exported, tmp_path_factory):
    return _damaged_copies(exported[1], str(tmp_path_factory.mktemp("damaged")))


CASES = ["not_json", "no_sha", "bad_model", "other_model", "garbage"]


@pytest.mark.parametrize("case", CASES)
def test_get_model_raises_one_documented_error(damaged, case):
    directory, message = damaged[case]
    with pytest.raises(CheckpointError) as e:
        draw.get_model("tiny", pretrained=directory)
    assert message in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("case", CASES)
def test_tools_refuse_damaged_weights_in_one_line(damaged, case, tmp_path, data_dir):
    """sample.py, evaluate.py and a warm start: one line, exit status 2, nothing written."""
    directory, message = damaged[case]
    weights = os.path.join(directory, "tiny.params")
    out = tmp_path / "out"
    assert_one_line_error(run_script(["examples/sample.py", weights, "--out", str(out)]),
                          message)
    assert_one_line_error(run_script(["examples/evaluate.py", weights, "--data_dir",
                                      data_dir]), message)
    logdir = tmp_path / "warm"
    proc = run_script(TINY + ["--max_steps", "1", "--init_from", weights, "--logdir",
                              str(logdir), "--data_dir", data_dir])
    if case == "other_model":  # the record names another model than this run builds
        message = "those weights are for another model"
    assert_one_line_error(proc, message)
    assert not out.exists() and not logdir.exists()


def test_an_unknown_name_lists_the_pretrained_weights(tmp_path):
    proc = run_script(["examples/evaluate.py", "draw_mnst"])
    names = pretrained.available()
    assert {"convdraw_drawers", "draw_mnist", "draw_mnist_noattn"} <= set(names)
    assert_one_line_error(proc, "draw_mnst: not a run directory (no readable args.json), "
                                "nor pretrained weights (no such file; assets/pretrained "
                                "has: %s; or give a .params file)" % ", ".join(names))


def test_export_on_a_full_disk_publishes_nothing(exported, tmp_path, data_dir):
    """Parameters and record are written to temporary names and renamed together: a
    disk too small for the parameters is one line, and leaves neither file nor a
    temporary one; weights exported there before are left as they were."""
    from .helpers import small_disk
    run_dir, out = exported
    with small_disk(tmp_path / "disk", size="12k") as disk:
        proc = run_script(["examples/export_pretrained.py", run_dir, "--name", "tiny",
                           "--out", str(disk), "--data_dir", data_dir])
        assert proc.returncode == 2, proc.stderr[-2000:]
        assert "Traceback" not in proc.stderr
        last = proc.stderr.strip().splitlines()[-1]
        assert last.startswith("error: ") and ("No space left on device" in last
                                               or "is the disk full?" in last), last
        assert os.listdir(str(disk)) == []
    again = run.export_pretrained(run_dir, "tiny", directory=str(tmp_path / "w"),
                                  env=Environment(data_dir=data_dir))
    before = {f: open(os.path.join(str(tmp_path / "w"), f), "rb").read()
              for f in ("tiny.params", "tiny.json")}

    def fail(path):
        open(path, "wb").write(b"partial")
        raise OSError(28, "No space left on device", path)
    with pytest.raises(OSError):
        pretrained.publish("tiny", fail, again, directory=str(tmp_path / "w"))
    assert {f: open(os.path.join(str(tmp_path / "w"), f), "rb").read()
            for f in os.listdir(str(tmp_path / "w"))} == before
