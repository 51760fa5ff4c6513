"""The bounds over a set of images: the variational bound and the importance-weighted
bound (its float-safe log-mean-exp, chunking, and the weights against NumPy)."""
import mxnet as mx
import numpy as np
import pytest
from mxnet.gluon import HybridBlock

from draw.evaluate import importance_weighted_bound
from draw.loss import ImportanceWeights

from . import reference as ref


class _Fixed(HybridBlock):
    """log w = a per-image constant plus ``scale`` x the first noise value."""

    def __init__(self, scale, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def hybrid_forward(self, F, x, noise):
        first = F.slice_axis(F.reshape(F.slice_axis(noise, axis=0, begin=0, end=1),
                                       shape=(0, 0, -1)), axis=2, begin=0, end=1)
        return -1e4 * F.sum(x, axis=0, exclude=True) + self.scale * F.reshape(first, (-1,))


@pytest.mark.parametrize("k,batch", [(1, 7), (10, 7), (10, 3), (25, 100)])
def test_equal_weights_give_the_weight_whatever_the_chunks(k, batch):
    images = mx.nd.array(np.arange(5).reshape(5, 1, 1, 1) / 4.0)
    elbo, iw = importance_weighted_bound(_Fixed(0.0), images, k, batch, mx.cpu(), (3,), 2)
    want = 1e4 * images.asnumpy().ravel()  # huge weights: exp() would overflow
    np.testing.assert_allclose(elbo, want, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(iw, want, rtol=1e-6, atol=1e-9)


def test_log_mean_exp_of_normal_weights():
    """log w ~ N(0, 1): E[w] = e^(1/2), so the bound approaches -1/2 from above as K
    grows, and it is never looser than the ELBO (Jensen)."""
    mx.random.seed(0)
    images = mx.nd.zeros((40, 1, 1, 1))
    previous = None
    for k in (1, 10, 400):
        elbo, iw = importance_weighted_bound(_Fixed(1.0), images, k, 64, mx.cpu(), (1,), 1)
        assert (iw <= elbo + 1e-9).all()
        if previous is not None:
            assert iw.mean() < previous
        previous = iw.mean()
    assert abs(previous - (-0.5)) < 0.1


@pytest.mark.parametrize("preset", ["draw_mnist", "convdraw_omniglot"])
def test_importance_weights_match_numpy(preset):
    """log p(x|z) + log p(z) - log q(z|x) from the model's outputs and fixed noise,
    written out in NumPy (N(0, I) prior for DRAW, the learned prior for ConvDRAW)."""
    import draw
    model = draw.get_model(preset, num_steps=2, **({"num_recurrent_units": 8, "latent_dim": 3}
                                                   if preset == "draw_mnist"
                                                   else {"num_recurrent_maps": 4}))
    model.initialize(mx.init.Normal(0.1))
    model.cast("float64")
    rs = np.random.RandomState(0)
    x = (rs.uniform(size=(3, 1, 28, 28)) > 0.5).astype(np.float64)
    noise = rs.normal(size=(2, 3) + model.latent_shape())
    xs, ns = mx.nd.array(x, dtype="float64"), mx.nd.array(noise, dtype="float64")
    got = ImportanceWeights(model)(xs, ns).asnumpy()
    outs = [o.asnumpy() for o in model(xs, ns)]
    logits, mu_q, ls_q = outs[:3]
    z = mu_q + np.exp(ls_q) * noise
    log_q = -0.5 * noise ** 2 - ls_q - 0.5 * np.log(2 * np.pi)
    if len(outs) == 5:
        mu_p, ls_p = outs[3:]
        log_p = -0.5 * ((z - mu_p) / np.exp(ls_p)) ** 2 - ls_p - 0.5 * np.log(2 * np.pi)
    else:
        log_p = -0.5 * z ** 2 - 0.5 * np.log(2 * np.pi)
    axes = (0,) + tuple(range(2, z.ndim))
    log_px = -ref.bernoulli_nll(logits.reshape(3, -1), x.reshape(3, -1)).sum(axis=1)
    want = log_px + log_p.sum(axis=axes) - log_q.sum(axis=axes)
    np.testing.assert_allclose(got, want, rtol=1e-9)


def test_evaluation_subset_is_seeded_nested_and_spread():
    from draw.batches import evaluation_subset
    a = evaluation_subset(10000, 500)
    assert len(set(a.tolist())) == 500 and a.min() >= 0 and a.max() < 10000
    assert a.tolist() == evaluation_subset(10000, 500).tolist()  # the same every time
    assert evaluation_subset(10000, 100).tolist() == a[:100].tolist()  # nested
    assert np.histogram(a, bins=10, range=(0, 10000))[0].min() > 20  # spread over the split
    assert evaluation_subset(50, 0).tolist() == list(range(50))
    assert evaluation_subset(50, 80).tolist() == list(range(50))


def test_model_bound_does_not_depend_on_batching_or_devices():
    """Each image's noise comes from (seed, its index): any batch size and any number of
    devices give the same bound; another seed another one."""
    import mxnet as mx
    from draw.evaluate import model_bound
    from draw.model import DRAW
    mx.random.seed(0)
    model = DRAW(image_shape=(1, 12, 10), num_steps=3, num_recurrent_units=8, latent_dim=3,
                 read_size=2, write_size=3)
    model.initialize(mx.init.Xavier(), ctx=[mx.cpu(0), mx.cpu(1)])
    images = mx.nd.array(np.random.RandomState(0).uniform(size=(23, 1, 12, 10)) > 0.5)
    base = model_bound(model, images, 23, [mx.cpu(0)], seed=5)
    for batch, ctxs in ((7, [mx.cpu(0)]), (4, [mx.cpu(0), mx.cpu(1)]), (23, [mx.cpu(1)])):
        other = model_bound(model, images, batch, ctxs, seed=5)
        for key in base:
            assert other[key] == pytest.approx(base[key], rel=1e-5), (batch, ctxs, key)
    assert model_bound(model, images, 23, [mx.cpu(0)], seed=6)["total"] != base["total"]
