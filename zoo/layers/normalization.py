"""Choosing a normalisation layer by name, so blocks can make it configurable."""
import math

import keras

NORMS = ("batch", "layer", "group", None)


def make_norm(norm, name=None, channels=None, **kwargs):
    """Return a normalisation layer for channels-last tensors, or an identity for `None`.

    Group normalisation uses 8 groups, or the largest divisor of `channels` below 8 when 8 does
    not divide them (GroupNormalization refuses a count that does not)."""
    if norm == "batch":
        return keras.layers.BatchNormalization(name=name, **kwargs)
    if norm == "layer":
        return keras.layers.LayerNormalization(name=name, **kwargs)
    if norm == "group":
        groups = math.gcd(8, int(channels)) if channels else 8
        return keras.layers.GroupNormalization(groups=groups, name=name, **kwargs)
    if norm is None or norm == "none":
        return keras.layers.Identity(name=name)
    raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")


@keras.saving.register_keras_serializable(package="zoo")
class BiasBoostedBatchNorm(keras.layers.Layer):
    """BatchNorm with no learned scale and a bias that learns `bias_lr_scale` times faster.

    airbench trains BatchNorm biases at 64x the learning rate of the other weights. One
    optimiser cannot do that in Keras, so the bias is stored as b / sqrt(s) and multiplied back
    by sqrt(s): the gradient on the stored value grows by sqrt(s) and so does each step's effect,
    a factor s on the bias's own learning rate. `momentum` is Keras': the share of the running
    statistics kept at each step (PyTorch's `momentum` is the share replaced).
    """

    def __init__(self, momentum=0.4, epsilon=1e-12, bias_lr_scale=64.0, **kwargs):
        super().__init__(**kwargs)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.bias_lr_scale = float(bias_lr_scale)
        self.norm = keras.layers.BatchNormalization(momentum=momentum, epsilon=epsilon,
                                                    center=False, scale=False, name="norm",
                                                    dtype=self.dtype_policy)

    def build(self, input_shape):
        self.norm.build(input_shape)
        self.bias = self.add_weight(name="bias", shape=(int(input_shape[-1]),),
                                    initializer="zeros")

    def call(self, inputs, training=None):
        boost = self.bias_lr_scale ** 0.5
        return self.norm(inputs, training=training) + keras.ops.cast(self.bias * boost,
                                                                     inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "epsilon": self.epsilon,
                "bias_lr_scale": self.bias_lr_scale}
