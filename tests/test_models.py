"""Checks every registered model gets, now and later: builds compiled, learns on a small batch,
survives the `.keras` round trip with equal outputs, and needs no Lambda layer."""
import json
import pickle

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
        losses.append(out["loss"])
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
