"""The fit loop on image data in the official layout: the test split is read only after fit,
recipes cover every model, and bad arguments fail before any work."""
import keras
import pytest

import zoo
from test_data import write_mnist
from training import recipe_for, train


def test_test_split_is_read_only_after_fit(tmp_path, monkeypatch):
    from zoo.data import images

    monkeypatch.delenv("ZOO_DATA_DIR", raising=False)
    write_mnist(tmp_path / "data", n_train=80, n_test=20)
    events = []
    original_load, original_fit = images.load_arrays, keras.Model.fit

    def spy_load(name, split, *args, **kwargs):
        events.append(("load", split))
        return original_load(name, split, *args, **kwargs)

    def spy_fit(self, *args, **kwargs):
        events.append(("fit", "start"))
        out = original_fit(self, *args, **kwargs)
        events.append(("fit", "end"))
        return out

    monkeypatch.setattr(images, "load_arrays", spy_load)
    monkeypatch.setattr(keras.Model, "fit", spy_fit)
    result = train("mnist_tiny", out=tmp_path / "out", epochs=1, val_size=20,
                   data_dir=tmp_path / "data", verbose=False)
    assert events.index(("load", "test")) > events.index(("fit", "end")), events
    assert events.count(("load", "test")) == 1
    assert result["metrics"]["test"]["accuracy"] >= 0
    assert len(zoo.read_card(tmp_path / "out" / "mnist_tiny.keras")["metrics"]["test"]) >= 2


@pytest.mark.parametrize("name", zoo.list_models())
def test_every_model_has_a_recipe(name):
    assert zoo.get(name).recipe, f"{name} declares no recipe"
    recipe = recipe_for(name)
    assert recipe["epochs"] > 0 and recipe["batch_size"] > 0


def test_unknown_model_and_option_fail_before_any_work(tmp_path):
    with pytest.raises(ValueError, match="Unknown model"):
        train("mnist_cnnn", out=tmp_path)
    with pytest.raises(TypeError, match="dropuot"):
        train("mnist_cnn", out=tmp_path, overrides={"dropuot": 0.1})
    assert not any(tmp_path.iterdir())


def test_bfloat16_recipes_fall_back_to_float32_where_it_would_be_emulated(monkeypatch):
    from training import hardware

    monkeypatch.setattr(hardware.tf.config, "list_physical_devices", lambda kind=None: [])
    monkeypatch.setattr(hardware, "cpu_flags", lambda: {"avx", "avx2", "fma"})
    policy, note = hardware.effective_precision("mixed_bfloat16")
    assert policy is None and "float32" in note and "avx512_bf16" in note
    assert hardware.effective_precision(None) == (None, None)
    assert hardware.effective_precision("mixed_float16") == ("mixed_float16", None)
    monkeypatch.setattr(hardware, "cpu_flags", lambda: {"avx2", "avx512f", "avx512_bf16"})
    assert hardware.effective_precision("mixed_bfloat16") == ("mixed_bfloat16", None)
    monkeypatch.setattr(hardware, "cpu_flags", lambda: {"avx2", "amx_bf16"})
    assert hardware.effective_precision("mixed_bfloat16") == ("mixed_bfloat16", None)


def test_cpu_flags_come_from_the_first_processor_in_cpuinfo(tmp_path):
    from training.hardware import cpu_flags, cpu_model

    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu avx2 fma\n\n"
                    "processor\t: 1\nflags\t\t: fpu avx2 fma avx512_bf16\n")
    assert cpu_flags(info) == {"fpu", "avx2", "fma"}
    assert cpu_flags(tmp_path / "absent") == set()
    assert cpu_model(info) == "AMD EPYC"
    assert cpu_model(tmp_path / "absent") == "unknown CPU"


def test_cards_and_benchmarks_name_the_cpu_and_its_vector_extensions(monkeypatch):
    from training import hardware

    monkeypatch.setattr(hardware, "cpu_model", lambda: "AMD EPYC")
    monkeypatch.setattr(hardware, "cpu_flags", lambda: {"fpu", "avx2", "fma", "avx512_bf16"})
    monkeypatch.setattr(hardware.os, "cpu_count", lambda: 2)
    assert hardware.describe_cpu() == "AMD EPYC, 2 cores, avx2 avx512_bf16"
    monkeypatch.setattr(hardware, "cpu_flags", lambda: {"fpu", "sse2"})
    assert hardware.describe_cpu() == "AMD EPYC, 2 cores, no AVX2"


@pytest.mark.parametrize("averaging", [None, dict(every=1, decay=0.95)],
                         ids=["plain", "weight_averaging"])
def test_resumed_training_reports_every_epoch_in_its_history(tmp_path, monkeypatch, averaging):
    """A run that crashes in epoch 2 (its logs written, its checkpoint not) and is resumed gives
    the same per-epoch history (the curves' data) and weights as an uninterrupted run, not just
    the epochs run after the resume. Weight averaging starts its average when training begins:
    the resumed run must start it from the restored weights, not from the freshly built ones."""
    import numpy as np

    from training.callbacks import RunRecord

    monkeypatch.setitem(zoo.get("spirals_mlp").recipe, "weight_averaging", averaging)

    class Crash(Exception):
        pass

    write_epoch = RunRecord.on_epoch_end

    def crash_after_second_epoch(self, epoch, logs=None):
        write_epoch(self, epoch, logs)
        if epoch == 1:
            raise Crash

    with monkeypatch.context() as patch:
        patch.setattr(RunRecord, "on_epoch_end", crash_after_second_epoch)
        with pytest.raises(Crash):
            train("spirals_mlp", epochs=5, out=tmp_path / "crashed", verbose=False)
    resumed = train("spirals_mlp", epochs=5, out=tmp_path / "crashed", resume=True,
                    verbose=False)
    full = train("spirals_mlp", epochs=5, out=tmp_path / "full", verbose=False)
    assert set(resumed["history"]) == set(full["history"]) and "val_loss" in full["history"]
    for key, values in full["history"].items():
        assert len(values) == 5
        np.testing.assert_allclose(resumed["history"][key], values, rtol=1e-5, atol=1e-6)
    for found, expected in zip(resumed["model"].get_weights(), full["model"].get_weights()):
        np.testing.assert_allclose(found, expected, rtol=1e-5, atol=1e-6)
