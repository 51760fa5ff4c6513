"""The shared variational loss against NumPy and a Monte-Carlo KL estimate."""
import mxnet as mx
import numpy as np
import pytest

from draw.loss import VariationalLoss

from . import reference as ref
from .helpers import forward_backward


def _inputs(rs, latent_shape=(4, 3, 5)):
    logits = rs.normal(scale=3, size=(3, 20))
    x = (rs.uniform(size=(3, 20)) > 0.5).astype(np.float64)
    mu_q, ls_q = rs.normal(size=latent_shape), rs.normal(scale=0.5, size=latent_shape)
    mu_p, ls_p = rs.normal(size=latent_shape), rs.normal(scale=0.5, size=latent_shape)
    return logits, x, mu_q, ls_q, mu_p, ls_p


def _nd(*arrays):
    return [mx.nd.array(a, dtype="float64") for a in arrays]


def test_standard_prior_matches_numpy():
    logits, x, mu, ls, _, _ = _inputs(np.random.RandomState(0))
    total, recon, kl = VariationalLoss()(*_nd(logits, x, mu, ls))
    want_recon = ref.bernoulli_nll(logits, x).sum(axis=1)
    want_kl = ref.kl_normal(mu, np.exp(ls)).sum(axis=(0, 2))  # steps and units, per example
    np.testing.assert_allclose(recon.asnumpy(), want_recon, rtol=1e-10)
    np.testing.assert_allclose(kl.asnumpy(), want_kl, rtol=1e-10)
    np.testing.assert_allclose(total.asnumpy(), want_recon + want_kl, rtol=1e-10)
    # the paper's form, 0.5 * sum(mu^2 + sigma^2 - log sigma^2 - 1)
    s2 = np.exp(2 * ls)
    np.testing.assert_allclose(kl.asnumpy(), 0.5 * (mu ** 2 + s2 - np.log(s2) - 1).sum(axis=(0, 2)))


def test_learned_prior_matches_numpy_convdraw_layout():
    rs = np.random.RandomState(1)
    logits, x, mu_q, ls_q, mu_p, ls_p = _inputs(rs, latent_shape=(4, 3, 2, 3, 3))
    logits = logits[:, :18].reshape(3, 2, 3, 3)
    x = x[:, :18].reshape(3, 2, 3, 3)
    total, recon, kl = VariationalLoss()(*_nd(logits, x, mu_q, ls_q, mu_p, ls_p))
    want_kl = ref.kl_normal(mu_q, np.exp(ls_q), mu_p, np.exp(ls_p)).sum(axis=(0, 2, 3, 4))
    np.testing.assert_allclose(kl.asnumpy(), want_kl, rtol=1e-10)
    np.testing.assert_allclose(recon.asnumpy(), ref.bernoulli_nll(logits, x).sum(axis=(1, 2, 3)),
                               rtol=1e-10)


def test_kl_matches_monte_carlo():
    """E_q[log q(z) - log p(z)] estimated from 400k samples agrees with the closed form."""
    rs = np.random.RandomState(2)
    mu_q, ls_q, mu_p, ls_p = (np.array([[[0.3, -1.0]]]), np.array([[[-0.5, 0.2]]]),
                              np.array([[[0.1, 0.5]]]), np.array([[[0.3, -0.2]]]))
    _, _, kl = VariationalLoss()(*_nd(np.zeros((1, 1)), np.zeros((1, 1)), mu_q, ls_q, mu_p, ls_p))
    sq, sp = np.exp(ls_q), np.exp(ls_p)
    z = mu_q + sq * rs.normal(size=(400000,) + mu_q.shape)
    log_q = -0.5 * ((z - mu_q) / sq) ** 2 - np.log(sq)
    log_p = -0.5 * ((z - mu_p) / sp) ** 2 - np.log(sp)
    mc = (log_q - log_p).sum(axis=(1, 2, 3)).mean()
    assert abs(kl.asscalar() - mc) < 0.01, (kl.asscalar(), mc)
    _, _, kl0 = VariationalLoss()(*_nd(np.zeros((1, 1)), np.zeros((1, 1)), mu_q, ls_q))
    mc0 = (log_q + 0.5 * z ** 2).sum(axis=(1, 2, 3)).mean()
    assert abs(kl0.asscalar() - mc0) < 0.01


def test_extreme_logits_are_finite():
    logits = mx.nd.array([[-200.0, 200.0, 0.0]])
    x = mx.nd.array([[1.0, 0.0, 1.0]])
    z = mx.nd.zeros((1, 1, 1))
    total, recon, _ = VariationalLoss()(logits, x, z, z)
    np.testing.assert_allclose(recon.asnumpy(), [400 + np.log(2)], rtol=1e-5)
    assert np.isfinite(total.asnumpy()).all()


@pytest.mark.parametrize("learned", [False, True])
def test_loss_hybridizes(learned):
    """Same outputs and input gradients imperative and hybridized (no parameters)."""
    rs = np.random.RandomState(3)
    arrays = [mx.nd.array(a) for a in _inputs(rs)]
    inputs = arrays if learned else arrays[:4]
    block = VariationalLoss()
    imp = forward_backward(block, inputs)
    block.hybridize()
    hyb = forward_backward(block, inputs)
    for a, b in zip(imp[0] + imp[1], hyb[0] + hyb[1]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert all(np.abs(g).sum() > 0 for g in imp[1][:1] + imp[1][2:])


@pytest.mark.parametrize("preset,prior,write_size", [("draw_mnist", False, 5),
                                                     ("draw_mnist_noattn", False, None),
                                                     ("convdraw_omniglot", True, None)])
def test_model_outputs_contract(preset, prior, write_size):
    """model(x) gives ModelOutputs (prior fields only with a learned prior), and
    ModelWithLoss is VariationalLoss on them, imperative and hybridized."""
    import draw
    from draw.loss import ModelOutputs, ModelWithLoss
    model = draw.get_model(preset, num_steps=2)
    model.initialize(mx.init.Xavier())
    assert model.write_size == write_size
    x = mx.nd.array(np.random.RandomState(0).uniform(size=(3, 1, 28, 28)) > 0.5)
    net = ModelWithLoss(model)
    net(x)  # deferred initialisation draws from the RNG too
    mx.random.seed(1)
    out = ModelOutputs(*model(x))
    assert (out.mu_p is not None) == prior and (out.log_sigma_p is not None) == prior
    want = [v.asnumpy() for v in VariationalLoss()(*[v for v in (out.logits, x) + out[1:]
                                                      if v is not None])]
    for hybrid in (False, True):
        if hybrid:
            net.hybridize(static_alloc=True, static_shape=True)
        mx.random.seed(1)
        got = net(x)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g.asnumpy(), w, rtol=1e-4)
