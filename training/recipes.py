"""What a recipe may say, and each key's default. The recipes themselves are plain data beside
their builders (`zoo/models/FAMILY/recipes.py`), declared at registration (`Task.recipe`).

Architecture and optimiser defaults live with the builders; a recipe says how long, in what
batches, with which schedule and augmentation. `python -m training NAME --epochs E
--batch-size B --seed S` override these for any model.
"""
import zoo

DEFAULTS = dict(
    epochs=10,
    batch_size=128,  # global: split evenly over the replicas of a distribution strategy
    seed=0,
    val_size=None,  # None: the dataset's default validation split
    schedule=None,  # None, "cosine" or "onecycle": per-step learning-rate multiplier
    warmup_epochs=0.0,  # linear warm-up (fractional epochs allowed) before the schedule
    lr_start=0.0,  # the warm-up starts at this fraction of the learning rate
    lr_end=0.0,  # the schedule ends at this fraction of it
    augment=None,  # None or a name in training.augment.AUGMENTATIONS
    cv_grid=None,  # cross-validation: builder options chosen inside each fold (training.cv);
    # an option's "recipe" entry changes recipe keys instead (recipes.with_changes)
    jit_compile=None,  # None: the builder's choice (Keras "auto" = XLA on TensorFlow); False
    # (oneDNN kernels) is 2x faster for the wide fastnet convolutions on these CPUs, XLA better
    # for narrow ResNet-20 (benchmarks/cifar_speed.py)
    precision=None,  # None (float32) or a Keras dtype policy such as "mixed_bfloat16"
    freeze_whitening_after=None,  # None or N: whitening layers' biases stop learning after N
    # epochs (training.callbacks.FreezeAfter; airbench94: 3)
    weight_averaging=None,  # None or dict(every=5, decay=0.95): training.callbacks.WeightAveraging
    validate_every=1,  # validate after every N-th epoch and after the last: N > 1 saves passes
    # over the validation split where only the end counts (a time-to-accuracy recipe)
    early_stopping=None,  # None or dict(monitor=("val_loss", ...), patience=N):
    # training.callbacks.EarlyStopping; the validation split then chooses the epoch
    length_groups=None,  # None or N (texts): each epoch's shuffled order is sorted by length
    # within groups of N batches, so batches pad little (zoo.data.pipeline)
    finetune=None,  # None or dict(epochs, batch_size, learning_rate, weight_decay, warmup,
    # members, optionally length_groups): a second stage after a frozen-encoder head has
    # trained on cached features; the model trains end to end on the raw inputs, AdamW with a
    # linear warm-up over the `warmup` fraction of the steps then cosine decay to zero; what
    # learns is the encoder layers the builder left trainable and the head `members` named
    # (re-initialised first), the other members keep their weights (training.pieces.finetune)
    steps_per_execution=1,  # >1 runs several steps per call: faster for tiny models (only
    # used on one device without a schedule, since the schedule is set between calls)
)

def recipe_for(name, changes=None, **overrides):
    """The recipe of `name`, with the defaults filled in, `None`-valued overrides ignored, then
    `changes` applied (`with_changes`: a cross-validation grid option's recipe entry, which
    wins over the command's `--epochs` there too)."""
    recipe = {**DEFAULTS, **zoo.get(name).recipe}
    recipe.update({k: v for k, v in overrides.items() if v is not None})
    unknown = set(recipe) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"recipe for {name!r} has unknown keys {sorted(unknown)}")
    return with_changes(recipe, changes or {})


def with_changes(recipe, changes):
    """`recipe` with the keys of `changes` replaced; a dict-valued key (`finetune`,
    `weight_averaging`, ...) given a dict keeps the entries the change does not name, so
    `{"finetune": {"epochs": 6}}` changes only the second stage's epochs."""
    unknown = set(changes) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown recipe keys {sorted(unknown)}: a recipe says "
                         f"{', '.join(sorted(DEFAULTS))}")
    changed = dict(recipe)
    for key, value in changes.items():
        if isinstance(recipe.get(key), dict) and isinstance(value, dict):
            value = {**recipe[key], **value}
        changed[key] = value
    return changed
