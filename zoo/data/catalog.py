"""Each dataset a task can name, as train / validation arrays and a test split read on demand.

The test split is behind a function (`Splits.load_test`) so that code which fits or tunes
never touches it by accident: only final evaluation calls it.
"""
from zoo.data import graphs, images, synthetic
from zoo.data.splits import Splits, carve_validation


def _generated_train_val(generate, seed, val_size):
    """Training data from `seed`; validation is a fresh draw (seed + 10,000) by default, or
    carved from the training data when `val_size` is given (as tuning asks)."""
    train = generate(seed)
    if val_size is None:
        return train, generate(seed + 10_000), f"{len(train[1])} fresh points, seed {seed + 10_000}"
    train, val = carve_validation(*train, val_size, seed=seed)
    return train, val, f"{len(val[1])} points carved from the training draw"


def _sine(seed=0, data_dir=None, val_size=None):
    train, val, val_note = _generated_train_val(
        lambda s: synthetic.noisy_sine(n=50, sigma=0.1, seed=s), seed, val_size)
    return Splits(train, val, lambda: synthetic.sine_grid(1000), None, {
        "source": "zoo.data.noisy_sine(n=50, sigma=0.1)",
        "train": f"{len(train[1])} points, seed {seed}", "val": val_note,
        "test": "noiseless sin(2 pi x) on 1000 evenly spaced x in [0, 1]"})


def _spirals(seed=0, data_dir=None, val_size=None):
    train, val, val_note = _generated_train_val(lambda s: synthetic.spirals(seed=s), seed,
                                                val_size)
    test_seed = seed + 20_000
    return Splits(train, val, lambda: synthetic.spirals(seed=test_seed), ["class 0", "class 1"], {
        "source": "zoo.data.spirals(n_per_class=250, noise=0.02, turns=2)",
        "train": f"{len(train[1])} points, seed {seed}", "val": val_note,
        "test": f"500 fresh points, seed {test_seed}"})


def _image_dataset(name, default_val):
    def load(seed=0, data_dir=None, val_size=None):
        x, y, names = images.load_arrays(name, "train", data_dir)
        val_size = default_val if val_size is None else val_size
        train, val = carve_validation(x, y, val_size, seed=seed)
        info = {"source": _source(data_dir), "train": len(train[1]), "val": len(val[1]),
                "val_carved_from": f"official train split, seed {seed}", "test": "official test split"}

        def load_test():
            tx, ty, _ = images.load_arrays(name, "test", data_dir)
            info["test"] = f"official test split, {len(ty)} images"
            return tx, ty

        return Splits(train, val, load_test, names, info)

    return load


BINARIZED_TEST_SEED = 0


def _binarized_mnist(seed=0, data_dir=None, val_size=None):
    """MNIST for likelihood models: training images kept grey (the "binarize" augmentation
    draws them anew every epoch), validation binarized once with `seed` + 1, the test split
    once with a fixed seed (`BINARIZED_TEST_SEED`) so every model is scored on the same bits."""
    splits = _image_dataset("mnist", 10_000)(seed=seed, data_dir=data_dir, val_size=val_size)
    (val_x, val_y), grey_test = splits.val, splits.load_test

    def load_test():
        x, y = grey_test()
        splits.info["test"] += f", binarized once (seed {BINARIZED_TEST_SEED})"
        return images.binarize(x, BINARIZED_TEST_SEED), y

    splits.val = (images.binarize(val_x, seed + 1), val_y)
    splits.load_test = load_test
    splits.info.update(binarized="pixel set with probability pixel/255: training images anew "
                                 "every epoch, validation once (seed + 1), test once")
    return splits


def _source(data_dir):
    root = images.resolve_data_dir(data_dir)
    return f"data directory {root}" if root else "tensorflow-datasets"


def _ag_news(seed=0, data_dir=None, val_size=None):
    from zoo.data import text

    return text.ag_news_splits(seed=seed, data_dir=data_dir, val_size=val_size)


DATASETS = {
    "noisy_sine": _sine,
    "spirals": _spirals,
    "mnist": _image_dataset("mnist", 10_000),
    "binarized_mnist": _binarized_mnist,
    "cifar10": _image_dataset("cifar10", 5_000),
    "cifar100": _image_dataset("cifar100", 5_000),
    "ag_news": _ag_news,
    "cora": graphs.graph_splits("cora"),
    "citeseer": graphs.graph_splits("citeseer"),
}
# the benchmark defines the validation split: searches validate on it, not on a carved one
FIXED_SPLITS = {"cora", "citeseer"}


def load_splits(dataset, seed=0, data_dir=None, val_size=None) -> Splits:
    """Train and validation arrays of a dataset, with its test split behind `load_test()`."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; known: {sorted(DATASETS)}")
    return DATASETS[dataset](seed=seed, data_dir=data_dir, val_size=val_size)


def load_test(dataset, seed=0, data_dir=None):
    """Only the test split `(x, y)` of a dataset (what evaluating a saved model needs)."""
    if dataset in ("mnist", "cifar10", "cifar100"):
        x, y, _ = images.load_arrays(dataset, "test", data_dir)
        return x, y
    if dataset == "binarized_mnist":
        x, y, _ = images.load_arrays("mnist", "test", data_dir)
        return images.binarize(x, BINARIZED_TEST_SEED), y
    return load_splits(dataset, seed=seed, data_dir=data_dir).load_test()
