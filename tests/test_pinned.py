"""Pinned outputs: the loss and gradient norm of each preset on one fixed batch, with fixed
weights and noise, as the code computed them before the performance changes of issue 16.

A faster formulation of an operator must give the same numbers (to float32 tolerance; the
matrix products may round differently on other CPUs), so that a checkpoint trained before
the change means the same after it.
"""
import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd

import draw
from draw.loss import ModelOutputs, VariationalLoss

#: preset -> (model overrides, per-example loss (nats) of 4 images, global gradient norm of
#: their summed loss)
PINNED = {
    "draw_mnist": ({}, [592.5510864257812, 589.984619140625, 592.0357666015625,
                        594.2230834960938], 570.3643112284612),
    "draw_mnist_noattn": ({}, [2413.091796875, 2245.6376953125, 2370.8291015625,
                               2116.104736328125], 16809.500400200646),
    # 24 maps: not a multiple of either oneDNN channel block
    "convdraw_omniglot": (dict(num_steps=4, num_recurrent_maps=24),
                          [627.0076293945312, 622.8411865234375, 626.2584838867188,
                           624.190673828125], 1606.0550842125824),
}


def loss_and_grad_norm(model, x, noise):
    with autograd.record():
        out = ModelOutputs(*model(x, noise))
        total = VariationalLoss()(out.logits, x, out.mu_q, out.log_sigma_q, out.mu_p,
                                  out.log_sigma_p)[0]
    total.backward()
    norm = np.sqrt(sum(float((p.grad() ** 2).sum().asscalar())
                       for p in model.collect_params().values() if p.grad_req != "null"))
    return total.asnumpy(), norm


@pytest.mark.parametrize("name", sorted(PINNED))
@pytest.mark.parametrize("hybridize", [False, True])
def test_loss_and_gradients_are_unchanged(name, hybridize):
    overrides, want_loss, want_norm = PINNED[name]
    model = draw.get_model(name, **overrides)
    model.initialize(mx.init.Zero())
    rs = np.random.RandomState(0)
    x = mx.nd.array(rs.rand(4, *model.image_shape) > 0.5)
    model(x)  # shapes known
    for _, p in sorted(model.collect_params().items()):
        if p.grad_req != "null":  # not the constants (filterbank coordinates)
            p.set_data(mx.nd.array(rs.normal(0, 0.05, p.shape)))
    noise = mx.nd.array(rs.normal(size=(model.num_steps, 4) + tuple(model.latent_shape())))
    if hybridize:
        model.hybridize(static_alloc=True, static_shape=True)
    loss, norm = loss_and_grad_norm(model, x, noise)
    np.testing.assert_allclose(loss, want_loss, rtol=2e-5)
    np.testing.assert_allclose(norm, want_norm, rtol=1e-4)
