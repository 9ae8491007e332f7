"""Loaders on tiny files written in the official byte layouts, tensorflow-datasets mock data,
validation splits, k-fold, generated data, and the missing-data error."""
import gzip
import pickle
import struct

import numpy as np
import pytest

from zoo import data
from zoo.data import images


def write_idx(path, array):
    """Write `array` (uint8) as a gzipped IDX file, as the official MNIST files are."""
    header = b"\x00\x00\x08" + bytes([array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def write_mnist(root, n_train=30, n_test=10, seed=0):
    rng = np.random.default_rng(seed)
    folder = root / "mnist"
    folder.mkdir(parents=True)
    arrays = {}
    for split, n in (("train", n_train), ("test", n_test)):
        x = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        y = rng.integers(0, 10, size=n, dtype=np.uint8)
        images_file, labels_file = images.MNIST_FILES[split]
        write_idx(folder / images_file, x)
        write_idx(folder / labels_file, y)
        arrays[split] = (x, y)
    return arrays


def write_cifar(root, name, n_per_batch=6, seed=0):
    """Batches as the official python archives hold them: (N, 3072) planar uint8, bytes keys."""
    rng = np.random.default_rng(seed)
    folder_name, batches, meta_file, label_key, names_key = images.CIFAR_FILES[name]
    folder = root / folder_name
    folder.mkdir(parents=True)
    classes = 10 if name == "cifar10" else 100
    arrays = {}
    for split, files in batches.items():
        xs, ys = [], []
        for batch in files:
            x = rng.integers(0, 256, size=(n_per_batch, 32, 32, 3), dtype=np.uint8)
            y = rng.integers(0, classes, size=n_per_batch).tolist()
            planar = x.transpose(0, 3, 1, 2).reshape(n_per_batch, 3072)
            with open(folder / batch, "wb") as f:
                pickle.dump({b"data": planar, label_key: y, b"batch_label": b"x"}, f, protocol=2)
            xs.append(x)
            ys.extend(y)
        arrays[split] = (np.concatenate(xs), np.array(ys))
    with open(folder / meta_file, "wb") as f:
        pickle.dump({names_key: [f"class{i}".encode() for i in range(classes)]}, f, protocol=2)
    return arrays


def test_mnist_reader_reads_official_idx_layout(tmp_path):
    written = write_mnist(tmp_path)
    for split in ("train", "test"):
        x, y, names = data.load_arrays("mnist", split, data_dir=tmp_path)
        assert x.shape == (len(written[split][0]), 28, 28, 1) and x.dtype == np.uint8
        np.testing.assert_array_equal(x[..., 0], written[split][0])
        np.testing.assert_array_equal(y, written[split][1])
        assert names == [str(i) for i in range(10)]


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
def test_cifar_reader_reads_official_pickle_layout(tmp_path, name):
    written = write_cifar(tmp_path, name)
    for split in ("train", "test"):
        x, y, names = data.load_arrays(name, split, data_dir=tmp_path)
        assert x.shape[1:] == (32, 32, 3) and x.dtype == np.uint8
        np.testing.assert_array_equal(x, written[split][0])
        np.testing.assert_array_equal(y, written[split][1])
        assert names[3] == "class3"


def test_data_dir_from_environment(tmp_path, monkeypatch):
    write_mnist(tmp_path)
    monkeypatch.setenv("ZOO_DATA_DIR", str(tmp_path))
    x, _, _ = data.load_arrays("mnist", "test")
    assert len(x) == 10


def test_truncated_idx_file_is_reported(tmp_path):
    write_mnist(tmp_path)
    path = tmp_path / "mnist" / images.MNIST_FILES["test"][0]
    raw = gzip.open(path).read()
    with gzip.open(path, "wb") as f:
        f.write(raw[:-100])
    with pytest.raises(ValueError, match="truncated"):
        data.load_arrays("mnist", "test", data_dir=tmp_path)


def test_missing_data_error_names_files_variable_and_tfds(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    with pytest.raises(data.DataNotFoundError) as info:
        data.load_arrays("mnist", "train", data_dir=tmp_path, tfds_data_dir=str(tmp_path / "t"))
    message = str(info.value)
    assert "train-images-idx3-ubyte.gz" in message
    assert "ZOO_DATA_DIR" in message
    assert "tfds.load" in message and str(tmp_path) in message


@pytest.mark.parametrize("name,shape", [("mnist", (28, 28, 1)), ("cifar10", (32, 32, 3))])
def test_tfds_route_with_mock_data(tmp_path, name, shape):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=12):
        x, y, _ = data.load_arrays(name, "train", data_dir=tmp_path / "empty")
    assert x.shape == (12, *shape) and x.dtype == np.uint8
    assert y.shape == (12,)


def test_load_returns_tf_dataset_of_uint8_and_labels(tmp_path):
    write_mnist(tmp_path)
    ds = data.load("mnist", "train", data_dir=tmp_path)
    image, label = next(iter(ds))
    assert image.dtype.name == "uint8" and tuple(image.shape) == (28, 28, 1)
    assert label.dtype.is_integer


def test_validation_split_is_disjoint_deterministic_and_complete():
    x = np.arange(1000)[:, None]
    y = np.arange(1000)
    (tx, ty), (vx, vy) = data.carve_validation(x, y, 200, seed=3)
    assert len(vy) == 200 and len(ty) == 800
    assert not set(ty) & set(vy)
    assert set(ty) | set(vy) == set(y)
    (_, ty2), (_, vy2) = data.carve_validation(x, y, 200, seed=3)
    np.testing.assert_array_equal(vy, vy2)
    (_, _), (_, vy3) = data.carve_validation(x, y, 200, seed=4)
    assert not np.array_equal(vy, vy3)
    (_, _), (_, vfrac) = data.carve_validation(x, y, 0.1, seed=3)
    assert len(vfrac) == 100


def test_mnist_splits_match_the_assignment(tmp_path):
    write_mnist(tmp_path, n_train=120, n_test=20)
    splits = data.load_splits("mnist", data_dir=tmp_path, val_size=20)
    assert len(splits.train[1]) == 100 and len(splits.val[1]) == 20
    assert len(splits.load_test()[1]) == 20


def test_stratified_folds_partition_and_balance():
    y = np.repeat([0, 1, 2, 3], [40, 40, 20, 20])
    folds = list(data.stratified_folds(y, k=5, seed=0))
    test_parts = np.concatenate([t for _, t in folds])
    assert sorted(test_parts) == list(range(len(y)))
    for train, test in folds:
        assert not set(train) & set(test)
        counts = np.bincount(y[test], minlength=4)
        np.testing.assert_array_equal(counts, [8, 8, 4, 4])
    again = list(data.stratified_folds(y, k=5, seed=0))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again))


