"""Image grids, canvas-sequence strips and GIFs with attention boxes (NumPy + Pillow).

All functions take NumPy arrays in [0, 1] in NCHW layout and return or write uint8 RGB.
"""

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .files import atomic_write


def make_grid(images, nrow=None, padding=1, pad_value=0.5):
    """Tile images into one picture.

    Parameters
    ----------
    images : ndarray, shape (n, C, H, W), values in [0, 1]; C is 1 or 3
    nrow : int, optional
        Images per row (default: ceil(sqrt(n))).

    Returns
    -------
    ndarray of uint8, shape (rows*(H+p)+p, nrow*(W+p)+p, 3)
    """
    images = np.asarray(images, dtype=np.float32)
    n, c, h, w = images.shape
    if c == 1:
        images = np.repeat(images, 3, axis=1)
    elif c != 3:
        raise ValueError("images need 1 or 3 channels, got %d" % c)
    nrow = nrow or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / nrow))
    grid = np.full((3, rows * (h + padding) + padding, nrow * (w + padding) + padding),
                   pad_value, dtype=np.float32)
    for i in range(n):
        r, col = divmod(i, nrow)
        y, x = padding + r * (h + padding), padding + col * (w + padding)
        grid[:, y:y + h, x:x + w] = images[i]
    return (np.clip(grid, 0, 1) * 255 + 0.5).astype(np.uint8).transpose(1, 2, 0)


def selected_steps(num_steps, count):
    """``count`` (or all ``num_steps`` if fewer) evenly spaced 0-based step indices,
    the first and the last included, as an int ndarray."""
    return np.unique(np.linspace(0, num_steps - 1, min(count, num_steps)).round().astype(int))


def sequence_strip(canvases, num_samples=8, num_frames=8):
    """Rows = samples, columns = canvases at evenly spaced steps (last step included).

    Parameters
    ----------
    canvases : ndarray, shape (T, n, C, H, W)

    Returns
    -------
    ndarray of uint8, shape (H', W', 3)
    """
    frames = selected_steps(canvases.shape[0], num_frames)
    picked = canvases[frames][:, :num_samples]              # (F, n, C, H, W)
    tiles = picked.transpose(1, 0, 2, 3, 4).reshape((-1,) + canvases.shape[2:])
    return make_grid(tiles, nrow=len(frames))


def save_png(path, image):
    """Write a uint8 (H, W, 3) array as PNG, atomically."""
    atomic_write(path, lambda tmp: Image.fromarray(image).save(tmp, format="PNG"))


def window_box(window, glimpses):
    """The image-space extent of an attention window, for drawing.

    Parameters
    ----------
    window : sequence ``[gx, gy, log sigma^2, delta, gamma]`` (see :mod:`draw.attention`)
    glimpses : int
        N of the window's grid.

    Returns
    -------
    (x0, y0, x1, y1) in pixel units from the image's top-left corner: the N x N filter
    centres ``g + (i - N/2 - 0.5) delta`` (1-based pixel coordinates; pixel a covers
    [a - 1, a)) widened by half a stride on each side, so the box spans ``N delta``.
    """
    gx, gy, _, delta = (float(v) for v in window[:4])
    half = glimpses * delta / 2.0
    return gx - 0.5 - half, gy - 0.5 - half, gx - 0.5 + half, gy - 0.5 + half


def boxed_grid(images, windows=None, glimpses=None, nrow=None, scale=2, padding=1,
               color=(255, 0, 0)):
    """A grid of images (:func:`make_grid`) enlarged ``scale`` times, with one attention
    box per image.

    Parameters
    ----------
    images : ndarray, shape (n, C, H, W), values in [0, 1]
    windows : ndarray, shape (n, 5), optional
        One window per image (:func:`window_box`); boxes are clipped to their image.
    glimpses : int
        N of the windows (needed with ``windows``).

    Returns
    -------
    PIL.Image of size ``(scale * (nrow (W + p) + p), scale * (rows (H + p) + p))``.
    """
    n, _, h, w = images.shape
    nrow = nrow or int(np.ceil(np.sqrt(n)))
    grid = make_grid(images, nrow=nrow, padding=padding)
    img = Image.fromarray(grid).resize((grid.shape[1] * scale, grid.shape[0] * scale),
                                       Image.NEAREST)
    if windows is None:
        return img
    draw = ImageDraw.Draw(img)
    for i, window in enumerate(windows):
        r, col = divmod(i, nrow)
        ox, oy = padding + col * (w + padding), padding + r * (h + padding)
        x0, y0, x1, y1 = window_box(window, glimpses)
        box = [(ox + np.clip(x0, 0, w)) * scale, (oy + np.clip(y0, 0, h)) * scale,
               (ox + np.clip(x1, 0, w)) * scale - 1, (oy + np.clip(y1, 0, h)) * scale - 1]
        if box[2] > box[0] and box[3] > box[1]:
            draw.rectangle(box, outline=color)
    return img


#: height in pixels of the label strip :func:`column_labels` adds above a grid
LABEL_HEIGHT = 14


def column_labels(image, labels, tile_width, padding=1, scale=2):
    """``image`` (a PIL grid of :func:`boxed_grid`) with a strip of :data:`LABEL_HEIGHT`
    pixels on top holding ``labels[i]`` centred over column ``i`` (e.g. the step each
    column shows). ``tile_width`` is the grid's image width W before ``scale``."""
    out = Image.new("RGB", (image.width, image.height + LABEL_HEIGHT), (255, 255, 255))
    out.paste(image, (0, LABEL_HEIGHT))
    draw = ImageDraw.Draw(out)
    font = ImageFont.load_default()
    for col, text in enumerate(labels):
        centre = (padding + col * (tile_width + padding) + tile_width / 2.0) * scale
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        draw.text((centre - (right - left) / 2.0, (LABEL_HEIGHT - (bottom - top)) / 2.0 - top),
                  text, fill=(0, 0, 0), font=font)
    return out


def canvas_frames(canvases, windows=None, write_size=None, nrow=None, scale=2, padding=1):
    """One RGB frame per step: the grid of canvases, optionally with write boxes.

    Parameters
    ----------
    canvases : ndarray, shape (T, n, C, H, W)
    windows : ndarray, shape (T, n, 5), optional
        ``[gx, gy, log sigma^2, delta, gamma]`` of each write (see draw.attention).
    write_size : int
        N of the write grid (needed with ``windows``).

    Returns
    -------
    list of PIL.Image
    """
    return [boxed_grid(canvases[t], None if windows is None else windows[t], write_size,
                       nrow=nrow, scale=scale, padding=padding)
            for t in range(canvases.shape[0])]


def save_gif(path, frames, duration=0.08, final_hold=1.0):
    """Write PIL frames as a looping animated GIF (the last frame held longer), atomically."""
    durations = [int(duration * 1000)] * (len(frames) - 1) + [int(final_hold * 1000)]
    atomic_write(path, lambda tmp: frames[0].save(
        tmp, format="GIF", save_all=True, append_images=frames[1:], duration=durations,
        loop=0))
