"""The ``draw`` logger: INFO lines to stderr and, for a run, to its ``train.log``."""
import logging
import sys

log = logging.getLogger("draw")


def setup_logging(log_file=None):
    """Send the ``draw`` logger's INFO lines to stderr (once) and to ``log_file``
    (replacing an earlier file handler)."""
    log.setLevel(logging.INFO)
    if not any(getattr(h, "_draw_console", False) for h in log.handlers):
        console = logging.StreamHandler(sys.stderr)
        console.setFormatter(logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))
        console._draw_console = True
        log.addHandler(console)
    if log_file:
        for old in [h for h in log.handlers if isinstance(h, logging.FileHandler)]:
            log.removeHandler(old)
            old.close()
        handler = logging.FileHandler(log_file)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        log.addHandler(handler)
