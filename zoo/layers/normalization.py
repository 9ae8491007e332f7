"""Choosing a normalisation layer by name, so blocks can make it configurable."""
import keras

NORMS = ("batch", "layer", "group", None)


def make_norm(norm, name=None, **kwargs):
    """Return a normalisation layer for channels-last tensors, or an identity for `None`."""
    if norm == "batch":
        return keras.layers.BatchNormalization(name=name, **kwargs)
    if norm == "layer":
        return keras.layers.LayerNormalization(name=name, **kwargs)
    if norm == "group":
        return keras.layers.GroupNormalization(groups=8, name=name, **kwargs)
    if norm is None or norm == "none":
        return keras.layers.Identity(name=name)
    raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
