"""A frozen patch-whitening convolution (airbench, Jordan 2024) and the hook that fits it.

`PatchWhitening` is a valid-padded k x k convolution whose filters are the eigenvectors of the
second-moment matrix of k x k input patches, each scaled by 1 / sqrt(eigenvalue + epsilon), and
the same filters negated (so a ReLU-like activation after it loses nothing). The filters are not
trained; only the bias is. `adapt(x)` computes them from a batch of inputs as the layer sees them;
`adapt_whitening(model, images)` does that for every such layer inside a (nested) model.
"""
import keras
import numpy as np
from keras import ops


def image_patches(x, kernel_size):
    """All `kernel_size` x `kernel_size` patches of NHWC `x`, flattened in (row, col, channel)
    order: shape (N * (H - k + 1) * (W - k + 1), k * k * C)."""
    x = np.asarray(x, dtype=np.float64)
    k = kernel_size
    windows = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(1, 2))
    # (N, H-k+1, W-k+1, C, k, k) -> (..., k, k, C)
    windows = np.moveaxis(windows, 3, -1)
    return windows.reshape(-1, k * k * x.shape[-1])


def whitening_filters(patches, epsilon):
    """(k*k*C, 2*k*k*C) filters: eigenvectors of the patches' second moments, largest
    eigenvalue first, scaled by 1 / sqrt(eigenvalue + epsilon), then the same negated."""
    patches = np.asarray(patches, dtype=np.float64)
    moments = patches.T @ patches / len(patches)
    eigenvalues, eigenvectors = np.linalg.eigh(moments)
    order = np.argsort(eigenvalues)[::-1]
    scaled = eigenvectors[:, order] / np.sqrt(np.maximum(eigenvalues[order], 0) + epsilon)
    return np.concatenate([scaled, -scaled], axis=1)


@keras.saving.register_keras_serializable(package="zoo")
class PatchWhitening(keras.layers.Layer):
    """k x k valid convolution to 2 k^2 C channels with whitening filters fitted by `adapt`.

    Until `adapt` is called the filters are random (He-uniform), so an un-adapted layer is an
    ordinary frozen random convolution, never silently zero.
    """

    def __init__(self, kernel_size=2, epsilon=5e-4, **kwargs):
        super().__init__(**kwargs)
        self.kernel_size = int(kernel_size)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        channels = int(input_shape[-1])
        k = self.kernel_size
        self.filters = 2 * k * k * channels
        self.kernel = self.add_weight(name="kernel", shape=(k, k, channels, self.filters),
                                      initializer="he_uniform", trainable=False)
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")

    def adapt(self, x):
        """Fit the filters to `x` (NHWC, as this layer receives it: e.g. already standardised)."""
        x = np.asarray(x)
        if x.ndim != 4:
            raise ValueError(f"PatchWhitening.adapt expects NHWC images, got shape {x.shape}")
        if not self.built:
            self.build(x.shape)
        k, channels = self.kernel_size, x.shape[-1]
        filters = whitening_filters(image_patches(x, k), self.epsilon)
        self.kernel.assign(filters.reshape(k, k, channels, self.filters).astype("float32"))

    def call(self, inputs):
        kernel = ops.cast(self.kernel, inputs.dtype)
        return ops.conv(inputs, kernel, strides=1, padding="valid") + ops.cast(self.bias,
                                                                                inputs.dtype)

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape
        k = self.kernel_size
        return (n, None if h is None else h - k + 1, None if w is None else w - k + 1,
                2 * k * k * input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "kernel_size": self.kernel_size, "epsilon": self.epsilon}


def _walk(layer):
    yield layer
    for child in getattr(layer, "layers", None) or ():
        yield from _walk(child)
    inner = getattr(layer, "layer", None)  # wrappers
    if isinstance(inner, keras.layers.Layer):
        yield from _walk(inner)


def _owner(model, target):
    """The functional model whose graph calls `target` directly."""
    for layer in _walk(model):
        if isinstance(layer, keras.Model) and any(child is target for child in layer.layers):
            return layer
    raise ValueError(f"{target.name} is not inside a functional model")


def whitening_layers(model):
    """Every PatchWhitening layer in `model`, nested models and wrappers included."""
    return [layer for layer in _walk(model) if isinstance(layer, PatchWhitening)]


def adapt_whitening(model, images, sample=5000):
    """Fit every PatchWhitening layer in `model` to the first `sample` of `images` (raw model
    inputs), fed through the layers before it. Returns the number of layers adapted."""
    layers = whitening_layers(model)
    for layer in layers:
        owner = _owner(model, layer)
        feeder = keras.Model(owner.inputs, layer.input)
        layer.adapt(keras.ops.convert_to_numpy(
            feeder.predict(np.asarray(images[:sample]), batch_size=500, verbose=0)))
    return len(layers)
