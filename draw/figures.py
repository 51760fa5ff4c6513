"""The papers' figures from a trained model: each a PNG and the numbers behind it.

Every figure function takes a model (and, where it needs data, test images), writes
``<name>.png`` plus ``<name>.json`` or ``<name>.csv`` into ``out_dir`` (and a GIF where
one says more), and returns the written paths. The latent noise comes from
``numpy.random.RandomState(seed)``, so a figure is the same for a seed on any device.

DRAW (Gregor et al. 2015):

* :func:`generation` -- rows = samples, columns = steps, the write window in red
  (the paper's MNIST generation figure); also for ConvDRAW (no window).
* :func:`reading` -- the read window of every step over a test image, beside the
  reconstruction (how attention moves while the model reconstructs).
* :func:`filterbank` -- an N x N grid of filter centres over an image and the N x N
  patches it extracts at three zooms (the paper's filterbank illustration).
* :func:`kl_per_step` -- nats spent at each step (also for ConvDRAW).
* :func:`nearest_training` -- samples beside their nearest training images (the
  paper's Figure 6; also for ConvDRAW).
* :func:`glimpses` -- the classifier's glimpse windows over cluttered MNIST images, with
  its predictions (the paper's classification figure); :func:`glimpse_zoom` -- one of
  its glimpses and what it resolves of the 100x100 image (the paper's zoom figure);
  :func:`search` -- how far each glimpse lands from the digit, and the error of the
  images whose last glimpse missed it.

Convolutional DRAW (Gregor et al. 2016):

* :func:`compression` -- reconstructions when the first k of T steps take z from the
  posterior and the rest from the prior, k = 0..T (the paper's conceptual-compression
  figure).
* :func:`rate_distortion` -- cumulative KL (bits) against the reconstruction error, one
  point per k.

Image grids are drawn with Pillow (:mod:`draw.visualize`), plots with matplotlib (its
object API, no pyplot state).
"""
import csv
import os

import mxnet as mx
import numpy as np
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from PIL import Image, ImageDraw

from .attention import apply_read_filters, apply_write_filters, \
    filterbank as attention_filterbank, glimpse_offsets, pixel_coords
from .datasets.cluttered import DIGIT
from .files import atomic_write, write_json
from .loss import ModelOutputs, VariationalLoss, bernoulli_nll, gaussian_kl
from .visualize import boxed_grid, column_labels, save_gif, selected_steps, window_box

#: resolution of the matplotlib figures (pixels per inch)
DPI = 100
#: (width, height) in inches of one row of :func:`reading`, of :func:`filterbank`, and of
#: the plots (:func:`kl_per_step`, :func:`rate_distortion`); PNG pixels = inches x DPI
READING_ROW_INCHES = (5.0, 2.5)
FILTERBANK_INCHES = (8.0, 4.0)
PLOT_INCHES = (6.0, 4.0)
#: pixel magnification of the Pillow grids
SCALE = 2
#: red write boxes, green read boxes
WRITE_COLOR, READ_COLOR = (255, 0, 0), (0, 200, 0)


def available(model):
    """The figure names that exist for ``model``, in the order they are drawn
    (:attr:`draw.base.Model.figures`)."""
    return tuple(model.figures)


def latent_noise(model, n, seed, ctx=None):
    """Standard-normal noise (T, n, latent...) from ``RandomState(seed)``, on ``ctx``."""
    shape = (model.num_steps, n) + tuple(model.latent_shape())
    eps = np.random.RandomState(seed).standard_normal(shape).astype(np.float32)
    return mx.nd.array(eps, ctx=ctx or mx.cpu())


def _path(out_dir, name):
    return os.path.join(out_dir, name)


def _save_figure(fig, path):
    """Write a matplotlib Figure as PNG at :data:`DPI`, atomically, and close it."""
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=DPI))


def _write_csv(path, header, rows):
    def write(tmp):
        with open(tmp, "w", newline="") as f:
            out = csv.writer(f)
            out.writerow(header)
            out.writerows(rows)
    atomic_write(path, write)


def _save_pil(path, image):
    atomic_write(path, lambda tmp: image.save(tmp, format="PNG"))


def _figure(inches, constrained=False):
    # the object API: no global pyplot state
    return Figure(figsize=inches, dpi=DPI, constrained_layout=constrained)


def _window_dict(window, step):
    """One window as a dict of :data:`WINDOW_FIELDS` (sigma in pixels) and its step."""
    return dict(zip(WINDOW_FIELDS, (float(v) for v in _window_rows(window))), step=step)


def _window_rows(windows):
    """(T, n, 5) windows -> per image, per step ``[gx, gy, sigma, delta, gamma]``."""
    w = np.array(windows, dtype=np.float64)
    w[..., 2] = np.exp(w[..., 2] / 2)
    return w


