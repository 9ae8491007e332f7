"""tf.data input pipelines: cache, seeded shuffle, augmentation hook, batch, prefetch.

TensorFlow is imported by the functions that use it, so the rest of the zoo imports without it
(Keras' other backends read these pipelines when TensorFlow is installed)."""
import numpy as np


def from_arrays(x, y):
    """A `tf.data.Dataset` of `(x, y)` pairs; object arrays of strings become tf.string. `x`
    may be a dict of arrays (a model with several named inputs)."""
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices((_tensors(x), y))


def _tensors(x):
    if isinstance(x, dict):
        return {key: _tensors(value) for key, value in x.items()}
    if isinstance(x, np.ndarray) and x.dtype == object or isinstance(x, (list, tuple)):
        import tensorflow as tf

        return tf.constant([str(t) for t in x], dtype=tf.string)
    return x


def pipeline(x, y, batch_size, shuffle=False, seed=0, augment=None, cache=True,
             drop_remainder=False, epochs=None, first_epoch=0, length_groups=None):
    """Batches of `(x, y)` ready for `fit` / `evaluate`.

    Args:
        x, y: in-memory arrays (images stay uint8: models normalise inside).
        batch_size: global batch size.
        shuffle: reshuffle every epoch with a seeded order (the same seed gives the same orders).
        augment: optional function `(x_batch, y_batch) -> (x_batch, y_batch)` applied per batch
            after shuffling (batch-level ops vectorise far better than per-example maps on CPU).
            One whose attribute `positional` is true is called as `(x_batch, y_batch,
            indices, epoch, seed)` (the examples' row numbers; needs `shuffle` and `epochs`).
        cache: cache the un-augmented examples in memory.
        drop_remainder: drop the last partial batch (useful for exact multi-replica splits).
        epochs, first_epoch: with `shuffle`, yield epochs `first_epoch .. epochs - 1` back to
            back, epoch e in an order fixed by `(seed, e)` alone, so a run resumed at epoch e
            sees exactly the batches an uninterrupted run would (pass `steps_per_epoch` to fit).
        length_groups: with `shuffle` and `epochs`, for texts (`x` a 1-D array of strings):
            each epoch's shuffled order is cut into groups of `length_groups` batches and
            sorted by text length inside each group, so a batch holds texts of similar length
            and a model that pads to the batch's longest text computes little padding (on AG
            News, batches of 32 drawn at random pad to about twice the mean length).
    """
    import tensorflow as tf

    if shuffle and epochs is not None:
        return _epoch_indexed(x, y, batch_size, seed, augment, drop_remainder, epochs,
                              first_epoch, length_groups)
    if length_groups:
        raise ValueError("length_groups sorts each epoch's shuffled order: pass shuffle=True and "
                         "epochs=N (the recipe's training pipeline does)")
    if getattr(augment, "positional", False):
        raise ValueError("this augmentation needs each example's index and epoch: pass "
                         "shuffle=True and epochs=N (the recipe's training pipeline does)")
    ds = from_arrays(x, y)
    if cache:
        ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(len(y), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    if augment is not None:
        ds = ds.map(augment, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def _text_lengths(texts):
    """Characters per text of a 1-D string tensor (what `length_groups` sorts by)."""
    import tensorflow as tf

    if isinstance(texts, dict) or texts.dtype != tf.string or texts.shape.rank != 1:
        raise ValueError("length_groups needs x to be a 1-D array of texts")
    return tf.strings.length(texts)


def _grouped_by_length(order, lengths, group):
    """`order` cut into consecutive groups of `group` rows, each sorted by `lengths`."""
    import tensorflow as tf

    group_of = tf.range(tf.size(order, out_type=tf.int64), dtype=tf.int64) // group
    key = group_of * (tf.cast(tf.reduce_max(lengths), tf.int64) + 1) + tf.cast(
        tf.gather(lengths, order), tf.int64)
    return tf.gather(order, tf.argsort(key, stable=True))


def _epoch_indexed(x, y, batch_size, seed, augment, drop_remainder, epochs, first_epoch,
                   length_groups=None):
    import tensorflow as tf

    x_all, y_all = next(iter(from_arrays(x, y).batch(len(y))))
    lengths = _text_lengths(x_all) if length_groups else None
    n = len(y)

    positional = getattr(augment, "positional", False)

    def one_epoch(epoch):
        keys = tf.random.stateless_uniform([n], seed=tf.stack([tf.cast(seed, tf.int64), epoch]))
        order = tf.argsort(keys)
        if lengths is not None:
            order = _grouped_by_length(order, lengths, batch_size * int(length_groups))
        order = tf.data.Dataset.from_tensor_slices(order)
        batches = order.batch(batch_size, drop_remainder=drop_remainder)
        # a positional augmentation also gets the rows and the epoch
        return batches.map(lambda idx: (idx, epoch)) if positional else batches

    def gather(idx):
        return (tf.nest.map_structure(lambda part: tf.gather(part, idx), x_all),
                tf.gather(y_all, idx))

    ds = tf.data.Dataset.range(first_epoch, epochs).flat_map(one_epoch)
    if positional:
        ds = ds.map(lambda idx, epoch: (*gather(idx), idx, epoch))
        ds = ds.map(lambda xb, yb, idx, epoch: augment(xb, yb, idx, epoch, seed),
                    num_parallel_calls=tf.data.AUTOTUNE)
    else:
        ds = ds.map(gather)
        if augment is not None:
            ds = ds.map(augment, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def load(name, split="train", data_dir=None):
    """`tf.data.Dataset` of `(image uint8, label int32)` for mnist / cifar10 / cifar100."""
    import tensorflow as tf

    from zoo.data.images import load_arrays

    x, y, _ = load_arrays(name, split, data_dir)
    return tf.data.Dataset.from_tensor_slices((x, y))
