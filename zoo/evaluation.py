"""Evaluating a saved model on its task's test split, and exporting it for serving."""
from pathlib import Path

from zoo import artifacts, registry
from zoo.data import pipeline
from zoo.data.catalog import load_test


def evaluate_artifact(name_or_path, data_dir=None, batch_size=256):
    """Metrics of the saved model on the official test split of its task (`params` included)."""
    model = artifacts.load(name_or_path)
    card = artifacts.read_card(name_or_path) or {}
    task = registry.get(card.get("name") or model.name)
    x, y = load_test(task.dataset, seed=card.get("seed", 0), data_dir=data_dir)
    metrics = model.evaluate(pipeline(x, y, batch_size, cache=False), verbose=0, return_dict=True)
    return {"model": task.name, **{k: float(v) for k, v in metrics.items()},
            "params": model.count_params(), "examples": len(y)}


def export_saved_model(name_or_path, directory, fmt="saved_model"):
    """Write a TensorFlow SavedModel whose `serve` signature is the Keras model's forward pass."""
    if fmt != "saved_model":
        raise ValueError(f"unknown export format {fmt!r}; only 'saved_model' is supported")
    model = artifacts.load(name_or_path)
    model.export(str(directory), format="tf_saved_model", verbose=False)
    return Path(directory)
