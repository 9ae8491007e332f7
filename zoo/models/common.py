"""What every builder shares: optimisers by name, and compiling for a task kind."""
import keras

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop")


def make_optimizer(name, learning_rate, weight_decay=None, **kwargs):
    """An optimiser by name. `weight_decay` is decoupled decay (AdamW / SGDW-style)."""
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, weight_decay=weight_decay, **kwargs)
    if name in ("momentum", "nesterov"):
        return keras.optimizers.SGD(learning_rate, momentum=0.9, nesterov=name == "nesterov",
                                    weight_decay=weight_decay, **kwargs)
    if name == "adam":
        return keras.optimizers.Adam(learning_rate, weight_decay=weight_decay, **kwargs)
    if name == "adamw":
        return keras.optimizers.AdamW(learning_rate, weight_decay=weight_decay or 1e-4, **kwargs)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate, weight_decay=weight_decay, **kwargs)
    raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {name!r}")


def compile_for(model, kind, optimizer, top5=False, label_smoothing=0.0, jit_compile="auto"):
    """Compile `model` with the loss and metrics of its task kind and return it.

    classification: softmax probabilities, sparse integer labels, `accuracy` (+ `top5_accuracy`);
    binary: one sigmoid probability, `accuracy` at 0.5; regression: mean squared error `mse`.
    """
    if kind == "classification":
        if label_smoothing:
            loss = SmoothedSparseCrossentropy(label_smoothing)
        else:
            loss = keras.losses.SparseCategoricalCrossentropy()
        metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
        if top5:
            metrics.append(keras.metrics.SparseTopKCategoricalAccuracy(5, name="top5_accuracy"))
    elif kind == "binary":
        loss = keras.losses.BinaryCrossentropy()
        metrics = [keras.metrics.BinaryAccuracy(name="accuracy")]
    elif kind == "regression":
        loss = keras.losses.MeanSquaredError()
        metrics = [keras.metrics.MeanSquaredError(name="mse")]
    else:
        raise ValueError(f"unknown task kind {kind!r}")
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics, jit_compile=jit_compile)
    return model


@keras.saving.register_keras_serializable(package="zoo")
def member_crossentropy(labels, probabilities):
    """Sparse cross-entropy of each member's `(batch, members, classes)` probabilities, averaged
    over the members."""
    labels = keras.ops.repeat(keras.ops.expand_dims(labels, 1), probabilities.shape[1], 1)
    return keras.losses.sparse_categorical_crossentropy(labels, probabilities)


@keras.saving.register_keras_serializable(package="zoo")
def ensemble_accuracy(labels, probabilities):
    """Accuracy of the members' average probabilities (of the probabilities when 2-D)."""
    if len(probabilities.shape) == 3:
        probabilities = keras.ops.mean(probabilities, axis=1)
    return keras.metrics.sparse_categorical_accuracy(labels, probabilities)


def classifier_with_tta(network, tta, name):
    """pixels -> TestTimeAugmentation(network) -> softmax: `network` maps images to logits;
    with `tta` "none" it is called once, else its logits are averaged over the views."""
    from zoo.layers import TestTimeAugmentation

    inputs = keras.Input(network.inputs[0].shape[1:], name="pixels")
    logits = TestTimeAugmentation(network, tta or "none", name="tta")(inputs)
    outputs = keras.layers.Activation("softmax", dtype="float32", name="softmax")(logits)
    return keras.Model(inputs, outputs, name=name)


@keras.saving.register_keras_serializable(package="zoo")
class SmoothedSparseCrossentropy(keras.losses.Loss):
    """Cross-entropy against integer labels with label smoothing (Szegedy et al. 2016)."""

    def __init__(self, label_smoothing=0.1, name="smoothed_sparse_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        classes = keras.ops.shape(y_pred)[-1]
        onehot = keras.ops.one_hot(keras.ops.cast(keras.ops.reshape(y_true, (-1,)), "int32"),
                                   classes, dtype=y_pred.dtype)
        return keras.losses.categorical_crossentropy(onehot, y_pred,
                                                     label_smoothing=self.label_smoothing)

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


@keras.saving.register_keras_serializable(package="zoo")
class MaskedAccuracy(keras.metrics.Metric):
    """Accuracy of probabilities `(..., classes)` against integer labels `(...)`, counting only
    labelled entries (label >= 0): node classification marks nodes outside the split with -1."""

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.correct = self.add_variable((), initializer="zeros", name="correct")
        self.count = self.add_variable((), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        labels = keras.ops.cast(keras.ops.reshape(y_true, keras.ops.shape(y_pred)[:-1]), "int32")
        labelled = keras.ops.cast(labels >= 0, self.dtype)
        if sample_weight is not None:
            labelled = labelled * keras.ops.cast(sample_weight, self.dtype)
        hits = keras.ops.cast(keras.ops.argmax(y_pred, axis=-1) == labels, self.dtype)
        self.correct.assign_add(keras.ops.sum(hits * labelled))
        self.count.assign_add(keras.ops.sum(labelled))

    def result(self):
        return self.correct / keras.ops.maximum(self.count, 1.0)


def image_shape(name, input_shape, smallest):
    """`input_shape` as `(height, width, channels)` ints, or a ValueError naming the smallest
    images `name` takes (its poolings and crops need at least `smallest` pixels a side)."""
    shape = tuple(int(d) for d in input_shape) if input_shape is not None else ()
    if len(shape) != 3 or min(shape[:2]) < smallest or shape[2] < 1:
        raise ValueError(f"{name} takes images (height, width, channels) of at least "
                         f"{smallest}x{smallest} pixels, got input_shape={input_shape!r}")
    return shape


def class_count(name, num_classes):
    """`num_classes` as an int >= 2, else a ValueError."""
    if int(num_classes) != num_classes or num_classes < 2:
        raise ValueError(f"{name} needs num_classes >= 2, got {num_classes!r}")
    return int(num_classes)
