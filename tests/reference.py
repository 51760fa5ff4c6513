"""NumPy reference implementations written directly from the papers' equations.

DRAW (Gregor et al. 2015), section 3.2, for an A x B image (width A, height B) with
1-based pixel coordinates a = 1..A, b = 1..B:

    gX = (A+1)/2 (g~X + 1)                                   (eq. 22)
    gY = (B+1)/2 (g~Y + 1)                                   (eq. 23)
    delta = (max(A,B) - 1)/(N - 1) delta~                    (eq. 24)
    muX_i = gX + (i - N/2 - 0.5) delta,  i = 1..N            (eq. 19)
    muY_j = gY + (j - N/2 - 0.5) delta                       (eq. 20)
    Fx[i, a] = exp(-(a - muX_i)^2 / (2 sigma^2)) / Zx        (eq. 25)
    Fy[j, b] = exp(-(b - muY_j)^2 / (2 sigma^2)) / Zy        (eq. 26)
    read(x) = gamma Fy x FxT                                  (eq. 27)
    write(w) = 1/gamma Fy^T w Fx                              (eq. 29)
"""
import numpy as np


def params(raw, A, B, N):
    gx_t, gy_t, log_s2, log_d, log_g = raw
    gx = (A + 1) / 2.0 * (gx_t + 1)
    gy = (B + 1) / 2.0 * (gy_t + 1)
    delta = (max(A, B) - 1) / max(N - 1, 1) * np.exp(log_d)  # N = 1: denominator 1
    return gx, gy, np.exp(log_s2), delta, np.exp(log_g)


def filterbank_1d(g, sigma2, delta, N, size):
    F = np.zeros((N, size))
    for i in range(1, N + 1):
        mu = g + (i - N / 2.0 - 0.5) * delta
        for a in range(1, size + 1):
            F[i - 1, a - 1] = np.exp(-(a - mu) ** 2 / (2 * sigma2))
    Z = F.sum(axis=1, keepdims=True)
    return F / Z


def read(x, x_hat, raw, N):
    """x, x_hat: (C, B, A) for one example; raw: 5 attention values."""
    C, B, A = x.shape
    gx, gy, s2, delta, gamma = params(raw, A, B, N)
    Fx = filterbank_1d(gx, s2, delta, N, A)
    Fy = filterbank_1d(gy, s2, delta, N, B)
    gx_ = [gamma * Fy @ x[c] @ Fx.T for c in range(C)]
    gh_ = [gamma * Fy @ x_hat[c] @ Fx.T for c in range(C)]
    return np.concatenate([np.stack(gx_).ravel(), np.stack(gh_).ravel()])


def write(w, raw, N, C, B, A):
    """w: (C, N, N) patch of one example."""
    gx, gy, s2, delta, gamma = params(raw, A, B, N)
    Fx = filterbank_1d(gx, s2, delta, N, A)
    Fy = filterbank_1d(gy, s2, delta, N, B)
    return np.stack([Fy.T @ w[c] @ Fx / gamma for c in range(C)]).ravel()


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def lstm(x, h, c, W, b):
    """Standard LSTM; W: (4U, in+U) rows ordered i, f, o, g."""
    U = h.shape[-1]
    a = np.concatenate([x, h], axis=-1) @ W.T + b
    i, f, o = sigmoid(a[:, :U]), sigmoid(a[:, U:2 * U]), sigmoid(a[:, 2 * U:3 * U])
    g = np.tanh(a[:, 3 * U:])
    c = f * c + i * g
    return o * np.tanh(c), c


def bernoulli_nll(logits, x):
    p = sigmoid(logits)
    return -(x * np.log(p) + (1 - x) * np.log(1 - p))


def kl_normal(mu_q, s_q, mu_p=0.0, s_p=1.0):
    """KL(N(mu_q, s_q^2) || N(mu_p, s_p^2)) elementwise, from the closed form."""
    return np.log(s_p / s_q) + (s_q ** 2 + (mu_q - mu_p) ** 2) / (2 * s_p ** 2) - 0.5


# --------------------------------------------------------------------------- ConvDRAW
# Convolutional DRAW (Gregor et al. 2016), written as the model's equations, per step:
#     e_err = E(x - sigmoid(c)),  E(v) = ELU(conv_stride2(v))
#     h_enc = ConvLSTM_enc([E(x), e_err, h_dec, c_dec])    (channel concatenation)
#     (mu_q, log sigma_q) = conv(h_enc),  (mu_p, log sigma_p) = conv(h_dec)
#     z = mu_q + exp(log sigma_q) noise
#     h_dec = ConvLSTM_dec([z, E(sigmoid(c))])
#     c = c + depth_to_space(conv(h_dec), 2)

