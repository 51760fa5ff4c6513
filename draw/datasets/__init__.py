"""Datasets: converters from the original files to NDArray files, and loading.

``store`` fetches, verifies, writes and loads; ``mnist`` and ``omniglot`` are the
datasets. Batching is in :mod:`draw.batches`.
"""
from ..config import default_source
from ..errors import DatasetError
from .cluttered import convert_cluttered_mnist, load_rendered
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


#: datasets stored in another form than their images: name -> loader (``(path,
#: require) -> (arrays, meta)``, as :func:`load_dataset`, with ``<split>_x`` images)
LOADERS = {"cluttered_mnist": load_rendered}


def load_examples(name, path, require=("train_x",)):
    """The arrays of the converted dataset ``name`` at ``path`` with the images as the
    models take them (``<split>_x`` (N, C, H, W); labels ``<split>_y`` where the dataset
    has them): :func:`load_dataset`, or for a dataset stored as generator recipes
    (cluttered MNIST) its rendered images."""
    return LOADERS.get(name, load_dataset)(path, require=require)
