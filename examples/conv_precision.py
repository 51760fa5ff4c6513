#!/usr/bin/env python
"""Time one convolution in float32 and in bfloat16, in MXNet and (when installed) in
PyTorch: whether this CPU's bfloat16 kernels pay before training with ``--amp``.

    python examples/conv_precision.py                       # ConvDRAW's largest convolution
    python examples/conv_precision.py --json conv.json
    python examples/conv_precision.py --batch 32 --in_maps 16 --out_maps 256 --size 12

The default is the reference ConvDRAW's encoder convolution (batch 32, 64 -> 256 maps, 5x5
kernel, 12x12 maps, padding 2), ~97 % of whose training step is convolutions. For each
framework and precision it prints milliseconds per call (mean of ``--calls`` after two
warm-up calls) of the forward pass alone and of forward plus backward (data and weight
gradients). MXNet 1.9.1 computes bfloat16 with its bundled oneDNN (2.4), which has
AVX512_BF16 kernels and no AMX ones; set ``MKLDNN_VERBOSE=1`` (MXNet) or
``ONEDNN_VERBOSE=1`` (PyTorch) to see the kernels chosen. On a CPU without bfloat16
arithmetic only float32 is timed. See docs/performance.md, "Mixed precision".
"""
import json
import os
import time

from draw.cli import main, positive_int, script_parser
from draw.precision import BF16_FLAGS, cpu_flags


def _mean_ms(fn, calls):
    fn()
    fn()
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e3


def time_mxnet(shape, dtypes, calls):
    """{dtype: {"forward": ms, "forward_backward": ms}} of MXNet's Convolution."""
    import mxnet as mx
    from mxnet import autograd
    from mxnet.contrib.amp.amp import bfloat16

    batch, in_maps, out_maps, size, kernel = shape
    conv = dict(kernel=(kernel, kernel), pad=(kernel // 2, kernel // 2), num_filter=out_maps,
                no_bias=True)
    out = {}
    for name in dtypes:
        dt = bfloat16 if name == "bfloat16" else "float32"
        x = mx.nd.amp_cast(mx.nd.random.uniform(shape=(batch, in_maps, size, size)), dtype=dt)
        w = mx.nd.amp_cast(mx.nd.random.uniform(shape=(out_maps, in_maps, kernel, kernel)),
                           dtype=dt)
        x.attach_grad()
        w.attach_grad()

        def forward():
            mx.nd.Convolution(x, w, **conv).wait_to_read()

        def forward_backward():
            with autograd.record():
                y = mx.nd.Convolution(x, w, **conv)
            y.backward()
            mx.nd.waitall()
        out[name] = {"forward": _mean_ms(forward, calls),
                     "forward_backward": _mean_ms(forward_backward, calls)}
    return out


def time_torch(shape, dtypes, calls, threads):
    """The same with ``torch.nn.functional.conv2d``; None when PyTorch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    batch, in_maps, out_maps, size, kernel = shape
    out = {"version": torch.__version__}
    for name in dtypes:
        dt = getattr(torch, name)
        x = torch.rand(batch, in_maps, size, size, dtype=dt, requires_grad=True)
        w = torch.rand(out_maps, in_maps, kernel, kernel, dtype=dt, requires_grad=True)

        def forward():
            with torch.no_grad():
                torch.nn.functional.conv2d(x, w, padding=kernel // 2)

        def forward_backward():
            torch.nn.functional.conv2d(x, w, padding=kernel // 2).sum().backward()
        out[name] = {"forward": _mean_ms(forward, calls),
                     "forward_backward": _mean_ms(forward_backward, calls)}
    return out


def parse_args(argv=None):
    p = script_parser(__doc__)
    p.add_argument("--batch", type=positive_int, default=32)
    p.add_argument("--in_maps", type=positive_int, default=64)
    p.add_argument("--out_maps", type=positive_int, default=256)
    p.add_argument("--size", type=positive_int, default=12, help="height = width of the maps")
    p.add_argument("--kernel", type=positive_int, default=5, help="odd kernel size")
    p.add_argument("--calls", type=positive_int, default=20, help="timed calls per case")
    p.add_argument("--no_torch", action="store_true", help="MXNet only")
    p.add_argument("--json", default=None, help="also write the numbers here")
    args = p.parse_args(argv)
    if args.kernel % 2 == 0:
        p.error("--kernel must be odd (same padding), got %d" % args.kernel)
    return args


def run(argv=None):
    from draw import runtime

    args = parse_args(argv)
    flags = cpu_flags()
    bf16 = any(f in flags for f in BF16_FLAGS)
    dtypes = ["float32", "bfloat16"] if bf16 else ["float32"]
    shape = (args.batch, args.in_maps, args.out_maps, args.size, args.kernel)
    result = {"shape": dict(zip(("batch", "in_maps", "out_maps", "size", "kernel"), shape)),
              "cpu_flags": [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16")
                            if f in flags],
              "threads": runtime.THREADS_NOTE, "mxnet": time_mxnet(shape, dtypes, args.calls)}
    if not args.no_torch:
        threads = int(os.environ.get("OMP_NUM_THREADS") or runtime.available_cores())
        result["torch"] = time_torch(shape, dtypes, args.calls, threads)
    if not bf16:
        print("this CPU has no bfloat16 arithmetic (%s): float32 only" % " or ".join(BF16_FLAGS))
    for framework in ("mxnet", "torch"):
        timings = result.get(framework)
        if not timings:
            continue
        for name in dtypes:
            t = timings[name]
            print("%-6s %-8s forward %7.2f ms, forward+backward %7.2f ms%s" % (
                framework, name, t["forward"], t["forward_backward"],
                "" if name == "float32" else "  (%.2fx float32)" % (
                    timings["float32"]["forward_backward"] / t["forward_backward"])))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return result


if __name__ == "__main__":
    main(run)
