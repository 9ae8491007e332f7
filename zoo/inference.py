"""Predicting with saved models: parse raw inputs for each kind of task, name the classes."""
import sys
from pathlib import Path

import numpy as np

from zoo import artifacts, registry


class InputError(ValueError):
    """An input that cannot be turned into what the model takes."""


def task_of(model):
    try:
        return registry.get(model.name)
    except ValueError:
        return None


def load_image(path, shape, notices=None):
    """Read a PNG / JPEG as uint8 `shape` = (H, W, C): converted to grey or RGB and resized,
    with a notice when either happens; refused when it is no image or far from square."""
    from PIL import Image, UnidentifiedImageError

    height, width, channels = shape
    try:
        image = Image.open(path)
        image.load()
    except (FileNotFoundError, UnidentifiedImageError, OSError) as error:
        raise InputError(f"{path}: not a readable PNG or JPEG image ({error})") from error
    notes = []
    mode = "L" if channels == 1 else "RGB"
    if image.mode != mode:
        notes.append(f"converted {image.mode} to {'greyscale' if mode == 'L' else 'RGB'}")
        image = image.convert(mode)
    if image.size != (width, height):
        aspect = image.size[0] / image.size[1]
        if not 0.5 <= aspect <= 2.0:
            raise InputError(f"{path}: {image.size[0]}x{image.size[1]} is too far from the "
                             f"model's {width}x{height} to resize sensibly; crop it first")
        notes.append(f"resized {image.size[0]}x{image.size[1]} to {width}x{height}")
        image = image.resize((width, height), Image.BILINEAR)
    if notes and notices is not None:
        notices.append(f"{path}: " + ", ".join(notes))
    array = np.asarray(image, dtype=np.uint8)
    return array.reshape(height, width, channels)


def parse_inputs(model, raw, notices=None):
    """Turn command-line strings into a batch for `model`: image paths, texts, numbers or
    `x,y` pairs, according to the model's input."""
    spec = model.inputs[0]
    if spec.dtype == "string":
        return np.asarray([str(r) for r in raw], dtype=object)
    shape = tuple(spec.shape[1:])
    if len(shape) == 3:
        return np.stack([load_image(r, shape, notices) for r in raw])
    features = shape[-1]
    rows = []
    for r in raw:
        try:
            values = [float(v) for v in str(r).split(",")]
        except ValueError:
            raise InputError(f"{r!r} is not a number or a comma-separated pair") from None
        if len(values) != features:
            raise InputError(f"{r!r} has {len(values)} value(s); {model.name} takes {features}"
                             f" ({'x' if features == 1 else 'x,y'})")
        rows.append(values)
    return np.asarray(rows, dtype="float32")


def to_batch(model, inputs):
    """Accept plain Python lists (of str for text models) where Keras' predict would not."""
    if isinstance(inputs, (list, tuple)):
        if inputs and isinstance(inputs[0], str):
            return np.asarray(inputs, dtype=object)
        return np.asarray(inputs, dtype="float32")
    if isinstance(inputs, np.ndarray) and inputs.dtype.kind == "U":
        return inputs.astype(object)
    return inputs


def describe_outputs(model, outputs, class_names=None):
    """One dict per row: `label` (class index or value), `name`, `probabilities`."""
    rows = []
    for out in np.asarray(outputs):
        if out.shape[-1] == 1 and _kind(model) == "regression":
            rows.append({"label": float(out[0]), "name": None, "probabilities": None})
            continue
        probs = np.array([1 - out[0], out[0]]) if out.shape[-1] == 1 else out
        label = int(np.argmax(probs))
        rows.append({"label": label,
                     "name": class_names[label] if class_names else str(label),
                     "probabilities": [round(float(p), 6) for p in probs]})
    return rows


def _kind(model):
    task = task_of(model)
    return task.kind if task else "classification"


def class_names_for(name_or_model):
    card = artifacts.read_card(name_or_model) if isinstance(name_or_model, (str, Path)) else None
    return (card or {}).get("class_names")


def node_ids(raw, count):
    """Node ids from strings or ints, each in 0..count-1."""
    ids = []
    for r in raw:
        try:
            ids.append(int(str(r)))
        except ValueError:
            raise InputError(f"{r!r} is not a node id (an integer)") from None
        if not 0 <= ids[-1] < count:
            raise InputError(f"node {ids[-1]} does not exist: the graph's nodes are "
                             f"0..{count - 1}")
    return ids


def predict_nodes(model, task, nodes, data_dir=None, class_names=None):
    """A graph model's predictions for `nodes` (ids) of its task's graph, read from the data
    directory: one `{node, label, name, probabilities}` per node."""
    from zoo.data.catalog import load_splits

    if not len(nodes):
        raise InputError("name at least one node id")
    splits = load_splits(task.dataset, data_dir=data_dir)
    graph = splits.train[0]
    ids = node_ids(nodes, graph["features"].shape[1])
    outputs = model.predict(graph, batch_size=1, verbose=0)[0][ids]
    rows = describe_outputs(model, outputs, class_names or splits.class_names)
    return [{"node": i, **row} for i, row in zip(ids, rows)]


def predict(name_or_model, inputs, batch_size=256, data_dir=None):
    """Predictions with names: a list of `{label, name, probabilities}` per input (node ids for
    a graph model, whose graph is read from `data_dir`)."""
    model = (artifacts.load(name_or_model, compile=False)
             if isinstance(name_or_model, (str, Path)) else name_or_model)
    names = class_names_for(name_or_model) if isinstance(name_or_model, (str, Path)) else None
    task = task_of(model)
    if task is not None and task.input_kind == "graph":
        return predict_nodes(model, task, inputs, data_dir, names)
    outputs = model.predict(to_batch(model, inputs), batch_size=batch_size, verbose=0)
    return describe_outputs(model, outputs, names)


def warn(message):
    print(f"notice: {message}", file=sys.stderr)
