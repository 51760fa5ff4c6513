"""Datasets: converters from the original files to NDArray files, and loading.

``store`` fetches, verifies, writes and loads; ``mnist`` and ``omniglot`` are the
datasets. Batching is in :mod:`draw.batches`.
"""
from ..config import default_source
from ..errors import DatasetError
from .cluttered import convert_cluttered_mnist
from .mnist import convert_binarized_mnist, convert_mnist
from .omniglot import convert_omniglot, convert_omniglot_alphabets
from .store import dataset_path, load_dataset  # noqa: F401  (the package's API)

#: dataset name -> converter (``convert(out_dir=, source=, verify=, force=, log=)``)
CONVERTERS = {"mnist": convert_mnist, "binarized_mnist": convert_binarized_mnist,
              "cluttered_mnist": convert_cluttered_mnist,
              "omniglot": convert_omniglot, "omniglot_alphabets": convert_omniglot_alphabets}


def ensure_dataset(name, data_dir=None, source=None, log=print):
    """Path of a converted dataset, converting it first if needed."""
    if name not in CONVERTERS:
        raise DatasetError("unknown dataset %r; known: %s" % (name, ", ".join(sorted(CONVERTERS))))
    return CONVERTERS[name](out_dir=data_dir, source=source or default_source(), log=log)
