"""Smoke test of examples/benchmark.py: output format only (tiny models, not speed)."""
import json

import pytest

import draw
from draw.model import DRAW

from .conftest import load_example, run_script
from .helpers import assert_one_line_error


def test_flop_counts_match_hand_counts():
    paper = dict(image_shape=[1, 28, 28], num_steps=64, num_recurrent_units=256,
                 latent_dim=100, read_size=2, write_size=5, attention=True)
    # per step: encoder 4*256*(8+512) + decoder 4*256*356 + posterior 2*100*256
    # + attention 10*256 + 25*256 + read filters 2*(2*28*28 + 2*28*2) + write 28*25 + 28*5*28
    macs = 532480 + 364544 + 51200 + 2560 + 6400 + 3360 + 4620
    assert DRAW(**paper).forward_flops() == 2 * 64 * macs  # 0.12 GFLOP per image
    model = draw.get_model("convdraw_omniglot")
    assert model.forward_flops() == pytest.approx(8.74e9, rel=1e-3)
    # the encoder ConvLSTM (E(x)'s share of its gates once per image) is 70 % of the cost
    enc = (16 * 144 * 4 * 64 * (16 + 3 * 64) * 25 + 144 * 4 * 64 * 16 * 25) * 2
    assert enc / model.forward_flops() == pytest.approx(0.70, abs=0.01)


def test_benchmark_tiny_output_format(tmp_path, data_dir):
    out = tmp_path / "bench.json"
    proc = run_script(["examples/benchmark.py", "--tiny", "--warmup", "1", "--repeats", "2",
                       "--steps", "1", "--validation_limit", "50", "--no_conversion",
                       "--json", str(out), "--data_dir", data_dir])
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.load(open(out))
    assert report["machine"]["cores"] >= 1 and report["machine"]["mxnet"] == "1.9.1"
    names = [w["workload"] for w in report["workloads"]]
    assert names == ["draw", "draw_noattn", "convdraw"]
    for w in report["workloads"]:
        for mode in ("train_hybridized", "train_imperative"):
            s = w[mode]
            assert len(s["values"]) == 2 and s["min"] <= s["median"] <= s["max"] and s["min"] > 0
        assert w["train_gflops"] == pytest.approx(
            w["train_hybridized"]["median"] * w["gflop_per_sample_train"])
        assert w["hybrid_over_imperative"] > 0 and w["peak_rss_mb"] > 50
        assert w["sample_64_seconds"]["median"] > 0 and w["sample_images_per_sec"] > 0
        v = w["validation"]
        assert v["measured_images"] == 50 and v["extrapolated"] and v["seconds"] > 0
        assert w["threads"].startswith("OpenMP threads: ")
    # binarized MNIST is converted in data_dir: its real validation split is used
    assert report["workloads"][0]["validation"]["images"] == 10000
    assert report["workloads"][0]["validation_data"].endswith("binarized_mnist.nd")
    lines = proc.stdout.strip().splitlines()
    assert lines[0].startswith("| workload | train samples/s")
    assert [l.split("|")[1].strip() for l in lines[2:5]] == names
    assert "cores" in lines[6] and "OpenMP threads" in lines[6]


def test_benchmark_bad_arguments():
    proc = run_script(["examples/benchmark.py", "--workloads", "resnet"])
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: --workloads: unknown resnet (choose from draw, draw_noattn, convdraw) "
        "(see benchmark.py --help)"]
    proc = run_script(["examples/benchmark.py", "--gpu", "--tiny"])
    assert proc.returncode == 2 and "GPU requested" in proc.stderr


def test_gpu_memory_is_reported_for_gpu_contexts():
    import mxnet as mx
    bench = load_example("benchmark")
    calls = []

    def info(device_id):
        calls.append(device_id)
        return 3 * 2 ** 30, 16 * 2 ** 30
    assert bench.gpu_memory_mb(mx.gpu(2), info) == 13 * 1024 and calls == [2]
    assert bench.gpu_memory_mb(mx.cpu(), info) is None and calls == [2]
    row = {"workload": "w", "train_hybridized": {"median": 1, "min": 1, "max": 1},
           "train_gflops": 1, "hybrid_over_imperative": 1,
           "sample_64_seconds": {"median": 1}, "peak_rss_mb": 10,
           "validation": {"seconds": 1, "extrapolated": False}}
    assert bench.format_table([dict(row, gpu_memory_mb=512.0)]).endswith("| 512 GPU |")
    assert bench.format_table([dict(row, gpu_memory_mb=None)]).endswith("| 10 peak RSS |")


