"""The registered CIFAR models: their builders (optimiser included) and search spaces. The
networks are in `fastnet.py` (airbench94's) and `resnet.py` (He et al.'s), the recipes in
`recipes.py`."""
import keras

from zoo.models.cifar.fastnet import fastnet
from zoo.models.cifar.recipes import RECIPES
from zoo.models.cifar.resnet import (CIFAR10_STATS, CIFAR100_STATS, CIFAR_SHAPE, IMAGE_FIGURES,
                                     resnet)
from zoo.models.common import compile_for, make_optimizer
from zoo.optimizers import ConvMuon
from zoo.registry import register_model


def _resnet_space(hp):
    return {"depth": hp.Choice("depth", [20, 32, 56], default=20),
            "learning_rate": hp.Float("learning_rate", 0.02, 0.5, sampling="log", default=0.1),
            "weight_decay": hp.Float("weight_decay", 1e-5, 1e-3, sampling="log", default=1e-4)}


@register_model(
    description="CIFAR-10 ResNet-20 as in He et al. 2016 (the paper's reference point)",
    dataset="cifar10", kind="classification", metric="accuracy", bar={"accuracy": 0.9125},
    search_space=_resnet_space, figures=IMAGE_FIGURES, input_kind="image",
    recipe=RECIPES["cifar10_resnet20"])
def cifar10_resnet20(depth=20, version=1, width=1, learning_rate=0.1, weight_decay=1e-4,
                     tta="mirror_translate", input_shape=CIFAR_SHAPE, num_classes=10):
    """ResNet-20 v1 (0.27 M parameters), SGD with Nesterov momentum 0.9 and L2 1e-4 at the
    paper's rate 0.1 for batch 128 (the recipe's peak of a one-cycle schedule); evaluated with
    test-time augmentation."""
    model = resnet(depth, version, width, num_classes, CIFAR10_STATS, weight_decay, tta,
                   "cifar10_resnet20", input_shape)
    return compile_for(model, "classification", make_optimizer("nesterov", learning_rate),
                       top5=num_classes > 5)


def _space(default_rate, default_decay=1.33e-3):
    def space(hp):
        return {"learning_rate": hp.Float("learning_rate", 0.25, 3.0, sampling="log",
                                          default=default_rate),
                "label_smoothing": hp.Float("label_smoothing", 0.0, 0.3, step=0.1, default=0.2),
                "weight_decay": hp.Float("weight_decay", 3e-4, 3e-3, sampling="log",
                                         default=default_decay)}
    return space


@register_model(
    description="airbench94-style fast CIFAR-10 network (whitening, TTA, weight averaging)",
    dataset="cifar10", kind="classification", metric="accuracy", bar={"accuracy": 0.94},
    goal={"accuracy": 0.95}, search_space=_space(1.5), figures=IMAGE_FIGURES,
    input_kind="image", recipe=RECIPES["cifar10_fastnet"])
def cifar10_fastnet(learning_rate=1.5, momentum=0.85, label_smoothing=0.2,
                    weight_decay=1.33e-3, tta="mirror_translate", input_shape=CIFAR_SHAPE,
                    num_classes=10):
    """airbench94's network and optimiser (2.0 M parameters), rates per mean-reduced loss:
    its 11.5 per 1024 examples of summed loss is 1.5 here at any batch size."""
    model = fastnet(num_classes, tta=tta, weight_decay=weight_decay, name="cifar10_fastnet",
                    input_shape=input_shape)
    return compile_for(model, "classification", _nesterov(learning_rate, momentum),
                       top5=num_classes > 5, label_smoothing=label_smoothing)


@register_model(
    description="airbench95-style CIFAR-10 network: fastnet widened to 128/384/384, 15 epochs",
    dataset="cifar10", kind="classification", metric="accuracy", bar={"accuracy": 0.945},
    goal={"accuracy": 0.95}, search_space=_space(1.3, 1.53e-3), figures=IMAGE_FIGURES,
    input_kind="image", recipe=RECIPES["cifar10_fastnet95"])
def cifar10_fastnet95(learning_rate=1.3, momentum=0.85, label_smoothing=0.2,
                      weight_decay=1.53e-3, tta="mirror_translate", input_shape=CIFAR_SHAPE,
                      num_classes=10):
    """airbench95 (Jordan 2024: 95.01% mean in 15 epochs on a GPU): airbench94's network with
    its groups widened from 64/256/256 to 128/384/384 (4.6 M parameters) and its learning
    rate lowered from 11.5 to 10 per 1,024 examples of summed loss: 1.3 here per mean-reduced
    loss (fastnet's 1.5 x 10 / 11.5), with the L2 coefficient raised to keep its decay per
    step (1.53e-3 = 1.33e-3 x 11.5 / 10). BatchNorm keeps 0.6 of its running statistics, as
    airbench's does (cifar10_fastnet's 0.4 is a slip kept for its artifact)."""
    model = fastnet(num_classes, widths=(128, 384, 384), tta=tta, weight_decay=weight_decay,
                    batchnorm_momentum=0.6, name="cifar10_fastnet95", input_shape=input_shape)
    return compile_for(model, "classification", _nesterov(learning_rate, momentum),
                       top5=num_classes > 5, label_smoothing=label_smoothing)


