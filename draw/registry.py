"""Model factory: named presets and rebuilding a model from its saved configuration.

:data:`PRESETS` is the one place the papers' configurations are written; the trainers'
flag defaults, the benchmark and the tests take them from here. This module imports no
MXNet until a model is built.
"""

#: Preset name -> (model kind, constructor arguments).
PRESETS = {
    # Gregor et al. 2015, table 2 (binarized MNIST): T=64, 256 units, z=100, read 2, write 5.
    "draw_mnist": ("draw", dict(image_shape=[1, 28, 28], num_steps=64, num_recurrent_units=256,
                                latent_dim=100, read_size=2, write_size=5, attention=True)),
    "draw_mnist_noattn": ("draw", dict(image_shape=[1, 28, 28], num_steps=64,
                                       num_recurrent_units=256, latent_dim=100, attention=False)),
    # Gregor et al. 2015, table 1 (100x100 cluttered translated MNIST): "Differentiable
    # RAM" with 4 or 8 glimpses of 12x12, 256 LSTM units
    "draw_cluttered_4": ("classifier", dict(image_shape=[1, 100, 100], num_steps=4,
                                            glimpse_size=12, num_recurrent_units=256,
                                            num_classes=10)),
    "draw_cluttered_8": ("classifier", dict(image_shape=[1, 100, 100], num_steps=8,
                                            glimpse_size=12, num_recurrent_units=256,
                                            num_classes=10)),
    # the reference Omniglot configuration of Convolutional DRAW
    "convdraw_omniglot": ("convdraw", dict(image_shape=[1, 28, 28], num_steps=16,
                                           num_latent_maps=3, num_recurrent_maps=64,
                                           encoder_maps=16, kernel_size=5)),
}


#: Model kind -> (module, class): where the constructor of each kind lives, imported on
#: first use. ConvDRAW is in the second package, ``convdraw``, which builds on ``draw``'s
#: shared blocks (base classes, loss, LSTM arithmetic): this registry is the one place
#: ``draw`` reaches into ``convdraw``, at run time only, and the seed's two-package layout
#: is why (see docs/architecture.md, "The two packages").
KINDS = {
    "draw": ("draw.model", "DRAW"),
    "convdraw": ("convdraw.model", "ConvDRAW"),
    "classifier": ("draw.classifier", "DRAWClassifier"),
}


def _constructor(kind):
    import importlib
    if kind not in KINDS:
        raise ValueError("unknown model kind %r (expected %s)"
                         % (kind, ", ".join("'%s'" % k for k in KINDS)))
    module, name = KINDS[kind]
    return getattr(importlib.import_module(module), name)


def get_model(name, pretrained=False, ctx=None, **overrides):
    """Build a preset model, e.g. ``get_model('draw_mnist', num_steps=16)``.

    Parameters are not initialised; call ``model.initialize(ctx=...)`` or load params.
    With ``pretrained=True`` the model comes with the weights of ``assets/pretrained``
    (:mod:`draw.pretrained`; or of the directory ``pretrained`` names) on ``ctx``; their
    configuration is theirs, so no overrides.

    Raises
    ------
    ValueError
        An unknown preset, or overrides with pretrained weights.
    draw.errors.CheckpointError
        Pretrained weights that do not exist, whose record is not valid JSON or lacks a
        field, whose file differs from the record's sha256, is unreadable or does not fit
        the record's model (:func:`draw.pretrained.read_record`, :func:`model_from_weights`).
    """
    if pretrained:
        from .pretrained import PRETRAINED_DIR, read_record
        if overrides:
            raise ValueError("pretrained weights come with their own configuration; "
                             "no overrides (%s)" % ", ".join(sorted(overrides)))
        record, params = read_record(
            name, pretrained if isinstance(pretrained, str) else PRETRAINED_DIR)
        return model_from_weights(record, params, ctx)
    if name not in PRESETS:
        raise ValueError("unknown model %r; presets: %s" % (name, ", ".join(sorted(PRESETS))))
    kind, kwargs = PRESETS[name]
    return model_from_config({"kind": kind, "kwargs": dict(kwargs, **overrides)})


def model_config(model):
    """The JSON-serialisable ``{"kind", "kwargs"}`` that rebuilds ``model``."""
    return {"kind": model.kind, "kwargs": model.config()}


def model_from_config(config):
    """Rebuild a model from :func:`model_config` output (e.g. a checkpoint's args JSON)."""
    try:
        kind, kwargs = config["kind"], config["kwargs"]
    except (KeyError, TypeError):
        raise ValueError("model config must be {'kind': ..., 'kwargs': {...}}, got %r"
                         % (config,)) from None
    return _constructor(kind)(**kwargs)


def model_from_weights(record, params, ctx=None):
    """The model of a pretrained record (:func:`draw.pretrained.read_record`) with the
    parameters of the file ``params`` on ``ctx`` (default CPU; a list of contexts is
    taken as Gluon's ``load_parameters`` takes it).

    Raises
    ------
    draw.errors.CheckpointError
        The record's model settings build no model, the file is unreadable, or its
        parameters (names, shapes) do not fit that model. One line each.
    """
    import mxnet as mx
    from .errors import CheckpointError
    from .pretrained import load_arrays
    from .rundir import parameters_mismatch
    try:
        model = model_from_config(record["model"])
    except (TypeError, ValueError) as e:
        raise CheckpointError("%s: its record's model settings build no model (%s)"
                              % (params, e)) from None
    arrays = load_arrays(params)
    ctx = ctx or mx.cpu()
    # shapes are deferred until a forward pass: infer them on one blank image first
    model.initialize(mx.init.Zero(), ctx=ctx)
    first = ctx[0] if isinstance(ctx, (list, tuple)) else ctx
    model(mx.nd.zeros((1,) + tuple(model.config()["image_shape"]), ctx=first))
    mismatch = parameters_mismatch(model, arrays)
    if mismatch:
        raise CheckpointError("%s: the parameters do not fit the model of its record (%s)"
                              % (params, mismatch))
    model.load_parameters(params, ctx=ctx)
    return model
