"""Image grids, canvas-sequence strips and GIFs with attention boxes (NumPy + Pillow).

All functions take NumPy arrays in [0, 1] in NCHW layout and return or write uint8 RGB.
"""
import os

import numpy as np
from PIL import Image, ImageDraw


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


def sequence_strip(canvases, num_samples=8, num_frames=8):
    """Rows = samples, columns = canvases at evenly spaced steps (last step included).

    Parameters
    ----------
    canvases : ndarray, shape (T, n, C, H, W)

    Returns
    -------
    ndarray of uint8, shape (H', W', 3)
    """
    t = canvases.shape[0]
    frames = np.unique(np.linspace(0, t - 1, min(num_frames, t)).round().astype(int))
    picked = canvases[frames][:, :num_samples]              # (F, n, C, H, W)
    tiles = picked.transpose(1, 0, 2, 3, 4).reshape((-1,) + canvases.shape[2:])
    return make_grid(tiles, nrow=len(frames))


def save_png(path, image):
    """Write a uint8 (H, W, 3) array as PNG, atomically."""
    tmp = "%s.tmp-%d.png" % (path, os.getpid())
    Image.fromarray(image).save(tmp)
    os.replace(tmp, path)


def _boxes(draw, windows, write_size, nrow, h, w, scale, padding):
    """Draw one red rectangle per sample: the write grid's extent."""
    for i, (gx, gy, _, delta, _) in enumerate(windows):
        r, col = divmod(i, nrow)
        ox, oy = padding + col * (w + padding), padding + r * (h + padding)
        half = write_size * delta / 2.0
        # filter centres are 1-based pixel coordinates; pixel a covers [a-1, a) in the image
        x0, x1 = gx - 1 - half + 0.5, gx - 1 + half + 0.5
        y0, y1 = gy - 1 - half + 0.5, gy - 1 + half + 0.5
        box = [(ox + np.clip(x0, 0, w)) * scale, (oy + np.clip(y0, 0, h)) * scale,
               (ox + np.clip(x1, 0, w)) * scale - 1, (oy + np.clip(y1, 0, h)) * scale - 1]
        if box[2] > box[0] and box[3] > box[1]:
            draw.rectangle(box, outline=(255, 0, 0))


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
    t, n, _, h, w = canvases.shape
    nrow = nrow or int(np.ceil(np.sqrt(n)))
    frames = []
    for step in range(t):
        grid = make_grid(canvases[step], nrow=nrow, padding=padding)
        img = Image.fromarray(grid).resize((grid.shape[1] * scale, grid.shape[0] * scale),
                                           Image.NEAREST)
        if windows is not None:
            _boxes(ImageDraw.Draw(img), windows[step], write_size, nrow, h, w, scale, padding)
        frames.append(img)
    return frames


def save_gif(path, frames, duration=0.08, final_hold=1.0):
    """Write PIL frames as a looping animated GIF (the last frame held longer), atomically."""
    tmp = "%s.tmp-%d.gif" % (path, os.getpid())
    durations = [int(duration * 1000)] * (len(frames) - 1) + [int(final_hold * 1000)]
    frames[0].save(tmp, save_all=True, append_images=frames[1:], duration=durations, loop=0)
    os.replace(tmp, path)