def generation(model, out_dir, num_samples=8, num_columns=10, seed=0, ctx=None):
    """Samples from the prior drawn step by step: ``generation.png``, ``generation.gif``,
    ``generation.json``.

    The PNG has one row per sample and ``min(num_columns, T)`` columns, the canvas
    ``sigmoid(c_t)`` at evenly spaced steps (the last included); with DRAW's attention the
    write window of that step is drawn in red; a strip on top labels each column with its
    step (``t=1``...). Its size is ``SCALE * (columns (W+1) + 1)`` by ``SCALE *
    (num_samples (H+1) + 1) + LABEL_HEIGHT`` pixels. The GIF shows every step of all
    samples; the JSON holds the seed, the steps shown (1-based) and, with attention, each
    shown step's write window (centre, sigma, stride delta, intensity gamma; pixels).
    """
    eps = latent_noise(model, num_samples, seed, ctx)
    canvases, windows = model.generate(eps)
    canvases = canvases.asnumpy()
    windows = None if windows is None else windows.asnumpy()
    steps = selected_steps(model.num_steps, num_columns)
    tiles = canvases[steps].transpose(1, 0, 2, 3, 4).reshape((-1,) + canvases.shape[2:])
    tile_windows = None if windows is None else \
        windows[steps].transpose(1, 0, 2).reshape(-1, windows.shape[-1])
    png, gif, data = (_path(out_dir, "generation" + e) for e in (".png", ".gif", ".json"))
    grid = boxed_grid(tiles, tile_windows, model.write_size, nrow=len(steps), scale=SCALE,
                      color=WRITE_COLOR)
    _save_pil(png, column_labels(grid, ["t=%d" % (t + 1) for t in steps], tiles.shape[-1],
                                 scale=SCALE))
    save_gif(gif, [boxed_grid(canvases[t], None if windows is None else windows[t],
                              model.write_size, scale=SCALE, color=WRITE_COLOR)
                   for t in range(model.num_steps)])
    info = {"figure": "generation", "seed": seed, "num_steps": model.num_steps,
            "steps": [int(t) + 1 for t in steps], "write_size": model.write_size}
    if windows is not None:
        info["write_windows"] = [[_window_dict(windows[t, i], int(t) + 1) for t in steps]
                                 for i in range(num_samples)]
    write_json(data, info)
    return [png, gif, data]


def nearest_training_images(samples, train_images, chunk=4096):
    """Index and squared Euclidean distance of the training image nearest to each sample.

    Parameters
    ----------
    samples : ndarray, shape (n, C, H, W), values in [0, 1]
    train_images : NDArray or ndarray, shape (N, C, H, W), values in [0, 1] (uint8 0/1
        binary images are compared as 0.0/1.0)

    Returns
    -------
    index : ndarray of int64, shape (n,)
    distance : ndarray of float64, shape (n,)
        ``sum over pixels (sample - train)^2``.
    """
    a = np.asarray(samples, dtype=np.float64).reshape(len(samples), -1)
    best = np.full(len(a), np.inf)
    index = np.zeros(len(a), dtype=np.int64)
    for start in range(0, len(train_images), chunk):
        b = train_images[start:start + chunk]
        b = (b.asnumpy() if hasattr(b, "asnumpy") else np.asarray(b)).astype(np.float64)
        b = b.reshape(len(b), -1)
        d = (a ** 2).sum(1)[:, None] - 2 * a @ b.T + (b ** 2).sum(1)[None, :]
        j = d.argmin(1)
        closer = d[np.arange(len(a)), j] < best
        best[closer] = d[np.arange(len(a)), j][closer]
        index[closer] = start + j[closer]
    return index, np.maximum(best, 0.0)


def nearest_training(model, train_images, out_dir, num_samples=8, seed=0, ctx=None):
    """Samples beside their nearest training images, the check that a model does not
    copy its training set (the DRAW paper's Figure 6): ``nearest_training.png`` and
    ``nearest_training.csv``.

    The PNG has two rows of ``num_samples`` tiles: the samples (final canvases
    ``sigmoid(c_T)`` from ``RandomState(seed)`` noise) on top, below each the training
    image at the smallest squared Euclidean distance over the pixels in [0, 1]; its size
    is ``SCALE * (num_samples (W+1) + 1)`` by ``SCALE * (2 (H+1) + 1)`` pixels. The CSV
    holds, per sample, the index of that training image and the distance.
    """
    eps = latent_noise(model, num_samples, seed, ctx)
    canvases, _ = model.generate(eps)
    samples = canvases[-1].asnumpy()
    index, distance = nearest_training_images(samples, train_images)
    nearest = train_images[mx.nd.array(index)] if hasattr(train_images, "asnumpy") \
        else np.asarray(train_images)[index]
    nearest = (nearest.asnumpy() if hasattr(nearest, "asnumpy") else nearest).astype(
        np.float32)
    png, data = (_path(out_dir, "nearest_training" + e) for e in (".png", ".csv"))
    _save_pil(png, boxed_grid(np.concatenate([samples, nearest]), nrow=num_samples,
                              scale=SCALE))
    _write_csv(data, ["sample", "train_index", "squared_distance"],
               [(i, int(index[i]), float(distance[i])) for i in range(num_samples)])
    return [png, data]


def glimpses(model, images, labels, out_dir, ctx=None):
    """Where the classifier (:class:`draw.classifier.DRAWClassifier`) looks: ``glimpses.png``,
    ``glimpses.gif`` and ``glimpses.csv`` (the DRAW paper's cluttered-MNIST figure).

    ``images`` (n, C, H, W) in [0, 1] and their ``labels`` (n,). The PNG is one row of
    the n images, ``SCALE`` times enlarged, each with the window of every glimpse drawn
    over it (colour = step, from dark blue to yellow; the box spans the N x N grid,
    ``N delta`` pixels; its line is as wide as the filters' sigma, at least one pixel),
    under a strip of :data:`draw.visualize.LABEL_HEIGHT` pixels naming the predicted and
    the true class. The GIF shows one glimpse per frame. The CSV holds per image and step
    the window (centre, sigma, stride, intensity; pixels), the prediction and the label.
    """
    predicted, windows = _glimpse_windows(model, images, ctx)
    n, steps = len(images), model.num_steps
    labels = np.asarray(labels).astype(int)

    def picture(shown):
        return _glimpse_picture(images, labels, predicted, windows, model.glimpse_size, shown)
    png, gif, data = (_path(out_dir, "glimpses" + e) for e in (".png", ".gif", ".csv"))
    _save_pil(png, picture(range(steps)))
    save_gif(gif, [picture([t]) for t in range(steps)])
    rows = [[i, t + 1] + [float(v) for v in _window_rows(windows[t, i])] +
            [int(predicted[i]), int(labels[i])] for i in range(n) for t in range(steps)]
    _write_csv(data, ["image", "step"] + list(WINDOW_FIELDS) + ["predicted", "label"], rows)
    return [png, gif, data]


