"""DRAW: the LSTM cell, shapes, hybridization, finite-difference gradients, sampling."""
import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon

import draw
from draw.lstm import LSTMCell
from draw.model import DRAW
from draw.loss import ModelWithLoss

from . import reference as ref
from .helpers import assert_hybrid_matches, check_finite_differences


def test_lstm_cell_matches_numpy():
    rs = np.random.RandomState(0)
    cell = LSTMCell(4, input_size=3)
    cell.initialize(mx.init.Normal(0.5))
    cell.cast("float64")
    x, h, c = rs.normal(size=(2, 3)), rs.normal(size=(2, 4)), rs.normal(size=(2, 4))
    h1, c1 = cell(*[mx.nd.array(a, dtype="float64") for a in (x, h, c)])
    W, b = cell.gates.weight.data().asnumpy(), cell.gates.bias.data().asnumpy()
    want_h, want_c = ref.lstm(x, h, c, W, b)
    np.testing.assert_allclose(h1.asnumpy(), want_h, rtol=1e-10)
    np.testing.assert_allclose(c1.asnumpy(), want_c, rtol=1e-10)


def test_lstm_forget_bias_initialised_to_one():
    cell = LSTMCell(4, input_size=3)
    cell.initialize()
    np.testing.assert_array_equal(cell.gates.bias.data().asnumpy(),
                                  [0] * 4 + [1] * 4 + [0] * 8)


def tiny(attention=True, shape=(1, 12, 10), steps=3):
    return DRAW(image_shape=shape, num_steps=steps, num_recurrent_units=8, latent_dim=3,
                read_size=2, write_size=3, attention=attention)


@pytest.mark.parametrize("attention", [True, False])
@pytest.mark.parametrize("shape", [(1, 28, 28), (1, 12, 20), (3, 9, 7)])
def test_shapes(attention, shape):
    model = tiny(attention, shape, steps=4)
    model.initialize()
    x = mx.nd.random.uniform(shape=(5,) + shape)
    logits, mu, log_sigma = model(x)
    assert logits.shape == (5, int(np.prod(shape)))
    assert mu.shape == log_sigma.shape == (4, 5, 3)
    assert model(x.reshape((5, -1)))[0].shape == logits.shape  # flat input works too
    canvases, windows = model.sample(6)
    assert canvases.shape == (4, 6) + shape
    assert (canvases.asnumpy() >= 0).all() and (canvases.asnumpy() <= 1).all()
    assert (windows is None) == (not attention)
    if attention:
        assert windows.shape == (4, 6, 5)


@pytest.mark.parametrize("attention", [True, False])
def test_draw_hybridized_matches_imperative(attention):
    mx.random.seed(0)
    model = tiny(attention)
    model.initialize(mx.init.Xavier())
    x = mx.nd.random.uniform(shape=(4, 1, 12, 10))
    noise = mx.nd.random.normal(shape=(3, 4, 3))
    assert_hybrid_matches(model, [x, noise], rtol=1e-4, atol=1e-5)


def test_training_graph_hybridized_matches_imperative():
    """With noise drawn inside the graph, a seed gives the same loss both ways."""
    model = tiny()
    model.initialize(mx.init.Xavier())
    net = ModelWithLoss(model)
    x = (mx.nd.random.uniform(shape=(4, 1, 12, 10)) > 0.5)
    net(x)  # finish deferred initialisation (it draws from the RNG too)
    mx.random.seed(7)
    a = net(x)[0].asnumpy()
    b = net(x)[0].asnumpy()
    net.hybridize(static_alloc=True, static_shape=True)
    mx.random.seed(7)
    c = net(x)[0].asnumpy()
    np.testing.assert_allclose(a, c, rtol=1e-5)
    assert not np.array_equal(a, b)


