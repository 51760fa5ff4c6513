#!/usr/bin/env python
"""Screenshot TensorBoard's scalars and images pages for a run, headless (needs the viz
extra and Chromium: apt install chromium).

    python examples/tensorboard_screenshot.py runs/demo --out assets/tensorboard
    # writes assets/tensorboard_scalars.png and assets/tensorboard_images.png

Starts TensorBoard on the run's mxboard logs (the viz extra: TensorBoard 2.12-2.19, which
reads mxboard's events with its protobuf pin) and saves screenshots of its pages with
headless Chromium (Debian: apt install chromium). The legacy #scalars and #images pages
render headless; the Time Series page draws with WebGL and stays blank there.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

from _tools import free_port

from draw.cli import bounded_int, script_parser
from draw.errors import UsageError
from draw.files import output_dir


#: pages to capture: file suffix -> URL fragment
PAGES = {"scalars": "#scalars&_smoothingWeight=0", "images": "#images"}


class ScreenshotError(Exception):
    """TensorBoard or Chromium is missing or did not render."""


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise ScreenshotError("no Chromium found: install Debian's chromium package "
                          "(apt install chromium) or put chromium on PATH")


def start_tensorboard(logdir, port=None, timeout=90):
    """Start ``tensorboard --logdir logdir`` on 127.0.0.1; returns ``(process, url)`` once
    it serves the run's data."""
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        raise ScreenshotError("TensorBoard is not installed: pip install -e '.[viz]'") from None
    port = port or free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tensorboard.main", "--logdir", logdir,
                             "--host", "127.0.0.1", "--port", str(port), "--reload_interval",
                             "1"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = "http://127.0.0.1:%d/" % port
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise ScreenshotError("TensorBoard exited: %s" % proc.stderr.read()[-500:])
        try:
            with urllib.request.urlopen(url + "data/plugins_listing", timeout=2) as r:
                listing = r.read().decode()
            with urllib.request.urlopen(url + "data/runs", timeout=2) as r:
                runs = r.read().decode()
            if '"scalars"' in listing and runs.strip() not in ("[]", ""):
                return proc, url
        except OSError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise ScreenshotError("TensorBoard did not serve %s within %d s" % (logdir, timeout))


def screenshot(url, path, chromium=None, size=(1400, 1000), budget_ms=20000):
    """Render ``url`` headless and save a PNG screenshot to ``path``."""
    chromium = chromium or find_chromium()
    with tempfile.TemporaryDirectory() as profile:
        cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu",
               "--hide-scrollbars", "--user-data-dir=" + profile,
               "--window-size=%d,%d" % size, "--virtual-time-budget=%d" % budget_ms,
               "--screenshot=" + os.path.abspath(path), url]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=180)
    if proc.returncode != 0 or not os.path.isfile(path):
        raise ScreenshotError("chromium failed (%s): %s" % (proc.returncode, proc.stderr[-500:]))
    return path


def capture(logdir, out_prefix, pages=PAGES, size=(1400, 1000)):
    """Screenshots of TensorBoard's pages for ``logdir``: ``<out_prefix>_<page>.png``."""
    chromium = find_chromium()
    proc, url = start_tensorboard(logdir)
    try:
        return [screenshot(url + fragment, "%s_%s.png" % (out_prefix, name), chromium, size)
                for name, fragment in pages.items()]
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def main(argv):
    p = script_parser(__doc__)
    p.add_argument("logdir", help="run directory (or a directory of runs)")
    p.add_argument("--out", default="tensorboard", help="output prefix (default tensorboard)")
    p.add_argument("--width", type=bounded_int(200, 8000), default=1400)
    p.add_argument("--height", type=bounded_int(200, 8000), default=1000)
    args = p.parse_args(argv)
    if not os.path.isdir(args.logdir):
        p.error("%s is not a directory" % args.logdir)
    try:
        with output_dir(os.path.dirname(os.path.abspath(args.out)), "--out"):
            for path in capture(args.logdir, args.out, size=(args.width, args.height)):
                print(path)
    except (ScreenshotError, UsageError) as e:
        print("error: %s" % e, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
