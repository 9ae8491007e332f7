"""Checks every registered model gets, now and later: builds compiled, learns on a small batch,
survives the `.keras` round trip with equal outputs, and needs no Lambda layer."""
import json
import pickle
import re

import keras
import numpy as np
import pytest

import zoo
from training.recipes import recipe_for
from conftest import run_python, sample_batch

MODELS = [pytest.param(name, marks=pytest.mark.skipif(
    zoo.get(name).unavailable() is not None, reason=str(zoo.get(name).unavailable())))
    for name in zoo.list_models()]


def _all_layers(model):
    for layer in model._flatten_layers(include_self=False, recursive=True):
        yield layer


def test_registry_is_not_empty():
    assert {"sine_basis", "spirals_mlp", "mnist_cnn", "agnews_bow"} <= set(zoo.list_models())


@pytest.mark.parametrize("name", MODELS)
def test_builds_compiled_and_described(name):
    model = zoo.build(name)
    assert isinstance(model, keras.Model)
    assert model.compiled and model.optimizer is not None
    info = zoo.describe(name)
    assert info["parameters"] == model.count_params() > 0
    assert info["bar"] and info["metric"]
    assert not any(isinstance(layer, keras.layers.Lambda) for layer in _all_layers(model))


@pytest.mark.parametrize("name", MODELS)
def test_training_steps_lower_the_loss(name):
    keras.utils.set_random_seed(0)
    task = zoo.get(name)
    model = zoo.build(name)
    if recipe_for(name)["warmup_epochs"]:
        # the recipe warms the rate up from zero: its full rate is for a settled network
        rate = model.optimizer.learning_rate
        rate.assign(0.1 * keras.ops.convert_to_numpy(rate))
    x, y = sample_batch(model, task.kind)
    losses = []
    for _ in range(8):
        out = model.train_on_batch(x, y, return_dict=True)
        losses.append(out["loss" if "loss" in out else "d_loss"])  # a GAN: its discriminator
    assert np.isfinite(losses).all()
    assert min(losses[-3:]) < losses[0], losses


@pytest.mark.parametrize("name", MODELS)
def test_keras_round_trip_in_fresh_process(name, tmp_path):
    model = zoo.build(name)
    x, _ = sample_batch(model, zoo.get(name).kind, n=4)
    expected = model.predict(x, verbose=0)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    (tmp_path / "x.pkl").write_bytes(pickle.dumps(x))  # an array, or a dict of named inputs
    proc = run_python(f"""
import json, pickle, keras, zoo
model = keras.saving.load_model({str(path)!r}, safe_mode=True)  # Keras' own loader
x = pickle.loads(open({str(tmp_path / 'x.pkl')!r}, "rb").read())
print(json.dumps(model.predict(x, verbose=0).tolist()))
""")
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = np.array(json.loads(proc.stdout.strip().splitlines()[-1]))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", MODELS)
def test_default_search_space_equals_builder_defaults(name):
    """The tuner's default hyperparameters are the builder's defaults, so `zoo.build(name)` and
    a default trial agree."""
    import keras_tuner

    task = zoo.get(name)
    assert task.search_space is not None, f"{name} declares no search space"
    hp = keras_tuner.HyperParameters()
    chosen = task.search_space(hp)
    assert chosen and set(chosen) <= set(task.defaults)
    for key, value in chosen.items():
        assert value == pytest.approx(task.defaults[key]), key


def test_unknown_name_suggests_close_names():
    with pytest.raises(ValueError, match="mnist_cnn"):
        zoo.build("mnist_cn")


def test_unknown_override_is_refused_before_building():
    with pytest.raises(TypeError, match="widht"):
        zoo.build("mnist_cnn", widht=3)


def test_invalid_override_value_is_a_clear_error():
    with pytest.raises(ValueError, match="optimizer"):
        zoo.build("spirals_mlp", optimizer="sgdd")


def test_list_models_filter():
    assert zoo.list_models("mnist_*") == [n for n in zoo.list_models() if n.startswith("mnist_")]
    assert "spirals_mlp" in zoo.list_models("spiral")
    assert zoo.list_models("no-such-thing") == []


