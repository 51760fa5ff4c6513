"""The model interface (draw/base.py) and the objectives (draw/objectives.py): every
preset is one of the interface's classes, the classifier's loss against NumPy, the
classifier trained by the same Trainer as the generative models (labels, error,
checkpoint, resume), the shared LSTM arithmetic, the environment object."""
import mxnet as mx
import numpy as np
import pytest

from draw import base, figures
from draw.batches import GeneratedImages
from draw.config import Environment, TrainConfig
from draw.evaluate import evaluate_mean
from draw.loss import ClassifierWithLoss
from draw.lstm import lstm_update
from draw.registry import PRESETS, get_model
from draw.rundir import RunDir
from draw.train import Trainer

from .helpers import tiny_classifier

SHAPE, T, N, U, K = (1, 20, 30), 3, 5, 12, 7  # not multiples of 8 or 16


def _classifier():
    return tiny_classifier(SHAPE, T, N, U, K)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_implements_the_interface(name):
    model = get_model(name)
    assert isinstance(model, base.Model) and model.kind == PRESETS[name][0]
    assert isinstance(model.display_name, str) and model.display_name
    assert all(callable(getattr(figures, f)) for f in model.figures)
    objective = model.objective()
    assert objective.model is model and objective.names
    assert len(objective.train_tags) == len(objective.names)
    if isinstance(model, base.GenerativeModel):
        assert objective.names == ("total", "reconstruction", "kl") and not objective.labelled
        assert len(model.latent_shape()) in (1, 3)
    else:
        assert isinstance(model, base.Classifier)
        assert objective.names == ("loss", "error") and objective.labelled
    assert model.upgrade_parameters({}) == ""


def test_check_sizes():
    assert base.check_sizes([1, 28, 28], num_steps=3) == (1, 28, 28)
    with pytest.raises(ValueError, match=r"image_shape must be \(C, H, W\)"):
        base.check_sizes((28, 28))
    with pytest.raises(ValueError, match="num_steps must be positive, got 0"):
        base.check_sizes((1, 28, 28), num_steps=0)
    with pytest.raises(ValueError, match="width must be positive, got 0"):
        base.check_sizes((1, 28, 0))


def test_lstm_update_against_numpy():
    rs = np.random.RandomState(0)
    i, f, g, o, c = (rs.normal(size=(3, 5)) for _ in range(5))
    h2, c2 = lstm_update(mx.nd, *(mx.nd.array(v) for v in (i, f, g, o, c)))

    def sig(v):
        return 1 / (1 + np.exp(-v))
    want_c = sig(f) * c + sig(i) * np.tanh(g)
    np.testing.assert_allclose(c2.asnumpy(), want_c, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h2.asnumpy(), sig(o) * np.tanh(want_c), rtol=1e-5, atol=1e-6)


