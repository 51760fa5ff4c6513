"""Every documented size trains on every CPU (issue: oneDNN blocked layouts).

oneDNN stores activations and gradients in blocks of 8 (AVX2) or 16 (AVX-512) channels.
An operator that cuts such a tensor at a channel offset that is not a multiple of the
block fails or kills the process, so the sizes below are chosen off those multiples.
Each configuration is one forward + backward + Adam step, imperative and hybridized, in
a subprocess (:mod:`tests.sweep`), so that a crash names its configuration.
"""
import itertools
import json

import pytest

from .conftest import run_script

HIDDEN_MAPS = (4, 8, 12, 24, 40)
LATENT_MAPS = (1, 3, 8)
KERNELS = (3, 5, 7)
IMAGE_SHAPES = ((1, 28, 28), (1, 20, 28))


def run_sweep(configs):
    """Run the configurations; returns their results, failing with the crashed one named."""
    proc = run_script(["-m", "tests.sweep", json.dumps(configs)], timeout=900)
    results = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0:
        done = len(results)
        crashed = configs[done // 2]
        pytest.fail("exit %d after %d of %d runs, in %s (%s):\n%s"
                    % (proc.returncode, done, 2 * len(configs), json.dumps(crashed),
                       "hybridized" if done % 2 else "imperative", proc.stderr[-2000:]))
    assert len(results) == 2 * len(configs)
    for r in results:
        assert r["finite"] and r["changed"], r
    return results


@pytest.mark.parametrize("hidden_maps", HIDDEN_MAPS)
def test_convdraw_trains_for_every_size(hidden_maps):
    configs = [{"kind": "convdraw", "batch": 3,
                "model": dict(image_shape=list(shape), num_steps=2, num_latent_maps=latent,
                              num_recurrent_maps=hidden_maps, encoder_maps=16, kernel_size=k)}
               for latent, k, shape in itertools.product(LATENT_MAPS, KERNELS, IMAGE_SHAPES)]
    results = run_sweep(configs)
    # imperative and hybridized give the same loss (the same seed and input)
    for imp, hyb in zip(results[::2], results[1::2]):
        assert hyb["loss"] == pytest.approx(imp["loss"], rel=1e-5), imp["model"]


def test_draw_trains_for_sizes_off_the_blocks():
    configs = [{"kind": "draw", "batch": 5,
                "model": dict(image_shape=list(shape), num_steps=3, num_recurrent_units=100,
                              latent_dim=7, read_size=3, write_size=12, attention=attention)}
               for attention, shape in itertools.product((True, False), IMAGE_SHAPES)]
    run_sweep(configs)