def conv2d(x, w, b=None, stride=1, pad=((0, 0), (0, 0))):
    """Cross-correlation as in every deep-learning library.

    x (B, Cin, H, W), w (Cout, Cin, k, k), b (Cout,); pad ((top, bottom), (left, right)).
    """
    x = np.pad(x, ((0, 0), (0, 0)) + tuple(pad))
    k = w.shape[2]
    oh = (x.shape[2] - k) // stride + 1
    ow = (x.shape[3] - k) // stride + 1
    out = np.zeros((x.shape[0], w.shape[0], oh, ow))
    for i in range(k):
        for j in range(k):
            patch = x[:, :, i:i + stride * (oh - 1) + 1:stride, j:j + stride * (ow - 1) + 1:stride]
            out += np.einsum("bchw,oc->bohw", patch, w[:, :, i, j])
    return out if b is None else out + b.reshape(1, -1, 1, 1)


def same(k):
    return ((k // 2, k // 2), (k // 2, k // 2))


def elu(v):
    return np.where(v > 0, v, np.exp(np.minimum(v, 0)) - 1)


def depth_to_space(v, bs):
    """(B, C*bs*bs, H, W) -> (B, C, H*bs, W*bs): out[b, c, h*bs+i, w*bs+j] =
    v[b, (i*bs + j)*C + c, h, w]."""
    B, D, H, W = v.shape
    C = D // (bs * bs)
    out = np.zeros((B, C, H * bs, W * bs))
    for i in range(bs):
        for j in range(bs):
            out[:, :, i::bs, j::bs] = v[:, (i * bs + j) * C:(i * bs + j + 1) * C]
    return out


def conv_lstm(inputs, h, c, w, b):
    """ConvLSTM (no peepholes) on the channel concatenation of ``inputs`` and ``h``;
    w (4U, Cin + U, k, k) with gates ordered i, f, g, o."""
    U = h.shape[1]
    a = conv2d(np.concatenate(list(inputs) + [h], axis=1), w, b, pad=same(w.shape[2]))
    i, f = sigmoid(a[:, :U]), sigmoid(a[:, U:2 * U])
    g, o = np.tanh(a[:, 2 * U:3 * U]), sigmoid(a[:, 3 * U:])
    c = f * c + i * g
    return o * np.tanh(c), c


def convdraw(p, x, noise, k):
    """Forward pass; ``p`` maps names to arrays (see tests/test_convdraw.py), noise
    (T, B, L, h, w). Returns logits c_T and (T, B, L, h, w) arrays mu_q, log_sigma_q,
    mu_p, log_sigma_p."""
    B, C, H, W = x.shape
    L = noise.shape[2]

    def E(v):
        return elu(conv2d(v, p["E_w"], p["E_b"], stride=2))

    def write(h):
        pad = []
        for size in (H, W):
            total = size // 2 - ((size - k) // 2 + 1) + k - 1   # output size H/2
            pad.append((total // 2, total - total // 2))
        return depth_to_space(conv2d(h, p["write_w"], p["write_b"], pad=pad), 2)

    def rep(v):
        return np.repeat(v, B, axis=0)

    canvas, h_enc, c_enc, h_dec, c_dec = (rep(p[n]) for n in
                                          ("canvas0", "h_enc0", "c_enc0", "h_dec0", "c_dec0"))
    e_x = E(x)
    outs = []
    for t in range(noise.shape[0]):
        s = sigmoid(canvas)
        h_enc, c_enc = conv_lstm([e_x, E(x - s), h_dec, c_dec], h_enc, c_enc,
                                 p["enc_w"], p["enc_b"])
        q = conv2d(h_enc, p["post_w"], p["post_b"], pad=same(k))
        prior = conv2d(h_dec, p["prior_w"], p["prior_b"], pad=same(k))
        mu_q, ls_q, mu_p, ls_p = q[:, :L], q[:, L:], prior[:, :L], prior[:, L:]
        z = mu_q + np.exp(ls_q) * noise[t]
        h_dec, c_dec = conv_lstm([z, E(s)], h_dec, c_dec, p["dec_w"], p["dec_b"])
        canvas = canvas + write(h_dec)
        outs.append((mu_q, ls_q, mu_p, ls_p))
    return (canvas,) + tuple(np.stack(v) for v in zip(*outs))