def test_classifier_loss_against_numpy():
    net = _classifier()
    block = ClassifierWithLoss(net)
    x = np.random.RandomState(1).uniform(size=(6,) + SHAPE).astype(np.float32)
    y = np.array([0, 1, 2, 3, 4, 6])
    loss, error = block(mx.nd.array(x), mx.nd.array(y))
    logits = net(mx.nd.array(x))[0].asnumpy().astype(np.float64)
    log_p = logits - logits.max(1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(1, keepdims=True))
    np.testing.assert_allclose(loss.asnumpy(), -log_p[np.arange(6), y], rtol=1e-5)
    np.testing.assert_array_equal(error.asnumpy(), logits.argmax(1) != y)
    block.hybridize()
    hybrid = block(mx.nd.array(x), mx.nd.array(y))
    np.testing.assert_allclose(hybrid[0].asnumpy(), loss.asnumpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(hybrid[1].asnumpy(), error.asnumpy())


def test_evaluate_mean_over_labelled_batches():
    net = _classifier()
    block = ClassifierWithLoss(net)
    rs = np.random.RandomState(2)
    x = mx.nd.array(rs.uniform(size=(7,) + SHAPE))
    y = mx.nd.array(rs.randint(0, K, size=7))
    got = evaluate_mean(block, (x, y), 3, [mx.cpu()], ("loss", "error"))  # 3 + 3 + 1
    loss, error = block(x, y)
    assert got["loss"] == pytest.approx(float(loss.mean().asscalar()), rel=1e-5)
    assert got["error"] == pytest.approx(float(error.mean().asscalar()))


def test_the_trainer_trains_a_classifier(tmp_path):
    """The classifier through the generative models' Trainer: labelled batches, loss
    and error logged, validation error, a checkpoint that resumes exactly."""
    rs = np.random.RandomState(3)
    y = rs.randint(0, 2, size=60)
    x = np.zeros((60,) + SHAPE, np.float32)  # class 1: a bright square on the right
    x[y == 1, :, 5:12, 18:26] = 1
    x += rs.uniform(0, 0.2, size=x.shape).astype(np.float32)
    data = (mx.nd.array(x), mx.nd.array(y))
    cfg = TrainConfig(batch_size=10, max_steps=12, learning_rate=3e-3, num_val=20,
                      log_every=1, hist_every=0, checkpoint_every=6,
                      checkpoint_each_epoch=False)
    net = _classifier()
    trainer = Trainer(net, data, data, cfg, [mx.cpu()], RunDir(str(tmp_path)))
    before = trainer.validate()
    result = trainer.fit(progress=False)
    assert set(result) == {"loss", "error"} and 0 <= result["error"] <= 1
    assert result["loss"] < before["loss"]
    assert len(trainer.val_images) == 20
    # resume from step 6 reaches the same parameters as the uninterrupted run
    again = _classifier()
    resumed = Trainer(again, data, data, cfg, [mx.cpu()], RunDir(str(tmp_path)))
    state = RunDir(str(tmp_path)).load_checkpoint(again, resumed.updater, step=6)
    resumed.restore_state(state)
    # the interrupted run's own order: replay the remaining steps only
    resumed.fit(progress=False)
    for (k, p), q in zip(net.collect_params().items(), again.collect_params().values()):
        np.testing.assert_array_equal(p.data().asnumpy(), q.data().asnumpy(), err_msg=k)


class _Recorded(GeneratedImages):
    """Generated training images that remember which epochs were asked for."""

    def __init__(self, images):
        self.images, self.shape, self.epochs = images, images.shape, set()

    def take(self, epoch, indices):
        self.epochs.add(epoch)
        return mx.nd.array(self.images[indices])


@pytest.mark.parametrize("start, epochs", [(0, {0, 1}), (12, {2, 3}), (13, {3, 4})])
def test_a_continued_schedule_continues_the_generated_images(tmp_path, start, epochs):
    """A run that continues another's schedule (--lr_schedule_start S, 6 updates an
    epoch here) draws the generated images (cluttered MNIST's fresh clutter) from the
    first epoch the lost run had not begun, not epoch 0 again; fixed images keep
    their order."""
    rs = np.random.RandomState(4)
    x, y = rs.uniform(size=(60,) + SHAPE).astype(np.float32), mx.nd.array(rs.randint(0, K, 60))
    cfg = TrainConfig(batch_size=10, max_steps=8, lr_schedule_start=start, num_val=10,
                      log_every=4, hist_every=0, checkpoint_every=0,
                      checkpoint_each_epoch=False, val_each_epoch=False)
    images = _Recorded(x)
    trainer = Trainer(_classifier(), (images, y), (mx.nd.array(x), y), cfg, [mx.cpu()],
                      RunDir(str(tmp_path / "generated")))
    trainer.fit(progress=False)
    assert images.epochs == epochs and trainer.data_epochs_before == min(epochs)
    assert Trainer(_classifier(), (mx.nd.array(x), y), (mx.nd.array(x), y), cfg,
                   [mx.cpu()], RunDir(str(tmp_path / "fixed"))).data_epochs_before == 0


class _Scalars:
    """A stand-in for mxboard's SummaryWriter that keeps the scalars."""

    def __init__(self):
        self.scalars = {}

    def add_scalar(self, tag, value, step):
        self.scalars.setdefault(tag, {})[step] = value

    def __getattr__(self, name):  # images, histograms, flush: nothing to keep
        return lambda *args, **kwargs: None


def test_logged_training_values_are_means_over_the_window(tmp_path):
    """train/* at a logged step is the mean over all the examples since the previous
    one (not one batch), and a run resumed mid-window logs the same numbers."""
    rs = np.random.RandomState(5)
    data = (mx.nd.array(rs.uniform(size=(60,) + SHAPE)), mx.nd.array(rs.randint(0, K, 60)))

    def run(log_every, path, resume_at=None):
        cfg = TrainConfig(batch_size=10, max_steps=12, learning_rate=3e-3, num_val=20,
                          log_every=log_every, hist_every=0, checkpoint_every=6,
                          checkpoint_each_epoch=False, val_each_epoch=False)
        mx.random.seed(0)
        net, writer = _classifier(), _Scalars()
        trainer = Trainer(net, data, data, cfg, [mx.cpu()], RunDir(str(path)))
        if resume_at:
            trainer.restore_state(RunDir(str(path)).load_checkpoint(
                net, trainer.updater, step=resume_at))
        trainer.fit(writer=writer, progress=False)
        return writer.scalars

    every_step = run(1, tmp_path / "a")["train/loss"]
    assert sorted(every_step) == list(range(1, 13))
    windowed = run(4, tmp_path / "b")
    for tag in ("train/loss", "train/error"):
        assert sorted(windowed[tag]) == [4, 8, 12]
    for end in (4, 8, 12):  # equal batches: the mean of the batch means
        assert windowed["train/loss"][end] == pytest.approx(
            np.mean([every_step[s] for s in range(end - 3, end + 1)]), rel=1e-9)
    resumed = run(4, tmp_path / "b", resume_at=6)  # the window of step 8 began at 5
    for tag in ("train/loss", "train/error"):
        assert resumed[tag] == {s: windowed[tag][s] for s in (8, 12)}


def test_environment_defaults():
    env = Environment()
    assert env.devices() == [mx.cpu()] and env.progress and env.data_dir is None
    two = env.replace(contexts=(mx.cpu(0), mx.cpu(1)), progress=False)
    assert two.devices() == [mx.cpu(0), mx.cpu(1)] and not two.progress
