"""A fast CIFAR network after airbench94 (Jordan 2024, "94% on CIFAR-10 in 3.29 seconds").

What makes it fast, and how each piece is expressed here:
- a frozen 2x2 patch-whitening first layer fitted to training patches (`PatchWhitening`; the
  fit loop calls `zoo.layers.adapt_whitening` on 5,000 training images before training);
- three conv groups (conv -> max-pool -> BN -> GELU -> conv -> BN -> GELU) at widths 64, 256,
  256, with few channels at full resolution;
- BatchNorm without a learned scale, and biases learning 64x faster (`BiasBoostedBatchNorm`);
  airbench's `BatchNorm(momentum=0.6)` keeps 0.6 of its running statistics a step, which is
  Keras' momentum 0.6 (`cifar10_muon`); the default here, 0.4, keeps 0.4 (`cifar10_fastnet`'s
  and `cifar100_resnet`'s artifacts were trained with it);
- convolutions initialised as identities on their first input-many filters ("dirac");
- logits scaled by 1/9, label smoothing 0.2, Nesterov SGD at a large rate with L2;
- flip and 2-pixel reflect-padded translation (recipe), lookahead weight averaging (recipe's
  `weight_averaging`), and mirror + translate test-time augmentation (`TestTimeAugmentation`).
Like every image model in the zoo it takes raw pixels 0-255 and outputs class probabilities.
"""
import keras
import numpy as np

from zoo.layers import BiasBoostedBatchNorm, PatchWhitening
from zoo.models.cifar.resnet import CIFAR10_STATS, CIFAR_SHAPE, standardise
from zoo.models.common import class_count, classifier_with_tta, image_shape


@keras.saving.register_keras_serializable(package="zoo")
class PartialDirac(keras.initializers.Initializer):
    """PyTorch's default conv initialisation (uniform +-1/sqrt(fan_in)) with the first
    min(in, out) filters replaced by identities (each passes one input channel through)."""

    def __init__(self, seed=None):
        self.seed = seed

    def __call__(self, shape, dtype=None):
        kh, kw, cin, cout = shape
        base = keras.initializers.VarianceScaling(1 / 3, "fan_in", "uniform", seed=self.seed)
        weights = keras.ops.convert_to_numpy(base(shape, dtype="float32"))
        n = min(cin, cout)
        weights[:, :, :, :n] = 0.0
        weights[kh // 2, kw // 2, np.arange(n), np.arange(n)] = 1.0
        return keras.ops.convert_to_tensor(weights, dtype=dtype or "float32")

    def get_config(self):
        return {"seed": self.seed}


def conv_norm_gelu(x, filters, momentum, bias_lr_scale, reg, name, pool=False):
    """conv 3x3 -> (max-pool 2) -> BatchNorm -> GELU."""
    x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False,
                            kernel_initializer=PartialDirac(), kernel_regularizer=reg,
                            name=f"{name}_conv")(x)
    if pool:
        x = keras.layers.MaxPooling2D(2, name=f"{name}_pool")(x)
    x = BiasBoostedBatchNorm(momentum, 1e-12, bias_lr_scale, name=f"{name}_norm")(x)
    return keras.layers.Activation("gelu", name=f"{name}_gelu")(x)


def conv_group(x, filters, momentum, bias_lr_scale, reg, name, residual=False):
    """airbench's group (a pooled conv, then a conv); `residual` makes the second part a
    two-conv residual block around the pooled output (the ResNet-9 layout)."""
    args = (filters, momentum, bias_lr_scale, reg)
    x = conv_norm_gelu(x, *args, f"{name}_1", pool=True)
    if not residual:
        return conv_norm_gelu(x, *args, f"{name}_2")
    branch = conv_norm_gelu(conv_norm_gelu(x, *args, f"{name}_res1"), *args, f"{name}_res2")
    return keras.layers.Add(name=f"{name}_add")([x, branch])


def fastnet(classes=10, widths=(64, 256, 256), stats=CIFAR10_STATS, tta="mirror_translate",
            batchnorm_momentum=0.4, bias_lr_scale=64.0, weight_decay=1.33e-3,
            output_scale=1 / 9, residual=(False, False, False), name="fastnet",
            input_shape=CIFAR_SHAPE, decay_filters=True, logits_initializer="glorot_uniform"):
    """An uncompiled airbench-style network: pixels -> TTA(network logits) -> softmax.

    `weight_decay` is the L2 gradient coefficient (grad += weight_decay * w) on the logits'
    kernel and, with `decay_filters`, on every convolution's; `residual[i]` makes group i a
    residual group.
    """
    head_reg = keras.regularizers.L2(weight_decay / 2) if weight_decay else None
    reg = head_reg if decay_filters else None
    # a 2x2 valid whitening (one pixel less) and three 2x poolings: 9 pixels leave 1
    pixels = keras.Input(image_shape(name, input_shape, 9), name="pixels")
    x = PatchWhitening(2, 5e-4, name="whiten")(standardise(pixels, stats))
    x = keras.layers.Activation("gelu", name="whiten_gelu")(x)
    for i, (width, res) in enumerate(zip(widths, residual)):
        x = conv_group(x, width, batchnorm_momentum, bias_lr_scale, reg, f"group{i + 1}", res)
    x = keras.layers.GlobalMaxPooling2D(name="pool")(x)
    x = keras.layers.Dense(class_count(name, classes), use_bias=False,
                           kernel_initializer=logits_initializer, kernel_regularizer=head_reg,
                           name="logits")(x)
    x = keras.layers.Rescaling(output_scale, name="scale")(x)
    return classifier_with_tta(keras.Model(pixels, x, name="network"), tta, name)
