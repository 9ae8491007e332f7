"""Batch-level augmentations for tf.data: vectorised over the batch, cheap on a CPU."""
import tensorflow as tf


def translate(images, max_shift, mode="CONSTANT"):
    """Shift every image by its own random (dy, dx) in [-max_shift, max_shift], zero-filled
    (`mode="REFLECT"`: mirrored at the border instead)."""
    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    p = max_shift
    padded = tf.pad(images, [[0, 0], [p, p], [p, p], [0, 0]], mode=mode)
    dy = tf.random.uniform([batch], 0, 2 * p + 1, dtype=tf.int32)
    dx = tf.random.uniform([batch], 0, 2 * p + 1, dtype=tf.int32)
    rows = dy[:, None] + tf.range(height)[None, :]
    cols = dx[:, None] + tf.range(width)[None, :]
    out = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(out, cols, axis=2, batch_dims=1)


def flip_left_right(images):
    """Mirror a random half of the images horizontally."""
    flip = tf.random.uniform([tf.shape(images)[0], 1, 1, 1]) < 0.5
    return tf.where(flip, tf.reverse(images, axis=[2]), images)


class AlternatingFlip:
    """airbench's alternating flip: in the first epoch each image is mirrored or not by a coin
    fixed by its index and the seed; in every later epoch, the opposite of the epoch before.
    Any two consecutive epochs then show every image both ways, where fresh coins repeat a
    view for half of them. `then(x, y)` runs after (a translation, say).

    It needs each example's index and epoch: `zoo.data.pipeline` passes them to an
    augmentation whose `positional` is true, as `(x, y, index, epoch, seed)`."""

    positional = True

    def __init__(self, then=None):
        self.then = then

    def __call__(self, images, labels, index, epoch, seed):
        keys = tf.strings.join([tf.strings.as_string(seed), tf.strings.as_string(index)], ":")
        coin = tf.equal(tf.strings.to_hash_bucket_fast(keys, 2), 1)
        flip = tf.not_equal(coin, tf.equal(epoch % 2, 1))
        images = tf.where(flip[:, None, None, None], tf.reverse(images, axis=[2]), images)
        return self.then(images, labels) if self.then else (images, labels)


def binarize(images):
    """Each pixel 255 with probability pixel / 255, else 0: MNIST binarized anew every batch
    (as `zoo.data.images.binarize` does once for the validation and test splits)."""
    draws = tf.random.uniform(tf.shape(images)) * 255.0
    return tf.cast(draws < tf.cast(images, tf.float32), images.dtype) * 255


def _shift(p):
    return lambda x, y: (translate(x, p), y)


AUGMENTATIONS = {
    "shift2": _shift(2),  # MNIST: digits move by up to 2 pixels
    "flip_shift4": lambda x, y: (translate(flip_left_right(x), 4), y),  # CIFAR's standard pair
    "flip_shift2": lambda x, y: (translate(flip_left_right(x), 2), y),
    # airbench: flips and 2-pixel translations with reflect padding
    "flip_reflect2": lambda x, y: (translate(flip_left_right(x), 2, "REFLECT"), y),
    # airbench94 exactly: alternating rather than random flips
    "altflip_reflect2": AlternatingFlip(lambda x, y: (translate(x, 2, "REFLECT"), y)),
    "binarize": lambda x, y: (binarize(x), y),  # likelihood models on binarized MNIST
}


def get(name):
    if name is None:
        return None
    if name not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation {name!r}; known: {sorted(AUGMENTATIONS)}")
    return AUGMENTATIONS[name]
