#!/usr/bin/env python
"""The peer of the benchmark: DRAW and ConvDRAW written plainly in PyTorch (eager), with
the same sizes, the same loss and the same training step as ours (forward, backward,
gradient clipping by global norm at 10, Adam), to measure our speed against.

    pip install torch --index-url https://download.pytorch.org/whl/cpu   # the CPU wheel
    python examples/benchmark.py --peer          # runs this script beside ours

``examples/benchmark.py --peer`` passes each workload's settings (``--settings JSON``: our
model's kind and constructor arguments, the batch size); this prints one JSON line with
the training samples/s (median, min, max over the repeats) and the parameter count, which
the benchmark checks against ours (they differ only by ``nn.LSTMCell``'s second bias). The models
follow the papers' equations as a reader would write them: ``nn.LSTMCell`` for DRAW, and
for ConvDRAW one convolution over the channel concatenation of a ConvLSTM's inputs at
every step (ours adds one convolution per input and computes E(x)'s share once per
sequence, 5 % fewer FLOPs on the reference configuration).
"""
import argparse
import json
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def filterbank(g, log_sigma2, delta, n, size):
    """(B, N, size) normalised Gaussian filters; centres g + (i - N/2 - 0.5) delta."""
    i = torch.arange(1, n + 1, dtype=g.dtype)
    mu = g + (i - n / 2.0 - 0.5) * delta                       # (B, N)
    a = torch.arange(1, size + 1, dtype=g.dtype)
    logits = -(a.view(1, 1, -1) - mu.unsqueeze(2)) ** 2 / (2 * torch.exp(log_sigma2).unsqueeze(2))
    return torch.softmax(logits, dim=2)


class Attention(nn.Module):
    def __init__(self, units, n, height, width):
        super().__init__()
        self.n, self.height, self.width = n, height, width
        self.loc = nn.Linear(units, 5)

    def filters(self, h):
        gx_, gy_, log_sigma2, log_delta, log_gamma = self.loc(h).split(1, dim=1)
        gx = (self.width + 1) / 2.0 * (gx_ + 1)
        gy = (self.height + 1) / 2.0 * (gy_ + 1)
        delta = (max(self.width, self.height) - 1) / max(self.n - 1, 1) * torch.exp(log_delta)
        fx = filterbank(gx, log_sigma2, delta, self.n, self.width)
        fy = filterbank(gy, log_sigma2, delta, self.n, self.height)
        return fx, fy, torch.exp(log_gamma)


class DRAW(nn.Module):
    """DRAW (Gregor et al. 2015), eq. 3-8 with attention (eq. 27-29) or without."""

    def __init__(self, T=64, units=256, latent=100, read_n=2, write_n=5, height=28, width=28,
                 attention=True):
        super().__init__()
        self.T, self.latent, self.attention = T, latent, attention
        self.height, self.width, self.write_n = height, width, write_n
        pixels = height * width
        read_size = 2 * read_n * read_n if attention else 2 * pixels
        self.encoder = nn.LSTMCell(read_size + units, units)
        self.decoder = nn.LSTMCell(latent, units)
        self.posterior = nn.Linear(units, 2 * latent)
        if attention:
            self.read = Attention(units, read_n, height, width)
            self.write_att = Attention(units, write_n, height, width)
            self.write_patch = nn.Linear(units, write_n * write_n)
        else:
            self.write_patch = nn.Linear(units, pixels)
        self.canvas0 = nn.Parameter(torch.zeros(1, pixels))
        self.states0 = nn.ParameterList([nn.Parameter(torch.zeros(1, units)) for _ in range(4)])

    def forward(self, x, eps):
        b = x.shape[0]
        img = x.view(b, self.height, self.width)
        canvas = self.canvas0.expand(b, -1)
        h_enc, c_enc, h_dec, c_dec = (s.expand(b, -1) for s in self.states0)
        kl = 0
        for t in range(self.T):
            x_hat = x - torch.sigmoid(canvas)
            if self.attention:
                fx, fy, gamma = self.read.filters(h_dec)
                both = torch.stack([img, x_hat.view(b, self.height, self.width)], 1)
                glimpse = fy.unsqueeze(1) @ both @ fx.transpose(1, 2).unsqueeze(1)
                r = glimpse.reshape(b, -1) * gamma
            else:
                r = torch.cat([x, x_hat], 1)
            h_enc, c_enc = self.encoder(torch.cat([r, h_dec], 1), (h_enc, c_enc))
            mu, log_sigma = self.posterior(h_enc).split(self.latent, 1)
            z = mu + torch.exp(log_sigma) * eps[t]
            kl = kl + 0.5 * (mu ** 2 + torch.exp(2 * log_sigma) - 2 * log_sigma - 1).sum(1)
            h_dec, c_dec = self.decoder(z, (h_dec, c_dec))
            if self.attention:
                fx, fy, gamma = self.write_att.filters(h_dec)
                w = self.write_patch(h_dec).view(b, self.write_n, self.write_n) / gamma.view(b, 1, 1)
                canvas = canvas + (fy.transpose(1, 2) @ w @ fx).reshape(b, -1)
            else:
                canvas = canvas + self.write_patch(h_dec)
        recon = F.binary_cross_entropy_with_logits(canvas, x, reduction="none").sum(1)
        return (recon + kl).mean()


