"""A training loop over `strategy.run`, for MultiWorkerMirroredStrategy.

Why not `model.fit`: under MultiWorkerMirroredStrategy, Keras 3.15's `fit` fails
(keras-team/keras #20585 and #20329, tensorflow/tensorflow #72388): before building it calls
`strategy.reduce` on the (x, y) tuple, and every step it reduces scalar metrics with `axis=0`.
This loop drives the same Keras model, optimiser, loss and regularisation losses through
`strategy.run` and needs no patch to Keras; `tests/test_distribute.py` checks that `fit` under
this strategy still fails, so the day Keras fixes it the test says so and this module can go.

Gradients: each replica's loss is its examples' losses summed and divided by the global batch
(`tf.nn.compute_average_loss`), regularisation divided by the replica count; the optimiser
sums gradients over replicas, so one step equals a single-device step on the global batch.
"""
import time
from pathlib import Path

import tensorflow as tf


def _per_example_loss(model, y, pred):
    if pred.shape[-1] == 1 or len(y.shape) == len(pred.shape):
        y = tf.reshape(tf.cast(y, pred.dtype), tf.shape(pred))
    return model.loss.call(y, pred)


def _distributed_step(model, strategy, global_batch):
    """One optimiser step on a global batch, each replica computing its share of the loss."""
    variables = model.trainable_variables

    def replica_step(x, y):
        with tf.GradientTape() as tape:
            pred = model(x, training=True)
            loss = tf.nn.compute_average_loss(_per_example_loss(model, y, pred),
                                              global_batch_size=global_batch)
            if model.losses:
                loss += tf.nn.scale_regularization_loss(tf.add_n(model.losses))
        grads = tape.gradient(loss, variables)
        model.optimizer.apply_gradients(zip(grads, variables))
        return loss

    @tf.function
    def step(x, y):
        per_replica = strategy.run(replica_step, args=(x, y))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    return step


def fit(model, strategy, dataset, epochs, steps_per_epoch, global_batch, schedule=None,
        backup_dir=None, worker_index=0, first_epoch=0, log=print, record=None):
    """Train `model` (built under `strategy.scope()`) for epochs `first_epoch .. epochs - 1`
    on `dataset` (global batches, all epochs back to back); returns `{"loss": [...]}`.

    Every epoch ends with a checkpoint in `backup_dir` (each worker its own sub-folder, as
    checkpoints of multi-worker runs must be written by every worker). `record`, a
    `training.callbacks.RunRecord`, is told of the start and of every checkpointed epoch, as
    `fit` tells its callbacks; then the returned history covers the runs this one resumed."""
    dist = strategy.experimental_distribute_dataset(dataset)
    step = _distributed_step(model, strategy, global_batch)
    checkpoint = manager = None
    if backup_dir is not None:
        folder = Path(backup_dir) / f"worker-{worker_index}"
        checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer)
        manager = tf.train.CheckpointManager(checkpoint, str(folder), max_to_keep=1)

    history = {"loss": []}
    if record is not None:
        record.on_train_begin()
    iterator = iter(dist)
    started = time.time()
    for epoch in range(first_epoch, epochs):
        total = 0.0
        for _ in range(steps_per_epoch):
            if schedule is not None:
                model.optimizer.learning_rate.assign(
                    schedule.lr_at(int(model.optimizer.iterations.numpy())))
            x, y = next(iterator)
            total += float(step(x, y))
        history["loss"].append(total / steps_per_epoch)
        if record is not None:  # before the checkpoint: see RunRecord
            record.on_epoch_end(epoch, {"loss": history["loss"][-1]})
        if manager is not None:  # numbered by the epochs it completes (read by `restore`)
            manager.save(checkpoint_number=epoch + 1)
        log(f"epoch {epoch + 1:>4}/{epochs}  loss {history['loss'][-1]:.4f}  "
            f"{time.time() - started:6.1f}s")
    return record.history if record is not None else history


def restore(model, backup_dir, worker_index=0):
    """Restore the last epoch checkpoint of this worker; returns the epoch to start from.
    TensorFlow's CheckpointManager names a checkpoint in its state file only once the
    checkpoint is written, so the latest one named is complete."""
    latest = tf.train.latest_checkpoint(str(Path(backup_dir) / f"worker-{worker_index}"))
    if latest is None:
        return 0
    checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer)
    checkpoint.restore(latest).expect_partial()
    return int(latest.rsplit("-", 1)[1])


def build_optimizer(model):
    """Create the optimiser's slots now, under the strategy scope, so checkpoints restore
    into them and the first step does not create variables inside `tf.function`."""
    model.optimizer.build(model.trainable_variables)


__all__ = ["fit", "restore", "build_optimizer"]