def _glimpse_windows(model, images, ctx):
    """The classifier's predictions (n,) and windows (T, n, 5) on ``images``."""
    x = mx.nd.array(np.asarray(images, dtype=np.float32), ctx=ctx or mx.cpu())
    logits, windows = model(x)
    return logits.argmax(axis=1).asnumpy().astype(int), windows.asnumpy()


def _glimpse_picture(images, labels, predicted, windows, glimpse_size, shown):
    """The row of :func:`glimpses`' PNG with the windows of the steps ``shown``."""
    images = np.asarray(images, dtype=np.float32)
    n, h, w = len(images), images.shape[2], images.shape[3]
    colors = [tuple(int(255 * v) for v in c[:3])
              for c in colormaps["viridis"](np.linspace(0, 1, len(windows)))]
    grid = boxed_grid(images, nrow=n, scale=SCALE)
    draw = ImageDraw.Draw(grid)
    for i in range(n):
        ox, oy = 1 + i * (w + 1), 1
        for t in shown:
            x0, y0, x1, y1 = window_box(windows[t, i], glimpse_size)
            sigma = float(np.exp(windows[t, i, 2] / 2))
            box = [(o + np.clip(v, 0, lim)) * SCALE for o, v, lim in
                   ((ox, x0, w), (oy, y0, h), (ox, x1, w), (oy, y1, h))]
            if box[2] > box[0] and box[3] > box[1]:
                draw.rectangle(box, outline=colors[t], width=max(1, int(round(sigma * SCALE))))
    return column_labels(grid, ["%d (%d)" % (p, y) for p, y in zip(predicted, labels)], w,
                         scale=SCALE)


#: the last glimpse's distance from the digit (pixels) that :func:`search` bins by: the
#: bins are [0, 4), [4, 8), ..., [30, infinity)
SEARCH_BINS = (0, 4, 8, 14, 20, 30)


def search_distances(windows, positions, digit_size):
    """Where the windows' centres lie against the digits'.

    Parameters
    ----------
    windows : ndarray, shape (T, n, 5)
        ``[gx, gy, log sigma^2, delta, gamma]`` of every glimpse (1-based pixel
        coordinates: pixel a covers [a - 1, a)).
    positions : ndarray of int, shape (n, 2)
        The digits' top-left pixels (y, x), 0-based: digit i covers rows y..y+d-1 and
        columns x..x+d-1.
    digit_size : int
        d, the side of the digit's box.

    Returns
    -------
    distance : ndarray, shape (T, n)
        Pixels from each window's centre to the centre of the digit's box.
    inside : ndarray of bool, shape (T, n)
        Whether the window's centre lies in the digit's box.
    """
    windows = np.asarray(windows, dtype=np.float64)
    positions = np.asarray(positions, dtype=np.float64)
    half = digit_size / 2.0
    dx = windows[..., 0] - 0.5 - (positions[:, 1] + half)
    dy = windows[..., 1] - 0.5 - (positions[:, 0] + half)
    return np.hypot(dx, dy), (np.abs(dx) <= half) & (np.abs(dy) <= half)


def search(model, images, labels, positions, out_dir, digit_size=DIGIT, batch_size=100,
           ctx=None):
    """Does the classifier find the digit? ``search.png`` and ``search.json``, over
    ``images`` (n, C, H, W) with their ``labels`` (n,) and their digits' top-left
    ``positions`` (n, 2), (y, x) (the cluttered-MNIST recipes').

    For every step, the median distance between the window's centre and the centre of
    the digit's ``digit_size`` box, and the share of images whose window centre lies in
    the box (left panel); for the last glimpse, the images and the error rate by that
    distance (:data:`SEARCH_BINS`, right panel). The JSON holds these numbers and the
    split of the error between the images whose last glimpse is in the digit's box
    ("found") and the others ("missed"): when the missed images carry much of the error,
    the search, not the recognition, is what limits the classifier.
    """
    images = np.asarray(images, dtype=np.float32)
    labels = np.asarray(labels).astype(int)
    predicted, windows = [], []
    for start in range(0, len(images), batch_size):
        p, w = _glimpse_windows(model, images[start:start + batch_size], ctx)
        predicted.append(p)
        windows.append(w)
    wrong = np.concatenate(predicted) != labels
    windows = np.concatenate(windows, axis=1)
    distance, inside = search_distances(windows, positions, digit_size)
    steps = [{"step": t + 1, "median_distance": float(np.median(distance[t])),
              "inside_digit_box": float(inside[t].mean())} for t in range(len(windows))]
    edges = list(SEARCH_BINS) + [float("inf")]
    bins = []
    for lo, hi in zip(edges, edges[1:]):
        chosen = (distance[-1] >= lo) & (distance[-1] < hi)
        count = int(chosen.sum())
        bins.append({"from": lo, "to": None if hi == float("inf") else hi, "images": count,
                     "errors": int(wrong[chosen].sum()),
                     "error": float(wrong[chosen].mean()) if count else None})

    def group(chosen):
        count = int(chosen.sum())
        return {"images": count, "share": count / float(len(wrong)),
                "errors": int(wrong[chosen].sum()),
                "error": float(wrong[chosen].mean()) if count else None,
                "share_of_errors": float(wrong[chosen].sum() / max(1, wrong.sum()))}
    info = {"figure": "search", "images": len(wrong), "digit_size": digit_size,
            "error": float(wrong.mean()), "found": group(inside[-1]),
            "missed": group(~inside[-1]), "last_glimpse_by_distance": bins, "steps": steps}

    fig = _figure((PLOT_INCHES[0] * 2, PLOT_INCHES[1]), constrained=True)
    left, right = fig.subplots(1, 2)
    t = np.arange(1, len(windows) + 1)
    left.plot(t, [s["median_distance"] for s in steps], "o-", label="median distance (px)")
    left.set_xlabel("glimpse")
    left.set_ylabel("median distance, window centre to digit centre (px)", fontsize=9)
    share = left.twinx()
    share.plot(t, [s["inside_digit_box"] for s in steps], "s--", color="tab:orange")
    share.set_ylim(0, 1)
    share.set_ylabel("share with the centre in the digit's box", color="tab:orange")
    names = ["%g-%s" % (b["from"], "" if b["to"] is None else "%g" % b["to"]) for b in bins]
    right.bar(names, [100 * (b["error"] or 0) for b in bins])
    for x, b in enumerate(bins):
        right.annotate("%d" % b["images"], (x, 100 * (b["error"] or 0)), ha="center",
                       va="bottom", fontsize=8)
    right.set_xlabel("last glimpse: distance from the digit's centre (px)")
    right.set_ylabel("test error (%), number of images above each bar")
    png, data = _path(out_dir, "search.png"), _path(out_dir, "search.json")
    _save_figure(fig, png)
    write_json(data, info)
    return [png, data]


