#!/usr/bin/env python
"""Speed benchmark of DRAW and ConvDRAW: training and sampling speed, validation and
conversion time, and memory.

    python examples/benchmark.py                       # the table in docs/performance.md (several minutes)
    python examples/benchmark.py --workloads draw --repeats 3
    python examples/benchmark.py --gpu --json gpu.json
    python examples/benchmark.py --ab amp --workloads convdraw    # --amp against float32
    python examples/benchmark.py --ab naive_engine --workloads draw
    python examples/benchmark.py --peer --amp                     # both in bfloat16

For each workload (the presets draw_mnist, draw_mnist_noattn and convdraw_omniglot of
draw.registry) a fresh worker process measures:

* training samples/s: forward + backward + gradient clipping + Adam through
  draw.train.Trainer, hybridized (static_alloc, static_shape) and imperative; warm-up
  excluded; `repeats` timings of `steps` steps each, reported as median, min and max;
* achieved GFLOP/s = training FLOPs per sample (3x the model's forward_flops()) x samples/s;
* sampling: seconds to draw 64 images with every intermediate canvas;
* one full validation pass (the bound on the whole validation split);
* the worker's peak resident memory, or with ``--gpu`` the GPU memory in use.

With ``--amp`` every measurement is in mixed precision (bfloat16 on a CPU that has it);
``--ab amp`` alternates ours with and without it, ``--ab naive_engine`` with MXNet's
NaiveEngine and without (like ``--peer``, whose PyTorch runs under bfloat16 autocast when
``--amp`` is given), and reports the ratio.

The parent process also times the Omniglot conversion (both zips), collects the workers'
results, prints a table and writes JSON. Each workload runs in its own process so that
peak memory and thread state are its own.
"""
import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

from draw import runtime
from draw.cli import add_amp_args, main, non_negative_int, positive_int, script_parser
from draw.config import default_data_dir, default_source
from draw.registry import PRESETS

#: The measured configurations: a model preset (draw.registry), batch size, the dataset
#: and split of the validation pass.
WORKLOADS = {
    "draw": dict(preset="draw_mnist", batch_size=100, dataset="binarized_mnist", split="val_x"),
    "draw_noattn": dict(preset="draw_mnist_noattn", batch_size=100, dataset="binarized_mnist",
                        split="val_x"),
    "convdraw": dict(preset="convdraw_omniglot", batch_size=32, dataset="omniglot",
                     split="test_x"),
}

#: ``--tiny``: the same code paths on small models (the test suite's smoke test).
TINY = {
    "draw": dict(batch_size=10, model=dict(num_steps=2, num_recurrent_units=16, latent_dim=4)),
    "draw_noattn": dict(batch_size=10, model=dict(num_steps=2, num_recurrent_units=16,
                                                  latent_dim=4)),
    "convdraw": dict(batch_size=4, model=dict(num_steps=2, num_recurrent_maps=8)),
}

#: Validation split sizes, used for synthetic data when the dataset is not converted.
VALIDATION_SIZES = {"binarized_mnist": 10000, "omniglot": 9738}


def _stats(values):
    return {"median": float(np.median(values)), "min": float(np.min(values)),
            "max": float(np.max(values)), "values": [float(v) for v in values]}


# --------------------------------------------------------------------------- worker

