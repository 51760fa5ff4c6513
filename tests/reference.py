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
