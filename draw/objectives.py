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

    def result_line(self, result):
        """The log line of a validation result (a dict by :attr:`names`)."""
        raise NotImplementedError

    def progress_fields(self, values):
        """The progress bar's fields of training batch means ``values``."""
        return {self.train_tags[0]: "%.2f" % values[0]}

    def log_images(self, writer, step, inputs, ctx):
        """Images for TensorBoard at a validation: ``inputs`` are the first validation
        examples (``x`` or ``(x, y)``, on the CPU)."""


class VariationalBound(Objective):
    """The negative evidence lower bound of a :class:`draw.base.GenerativeModel`, in nats
    per image: ``total = reconstruction + kl`` (:class:`draw.loss.ModelWithLoss`).

    Images logged: 64 samples, their canvas sequences, and 32 validation images beside
    their reconstructions.
    """

    names = ("total", "reconstruction", "kl")
    train_tags = ("loss", "reconstruction", "kl")

    def block(self):
        from .loss import ModelWithLoss
        return ModelWithLoss(self.model)

    def step_line(self, values):
        return "loss %.3f (reconstruction %.3f, KL %.3f)" % tuple(values[:3])

    def result_line(self, result):
        return "bound %.3f nats (reconstruction %.3f, KL %.3f)" % (
            result["total"], result["reconstruction"], result["kl"])

    def progress_fields(self, values):
        return {"loss": "%.2f" % values[0], "kl": "%.2f" % values[2]}

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

    def result_line(self, result):
        return "error %.2f %% (cross-entropy %.4f)" % (100 * result["error"], result["loss"])

    def progress_fields(self, values):
        return {"loss": "%.3f" % values[0], "error": "%.3f" % values[1]}

    def log_images(self, writer, step, inputs, ctx):
        from .figures import glimpse_grid
        x, y = inputs
        grid = glimpse_grid(self.model, x[:8].asnumpy(), y[:8].asnumpy(), ctx=ctx)
        writer.add_image("glimpses", np.asarray(grid).transpose(2, 0, 1), step)