def _worker(name, settings, ctx_spec, data_dir, warmup, repeats, steps, validation_limit,
            train_only=False, amp=False):
    """Measure one workload in this process; returns a JSON-serialisable dict.
    ``train_only``: the hybridized training speed alone (the peer comparison); ``amp``:
    in mixed precision (:mod:`draw.precision`)."""
    threads = runtime.setup()  # before MXNet starts
    import mxnet as mx
    from draw import precision
    from draw.context import parse_contexts
    from draw.datasets import load_dataset
    from draw.evaluate import evaluate_bound
    from draw.registry import model_from_config
    from draw.config import TrainConfig
    from draw.rundir import RunDir
    from draw.train import Trainer

    ctxs = parse_contexts(gpu=ctx_spec == "gpu")
    precision.use(amp, ctxs)  # before any model is built
    batch = settings["batch_size"]
    model_cfg = {"kind": settings["kind"], "kwargs": settings["model"]}
    shape = tuple(settings["model"]["image_shape"])
    rng = np.random.RandomState(0)
    train = mx.nd.array(rng.rand(max(4 * batch, 64), *shape) > 0.5, dtype="uint8")
    result = {"workload": name, "batch_size": batch, "model": model_cfg,
              "threads": threads or "OpenMP threads: MXNet default",
              "contexts": [str(c) for c in ctxs], "precision": precision.dtype(),
              "engine": os.environ.get("MXNET_ENGINE_TYPE") or "ThreadedEnginePerDevice"}
    flops = model_from_config(model_cfg).forward_flops()
    result["gflop_per_sample_forward"] = flops / 1e9
    result["gflop_per_sample_train"] = 3 * flops / 1e9

    for mode in ("hybridized",) if train_only else ("hybridized", "imperative"):
        mx.random.seed(0)
        model = model_from_config(model_cfg)
        model.initialize(mx.init.Xavier(), ctx=ctxs)
        trainer = Trainer(model, train, train[:batch], TrainConfig(batch_size=batch), ctxs,
                          run_dir=RunDir(tempfile.gettempdir()))
        if mode == "imperative":
            trainer.net.hybridize(active=False)
        batches = [b for b in trainer.train_iter.epoch(0)]
        for i in range(warmup):
            trainer.step(batches[i % len(batches)])
        mx.nd.waitall()
        rates = []
        for r in range(repeats):
            start = time.perf_counter()
            for i in range(steps):
                trainer.step(batches[i % len(batches)])
            mx.nd.waitall()
            rates.append(steps * batch / (time.perf_counter() - start))
        result["train_" + mode] = _stats(rates)
    if train_only:
        result["parameters"] = sum(p.data(ctxs[0]).size for p in
                                   model.collect_params().values() if p.grad_req != "null")
        return result

    # sampling (with the hybridized model's parameters, imperative generation as users do)
    times = []
    for r in range(warmup + repeats):
        start = time.perf_counter()
        canvases, _ = model.sample(64, ctx=ctxs[0])
        canvases.wait_to_read()
        if r >= warmup:
            times.append(time.perf_counter() - start)
    result["sample_64_seconds"] = _stats(times)
    result["sample_images_per_sec"] = 64 / float(np.median(times))

    # one validation pass
    path = os.path.join(data_dir, settings["dataset"] + ".nd") if data_dir else None
    if path and os.path.isfile(path):
        images = load_dataset(path, require=(settings["split"],))[0][settings["split"]]
        result["validation_data"] = path
    else:
        n = VALIDATION_SIZES[settings["dataset"]]
        images = mx.nd.array(rng.rand(n, *shape) > 0.5, dtype="uint8")
        result["validation_data"] = "synthetic"
    total = len(images)
    used = images[:validation_limit] if validation_limit else images
    net = trainer.net
    net.hybridize(static_alloc=True, static_shape=False)
    evaluate_bound(net, used[:batch], batch, ctxs)  # warm-up
    start = time.perf_counter()
    evaluate_bound(net, used, batch, ctxs)
    elapsed = time.perf_counter() - start
    result["validation"] = {"images": total, "measured_images": len(used),
                            "images_per_sec": len(used) / elapsed,
                            "seconds": elapsed * total / len(used),
                            "extrapolated": len(used) < total}
    train_median = result["train_hybridized"]["median"]
    result["train_gflops"] = train_median * 3 * flops / 1e9
    result["hybrid_over_imperative"] = train_median / result["train_imperative"]["median"]
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    result["gpu_memory_mb"] = gpu_memory_mb(ctxs[0])
    return result


def gpu_memory_mb(ctx, memory_info=None):
    """MB of GPU memory in use on ``ctx``'s device (total minus free, as the driver
    reports it: this process's pool plus any other process's), None on the CPU.
    ``memory_info(device_id) -> (free, total)`` bytes defaults to MXNet's."""
    if ctx.device_type != "gpu":
        return None
    if memory_info is None:
        import mxnet as mx
        memory_info = mx.context.gpu_memory_info
    free, total = memory_info(ctx.device_id)
    return (total - free) / 2.0 ** 20


# --------------------------------------------------------------------------- parent

def time_omniglot_conversion(source, log=print):
    """Seconds to convert both Omniglot zips from ``source`` (into a temporary directory)."""
    from draw.datasets import convert_omniglot
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        convert_omniglot(out_dir=out, source=source, force=True, log=lambda *a: None)
        return time.perf_counter() - start


