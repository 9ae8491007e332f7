"""MNIST, CIFAR-10 and CIFAR-100: our own readers of the official files, else tensorflow-datasets.

Every loader returns `(images uint8 (N, H, W, C), labels int32 (N,))`. Sources, in order:
1. a data directory (the `data_dir` argument, else `$ZOO_DATA_DIR`) holding the official layouts
   `mnist/*.gz` (IDX), `cifar-10-batches-py/`, `cifar-100-python/` (python pickles);
2. tensorflow-datasets (`tfds.load`, honouring `tfds_data_dir`), which downloads when online
   unless `$ZOO_OFFLINE` is set.
"""
import gzip
import os
import pickle
import struct
import zlib
from pathlib import Path

import numpy as np

DATA_DIR_VARIABLE = "ZOO_DATA_DIR"

MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
CIFAR_FILES = {
    "cifar10": ("cifar-10-batches-py",
                {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]},
                "batches.meta", b"labels", b"label_names"),
    "cifar100": ("cifar-100-python", {"train": ["train"], "test": ["test"]},
                 "meta", b"fine_labels", b"fine_label_names"),
}
MNIST_CLASSES = [str(i) for i in range(10)]


class DataNotFoundError(FileNotFoundError):
    """Neither the data directory nor tensorflow-datasets could provide a dataset."""


def resolve_data_dir(explicit=None):
    """The data directory in force: the argument, else `$ZOO_DATA_DIR`, else None."""
    chosen = explicit or os.environ.get(DATA_DIR_VARIABLE)
    return Path(chosen).expanduser() if chosen else None


def read_idx(path):
    """Read an IDX file (gzipped or not) into a NumPy array of its declared shape."""
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise ValueError(f"{path} is corrupt or truncated ({error}); download it again (or "
                         f"unpack the dataset anew)") from error
    if len(raw) < 4 or raw[0:2] != b"\x00\x00" or raw[2] != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte IDX file (bad magic number)")
    ndim = raw[3]
    shape = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path} is truncated: header says {shape}, found {data.size} bytes")
    return data.reshape(shape)


def checked_labels(labels, classes, source):
    """`labels` as int32 when every one is a class index in 0..classes-1, else a ValueError
    naming the file and the first bad label."""
    labels = np.asarray(labels).astype("int32")
    bad = np.flatnonzero((labels < 0) | (labels >= classes))
    if bad.size:
        raise ValueError(f"{source}: label {labels[bad[0]]} at row {bad[0]} is not a class "
                         f"index 0..{classes - 1} ({bad.size} such labels); the file is "
                         f"corrupt or not this dataset's")
    return labels


def binarize(images, seed=0):
    """Binarized images as uint8 0 / 255: each pixel 255 with probability pixel / 255 (the
    stochastic binarization of Salakhutdinov & Murray 2008), drawn with `seed`."""
    draws = np.random.default_rng(seed).random(np.shape(images))
    return np.where(draws * 255.0 < np.asarray(images, "float64"), 255, 0).astype("uint8")


def _read_mnist_dir(folder, split):
    images_file, labels_file = MNIST_FILES[split]
    images = read_idx(folder / images_file)
    labels = read_idx(folder / labels_file)
    if len(images) != len(labels):
        raise ValueError(f"{folder}: {len(images)} images but {len(labels)} labels")
    return images[..., None], checked_labels(labels, len(MNIST_CLASSES), folder / labels_file)


def _unpickle(path):
    with open(path, "rb") as f:
        return pickle.load(f, encoding="bytes")


def _read_cifar_dir(folder, name, split):
    _, batches, _, label_key, _ = CIFAR_FILES[name]
    xs, ys = [], []
    for batch in batches[split]:
        d = _unpickle(folder / batch)
        xs.append(np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        ys.append(np.asarray(d[label_key], dtype=np.int32))
    classes = 100 if name == "cifar100" else 10
    return (np.concatenate(xs).transpose(0, 2, 3, 1),
            checked_labels(np.concatenate(ys), classes, folder))


def _cifar_class_names(folder, name):
    meta = _unpickle(folder / CIFAR_FILES[name][2])
    return [n.decode() for n in meta[CIFAR_FILES[name][4]]]


def _expected_files(name, split):
    if name == "mnist":
        return [f"mnist/{f}" for f in MNIST_FILES[split]]
    folder, batches = CIFAR_FILES[name][:2]
    return [f"{folder}/{b}" for b in batches[split]]


def _from_tfds(name, split, tfds_data_dir):
    import tensorflow_datasets as tfds

    download = not os.environ.get("ZOO_OFFLINE")
    ds = tfds.load(name, split=split, as_supervised=True, data_dir=tfds_data_dir,
                   download=download)
    # iterate in large batches rather than batch_size=-1, which aborts under tfds mock_data
    batches = list(tfds.as_numpy(ds.batch(10_000)))
    images = np.concatenate([b[0] for b in batches])
    labels = np.concatenate([b[1] for b in batches])
    info_names = None
    try:
        builder = tfds.builder(name, data_dir=tfds_data_dir)
        info_names = builder.info.features["label"].names
    except Exception:  # names are cosmetic: never fail a load over them
        pass
    return np.asarray(images, dtype=np.uint8), np.asarray(labels, dtype=np.int32), info_names


def load_arrays(name, split, data_dir=None, tfds_data_dir=None):
    """`(images, labels, class_names)` of `name` ("mnist", "cifar10", "cifar100") and `split`
    ("train" or "test") from the data directory, else tensorflow-datasets."""
    if name not in ("mnist", "cifar10", "cifar100"):
        raise ValueError(f"unknown image dataset {name!r}; expected mnist, cifar10 or cifar100")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    root = resolve_data_dir(data_dir)
    expected = _expected_files(name, split)
    if root is not None and all((root / f).exists() for f in expected):
        if name == "mnist":
            return (*_read_mnist_dir(root / "mnist", split), MNIST_CLASSES)
        folder = root / CIFAR_FILES[name][0]
        return (*_read_cifar_dir(folder, name, split), _cifar_class_names(folder, name))
    try:
        images, labels, names = _from_tfds(name, split, tfds_data_dir)
    except Exception as error:  # noqa: BLE001 - reported with the route below
        where = f"in {root}" if root is not None else \
            f"(no data directory given and ${DATA_DIR_VARIABLE} is not set)"
        raise DataNotFoundError(
            f"Could not find the {name} {split} split. Looked for {', '.join(expected)} {where}; "
            f"pass --data-dir DIR or set ${DATA_DIR_VARIABLE}=DIR to a folder with the official "
            f"layout, or let tensorflow-datasets fetch it (tfds.load({name!r}) on a machine "
            f"that is online, data_dir={tfds_data_dir!r}). tensorflow-datasets said: "
            f"{type(error).__name__}: {str(error)[:300]}") from error
    if name == "mnist":
        names = MNIST_CLASSES
    return images, labels, names
