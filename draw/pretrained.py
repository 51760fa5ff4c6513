"""Pretrained weights: exported from a run, loaded in one line.

``assets/pretrained/<name>.params`` holds the parameters and ``<name>.json`` the model
configuration, the file's sha256, where the weights come from (``source``: run, step,
and ``epoch``, the checkpoint's 0-based epoch counter, so 99 for weights written at the
last update of the 100th epoch; a warm-started run adds ``init_from`` and
``steps_in_all``, the updates of the whole chain) and the bound they reach on
:data:`CHECK_IMAGES` test images (a subset drawn with seed 0,
:func:`draw.batches.evaluation_subset`; latent noise seed 0), which the test suite checks.
``draw.get_model(name, pretrained=True)`` loads them.
"""
import json
import os

from .errors import CheckpointError, last_line
from .files import dump_json, read_json, sha256_file

#: where the repository keeps the weights (beside the package, in a source checkout)
PRETRAINED_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                              "assets", "pretrained")
#: test images whose bound is stored with the weights and checked by the tests
CHECK_IMAGES = 500


def available(directory=PRETRAINED_DIR):
    """Names of the pretrained models in ``directory``."""
    if not os.path.isdir(directory):
        return []
    return sorted(f[:-5] for f in os.listdir(directory)
                  if f.endswith(".json") and os.path.exists(os.path.join(directory,
                                                                        f[:-5] + ".params")))


def read_record(name, directory=PRETRAINED_DIR):
    """The record (JSON) of the pretrained weights ``name``, their file checked against
    its sha256. Returns ``(record, params path)``.

    Raises
    ------
    CheckpointError
        No such weights, or a file whose sha256 differs from its record.
    """
    params = os.path.join(directory, name + ".params")
    record_path = os.path.join(directory, name + ".json")
    if not (os.path.exists(params) and os.path.exists(record_path)):
        raise CheckpointError("no pretrained weights for %r (have: %s)"
                              % (name, ", ".join(available(directory)) or "none yet"))
    try:
        record = read_json(record_path)
    except (OSError, ValueError) as e:
        raise CheckpointError("%s: not a readable JSON record (%s)"
                              % (record_path, last_line(e))) from None
    problem = record_problem(record)
    if problem:
        raise CheckpointError("%s: not a pretrained-weights record: %s" % (record_path,
                                                                           problem))
    try:
        digest = sha256_file(params)
    except OSError as e:
        raise CheckpointError("%s: cannot be read (%s)" % (params, e.strerror or e)) from None
    if digest != record["sha256"]:
        raise CheckpointError("%s: sha256 differs from %s (damaged or replaced file)"
                              % (params, record_path))
    return record, params


def record_problem(record):
    """What makes ``record`` (a parsed ``<name>.json``) unusable, or '': it must be an
    object with ``model`` (``{"kind": str, "kwargs": {...}}``), ``dataset`` (str),
    ``sha256`` (64 hexadecimal digits) and, if present, ``source`` and ``check``
    objects."""
    if not isinstance(record, dict):
        return "a JSON object is expected, got %s" % type(record).__name__
    missing = [k for k in ("model", "dataset", "sha256") if k not in record]
    if missing:
        return "missing %s" % ", ".join(missing)
    model = record["model"]
    if not (isinstance(model, dict) and isinstance(model.get("kind"), str)
            and isinstance(model.get("kwargs"), dict)):
        return "model must be {\"kind\": ..., \"kwargs\": {...}}, got %s" % (
            json.dumps(model)[:80])
    if not isinstance(record["dataset"], str):
        return "dataset must be a name, got %s" % json.dumps(record["dataset"])[:80]
    digest = record["sha256"]
    if not (isinstance(digest, str) and len(digest) == 64
            and all(c in "0123456789abcdef" for c in digest)):
        return "sha256 must be 64 hexadecimal digits, got %s" % json.dumps(digest)[:80]
    for key in ("source", "check"):
        if key in record and not isinstance(record[key], dict):
            return "%s must be an object" % key
    source = record.get("source", {})
    if "step" in source and not isinstance(source["step"], int):
        return "source.step must be an integer"
    return ""


def resolve(spec):
    """Pretrained weights named by ``spec``: a name in :data:`PRETRAINED_DIR`
    (``convdraw_drawers``) or the path of a ``<name>.params`` file with its ``<name>.json``
    record beside it. Returns ``(record, params path)`` as :func:`read_record`."""
    if spec.endswith(".params") or os.sep in spec:
        path = spec[:-len(".params")] if spec.endswith(".params") else spec
        return read_record(os.path.basename(path), os.path.dirname(path) or ".")
    return read_record(spec)