def glimpse_grid(model, images, labels, ctx=None):
    """:func:`glimpses`' picture (a PIL image) of ``images`` (n, C, H, W) and ``labels``
    (n,), every glimpse drawn: what the trainer logs to TensorBoard."""
    predicted, windows = _glimpse_windows(model, images, ctx)
    return _glimpse_picture(images, np.asarray(labels).astype(int), predicted, windows,
                            model.glimpse_size, range(model.num_steps))


def zoom(image, window, glimpses, out_dir):
    """One glimpse and what it keeps of the image: ``zoom.png`` and ``zoom.json`` (the
    DRAW paper's zoom illustration on a 100x100 cluttered image).

    Left: ``image`` (C, H, W) with the window's box; middle: the N x N patch
    ``gamma Fy x FxT``; right: the patch put back by the transposed filters,
    ``(1/gamma) FyT patch Fx`` (the write of eq. 29) divided by each pixel's share of the
    filters ``FyT 1 Fx`` (0 where the window does not reach), which shows how much of the
    image the glimpse resolves. ``window`` is ``[gx, gy, log sigma^2, delta, gamma]``
    (pixels, as the models return it). Size ``DPI * FILTERBANK_INCHES``. The JSON holds
    the window and the patch.
    """
    nd = mx.nd
    c, h, w = image.shape
    gx, gy, log_sigma2, delta, gamma = (float(v) for v in window)
    offsets = nd.array(glimpse_offsets(glimpses))
    args = (nd.array([[log_sigma2]]), nd.array([[delta]]), offsets)
    fx = attention_filterbank(nd, nd.array([[gx]]), *args, nd.array(pixel_coords(w)))
    fy = attention_filterbank(nd, nd.array([[gy]]), *args, nd.array(pixel_coords(h)))
    patch = apply_read_filters(nd, nd.array(image[None]), fy, fx, glimpses, w) * gamma
    back = apply_write_filters(nd, patch / gamma, fy, fx, glimpses, h, w)[0].asnumpy()
    # each pixel's share of the filters: dividing by it puts the glimpse back on the
    # image's intensity scale where the window covers the image (0 elsewhere)
    cover = apply_write_filters(nd, nd.ones_like(patch), fy, fx, glimpses, h, w)[0].asnumpy()
    back = np.where(cover > 1e-3 * cover.max(), back / np.maximum(cover, 1e-30), 0.0)
    patch = patch[0].asnumpy()
    fig = _figure(FILTERBANK_INCHES, constrained=True)
    panels = fig.subplots(1, 3)
    x0, y0, x1, y1 = window_box(window, glimpses)
    for ax, picture, title in ((panels[0], image, "image and window"),
                               (panels[1], patch, "%d x %d glimpse" % (glimpses, glimpses)),
                               (panels[2], back, "glimpse put back (transposed filters)")):
        ax.imshow(_display(np.clip(picture, 0, 1)), cmap="gray", vmin=0, vmax=1)
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    panels[0].add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False,
                                  edgecolor="tab:green", linewidth=1.5))
    png, data = _path(out_dir, "zoom.png"), _path(out_dir, "zoom.json")
    _save_figure(fig, png)
    write_json(data, {"figure": "zoom", "glimpses": glimpses,
                      "window": dict(zip(WINDOW_FIELDS, (float(v) for v in
                                                         _window_rows(window)))),
                      "patch": patch.tolist()})
    return [png, data]


def glimpse_zoom(model, image, out_dir, step=None, ctx=None):
    """:func:`zoom` of the classifier's own glimpse: the window of its step ``step``
    (default the last) on ``image`` (C, H, W)."""
    _, windows = _glimpse_windows(model, image[None], ctx)
    t = model.num_steps - 1 if step is None else int(step)
    return zoom(np.asarray(image, dtype=np.float32), windows[t, 0], model.glimpse_size,
                out_dir)


