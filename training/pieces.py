"""A recipe's training pieces, made in one place: the model as the recipe builds it, its input
pipeline with augmentation, and its callbacks (schedule with warm-up, weight averaging, early
stopping). `python -m training`, cross-validation folds, tuning trials and the benchmarks all
take them from here, so what a search or a cross-validation measures is what training trains.
"""
import contextlib

import keras
import numpy as np

import zoo
from training import augment as augmentations
from training.callbacks import (EarlyStopping, EpochTable, FreezeAfter, StepSchedule,
                                WeightAveraging)
from training.hardware import effective_precision
from zoo.data import pipeline
from zoo.layers import adapt_whitening, whitening_layers
from zoo.models.common import ensemble_accuracy, member_crossentropy


def build_model(name, overrides, recipe, train_x=None, strategy=None, replicas=1):
    """`zoo.build(name, **overrides)` as the recipe trains it: seeded with the recipe's seed,
    under its precision policy (where the CPU runs it natively), with its `jit_compile` and
    steps per call, inside `strategy`'s scope, its whitening layer (if any) fitted to
    `train_x`."""
    keras.utils.set_random_seed(recipe["seed"])
    precision, _ = effective_precision(recipe["precision"])
    previous_policy = keras.mixed_precision.global_policy()
    if precision:
        keras.mixed_precision.set_global_policy(precision)
    try:
        with strategy.scope() if strategy is not None else contextlib.nullcontext():
            model = zoo.build(name, **overrides)
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)
    if recipe["jit_compile"] is not None:
        model.jit_compile = recipe["jit_compile"]
    if train_x is not None:
        adapt_whitening(model, train_x)
    # read by Keras when it first builds its train function (what compile(steps_per_execution=)
    # sets); several steps per call fail under MirroredStrategy in Keras 3.15 (a placeholder
    # inside the multi-step while loop is never fed), and StepSchedule sets the learning rate
    # between calls, so replicated and scheduled runs take one step per call
    scheduled = recipe["schedule"] or recipe["warmup_epochs"]
    model.steps_per_execution = (int(recipe["steps_per_execution"])
                                 if replicas == 1 and not scheduled else 1)
    return model


def steps_per_epoch(examples, batch_size, drop_remainder=False):
    return examples // batch_size if drop_remainder else int(np.ceil(examples / batch_size))


def schedule(model, recipe, steps):
    """The recipe's per-step learning-rate schedule with warm-up for `model`, or None."""
    if not (recipe["schedule"] or recipe["warmup_epochs"]):
        return None
    base_lr = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    return StepSchedule(recipe["schedule"], base_lr, steps, recipe["epochs"],
                        recipe["warmup_epochs"], recipe["lr_start"], recipe["lr_end"])


def validated_epochs(recipe):
    """The epochs (counted from 1) after which `fit` validates: every `validate_every`-th and
    the last."""
    every, epochs = int(recipe["validate_every"]), recipe["epochs"]
    if every < 1:
        raise ValueError(f"validate_every must be a whole number of epochs >= 1, got {every}")
    return [epoch for epoch in range(1, epochs + 1) if epoch % every == 0 or epoch == epochs]


def callbacks(model, recipe, steps, validation=True):
    """The recipe's callbacks for `model` in the order they run: frozen whitening biases,
    weight averaging, early stopping (only with validation data to watch), the learning-rate
    schedule."""
    found = []
    if recipe["freeze_whitening_after"] is not None:
        biases = [layer.bias for layer in whitening_layers(model)]
        found.append(FreezeAfter(biases, recipe["freeze_whitening_after"]))
    if recipe["weight_averaging"]:
        found.append(WeightAveraging(steps * recipe["epochs"], **recipe["weight_averaging"]))
    if recipe["early_stopping"] and validation:
        if recipe["validate_every"] != 1:
            raise ValueError("early_stopping watches the validation split after every epoch: "
                             "use it with validate_every=1, not "
                             f"{recipe['validate_every']}")
        found.append(EarlyStopping(**recipe["early_stopping"]))
    step_schedule = schedule(model, recipe, steps)
    return found + ([step_schedule] if step_schedule is not None else [])


def train_dataset(train, recipe, first_epoch=0, drop_remainder=False):
    """The shuffled, augmented batches of `train = (x, y)`, epochs `first_epoch ..` in the
    order an uninterrupted run would see them."""
    return pipeline(*train, recipe["batch_size"], shuffle=True, seed=recipe["seed"],
                    augment=augmentations.get(recipe["augment"]), drop_remainder=drop_remainder,
                    epochs=recipe["epochs"], first_epoch=first_epoch,
                    length_groups=recipe["length_groups"])