class ConvLSTM(nn.Module):
    """One 'same' convolution over [inputs..., h] to the 4 gates (i, f, g, o)."""

    def __init__(self, in_channels, hidden, k):
        super().__init__()
        self.conv = nn.Conv2d(in_channels + hidden, 4 * hidden, k, padding=k // 2)

    def forward(self, inputs, h, c):
        i, f, g, o = self.conv(torch.cat(inputs + [h], 1)).chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c


class ConvDRAW(nn.Module):
    """Convolutional DRAW (Gregor et al. 2016) as convdraw/model.py, written plainly."""

    def __init__(self, T=16, latent_maps=3, maps=64, enc_maps=16, k=5, size=28):
        super().__init__()
        self.T, self.L = T, latent_maps
        s = (size - k) // 2 + 1
        pad = size // 2 - s + k - 1  # total padding of the write (even for k = 5)
        self.image_encoder = nn.Sequential(nn.Conv2d(1, enc_maps, k, stride=2), nn.ELU())
        self.encoder = ConvLSTM(2 * enc_maps + 2 * maps, maps, k)
        self.decoder = ConvLSTM(latent_maps + enc_maps, maps, k)
        self.posterior = nn.Conv2d(maps, 2 * latent_maps, k, padding=k // 2)
        self.prior = nn.Conv2d(maps, 2 * latent_maps, k, padding=k // 2)
        self.write = nn.Conv2d(maps, 4, k, padding=pad // 2)
        self.canvas0 = nn.Parameter(torch.zeros(1, 1, size, size))
        self.states0 = nn.ParameterList([nn.Parameter(torch.zeros(1, maps, s, s))
                                         for _ in range(4)])

    def forward(self, x, eps):
        b = x.shape[0]
        canvas = self.canvas0.expand(b, -1, -1, -1)
        h_enc, c_enc, h_dec, c_dec = (v.expand(b, -1, -1, -1) for v in self.states0)
        e_x = self.image_encoder(x)
        kl = 0
        for t in range(self.T):
            p = torch.sigmoid(canvas)
            e_err = self.image_encoder(x - p)
            e_canvas = self.image_encoder(p)
            h_enc, c_enc = self.encoder([e_x, e_err, h_dec, c_dec], h_enc, c_enc)
            mu_q, ls_q = self.posterior(h_enc).split(self.L, 1)
            mu_p, ls_p = self.prior(h_dec).split(self.L, 1)
            z = mu_q + torch.exp(ls_q) * eps[t]
            kl = kl + (ls_p - ls_q + 0.5 * (torch.exp(2 * (ls_q - ls_p))
                                           + (mu_q - mu_p) ** 2 * torch.exp(-2 * ls_p)) - 0.5
                       ).sum((1, 2, 3))
            h_dec, c_dec = self.decoder([z, e_canvas], h_dec, c_dec)
            canvas = canvas + F.pixel_shuffle(self.write(h_dec), 2)
        recon = F.binary_cross_entropy_with_logits(canvas, x, reduction="none").sum((1, 2, 3))
        return (recon + kl).mean()


def build(kind, kwargs):
    """The peer of our model ``{"kind", "kwargs"}`` (draw.registry.model_config form)."""
    c, h, w = kwargs["image_shape"]
    if c != 1 or (kind == "convdraw" and h != w):
        raise ValueError("the peer has one channel (and square images for ConvDRAW)")
    if kind == "draw":
        return DRAW(T=kwargs["num_steps"], units=kwargs["num_recurrent_units"],
                    latent=kwargs["latent_dim"], read_n=kwargs.get("read_size", 2),
                    write_n=kwargs.get("write_size", 5), height=h, width=w,
                    attention=kwargs.get("attention", True))
    return ConvDRAW(T=kwargs["num_steps"], latent_maps=kwargs["num_latent_maps"],
                    maps=kwargs["num_recurrent_maps"], enc_maps=kwargs["encoder_maps"],
                    k=kwargs["kernel_size"], size=h)


def lstm_bias_extra(model):
    """Parameters the peer has and ours has not: ``nn.LSTMCell``'s second bias (ours adds
    one bias to one matrix product of [x, h])."""
    return sum(m.bias_hh.numel() for m in model.modules() if isinstance(m, nn.LSTMCell))


def measure(settings, warmup=2, repeats=5, steps=3, seed=0, autocast=False):
    """Training samples/s of the peer of ``settings`` (a benchmark workload's: ``kind``,
    ``model``, ``batch_size``): a dict for the benchmark's JSON. ``autocast``: the
    forward pass and the loss under ``torch.autocast("cpu", dtype=torch.bfloat16)``
    (PyTorch's mixed precision, the peer of our ``--amp``)."""
    torch.manual_seed(seed)
    model = build(settings["kind"], settings["model"])
    batch = settings["batch_size"]
    c, h, w = settings["model"]["image_shape"]
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    rs = np.random.RandomState(seed)
    if settings["kind"] == "draw":
        x = rs.rand(batch, h * w) > 0.5
        latent = (settings["model"]["latent_dim"],)
    else:
        x = rs.rand(batch, c, h, w) > 0.5
        s = (h - model.image_encoder[0].kernel_size[0]) // 2 + 1
        latent = (settings["model"]["num_latent_maps"], s, s)
    x = torch.tensor(x, dtype=torch.float32)
    eps = torch.tensor(rs.standard_normal((model.T, batch) + latent), dtype=torch.float32)

    def step():
        optimizer.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            loss = model(x, eps)
        loss.float().backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        optimizer.step()
        return loss.detach().item()

    for _ in range(warmup):
        step()
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        rates.append(steps * batch / (time.perf_counter() - start))
    return {"framework": "PyTorch %s eager%s" % (torch.__version__,
                                                 " (bfloat16 autocast)" if autocast else ""),
            "threads": torch.get_num_threads(), "batch_size": batch,
            "parameters": sum(p.numel() for p in model.parameters()),
            "parameters_without_second_lstm_bias":
                sum(p.numel() for p in model.parameters()) - lstm_bias_extra(model),
            "train": {"median": float(np.median(rates)), "min": float(np.min(rates)),
                      "max": float(np.max(rates)), "values": rates}}


def main(argv):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--settings", required=True,
                   help="the workload as JSON: kind, model (our constructor arguments), "
                        "batch_size (examples/benchmark.py passes it)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--autocast", action="store_true",
                   help="bfloat16 autocast on the CPU (the peer of our --amp)")
    args = p.parse_args(argv)
    print(json.dumps(measure(json.loads(args.settings), args.warmup, args.repeats, args.steps,
                             autocast=args.autocast)))


if __name__ == "__main__":
    main(sys.argv[1:])
