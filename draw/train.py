"""The training loop shared by every model (DRAW, ConvDRAW, the classifier).

A model plugs in through the interface of :mod:`draw.base`: the trainer minimises the
first value of its objective's block (:meth:`draw.base.Model.objective`,
:mod:`draw.objectives`), reports all of them, and logs the objective's images at each
validation. :func:`write_samples` draws a :class:`draw.base.GenerativeModel`'s samples.

The trainer owns devices, data order, logging (mxboard + tqdm) and checkpoints; the
models stay pure blocks.
"""
import logging
import os
import signal
import threading
import time

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon

from . import precision, runtime, schedule
from .batches import BatchIterator, GeneratedImages, take_subset
from .distributed import create_kvstore, worker_batch
from .evaluate import EvaluationStopped, evaluate_mean
from .visualize import boxed_grid, canvas_frames, save_gif, save_png
from .errors import TrainingError, UsageError

log = logging.getLogger("draw")

def _rng_seed(seed, step, rank=0, stream=0):
    """MXNet seed of global step ``step`` (reseeded before every step, so that any
    checkpoint resumes the same noise); each worker of a distributed run has its own
    stream, and ``stream=1`` is the validation's (the same numbers at a step however the
    run got there)."""
    return (int(seed) * 7919 + int(step) * 104729 + int(rank) * 1000003 + int(stream) * 65537
            + 17) % (2 ** 31)


def param_digest(model):
    """sha256 of all parameter values (hex, first 16 digits): equal on every worker of a
    synchronous distributed run."""
    import hashlib
    h = hashlib.sha256()
    for name, p in sorted(model.collect_params().items()):
        h.update(name.encode())
        h.update(p.data(p.list_ctx()[0]).asnumpy().tobytes())
    return h.hexdigest()[:16]


def global_norm(arrays):
    """L2 norm of a list of NDArrays, as a 1-element NDArray (no host sync)."""
    return mx.nd.sqrt(mx.nd.add_n(*[mx.nd.square(a.norm()) for a in arrays]))


