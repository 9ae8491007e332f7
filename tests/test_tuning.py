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
    rows = _rows(tmp_path / "search" / "spirals_mlp")
    assert len(rows) == 3
    assert {"trial", "val_accuracy", "depth", "width", "l2"} <= set(rows[0])
    assert (tmp_path / "search" / "spirals_mlp" / "results.md").read_text().count("\n|") >= 4
    assert (tmp_path / "search" / "spirals_mlp" / "results.png").exists()
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
    assert len(_rows(tmp_path / "search" / "mnist_tiny")) == 3
    trials_before = [i for i, e in enumerate(events) if e[0] == "trial"]
    test_reads = [i for i, e in enumerate(events) if e == ("load", "test")]
    assert test_reads, "the final card should be measured on the test split"
    assert min(test_reads) > max(trials_before), events


def test_same_seed_gives_same_trials(tmp_path):
    for run, seed in (("a", 7), ("b", 7), ("c", 8)):
        tuning.search("spirals_mlp", max_trials=3, epochs=1, seed=seed,
                      directory=tmp_path / run, retrain=False, verbose=False)
    a, b, c = (_hp_columns(_rows(tmp_path / run / "spirals_mlp")) for run in "abc")
    assert a == b
    assert a != c


def test_two_models_share_a_search_dir_without_overwriting(tmp_path):
    for name in ("spirals_mlp", "sine_basis"):
        tuning.search(name, max_trials=1, epochs=1, directory=tmp_path, retrain=False,
                      verbose=False)
    assert "depth" in _rows(tmp_path / "spirals_mlp")[0]
    assert "val_mse" in _rows(tmp_path / "sine_basis")[0]


def test_tuned_artifact_defaults_to_the_search_dir(tmp_path):
    tuning.search("spirals_mlp", max_trials=1, epochs=1, directory=tmp_path, final_epochs=1,
                  verbose=False)
    assert (tmp_path / "spirals_mlp" / "spirals_mlp.tuned.keras").exists()
    assert not list(zoo.artifacts.saved_models_dir().glob("*.tuned.*"))


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
    project = tmp_path / "spirals_mlp"
    kill_when(command, lambda: (project / "results.csv").exists() and bool(_rows(project)),
              poll=0.1)
    done_before = _rows(project)
    assert 1 <= len(done_before) < 4
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    resumed = subprocess.run(command + ["--resume"], cwd=REPO, env=env, capture_output=True,
                             text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    ran_now = [line for line in resumed.stdout.splitlines() if line.startswith("trial ")]
    rows = _rows(project)
    assert len(rows) == 4
    assert len(ran_now) == 4 - len(done_before), resumed.stdout
    assert rows[: len(done_before)] == done_before  # finished trials were not redone


@pytest.mark.parametrize("name", zoo.list_models())
def test_search_space_defaults_are_the_builders_defaults(name):
    """What makes a search's first trial the model `zoo.build(name)` gives."""
    from zoo.registry import _DomainRecorder

    task = zoo.get(name)
    overrides = task.search_space(_DomainRecorder())
    assert overrides == {key: task.defaults[key] for key in overrides}


@pytest.mark.parametrize("kind", ["random", "hyperband"])
def test_first_trial_is_the_defaults_and_the_card_compares_them(kind, tmp_path):
    tuning.search("spirals_mlp", tuner=kind, max_trials=2, epochs=2, seed=5,
                  directory=tmp_path, final_epochs=1, verbose=False)
    first = _rows(tmp_path / "spirals_mlp")[0]
    defaults = zoo.get("spirals_mlp").defaults
    assert (int(first["depth"]), int(first["width"]), first["activation"]) == (
        defaults["depth"], defaults["width"], defaults["activation"])
    card = zoo.read_card(tmp_path / "spirals_mlp" / "spirals_mlp.tuned.keras")
    assert card["tuning"]["defaults_val"] == pytest.approx(float(first["val_accuracy"]))
    assert card["tuning"]["best_val"] >= card["tuning"]["defaults_val"]
    assert card["tuning"]["winner"].startswith(("defaults", "tuned"))


def _free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_distributed_search_on_loopback_runs_each_trial_once(tmp_path):
    """Keras Tuner's own distributed mode: a chief (the oracle) and two workers on 127.0.0.1."""
    port = str(_free_port())
    command = [sys.executable, "-m", "tuning", "spirals_mlp", "--max-trials", "4", "--epochs",
               "2", "--seed", "2", "--dir", str(tmp_path), "--final-epochs", "1"]
    base = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERASTUNER_ORACLE_IP": "127.0.0.1",
            "KERASTUNER_ORACLE_PORT": port}
    processes = {role: subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True,
                                        env={**base, "KERASTUNER_TUNER_ID": role})
                 for role in ("chief", "tuner0", "tuner1")}
    outputs = {role: proc.communicate(timeout=600)[0] for role, proc in processes.items()}
    for role, proc in processes.items():
        assert proc.returncode == 0, f"{role}:\n{outputs[role][-3000:]}"
    trial_lines = [line for role in ("tuner0", "tuner1") for line in outputs[role].splitlines()
                   if "] trial " in line]
    ids = [line.split("] trial ")[1].split()[0] for line in trial_lines]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 4, trial_lines
    rows = _rows(tmp_path / "spirals_mlp")
    assert sorted(r["trial"] for r in rows) == sorted(ids)
    assert all(r["val_accuracy"] for r in rows)
    saved = list((tmp_path / "spirals_mlp").glob("*.tuned.keras"))
    assert len(saved) == 1 and zoo.read_card(saved[0])["tuning"]["trials"] == 4
    assert all("wrote" not in outputs[role] for role in ("tuner0", "tuner1"))
