"""Convolutional DRAW: shapes, hybridization, learned-prior KL, a full training step."""
import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon

import draw
from convdraw.model import ConvDRAW
from draw.loss import VariationalLoss
from draw.loss import ModelWithLoss

from . import reference as ref
from .helpers import assert_hybrid_matches, check_finite_differences


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


def reference_params(model):
    """The model's parameters as tests/reference.py names them; each ConvLSTM's kernels
    joined into one kernel over the channel concatenation [inputs, h]."""
    def cell(c):
        w = np.concatenate([conv.weight.data().asnumpy() for conv in c.i2h]
                           + [c.h2h.weight.data().asnumpy()], axis=1)
        return w, c.h2h.bias.data().asnumpy()

    def data(param):
        return param.data().asnumpy()

    p = {"E_w": data(model.image_encoder[0].weight), "E_b": data(model.image_encoder[0].bias),
         "post_w": data(model.posterior.weight), "post_b": data(model.posterior.bias),
         "prior_w": data(model.prior.weight), "prior_b": data(model.prior.bias),
         "write_w": data(model.write.conv.weight), "write_b": data(model.write.conv.bias)}
    p["enc_w"], p["enc_b"] = cell(model.encoder)
    p["dec_w"], p["dec_b"] = cell(model.decoder)
    for name in ("canvas0", "h_enc0", "c_enc0", "h_dec0", "c_dec0"):
        p[name] = data(getattr(model, name))
    return p


def float64_model(shape, k, steps=3, seed=0):
    mx.random.seed(seed)
    model = ConvDRAW(image_shape=shape, num_steps=steps, num_latent_maps=2,
                     num_recurrent_maps=3, encoder_maps=2, kernel_size=k)
    model.initialize(mx.init.Normal(0.3))
    model.cast("float64")
    # non-zero learned initial states and biases, so that every term is exercised
    rs = np.random.RandomState(seed)
    for name, param in model.collect_params().items():
        if name.endswith(("0", "bias")):
            param.set_data(mx.nd.array(rs.normal(0, 0.3, param.shape), dtype="float64"))
    return model


@pytest.mark.parametrize("shape,k", [((1, 12, 10), 3), ((1, 12, 10), 5), ((1, 12, 10), 7),
                                     ((2, 8, 12), 3)])
def test_forward_matches_numpy_reference(shape, k):
    """Every output of a tiny float64 ConvDRAW against tests/reference.py (fixed noise)."""
    model = float64_model(shape, k)
    rs = np.random.RandomState(1)
    x = (rs.uniform(size=(2,) + shape) > 0.5).astype(np.float64)
    noise = rs.normal(size=(3, 2) + model.latent_shape())
    got = model(mx.nd.array(x, dtype="float64"), mx.nd.array(noise, dtype="float64"))
    want = ref.convdraw(reference_params(model), x, noise, k)
    assert got[0].shape == want[0].shape == (2,) + shape
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.asnumpy(), w, rtol=1e-9, atol=1e-10)


def test_write_padding_gives_half_the_image_for_every_odd_kernel():
    from convdraw.model import state_size, write_padding
    for size in range(2, 40, 2):
        for k in range(1, size, 2):
            before, after = write_padding(size, k)
            assert 0 <= after - before <= 1
            assert state_size(size, k) + before + after - k + 1 == size // 2, (size, k)


def test_finite_difference_gradients():
    """Analytic gradients of the loss match central differences (float64, fixed noise),
    with the odd-total write padding (k = 3) and a non-square image."""
    model = float64_model((1, 8, 10), 3, steps=2)
    rs = np.random.RandomState(1)
    x = mx.nd.array(rs.uniform(size=(2, 1, 8, 10)) > 0.5, dtype="float64")
    noise = mx.nd.array(rs.normal(size=(2, 2) + model.latent_shape()), dtype="float64")
    loss = VariationalLoss()

    def objective():
        outs = model(x, noise)
        return loss(outs[0], x, *outs[1:])[0].sum()

    with autograd.record():
        value = objective()
    value.backward()
    checked = check_finite_differences(model, objective, rs, eps=1e-6, atol=1e-6, rtol=1e-5)
    assert checked == sum(min(3, p.data().size) for p in model.collect_params().values())


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


