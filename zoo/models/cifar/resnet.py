"""ResNets for 32x32 images (He et al. 2016, section 4.2): depth 6n+2, v1 or v2, widened.

Three stages of n residual blocks at 16k, 32k and 64k channels (k the width multiplier; k > 1
gives the wide ResNets of Zagoruyko and Komodakis 2016), the first block of stages 2 and 3 with
stride 2, then global average pooling and a softmax. Models take raw pixels 0-255 and
standardise them inside with the published per-channel training-set statistics.
"""
import keras

from zoo.layers import ResidualBlock
from zoo.layers.normalization import make_norm
from zoo.models.common import class_count, classifier_with_tta, image_shape

CIFAR_SHAPE = (32, 32, 3)
# per-channel mean and standard deviation of the CIFAR training images (0-255 scale)
CIFAR10_STATS = ((125.307, 122.950, 113.865), (62.993, 62.089, 66.705))
CIFAR100_STATS = ((129.304, 124.070, 112.434), (68.170, 65.392, 70.418))
IMAGE_FIGURES = ("training_curves", "confusion_matrix", "misclassified")


def standardise(pixels, stats):
    """Pixels 0-255 standardised with per-channel `(mean, std)`; images with another number of
    channels than the statistics have are scaled to 0-1 instead."""
    mean, std = stats
    if pixels.shape[-1] != len(mean):
        return keras.layers.Rescaling(1 / 255.0, name="scale_pixels")(pixels)
    return keras.layers.Normalization(mean=mean, variance=[s * s for s in std],
                                      name="standardise")(pixels)


def resnet(depth=20, version=1, width=1, classes=10, stats=CIFAR10_STATS, weight_decay=1e-4,
           tta=None, name="resnet", input_shape=CIFAR_SHAPE):
    """An uncompiled CIFAR ResNet of `depth` = 6n + 2 layers; `tta` (see
    zoo.layers.TestTimeAugmentation) averages its logits over flipped / shifted views."""
    if (depth - 2) % 6:
        raise ValueError(f"depth must be 6n + 2 (20, 32, 44, 56, 110), got {depth}")
    blocks = (depth - 2) // 6
    reg = keras.regularizers.L2(weight_decay) if weight_decay else None
    # two stride-2 stages: 4 pixels a side leave 1 at the end
    inputs = keras.Input(image_shape(name, input_shape, 4), name="pixels")
    x = standardise(inputs, stats)
    x = keras.layers.Conv2D(16 * width, 3, padding="same", use_bias=False,
                            kernel_initializer="he_normal", kernel_regularizer=reg,
                            name="stem")(x)
    if version == 1:
        x = keras.layers.Activation("relu")(make_norm("batch", "stem_norm")(x))
    for stage, filters in enumerate((16 * width, 32 * width, 64 * width)):
        for i in range(blocks):
            x = ResidualBlock(filters, strides=2 if stage and not i else 1, version=version,
                              weight_decay=weight_decay, name=f"stage{stage + 1}_block{i + 1}")(x)
    if version == 2:
        x = keras.layers.Activation("relu")(make_norm("batch", "final_norm")(x))
    x = keras.layers.GlobalAveragePooling2D()(x)
    logits = keras.layers.Dense(class_count(name, classes), kernel_regularizer=reg,
                                name="logits")(x)
    return classifier_with_tta(keras.Model(inputs, logits, name="network"), tta, name)
