"""The DRAW filterbank, read and write, against NumPy written from the paper."""
import mxnet as mx
import numpy as np
import pytest

from draw import attention
from draw.attention import AttentionRead, AttentionWrite, PlainRead, PlainWrite

from . import reference as ref
from .helpers import assert_hybrid_matches

RAW = np.array([[0.1, -0.2, np.log(1.5), np.log(0.8), np.log(1.2)],
                [-0.4, 0.3, np.log(0.6), np.log(1.3), np.log(0.7)],
                [0.9, -0.9, np.log(2.0), np.log(0.5), 0.0]])


@pytest.mark.parametrize("N,A,B", [(5, 28, 28), (2, 28, 28), (3, 20, 12), (4, 7, 31), (1, 28, 28),
                                   (1, 9, 5)])
def test_filterbank_matches_paper(N, A, B):
    raw = mx.nd.array(RAW, dtype="float64")
    gx, gy, log_s2, delta, gamma = attention.attention_params(mx.nd, raw, A, B, N)
    off = mx.nd.array(attention.glimpse_offsets(N), dtype="float64")
    fx = attention.filterbank(mx.nd, gx, log_s2, delta, off,
                              mx.nd.array(attention.pixel_coords(A), dtype="float64")).asnumpy()
    fy = attention.filterbank(mx.nd, gy, log_s2, delta, off,
                              mx.nd.array(attention.pixel_coords(B), dtype="float64")).asnumpy()
    assert fx.shape == (len(RAW), N, A) and fy.shape == (len(RAW), N, B)
    for k, r in enumerate(RAW):
        gx_, gy_, s2, d, g = ref.params(r, A, B, N)
        np.testing.assert_allclose(fx[k], ref.filterbank_1d(gx_, s2, d, N, A), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(fy[k], ref.filterbank_1d(gy_, s2, d, N, B), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(gamma.asnumpy()[k, 0], g)
    # every filter sums to 1, even one so far off the image that each exp() underflows
    np.testing.assert_allclose(fx.sum(axis=2), 1, rtol=1e-6)
    far = attention.filterbank(mx.nd, mx.nd.array([[-1e4]]), mx.nd.array([[0.0]]),
                               mx.nd.array([[1.0]]), mx.nd.array(attention.glimpse_offsets(N)),
                               mx.nd.array(attention.pixel_coords(A))).asnumpy()
    assert np.isfinite(far).all()
    np.testing.assert_allclose(far.sum(axis=2), 1, rtol=1e-6)


@pytest.mark.parametrize("log_sigma2", [-200.0, -89.0, 89.0, 200.0])
@pytest.mark.parametrize("center", [14.3, 3e4])
def test_filterbank_finite_for_extreme_sigma(log_sigma2, center):
    """exp(-log sigma^2) overflows float32 below -88.7: the filters and their gradients
    stay finite (a centre far off the image with a tiny sigma too), rows sum to 1."""
    args = [mx.nd.array([[v]]) for v in (center, log_sigma2, 2.0)]
    for a in args:
        a.attach_grad()
    with mx.autograd.record():
        fb = attention.filterbank(mx.nd, *args, mx.nd.array(attention.glimpse_offsets(3)),
                                  mx.nd.array(attention.pixel_coords(28)))
        head = (fb * mx.nd.array(np.random.RandomState(0).uniform(size=fb.shape))).sum()
    head.backward()
    assert np.isfinite(fb.asnumpy()).all()
    np.testing.assert_allclose(fb.asnumpy().sum(axis=2), 1, rtol=1e-6)
    assert all(np.isfinite(a.grad.asnumpy()).all() for a in args)
    if log_sigma2 < 0 and center < 28:
        # a tiny sigma puts all the weight on the nearest pixel
        assert fb.asnumpy().max(axis=2).min() == pytest.approx(1)


def test_read_write_finite_for_extreme_attention_parameters():
    """The whole read and write, float32, hybridized, with log sigma^2 = -200 and +200."""
    x = mx.nd.random.uniform(shape=(2, 1, 12, 10))
    h = mx.nd.ones((2, 4))
    for log_sigma2 in (-200.0, 200.0):
        bias = np.array([0.1, -0.2, log_sigma2, 0.0, 0.0])
        for block in (AttentionRead(3, (1, 12, 10)), AttentionWrite(4, (1, 12, 10))):
            block.initialize(mx.init.Zero())
            block.loc.bias.set_data(mx.nd.array(bias))
            block.hybridize()
            out = block(x, x, h) if isinstance(block, AttentionRead) else block(h)[0]
            assert np.isfinite(out.asnumpy()).all(), (type(block).__name__, log_sigma2)


def test_centre_and_stride_conventions():
    """g~ = 0 is the image centre; N = 1 puts the single filter at g, finite delta."""
    raw = mx.nd.array([[0, 0, np.log(0.01), 0, 0]], dtype="float64")
    A, B = 9, 5
    gx, gy, ls2, delta, _ = attention.attention_params(mx.nd, raw, A, B, 1)
    assert gx.asscalar() == 5 and gy.asscalar() == 3
    assert delta.asscalar() == 8  # (max(A,B) - 1) / max(N-1, 1) * exp(0)
    fx = attention.filterbank(mx.nd, gx, ls2, delta,
                              mx.nd.array(attention.glimpse_offsets(1), dtype="float64"),
                              mx.nd.array(attention.pixel_coords(A), dtype="float64"))
    fx = fx.asnumpy()[0, 0]
    assert np.argmax(fx) == 4 and fx[4] > 0.99  # pixel 5 (1-based) = centre


@pytest.mark.parametrize("C,B,A,N", [(1, 28, 28, 2), (1, 12, 20, 3), (3, 10, 14, 4), (2, 9, 9, 1)])
def test_read_matches_reference(C, B, A, N):
    rs = np.random.RandomState(1)
    x = rs.uniform(size=(3, C, B, A))
    x_hat = rs.uniform(-1, 1, size=(3, C, B, A))
    block = AttentionRead(N, (C, B, A))
    block.initialize()
    block.cast("float64")
    h = mx.nd.array(rs.normal(size=(3, 6)), dtype="float64")
    block.loc(h)  # infer shapes
    block.loc.weight.set_data(mx.nd.array(rs.normal(scale=0.1, size=(5, 6)), dtype="float64"))
    block.loc.bias.set_data(mx.nd.array(RAW[0], dtype="float64"))
    out = block(mx.nd.array(x, dtype="float64"), mx.nd.array(x_hat, dtype="float64"), h).asnumpy()
    raw = block.loc(h).asnumpy()
    assert out.shape == (3, 2 * C * N * N)
    for k in range(3):
        np.testing.assert_allclose(out[k], ref.read(x[k], x_hat[k], raw[k], N), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("C,B,A,N", [(1, 28, 28, 5), (1, 12, 20, 3), (3, 10, 14, 4), (1, 9, 9, 1)])
def test_write_matches_reference(C, B, A, N):
    rs = np.random.RandomState(2)
    block = AttentionWrite(N, (C, B, A))
    block.initialize()
    block.cast("float64")
    h = mx.nd.array(rs.normal(size=(3, 6)), dtype="float64")
    block(h)
    block.loc.bias.set_data(mx.nd.array(RAW[1], dtype="float64"))
    update, window = block(h)
    raw = block.loc(h).asnumpy()
    w = block.patch(h).asnumpy().reshape(3, C, N, N)
    assert update.shape == (3, C * B * A) and window.shape == (3, 5)
    for k in range(3):
        np.testing.assert_allclose(update.asnumpy()[k], ref.write(w[k], raw[k], N, C, B, A),
                                   rtol=1e-9, atol=1e-12)
        gx, gy, s2, delta, gamma = ref.params(raw[k], A, B, N)
        np.testing.assert_allclose(window.asnumpy()[k], [gx, gy, np.log(s2), delta, gamma],
                                   rtol=1e-9)


def test_plain_read_write_shapes():
    x = mx.nd.random.uniform(shape=(4, 1, 12, 20))
    r = PlainRead((1, 12, 20))
    assert r(x, x, mx.nd.zeros((4, 3))).shape == (4, 480)
    w = PlainWrite((1, 12, 20))
    w.initialize()
    assert w(mx.nd.zeros((4, 3))).shape == (4, 240)


@pytest.mark.parametrize("make,inputs", [
    (lambda: AttentionRead(3, (2, 12, 20)),
     lambda: [mx.nd.random.uniform(shape=(4, 2, 12, 20)), mx.nd.random.normal(shape=(4, 2, 12, 20)),
              mx.nd.random.normal(shape=(4, 7))]),
    (lambda: AttentionWrite(4, (2, 12, 20)), lambda: [mx.nd.random.normal(shape=(4, 7))]),
    (lambda: PlainWrite((1, 12, 20)), lambda: [mx.nd.random.normal(shape=(4, 7))]),
])
def test_blocks_hybridize(make, inputs):
    mx.random.seed(3)
    block = make()
    block.initialize(mx.init.Normal(0.3))
    assert_hybrid_matches(block, inputs())
