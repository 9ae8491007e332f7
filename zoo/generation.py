"""Drawing images from a saved generative model: `zoo.generate` and `python -m zoo generate`."""
import numpy as np

from zoo import artifacts


def _model(name_or_model, verify):
    if hasattr(name_or_model, "generate"):
        return name_or_model
    model = artifacts.load(name_or_model, verify=verify)
    if not hasattr(model, "generate"):
        raise ValueError(f"{model.name} is not a generative model; `python -m zoo list` shows "
                         f"which are (kind generative)")
    return model


def checked_labels(model, n, labels):
    """One label per image: None (the model's default), an int (all the same), or a
    sequence repeated to fill `n`; refused for an unconditional model or outside its classes."""
    if labels is None:
        return None
    if not getattr(model, "conditional", False):
        raise ValueError(f"{model.name} is unconditional: it takes no labels")
    labels = np.atleast_1d(np.asarray(labels))
    if labels.size == 0 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be whole numbers 0..{model.classes - 1}, got {labels!r}")
    bad = labels[(labels < 0) | (labels >= model.classes)]
    if bad.size:
        raise ValueError(f"label {bad[0]} is not a class of {model.name} "
                         f"(0..{model.classes - 1})")
    return np.resize(labels, n).astype("int32")


def generate(name_or_model, n, labels=None, seed=0, verify=True):
    """`n` uint8 images `(n, height, width, channels)` from a generative model (a registered
    name, a path to its `.keras` file, or the model). `labels`: one class for all, or classes
    repeated in turn, for a conditional model. The same seed gives the same images."""
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a whole number >= 1, got {n!r}")
    model = _model(name_or_model, verify)
    return model.generate(int(n), labels=checked_labels(model, int(n), labels), seed=int(seed))
