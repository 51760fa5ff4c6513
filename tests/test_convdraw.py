"""Convolutional DRAW: shapes, hybridization, learned-prior KL, a full training step."""
import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon

import draw
from convdraw.model import ConvDRAW
from draw.loss import VariationalLoss
from draw.train import ModelWithLoss

from . import reference as ref
from .helpers import assert_hybrid_matches


def tiny(shape=(1, 28, 28), steps=2):
    return ConvDRAW(image_shape=shape, num_steps=steps, num_latent_maps=2,
                    num_recurrent_maps=4, encoder_maps=3)


@pytest.mark.parametrize("shape,state", [((1, 28, 28), (12, 12)), ((3, 32, 32), (14, 14)),
                                         ((1, 20, 28), (8, 12))])
def test_shapes(shape, state):
    model = tiny(shape, steps=3)
    model.initialize()
    x = mx.nd.random.uniform(shape=(2,) + shape)
    logits, mu_q, ls_q, mu_p, ls_p = model(x)
    assert logits.shape == (2,) + shape
    for a in (mu_q, ls_q, mu_p, ls_p):
        assert a.shape == (3, 2, 2) + state
    canvases, windows = model.sample(5)
    assert canvases.shape == (3, 5) + shape and windows is None
    assert model.reconstruct(x).shape == (2,) + shape


def test_bad_configuration():
    with pytest.raises(ValueError, match="even"):
        ConvDRAW(image_shape=(1, 27, 28))
    with pytest.raises(ValueError, match="odd"):
        ConvDRAW(kernel_size=4)
    with pytest.raises(ValueError, match="positive"):
        ConvDRAW(num_steps=0)


def test_hybridized_matches_imperative():
    mx.random.seed(0)
    model = tiny()
    model.initialize(mx.init.Xavier())
    x = mx.nd.random.uniform(shape=(3, 1, 28, 28))
    noise = mx.nd.random.normal(shape=(2, 3, 2, 12, 12))
    assert_hybrid_matches(model, [x, noise], rtol=1e-4, atol=1e-5)


def test_learned_prior_kl_matches_numpy():
    model = tiny(steps=3)
    model.initialize(mx.init.Xavier())
    x = (mx.nd.random.uniform(shape=(2, 1, 28, 28)) > 0.7)
    outs = model(x)
    total, recon, kl = VariationalLoss()(outs[0], x, *outs[1:])
    mu_q, ls_q, mu_p, ls_p = (o.asnumpy().astype(np.float64) for o in outs[1:])
    want = ref.kl_normal(mu_q, np.exp(ls_q), mu_p, np.exp(ls_p)).sum(axis=(0, 2, 3, 4))
    np.testing.assert_allclose(kl.asnumpy(), want, rtol=1e-4)
    want_recon = ref.bernoulli_nll(outs[0].asnumpy().astype(np.float64),
                                   x.asnumpy()).sum(axis=(1, 2, 3))
    np.testing.assert_allclose(recon.asnumpy(), want_recon, rtol=1e-4)


def test_full_training_step_reference_config_onednn():
    """Forward, backward and Adam step of the reference model with default settings
    (oneDNN on): the write must not be a 1-channel Conv2DTranspose."""
    model = draw.get_model("convdraw_omniglot")
    model.initialize(mx.init.Xavier())
    net = ModelWithLoss(model)
    net.hybridize(static_alloc=True, static_shape=True)
    trainer = gluon.Trainer(model.collect_params(), "adam", {"learning_rate": 5e-4})
    x = (mx.nd.random.uniform(shape=(4, 1, 28, 28)) > 0.8)
    before = model.write.conv.weight.data().copy()
    for _ in range(2):
        with autograd.record():
            total, _, _ = net(x)
        total.backward()
        trainer.step(4)
    assert np.isfinite(total.asnumpy()).all()
    assert not np.allclose(before.asnumpy(), model.write.conv.weight.data().asnumpy())
    grads = [p.grad().asnumpy() for p in model.collect_params().values() if p.grad_req != "null"]
    assert all(np.isfinite(g).all() for g in grads)


def test_model_config_round_trip():
    model = draw.get_model("convdraw_omniglot", num_steps=4)
    again = draw.model_from_config(draw.model_config(model))
    assert isinstance(again, ConvDRAW) and again.config() == model.config()
