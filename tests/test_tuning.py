"""Keras Tuner searches: results table, no test-split reads, resume after a kill, determinism."""
import csv
import os
import subprocess
import sys

import pytest

import tuning
import zoo
from conftest import REPO, kill_when
from test_data import write_mnist
from tuning.search import Search


def _rows(directory):
    with open(directory / "results.csv") as f:
        return list(csv.DictReader(f))


def _hp_columns(rows):
    return [{k: v for k, v in r.items() if k not in ("trial", "val_accuracy", "val_mse")}
            for r in rows]


@pytest.fixture
def events(monkeypatch):
    """Record, in order, every read of a dataset split and every finished trial."""
    from zoo.data import images

    log = []
    original_load = images.load_arrays
    original_report = Search._report

    def spy_load(name, split, *args, **kwargs):
        log.append(("load", split))
        return original_load(name, split, *args, **kwargs)

    def spy_report(self, trial):
        log.append(("trial", trial.trial_id))
        return original_report(self, trial)

    monkeypatch.setattr(images, "load_arrays", spy_load)
    monkeypatch.setattr(Search, "_report", spy_report)
    return log


def test_random_search_on_spirals_writes_table_and_tuned_artifact(tmp_path):
    result = tuning.search("spirals_mlp", tuner="random", max_trials=3, epochs=3, seed=1,
                           directory=tmp_path / "search", out=tmp_path / "out", final_epochs=2,
                           verbose=False)
    rows = _rows(tmp_path / "search")
    assert len(rows) == 3
    assert {"trial", "val_accuracy", "depth", "width", "l2"} <= set(rows[0])
    assert (tmp_path / "search" / "results.md").read_text().count("\n|") >= 4
    assert (tmp_path / "search" / "results.png").exists()
    card = zoo.read_card(tmp_path / "out" / "spirals_mlp.tuned.keras")
    assert card["tuning"]["tuner"] == "random" and card["tuning"]["trials"] == 3
    assert card["tuning"]["best_hyperparameters"] == result["best"]
    assert "test" in card["metrics"] and "val" in card["metrics"]
    zoo.load(tmp_path / "out" / "spirals_mlp.tuned.keras")


def test_search_on_image_model_never_reads_the_test_split(tmp_path, events, monkeypatch):
    monkeypatch.delenv("ZOO_DATA_DIR", raising=False)
    write_mnist(tmp_path / "data", n_train=240, n_test=40)
    tuning.search("mnist_tiny", tuner="random", max_trials=3, epochs=1, val_split=0.25,
                  directory=tmp_path / "search", data_dir=tmp_path / "data",
                  out=tmp_path / "out", final_epochs=1, verbose=False)
    assert len(_rows(tmp_path / "search")) == 3
    trials_before = [i for i, e in enumerate(events) if e[0] == "trial"]
    test_reads = [i for i, e in enumerate(events) if e == ("load", "test")]
    assert test_reads, "the final card should be measured on the test split"
    assert min(test_reads) > max(trials_before), events


def test_same_seed_gives_same_trials(tmp_path):
    for run in ("a", "b"):
        tuning.search("spirals_mlp", max_trials=3, epochs=1, seed=7, directory=tmp_path / run,
                      retrain=False, verbose=False)
    assert _hp_columns(_rows(tmp_path / "a")) == _hp_columns(_rows(tmp_path / "b"))
    tuning.search("spirals_mlp", max_trials=3, epochs=1, seed=8, directory=tmp_path / "c",
                  retrain=False, verbose=False)
    assert _hp_columns(_rows(tmp_path / "a")) != _hp_columns(_rows(tmp_path / "c"))


def test_existing_search_needs_resume(tmp_path):
    tuning.search("spirals_mlp", max_trials=1, epochs=1, directory=tmp_path, retrain=False,
                  verbose=False)
    with pytest.raises(tuning.SearchExistsError, match="--resume"):
        tuning.search("spirals_mlp", max_trials=1, epochs=1, directory=tmp_path, retrain=False,
                      verbose=False)


def test_killed_search_resumes_only_missing_trials(tmp_path):
    command = [sys.executable, "-m", "tuning", "spirals_mlp", "--tuner", "random",
               "--max-trials", "4", "--epochs", "25", "--seed", "3", "--dir", str(tmp_path),
               "--no-retrain"]
    kill_when(command, lambda: (tmp_path / "results.csv").exists() and bool(_rows(tmp_path)),
              poll=0.1)
    done_before = _rows(tmp_path)
    assert 1 <= len(done_before) < 4
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    resumed = subprocess.run(command + ["--resume"], cwd=REPO, env=env, capture_output=True,
                             text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    ran_now = [line for line in resumed.stdout.splitlines() if line.startswith("trial ")]
    rows = _rows(tmp_path)
    assert len(rows) == 4
    assert len(ran_now) == 4 - len(done_before), resumed.stdout
    assert rows[: len(done_before)] == done_before  # finished trials were not redone