def test_register_model_refuses_builders_without_defaults():
    from zoo.registry import register_model

    with pytest.raises(TypeError, match="default"):
        @register_model("bad_builder_for_test", description="x", dataset="spirals",
                        kind="binary", metric="accuracy", bar={"accuracy": 1})
        def bad(width):
            return None
    assert "bad_builder_for_test" not in zoo.list_models()


IMAGE_MODELS = [name for name in zoo.list_models() if zoo.get(name).input_kind == "image"
                and zoo.get(name).kind == "classification"]


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_image_builder_takes_another_shape_and_class_count(name):
    """Smaller images with other channels and 3 classes: the model builds, takes a training
    step, and its output has 3 classes."""
    height, width, channels = zoo.get(name).defaults["input_shape"]
    shape = (height - 10, width - 10, 1 if channels == 3 else 3)
    keras.utils.set_random_seed(0)
    model = zoo.build(name, input_shape=shape, num_classes=3)
    assert tuple(model.inputs[0].shape[1:]) == shape and model.outputs[0].shape[-1] == 3
    x, y = sample_batch(model, "classification", n=8)
    logs = model.train_on_batch(x, y, return_dict=True)
    assert np.isfinite(logs["loss"])


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_tiny_images_either_work_or_are_refused_with_the_smallest_size(name):
    try:
        model = zoo.build(name, input_shape=(3, 3, 1))
    except ValueError as error:
        assert re.search(r"takes images .* of at least \d+x\d+ pixels", str(error)), error
    else:
        assert model.predict(np.zeros((2, 3, 3, 1), "uint8"), verbose=0).shape[0] == 2


def test_mnist_tiny_says_when_its_grid_does_not_fit_the_crop():
    with pytest.raises(ValueError, match="grid 5 must divide"):
        zoo.build("mnist_tiny", input_shape=(20, 20, 1))


def test_parameter_count_cards_list_exactly_the_weightless_layers():
    """What a <= N-parameter bar lets a model use for free is listed on its card: every layer
    without values, and no other."""
    from zoo.cards import parameter_free_layers

    model = zoo.build("mnist_micro")
    listed = parameter_free_layers(model)
    assert [entry.split(":")[0] for entry in listed] == ["scale", "dct", "gradients",
                                                         "fixed_features"]
    assert "LowFrequencyDCT(coefficients=6, crop=4)" in listed[1]
    assert model.count_params() == sum(int(np.prod(w.shape)) for w in model.weights) == 96


def test_mnist_cnn_learns_scikit_learns_8x8_digits():
    """The issue's library check: another dataset's shape through the zoo's builder (a seeded
    80/20 split of the 1,797 digits; >= 97% on the held-out fifth)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = np.round(digits.images * (255 / 16)).astype("uint8")[..., None]
    y = digits.target.astype("int32")
    order = np.random.default_rng(0).permutation(len(y))
    train, test = order[: int(0.8 * len(y))], order[int(0.8 * len(y)):]
    keras.utils.set_random_seed(0)
    model = zoo.build("mnist_cnn", input_shape=(8, 8, 1), num_classes=10)
    model.fit(x[train], y[train], batch_size=32, epochs=20, verbose=0)
    accuracy = model.evaluate(x[test], y[test], verbose=0, return_dict=True)["accuracy"]
    assert accuracy >= 0.97, accuracy


TEXT_MODELS = [param for param in MODELS if zoo.get(param.values[0]).input_kind == "text"]


@pytest.mark.parametrize("name", TEXT_MODELS)
def test_text_builder_takes_another_class_count(name):
    model = zoo.build(name, num_classes=7)
    assert model.outputs[0].shape[-1] == 7
    x, y = sample_batch(model, "classification", n=8)
    assert np.isfinite(model.train_on_batch(x, y, return_dict=True)["loss"])


@pytest.mark.parametrize("name", ["sine_basis", "spirals_mlp"])
def test_dense_builder_takes_another_input_dim(name):
    model = zoo.build(name, input_dim=5)
    assert model.inputs[0].shape[-1] == 5
    x, y = sample_batch(model, zoo.get(name).kind, n=8)
    assert np.isfinite(model.train_on_batch(x, y, return_dict=True)["loss"])