class Trainer:
    """Train ``model`` on ``train_data``, validating on ``val_data``.

    Parameters
    ----------
    model : draw.base.Model
        Already initialised or loaded on ``ctxs``; what is minimised and reported is its
        :meth:`~draw.base.Model.objective`.
    train_data, val_data : NDArray, shape (N, C, H, W), on CPU; or ``(images, labels)``
        Images, with their labels (NDArray (N,)) when the objective is labelled.
    cfg : TrainConfig
    ctxs : list of Context
        Devices; each global batch is split across them.
    run_dir : draw.rundir.RunDir
        Where checkpoints go.
    state : dict, optional
        Counters of a checkpoint to resume from (``step``, ``epoch``, ``batch``).
    kvstore : KVStore, str or None, optional
        From :func:`draw.distributed.create_kvstore`; by default it is made there from
        ``cfg.kvstore`` and the number of devices. A distributed kvstore makes this one
        worker of several: it trains on its shard ``train_data[rank::num_workers]`` with
        ``batch_size / num_workers`` examples per step, and only rank 0 writes
        checkpoints.

    Raises
    ------
    draw.errors.UsageError
        Settings that contradict the data or the devices: a batch not divisible by the
        workers, a learning-rate schedule that does not fit the run's length.
    """

    def __init__(self, model, train_data, val_data, cfg, ctxs, run_dir, state=None,
                 kvstore="default"):
        self.cfg = cfg
        self.model = model
        self.ctxs = ctxs
        self.run_dir = run_dir
        if kvstore == "default":
            kvstore, _, _ = create_kvstore(cfg.kvstore, len(ctxs))
        self.rank = getattr(kvstore, "rank", 0)  # a local type name or None: 0 of 1
        self.num_workers = getattr(kvstore, "num_workers", 1)
        batch = worker_batch(cfg.batch_size, self.num_workers)
        self.objective = model.objective()
        self.net = self.objective.block()
        self.net.hybridize(static_alloc=True, static_shape=True)
        train = train_data if isinstance(train_data, tuple) else (train_data,)
        if self.num_workers > 1 and isinstance(train[0], GeneratedImages):
            raise UsageError("training images generated every epoch (cluttered MNIST) are "
                             "not split over the workers of a distributed run yet")
        if self.num_workers > 1:
            n = len(train[0]) - len(train[0]) % self.num_workers  # equal shards
            train = tuple(mx.nd.slice(a, begin=(self.rank,), end=(n,),
                                      step=(self.num_workers,)) for a in train)
        self.train_iter = BatchIterator(train[0], batch, shuffle=True, seed=cfg.seed,
                                        binarize=cfg.binarize,
                                        labels=train[1] if len(train) > 1 else None)
        #: Epochs of generated training images that a run continuing another's schedule
        #: (``lr_schedule_start``) skips: the lost run saw those, so this one goes on with
        #: the next unseen epoch (its own epoch 0 draws the images of epoch
        #: ceil(lr_schedule_start / steps per epoch)). Fixed images keep their order.
        self.data_epochs_before = (-(-cfg.lr_schedule_start // len(self.train_iter))
                                   if isinstance(train[0], GeneratedImages) else 0)
        self.full_val_data = val_data
        # a subset spread over the split (Omniglot's test split is ordered by alphabet)
        self.val_data = tuple(take_subset(a, cfg.num_val) for a in val_data) \
            if isinstance(val_data, tuple) else take_subset(val_data, cfg.num_val)
        try:  # the checks that need the run's length
            schedule.check(cfg, len(self.train_iter))
        except ValueError as e:
            raise UsageError(str(e)) from None
        self._last_eval = (None, None)
        self._last_checkpoint = None
        #: the gluon.Trainer that applies Adam
        self.updater = gluon.Trainer(
            model.collect_params(), "adam",
            {"learning_rate": cfg.learning_rate, "beta1": cfg.beta1, "beta2": cfg.beta2},
            kvstore=kvstore, update_on_kvstore=False if kvstore else None)
        if precision.loss_scaled():  # float16: AMP's dynamic loss scaling
            from mxnet.contrib import amp
            amp.init_trainer(self.updater)
        self._trained_params = [p for p in model.collect_params().values()
                                if p.grad_req != "null"]
        self.state = dict(step=0, epoch=0, batch=0, seed=cfg.seed, nonfinite=0)
        self.interrupted = None
        self.writer = None
        self._signals = None
        self._bar = None
        self._tick = None
        self._clock_restarted = False
        self._consecutive_nonfinite = 0
        #: sums of the objective's values over the finite steps since the last logged
        #: step (float64 NDArrays on the CPU, summed without a host sync) and how many
        #: examples they hold: the logged ``train/*`` values are their means
        self._window = None
        self._window_examples = 0
        if state:
            self.restore_state(state)

    @property
    def val_images(self):
        """The images of the periodic validation (without their labels)."""
        return self.val_data[0] if isinstance(self.val_data, tuple) else self.val_data

    def restore_state(self, state):
        """Continue from a checkpoint's state JSON: counters and NumPy's global RNG."""
        self.state.update({k: state[k] for k in ("step", "epoch", "batch", "nonfinite")
                           if k in state})
        window = state.get("log_window")  # absent in checkpoints before it was saved
        if window and window["examples"]:
            self._window = [mx.nd.array([v], ctx=mx.cpu(), dtype="float64")
                            for v in window["sums"]]
            self._window_examples = int(window["examples"])
        if state.get("numpy_rng"):
            name, keys, pos, has_gauss, cached = state["numpy_rng"]
            np.random.set_state((name, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))

    # ------------------------------------------------------------------ one step
    def step(self, batch):
        """One update on the global batch ``batch`` (images, or ``(images, labels)``).

        Returns ``(values, norm, finite)``: per-context tuples of the objective's
        per-example values (NDArrays, shape (B_i,); for the variational bound ``(total,
        reconstruction, kl)``), the global gradient norm of the mean loss before clipping
        (float) and whether loss and gradients were finite. A non-finite step changes
        nothing: no parameter or optimizer state is updated.

        This waits for the backward pass (one scalar copied to the host): the gradient
        norm decides both the clipping scale and whether to update at all.
        """
        parts = batch if isinstance(batch, tuple) else (batch,)
        loaded = [gluon.utils.split_and_load(a, self.ctxs, even_split=False) for a in parts]
        with autograd.record():
            losses = [self.net(*args) for args in zip(*loaded)]
        scale = self._backward([values[0] for values in losses])
        self.updater.allreduce_grads()  # sums over devices and workers
        size = parts[0].shape[0] * self.num_workers
        params = self._trained_params
        ctx0 = self.ctxs[0]
        norm = global_norm([p.grad(ctx0) for p in params]) / (size * scale)
        # one host sync for the norm and the summed loss (a non-finite loss shows there)
        loss_sum = mx.nd.add_n(*[values[0].sum().as_in_context(ctx0) for values in losses])
        norm, loss_sum = (float(v) for v in mx.nd.concat(norm, loss_sum, dim=0).asnumpy())
        if not (np.isfinite(norm) and np.isfinite(loss_sum)):
            if scale != 1:  # float16: AMP's scaler sees the overflow, halves its scale
                self.updater.update(size)  # and skips the update
            return losses, float("nan"), False
        clip = self.cfg.clip_gradient
        if clip and clip > 0 and norm > clip:
            scale = clip / (norm + 1e-6)
            for ctx in self.ctxs:
                for p in params:
                    g = p.grad(ctx)
                    g *= scale
        self.updater.update(size)
        return losses, norm, True

    def _backward(self, heads):
        """Gradients of the summed ``heads`` (per-context losses); returns the factor
        they are scaled by: 1, or AMP's loss scale with float16, where the loss is
        multiplied by it before the backward pass (so that small gradients survive in
        float16) and the update divides it out again (``amp.scale_loss``)."""
        if not precision.loss_scaled():
            autograd.backward(heads)
            return 1.0
        from mxnet.contrib import amp
        with amp.scale_loss(heads, self.updater) as scaled:
            autograd.backward(scaled)
        return float(self.updater._amp_loss_scaler.loss_scale)

    # ------------------------------------------------------------------ loop
    def fit(self, writer=None, progress=True):
        """Train until ``epochs`` epochs or ``max_steps`` updates.

        Each step is followed by the periodic actions (:meth:`_after_step`: log
        scalars every ``log_every`` steps, histograms every ``hist_every``, validate
        every ``val_every``, checkpoint every ``checkpoint_every``); each epoch by
        :meth:`_end_epoch` (validation with ``val_each_epoch``, a checkpoint with
        ``checkpoint_each_epoch``); the run by :meth:`finish` (final validation, on the
        whole validation set too when ``num_val`` limits the periodic ones, logged as
        ``val_full/*``, and a checkpoint).

        SIGINT and SIGTERM (in the main thread) finish the current step, write a
        checkpoint and return early with :attr:`interrupted` set to the signal's name.
        A step with a non-finite loss or gradient is skipped (counted in
        ``state['nonfinite']``); after ``max_nonfinite`` consecutive ones,
        :class:`TrainingError` is raised and no checkpoint is written.

        Parameters
        ----------
        writer : mxboard SummaryWriter or None
            Where scalars, histograms and images go (kept as :attr:`writer`).
        progress : bool
            A tqdm bar (else a log line every ``log_every`` steps).

        Returns
        -------
        dict or None
            The final validation result (nats), or None when interrupted.
        """
        cfg, st = self.cfg, self.state
        log.info("%s; contexts: %s%s; %d train / %d val images; batch %d; %d "
                 "steps/epoch; %s; learning rate: %s%s",
                 runtime.THREADS_NOTE or "OpenMP threads: MXNet default", self.ctxs,
                 "; worker %d of %d" % (self.rank, self.num_workers)
                 if self.num_workers > 1 else "",
                 len(self.train_iter.images), len(self.val_images), cfg.batch_size,
                 len(self.train_iter), precision.dtype(),
                 schedule.describe(cfg, len(self.train_iter)),
                 "; training images of epoch %d on (the continued schedule's)"
                 % self.data_epochs_before if self.data_epochs_before else "")
        self.writer = writer
        self.interrupted = None
        self._bar = _progress_bar(progress, total=cfg.max_steps or cfg.epochs * len(
            self.train_iter), initial=st["step"])
        self._tick = (time.time(), st["step"])
        with _StopSignals() as stop:
            self._signals = stop
            try:
                while not self.done() and not stop.signal:
                    self._train_epoch(stop)
                if not stop.signal:
                    return self.finish()
            except EvaluationStopped:  # a signal during a validation pass
                pass
            finally:
                self._bar.close()
                self._signals = None
            self._stop(stop.signal)
            return None

    def learning_rate(self, update):
        """The rate of update ``update`` (1-based), :func:`draw.schedule.learning_rate`."""
        return schedule.learning_rate(self.cfg, update, len(self.train_iter))

    def done(self):
        """Whether training reached ``epochs`` or ``max_steps``."""
        cfg, st = self.cfg, self.state
        return st["epoch"] >= cfg.epochs or bool(cfg.max_steps and st["step"] >= cfg.max_steps)

    def _train_epoch(self, stop):
        """The rest of the current epoch (from ``state['batch']``), or up to a signal or
        ``max_steps``."""
        st = self.state
        for x in self.train_iter.epoch(st["epoch"] + self.data_epochs_before,
                                       start=st["batch"]):
            mx.random.seed(_rng_seed(self.cfg.seed, st["step"], self.rank))
            self.updater.set_learning_rate(self.learning_rate(st["step"] + 1))
            losses, norm, finite = self.step(x)
            if finite:
                self._accumulate(losses)
            st["step"] += 1
            st["batch"] += 1
            self._bar.update(1)
            if not self._clock_restarted:  # the process's first step built the graph:
                _restart_clock(self._bar)      # the ETA counts from the second
                self._clock_restarted = True
            self._guard(finite)
            self._after_step(losses, norm)
            if stop.signal or self.done():
                return
        self._end_epoch()

    def _after_step(self, losses, norm):
        """The periodic actions after each step."""
        cfg, step = self.cfg, self.state["step"]
        if step % cfg.log_every == 0:
            values = self._window_means(losses) + [float(norm)]
            now = time.time()
            rate = (step - self._tick[1]) * cfg.batch_size / (now - self._tick[0])
            self._log_step(values, rate)
            self._tick = (now, step)
        if self.writer is not None and cfg.hist_every and step % cfg.hist_every == 0:
            self._log_histograms()
        if cfg.val_every and step % cfg.val_every == 0:
            self.evaluate()
        if cfg.checkpoint_every and step % cfg.checkpoint_every == 0:
            self.save_checkpoint()

    def _end_epoch(self):
        st = self.state
        st["epoch"] += 1
        st["batch"] = 0
        if self.cfg.val_each_epoch:
            self.evaluate()
        if self.cfg.checkpoint_each_epoch:
            self.save_checkpoint()

    def _stop(self, signal_name):
        """After SIGINT/SIGTERM (at the end of a step or during a validation pass):
        checkpoint and say how to continue."""
        saved = self.save_checkpoint()
        self.interrupted = signal_name
        last = self.run_dir.steps()
        log.info("%s: stopped after step %d; %s in %s (continue with --resume %s)",
                 signal_name, self.state["step"],
                 "checkpoint written" if saved
                 else "last checkpoint: step %s" % (last[-1] if last else "none"),
                 self.run_dir.path, self.run_dir.path)

    def _guard(self, finite):
        """Count non-finite steps; stop after ``max_nonfinite`` consecutive ones."""
        st = self.state
        if finite:
            self._consecutive_nonfinite = 0
            return
        self._consecutive_nonfinite += 1
        st["nonfinite"] = st.get("nonfinite", 0) + 1
        log.warning("step %d: non-finite loss or gradient, update skipped (%d in a row, %d "
                    "in this run)", st["step"], self._consecutive_nonfinite, st["nonfinite"])
        if self.writer is not None:
            self.writer.add_scalar("train/nonfinite_steps", st["nonfinite"], st["step"])
        limit = self.cfg.max_nonfinite
        if limit and self._consecutive_nonfinite >= limit:
            last = self.run_dir.steps()
            raise TrainingError(
                "step %d: loss or gradient non-finite for %d consecutive steps; stopped "
                "without writing a checkpoint (last good one: %s)"
                % (st["step"], self._consecutive_nonfinite,
                   "step %d in %s" % (last[-1], self.run_dir.path) if last else "none"))

    def finish(self):
        """Checkpoint, then the final evaluation (the full validation set too when
        ``num_val`` limits the periodic ones). A signal during it leaves the checkpoint
        of the last step: resuming only runs this final phase."""
        self.save_checkpoint()
        result = self.evaluate()
        full = self.full_val_data
        count = len(full[0] if isinstance(full, tuple) else full)
        if self.rank == 0 and self.cfg.num_val and count > len(self.val_images):
            result = self.validate(full)
            log.info("step %d: full validation on %d images: %s", self.state["step"], count,
                     self.objective.result_line(result))
            if self.writer is not None:
                for key, value in result.items():
                    self.writer.add_scalar("val_full/" + key, value, self.state["step"])
        return result

    def evaluate(self):
        """Validation bound and images at the current step (once per step)."""
        st = self.state
        if self.rank != 0:  # rank 0 validates and logs for a distributed run
            return None
        if self._last_eval[0] == st["step"]:
            return self._last_eval[1]
        result = self.validate()
        log.info("epoch %d step %d: validation %s", st["epoch"], st["step"],
                 self.objective.result_line(result))
        if self.writer is not None:
            for key, value in result.items():
                self.writer.add_scalar("val/" + key, value, st["step"])
            self.log_images()
        self._last_eval = (st["step"], result)
        return result

    def validate(self, data=None):
        """The objective's means on ``data`` (default: the periodic validation data)."""
        batch = self.cfg.val_batch_size or self.cfg.batch_size
        data = self.val_data if data is None else data
        signals = self._signals
        mx.random.seed(_rng_seed(self.cfg.seed, self.state["step"], self.rank, stream=1))
        bar = _progress_bar(self._bar is not None and not self._bar.disable,
                            len(data[0] if isinstance(data, tuple) else data), 0,
                            unit="image", desc="validation", leave=False)
        try:
            return evaluate_mean(self.net, data, batch, self.ctxs, self.objective.names,
                                 progress=None if bar.disable else bar.update,
                                 stop=lambda: signals is not None and signals.signal is not None)
        finally:
            bar.close()

    def save_checkpoint(self):
        """Checkpoint the current step (once), unless the last step was non-finite: a
        run that may be diverging never rotates out its good checkpoints. Only rank 0
        writes. Returns whether this process holds a checkpoint of the current step."""
        step = self.state["step"]
        if self._last_checkpoint == step:
            return self.rank == 0
        if self._consecutive_nonfinite:
            log.warning("step %d: no checkpoint after a non-finite step", step)
            return False
        self._last_checkpoint = step
        # MXNet cannot export its RNG state; it needs none: every step reseeds it from
        # (seed, step, rank) (see _train_epoch), so a run resumed from any checkpoint,
        # a signal's included, draws the noise of the uninterrupted run
        if self.rank == 0:
            if self.writer is not None:  # events up to this step reach the disk first
                self.writer.flush()
            name, keys, pos, has_gauss, cached = np.random.get_state()
            state = dict(self.state,
                         numpy_rng=[name, keys.tolist(), int(pos), int(has_gauss), float(cached)])
            if self._window_examples:  # a resumed run logs the uninterrupted run's means
                state["log_window"] = dict(
                    sums=[float(w.asscalar()) for w in self._window],
                    examples=self._window_examples)
            self.run_dir.save_checkpoint(step, self.model, self.updater, state,
                                         keep=self.cfg.keep_checkpoints)
        return self.rank == 0

    # ------------------------------------------------------------------ logging
    def _accumulate(self, losses):
        """Add one finite step's per-example values (per-context tuples, as
        :meth:`step` returns them) to the window of the next logged step."""
        cpu = mx.cpu()
        sums = [mx.nd.add_n(*[l[i].astype("float64").sum().as_in_context(cpu)
                              for l in losses]) for i in range(len(losses[0]))]
        self._window = sums if self._window is None else [
            w + s for w, s in zip(self._window, sums)]
        self._window_examples += sum(l[0].shape[0] for l in losses)

    def _window_means(self, losses):
        """The means of the objective's values over the examples of the finite steps
        since the last logged step, as floats, and a new window; with none (every step
        of the window non-finite) this step's batch means."""
        if not self._window_examples:
            parts = [mx.nd.concat(*[l[i].as_in_context(mx.cpu()) for l in losses], dim=0)
                     for i in range(len(losses[0]))]
            return [float(p.mean().asscalar()) for p in parts]
        means = [float(w.asscalar()) / self._window_examples for w in self._window]
        self._window, self._window_examples = None, 0
        return means

    def _log_step(self, values, rate):
        *means, grad_norm = values
        step = self.state["step"]
        writer = self.writer
        self._bar.set_postfix(**self.objective.progress_fields(means), samples_s="%.0f" % rate)
        if self._bar.disable:  # no progress bar: a log line instead
            log.info("step %d: %s, grad norm %.3g, %.1f samples/s", step,
                     self.objective.step_line(means), grad_norm, rate)
        if writer is not None:
            for tag, value in zip(self.objective.train_tags, means):
                writer.add_scalar("train/" + tag, value, step)
            writer.add_scalar("train/grad_norm", grad_norm, step)
            writer.add_scalar("train/samples_per_sec", rate, step)
            writer.add_scalar("train/learning_rate", self.updater.learning_rate, step)

    def _log_histograms(self):
        step, writer = self.state["step"], self.writer
        for name, p in self.model.collect_params().items():
            if p.grad_req != "null":
                writer.add_histogram("grad/" + name, p.grad(self.ctxs[0]), step, bins="default")

    def log_images(self):
        """The objective's images of the validation examples at the current step."""
        first = tuple(a[:32] for a in self.val_data) if isinstance(self.val_data, tuple) \
            else self.val_data[:32]
        self.objective.log_images(self.writer, self.state["step"], first, self.ctxs[0])


class _StopSignals:
    """Within the block, SIGINT/SIGTERM set :attr:`signal` (their name) instead of
    killing the process; a second one kills it at once (the default action, which no
    running operator can delay). Outside the main thread, signals cannot be caught and
    this does nothing."""

    def __init__(self):
        self.signal = None
        self._saved = {}

    def _handle(self, signum, frame):
        self.signal = signal.Signals(signum).name
        log.info("%s received: finishing the current step, then writing a checkpoint "
                 "(send it again to stop at once)", self.signal)
        for sig in self._saved:
            signal.signal(sig, signal.SIG_DFL)

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._saved[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, handler in self._saved.items():
            signal.signal(sig, handler)
        return False


def _restart_clock(bar):
    """Forget the time a tqdm bar has measured so far (keeping its count): the first
    step of a process also builds and compiles the graph, which made the first ETA
    shown many times too long."""
    if bar.disable:
        return
    # not tqdm's reset(): it redraws the bar at 0 of the total (with a negative rate
    # when resuming), a stray line in every resumed run's log
    bar.initial = bar.last_print_n = bar.n
    bar.start_t = bar.last_print_t = time.time()


def _progress_bar(enabled, total, initial, unit="step", **kwargs):
    from tqdm import tqdm
    return tqdm(total=total, initial=initial, unit=unit, dynamic_ncols=True,
                disable=not enabled, mininterval=1.0, **kwargs)


def write_samples(model, out_dir, n=64, ctx=None, seed=None, gif=True, boxes=True,
                  prefix="samples"):
    """Sample ``n`` images; write ``<prefix>.png`` (final canvases, 2x enlarged as the
    GIF) and ``<prefix>.gif``
    (all steps, with the write attention box in red when ``boxes`` and the model has one).

    Returns the list of written paths.
    """
    if seed is not None:
        mx.random.seed(seed)
    canvases, windows = model.sample(n, ctx=ctx)
    canvases = canvases.asnumpy()
    os.makedirs(out_dir, exist_ok=True)
    png = os.path.join(out_dir, prefix + ".png")
    save_png(png, np.asarray(boxed_grid(canvases[-1], scale=2)))  # the GIF's scale
    written = [png]
    if gif:
        use_boxes = boxes and windows is not None
        frames = canvas_frames(canvases, windows.asnumpy() if use_boxes else None,
                               write_size=model.write_size)
        path = os.path.join(out_dir, prefix + ".gif")
        save_gif(path, frames)
        written.append(path)
    return written
