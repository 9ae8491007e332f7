"""One place builds a recipe's training pieces (`training.pieces`): `python -m training`, a
cross-validation fold, a tuning trial and the speed benchmark all train with them."""
import importlib.util
import json

import numpy as np
import pytest

import tuning
import zoo
from conftest import REPO
from training import cv, fit, pieces, recipes
from training.callbacks import StepSchedule, WeightAveraging
from zoo.data import load_splits

NAME, SEED, VAL = "spirals_mlp", 3, 0.2


def _trained():
    result = fit.train(NAME, epochs=1, seed=SEED, val_size=VAL, save=False, verbose=False)
    return result["model"].get_weights()


def _tuning_trial(tmp_path):
    """Trial 1 of a search is the builder's defaults; one epoch, so Keras Tuner's best-epoch
    checkpoint is the end of training."""
    found = tuning.search(NAME, max_trials=1, epochs=1, val_split=VAL, seed=SEED,
                          directory=tmp_path / "search", retrain=False, verbose=False)
    return found["search"].tuner.get_best_models(1)[0].get_weights()


def _cv_fold():
    """A fold whose training part is the rows training uses."""
    x, y = load_splits("spirals", seed=SEED, val_size=VAL).train
    rows = np.arange(len(y))
    _, _, model = cv._fit_and_score(NAME, {}, (rows, y), (rows[:50], y[:50]),
                                    recipes.recipe_for(NAME, epochs=1), x, seed=SEED)
    return model.get_weights()


def test_a_tuning_trial_and_a_cv_fold_train_exactly_as_training_does(tmp_path):
    trained = _trained()
    for other in (_tuning_trial(tmp_path), _cv_fold()):
        assert len(other) == len(trained)
        for a, b in zip(trained, other):
            np.testing.assert_array_equal(a, b)


