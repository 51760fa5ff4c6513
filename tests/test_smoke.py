"""``python -m draw.selftest`` (draw/smoke.py): the device smoke test, on CPU contexts."""
import mxnet as mx

from draw import smoke

from .conftest import run_script


def test_selftest_on_cpu_contexts_passes():
    proc = run_script(["-m", "draw.selftest", "--cpus", "2"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 2 * 2 * 3 + 1 and lines[-1] == "all checks passed"
    assert all(line.startswith("ok  ") for line in lines[:-1])
    assert any("ConvDRAW checkpoint round trip on cpu(1)" in line for line in lines)


def test_selftest_reports_a_failing_check(monkeypatch):
    """A device whose step differs from the CPU's beyond the tolerance fails the check."""
    monkeypatch.setattr(smoke, "PARAM_ATOL", -1.0)  # no difference is small enough
    lines = []
    assert not smoke.selftest([mx.cpu(1)], out=lines.append)
    assert lines[0].startswith("FAIL  DRAW training step on cpu(1)")
    assert lines[-1] == "some checks FAILED"


def test_selftest_without_the_gpu_is_one_line():
    proc = run_script(["-m", "draw.selftest", "--gpu"])
    assert proc.returncode == 2 and proc.stderr.startswith("error: GPU requested")
    assert len(proc.stderr.strip().splitlines()) == 1 and proc.stdout == ""


def test_selftest_amp():
    """``--amp``: mixed-precision training steps through the Trainer (bfloat16 on this
    CPU), or the one-line error on a CPU without bfloat16."""
    from draw import precision
    proc = run_script(["-m", "draw.selftest", "--amp"])
    if not precision.cpu_flags() & set(precision.BF16_FLAGS):
        assert proc.returncode == 2 and "no bfloat16 arithmetic" in proc.stderr
        return
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert len(lines) == 3 and all(line.startswith("ok") for line in lines[:2])
    assert "DRAW bfloat16 training on cpu(0): 3 steps" in lines[0]
    assert lines[-1] == "all checks passed"