def fit(model, recipe, train, val=None, extra_callbacks=(), first_epoch=0, initial_epoch=0):
    """Fit `model` on `train = (x, y)` with the recipe's pipeline and callbacks (then
    `extra_callbacks`), validating on `val` when it has examples, after the epochs
    `validated_epochs(recipe)` lists. Returns Keras' History."""
    steps = steps_per_epoch(len(train[1]), recipe["batch_size"])
    validating = val is not None and len(val[1]) > 0
    val_data = pipeline(*val, recipe["batch_size"]) if validating else None
    return model.fit(train_dataset(train, recipe, first_epoch), validation_data=val_data,
                     validation_freq=validated_epochs(recipe), epochs=recipe["epochs"],
                     initial_epoch=initial_epoch, steps_per_epoch=steps, verbose=0, shuffle=False,
                     callbacks=callbacks(model, recipe, steps, validating) +
                     list(extra_callbacks))


def _members_output(model):
    """The model's output before it averages its head's members, `(batch, members, classes)`,
    or its output when the head has one member."""
    head = model.get_layer("head")
    if len(head.output.shape) != 3:
        return model.output
    averaged = model.layers[-1]  # the builders end an ensemble with the average of its members
    if len(averaged.input.shape) != 3:
        raise ValueError(f"{model.name}: an ensemble head's members must feed the model's last "
                         f"layer (their average), which takes {averaged.input.shape}")
    return averaged.input


def compile_members(target, optimizer, loss, **kwargs):
    """Compile `target`, whose output is an ensemble's stacked member probabilities
    `(batch, members, classes)` or one probability vector `(batch, classes)`: each member then
    learns from its own cross-entropy, as separately trained ensemble members do (one loss on
    the average would let the strongest member fit the data and starve the others), a single
    output from `loss`; accuracy is that of the average, what the model predicts."""
    members = len(target.output.shape) == 3
    target.compile(optimizer=optimizer, loss=member_crossentropy if members else loss,
                   metrics=[keras.metrics.MeanMetricWrapper(ensemble_accuracy, name="accuracy")],
                   **kwargs)
    return target


def finetunes(model, recipe):
    """Whether `model` gets the recipe's fine-tuning stage: the recipe has one and the builder
    left part of the encoder trainable (weights outside the head)."""
    if not recipe["finetune"]:
        return False
    head = {id(w) for w in model.get_layer("head").weights}
    return any(id(w) not in head for w in model.trainable_weights)


def _finetune_optimizer(spec, total_steps):
    """AdamW warming up linearly over the first `warmup` fraction of the steps, then cosine
    decay to zero."""
    warmup = int(total_steps * spec["warmup"])
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, total_steps - warmup, warmup_target=spec["learning_rate"], warmup_steps=warmup)
    return keras.optimizers.AdamW(schedule, weight_decay=spec["weight_decay"])


def finetune(model, recipe, train, verbose=False):
    """The recipe's second stage (`recipe["finetune"]`, see `training.recipes`): after the head
    of a frozen-encoder model has trained on cached features, train `model` end to end on the
    raw rows `train = (x, y)`: the encoder layers its builder left trainable and the head
    members named in `members`, re-initialised first; the other members are frozen. Each member
    learns from its own loss, as in the first stage. Returns Keras' History."""
    spec = recipe["finetune"]
    keras.utils.set_random_seed(recipe["seed"])
    head = model.get_layer("head")
    members = [head] if len(head.output.shape) != 3 else [
        layer for layer in head.layers if isinstance(layer, keras.Model)]
    for member in members:
        if member is head or member.name in spec["members"]:
            member.set_weights(keras.models.clone_model(member).get_weights())
        else:
            member.trainable = False
    trained = keras.Model(model.inputs, _members_output(model), name=f"{model.name}_finetune")
    steps = steps_per_epoch(len(train[1]), spec["batch_size"])
    compile_members(trained, _finetune_optimizer(spec, steps * spec["epochs"]), model.loss,
                    jit_compile=False)
    stage = {**recipe, "batch_size": spec["batch_size"], "epochs": spec["epochs"],
             "augment": None, "length_groups": spec.get("length_groups")}
    return trained.fit(train_dataset(train, stage), epochs=spec["epochs"], steps_per_epoch=steps,
                       verbose=0, shuffle=False,
                       callbacks=[EpochTable(spec["epochs"])] if verbose else [])