def test_noisy_sine_matches_the_assignment():
    x, y = data.noisy_sine()
    assert x.shape == (50, 1) and y.shape == (50, 1)
    assert x.min() >= 0 and x.max() <= 1
    residual = y - np.sin(2 * np.pi * x)
    assert 0.05 < residual.std() < 0.15
    np.testing.assert_array_equal(data.noisy_sine(seed=1)[0], data.noisy_sine(seed=1)[0])


def test_spirals_shapes_classes_and_seeds():
    x, y = data.spirals()
    assert x.dtype == np.float32 and x.shape == (500, 2)
    assert np.issubdtype(y.dtype, np.integer) and np.bincount(y).tolist() == [250, 250]
    x2, _ = data.spirals(seed=1)
    assert not np.allclose(x, x2)
    # the two spirals are point reflections of each other (noise aside)
    r = np.linalg.norm(x, axis=1)
    assert r.max() < 1.2


def test_pipeline_batches_and_shuffles_deterministically():
    x = np.arange(100, dtype="float32")[:, None]
    y = np.arange(100)
    first = [b[1].numpy().tolist() for b in data.pipeline(x, y, 32, shuffle=True, seed=1)]
    again = [b[1].numpy().tolist() for b in data.pipeline(x, y, 32, shuffle=True, seed=1)]
    assert first == again
    assert sorted(sum(first, [])) == list(range(100))
    assert [len(b) for b in first] == [32, 32, 32, 4]


def test_length_groups_sort_batches_by_length_and_keep_every_text_once_an_epoch():
    rng = np.random.default_rng(0)
    texts = np.array(["w" * int(n) for n in rng.integers(1, 200, 96)], dtype=object)
    y = np.arange(96)

    def batches(first_epoch=0, **kwargs):  # the row numbers of each batch, epochs first_epoch..2
        return [b[1].numpy().tolist() for b in data.pipeline(
            texts, y, 8, shuffle=True, seed=1, epochs=3, first_epoch=first_epoch, **kwargs)]

    grouped = batches(length_groups=4)
    assert len(grouped) == 3 * 12
    for epoch in range(3):  # every row once an epoch, in an order of its own
        assert sorted(sum(grouped[12 * epoch:12 * (epoch + 1)], [])) == list(range(96))
    assert grouped[:12] != grouped[12:24]
    lengths = [[len(texts[i]) for i in batch] for batch in grouped]
    for start in range(0, len(lengths), 4):  # each group of 4 batches ascends in length
        flat = sum(lengths[start:start + 4], [])
        assert flat == sorted(flat)
    # a batch spans far less of the length range than a randomly drawn one
    spread = lambda batches: np.mean([max(b) - min(b) for b in batches])  # noqa: E731
    random = [[len(texts[i]) for i in batch] for batch in batches()]
    assert spread(lengths) < spread(random) / 2
    assert batches(first_epoch=2, length_groups=4) == grouped[24:]  # a resume agrees
    with pytest.raises(ValueError, match="1-D array of texts"):
        data.pipeline(np.zeros((96, 2)), y, 8, shuffle=True, epochs=1, length_groups=4)
    with pytest.raises(ValueError, match="shuffle=True and epochs=N"):
        data.pipeline(texts, y, 8, length_groups=4)


def test_pipeline_and_take_keep_named_inputs_together():
    x = {"features": np.arange(10, dtype="float32")[:, None],
         "text": np.array([f"row {i}" for i in range(10)], dtype=object)}
    y = np.arange(10)
    part = data.take(x, np.array([7, 2]))
    assert part["features"][:, 0].tolist() == [7, 2] and part["text"].tolist() == ["row 7",
                                                                                   "row 2"]
    for batches in (data.pipeline(x, y, 4, shuffle=True, seed=3, epochs=2),
                    data.pipeline(x, y, 4)):
        for inputs, labels in batches:
            rows = labels.numpy()
            np.testing.assert_array_equal(inputs["features"].numpy()[:, 0], rows)
            assert [t.decode() for t in inputs["text"].numpy()] == [f"row {i}" for i in rows]
