"""Layers of the generative models: the reparameterisation trick, a sinusoidal time embedding,
and the U-Net's residual block conditioned on an embedding, with self-attention on feature maps
from the zoo's transformer block."""
import math

import keras
from keras import ops

from zoo.layers.attention import TransformerEncoderBlock


@keras.saving.register_keras_serializable(package="zoo")
class GaussianSample(keras.layers.Layer):
    """z = mean + exp(log_var / 2) * eps, eps ~ N(0, I) (Kingma & Welling 2014): a sample
    through which gradients reach `mean` and `log_var`. Outside training it returns `mean`
    unless `always=True`.

    Example:
    >>> z = GaussianSample(seed=0)([np.zeros((2, 3)), np.zeros((2, 3))], training=True)
    >>> z.shape
    (2, 3)
    """

    def __init__(self, seed=None, always=False, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.always = bool(always)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        mean, log_var = inputs
        if not (training or self.always):
            return mean
        eps = keras.random.normal(ops.shape(mean), dtype=mean.dtype, seed=self.seed_generator)
        return mean + ops.exp(0.5 * log_var) * eps

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "seed": self.seed, "always": self.always}


@keras.saving.register_keras_serializable(package="zoo")
class SinusoidalEmbedding(keras.layers.Layer):
    """Transformer-style embedding of a (diffusion) step t: `dim / 2` sines and cosines of t at
    frequencies from 1 to 1 / `max_period`, geometrically spaced (Vaswani et al. 2017; Ho et al.
    2020). No weights.

    Example:
    >>> SinusoidalEmbedding(8)(np.array([0, 10, 999])).shape
    (3, 8)
    """

    def __init__(self, dim, max_period=10_000.0, **kwargs):
        super().__init__(**kwargs)
        if dim % 2:
            raise ValueError(f"dim must be even, got {dim}")
        self.dim = int(dim)
        self.max_period = float(max_period)

    def call(self, steps):
        half = self.dim // 2
        frequencies = ops.exp(-math.log(self.max_period) * ops.arange(half, dtype="float32") / half)
        angles = ops.cast(ops.reshape(steps, (-1, 1)), "float32") * frequencies[None, :]
        return ops.cast(ops.concatenate([ops.sin(angles), ops.cos(angles)], axis=-1),
                        self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.dim)

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "max_period": self.max_period}


@keras.saving.register_keras_serializable(package="zoo")
class ConditionedResidualBlock(keras.layers.Layer):
    """The U-Net block of DDPM (Ho et al. 2020): norm, swish, 3x3 conv; plus a projection of
    the conditioning vector (time and label embedding) added per channel; norm, swish, 3x3
    conv; a 1x1 shortcut when the width changes. Inputs: `[feature_map, condition]`.

    Example:
    >>> block = ConditionedResidualBlock(8, groups=4)
    >>> block([np.zeros((2, 6, 6, 4)), np.zeros((2, 16))]).shape
    (2, 6, 6, 8)
    """

    def __init__(self, filters, groups=8, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.groups = int(groups)
        policy = dict(dtype=self.dtype_policy)
        self.norm0 = None  # its group count depends on the input width, known in build()
        self.conv0 = keras.layers.Conv2D(self.filters, 3, padding="same", name="conv0", **policy)
        self.condition = keras.layers.Dense(self.filters, name="condition", **policy)
        self.norm1 = keras.layers.GroupNormalization(math.gcd(self.groups, self.filters),
                                                     name="norm1", **policy)
        self.conv1 = keras.layers.Conv2D(self.filters, 3, padding="same", name="conv1", **policy)
        self.shortcut = None

    def build(self, input_shape):
        maps, condition = input_shape
        width = int(maps[-1])
        groups = math.gcd(self.groups, width)
        self.norm0 = keras.layers.GroupNormalization(groups, name="norm0", dtype=self.dtype_policy)
        self.norm0.build(maps)
        self.conv0.build(maps)
        out = tuple(maps[:-1]) + (self.filters,)
        self.condition.build(condition)
        self.norm1.build(out)
        self.conv1.build(out)
        if width != self.filters:
            self.shortcut = keras.layers.Conv2D(self.filters, 1, name="shortcut",
                                                dtype=self.dtype_policy)
            self.shortcut.build(maps)

    def call(self, inputs):
        maps, condition = inputs
        h = self.conv0(ops.silu(self.norm0(maps)))
        h = h + self.condition(ops.silu(condition))[:, None, None, :]
        h = self.conv1(ops.silu(self.norm1(h)))
        return h + (self.shortcut(maps) if self.shortcut is not None else maps)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0][:-1]) + (self.filters,)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "groups": self.groups}


@keras.saving.register_keras_serializable(package="zoo")
class SpatialSelfAttention(keras.layers.Layer):
    """Self-attention over the positions of a feature map: (batch, h, w, c) read as h * w
    tokens of width c through the zoo's pre-norm `TransformerEncoderBlock` (no dropout), and
    back. Used at low resolution (7x7 for MNIST) where h * w is small.

    Example:
    >>> SpatialSelfAttention(num_heads=2)(np.zeros((2, 3, 3, 8))).shape
    (2, 3, 3, 8)
    """

    def __init__(self, num_heads=4, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = int(num_heads)
        self.block = None  # its feed-forward width follows the channels, known in build()

    def build(self, input_shape):
        channels = int(input_shape[-1])
        self.block = TransformerEncoderBlock(self.num_heads, 2 * channels, dropout=0.0,
                                             norm_first=True, name="block",
                                             dtype=self.dtype_policy)
        self.block.build((input_shape[0], int(input_shape[1]) * int(input_shape[2]), channels))

    def call(self, maps):
        shape = ops.shape(maps)
        tokens = ops.reshape(maps, (shape[0], shape[1] * shape[2], shape[3]))
        return ops.reshape(self.block(tokens), shape)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads}
