"""Pretrained weights (draw/pretrained.py): export from a run, load in one line, and the
committed weights reach the bound stored with them."""
import json
import os
import shutil

import mxnet as mx
import numpy as np
import pytest

import draw
from draw import pretrained
from draw.batches import fixed_binarization
from draw.datasets import load_dataset
from draw.errors import CheckpointError

from .conftest import run_script

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


@pytest.mark.parametrize("name", pretrained.available())
def test_committed_weights_reach_their_bound(name, data_dir, omniglot_data_dir):
    """Each committed model loads with draw.get_model(name, pretrained=True) and its bound
    on the first 500 test images (seed 0) is the one stored with it. A dynamically binarized
    dataset (Omniglot) is checked on the fixed binarization its run validated on."""
    model = draw.get_model(name, pretrained=True)
    record, _ = pretrained.read_record(name)
    images = load_dataset(os.path.join(data_dir, record["dataset"] + ".nd"))[0]["test_x"]
    if record["source"]["train"].get("binarize") == "dynamic":
        images = fixed_binarization(images)
    result = pretrained.check_bound(model, images)
    assert result["total"] == pytest.approx(record["check"]["total"], abs=0.01)
