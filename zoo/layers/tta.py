"""Test-time augmentation as a wrapper layer: one view in training, a weighted average at test.

airbench's level-2 TTA: half the weight on the image and its mirror image, half on the two
one-pixel diagonal translations (reflect-padded) and their mirror images. "translate" is the
same without mirrors, for images whose mirror image is another thing (digits). The wrapped
layer's outputs (logits) are averaged, not probabilities.
"""
import keras
from keras import ops

# view name -> weight; "shift+" moves content down-right by one pixel, "shift-" up-left
VIEWS = {
    "none": {"identity": 1.0},
    "mirror": {"identity": 0.5, "mirror": 0.5},
    "mirror_translate": {"identity": 0.25, "mirror": 0.25, "shift+": 0.125,
                         "shift+ mirror": 0.125, "shift-": 0.125, "shift- mirror": 0.125},
    "translate": {"identity": 0.5, "shift+": 0.25, "shift-": 0.25},
}


def view(images, name):
    """One named view of an NHWC batch."""
    x = images
    if name.startswith("shift"):
        padded = ops.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="reflect")
        h, w = ops.shape(x)[1], ops.shape(x)[2]
        x = padded[:, :h, :w] if name.startswith("shift+") else padded[:, 2:h + 2, 2:w + 2]
    if name.endswith("mirror"):
        x = ops.flip(x, axis=2)
    return x


def checked_views(views):
    """`views` if it names an entry of VIEWS, else a ValueError listing them."""
    if views not in VIEWS:
        raise ValueError(f"views must be one of {sorted(VIEWS)}, got {views!r}")
    return views


@keras.saving.register_keras_serializable(package="zoo")
class TestTimeAugmentation(keras.layers.Wrapper):
    """Calls `layer` on the input when training; at inference returns the weighted average of
    `layer` over the views of `views` ("none", "mirror", "mirror_translate" or "translate"),
    computed as one batch."""

    __test__ = False  # not a pytest class despite its name

    def __init__(self, layer, views="mirror_translate", **kwargs):
        super().__init__(layer, **kwargs)
        self.views = checked_views(views)

    def call(self, inputs, training=None):
        weights = VIEWS[self.views]
        if training or len(weights) == 1:
            # the wrapped layer has its own policy: outputs follow this layer's
            return ops.cast(self.layer(inputs, training=training), self.compute_dtype)
        batch = ops.shape(inputs)[0]
        stacked = ops.concatenate([view(inputs, name) for name in weights], axis=0)
        outputs = ops.cast(self.layer(stacked, training=False), self.compute_dtype)
        outputs = ops.reshape(outputs, (len(weights), batch, *outputs.shape[1:]))
        w = ops.cast(ops.convert_to_tensor(list(weights.values())), outputs.dtype)
        return ops.tensordot(w, outputs, axes=1)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "views": self.views}
