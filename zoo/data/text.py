"""AG News: the official CSVs in a data directory, else tensorflow-datasets' ag_news_subset.

The model's text is the title, a space, then the description, with the CSV's backslash line
breaks turned into spaces. Labels are 0-3 in the official order.
"""
import csv
import re

import numpy as np

from zoo.data.images import DATA_DIR_VARIABLE, DataNotFoundError, resolve_data_dir
from zoo.data.splits import Splits, carve_validation

AG_NEWS_CLASSES = ["World", "Sports", "Business", "Sci/Tech"]
AG_NEWS_FOLDER = "ag_news_csv"


def clean(text):
    """Backslashes in the CSVs stand for line breaks: make them spaces; collapse whitespace."""
    return re.sub(r"\s+", " ", text.replace("\\", " ")).strip()


def model_text(title, description):
    return clean(f"{title} {description}")


def read_ag_news_csv(path):
    """`(texts, labels)` from an official AG News CSV: `"class","title","description"` rows,
    classes 1-4; texts as an object array of str, labels int32 0-3."""
    texts, labels = [], []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            if len(row) != 3:
                raise ValueError(f"{path}: expected 3 columns (class, title, description), "
                                 f"got {len(row)} in row {len(labels) + 1}")
            labels.append(int(row[0]) - 1)
            texts.append(model_text(row[1], row[2]))
    return np.array(texts, dtype=object), np.array(labels, dtype=np.int32)


def _from_tfds(split):
    import os

    import tensorflow_datasets as tfds

    ds = tfds.load("ag_news_subset", split=split, download=not os.environ.get("ZOO_OFFLINE"))
    texts, labels = [], []
    for example in tfds.as_numpy(ds):
        texts.append(model_text(example["title"].decode(), example["description"].decode()))
        labels.append(int(example["label"]))
    return np.array(texts, dtype=object), np.array(labels, dtype=np.int32)


def load_ag_news(split, data_dir=None):
    """`(texts, labels)` of the `train` or `test` split."""
    root = resolve_data_dir(data_dir)
    path = root / AG_NEWS_FOLDER / f"{split}.csv" if root else None
    if path is not None and path.exists():
        return read_ag_news_csv(path)
    try:
        return _from_tfds(split)
    except Exception as error:  # noqa: BLE001 - reported with the routes below
        raise DataNotFoundError(
            f"Could not find AG News {split}: looked for {AG_NEWS_FOLDER}/{split}.csv in "
            f"{root or f'(no data directory; ${DATA_DIR_VARIABLE} is not set)'}; pass --data-dir "
            f"or set ${DATA_DIR_VARIABLE}, or let tensorflow-datasets fetch ag_news_subset "
            f"online. tensorflow-datasets said: {type(error).__name__}: {str(error)[:200]}"
        ) from error


def has_official_train(data_dir=None):
    root = resolve_data_dir(data_dir)
    return bool(root and (root / AG_NEWS_FOLDER / "train.csv").exists())


def ag_news_splits(seed=0, data_dir=None, val_size=None):
    """The full protocol when train.csv is there (train 120,000 minus a validation split, test
    7,600). Offline only test.csv exists: then train and validation are carved from those 7,600
    rows and there is no held-out test split; report k-fold cross-validation instead
    (training.cv)."""
    if has_official_train(data_dir):
        x, y = load_ag_news("train", data_dir)
        train, val = carve_validation(x, y, val_size or 5_000, seed=seed)
        return Splits(train, val, lambda: load_ag_news("test", data_dir), AG_NEWS_CLASSES, {
            "source": "official AG News CSVs", "protocol": "train/test",
            "train": len(train[1]), "val": len(val[1]), "test": "official test split, 7,600"})
    x, y = load_ag_news("test", data_dir)
    train, val = carve_validation(x, y, 0.1 if val_size is None else val_size, seed=seed)

    def no_test():
        raise DataNotFoundError(
            "Only the official AG News test split is available here, and it was used for "
            "training; estimate accuracy with k-fold cross-validation (python -m training.cv)")

    return Splits(train, val, no_test, AG_NEWS_CLASSES, {
        "source": "official AG News test split only (7,600 rows)", "protocol": "cross-validation",
        "train": len(train[1]), "val": len(val[1]), "test": "none: see the cross-validation"})
