"""The model interface, written once: what the trainer, the evaluation, the figures,
the checkpoints and the tools may ask of a model.

Every model of the package is a :class:`Model` (a Gluon ``HybridBlock``); the two
generative ones (:class:`draw.model.DRAW`, :class:`convdraw.model.ConvDRAW`) are
:class:`GenerativeModel` s and the classifier (:class:`draw.classifier.DRAWClassifier`)
is a :class:`Classifier`. Code outside the models uses only what these classes declare,
never ``getattr`` probing or a branch on :attr:`Model.kind`: what differs between the
kinds (the loss and the numbers reported, the figures that exist for them) is a member
here that each kind defines.

How a model is trained is its :meth:`Model.objective` (:mod:`draw.objectives`): the
:class:`draw.train.Trainer` minimises the first value of the objective's block and
reports all of them, so a generative model (the variational bound) and a classifier
(cross-entropy and error) run through the same loop.
"""
import mxnet as mx
from mxnet.gluon import HybridBlock


def check_sizes(image_shape, **sizes):
    """The constructors' shared check: ``image_shape`` is (C, H, W) and every dimension
    and every named size is a positive integer.

    Returns
    -------
    tuple of int
        ``image_shape`` as a tuple.

    Raises
    ------
    ValueError
        One line naming the first bad value.
    """
    shape = tuple(int(v) for v in image_shape)
    if len(shape) != 3:
        raise ValueError("image_shape must be (C, H, W), got %r" % (image_shape,))
    for name, value in tuple(sizes.items()) + tuple(zip(("channels", "height", "width"), shape)):
        if int(value) < 1:
            raise ValueError("%s must be positive, got %r" % (name, value))
    return shape


def broadcast_to_batch(F, params, like):
    """Learned initial states (each shape (1, ...)) repeated along axis 0 to the batch
    of ``like`` (any shape (B, ...)); ``F`` as in ``hybrid_forward``."""
    return [F.broadcast_like(p, like, lhs_axes=(0,), rhs_axes=(0,)) for p in params]


def broadcast_params(params, n, ctx):
    """Learned initial states (Parameters of shape (1, ...)) repeated to ``n`` examples on
    ``ctx``: the imperative twin of :func:`broadcast_to_batch`, for the models'
    step-by-step methods (``trace``, ``generate``)."""
    return broadcast_to_batch(mx.nd, [p.data(ctx) for p in params], mx.nd.zeros((n, 1), ctx=ctx))


class Model(HybridBlock):
    """What every model of the package has.

    Attributes
    ----------
    kind : str
        The registry kind (:mod:`draw.registry`): ``{"kind": kind, "kwargs": config()}``
        rebuilds the model and is what ``args.json`` and pretrained records hold.
    display_name : str
        The model's name in messages and figure titles.
    image_shape : tuple of int
        (C, H, W) of the images it takes.
    num_steps : int
        T, its recurrent steps.
    figures : tuple of str
        The names of the :mod:`draw.figures` that exist for it, in the order they are
        drawn (empty: none).
    """

    kind = None
    display_name = None
    figures = ()

    def config(self):
        """Constructor arguments, JSON-serialisable (see :func:`draw.get_model`)."""
        raise NotImplementedError

    def objective(self):
        """What training minimises and reports (:class:`draw.objectives.Objective`)."""
        raise NotImplementedError

    def upgrade_parameters(self, arrays):
        """Saved parameters of an older version of the model (a name -> NDArray dict,
        changed in place) in today's names and shapes. Returns a note for the log, or ''
        when nothing was old (the default: no older version exists)."""
        return ""


class GenerativeModel(Model):
    """A recurrent variational auto-encoder that draws on a canvas in T steps.

    ``model(x[, noise])`` returns the fields of :class:`draw.loss.ModelOutputs`; the
    methods below are imperative (NDArrays), for sampling, figures and evaluation.

    Attributes
    ----------
    attention : bool
        Whether it reads and writes through attention windows (the reading and
        filterbank figures need them).
    write_size : int or None
        N of the write window (for drawing attention boxes), None without one.
    """

    attention = False
    write_size = None

    def latent_shape(self):
        """The shape of one step's latents: (Z,) or (L, h, w)."""
        raise NotImplementedError

    def trace(self, x, noise):
        """Every step of the inference pass on ``x`` (n, C, H, W) with the standard
        normal ``noise`` (T, n, latent...): a dict with at least ``canvases``
        (T, n, C, H, W), ``sigmoid(c_t)`` after every step, and ``logits``, c_T."""
        raise NotImplementedError

    def generate(self, eps):
        """The generative model on standard-normal ``eps`` (T, n, latent...): returns
        ``(canvases (T, n, C, H, W), windows (T, n, 5) or None)``."""
        raise NotImplementedError

    def sample(self, n, ctx=None):
        """Draw ``n`` images: :meth:`generate` on fresh noise from MXNet's stream.

        Returns ``(canvases (T, n, C, H, W) in [0, 1], write windows (T, n, 5) or
        None)``.
        """
        ctx = ctx or mx.current_context()
        eps = mx.nd.random.normal(shape=(self.num_steps, n) + tuple(self.latent_shape()),
                                  ctx=ctx)
        return self.generate(eps)

    def reconstruct(self, x):
        """Bernoulli means ``sigmoid(c_T)`` for ``x`` (B, C, H, W), same shape."""
        logits = self(x)[0]
        return mx.nd.Activation(logits, act_type="sigmoid").reshape((-1,) + self.image_shape)

    def forward_flops(self):
        """Forward FLOPs per image (2 per multiply-add); training costs about 3x."""
        raise NotImplementedError

    def objective(self):
        """The negative variational bound and its two parts
        (:class:`draw.objectives.VariationalBound`)."""
        from .objectives import VariationalBound
        return VariationalBound(self)


class Classifier(Model):
    """A model that maps an image to class scores.

    ``model(x)`` returns ``(logits (B, num_classes), windows (T, B, 5))``: the scores
    and the attention window of every step.

    Attributes
    ----------
    num_classes : int
    """

    def objective(self):
        """Cross-entropy and error (:class:`draw.objectives.Classification`)."""
        from .objectives import Classification
        return Classification(self)