def for_config(config, spec):
    """The pretrained weights ``spec`` (:func:`resolve`) checked to be of the model
    configuration ``config`` (``{"kind", "kwargs"}``, :func:`draw.registry.model_config`),
    to start a new run from them (warm start; the optimizer starts afresh). Returns
    ``(record, params path, what the run records: weights, sha256, source
    run/step/epoch)``; :func:`draw.registry.model_from_weights` then checks that the
    parameters load.

    Raises
    ------
    CheckpointError
        No such weights, a damaged file, or weights of another model configuration.
    """
    record, params = resolve(spec)
    mine = json.loads(json.dumps(config))  # tuples as the JSON's lists
    if record["model"] != mine:
        raise CheckpointError("%s: those weights are for another model (%s); this run "
                              "builds %s" % (spec, _describe(record["model"]),
                                             _describe(mine)))
    source = {k: v for k, v in record.get("source", {}).items() if k != "train"}
    return record, params, {"weights": spec, "sha256": record["sha256"], "source": source}


def is_spec(spec, directory=PRETRAINED_DIR):
    """Whether ``spec`` names pretrained weights (:func:`resolve`) rather than a run
    directory: a ``.params`` file, or a name in ``directory`` that is not a directory here."""
    if os.path.isdir(spec):
        return False
    return spec.endswith(".params") or spec in available(directory)


def load_arrays(params):
    """The arrays (name -> NDArray) of a ``.params`` file.

    Raises
    ------
    CheckpointError
        The file cannot be read or is not an MXNet parameter file.
    """
    import mxnet as mx
    try:
        arrays = mx.nd.load(params)
    except (OSError, ValueError, mx.base.MXNetError) as e:
        raise CheckpointError("%s: unreadable parameter file (%s)"
                              % (params, last_line(e))) from None
    if not isinstance(arrays, dict):
        raise CheckpointError("%s: holds unnamed arrays, not a model's parameters" % params)
    return arrays


def run_settings(record):
    """What a run's checkpoint would tell about the weights of ``record``: the settings of
    the run they come from (``model``, ``dataset``, ``train``, so that a split is
    binarized as it validated) and ``{"step": updates}``, the updates they had (their
    chain's, when warm-started). Used to sample, evaluate or draw figures from them
    (:func:`draw.run.load_model`)."""
    source = record.get("source", {})
    settings = {"model": record["model"], "dataset": record["dataset"],
                "train": source.get("train", {})}
    return settings, {"step": steps_before({"source": source})}


def steps_before(init_from):
    """Updates that the weights a warm-started run began from had had: ``init_from`` is
    what the run recorded (:func:`for_config`); their ``steps_in_all`` when they come
    from a warm-started run themselves, else their ``step``."""
    source = init_from["source"]
    return int(source.get("steps_in_all", source["step"]))


def _describe(config):
    return "%s %s" % (config["kind"], ", ".join(
        "%s=%s" % kv for kv in sorted(config["kwargs"].items())))


def publish(name, save_params, record, directory=PRETRAINED_DIR):
    """Write the pretrained weights ``name`` as one step: ``save_params(path)`` writes the
    parameters to a temporary name, ``<name>.json`` (``record`` plus their sha256) goes
    to another, and both are renamed into place, the record last. A failure (e.g. a full
    disk) leaves the weights that were there before, or none, and no temporary file; a
    crash between the two renames leaves a file whose sha256 its old record refuses.

    Returns the record written.

    Raises
    ------
    OSError
        Writing failed (MXNet's errors, e.g. on a full disk, become ``OSError``).
    """
    import errno

    import mxnet as mx
    params = os.path.join(directory, name + ".params")
    record_path = os.path.join(directory, name + ".json")
    tmp_params, tmp_record = ("%s.tmp-%d" % (p, os.getpid()) for p in (params, record_path))
    try:
        try:
            save_params(tmp_params)
        except mx.base.MXNetError as e:
            raise OSError(errno.EIO, "writing the parameters failed (%s; is the disk full?)"
                          % last_line(e), params) from None
        record = dict(record, sha256=sha256_file(tmp_params))
        dump_json(tmp_record, record)
        os.replace(tmp_params, params)
        os.replace(tmp_record, record_path)
    finally:
        for tmp in (tmp_params, tmp_record):
            if os.path.exists(tmp):
                os.remove(tmp)
    return record


def check_bound(model, data, ctx=None):
    """The numbers of ``model``'s objective (:meth:`draw.objectives.Objective.measure`:
    for a generative model the bound in nats per image, total, reconstruction, kl; for a
    classifier the cross-entropy and the error) on :data:`CHECK_IMAGES` of ``data`` (a
    whole test split, images or ``(images, labels)``: the subset of seed 0,
    :func:`draw.batches.evaluation_subset`) with noise seed 0 (per image, so any batch
    size gives it): the numbers stored with the weights and checked by the tests."""
    import mxnet as mx
    from .batches import take_subset
    subset = tuple(take_subset(a, CHECK_IMAGES) for a in data) if isinstance(data, tuple) \
        else take_subset(data, CHECK_IMAGES)
    return model.objective().measure(subset, 100, [ctx or mx.cpu()], seed=0)
