"""Image grids, canvas strips, GIF frames with attention boxes."""
import numpy as np
import pytest
from PIL import Image

from draw import visualize


def test_make_grid_layout_and_values():
    images = np.zeros((5, 1, 2, 3), dtype=np.float32)
    images[1] = 1.0
    grid = visualize.make_grid(images, nrow=3, padding=1, pad_value=0.5)
    assert grid.shape == (2 * 3 + 1, 3 * 4 + 1, 3) and grid.dtype == np.uint8
    assert (grid[0] == 128).all() and (grid[:, 0] == 128).all()      # padding
    assert (grid[1:3, 5:8] == 255).all()                                # image 1 (row 0, col 1)
    assert (grid[1:3, 1:4] == 0).all()                                  # image 0
    assert (grid[4:6, 9:12] == 128).all()                               # empty sixth cell
    rgb = np.random.RandomState(0).uniform(size=(4, 3, 2, 2))
    assert visualize.make_grid(rgb).shape == (7, 7, 3)                  # 2x2 by default
    with pytest.raises(ValueError, match="1 or 3 channels"):
        visualize.make_grid(np.zeros((1, 2, 4, 4)))


def test_sequence_strip_rows_are_samples_columns_are_steps():
    t, n = 16, 10
    canvases = np.zeros((t, n, 1, 2, 2), dtype=np.float32)
    for step in range(t):
        canvases[step] = step / (t - 1)
    strip = visualize.sequence_strip(canvases, num_samples=8, num_frames=8)
    assert strip.shape == (8 * 3 + 1, 8 * 3 + 1, 3)
    first, last = strip[1, 1:3, 0], strip[1, 22:24, 0]
    assert (first == 0).all() and (last == 255).all()                  # step 0 ... step T-1


def test_canvas_frames_draw_the_write_window(tmp_path):
    t, n, h, w = 3, 4, 10, 10
    canvases = np.zeros((t, n, 1, h, w), dtype=np.float32)
    canvases[:, :, :, 8:, 8:] = np.arange(t).reshape(t, 1, 1, 1, 1) / t  # frames differ
    # write window of a 2x2 grid centred at pixel (5, 5), stride 2: a 4-pixel box
    windows = np.tile(np.array([5.0, 5.0, 0.0, 2.0, 1.0]), (t, n, 1))
    frames = visualize.canvas_frames(canvases, windows, write_size=2, scale=2)
    assert len(frames) == t and frames[0].size == (2 * (2 * 11 + 1), 2 * (2 * 11 + 1))
    rgb = np.asarray(frames[0].convert("RGB"))
    red = (rgb[..., 0] == 255) & (rgb[..., 1] == 0) & (rgb[..., 2] == 0)
    assert red.any()
    ys, xs = np.nonzero(red[:24, :24])                                  # sample 0's cell
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (2 * (1 + 2.5), 2 * (1 + 6.5) - 1,
                                                        2 * (1 + 2.5), 2 * (1 + 6.5) - 1)
    plain = visualize.canvas_frames(canvases)
    assert not (np.asarray(plain[0].convert("RGB"))[..., 1] == 0).all()
    path = str(tmp_path / "a.gif")
    visualize.save_gif(path, frames)
    gif = Image.open(path)
    assert gif.format == "GIF" and gif.n_frames == t
    png = str(tmp_path / "a.png")
    visualize.save_png(png, visualize.make_grid(canvases[-1]))
    assert Image.open(png).size == (2 * 11 + 1, 2 * 11 + 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.gif", "a.png"]  # no temp files