def test_peer_summary_and_table():
    """The peer comparison's numbers: medians over rounds and their ratio (no PyTorch
    needed; the end-to-end run is test_peer_benchmark_tiny)."""
    bench = load_example("benchmark")
    ours = [{"train_hybridized": {"median": v}} for v in (120.0, 100.0, 110.0)]
    peers = [{"train": {"median": v}, "framework": "PyTorch 2.13.0 eager"}
             for v in (100.0, 90.0, 95.0)]
    row = bench.peer_summary("draw", ours, peers)
    assert row["ours_median"] == 110.0 and row["peer_median"] == 95.0
    assert row["ratio"] == pytest.approx(110 / 95.0)
    assert row["round_ratios"] == pytest.approx([1.2, 100 / 90.0, 110 / 95.0])
    table = bench.format_peer_table([row]).splitlines()
    assert table[2] == "| draw | 120.0, 100.0, 110.0 | 100.0, 90.0, 95.0 | 1.16x |"


@pytest.mark.peer
def test_peer_benchmark_tiny(tmp_path):
    """benchmark.py --peer on the tiny models: alternating rounds, the same parameter
    counts (but nn.LSTMCell's second bias), ratios in the JSON. Needs PyTorch (pip install
    -e '.[peer]'); run with pytest -m peer."""
    out = tmp_path / "peer.json"
    proc = run_script(["examples/benchmark.py", "--peer", "--tiny", "--peer_rounds", "2",
                       "--warmup", "1", "--repeats", "2", "--steps", "1",
                       "--json", str(out)])
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.load(open(out))
    assert [r["workload"] for r in report["peer"]] == ["draw", "draw_noattn", "convdraw"]
    for r in report["peer"]:
        assert len(r["ours"]) == len(r["peer"]) == 2 and r["ratio"] > 0
    assert proc.stdout.splitlines()[0].startswith("| workload | ours (samples/s, per round)")


def test_ab_amp_tiny(tmp_path):
    """benchmark.py --ab amp on a tiny ConvDRAW: ours with --amp against ours in float32,
    alternating, the ratio in the JSON; on a CPU without bfloat16 the one-line error."""
    from draw import precision
    out = tmp_path / "amp.json"
    proc = run_script(["examples/benchmark.py", "--ab", "amp", "--tiny", "--workloads",
                       "convdraw", "--peer_rounds", "2", "--warmup", "1", "--repeats", "2",
                       "--steps", "1", "--json", str(out)])
    if not precision.cpu_flags() & set(precision.BF16_FLAGS):
        assert proc.returncode == 2 and "no bfloat16 arithmetic" in proc.stderr
        return
    assert proc.returncode == 0, proc.stderr[-3000:]
    (row,) = json.load(open(out))["ab"]
    assert row["ours_precision"] == "bfloat16" and len(row["ours"]) == len(row["peer"]) == 2
    assert row["peer_framework"] == "MXNet (ours, default)" and row["ratio"] > 0
    assert proc.stdout.splitlines()[0].startswith("| workload | ours, bfloat16 (samples/s")


def test_ab_naive_engine_tiny(tmp_path):
    """benchmark.py --ab naive_engine: the lever's side runs under MXNet's NaiveEngine."""
    out = tmp_path / "naive.json"
    proc = run_script(["examples/benchmark.py", "--ab", "naive_engine", "--tiny",
                       "--workloads", "draw", "--peer_rounds", "1", "--warmup", "1",
                       "--repeats", "1", "--steps", "1", "--json", str(out)])
    assert proc.returncode == 0, proc.stderr[-3000:]
    (row,) = json.load(open(out))["ab"]
    assert row["lever"] == "naive_engine" and row["ratio"] > 0
    assert "MXNet start using engine: NaiveEngine" not in proc.stdout  # only on stderr


def test_conv_precision_tiny(tmp_path):
    """examples/conv_precision.py: a 7-channel convolution (not a multiple of 8 or 16)
    timed in float32 and, on a CPU with bfloat16, in bfloat16; a bad kernel is refused."""
    from draw import precision
    out = tmp_path / "conv.json"
    proc = run_script(["examples/conv_precision.py", "--batch", "3", "--in_maps", "5",
                       "--out_maps", "7", "--size", "9", "--kernel", "3", "--calls", "2",
                       "--no_torch", "--json", str(out)])
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.load(open(out))
    has_bf16 = bool(precision.cpu_flags() & set(precision.BF16_FLAGS))
    assert sorted(result["mxnet"]) == (["bfloat16", "float32"] if has_bf16 else ["float32"])
    for timing in result["mxnet"].values():
        assert 0 < timing["forward"] and 0 < timing["forward_backward"]
    assert "mxnet  float32  forward" in proc.stdout and "torch" not in result
    proc = run_script(["examples/conv_precision.py", "--kernel", "4", "--no_torch"])
    assert_one_line_error(proc, "--kernel must be odd")
