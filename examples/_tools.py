"""Helpers shared by the tools in examples/ (not part of the draw package)."""
import importlib.util
import os
import socket


def load_example(name):
    """Import the tool script ``examples/<name>.py`` as a module (for the tests and the
    documentation's generated tables; the scripts are not a package)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name + ".py")
    spec = importlib.util.spec_from_file_location("examples_" + name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port():
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
