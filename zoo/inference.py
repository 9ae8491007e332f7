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


MAX_IMAGE_PIXELS = 50_000_000  # a larger file is refused before it is decoded


def load_image(path, shape, notices=None, invert="auto"):
    """Read a PNG / JPEG as uint8 `shape` = (H, W, C), with a notice for every change made:

    - 16-bit images scaled to 8 bits (not clipped); palette images expanded;
    - transparency composited on a background that contrasts with what is drawn (white under
      dark strokes, black under light ones), as an image viewer shows it;
    - converted to grey or RGB and resized; refused when far from square, when no image, or
      when larger than MAX_IMAGE_PIXELS (a decompression bomb);
    - for grey models (MNIST: light strokes on a dark background), a dark-on-light image
      (its border brighter than mid-grey) is inverted; `invert=False` keeps it as it is,
      `invert=True` always inverts."""
    from PIL import Image

    height, width, channels = shape
    image = _opened(path)
    notes = []
    image = _eight_bit(image, notes)
    image = _flattened(image, notes)
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
    array = np.asarray(image, dtype=np.uint8).reshape(height, width, channels)
    if channels == 1 and (invert is True or (invert == "auto" and _dark_on_light(array))):
        notes.append("inverted: it looked dark-on-light and the model reads light strokes on "
                     "a dark background, as MNIST has them (--no-invert / invert=False keeps "
                     "it)" if invert == "auto" else "inverted as asked")
        array = 255 - array
    if notes and notices is not None:
        notices.append(f"{path}: " + "; ".join(notes))
    return array


def _opened(path):
    """The decoded image at `path`; an InputError when it is none, or a decompression bomb."""
    import warnings

    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
            if image.size[0] * image.size[1] > MAX_IMAGE_PIXELS:
                raise InputError(f"{path}: {image.size[0]}x{image.size[1]} pixels is more than "
                                 f"the {MAX_IMAGE_PIXELS:,} read (a decompression bomb?); "
                                 f"scale it down first")
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise InputError(f"{path}: refused as a decompression bomb ({error})") from error
    except (FileNotFoundError, UnidentifiedImageError, OSError) as error:
        raise InputError(f"{path}: not a readable PNG or JPEG image ({error})") from error
    return image


def _eight_bit(image, notes):
    """16- and 32-bit integer images scaled to 8 bits (PIL's convert would clip them)."""
    from PIL import Image

    if image.mode not in ("I;16", "I;16B", "I;16L", "I"):
        return image
    values = np.asarray(image).astype("float64")
    top = 65535.0 if image.mode.startswith("I;16") or values.max() > 255 else 255.0
    notes.append(f"scaled {image.mode} ({'16' if top > 255 else '8'}-bit values) to 8 bits")
    return Image.fromarray(np.round(values / top * 255).clip(0, 255).astype("uint8"), "L")


def _flattened(image, notes):
    """An image with transparency (alpha or a palette's transparent colour) composited on a
    background that contrasts with its visible pixels; others unchanged."""
    from PIL import Image

    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode not in ("RGBA", "LA", "PA"):
        return image
    rgba = np.asarray(image.convert("RGBA")).astype("float64")
    alpha = rgba[..., 3:] / 255.0
    if alpha.min() == 1.0:
        return image.convert("RGB")
    drawn = (rgba[..., :3] * alpha).sum(axis=(0, 1)) / max(alpha.sum(), 1e-9)
    background = 255.0 if drawn.mean() < 128 else 0.0
    flat = rgba[..., :3] * alpha + background * (1 - alpha)
    notes.append(f"transparency composited on {'white' if background else 'black'}")
    return Image.fromarray(np.round(flat).astype("uint8"), "RGB")


def _dark_on_light(array):
    """True when a grey image's border (where MNIST digits have background) is light."""
    border = np.concatenate([array[0].ravel(), array[-1].ravel(), array[:, 0].ravel(),
                             array[:, -1].ravel()])
    return border.mean() > 127


def parse_inputs(model, raw, notices=None, invert="auto"):
    """Turn command-line strings into a batch for `model`: image paths, texts, numbers or
    `x,y` pairs, according to the model's input (`invert`: see `load_image`)."""
    spec = model.inputs[0]
    if spec.dtype == "string":
        return texts(model, raw, notices)
    shape = tuple(spec.shape[1:])
    if len(shape) == 3:
        return np.stack([load_image(r, shape, notices, invert) for r in raw])
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
    return finite(np.asarray(rows, dtype="float32"))