def _load_benchmark():
    spec = importlib.util.spec_from_file_location("cifar_speed",
                                                  REPO / "benchmarks" / "cifar_speed.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_recipe_change_reaches_training_cv_tuning_and_the_benchmark(tmp_path, monkeypatch):
    monkeypatch.setitem(zoo.get(NAME).recipe, "weight_averaging", dict(every=1, decay=0.5))
    made = []
    original = pieces.callbacks

    def spy(model, recipe, steps, validation=True):
        found = original(model, recipe, steps, validation)
        made.append({type(c) for c in found})
        return found

    monkeypatch.setattr(pieces, "callbacks", spy)
    users = {"training": _trained, "cv": _cv_fold,
             "tuning": lambda: _tuning_trial(tmp_path)}
    benchmark = _load_benchmark()
    x, y = load_splits("spirals", seed=SEED).train
    users["benchmark"] = lambda: [timed() for _, timed in benchmark.prepare(
        NAME, x, y, images=64, rounds=1, levers=False)]
    for user, run in users.items():
        made.clear()
        run()
        assert {WeightAveraging, StepSchedule} <= set().union(*made), user


@pytest.mark.parametrize("name", zoo.list_models())
def test_every_recipe_builds_its_pieces(name):
    recipe = recipes.recipe_for(name)
    assert pieces.steps_per_epoch(1000, recipe["batch_size"]) >= 1
    assert set(recipe) == set(recipes.DEFAULTS)


def test_a_cross_validation_grid_chooses_recipe_keys_inside_folds_and_for_the_saved_model(
        tmp_path, monkeypatch, capsys):
    seen, original = [], cv._fit_and_score

    def spy(name, overrides, train, test, recipe, *args, **kwargs):
        seen.append((recipe["epochs"], recipe["batch_size"], len(train[1])))
        return original(name, overrides, train, test, recipe, *args, **kwargs)

    monkeypatch.setattr(cv, "_fit_and_score", spy)
    x, y = zoo.data.spirals(n_per_class=30)
    grid = [{"recipe": {"epochs": 1}}, {"recipe": {"epochs": 2, "batch_size": 16}}]
    summary = cv.cross_validate("spirals_mlp", x, y, folds=2, grid=grid, verbose=False)
    # per fold: each option on the inner split (90% of the 30 training rows), then the chosen
    assert seen[:2] == [(1, 32, 27), (2, 16, 27)]  # spirals_mlp batches 32
    chosen, inner = summary["folds"][0]["chosen"], summary["folds"][0]["inner_accuracies"]
    assert seen[2] == ((1, 32, 30) if chosen == grid[0] else (2, 16, 30))
    assert len(inner) == 2 and chosen == grid[int(np.argmax(inner))]
    seen.clear()  # one option: nothing to choose, no inner training
    cv.cross_validate("spirals_mlp", x, y, folds=2, grid=grid[1:], verbose=False)
    assert seen == [(2, 16, 30)] * 2
    with pytest.raises(ValueError, match="unknown recipe keys"):
        cv.cross_validate("spirals_mlp", x, y, folds=2, grid=[{"recipe": {"epoch": 1}}])
    assert recipes.with_changes({"finetune": {"epochs": 3, "batch_size": 32}, "seed": 0},
                                {"finetune": {"epochs": 6}}) == {
        "finetune": {"epochs": 6, "batch_size": 32}, "seed": 0}

    from training.cv import main as cv_main

    seen.clear()
    assert cv_main(["spirals_mlp", "--folds", "2", "--out", str(tmp_path), "--grid",
                    json.dumps(grid), "--save"]) == 0
    card = zoo.read_card(tmp_path / "spirals_mlp.keras")
    chosen = card["cross_validation"]["chosen_for_saved_model"]
    assert chosen in grid and card["recipe"]["epochs"] == chosen["recipe"]["epochs"]
    # 2 folds x (2 inner fits + the chosen), then the saved model's choice on 90% of all rows
    examples = card["cross_validation"]["examples"]
    assert [rows for *_, rows in seen[6:]] == [examples - examples // 10] * 2
    out = capsys.readouterr().out  # each option's inner accuracy as it comes, then the choice
    assert out.count("inner split: option 2/2") == 2  # folds 1 and 2
    assert "saved model, inner split of all rows: option 2/2" in out
    assert "chosen on an inner split of all the rows" in out


def test_cross_validation_extends_the_card_training_makes(tmp_path, capsys):
    from training.cv import main as cv_main

    argv = ["spirals_mlp", "--folds", "2", "--epochs", "1", "--out", str(tmp_path), "--set",
            "width=16", "--json", str(tmp_path / "cv.json")]
    assert cv_main(argv) == 0
    assert cv_main(argv + ["--save"]) == 0  # the finished folds are reused, not rerun
    assert capsys.readouterr().out.count("(recorded in ") == 2
    card = zoo.read_card(tmp_path / "spirals_mlp.keras")
    assert card["cross_validation"]["folds"] == json.loads((tmp_path / "cv.json").read_text())[
        "folds"]
    # --set reaches every fold and the saved model
    assert card["overrides"] == card["cross_validation"]["overrides"] == {"width": 16}
    assert set(card["metrics"]) >= {"cv", "test", "train"}  # added beside, nothing rebuilt
    assert len(card["metrics"]["cv"]["per_fold"]) == 2
    assert card["data"]["trained_on"].startswith("all ") and "source" in card["data"]
    assert card["sha256"] == zoo.artifacts.sha256(tmp_path / "spirals_mlp.keras")


def test_extend_merges_nested_entries():
    from zoo.cards import extend

    card = {"metrics": {"test": {"accuracy": 0.9}}, "data": {"dataset": "x"}, "epochs": 3}
    assert extend(card, {"metrics": {"cv": {"accuracy": 0.8}}, "epochs": 4}) == {
        "metrics": {"test": {"accuracy": 0.9}, "cv": {"accuracy": 0.8}},
        "data": {"dataset": "x"}, "epochs": 4}
    assert card["metrics"] == {"test": {"accuracy": 0.9}}  # the original is left as it was


def test_validate_every_validates_every_nth_epoch_and_the_last(tmp_path, monkeypatch):
    monkeypatch.setitem(zoo.get(NAME).recipe, "validate_every", 2)
    assert pieces.validated_epochs(recipes.recipe_for(NAME, epochs=5)) == [2, 4, 5]
    result = fit.train(NAME, epochs=5, seed=SEED, val_size=VAL, out=tmp_path / "out",
                       verbose=False, backup_dir=tmp_path / "backup")
    history = result["history"]
    assert len(history["loss"]) == 5 and len(history["val_loss"]) == 3
    assert (tmp_path / "out" / f"{NAME}-curves.png").exists()  # drawn at epochs 2, 4, 5
    histories, original = [], pieces.fit
    monkeypatch.setattr(pieces, "fit", lambda *a, **k: histories.append(original(*a, **k)) or
                        histories[-1])
    tuning.search(NAME, max_trials=1, epochs=3, val_split=VAL, seed=SEED,
                  directory=tmp_path / "search", retrain=False, verbose=False)
    assert len(histories[0].history["val_loss"]) == 3  # a tuner scores every epoch


def test_validate_every_is_refused_beside_early_stopping_and_below_one():
    recipe = recipes.recipe_for(NAME, validate_every=2)
    recipe["early_stopping"] = dict(monitor="val_loss", patience=2)
    model = zoo.build(NAME)
    with pytest.raises(ValueError, match="validate_every=1"):
        pieces.callbacks(model, recipe, steps=10)
    with pytest.raises(ValueError, match="validate_every must be"):
        pieces.validated_epochs({**recipe, "validate_every": 0})