def _measure(cmd, env=None):
    """Run a measuring process (with the extra environment variables ``env``); its last
    stdout line is its JSON result."""
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=dict(os.environ, **(env or {})))
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        raise RuntimeError("%s failed: %s" % (" ".join(cmd[1:3]),
                                              lines[-1] if lines else proc.returncode))
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _worker_command(name, args, train_only=False, amp=None):
    """The command of a measuring process; ``amp`` None: as ``--amp`` says."""
    amp = args.amp if amp is None else amp
    return [sys.executable, os.path.abspath(__file__), "--worker", name,
            "--settings", json.dumps(settings_for(name, args.tiny)),
            "--warmup", str(args.warmup), "--repeats", str(args.repeats),
            "--steps", str(args.steps), "--validation_limit", str(args.validation_limit),
            "--data_dir", args.data_dir or ""] + (["--gpu"] if args.gpu else []) + \
        (["--train_only"] if train_only else []) + (["--amp"] if amp else [])


def peer_summary(name, ours, peers):
    """One workload's comparison from the rounds' results: medians over the rounds of
    each side's median samples/s, their ratio, and each round's ratio. A side's results
    are our worker's (``train_hybridized``) or the PyTorch peer's (``train``)."""
    def rate(r):
        return (r.get("train_hybridized") or r["train"])["median"]
    a, b = [rate(r) for r in ours], [rate(r) for r in peers]
    return {"workload": name, "ours": a, "peer": b, "ours_median": float(np.median(a)),
            "peer_median": float(np.median(b)),
            "ratio": float(np.median(a) / np.median(b)),
            "round_ratios": [x / y for x, y in zip(a, b)],
            "ours_precision": ours[0].get("precision", "float32"),
            "peer_framework": peers[0].get("framework") or
            "MXNet (ours, %s)" % peers[0].get("precision", "float32")}


def format_peer_table(rows):
    mixed = rows[0]["ours_precision"] != "float32"
    out = ["| workload | ours%s (samples/s, per round) | %s (per round) | ratio |"
           % (", " + rows[0]["ours_precision"] if mixed else "", rows[0]["peer_framework"]),
           "|---|---|---|---|"]
    for r in rows:
        out.append("| %s | %s | %s | %.2fx |" % (
            r["workload"], ", ".join("%.1f" % v for v in r["ours"]),
            ", ".join("%.1f" % v for v in r["peer"]), r["ratio"]))
    return "\n".join(out)


#: the levers ``--ab`` compares: name -> (label, worker flags, worker environment) of
#: the lever's side; the other side is the default (float32, MXNet's threaded engine)
LEVERS = {"amp": ("--amp", ["--amp"], {}),
          "naive_engine": ("NaiveEngine", [], {"MXNET_ENGINE_TYPE": "NaiveEngine"})}


def _ab_run(args, report):
    """``--ab LEVER``: each workload's hybridized training with the lever and without,
    in fresh processes, alternating ``--peer_rounds`` times; the ratio of the medians
    (with over without)."""
    label, flags, env = LEVERS[args.ab]
    rows = []
    for name in args.names:
        lever, plain = [], []
        for r in range(args.peer_rounds):
            for side, results, on in ((label, lever, True), ("default", plain, False)):
                print("round %d/%d of %s: %s ..." % (r + 1, args.peer_rounds, name, side),
                      file=sys.stderr, flush=True)
                cmd = _worker_command(name, args, train_only=True, amp=False)
                results.append(_measure(cmd + flags if on else cmd, env if on else None))
        row = peer_summary(name, lever, plain)
        row.update(lever=args.ab, peer_framework="MXNet (ours, default)")
        rows.append(row)
    report["ab"] = rows
    print(format_peer_table(rows))
    print("\n%s, %d cores, %s; %s; MXNet %s; with against without %s" % (
        report["machine"]["cpu"], report["machine"]["cores"], report["machine"]["isa"],
        lever[0]["threads"], report["machine"]["mxnet"], label))
    from draw.files import write_json
    write_json(args.json, report)
    print("wrote %s" % args.json)
    return report


