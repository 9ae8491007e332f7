"""Command-line arguments refused before any work, with an `error:` line and exit status 2,
leaving what is on disk untouched; negative numbers are inputs, not options."""
import hashlib
import json

import pytest

import zoo
from zoo import artifacts
from zoo.__main__ import main as zoo_main


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def exit_status(main, argv):
    """What a command line's `main` ends with: its return value, or argparse's exit code."""
    try:
        return main(argv)
    except SystemExit as exit:
        return exit.code


@pytest.mark.parametrize("argv", [["--epochs", "0"], ["--epochs", "-3"], ["--batch-size", "0"],
                                  ["--batch-size", "-8"], ["--strategy", "bogus"],
                                  ["--strategy", "cpu:x"], ["--strategy", "cpu:0"]])
def test_training_refuses_bad_arguments_and_keeps_the_artifact(argv, tmp_path, capsys):
    from training.__main__ import main as train_main

    saved = artifacts.save_model(zoo.build("spirals_mlp"), tmp_path / "spirals_mlp.keras")
    before = _sha(saved)
    assert exit_status(train_main, ["spirals_mlp", "--out", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert "error:" in err.strip().splitlines()[-1] and "Traceback" not in err
    assert _sha(saved) == before and sorted(p.name for p in tmp_path.iterdir()) == [saved.name]


@pytest.mark.parametrize("argv", [["--max-trials", "0"], ["--max-trials", "-1"],
                                  ["--epochs", "0"], ["--strategy", "bogus"]])
def test_tuning_refuses_bad_arguments(argv, tmp_path, capsys):
    from tuning.__main__ import main as tune_main

    assert exit_status(tune_main, ["spirals_mlp", "--dir", str(tmp_path / "search"), *argv]) == 2
    err = capsys.readouterr().err
    assert "error:" in err.strip().splitlines()[-1] and "Traceback" not in err
    assert not (tmp_path / "search").exists()


def test_predict_takes_negative_numbers_as_inputs(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ZOO_SAVED_MODELS", str(tmp_path))
    artifacts.save_model(zoo.build("spirals_mlp"), tmp_path / "spirals_mlp.keras")
    artifacts.save_model(zoo.build("sine_basis"), tmp_path / "sine_basis.keras")
    assert zoo_main(["predict", "spirals_mlp", "-1,0.5", "0.2,-.3", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out.strip().splitlines()[-1])) == 2
    assert zoo_main(["predict", "sine_basis", "-0.25", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out.strip().splitlines()[-1])) == 1