def test_sampling_a_hybridized_model_warns_nothing():
    """generate() steps the decoder cell by hand; Gluon must not find unused parameters."""
    import warnings
    model = tiny(steps=2)
    model.initialize()
    net = ModelWithLoss(model)
    net.hybridize(static_alloc=True, static_shape=True)
    x = mx.nd.zeros((2, 1, 28, 28))
    net(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        canvases, _ = model.sample(3)
        model.reconstruct(x)
        mx.nd.waitall()
    assert canvases.shape == (2, 3, 1, 28, 28)


def test_checkpoint_of_the_first_version_loads_exactly(tmp_path):
    """Parameters saved when the ConvLSTMs were Gluon's Conv2DLSTMCell (one kernel over
    the concatenated inputs, two biases) load into today's cells and give the same
    outputs; resuming such a run is refused in one line."""
    from mxnet.gluon.contrib.rnn import Conv2DLSTMCell

    from draw import rundir
    from draw.errors import CheckpointError
    model = tiny(steps=2)
    model.initialize(mx.init.Normal(0.2))
    x = mx.nd.array(np.random.RandomState(0).uniform(size=(2, 1, 28, 28)) > 0.5)
    noise = mx.nd.random.normal(shape=(2, 2) + model.latent_shape())
    want = [o.asnumpy() for o in model(x, noise)]
    # the same functions written in the old cells' layout
    saved = {k: v.data() for k, v in model._collect_params_with_prefix().items()}
    for prefix, cell in (("encoder.", model.encoder), ("decoder.", model.decoder)):
        old = Conv2DLSTMCell(input_shape=(sum(cell.input_channels),) + model.state_shape,
                             hidden_channels=4, i2h_kernel=(5, 5), h2h_kernel=(5, 5),
                             i2h_pad=(2, 2))
        assert sorted(old._collect_params_with_prefix()) == [
            "h2h_bias", "h2h_weight", "i2h_bias", "i2h_weight"]
        weights = [saved.pop("%si2h%d.weight" % (prefix, j)) for j in range(len(cell.i2h))]
        saved[prefix + "i2h_weight"] = mx.nd.concat(*weights, dim=1)
        saved[prefix + "h2h_weight"] = saved.pop(prefix + "h2h.weight")
        bias = saved.pop(prefix + "h2h.bias")
        saved[prefix + "i2h_bias"] = 0.25 * bias
        saved[prefix + "h2h_bias"] = 0.75 * bias
        # the old cell with these parameters computes what today's cell computes
        old.initialize()
        for name, p in old._collect_params_with_prefix().items():
            p.set_data(saved[prefix + name])
        rs = np.random.RandomState(1)
        inputs = [mx.nd.array(rs.normal(size=(2, c) + model.state_shape))
                  for c in cell.input_channels]
        h, c = (mx.nd.array(rs.normal(size=(2, 4) + model.state_shape)) for _ in range(2))
        _, (h_old, c_old) = old(mx.nd.concat(*inputs, dim=1), [h, c])
        h_new, c_new = cell.step(cell.input_gates(*inputs), h, c)
        np.testing.assert_allclose(h_new.asnumpy(), h_old.asnumpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(c_new.asnumpy(), c_old.asnumpy(), rtol=1e-5, atol=1e-5)
    for path in rundir.paths(str(tmp_path), 10)[:1]:
        mx.nd.save(path, saved)
    open(rundir.paths(str(tmp_path), 10)[1], "wb").write(b"old optimizer state")
    rundir.write_json(rundir.paths(str(tmp_path), 10)[2], {"step": 10, "epoch": 0, "batch": 10})
    fresh = tiny(steps=2)
    state = rundir.load(str(tmp_path), fresh)
    assert state["step"] == 10
    for g, w in zip(fresh(x, noise), want):
        np.testing.assert_allclose(g.asnumpy(), w, rtol=1e-5, atol=1e-5)
    trainer = gluon.Trainer(fresh.collect_params(), "adam")
    with pytest.raises(CheckpointError, match="written by an older version of the model "
                       r"\(converted the Conv2DLSTMCell parameters of encoder and decoder"):
        rundir.load(str(tmp_path), tiny(steps=2), trainer)


def test_trace_switches_from_posterior_to_prior_at_step_k():
    """k = T is the model's reconstruction with the same noise, and its KL the loss's;
    k = 0 is generate(noise); in between, the first k steps' KL equal the full pass's
    and the later ones are 0."""
    mx.random.seed(0)
    model = tiny(steps=3)
    model.initialize(mx.init.Xavier())
    rs = np.random.RandomState(0)
    x = mx.nd.array(rs.uniform(size=(2, 1, 28, 28)) > 0.5)
    eps = mx.nd.array(rs.normal(size=(3, 2) + model.latent_shape()))
    full = model.trace(x, eps)
    outs = model(x, eps)
    np.testing.assert_allclose(full["logits"].asnumpy(), outs[0].asnumpy(), rtol=1e-5,
                               atol=1e-5)
    kl = VariationalLoss()(outs[0], x, *outs[1:])[2]
    np.testing.assert_allclose(full["kl"].sum(axis=0).asnumpy(), kl.asnumpy(), rtol=1e-5)
    prior = model.trace(None, eps, posterior_steps=0)
    np.testing.assert_allclose(prior["canvases"].asnumpy(), model.generate(eps)[0].asnumpy(),
                               rtol=1e-6)
    assert (prior["kl"].asnumpy() == 0).all()
    part = model.trace(x, eps, posterior_steps=1)
    np.testing.assert_allclose(part["kl"][0].asnumpy(), full["kl"][0].asnumpy(), rtol=1e-6)
    assert (part["kl"][1:].asnumpy() == 0).all()
    assert not np.allclose(part["logits"].asnumpy(), full["logits"].asnumpy())
    with pytest.raises(ValueError, match="0..3"):
        model.trace(x, eps, posterior_steps=4)