def reading(model, images, out_dir, seed=0, ctx=None):
    """How DRAW's attention moves while it reconstructs ``images`` (n, C, H, W):
    ``reading.png``, ``reading.gif``, ``reading.csv``.

    PNG: one row per image: the input with the read window of every step (colour = step,
    the colour bar), and the reconstruction ``sigmoid(c_T)`` beside it. Size
    ``DPI * READING_ROW_INCHES`` per row (500 x 250 pixels each). GIF: every step, the
    input with that step's read window (green) beside the canvas with its write window
    (red). CSV: one row per image and step with both windows.
    """
    if not model.attention:
        raise ValueError("the reading figure needs a DRAW model with attention")
    n = len(images)
    x = mx.nd.array(images, ctx=ctx or mx.cpu())
    out = model.trace(x, latent_noise(model, n, seed, ctx))
    canvases = out["canvases"].asnumpy()
    reads, writes = out["read_windows"].asnumpy(), out["write_windows"].asnumpy()
    size_r, size_w = model.read.num_glimpses, model.write_size
    t_steps = model.num_steps
    fig = _figure((READING_ROW_INCHES[0], READING_ROW_INCHES[1] * n), constrained=True)
    colors = colormaps["viridis"](np.linspace(0, 1, t_steps))
    axes = fig.subplots(n, 2, squeeze=False)
    for i in range(n):
        left, right = axes[i]
        left.imshow(_display(images[i]), cmap="gray", vmin=0, vmax=1)
        for t in range(t_steps):
            x0, y0, x1, y1 = window_box(reads[t, i], size_r)
            left.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False,
                                     edgecolor=colors[t], linewidth=0.8))
        right.imshow(_display(canvases[-1, i]), cmap="gray", vmin=0, vmax=1)
        left.set_title("input, read window of every step" if i == 0 else "", fontsize=8)
        right.set_title("reconstruction after %d steps" % t_steps if i == 0 else "",
                        fontsize=8)
        for ax in (left, right):
            ax.set_xlim(-0.5, images.shape[-1] - 0.5)
            ax.set_ylim(images.shape[-2] - 0.5, -0.5)
            ax.set_xticks([])
            ax.set_yticks([])
    mappable = ScalarMappable(cmap="viridis")
    mappable.set_clim(1, t_steps)
    fig.colorbar(mappable, ax=axes.ravel().tolist(), label="step", location="right",
                 shrink=0.9)
    png, gif, data = (_path(out_dir, "reading" + e) for e in (".png", ".gif", ".csv"))
    _save_figure(fig, png)
    frames = []
    for t in range(t_steps):
        a = boxed_grid(images, reads[t], size_r, nrow=1, scale=SCALE, color=READ_COLOR)
        b = boxed_grid(canvases[t], writes[t], size_w, nrow=1, scale=SCALE,
                       color=WRITE_COLOR)
        frame = Image.new("RGB", (a.width + b.width, a.height))
        frame.paste(a, (0, 0))
        frame.paste(b, (a.width, 0))
        frames.append(frame)
    save_gif(gif, frames)
    r, w = _window_rows(reads), _window_rows(writes)
    _write_csv(data, ["image", "step"] + ["read_" + k for k in WINDOW_FIELDS]
               + ["write_" + k for k in WINDOW_FIELDS],
               [[i, t + 1] + list(r[t, i]) + list(w[t, i])
                for i in range(n) for t in range(t_steps)])
    return [png, gif, data]


#: the columns of a window in the CSV files (sigma in pixels, not log sigma^2)
WINDOW_FIELDS = ("gx", "gy", "sigma", "delta", "gamma")


def _display(image):
    """(C, H, W) in [0, 1] -> what imshow takes: (H, W) for one channel, else (H, W, C)."""
    return image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)


def filterbank_settings(height, width, glimpses):
    """The three zooms of :func:`filterbank`, as in the paper's illustration: a small
    stride with a large sigma (a blurry close-up of the centre), a stride that covers the
    image with a small sigma (a sharp down-sampling), and the same stride with a large
    sigma (a blurred down-sampling). Returns a list of dicts (label, gx, gy, delta,
    sigma), pixel units, centred on the image."""
    cover = max(height, width) / float(glimpses)
    gx, gy = (width + 1) / 2.0, (height + 1) / 2.0
    return [dict(label="close-up: small stride, large sigma", gx=gx, gy=gy,
                 delta=cover / 2, sigma=cover / 2),
            dict(label="whole image: large stride, small sigma", gx=gx, gy=gy,
                 delta=cover, sigma=cover / 4),
            dict(label="whole image: large stride, large sigma", gx=gx, gy=gy,
                 delta=cover, sigma=cover)]


def extract_patch(image, gx, gy, delta, sigma, glimpses):
    """The N x N read patch ``Fy image FxT`` of every channel of ``image`` (C, H, W) for a
    window (pixel units), computed with the model's filterbank
    (:func:`draw.attention.filterbank`). Returns (centres_x (N,), centres_y (N,),
    patch (C, N, N))."""
    nd = mx.nd
    c, h, w = image.shape
    offsets = nd.array(glimpse_offsets(glimpses))
    log_sigma2 = nd.array([[2 * np.log(sigma)]])
    d = nd.array([[delta]])
    fx = attention_filterbank(nd, nd.array([[gx]]), log_sigma2, d, offsets,
                              nd.array(pixel_coords(w)))
    fy = attention_filterbank(nd, nd.array([[gy]]), log_sigma2, d, offsets,
                              nd.array(pixel_coords(h)))
    patch = apply_read_filters(nd, nd.array(image[None]), fy, fx, glimpses, w)[0]
    centres = glimpse_offsets(glimpses).ravel() * delta
    return gx + centres, gy + centres, patch.asnumpy()


def filterbank(image, out_dir, glimpses=12):
    """The attention filterbank on one image (C, H, W): ``filterbank.png`` and
    ``filterbank.json``.

    Left: the image with the N x N filter centres of the whole-image zoom and the
    boundaries of the three windows of :func:`filterbank_settings`; right: the three
    N x N patches they extract (``glimpses`` N = 12 as in the paper's figure; this is the
    filterbank's maths, the same for any trained model). Size ``DPI *
    FILTERBANK_INCHES`` (800 x 400 pixels). The JSON holds each window and its patch.
    """
    c, h, w = image.shape
    settings = filterbank_settings(h, w, glimpses)
    colors = ("tab:orange", "tab:green", "tab:blue")
    styles = ("-", "-", "--")
    fig = _figure(FILTERBANK_INCHES)
    grid = fig.add_gridspec(3, 2, width_ratios=(2, 1))
    main = fig.add_subplot(grid[:, 0])
    main.imshow(_display(image), cmap="gray", vmin=0, vmax=1)
    info = {"figure": "filterbank", "glimpses": glimpses, "image_shape": [c, h, w],
            "windows": []}
    for j, (s, color, style) in enumerate(zip(settings, colors, styles)):
        xs, ys, patch = extract_patch(image, s["gx"], s["gy"], s["delta"], s["sigma"],
                                      glimpses)
        if j == 1:  # the centres of the whole-image grid
            gx_, gy_ = np.meshgrid(xs, ys)
            main.plot(gx_.ravel() - 1, gy_.ravel() - 1, ".", color=color, markersize=3)
        half = glimpses * s["delta"] / 2
        main.add_patch(Rectangle((s["gx"] - 1 - half, s["gy"] - 1 - half), 2 * half,
                                 2 * half, fill=False, edgecolor=color, linewidth=1.5,
                                 linestyle=style))
        ax = fig.add_subplot(grid[j, 1])
        ax.imshow(_display(np.clip(patch, 0, 1)), cmap="gray", vmin=0, vmax=1)
        ax.set_title("%s (delta %.2f, sigma %.2f)" % (s["label"], s["delta"], s["sigma"]),
                     fontsize=6, color=color)
        ax.set_xticks([])
        ax.set_yticks([])
        info["windows"].append(dict(s, centres_x=xs.tolist(), centres_y=ys.tolist(),
                                    patch=patch.tolist()))
    main.set_title("%d x %d filter centres (dots) and the three windows" % (glimpses, glimpses),
                   fontsize=8)
    main.set_xticks([])
    main.set_yticks([])
    png, data = _path(out_dir, "filterbank.png"), _path(out_dir, "filterbank.json")
    _save_figure(fig, png)
    write_json(data, info)
    return [png, data]


