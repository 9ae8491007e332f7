"""Residual blocks (He et al. 2016): basic and bottleneck, post- (v1) and pre-activation (v2)."""
import keras

from zoo.layers.normalization import make_norm


@keras.saving.register_keras_serializable(package="zoo")
class ResidualBlock(keras.layers.Layer):
    """A residual block for NHWC images.

    `basic`: two 3x3 convolutions. `bottleneck`: 1x1 (filters / 4), 3x3 (filters / 4), 1x1
    (filters). `version=1` is post-activation (conv, norm, act; the activation follows the sum);
    `version=2` is pre-activation (norm, act, conv; nothing follows the sum). When the stride or
    the number of channels changes, the shortcut is a strided 1x1 convolution (plus norm in v1).

    Args:
        filters: output channels.
        strides: stride of the first spatial convolution (and of the shortcut).
        kind: `"basic"` or `"bottleneck"`.
        version: 1 (post-activation) or 2 (pre-activation).
        norm: `"batch"`, `"layer"`, `"group"` or `None`.
        activation: any Keras activation name.
        weight_decay: L2 factor on convolution kernels (0 disables it).

    Example:
    >>> block = ResidualBlock(32, strides=2)
    >>> block(np.zeros((2, 16, 16, 16), "float32")).shape
    (2, 8, 8, 32)
    """

    def __init__(self, filters, strides=1, kind="basic", version=1, norm="batch",
                 activation="relu", weight_decay=0.0, **kwargs):
        super().__init__(**kwargs)
        if kind not in ("basic", "bottleneck"):
            raise ValueError(f"kind must be 'basic' or 'bottleneck', got {kind!r}")
        if version not in (1, 2):
            raise ValueError(f"version must be 1 or 2, got {version!r}")
        self.filters = int(filters)
        self.strides = int(strides)
        self.kind = kind
        self.version = int(version)
        self.norm = norm
        self.activation = activation
        self.weight_decay = float(weight_decay)

        inner = self.filters // 4 if kind == "bottleneck" else self.filters
        specs = ([(inner, 1, 1), (inner, 3, self.strides), (self.filters, 1, 1)]
                 if kind == "bottleneck" else [(inner, 3, self.strides), (self.filters, 3, 1)])
        self.convs = [self._conv(f, k, s, f"conv{i}") for i, (f, k, s) in enumerate(specs)]
        # v1 normalises each convolution's output; v2 each convolution's input, the first of
        # which is the block's input (its width known in build(), where that norm is made)
        widths = [f for f, _, _ in specs] if self.version == 1 else [None] + [
            f for f, _, _ in specs[:-1]]
        self.norms = [make_norm(norm, f"norm{i}", w, dtype=self.dtype_policy)
                      for i, w in enumerate(widths)]
        self.acts = [keras.layers.Activation(activation, name=f"act{i}", dtype=self.dtype_policy)
                     for i in range(len(specs))]
        self.shortcut_conv = None
        self.shortcut_norm = None

    def _conv(self, filters, size, strides, name):
        reg = keras.regularizers.L2(self.weight_decay) if self.weight_decay else None
        return keras.layers.Conv2D(filters, size, strides=strides, padding="same", use_bias=False,
                                   kernel_initializer="he_normal", kernel_regularizer=reg,
                                   name=name, dtype=self.dtype_policy)

    def build(self, input_shape):
        channels = int(input_shape[-1])
        if self.version == 2 and self.norm == "group":  # its groups must divide the input
            del self.norms[0]
            self.norms.insert(0, make_norm("group", "norm0", channels, dtype=self.dtype_policy))
        if self.strides != 1 or channels != self.filters:
            self.shortcut_conv = self._conv(self.filters, 1, self.strides, "shortcut_conv")
            self.shortcut_conv.build(input_shape)
            if self.version == 1:
                self.shortcut_norm = make_norm(self.norm, "shortcut_norm", self.filters,
                                               dtype=self.dtype_policy)
                self.shortcut_norm.build(self.shortcut_conv.compute_output_shape(input_shape))
        shape = input_shape
        for i, conv in enumerate(self.convs):
            if self.version == 2:
                self.norms[i].build(shape)
            conv.build(shape)
            shape = conv.compute_output_shape(shape)
            if self.version == 1:
                self.norms[i].build(shape)

    def call(self, x, training=None):
        if self.version == 1:
            y = x
            for i, conv in enumerate(self.convs):
                y = self.norms[i](conv(y), training=training)
                if i < len(self.convs) - 1:
                    y = self.acts[i](y)
            shortcut = x
            if self.shortcut_conv is not None:
                shortcut = self.shortcut_norm(self.shortcut_conv(x), training=training)
            return self.acts[-1](y + shortcut)
        # v2: the first norm+act is shared by the residual path and the projection shortcut.
        pre = self.acts[0](self.norms[0](x, training=training))
        y = self.convs[0](pre)
        for i in range(1, len(self.convs)):
            y = self.convs[i](self.acts[i](self.norms[i](y, training=training)))
        shortcut = x if self.shortcut_conv is None else self.shortcut_conv(pre)
        return y + shortcut

    def compute_output_shape(self, input_shape):
        shape = input_shape
        for conv in self.convs:
            shape = conv.compute_output_shape(shape)
        return shape

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, strides=self.strides, kind=self.kind,
                      version=self.version, norm=self.norm, activation=self.activation,
                      weight_decay=self.weight_decay)
        return config
