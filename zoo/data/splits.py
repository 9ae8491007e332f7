"""A dataset's splits; validation splits carved from training data, and stratified k-fold
cross-validation."""
import dataclasses
from typing import Callable, Optional

import numpy as np


@dataclasses.dataclass
class Splits:
    """A task's data: train and validation in memory, the test split behind a function."""

    train: tuple  # (x, y)
    val: tuple  # (x, y), disjoint from train
    load_test: Callable[[], tuple]  # -> (x, y); call only to report final metrics
    class_names: Optional[list] = None
    info: dict = dataclasses.field(default_factory=dict)  # sizes and provenance, for cards


def carve_validation(x, y, val_size, seed=0):
    """Split `(x, y)` into disjoint `(train, val)` parts with a seeded permutation.

    `val_size` is a count (int >= 1) or a fraction in (0, 1); 0 keeps every example for
    training (an empty validation split). The same seed gives the same split.
    """
    n = len(y)
    if val_size == 0:
        return (x, y), (x[:0], y[:0])
    count = int(round(val_size * n)) if isinstance(val_size, float) and val_size < 1 else int(val_size)
    if not 0 < count < n:
        raise ValueError(f"validation size {val_size} leaves no training or no validation data "
                         f"out of {n} examples")
    order = np.random.default_rng(seed).permutation(n)
    val_idx, train_idx = np.sort(order[:count]), np.sort(order[count:])
    return (take(x, train_idx), y[train_idx]), (take(x, val_idx), y[val_idx])


def labelled_count(y):
    """How many examples `y` labels: integer labels of -1 mark unlabelled entries (the nodes
    outside a graph task's split), anything else counts one per row."""
    y = np.asarray(y)
    return int((y >= 0).sum()) if np.issubdtype(y.dtype, np.integer) else len(y)


def take(x, idx):
    """Rows `idx` of `x`: an array, a list (of str: returned as an object array), or a dict
    of those (a model with several named inputs)."""
    if isinstance(x, dict):
        return {key: take(value, idx) for key, value in x.items()}
    return x[idx] if isinstance(x, np.ndarray) else np.asarray(x, dtype=object)[idx]


def stratified_folds(y, k=5, seed=0):
    """Yield `(train_idx, test_idx)` for `k` stratified folds: every class is spread evenly
    over the folds, each index is in exactly one test fold, and the seed fixes the assignment."""
    y = np.asarray(y)
    if k < 2:
        raise ValueError(f"k must be at least 2, got {k}")
    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(y), dtype=int)
    for cls in np.unique(y):
        idx = np.flatnonzero(y == cls)
        if len(idx) < k:
            raise ValueError(f"class {cls} has {len(idx)} examples, fewer than k={k} folds")
        idx = rng.permutation(idx)
        # continue the round-robin where the previous class stopped so fold sizes stay equal
        fold_of[idx] = (np.arange(len(idx)) + rng.integers(k)) % k
    for fold in range(k):
        yield np.flatnonzero(fold_of != fold), np.flatnonzero(fold_of == fold)