def texts(model, raw, notices=None):
    """Raw strings as the object array a text model takes; empty texts refused, and a notice
    for each text longer than a tokenizer of the model reads."""
    batch = np.asarray([str(r) for r in raw], dtype=object)
    empty = [i for i, text in enumerate(batch) if not text.strip()]
    if empty:
        raise InputError(f"text(s) {', '.join(map(str, empty[:5]))} are empty; "
                         f"{model.name} classifies words")
    for layer in _sublayers(model):
        if notices is None or not hasattr(layer, "token_counts"):
            continue
        for i, count in enumerate(layer.token_counts(batch)):
            if count > layer.max_length:
                notices.append(f"text {i} ({len(batch[i]):,} characters) is {count:,} tokens "
                               f"long; {model.name}'s {layer.name} reads the first "
                               f"{layer.max_length:,} and ignores the rest")
    return batch


def _sublayers(layer):
    for inner in getattr(layer, "layers", []):
        yield inner
        yield from _sublayers(inner)


def to_batch(model, inputs, notices=None, invert="auto"):
    """What `model.predict` takes, from what a user has: a NumPy array, or a list of image
    paths, texts, numbers, `"x,y"` strings or rows of numbers (Keras' predict refuses Python
    lists of str). Empty and non-finite inputs are refused with an `InputError`."""
    if inputs is None or (not isinstance(inputs, np.ndarray) and not len(inputs)) or \
            (isinstance(inputs, np.ndarray) and not inputs.size):
        raise InputError(f"no inputs: give {model.name} at least one "
                         f"{INPUT_WORDS.get(_input_kind(model), 'input')}")
    if isinstance(inputs, (str, Path)):
        inputs = [inputs]
    if isinstance(inputs, (list, tuple)) and all(isinstance(r, (str, Path)) for r in inputs):
        return parse_inputs(model, [str(r) for r in inputs], notices, invert)
    if isinstance(inputs, np.ndarray) and inputs.dtype.kind in "UO":
        return parse_inputs(model, [str(r) for r in inputs.ravel()], notices, invert)
    batch = np.asarray(inputs, dtype="float32")
    if batch.ndim == 1 and len(model.inputs[0].shape) == 2:
        batch = batch.reshape(-1, model.inputs[0].shape[-1] or 1)
    return finite(batch)


def finite(batch):
    """`batch` when every value is a finite number, else an `InputError` naming the rows."""
    bad = ~np.isfinite(batch.reshape(len(batch), -1)).all(axis=1)
    if bad.any():
        rows = ", ".join(map(str, np.flatnonzero(bad)[:5]))
        raise InputError(f"input row(s) {rows} hold NaN or infinity; the model takes finite "
                         f"numbers only")
    return batch


INPUT_WORDS = {"image": "image (a PNG / JPEG path or an array)", "text": "text",
               "dense": "number or row of numbers", "graph": "node id"}


def _input_kind(model):
    task = task_of(model)
    return task.input_kind if task else "dense"


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


def predict(name_or_model, inputs, batch_size=256, data_dir=None, verify=True, invert="auto"):
    """Predictions with names: a list of `{label, name, probabilities}` per input (node ids for
    a graph model, whose graph is read from `data_dir`). Takes what the command line takes
    (image paths, texts, numbers, "x,y" strings) as well as arrays; notices (an image converted,
    a text truncated) go to stderr. `verify=False` loads a saved model its card does not match;
    `invert` decides whether dark-on-light images are inverted for grey models (`load_image`)."""
    model = (artifacts.load(name_or_model, compile=False, verify=verify)
             if isinstance(name_or_model, (str, Path)) else name_or_model)
    names = class_names_for(name_or_model) if isinstance(name_or_model, (str, Path)) else None
    task = task_of(model)
    if task is not None and task.kind == "generative":
        raise InputError(f"{model.name} is a generative model: it draws images rather than "
                         f"predicting labels; use zoo.generate({task.name!r}, n) or "
                         f"`python -m zoo generate {task.name} --out grid.png`")
    if task is not None and task.input_kind == "graph":
        return predict_nodes(model, task, inputs, data_dir, names)
    notices = []
    batch = to_batch(model, inputs, notices, invert)
    for note in notices:
        warn(note)
    outputs = model.predict(batch, batch_size=batch_size, verbose=0)
    if not np.isfinite(outputs).all():
        raise InputError(f"{model.name} produced NaN or infinite outputs for these inputs")
    return describe_outputs(model, outputs, names)


def warn(message):
    print(f"notice: {message}", file=sys.stderr)
