"""Datasets: generated (sine, spirals), images (MNIST, CIFAR), text (AG News), and pipelines."""
from zoo.data.catalog import DATASETS, Splits, load_splits
from zoo.data.images import DataNotFoundError, load_arrays, read_idx
from zoo.data.pipeline import load, pipeline
from zoo.data.splits import carve_validation, labelled_count, stratified_folds, take
from zoo.data.synthetic import noisy_sine, sine_grid, spirals

__all__ = ["DATASETS", "Splits", "load_splits", "DataNotFoundError", "load_arrays", "read_idx",
           "load", "pipeline", "carve_validation", "labelled_count", "stratified_folds", "take",
           "noisy_sine", "sine_grid", "spirals"]
