"""Evaluating a saved model on its task's test split, and exporting it for serving."""
from pathlib import Path

from zoo import artifacts, registry
from zoo.data import labelled_count, pipeline
from zoo.data.catalog import load_test


# generative models: their measures draw samples and latents from this seed, and a card's
# "check" holds the test measures on CHECK_EXAMPLES (images, or generated samples), which CI
# re-measures in a fraction of the full evaluation's time
REPORT_SEED = 0
CHECK_EXAMPLES = 1_000


def evaluate_artifact(name_or_path, data_dir=None, batch_size=256, tta=None, verify=True,
                      examples=None):
    """Metrics of the saved model on the official test split of its task (`params` included).

    `tta` ("none", "mirror", "mirror_translate" or "translate") replaces the views of the
    model's own test-time augmentation for this evaluation, e.g. "none" to compare with papers'
    single-view figures; the saved file is not changed. `verify=False` loads a file its card
    does not match. Generative models report their task's measures (`Task.report`): on the
    whole test split, or on its first `examples` images / that many generated samples."""
    model = artifacts.load(name_or_path, verify=verify)
    card = artifacts.read_card(name_or_path) or {}
    task = registry.get(card.get("name") or model.name)
    if task.report is not None:
        return {"model": task.name, **generative_measures(task, model, card, data_dir,
                                                          examples),
                "params": model.count_params()}
    views = set_tta_views(model, tta) if tta is not None else tta_views(model)
    x, y = load_test(task.dataset, seed=card.get("seed", 0), data_dir=data_dir)
    metrics = model.evaluate(pipeline(x, y, batch_size, cache=False), verbose=0, return_dict=True)
    return {"model": task.name, **{k: float(v) for k, v in metrics.items()},
            "params": model.count_params(), "examples": labelled_count(y),
            **({"tta": views} if views else {})}


def generative_measures(task, model, card, data_dir=None, examples=None):
    """A generative model's test measures. Real data's figures come from the training split
    the card says the model trained on (its seed and validation size), as in training."""
    from zoo.data.catalog import load_splits

    train = load_splits(task.dataset, seed=card.get("seed", 0), data_dir=data_dir,
                        val_size=card.get("recipe", {}).get("val_size")).train
    named = {"train": train, "test": load_test(task.dataset, data_dir=data_dir)}
    return task.report(model, named, examples=examples, seed=REPORT_SEED)["test"]


def _tta_layers(model):
    from zoo.layers import TestTimeAugmentation

    return [layer for layer in model.layers if isinstance(layer, TestTimeAugmentation)]


def tta_views(model):
    """The views of `model`'s test-time augmentation, or None when it has none."""
    layers = _tta_layers(model)
    return layers[0].views if layers else None


def set_tta_views(model, views):
    """Make `model` (not yet used for inference) average over `views` at test time."""
    from zoo.layers.tta import checked_views

    views = checked_views(views)
    layers = _tta_layers(model)
    if not layers:
        raise ValueError(f"{model.name} has no test-time augmentation layer; evaluate it "
                         f"without --tta")
    for layer in layers:
        layer.views = views
    return views


def export_saved_model(name_or_path, directory, fmt="saved_model", verify=True):
    """Write a TensorFlow SavedModel whose `serve` signature is the Keras model's forward pass."""
    if fmt != "saved_model":
        raise ValueError(f"unknown export format {fmt!r}; only 'saved_model' is supported")
    model = artifacts.load(name_or_path, verify=verify)
    model.export(str(directory), format="tf_saved_model", verbose=False)
    return Path(directory)