def test_finite_difference_gradients():
    """Analytic gradients of the loss match central differences (float64, fixed noise)."""
    model = tiny(steps=2)
    model.initialize(mx.init.Xavier(magnitude=2))
    model.cast("float64")
    x = mx.nd.array((np.random.RandomState(1).uniform(size=(2, 1, 12, 10)) > 0.5), dtype="float64")
    noise = mx.nd.random.normal(shape=(2, 2, 3), dtype="float64")
    loss = draw.loss.VariationalLoss()

    def objective():
        logits, mu, ls = model(x, noise)
        return loss(logits, x, mu, ls)[0].sum()

    with autograd.record():
        value = objective()
    value.backward()
    checked = check_finite_differences(model, objective, np.random.RandomState(2), eps=1e-5,
                                       atol=1e-5, rtol=1e-4)
    assert checked > 30


def test_training_step_reduces_loss():
    mx.random.seed(0)
    model = tiny()
    model.initialize(mx.init.Xavier())
    net = ModelWithLoss(model)
    net.hybridize(static_alloc=True, static_shape=True)
    trainer = gluon.Trainer(model.collect_params(), "adam", {"learning_rate": 0.01})
    patterns = np.random.RandomState(0).uniform(size=(2, 1, 12, 10)) > 0.7
    x = mx.nd.array(np.tile(patterns, (8, 1, 1, 1)))  # learnable: two images repeated
    losses = []
    for _ in range(80):
        with autograd.record():
            total, _, _ = net(x)
        total.backward()
        trainer.step(16)
        losses.append(total.mean().asscalar())
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])


def test_get_model_round_trip():
    model = draw.get_model("draw_mnist", num_steps=5)
    assert model.num_steps == 5 and model.latent_dim == 100
    again = draw.model_from_config(draw.model_config(model))
    assert again.config() == model.config()
    with pytest.raises(ValueError, match="unknown model"):
        draw.get_model("nope")
    with pytest.raises(ValueError, match="positive"):
        DRAW(num_steps=0)
    with pytest.raises(ValueError, match="larger than"):
        DRAW(image_shape=(1, 4, 4), read_size=5)


def test_constructor_defaults_are_the_presets():
    """The registry is where the papers' configurations are written; the constructors'
    defaults must not drift from it."""
    from convdraw.model import ConvDRAW
    assert DRAW().config() == draw.get_model("draw_mnist").config()
    assert ConvDRAW().config() == draw.get_model("convdraw_omniglot").config()


def test_trace_is_the_forward_pass_with_every_window():
    """trace(x, noise) gives the forward pass's c_T and posterior; its canvases and
    write windows are those of generate() on the same z; the read window of step 1 is the
    reading layer applied to h_dec0, decoded with the paper's equations (NumPy)."""
    mx.random.seed(0)
    model = tiny(steps=4)
    model.initialize(mx.init.Xavier())
    rs = np.random.RandomState(0)
    x = mx.nd.array(rs.uniform(size=(3, 1, 12, 10)) > 0.5)
    noise = mx.nd.array(rs.normal(size=(4, 3, 3)))
    out = model.trace(x, noise)
    logits, mu, log_sigma = model(x, noise)
    np.testing.assert_allclose(out["logits"].asnumpy(), logits.asnumpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["mu"].asnumpy(), mu.asnumpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["log_sigma"].asnumpy(), log_sigma.asnumpy(), rtol=1e-5,
                               atol=1e-6)
    canvases, windows = model.generate(mu + mx.nd.exp(log_sigma) * noise)
    assert out["canvases"].shape == (4, 3, 1, 12, 10)
    np.testing.assert_allclose(out["canvases"].asnumpy(), canvases.asnumpy(), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(out["write_windows"].asnumpy(), windows.asnumpy(), rtol=1e-5,
                               atol=1e-5)
    loc = model.read.loc
    raw = model.h_dec0.data().asnumpy() @ loc.weight.data().asnumpy().T + loc.bias.data().asnumpy()
    gx, gy, sigma2, delta, gamma = ref.params(raw.ravel(), 10, 12, 2)
    want = [gx, gy, np.log(sigma2), delta, gamma]
    assert out["read_windows"].shape == (4, 3, 5)
    for i in range(3):
        np.testing.assert_allclose(out["read_windows"][0, i].asnumpy(), want, rtol=1e-5)
    plain = tiny(attention=False)
    plain.initialize()
    traced = plain.trace(x, noise[:3])
    assert traced["read_windows"] is None and traced["write_windows"] is None
