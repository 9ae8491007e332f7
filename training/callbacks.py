"""Callbacks of the fit loop: the learning-rate schedule, a compact epoch table, weight
averaging and a record of time and epoch logs that survives resumes."""
import json
import math
import sys
import time
from pathlib import Path

import keras

from zoo.artifacts import write_json


def schedule_factor(kind, progress, end=0.0):
    """Learning-rate multiplier at `progress` in [0, 1] of the post-warm-up steps, falling
    from 1 to `end`."""
    if kind is None:
        return 1.0
    progress = min(max(progress, 0.0), 1.0)
    if kind == "cosine":
        return end + (1 - end) * 0.5 * (1 + math.cos(math.pi * progress))
    if kind == "onecycle":  # linear decay (the warm-up makes it a triangle)
        return end + (1 - end) * (1.0 - progress)
    raise ValueError(f"unknown schedule {kind!r}; expected None, 'cosine' or 'onecycle'")


class StepSchedule(keras.callbacks.Callback):
    """Sets the optimiser's learning rate before every step: linear warm-up from `start` x
    `base_lr` (0: from nothing), then `kind` down to `end` x `base_lr` (airbench94's triangle:
    0.2 -> 1 -> 0.07).

    The step count is derived from the optimiser's own iteration counter, so a run resumed by
    `training.checkpoint` continues the schedule where it stopped."""

    def __init__(self, kind, base_lr, steps_per_epoch, epochs, warmup_epochs=0.0, start=0.0,
                 end=0.0):
        super().__init__()
        self.kind = kind
        self.base_lr = float(base_lr)
        self.total = max(1, int(steps_per_epoch * epochs))
        self.warmup = int(steps_per_epoch * warmup_epochs)
        self.start = float(start)
        self.end = float(end)

    def lr_at(self, step):
        if step < self.warmup:
            return self.base_lr * (self.start + (1 - self.start) * (step + 1) / self.warmup)
        progress = (step - self.warmup) / max(1, self.total - self.warmup)
        return self.base_lr * schedule_factor(self.kind, progress, self.end)

    def on_train_batch_begin(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        self.model.optimizer.learning_rate.assign(self.lr_at(step))


class EpochTable(keras.callbacks.Callback):
    """One row per epoch: losses and metrics, learning rate, elapsed time and ETA."""

    def __init__(self, epochs, stream=None, every=1):
        super().__init__()
        self.epochs = epochs
        self.stream = stream or sys.stdout
        self.every = max(1, int(every))
        self.start = None
        self.first_epoch = None

    def on_train_begin(self, logs=None):
        self.start = time.time()

    def on_epoch_end(self, epoch, logs=None):
        if self.first_epoch is None:
            self.first_epoch = epoch  # after a resume, ETA counts only the epochs run here
        done = epoch + 1
        if done % self.every and done != self.epochs:
            return
        elapsed = time.time() - self.start
        eta = elapsed / (done - self.first_epoch) * (self.epochs - done)
        logs = logs or {}
        cells = "  ".join(f"{k} {v:.4f}" for k, v in logs.items() if k != "learning_rate")
        lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        print(f"epoch {done:>4}/{self.epochs}  {cells}  lr {lr:.2e}  "
              f"{elapsed:6.1f}s  eta {eta:6.1f}s", file=self.stream, flush=True)


class WeightAveraging(keras.callbacks.Callback):
    """airbench's lookahead: every `every` steps the model's weights (BatchNorm statistics
    included) become an exponential average, ema = d * ema + (1 - d) * weights, with
    d = decay ** every * progress ** 3 (so averaging matters only late in training); when
    training ends the model keeps the average. The average starts at the first step, from the
    weights then: after every callback's start, so a resumed run starts it from the restored
    weights whatever the callbacks' order."""

    def __init__(self, total_steps, every=5, decay=0.95):
        super().__init__()
        self.total_steps = max(1, int(total_steps))
        self.every = int(every)
        self.decay = float(decay)
        self.average = None

    def decay_at(self, step):
        return self.decay ** self.every * (min(step, self.total_steps) / self.total_steps) ** 3

    def on_train_begin(self, logs=None):
        self.average = None

    def on_train_batch_begin(self, batch, logs=None):
        if self.average is None:
            self.average = [w.copy() for w in self.model.get_weights()]

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        if step % self.every:
            return
        d = self.decay_at(step)
        self.average = [d * a + (1 - d) * w for a, w in zip(self.average,
                                                             self.model.get_weights())]
        self.model.set_weights(self.average)

    def on_train_end(self, logs=None):
        if self.average is not None:
            self.model.set_weights(self.average)


class FreezeAfter(keras.callbacks.Callback):
    """Holds `variables` still from epoch `epochs` on (airbench94 trains its whitening bias for
    its first 3 epochs only): their values when that epoch begins are written back after every
    step. A run resumed later freezes them at their restored values."""

    def __init__(self, variables, epochs):
        super().__init__()
        self.variables = list(variables)
        self.epochs = int(epochs)
        self.frozen = None

    def on_epoch_begin(self, epoch, logs=None):
        if epoch >= self.epochs and self.frozen is None:
            self.frozen = [keras.ops.convert_to_numpy(v) for v in self.variables]

    def on_train_batch_end(self, batch, logs=None):
        for variable, value in zip(self.variables, self.frozen or ()):
            variable.assign(value)


class RunRecord(keras.callbacks.Callback):
    """A training's seconds and per-epoch logs, summed over the runs that resumed it: after
    every epoch they go to `path` (inside the checkpoint folder, so they are kept and removed
    with the checkpoint), and a resumed run continues from them, so cards and curves cover the
    whole training. Give it the epoch's end before the checkpoint: a run killed between the two
    repeats that epoch on resume, and its logs then replace the repeated epoch's. Time lost in
    an epoch killed before its end is not counted.
    """

    def __init__(self, path, started=None):
        super().__init__()
        self.path = Path(path)
        self.started = started
        self.before = 0.0
        self.logs = []  # one dict per epoch; validation figures only in validated epochs

    @property
    def seconds(self):
        return self.before + time.time() - self.started

    @property
    def history(self):
        """`{key: [value per epoch that logged it]}`, as Keras' History holds them."""
        history = {}
        for logs in self.logs:
            for key, value in logs.items():
                history.setdefault(key, []).append(value)
        return history

    def on_train_begin(self, logs=None):
        self.started = self.started or time.time()
        saved = json.loads(self.path.read_text()) if self.path.exists() else {}
        self.before = float(saved.get("seconds", 0.0))
        self.logs = saved.get("logs", [])

    def on_epoch_end(self, epoch, logs=None):
        self.logs[epoch:] = [{key: float(value) for key, value in (logs or {}).items()}]
        self.write()

    def write(self):
        """Save the seconds so far and the logs, atomically: a kill mid-write leaves the
        previous record for the resume."""
        write_json({"seconds": round(self.seconds, 1), "epochs": len(self.logs),
                    "logs": self.logs}, self.path)


class EarlyStopping(keras.callbacks.Callback):
    """Stop when no monitored validation figure has improved for `patience` epochs, and end
    with the weights of the last epoch at which every monitor was at its best so far (ties
    count), as GAT's reference code does with validation loss and accuracy; with one monitor
    this is Keras' EarlyStopping with `restore_best_weights`. Monitors whose name ends in
    "loss" are minimised, the others maximised."""

    def __init__(self, monitor=("val_loss",), patience=10):
        super().__init__()
        self.monitor = (monitor,) if isinstance(monitor, str) else tuple(monitor)
        self.patience = int(patience)
        self.best = {}
        self.best_weights = None
        self.wait = 0

    def _better_or_equal(self, key, value):
        best = self.best.get(key)
        return best is None or (value <= best if key.endswith("loss") else value >= best)

    def on_train_begin(self, logs=None):
        self.best, self.best_weights, self.wait = {}, None, 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        missing = [key for key in self.monitor if key not in logs]
        if missing:
            raise ValueError(f"early stopping monitors {missing}, which this training does not "
                             f"log (it logs {sorted(logs)}); it needs a validation split")
        improved = {key: self._better_or_equal(key, float(logs[key])) for key in self.monitor}
        if all(improved.values()):
            self.best_weights = self.model.get_weights()
        if any(improved.values()):
            self.best.update({key: float(logs[key]) for key in self.monitor if improved[key]})
            self.wait = 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)