def step_kl(model, images, seed=0, batch_size=100, ctx=None):
    """KL of every step, per image, in nats: ``(kl (T, n), total (n,))`` where ``total``
    is the model's KL term (:class:`draw.loss.VariationalLoss`) of the same passes.

    DRAW: KL(q_t || N(0, I)); ConvDRAW: KL(q_t || p_t) with the learned prior. Batch b of
    the images gets the noise of ``RandomState(seed + b)``.
    """
    nd = mx.nd
    loss = VariationalLoss()
    per_step, totals = [], []
    for b, start in enumerate(range(0, len(images), batch_size)):
        x = nd.array(images[start:start + batch_size], ctx=ctx or mx.cpu())
        out = ModelOutputs(*model(x, latent_noise(model, len(x), seed + b, ctx)))
        kl = gaussian_kl(nd, out.mu_q, out.log_sigma_q, out.mu_p, out.log_sigma_p)
        per_step.append(nd.sum(kl.reshape((0, 0, -1)), axis=2).asnumpy())
        totals.append(loss(out.logits, x, *out[1:])[2].asnumpy())
    return np.concatenate(per_step, axis=1), np.concatenate(totals)


def kl_per_step(model, images, out_dir, seed=0, batch_size=100, ctx=None):
    """Nats spent at each step, mean over ``images``: ``kl_per_step.png`` (a bar chart,
    ``DPI * PLOT_INCHES`` = 600 x 400 pixels) and ``kl_per_step.csv`` (step, mean, its
    standard error over the images). The steps' means sum to the model's mean KL term.
    """
    kl, total = step_kl(model, images, seed, batch_size, ctx)
    n = kl.shape[1]
    mean = kl.mean(axis=1)
    se = kl.std(axis=1, ddof=1) / np.sqrt(n) if n > 1 else np.zeros_like(mean)
    steps = np.arange(1, len(mean) + 1)
    fig = _figure(PLOT_INCHES)
    ax = fig.add_subplot(1, 1, 1)
    ax.bar(steps, mean, yerr=se, color="tab:blue", ecolor="gray")
    ax.set_xlabel("step t")
    ax.set_ylabel("KL (nats)")
    bits = ax.secondary_yaxis("right", functions=(lambda v: v / np.log(2.0),
                                                  lambda v: v * np.log(2.0)))
    bits.set_ylabel("KL (bits)")
    ax.set_title("KL per step, mean over %d test images (total %.2f nats)"
                 % (n, total.mean()), fontsize=9)
    fig.tight_layout()
    png, data = _path(out_dir, "kl_per_step.png"), _path(out_dir, "kl_per_step.csv")
    _save_figure(fig, png)
    _write_csv(data, ["step", "kl_nats", "kl_se"],
               [[int(t), float(m), float(s)] for t, m, s in zip(steps, mean, se)])
    return [png, data]


def compression_passes(model, images, eps):
    """ConvDRAW with the first k steps from the posterior, k = 0..T (:meth:`trace`).

    Parameters
    ----------
    images : ndarray, shape (n, C, H, W)
    eps : NDArray, shape (T, n, L, h, w), the same noise for every k

    Returns
    -------
    means : ndarray, shape (T + 1, n, C, H, W), ``sigmoid(c_T)`` for each k
    rate : ndarray, shape (T + 1, n), the KL of the first k steps (nats)
    distortion : ndarray, shape (T + 1, n), ``-log p(x | c_T)`` (nats)
    """
    nd = mx.nd
    x = nd.array(images, ctx=eps.context)
    means, rate, distortion = [], [], []
    for k in range(model.num_steps + 1):
        out = model.trace(x, eps, posterior_steps=k)
        logits = out["logits"]
        means.append(nd.Activation(logits, act_type="sigmoid").asnumpy())
        rate.append(nd.sum(out["kl"], axis=0).asnumpy())
        distortion.append(nd.sum(bernoulli_nll(nd, logits, x), axis=0, exclude=True)
                          .asnumpy())
    return np.stack(means), np.stack(rate), np.stack(distortion)


