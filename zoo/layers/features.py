"""Parameter-free image features and a class-prototype readout, for networks judged by how few
values they learn (the ECE-472 fewest-parameters challenge).

`LowFrequencyDCT` and `OrientedGradients` hold no weights at all (their fixed matrices are
constants rebuilt from the config, so `count_params()` does not see them); `NearestMean`
learns one point per class."""
import itertools

import keras
import numpy as np
from keras import ops


def dct_basis(n):
    """The orthonormal DCT-II matrix of size n (rows: frequencies)."""
    k = np.arange(n)
    basis = np.cos(np.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * n)) * np.sqrt(2 / n)
    basis[0] /= np.sqrt(2)
    return basis


def low_frequencies(height, width, count):
    """The `count` lowest (u, v) frequency pairs of a height x width DCT: by u + v, then u."""
    pairs = sorted(itertools.product(range(height), range(width)),
                   key=lambda t: (t[0] + t[1], t[0]))
    return pairs[:count]


@keras.saving.register_keras_serializable(package="zoo")
class LowFrequencyDCT(keras.layers.Layer):
    """(batch, H, W, C) -> (batch, C * `coefficients`): the lowest-frequency 2-D DCT
    coefficients of each channel of the image without its `crop`-pixel border. No weights."""

    def __init__(self, coefficients=7, crop=4, **kwargs):
        super().__init__(**kwargs)
        self.coefficients = int(coefficients)
        self.crop = int(crop)

    def build(self, input_shape):
        height, width = input_shape[1] - 2 * self.crop, input_shape[2] - 2 * self.crop
        if not 1 <= self.coefficients <= max(height, 0) * max(width, 0):
            raise ValueError(f"LowFrequencyDCT: {self.coefficients} coefficients do not fit "
                             f"a {input_shape[1]}x{input_shape[2]} image after a "
                             f"{self.crop}-pixel crop")
        rows, columns = dct_basis(height), dct_basis(width)
        pairs = low_frequencies(height, width, self.coefficients)
        self.projection = np.stack([np.outer(rows[u], columns[v]).ravel() for u, v in pairs],
                                   axis=1).astype("float32")  # (pixels, coefficients)

    def call(self, images):
        c = self.crop
        inner = images[:, c:ops.shape(images)[1] - c, c:ops.shape(images)[2] - c, :]
        by_channel = ops.transpose(inner, (0, 3, 1, 2))  # (batch, C, h, w)
        flat = ops.reshape(by_channel, (ops.shape(images)[0], ops.shape(images)[3], -1))
        coefficients = ops.matmul(flat, ops.cast(self.projection, flat.dtype))
        return ops.reshape(coefficients, (ops.shape(images)[0], -1))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[3] * self.coefficients)

    def get_config(self):
        return {**super().get_config(), "coefficients": self.coefficients, "crop": self.crop}


@keras.saving.register_keras_serializable(package="zoo")
class OrientedGradients(keras.layers.Layer):
    """(batch, H, W, C) -> (batch, 4 * C * grid^2): a histogram of oriented gradients in its
    simplest form. Central differences along x and y of each channel of the image without
    its `crop`-pixel border, split into their positive and negative halves (four
    orientations), each averaged over a `grid` x `grid` partition (rows and columns past a
    multiple of `grid` left out) and multiplied by `scale`. No weights."""

    def __init__(self, grid=2, crop=3, scale=4.0, **kwargs):
        super().__init__(**kwargs)
        self.grid = int(grid)
        self.crop = int(crop)
        self.scale = float(scale)

    def build(self, input_shape):
        sides = [input_shape[i] - 2 * self.crop - 2 for i in (1, 2)]
        if min(sides) < self.grid:
            raise ValueError(f"OrientedGradients: a {input_shape[1]}x{input_shape[2]} image "
                             f"after a {self.crop}-pixel crop has a {sides[0]}x{sides[1]} "
                             f"gradient, too small for a grid of {self.grid}")
        self.cells = [side // self.grid for side in sides]

    def call(self, images):
        c = self.crop
        x = images[:, c:ops.shape(images)[1] - c, c:ops.shape(images)[2] - c, :]
        dx = x[:, 1:-1, 2:, :] - x[:, 1:-1, :-2, :]
        dy = x[:, 2:, 1:-1, :] - x[:, :-2, 1:-1, :]
        halves = ops.concatenate([ops.relu(dx), ops.relu(-dx), ops.relu(dy), ops.relu(-dy)],
                                 axis=-1)
        (rows, columns), grid = self.cells, self.grid
        halves = halves[:, :rows * grid, :columns * grid, :]
        pooled = ops.average_pool(halves, (rows, columns), strides=(rows, columns),
                                  padding="valid")
        # channel-major: the four half-gradients' grids one after the other
        pooled = ops.transpose(pooled, (0, 3, 1, 2))
        return self.scale * ops.reshape(pooled, (ops.shape(images)[0], -1))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 4 * input_shape[3] * self.grid ** 2)

    def get_config(self):
        return {**super().get_config(), "grid": self.grid, "crop": self.crop,
                "scale": self.scale}


@keras.saving.register_keras_serializable(package="zoo")
class NearestMean(keras.layers.Layer):
    """(batch, d) -> (batch, `classes`) probabilities: softmax of minus the squared distance
    to one learned point per class (a Gaussian class model with a shared identity covariance).
    `classes * d` weights: fewer than a dense softmax's `classes * (d + 1)`."""

    def __init__(self, classes=10, **kwargs):
        super().__init__(**kwargs)
        self.classes = int(classes)

    def build(self, input_shape):
        self.means = self.add_weight(name="means", shape=(self.classes, input_shape[-1]),
                                     initializer="random_normal")

    def call(self, points):
        distances = ops.sum(ops.square(points[:, None, :] - self.means[None, :, :]), axis=-1)
        return ops.softmax(-distances, axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.classes)

    def get_config(self):
        return {**super().get_config(), "classes": self.classes}