def _peer_run(args, report):
    """``--peer``: each workload's hybridized training, ours and the PyTorch peer's, in
    fresh processes, alternating ``--peer_rounds`` times; the ratio of the medians."""
    peer_script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peer_torch.py")
    rows = []
    for name in args.names:
        settings = settings_for(name, args.tiny)
        ours, peers = [], []
        for r in range(args.peer_rounds):
            print("round %d/%d of %s: ours ..." % (r + 1, args.peer_rounds, name),
                  file=sys.stderr, flush=True)
            ours.append(_measure(_worker_command(name, args, train_only=True)))
            print("round %d/%d of %s: PyTorch ..." % (r + 1, args.peer_rounds, name),
                  file=sys.stderr, flush=True)
            peers.append(_measure([sys.executable, peer_script, "--settings",
                                   json.dumps(settings), "--warmup", str(args.warmup),
                                   "--repeats", str(args.repeats), "--steps",
                                   str(args.steps)] + (["--autocast"] if args.amp else [])))
        if peers[0]["parameters_without_second_lstm_bias"] != ours[0]["parameters"]:
            raise RuntimeError("the peer of %s has %d parameters (%d without nn.LSTMCell's "
                               "second bias), ours %d: not the same model" % (
                                   name, peers[0]["parameters"],
                                   peers[0]["parameters_without_second_lstm_bias"],
                                   ours[0]["parameters"]))
        rows.append(peer_summary(name, ours, peers))
    report["peer"] = rows
    print(format_peer_table(rows))
    print("\n%s, %d cores, %s; %s; MXNet %s vs %s" % (
        report["machine"]["cpu"], report["machine"]["cores"], report["machine"]["isa"],
        ours[0]["threads"], report["machine"]["mxnet"], rows[0]["peer_framework"]))
    from draw.files import write_json
    write_json(args.json, report)
    print("wrote %s" % args.json)
    return report


def _vector_isa():
    """The widest x86 vector extension of this CPU (what oneDNN's kernels use). AMX is
    named because MXNet 1.9.1's oneDNN (2.4) has no AMX kernels while newer frameworks'
    have: a peer comparison in bfloat16 on such a CPU compares AVX-512 with AMX."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f
                          if line.startswith("flags")), [])
    except OSError:
        return platform.machine()
    for flag, name in (("amx_bf16", "AVX-512 with bf16, AMX"),
                       ("avx512_bf16", "AVX-512 with bf16"), ("avx512f", "AVX-512"),
                       ("avx2", "AVX2")):
        if flag in flags:
            return name
    return platform.machine()


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def format_table(results):
    """Markdown table of the workloads' results."""
    rows = ["| workload | train samples/s (median, min-max) | GFLOP/s | hybrid / imperative "
            "| sample 64 images (s) | full validation (s) | memory (MB) |",
            "|---|---|---|---|---|---|---|"]
    for r in results:
        t = r["train_hybridized"]
        v = r["validation"]
        gpu = r.get("gpu_memory_mb")
        memory = "%.0f GPU" % gpu if gpu is not None else "%.0f peak RSS" % r["peak_rss_mb"]
        rows.append("| %s | %.1f (%.1f-%.1f) | %.1f | %.2fx | %.3f | %.1f%s | %s |" % (
            r["workload"], t["median"], t["min"], t["max"], r["train_gflops"],
            r["hybrid_over_imperative"], r["sample_64_seconds"]["median"], v["seconds"],
            " (est.)" if v["extrapolated"] else "", memory))
    return "\n".join(rows)


def parse_args(argv=None):
    p = script_parser(__doc__)
    p.add_argument("--workloads", default="draw,draw_noattn,convdraw",
                   help="comma-separated subset of %s" % ", ".join(WORKLOADS))
    p.add_argument("--tiny", action="store_true",
                   help="small models, for a quick check of the harness")
    p.add_argument("--gpu", action="store_true", help="measure on GPU 0")
    p.add_argument("--warmup", type=non_negative_int, default=2, help="warm-up steps")
    p.add_argument("--repeats", type=positive_int, default=5, help="timed repeats")
    p.add_argument("--steps", type=positive_int, default=3, help="training steps per repeat")
    p.add_argument("--validation_limit", type=non_negative_int, default=1000,
                   help="time the validation pass on at most N images and extrapolate to "
                        "the full split, 0 = the full split (default %(default)s)")
    p.add_argument("--no_conversion", action="store_true",
                   help="do not time the Omniglot conversion")
    p.add_argument("--json", default="benchmark.json", help="output JSON (default %(default)s)")
    p.add_argument("--peer", action="store_true",
                   help="instead: our training speed against the same models in plain "
                        "PyTorch eager (examples/peer_torch.py; pip install -e '.[peer]'), "
                        "alternating, and the ratio")
    p.add_argument("--peer_rounds", type=positive_int, default=3,
                   help="with --peer: alternations per workload (default %(default)s)")
    p.add_argument("--ab", choices=sorted(LEVERS), default=None,
                   help="instead: our training with a lever (amp: --amp; naive_engine: "
                        "MXNet's NaiveEngine) against without, alternating --peer_rounds "
                        "times, and the ratio")
    add_amp_args(p)  # with --peer: PyTorch under bfloat16 autocast
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--train_only", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--settings", default=None, help=argparse.SUPPRESS)
    p.add_argument("--data_dir", default=default_data_dir(),
                   help="converted datasets (for the validation pass; synthetic data of the "
                        "same size when absent)")
    p.add_argument("--source", default=default_source(),
                   help="original dataset files (for the conversion timing)")
    args = p.parse_args(argv)
    names = [n for n in args.workloads.split(",") if n]
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown or not names:
        p.error("--workloads: unknown %s (choose from %s)"
                % (", ".join(unknown) or "(none)", ", ".join(WORKLOADS)))
    args.names = names
    return args