def compression(model, images, out_dir, seed=0, ctx=None):
    """The conceptual-compression grid: ``compression.png`` and ``compression.json``.

    One row per image of ``images`` (n, C, H, W): the input, then the reconstruction when
    the first k of T steps take z from the posterior and the rest from the learned prior,
    k = 0..T, all with the same noise. Column k = T is the model's reconstruction, k = 0
    a sample from the prior; a strip on top labels the columns (``input``, ``k=0`` ...).
    Size ``SCALE * ((T + 2)(W+1) + 1)`` by ``SCALE * (n (H+1) + 1) + LABEL_HEIGHT``
    pixels. The JSON holds, per image and k, the rate (KL of
    the first k steps) and the distortion (``-log p(x | c_T)``), in bits.
    """
    eps = latent_noise(model, len(images), seed, ctx)
    means, rate, distortion = compression_passes(model, images, eps)
    tiles = np.concatenate([images[None].astype(np.float32), means], axis=0)
    tiles = tiles.transpose(1, 0, 2, 3, 4).reshape((-1,) + images.shape[1:])
    png, data = _path(out_dir, "compression.png"), _path(out_dir, "compression.json")
    grid = boxed_grid(tiles, nrow=model.num_steps + 2, scale=SCALE)
    _save_pil(png, column_labels(grid, ["input"] + ["k=%d" % k for k in
                                                    range(model.num_steps + 1)],
                                 tiles.shape[-1], scale=SCALE))
    bits = 1 / np.log(2.0)
    write_json(data, {"figure": "compression", "seed": seed, "num_steps": model.num_steps,
                      "columns": ["input"] + ["k=%d" % k for k in range(model.num_steps + 1)],
                      "rate_bits": (rate.T * bits).tolist(),
                      "distortion_bits": (distortion.T * bits).tolist()})
    return [png, data]


def codec_points(model, images, seed=0, batch_size=100, ctx=None):
    """ConvDRAW as a lossy codec (the ConvDRAW paper's compression comparison): for each
    k = 0..T the rate of sending the first k steps' latents, and the distortion of the
    image decoded with the remaining steps from the learned prior, two ways.

    The rate is the KL of the first k steps in bits, the ideal bits-back code length (no
    arithmetic coder is implemented). The decodings take ``z_t`` for t > k either sampled
    from the prior (``RandomState(seed)`` noise, the same as the posterior steps use) or
    at the prior's mean (zero noise). The distortion is the mean squared error between
    the image and ``sigmoid(c_T)``, pixels in [0, 1].

    Returns
    -------
    rate_bits, mse_sampled, mse_mean : ndarrays, shape (T + 1, n)
    """
    rates, sampled, mean = [], [], []
    for b, start in enumerate(range(0, len(images), batch_size)):
        chunk = np.asarray(images[start:start + batch_size], dtype=np.float32)
        eps = latent_noise(model, len(chunk), seed + b, ctx)
        means, rate, _ = compression_passes(model, chunk, eps)
        x = mx.nd.array(chunk, ctx=eps.context)
        at_mean = []
        for k in range(model.num_steps + 1):
            zeroed = eps.copy()
            zeroed[k:] = 0
            logits = model.trace(x, zeroed, posterior_steps=k)["logits"]
            at_mean.append(mx.nd.sigmoid(logits).asnumpy())
        error = ((means - chunk[None]) ** 2).reshape(len(means), len(chunk), -1).mean(axis=2)
        rates.append(rate / np.log(2.0))
        sampled.append(error)
        mean.append(((np.stack(at_mean) - chunk[None]) ** 2)
                    .reshape(len(means), len(chunk), -1).mean(axis=2))
    return (np.concatenate(rates, axis=1), np.concatenate(sampled, axis=1),
            np.concatenate(mean, axis=1))


#: the sweeps of :func:`codec`: JPEG qualities, JPEG2000 compression ratios
JPEG_QUALITIES = (5, 10, 20, 30, 50, 70, 90)
J2K_RATIOS = (1.1, 1.3, 1.6, 2.0, 3.0, 5.0)


def classical_points(images, codec_name, settings):
    """JPEG or JPEG2000 (:mod:`draw.codecs`) on ``images`` (n, C, H, W) in [0, 1] at each
    setting. Returns per setting ``(setting, bits, payload_bits, mse, decoded)``: the
    encoded files' sizes in bits with and without their headers and the mean squared
    error, each (n,), and the decoded images (n, C, H, W)."""
    from . import codecs
    out = []
    for setting in settings:
        bits, payload, mse, decoded = [], [], [], []
        for image in np.asarray(images, dtype=np.float32):
            pixels = image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)
            data, back = codecs.encode(pixels, codec_name, setting)
            bits.append(8 * len(data))
            payload.append(8 * codecs.payload_bytes(data, codec_name))
            mse.append(float(((back - pixels) ** 2).mean()))
            decoded.append(back[None] if image.shape[0] == 1 else back.transpose(2, 0, 1))
        out.append((setting, np.array(bits), np.array(payload), np.array(mse),
                    np.stack(decoded)))
    return out


