"""Epoch checkpoints that a kill at any instant leaves usable.

Keras' `BackupAndRestore` overwrites one weights file in place and then its epoch marker, so a
run killed while it writes leaves a truncated file (the resume then fails: "Unable to
synchronously open file (truncated file ...)") or weights one epoch ahead of the marker (the
resume repeats an epoch). Here each epoch's weights (with the optimiser's state) go to a file of
their own, written under a temporary name and renamed when complete; the marker, renamed into
place after it, names the file it goes with and is the commit. A resume reads the marker and the
file it names, both complete; the previous epoch's file is removed only once the marker has
moved on.
"""
import json
from pathlib import Path

import keras

from zoo.artifacts import atomic_path, write_json

MARKER = "training_metadata.json"  # {"epoch": completed epochs, "weights": file name}
LEGACY_WEIGHTS = "latest.weights.h5"  # Keras' BackupAndRestore, which older runs used


def weights_name(epoch):
    return f"epoch-{epoch}.weights.h5"


def _marker(folder):
    path = Path(folder) / MARKER
    return json.loads(path.read_text()) if path.exists() else None


def saved_epoch(folder):
    """The number of epochs the checkpoint in `folder` has completed (0 when there is none)."""
    marker = _marker(folder)
    return int(marker["epoch"]) if marker else 0


def save(model, folder, epoch):
    """Checkpoint `model` (weights and optimiser state) as having completed `epoch` epochs."""
    folder = Path(folder)
    name = weights_name(epoch)
    with atomic_path(folder / name, suffix=".weights.h5") as tmp:
        model.save_weights(tmp)
    write_json({"epoch": epoch, "weights": name}, folder / MARKER)
    for stale in [*folder.glob("epoch-*.weights.h5"), *folder.glob(".epoch-*.tmp.weights.h5"),
                  *folder.glob(LEGACY_WEIGHTS)]:
        if stale.name != name:  # earlier epochs', and temporary files of killed writes
            stale.unlink(missing_ok=True)


def restore(model, folder):
    """Load the checkpoint in `folder` into `model` (built and compiled), optimiser state
    included; returns the epoch to start from (0, loading nothing, when there is none)."""
    marker = _marker(folder)
    if marker is None:
        return 0
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    model.load_weights(Path(folder) / marker.get("weights", LEGACY_WEIGHTS))
    return int(marker["epoch"])


class EpochCheckpoint(keras.callbacks.Callback):
    """Restore the checkpoint in `folder` when training begins (pass `saved_epoch(folder)` as
    fit's `initial_epoch`), and checkpoint after every epoch."""

    def __init__(self, folder):
        super().__init__()
        self.folder = Path(folder)

    def on_train_begin(self, logs=None):
        restore(self.model, self.folder)

    def on_epoch_end(self, epoch, logs=None):
        save(self.model, self.folder, epoch + 1)