def settings_for(name, tiny):
    """A workload's settings with its preset's model kind and arguments (``kind``,
    ``model``), shrunk with ``tiny``."""
    s = json.loads(json.dumps(WORKLOADS[name]))
    kind, kwargs = PRESETS[s["preset"]]
    s.update(kind=kind, model=json.loads(json.dumps(kwargs)))
    if tiny:
        s["batch_size"] = TINY[name]["batch_size"]
        s["model"].update(TINY[name]["model"])
    return s


def run(argv=None):
    args = parse_args(argv)
    if args.worker:
        result = _worker(args.worker, json.loads(args.settings), "gpu" if args.gpu else "cpu",
                         args.data_dir, args.warmup, args.repeats, args.steps,
                         args.validation_limit, train_only=args.train_only, amp=args.amp)
        print(json.dumps(result))
        return result
    from draw.context import parse_contexts
    from draw.errors import UsageError
    from draw.files import output_dir
    parse_contexts(gpu=args.gpu)  # a clear error before any work
    if args.amp or args.ab == "amp":
        from draw.precision import target_dtype
        target_dtype(args.gpu)  # no bfloat16 on this CPU: one line, before any work
    if os.path.isdir(args.json):
        raise UsageError("--json %s is a directory; give a file name" % args.json)
    with output_dir(os.path.dirname(os.path.abspath(args.json)), "--json"):
        return _run(args)


def _run(args):
    """The measurements of :func:`run` (not a worker), once ``--json``'s directory exists."""
    report = {"machine": {"cpu": _cpu_name(), "cores": runtime.available_cores(),
                          "python": platform.python_version(),
                          "omp_num_threads": os.environ.get("OMP_NUM_THREADS")},
              "settings": {k: getattr(args, k) for k in ("tiny", "gpu", "amp", "warmup",
                                                         "repeats", "steps",
                                                         "validation_limit")},
              "workloads": []}
    import mxnet as mx
    report["machine"]["mxnet"] = mx.__version__
    report["machine"]["isa"] = _vector_isa()
    if args.peer:
        return _peer_run(args, report)
    if args.ab:
        return _ab_run(args, report)
    for name in args.names:
        print("measuring %s ..." % name, file=sys.stderr, flush=True)
        report["workloads"].append(_measure(_worker_command(name, args)))
    if not args.no_conversion:
        if args.source:
            print("timing the Omniglot conversion ...", file=sys.stderr, flush=True)
            report["omniglot_conversion_seconds"] = time_omniglot_conversion(args.source)
        else:
            report["omniglot_conversion_seconds"] = None
    table = format_table(report["workloads"])
    print(table)
    threads = report["workloads"][0]["threads"] if report["workloads"] else ""
    print("\n%s, %d cores; %s; MXNet %s" % (report["machine"]["cpu"], report["machine"]["cores"],
                                             threads, report["machine"]["mxnet"]))
    if report.get("omniglot_conversion_seconds") is not None:
        print("Omniglot conversion (both zips): %.1f s" % report["omniglot_conversion_seconds"])
    from draw.files import write_json
    write_json(args.json, report)
    print("wrote %s" % args.json)
    return report


if __name__ == "__main__":
    main(run, sys.argv[1:])