def codec(model, images, out_dir, seed=0, batch_size=100, ctx=None, num_shown=8,
          jpeg_qualities=JPEG_QUALITIES, j2k_ratios=J2K_RATIOS):
    """ConvDRAW against JPEG and JPEG2000 as lossy codecs on the same images:
    ``codec.png`` (distortion against bits per image), ``codec_grid.png`` and
    ``codec.csv``.

    ConvDRAW's points are :func:`codec_points` (k = 0..T; rate = the KL of the first k
    steps, the ideal bits-back code length; decoded with the other steps sampled from
    the prior and at its mean). JPEG and JPEG2000 are Pillow's, their rates the real
    encoded sizes, drawn both with the headers (whole files, solid) and without
    (entropy-coded payload, dashed; at 28x28 the headers dominate). The distortion is
    the mean squared error on [0, 1] pixels, mean over ``images``. The grid shows the
    first ``num_shown`` images, then ConvDRAW at k = T/2 (prior mean) and JPEG and
    JPEG2000 at the settings whose payload is closest to its rate. The CSV has one row
    per method and setting: bits per image (whole files and payload), MSE and its
    standard error.
    """
    images = np.asarray(images, dtype=np.float32)
    n = len(images)
    rate, sampled, mean = codec_points(model, images, seed, batch_size, ctx)

    def se(v):
        return float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else 0.0
    rows = []
    for k in range(model.num_steps + 1):
        for name, mse in (("convdraw_prior_sample", sampled[k]), ("convdraw_prior_mean",
                                                                   mean[k])):
            rows.append([name, "k=%d" % k, float(rate[k].mean()), float(rate[k].mean()),
                         float(mse.mean()), se(mse)])
    classical = {"jpeg": classical_points(images, "jpeg", jpeg_qualities),
                 "jpeg2000": classical_points(images, "jpeg2000", j2k_ratios)}
    for name, points in classical.items():
        for setting, bits, payload, mse, _ in points:
            rows.append([name, "%g" % setting, float(bits.mean()), float(payload.mean()),
                         float(mse.mean()), se(mse)])
    fig = _figure(PLOT_INCHES)
    ax = fig.add_subplot(1, 1, 1)
    ks = slice(None)
    ax.plot(rate.mean(axis=1)[ks], sampled.mean(axis=1)[ks], "o-", color="tab:blue",
            markersize=3, label="ConvDRAW, rest sampled from the prior")
    ax.plot(rate.mean(axis=1)[ks], mean.mean(axis=1)[ks], "s-", color="tab:cyan",
            markersize=3, label="ConvDRAW, rest at the prior's mean")
    for (name, points), color in zip(classical.items(), ("tab:red", "tab:green")):
        label = "JPEG" if name == "jpeg" else "JPEG2000"
        mse = [p[3].mean() for p in points]
        ax.plot([p[1].mean() for p in points], mse, "^-", color=color, markersize=3,
                label="%s, whole file" % label)
        ax.plot([p[2].mean() for p in points], mse, "v--", color=color, markersize=3,
                label="%s, without headers" % label)
    ax.set_xscale("log")
    ax.set_xlabel("bits per image")
    ax.set_ylabel("mean squared error (pixels in [0, 1])")
    ax.set_title("Lossy compression, %d test images" % n, fontsize=9)
    ax.legend(fontsize=6)
    fig.tight_layout()
    png, grid_png, data = (_path(out_dir, f) for f in ("codec.png", "codec_grid.png",
                                                       "codec.csv"))
    _save_figure(fig, png)
    _write_csv(data, ["method", "setting", "bits_per_image", "payload_bits_per_image",
                      "mse", "mse_se"], rows)
    # the grid: originals, ConvDRAW at k = T/2 (prior mean), the classical codecs at the
    # payload closest to that rate
    shown = images[:num_shown]
    k = model.num_steps // 2
    eps = latent_noise(model, len(shown), seed, ctx)
    eps[k:] = 0
    ours = mx.nd.sigmoid(model.trace(mx.nd.array(shown, ctx=eps.context), eps,
                                     posterior_steps=k)["logits"]).asnumpy()
    target = float(rate[k].mean())
    lines = [("original", shown), ("ConvDRAW k=%d: %.0f bits" % (k, target), ours)]
    for name, points in classical.items():
        setting, _, payload, _, decoded = min(points, key=lambda p: abs(p[2].mean() - target))
        lines.append(("%s %g: %.0f bits (%.0f with headers)" % (
            "JPEG" if name == "jpeg" else "JPEG2000", setting, payload.mean(),
            [p[1] for p in points if p[0] == setting][0].mean()), decoded[:num_shown]))
    grid = _figure((1.0 * len(shown) + 2.5, 1.1 * len(lines)), constrained=True)
    axes = grid.subplots(len(lines), len(shown), squeeze=False)
    for r, (label, pictures) in enumerate(lines):
        for c in range(len(shown)):
            ax = axes[r, c]
            ax.imshow(_display(np.clip(pictures[c], 0, 1)), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=7)
    _save_figure(grid, grid_png)
    return [png, grid_png, data]


def rate_distortion(model, images, out_dir, seed=0, batch_size=100, ctx=None):
    """Rate against distortion, one point per k = 0..T (the first k steps from the
    posterior, the rest from the prior): ``rate_distortion.png`` (``DPI * PLOT_INCHES``
    = 600 x 400 pixels) and ``rate_distortion.csv`` (k, mean rate and distortion in bits
    per image over ``images``, their standard errors). At k = T, rate + distortion is the
    negative ELBO.
    """
    rates, dists = [], []
    for b, start in enumerate(range(0, len(images), batch_size)):
        chunk = images[start:start + batch_size]
        _, r, d = compression_passes(model, chunk, latent_noise(model, len(chunk), seed + b, ctx))
        rates.append(r)
        dists.append(d)
    bits = 1 / np.log(2.0)
    rate, dist = np.concatenate(rates, axis=1) * bits, np.concatenate(dists, axis=1) * bits
    n = rate.shape[1]

    def se(v):
        return v.std(axis=1, ddof=1) / np.sqrt(n) if n > 1 else np.zeros(len(v))
    ks = np.arange(model.num_steps + 1)
    fig = _figure(PLOT_INCHES)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(rate.mean(axis=1), dist.mean(axis=1), "o-", color="tab:blue", markersize=4)
    for k, xr, yd in zip(ks, rate.mean(axis=1), dist.mean(axis=1)):
        ax.annotate("k=%d" % k, (xr, yd), textcoords="offset points", xytext=(4, 4),
                    fontsize=7)
    ax.set_xlabel("rate: KL of the first k steps (bits per image)")
    ax.set_ylabel("distortion: -log p(x | canvas) (bits per image)")
    ax.set_title("Rate and distortion, %d test images" % n, fontsize=9)
    fig.tight_layout()
    png, data = _path(out_dir, "rate_distortion.png"), _path(out_dir, "rate_distortion.csv")
    _save_figure(fig, png)
    _write_csv(data, ["k", "rate_bits", "rate_se", "distortion_bits", "distortion_se"],
               [[int(k), float(a), float(b), float(c), float(d)]
                for k, a, b, c, d in zip(ks, rate.mean(axis=1), se(rate),
                                         dist.mean(axis=1), se(dist))])
    return [png, data]
