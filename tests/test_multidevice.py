"""Several contexts: one update on 2 CPU contexts equals one update on 1 context."""
import mxnet as mx
import numpy as np

from draw.model import DRAW
from draw.train import Trainer


def _deterministic_draw():
    """A tiny DRAW whose posterior sigma is ~exp(-30), so the sampled noise has no effect
    and two runs with different random streams must agree."""
    model = DRAW(image_shape=(1, 12, 10), num_steps=3, num_recurrent_units=8, latent_dim=3,
                 read_size=2, write_size=3)
    model.initialize(mx.init.Xavier())
    model(mx.nd.zeros((2, 1, 12, 10)))  # finish deferred initialisation
    w = model.posterior.weight.data().copy()
    w[3:] = 0
    b = model.posterior.bias.data().copy()
    b[3:] = -30
    model.posterior.weight.set_data(w)
    model.posterior.bias.set_data(b)
    return model


def test_two_contexts_match_one(tmp_path):
    mx.random.seed(0)
    model = _deterministic_draw()
    start = {k: v.data().copy() for k, v in model.collect_params().items()}
    images = mx.nd.array((np.random.RandomState(0).uniform(size=(16, 1, 12, 10)) > 0.6)
                         .astype(np.uint8), dtype="uint8")
    x = images[:8].astype("float32")
    results = []
    for ctxs in ([mx.cpu(0)], [mx.cpu(0), mx.cpu(1)]):
        model.collect_params().reset_ctx(ctxs)
        for k, p in model.collect_params().items():
            p.set_data(start[k])
        trainer = Trainer(model, images, images, dict(batch_size=8, learning_rate=0.01),
                          ctxs, str(tmp_path))
        trainer.step(x)
        results.append({k: p.data(mx.cpu(0)).asnumpy() for k, p in
                        model.collect_params().items()})
        if len(ctxs) == 2:  # both devices hold the same updated parameters
            for p in model.collect_params().values():
                np.testing.assert_array_equal(p.data(mx.cpu(0)).asnumpy(),
                                              p.data(mx.cpu(1)).asnumpy())
    changed = 0
    for k in results[0]:
        np.testing.assert_allclose(results[0][k], results[1][k], rtol=1e-4, atol=1e-6, err_msg=k)
        changed += not np.allclose(results[0][k], start[k].asnumpy())
    assert changed > 10
