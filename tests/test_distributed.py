"""MXNet's parameter server on 127.0.0.1: a scheduler, one server and two workers."""
import os
import re
import signal
import time

import numpy as np
import pytest

from .conftest import run_script
from .helpers import tensorboard_scalars


def test_dist_sync_two_workers(tmp_path, data_dir):
    logdir = tmp_path / "dist"
    proc = run_script(["examples/launch_local.py", "-n", "2", "--timeout", "400", "--",
                       "python", "examples/train_mnist.py", "-s", "4", "-u", "32", "-l", "8",
                       "-b", "100", "--max_steps", "60", "--log_every", "5", "--hist_every", "0",
                       "--num_val", "200", "--no_progress", "--kvstore", "dist_sync",
                       "--logdir", str(logdir), "--data_dir", data_dir], timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    out = proc.stderr
    # both workers finished the 60 steps with identical parameters
    digests = re.findall(r"\[worker (\d)\] .*worker (\d) of 2: step 60, parameter digest (\w+)",
                         out)
    assert sorted(d[1] for d in digests) == ["0", "1"], out[-4000:]
    assert len({d[2] for d in digests}) == 1, digests
    # each trained on its own half of the data: 25,000 images, 50 per step
    assert out.count("worker 0 of 2; 25000 train") + out.count("worker 1 of 2; 25000 train") == 2
    # only rank 0 wrote the run directory; the loss falls
    files = os.listdir(logdir)
    assert "model-00000060.params" in files and "result.json" in files
    loss = [v for _, v in tensorboard_scalars(logdir, "train/loss")]
    assert len(loss) == 12 and np.mean(loss[-3:]) < 0.8 * loss[0], loss
    rates = [v for _, v in tensorboard_scalars(logdir, "train/samples_per_sec")]
    assert all(r > 0 for r in rates)
    print("2-worker dist_sync samples/s (global):", rates)


def test_dist_kvstore_without_launcher_is_a_clear_error(tmp_path, data_dir):
    assert not [k for k in os.environ if k.startswith("DMLC_")]
    proc = run_script(["examples/train_mnist.py", "--kvstore", "dist_sync", "--logdir",
                       str(tmp_path / "run"), "--data_dir", data_dir])
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith(
        "error: --kvstore dist_sync needs the parameter-server variables set by a launcher")
    assert not (tmp_path / "run").exists()


def test_launcher_refuses_non_distributed_command():
    proc = run_script(["examples/launch_local.py", "--", "python", "examples/train_mnist.py"])
    assert proc.returncode == 2 and "must train with --kvstore dist_sync" in proc.stderr


def test_dist_async_is_not_offered():
    proc = run_script(["examples/train_mnist.py", "--kvstore", "dist_async"])
    assert proc.returncode == 2 and "argument --kvstore: invalid choice: 'dist_async'" in \
        proc.stderr


def test_launcher_gives_each_worker_its_own_gpus():
    """--gpus shares the ids out (CUDA_VISIBLE_DEVICES per worker); a GPU worker command
    without it, or ids that do not divide, are one-line errors."""
    import io
    from .conftest import load_example
    launcher = load_example("launch_local")
    assert launcher.worker_gpus([0, 1, 2, 3], 2) == ["0,1", "2,3"]
    assert launcher.worker_gpus([4, 5, 6], 3) == ["4", "5", "6"]
    with pytest.raises(ValueError, match="GPU 0 given more than once"):
        launcher.worker_gpus([0, 0], 2)
    out = io.StringIO()
    # the workers only print what they see (a scheduler and server start and are stopped)
    status = launcher.launch_local(
        ["python", "-c", "import os; print(os.environ['CUDA_VISIBLE_DEVICES'])"],
        num_workers=2, gpus=[2, 3, 4, 5], out=out, timeout=60)
    lines = sorted(line for line in out.getvalue().splitlines() if line.startswith("[worker"))
    assert status == 0 and lines == ["[worker 0] 2,3", "[worker 1] 4,5"], out.getvalue()
    proc = run_script(["examples/launch_local.py", "-n", "2", "--", "python",
                       "examples/train_mnist.py", "--kvstore", "dist_sync", "--gpu"])
    assert proc.returncode == 2 and "every worker would train on the same GPUs" in proc.stderr
    proc = run_script(["examples/launch_local.py", "-n", "2", "--gpus", "0,1,2", "--",
                       "python", "examples/train_mnist.py", "--kvstore", "dist_sync", "--gpu"])
    assert proc.returncode == 2 and "--gpus 0,1,2: 3 GPUs cannot be shared equally by 2 " \
                                    "workers" in proc.stderr


def test_launcher_waits_for_the_scheduler_port():
    """The servers and workers start only once the scheduler listens; a scheduler that
    exits first is reported instead of waited for."""
    import socket
    import subprocess
    import sys
    from .conftest import load_example
    launcher = load_example("launch_local")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        waiting = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        try:
            assert not launcher.wait_listening(port, waiting, timeout=0.5)  # bound, not listening
            s.listen()
            assert launcher.wait_listening(port, waiting, timeout=5)
        finally:
            waiting.kill()
            waiting.wait()
    exited = subprocess.Popen([sys.executable, "-c", "pass"])
    exited.wait()
    assert not launcher.wait_listening(launcher.free_port(), exited, timeout=30)


#: a worker that writes its pid into the directory it is given, then sleeps; with
#: "ignore" it ignores SIGTERM (a worker stuck in a collective operation)
SLEEPER = ("import os, signal, sys, time\n"
           "open(os.path.join(sys.argv[1], str(os.getpid())), 'w').close()\n"
           "if sys.argv[2] == 'ignore': signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
           "time.sleep(600)\n")


def _children(pid):
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        return [int(v) for v in f.read().split()]


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _start_launcher(tmp_path, mode="plain", extra=()):
    import subprocess
    import sys
    from .conftest import ROOT
    pids = tmp_path / "pids"
    pids.mkdir()
    proc = subprocess.Popen([sys.executable, "examples/launch_local.py", "-n", "2"]
                            + list(extra) + ["--", sys.executable, "-c", SLEEPER, str(pids),
                                             mode, "dist_sync"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.time() + 60
    while len(os.listdir(str(pids))) < 2:
        assert time.time() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    return proc, _children(proc.pid)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_launcher_signal_stops_every_process(tmp_path, sig):
    """SIGTERM or SIGINT to the launcher: the scheduler, the server and both workers are
    stopped, the launcher says so in one line, no traceback."""
    proc, children = _start_launcher(tmp_path)
    assert len(children) == 4  # scheduler, server, two workers
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == "error: interrupted (%s)" % signal.Signals(sig).name
    assert not [pid for pid in children if _alive(pid)]


def test_launcher_timeout_kills_after_the_grace(tmp_path):
    """Workers that ignore SIGTERM are killed --grace seconds after the --timeout."""
    start = time.time()
    proc, children = _start_launcher(tmp_path, "ignore", ["--timeout", "15", "--grace", "2"])
    up = time.time()  # the workers run: the rest of the timeout, then the grace
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 124 and "timed out after 15 s" in err, err
    assert time.time() - up < max(0, 15 - (up - start)) + 2 + 3, time.time() - up
    assert not [pid for pid in children if _alive(pid)]


def test_launcher_runs_a_script_given_without_python():
    """``-- examples/train_mnist.py ...`` (no interpreter) runs the script with this
    Python, as ``-- python examples/train_mnist.py ...`` does; other programs are left
    as they are."""
    import sys
    from .conftest import load_example
    launcher = load_example("launch_local")
    script = ["examples/train_mnist.py", "--kvstore", "dist_sync"]
    assert launcher.worker_command(script) == [sys.executable] + script
    assert launcher.worker_command(["python"] + script) == [sys.executable] + script
    assert launcher.worker_command(["env", "A=1", "python3"]) == ["env", "A=1", "python3"]
    assert launcher.worker_command(["missing.py"]) == ["missing.py"]  # refused later


def test_launcher_missing_worker_program_is_one_line():
    proc = run_script(["examples/launch_local.py", "--", "no_such_program_here", "dist_sync"])
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(
        "error: the worker command no_such_program_here is not an executable program")
