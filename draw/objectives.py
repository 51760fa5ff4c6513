"""What a model is trained on and what is reported: one object per kind of model.

:class:`draw.train.Trainer` asks a model for its objective (:meth:`draw.base.Model.objective`)
and uses only what :class:`Objective` declares: the block that computes the per-example
values (the first is minimised), their names, whether batches carry labels, the log
lines and the images logged at validation. So a generative model and a classifier share
one training loop, one validation and one checkpoint format, with no branch on the
model's kind.
"""
import numpy as np

from .visualize import make_grid, sequence_strip


class Objective:
    """The interface; the subclasses below are the two objectives of the package.

    Attributes
    ----------
    model : draw.base.Model
    names : tuple of str
        The per-example values ``block()`` returns, in order; the trainer minimises the
        mean of the first. They are the keys of a validation result and, under ``val/``,
        its TensorBoard tags.
    train_tags : tuple of str
        The TensorBoard tags (under ``train/``) of the same values on training batches.
    labelled : bool
        Whether a batch is ``(x, y)`` (images and class labels) rather than ``x``.
    """

    names = ()
    train_tags = ()
    labelled = False

    def __init__(self, model):
        self.model = model

    def block(self):
        """A new HybridBlock ``batch -> per-example values`` (each shape (B,)), with
        :attr:`model` its child whose parameters are saved."""
        raise NotImplementedError

    def step_line(self, values):
        """The log line of training batch means ``values`` (in :attr:`names` order)."""
        raise NotImplementedError

    @classmethod
    def result_line(cls, result):
        """The log line of a validation result (a dict by :attr:`names`)."""
        raise NotImplementedError

    def progress_fields(self, values):
        """The progress bar's fields of training batch means ``values``."""
        return {self.train_tags[0]: "%.2f" % values[0]}

    def measure(self, data, batch_size, ctxs, seed=0, progress=None):
        """The reproducible evaluation of the model on ``data`` (images, or ``(images,
        labels)``): the same numbers for any batch size and devices (what
        ``examples/evaluate.py`` and the pretrained weights' records report). A dict
        by :attr:`names`, plus what the objective adds."""
        raise NotImplementedError

    def log_images(self, writer, step, inputs, ctx):
        """Images for TensorBoard at a validation: ``inputs`` are the first validation
        examples (``x`` or ``(x, y)``, on the CPU)."""

    def write_outputs(self, out_dir, ctx, seed):
        """What a finished run writes into its directory besides its results (e.g.
        samples); returns the written paths (default: nothing)."""
        return []


class VariationalBound(Objective):
    """The negative evidence lower bound of a :class:`draw.base.GenerativeModel`, in nats
    per image: ``total = reconstruction + kl`` (:class:`draw.loss.ModelWithLoss`).

    Images logged: 64 samples, their canvas sequences, and 32 validation images beside
    their reconstructions; a finished run writes 64 samples as PNG and GIF.
    """

    names = ("total", "reconstruction", "kl")
    train_tags = ("loss", "reconstruction", "kl")

    def block(self):
        from .loss import ModelWithLoss
        return ModelWithLoss(self.model)

    def step_line(self, values):
        return "loss %.3f (reconstruction %.3f, KL %.3f)" % tuple(values[:3])

    @classmethod
    def result_line(cls, result):
        return "bound %.3f nats (reconstruction %.3f, KL %.3f)" % (
            result["total"], result["reconstruction"], result["kl"])

    def progress_fields(self, values):
        return {"loss": "%.2f" % values[0], "kl": "%.2f" % values[2]}

    def measure(self, data, batch_size, ctxs, seed=0, progress=None):
        """The bound with each image's latent noise drawn from ``seed`` and its index
        (:func:`draw.evaluate.model_bound`)."""
        from .evaluate import model_bound
        return model_bound(self.model, data, batch_size, ctxs, seed, progress=progress)

    def write_outputs(self, out_dir, ctx, seed):
        """64 samples from ``seed``: ``samples.png`` and ``samples.gif``
        (:func:`draw.train.write_samples`)."""
        from .train import write_samples
        return write_samples(self.model, out_dir, n=64, ctx=ctx, seed=seed)

    def log_images(self, writer, step, inputs, ctx):
        model = self.model
        canvases, _ = model.sample(64, ctx=ctx)
        canvases = canvases.asnumpy()
        writer.add_image("samples", make_grid(canvases[-1]).transpose(2, 0, 1), step)
        writer.add_image("canvas_sequence", sequence_strip(canvases).transpose(2, 0, 1), step)
        x = inputs[:32].astype("float32").as_in_context(ctx)
        recon = model.reconstruct(x).asnumpy()
        pairs = np.stack([x.asnumpy(), recon], axis=1).reshape((-1,) + recon.shape[1:])
        writer.add_image("reconstructions", make_grid(pairs, nrow=16).transpose(2, 0, 1), step)


class Classification(Objective):
    """Softmax cross-entropy (nats per image) and the error (0 or 1 per image, so its
    mean is the error rate) of a :class:`draw.base.Classifier`
    (:class:`draw.loss.ClassifierWithLoss`).

    Images logged: the glimpses of 8 validation images (:func:`draw.figures.glimpse_grid`).
    """

    names = ("loss", "error")
    train_tags = ("loss", "error")
    labelled = True

    def block(self):
        from .loss import ClassifierWithLoss
        return ClassifierWithLoss(self.model)

    def step_line(self, values):
        return "cross-entropy %.4f, error %.2f %%" % (values[0], 100 * values[1])

    @classmethod
    def result_line(cls, result):
        se = " (standard error %.2f)" % (100 * result["error_se"]) if "error_se" in result \
            else ""
        return "error %.2f %%%s, cross-entropy %.4f" % (100 * result["error"], se,
                                                         result["loss"])

    def progress_fields(self, values):
        return {"loss": "%.3f" % values[0], "error": "%.3f" % values[1]}

    def measure(self, data, batch_size, ctxs, seed=0, progress=None):
        """Mean cross-entropy and error (deterministic: ``seed`` is not used), and
        ``error_se``, the error's standard error over the images,
        ``sqrt(e (1 - e) / (n - 1))``."""
        from .evaluate import evaluate_mean
        block = self.block()
        block.hybridize(static_alloc=True)
        result = evaluate_mean(block, data, batch_size, ctxs, self.names, progress=progress)
        n, e = len(data[0]), result["error"]
        result["error_se"] = float(np.sqrt(e * (1 - e) / (n - 1))) if n > 1 else float("nan")
        return result

    def log_images(self, writer, step, inputs, ctx):
        from .figures import glimpse_grid
        x, y = inputs
        grid = glimpse_grid(self.model, x[:8].asnumpy(), y[:8].asnumpy(), ctx=ctx)
        writer.add_image("glimpses", np.asarray(grid).transpose(2, 0, 1), step)


#: the objectives of the package's models
OBJECTIVES = (VariationalBound, Classification)


def describe(result):
    """:meth:`Objective.result_line` of a result of the objective whose values it holds
    (for a tool that has the numbers, e.g. of ``examples/evaluate.py``, not the model)."""
    for objective in OBJECTIVES:
        if set(objective.names) <= set(result):
            return objective.result_line(result)
    raise ValueError("a result of no objective: %s" % ", ".join(sorted(result)))
