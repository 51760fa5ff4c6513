"""The errors a user can cause or meet; the command-line tools print each as one line
``error: <message>`` (exit status 2, or 1 for :class:`TrainingError`).

This module imports nothing, so that the command-line layer can name the errors without
loading MXNet.
"""


class UsageError(Exception):
    """A request that cannot be honoured: bad flags, devices, run directory or sizes."""


class DatasetError(Exception):
    """A dataset file is missing, corrupt, of the wrong shape or from another converter."""


class CheckpointError(Exception):
    """A checkpoint is missing, corrupt or does not fit the model."""


class TrainingError(Exception):
    """Training cannot go on (e.g. the loss stayed non-finite); the message says why."""


def last_line(error):
    """The last line of an exception's message (MXNet's carry a C++ stack trace above
    it), or its type's name: what a one-line error shows of it."""
    lines = str(error).strip().splitlines()
    return lines[-1] if lines else type(error).__name__