def _muon_space(hp):
    return {"learning_rate": hp.Float("learning_rate", 0.08, 0.6, sampling="log", default=0.24),
            "sgd_learning_rate": hp.Float("sgd_learning_rate", 0.5, 5.0, sampling="log",
                                          default=1.66),
            "label_smoothing": hp.Float("label_smoothing", 0.0, 0.3, step=0.1, default=0.2)}


@register_model(
    description="airbench94_muon-style CIFAR-10 network: Muon on the filters, 94% in 10 epochs",
    dataset="cifar10", kind="classification", metric="accuracy", bar={"accuracy": 0.94},
    search_space=_muon_space, figures=IMAGE_FIGURES, input_kind="image",
    recipe=RECIPES["cifar10_muon"])
def cifar10_muon(learning_rate=0.24, momentum=0.6, sgd_learning_rate=1.66, sgd_momentum=0.85,
                 label_smoothing=0.2, weight_decay=2.4e-3, tta="mirror_translate",
                 input_shape=CIFAR_SHAPE, num_classes=10):
    """fastnet's network trained as airbench94_muon (Jordan 2024): the filters by Muon
    (`zoo.optimizers.ConvMuon`, rate 0.24, momentum 0.6, each filter bank held at norm
    sqrt(out)), the rest by Nesterov SGD (momentum 0.85). Its rates of 0.053 (biases) and 0.67
    (logits at 1/256) per example of a summed loss over batches of 2,000 are, per mean-reduced
    loss, 106 for the biases (1.66 here: BatchNorm biases learn 64x through
    `BiasBoostedBatchNorm`, the whitening bias through `rate_scales`) and 1.66 for the logits
    at fastnet's scale of 1/9 (the same step in logit space: 1340 / 256^2 = 1.66 / 9^2), with
    the initial logit weights scaled alike. Its decay of 0.4% a step is `weight_decay` =
    0.004 / 1.66 on the logits; none on the filters, whose scale is fixed. BatchNorm momentum
    0.6 as Keras counts it (PyTorch's 0.4, airbench's `BatchNorm(momentum=0.6)`)."""
    head_limit = 3 ** 0.5 * 9 / 256  # uniform with std 1 at a scale of 1/256
    model = fastnet(num_classes, tta=tta, weight_decay=weight_decay, batchnorm_momentum=0.6,
                    decay_filters=False, name="cifar10_muon", input_shape=input_shape,
                    logits_initializer=keras.initializers.RandomUniform(-head_limit,
                                                                        head_limit))
    optimizer = ConvMuon(learning_rate, momentum, sgd_rate_scale=sgd_learning_rate /
                         learning_rate, sgd_momentum=sgd_momentum,
                         rate_scales={r"^whiten/bias$": 64.0})
    return compile_for(model, "classification", optimizer, top5=num_classes > 5,
                       label_smoothing=label_smoothing)


@register_model(
    description="CIFAR-100 residual fast network: ResNet-9 layout, airbench's whitening and TTA",
    dataset="cifar100", kind="classification", metric="top5_accuracy",
    bar={"top5_accuracy": 0.90}, goal={"top5_accuracy": 0.93, "accuracy": 0.72},
    search_space=_space(0.75), figures=("training_curves",), input_kind="image",
    recipe=RECIPES["cifar100_resnet"])
def cifar100_resnet(learning_rate=0.75, momentum=0.85, label_smoothing=0.2,
                    weight_decay=1.33e-3, tta="mirror_translate", input_shape=CIFAR_SHAPE,
                    num_classes=100):
    """fastnet with residual blocks (two convs each) after the pooled convs of groups 1 and 3,
    as in Page's ResNet-9 (2.6 M parameters); top-1 and top-5 accuracy. Half fastnet's
    learning rate: at 1.5 the residual sums made the first steps of a 16-step probe on real
    CIFAR-100 batches climb instead of fall (0.5-0.75 descended steadily)."""
    model = fastnet(num_classes, stats=CIFAR100_STATS, tta=tta, weight_decay=weight_decay,
                    residual=(True, False, True), name="cifar100_resnet",
                    input_shape=input_shape)
    return compile_for(model, "classification", _nesterov(learning_rate, momentum),
                       top5=num_classes > 5, label_smoothing=label_smoothing)


def _nesterov(learning_rate, momentum):
    return keras.optimizers.SGD(learning_rate, momentum=momentum, nesterov=True)
