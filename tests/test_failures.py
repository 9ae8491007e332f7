"""Nothing lost, nothing silent: a failed or killed run leaves the earlier artifact set as it
was, an altered artifact is refused, bad inputs end in one `error:` line."""
import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import zoo
from conftest import REPO
from test_data import write_mnist
from training import fit
from training.__main__ import main as training_main
from zoo import artifacts, inference
from zoo.__main__ import main as zoo_main

NAME = "spirals_mlp"


def digests(folder):
    """sha256 of every visible file in `folder`: what "left byte-identical" compares."""
    return {p.name: artifacts.sha256(p) for p in sorted(Path(folder).iterdir()) if p.is_file()
            and not p.name.startswith(".")}


def assert_consistent(folder, stem):
    """The set in `folder` is whole: the card's sha256 is the artifact's, its figures exist,
    and no temporary file is left beside them."""
    card = json.loads((folder / f"{stem}.json").read_text())
    assert card["sha256"] == artifacts.sha256(folder / f"{stem}.keras")
    assert all((folder / figure).exists() for figure in card["figures"])
    assert not [p for p in folder.iterdir() if ".tmp" in p.name]


def one_error_line(err):
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err, err
    assert sum(line.startswith("error: ") for line in lines) == 1, err
    return next(line for line in lines if line.startswith("error: "))


@pytest.fixture(scope="module")
def spirals_set(tmp_path_factory):
    """A published spirals_mlp set (artifact, card, figures), trained briefly once."""
    out = tmp_path_factory.mktemp("published")
    fit.train(NAME, out=out, epochs=3, verbose=False)
    return out


@pytest.fixture
def out(spirals_set, tmp_path):
    copy = tmp_path / "out"
    shutil.copytree(spirals_set, copy)
    return copy


# -- failed runs keep the previous set; the trained weights wait for --resume -----------------

def test_failure_while_drawing_figures_keeps_the_previous_set(out, monkeypatch, capsys):
    before = digests(out)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(fit.plots, "draw", broken)
    assert training_main([NAME, "--out", str(out), "--epochs", "2"]) == 2
    err = capsys.readouterr().err
    assert one_error_line(err) == "error: OSError: disk full (--debug shows where)"
    assert "--resume" in err
    assert digests(out) == before
    assert not artifacts.staging_dir(out, NAME).exists()
    assert (fit.default_backup_dir(out, NAME) / fit.FITTED_WEIGHTS).exists()

    monkeypatch.undo()
    assert training_main([NAME, "--out", str(out), "--epochs", "2", "--resume"]) == 0
    assert "training finished in an earlier run (2 epochs)" in capsys.readouterr().out
    assert digests(out) != before
    assert_consistent(out, NAME)
    assert not fit.default_backup_dir(out, NAME).exists()  # removed once published


def test_a_run_that_publishes_nothing_checkpoints_outside_out_and_leaves_nothing(
        tmp_path, monkeypatch):
    """`train(save=False)` (benchmarks, tests) checkpoints in a temporary folder, removed when
    the run ends, whether it ends well or not: nothing of it appears in `out`."""
    out, seen = tmp_path / "out", {}
    out.mkdir()
    fit_epochs = fit._fit

    def spy(fitted, name, train_data, val_data, recipe, backup, *rest):
        fit_epochs(fitted, name, train_data, val_data, recipe, backup, *rest)
        seen.update(backup=backup, checkpointed=any(backup.iterdir()), out=list(out.iterdir()))

    monkeypatch.setattr(fit, "_fit", spy)
    fit.train(NAME, out=out, epochs=1, save=False, verbose=False)
    assert seen["checkpointed"] and seen["out"] == [] and out not in seen["backup"].parents
    assert not seen["backup"].exists()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(fit, "evaluate_step", broken)
    with pytest.raises(OSError, match="disk full"):
        fit.train(NAME, out=out, epochs=1, save=False, verbose=False)
    assert seen["checkpointed"] and not seen["backup"].exists() and list(out.iterdir()) == []


def test_unreadable_test_split_keeps_the_previous_set_and_resume_skips_training(
        tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("ZOO_DATA_DIR", raising=False)
    data, out = tmp_path / "data", tmp_path / "out"
    write_mnist(data, n_train=200, n_test=40)
    argv = ["mnist_tiny", "--out", str(out), "--data-dir", str(data), "--epochs", "1",
            "--val-size", "40"]
    assert training_main(argv) == 0
    before = digests(out)
    test_images = next(data.rglob("t10k-images*"))
    good = test_images.read_bytes()
    test_images.write_bytes(good[: len(good) // 2])  # truncated

    assert training_main(argv) != 0
    err = capsys.readouterr().err
    one_error_line(err)
    assert digests(out) == before

    test_images.write_bytes(good)
    assert training_main(argv + ["--resume"]) == 0
    printed = capsys.readouterr().out
    assert "training finished in an earlier run" in printed and "epoch " not in printed
    assert_consistent(out, "mnist_tiny")


@pytest.mark.parametrize("bad", ["file", "read-only"])
def test_unusable_out_is_refused_before_any_work(bad, out, tmp_path, capsys):
    target = tmp_path / "target"
    if bad == "file":
        target.write_text("not a folder")
    else:
        if os.geteuid() == 0:
            pytest.skip("root writes into read-only folders")
        target.mkdir()
        target.chmod(0o555)
    with pytest.raises(SystemExit) as exit_:
        training_main([NAME, "--out", str(target)])
    assert exit_.value.code == 2
    assert "--out" in capsys.readouterr().err


def test_epochs_zero_keeps_the_previous_set(out, capsys):
    before = digests(out)
    with pytest.raises(SystemExit):
        training_main([NAME, "--out", str(out), "--epochs", "0"])
    assert digests(out) == before


# -- killed at random points: the previous set or the new one, never a mix -------------------

def _launch(command):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def _phase_times(command):
    """Seconds from the first epoch line to the end of evaluation ("done in"), and from there
    to the end of the run, in one uninterrupted run."""
    marks = {}
    proc = _launch(command)
    for line in proc.stdout:
        if "epoch" in line and "fit" not in marks:
            marks["fit"] = time.time()
        if "done in" in line:
            marks["evaluated"] = time.time()
    assert proc.wait(timeout=300) == 0
    return marks["evaluated"] - marks["fit"], time.time() - marks["evaluated"]


def _kill_after(command, marker, delay):
    """Run `command`, SIGKILL it `delay` seconds after it prints a line containing `marker`
    (timed from the run's own progress, so a slow start on a busy machine shifts nothing);
    returns all it printed."""
    proc = _launch(command)
    printed = []
    for line in proc.stdout:
        printed.append(line)
        if marker in line:
            break
    time.sleep(delay)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    return "".join(printed) + proc.communicate(timeout=60)[0]


def _phase(output):
    if "wrote" in output:
        return "finished"
    if "done in" in output:
        return "figures/save"
    return "fit/evaluation" if "epoch" in output else "start-up"


def test_killed_training_leaves_the_previous_set_or_the_new_one(out):
    command = [sys.executable, "-m", "training", NAME, "--out", str(out), "--epochs", "40"]
    fitting, publishing = _phase_times(command)
    assert_consistent(out, NAME)
    # 20 kills: 10 spread over fit and evaluation (after the first epoch line), 10 over
    # figure drawing and saving (after evaluation's "done in" line)
    kills = [("epoch", d) for d in np.linspace(0, fitting, 10)] + \
            [("done in", d) for d in np.linspace(0, publishing, 10)]
    seen = []
    for marker, delay in kills:
        seen.append(_phase(_kill_after(command, marker, delay)))
        staging = artifacts.staging_dir(out, NAME)
        if not (staging / artifacts.PUBLISHED).exists():
            assert_consistent(out, NAME)  # the set as it was, or the new one whole
        artifacts.finish_publishing(out, NAME)  # what the next publish does first
        assert_consistent(out, NAME)
        assert not staging.exists()
    print("phases killed in:", {p: seen.count(p) for p in sorted(set(seen))})
    assert {"fit/evaluation", "figures/save"} <= set(seen), seen

    done = subprocess.run(command + ["--resume"], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert_consistent(out, NAME)


def _weights_and_steps(model):
    return [w.copy() for w in model.get_weights()], int(model.optimizer.iterations.numpy())


def test_a_kill_while_checkpointing_leaves_a_checkpoint_the_resume_loads(tmp_path,
                                                                         monkeypatch):
    """Every state a kill can leave in the checkpoint folder restores one whole epoch, weights
    and optimiser state together: killed while writing the weights (a truncated temporary
    file, which Keras' BackupAndRestore would have left as its only weights file), after the
    weights but before the marker (the previous epoch is restored, not weights one epoch
    ahead of it), after the marker but before the previous file's removal."""
    from training import checkpoint

    x = np.random.default_rng(0).normal(size=(64, 2)).astype("float32")
    y = (x[:, 0] * x[:, 1] > 0).astype("int32")
    model = zoo.build(NAME)
    folder = tmp_path / "backup"
    assert checkpoint.restore(model, folder) == 0 and checkpoint.saved_epoch(folder) == 0
    model.fit(x, y, epochs=1, verbose=0)
    checkpoint.save(model, folder, 1)
    first = _weights_and_steps(model)
    model.fit(x, y, epochs=1, verbose=0)
    second = _weights_and_steps(model)

    def restored():
        fresh = zoo.build(NAME)
        return checkpoint.restore(fresh, folder), _weights_and_steps(fresh)

    def assert_same(found, expected):
        assert found[1] == expected[1]
        for a, b in zip(found[0], expected[0]):
            np.testing.assert_array_equal(a, b)

    # killed mid-write: the truncated bytes of the error CI once met, under a temporary name
    (folder / ".epoch-2.weights.x1y2.tmp.weights.h5").write_bytes(b"\x89HDF\r\n" + bytes(88))
    epoch, weights = restored()
    assert epoch == 1
    assert_same(weights, first)
    # killed between the weights' rename and the marker's
    class Killed(Exception):
        pass

    def killed(*args):
        raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(checkpoint, "write_json", killed)
        with pytest.raises(Killed):
            checkpoint.save(model, folder, 2)
    assert (folder / checkpoint.weights_name(2)).exists()
    epoch, weights = restored()
    assert epoch == 1
    assert_same(weights, first)
    # killed after the marker, before the previous epoch's file went
    checkpoint.save(model, folder, 2)
    shutil.copy(folder / checkpoint.weights_name(2), folder / checkpoint.weights_name(1))
    epoch, weights = restored()
    assert epoch == 2
    assert_same(weights, second)
    # the next checkpoint clears what the kills left
    checkpoint.save(model, folder, 3)
    assert sorted(p.name for p in folder.iterdir()) == sorted([checkpoint.MARKER,
                                                               checkpoint.weights_name(3)])


def test_publishing_is_all_or_nothing(tmp_path):
    (tmp_path / "m.keras").write_text("old model")
    (tmp_path / "m.json").write_text("old card")
    with pytest.raises(RuntimeError):
        with artifacts.publishing(tmp_path, "m") as staging:
            (staging / "m.keras").write_text("new model")
            raise RuntimeError("killed before the card")
    assert (tmp_path / "m.keras").read_text() == "old model"
    assert not artifacts.staging_dir(tmp_path, "m").exists()
    with artifacts.publishing(tmp_path, "m") as staging:
        (staging / "m.keras").write_text("new model")
        (staging / "m.json").write_text("new card")
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == {
        "m.keras": "new model", "m.json": "new card"}


# -- altered artifacts are refused ------------------------------------------------------------

@pytest.fixture
def tampered(out):
    """The published artifact with one kernel zeroed, re-saved as a valid .keras file."""
    import keras

    path = out / f"{NAME}.keras"
    model = keras.saving.load_model(path)
    kernel = model.get_layer("hidden0").kernel
    kernel.assign(np.zeros(kernel.shape, "float32"))
    model.save(path)
    return path


def test_tampered_artifact_is_refused_by_load_predict_and_evaluate(tampered, capsys):
    with pytest.raises(artifacts.ArtifactError, match="does not match its card"):
        zoo.load(tampered)
    for argv in (["predict", str(tampered), "0.5,0.5"], ["evaluate", str(tampered)],
                 ["export", str(tampered), str(tampered.parent / "exported")]):
        assert zoo_main(argv) == 2
        assert "does not match its card" in one_error_line(capsys.readouterr().err)
    assert zoo.load(tampered, verify=False) is not None
    assert zoo_main(["predict", str(tampered), "0.5,0.5", "--no-verify"]) == 0


def test_artifact_without_card_loads_with_a_notice(out, capsys):
    (out / f"{NAME}.json").unlink()
    zoo.load(out / f"{NAME}.keras")
    assert "has no card" in capsys.readouterr().err


# -- inputs -------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", ["nan,0", "inf,1", "0,-inf"])
def test_non_finite_inputs_are_refused(raw, out, capsys):
    assert zoo_main(["predict", str(out / f"{NAME}.keras"), raw, "--json"]) == 2
    assert "NaN or infinity" in one_error_line(capsys.readouterr().err)


def test_json_output_is_valid_json(out, capsys):
    assert zoo_main(["predict", str(out / f"{NAME}.keras"), "-1,0.5", "0.2,0.3", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 2 and all(len(r["probabilities"]) == 2 for r in rows)


@pytest.mark.parametrize("inputs", [[], None, np.zeros((0, 2))])
def test_empty_inputs_are_refused(inputs, out):
    with pytest.raises(inference.InputError, match="no inputs"):
        zoo.predict(out / f"{NAME}.keras", inputs)


def test_python_predict_takes_what_the_command_line_takes(out):
    by_strings = zoo.predict(out / f"{NAME}.keras", ["-1,0.5", "0.2,0.3"])
    by_numbers = zoo.predict(out / f"{NAME}.keras", [[-1, 0.5], [0.2, 0.3]])
    assert by_strings == by_numbers


def test_builder_options_outside_their_domain_are_refused():
    with pytest.raises(ValueError, match="depth must be a whole number >= 1"):
        zoo.build(NAME, depth=-1)
    with pytest.raises(ValueError, match="l2 must be a number >= 0"):
        zoo.build(NAME, l2=-0.1)
    assert zoo.build(NAME, depth=1, l2=0.0).count_params() > 0  # 0: no penalty


# -- images -------------------------------------------------------------------------------

def _digit(light_on_dark=True):
    """A 28x28 "1": a vertical bar."""
    image = np.zeros((28, 28), "uint8")
    image[4:24, 12:16] = 255
    return image if light_on_dark else 255 - image


def _save(array, path, mode=None):
    from PIL import Image

    Image.fromarray(array, mode).save(path)
    return path


def test_sixteen_bit_images_are_scaled_not_clipped(tmp_path):
    from PIL import Image

    values = (_digit().astype("uint16") * 257) // 2  # half of full scale, 16-bit
    path = tmp_path / "sixteen.png"
    Image.fromarray(values).save(path)
    notices = []
    image = inference.load_image(path, (28, 28, 1), notices)
    assert image.max() in (127, 128) and "8 bits" in notices[0]


def test_dark_stroke_on_transparency_reads_as_a_light_stroke(tmp_path):
    rgba = np.zeros((28, 28, 4), "uint8")
    rgba[..., 3] = (_digit() > 0) * 255  # black ink where the digit is, transparent elsewhere
    notices = []
    image = inference.load_image(_save(rgba, tmp_path / "ink.png", "RGBA"), (28, 28, 1), notices)
    np.testing.assert_array_equal(image[..., 0], _digit())
    assert "composited on white" in notices[0] and "inverted" in notices[0]


def test_dark_on_light_digits_are_inverted_unless_asked_not_to(tmp_path):
    path = _save(_digit(light_on_dark=False), tmp_path / "paint.png")
    notices = []
    np.testing.assert_array_equal(inference.load_image(path, (28, 28, 1), notices)[..., 0],
                                  _digit())
    assert "dark-on-light" in notices[0]
    kept = inference.load_image(path, (28, 28, 1), [], invert=False)
    np.testing.assert_array_equal(kept[..., 0], _digit(light_on_dark=False))
    light = inference.load_image(_save(_digit(), tmp_path / "mnist.png"), (28, 28, 1), notices)
    np.testing.assert_array_equal(light[..., 0], _digit())


def test_palette_image_is_read_by_its_colours(tmp_path):
    from PIL import Image

    path = tmp_path / "palette.png"
    Image.fromarray(_digit()).convert("P").save(path)
    np.testing.assert_array_equal(inference.load_image(path, (28, 28, 1))[..., 0], _digit())


def test_decompression_bombs_are_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(inference, "MAX_IMAGE_PIXELS", 28 * 28 - 1)
    path = _save(_digit(), tmp_path / "big.png")
    with pytest.raises(inference.InputError, match="decompression bomb"):
        inference.load_image(path, (28, 28, 1))


def test_python_predict_reads_image_paths(tmp_path):
    path = _save(_digit(), tmp_path / "one.png")
    rows = zoo.predict("mnist_tiny", [str(path)])
    assert len(rows) == 1 and len(rows[0]["probabilities"]) == 10


def test_truncated_mnist_file_is_one_error_line(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("ZOO_DATA_DIR", raising=False)
    write_mnist(tmp_path, n_train=100, n_test=20)
    images = next(tmp_path.rglob("train-images*"))
    images.write_bytes(gzip.compress(b"\0" * 100)[:-8])
    assert training_main(["mnist_tiny", "--out", str(tmp_path / "out"), "--data-dir",
                          str(tmp_path), "--epochs", "1"]) != 0
    one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "out" / "mnist_tiny.keras").exists()


# -- texts --------------------------------------------------------------------------------

def test_texts_empty_refused_long_ones_noticed(capsys):
    model = zoo.build("agnews_bow")
    with pytest.raises(inference.InputError, match="empty"):
        inference.predict(model, ["Stocks rally", "   "])
    rows = inference.predict(model, ["word " * 1000, "Stocks rally"])
    assert len(rows) == 2
    err = capsys.readouterr().err
    assert "text 0 (5,000 characters) is 1,999 tokens long" in err and "text 1" not in err


def _mnist_with(tmp_path, change):
    """A small MNIST folder whose train labels file `change` rewrites (bytes -> bytes)."""
    write_mnist(tmp_path, n_train=100, n_test=20)
    labels = next(tmp_path.rglob("train-labels*"))
    labels.write_bytes(change(labels.read_bytes()))
    return tmp_path


@pytest.mark.parametrize("change, message", [
    (lambda raw: gzip.compress(gzip.decompress(raw)[:-1] + b"\x0c"), "label 12 at row 99"),
    (lambda raw: raw[:-8] + bytes(8), "corrupt or truncated"),  # CRC and size zeroed
])
def test_bad_label_files_are_one_error_line(change, message, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("ZOO_DATA_DIR", raising=False)
    data = _mnist_with(tmp_path / "data", change)
    assert training_main(["mnist_tiny", "--out", str(tmp_path / "out"), "--data-dir",
                          str(data), "--epochs", "1"]) == 2
    assert message in one_error_line(capsys.readouterr().err)


def test_resuming_a_search_with_another_tuner_is_one_error_line(tmp_path, capsys):
    from tuning.__main__ import main as tuning_main

    argv = ["spirals_mlp", "--max-trials", "1", "--epochs", "1", "--dir", str(tmp_path),
            "--no-retrain"]
    assert tuning_main(argv) == 0
    before = digests(tmp_path / NAME)
    assert tuning_main(argv + ["--resume", "--tuner", "hyperband"]) != 0
    one_error_line(capsys.readouterr().err)
    assert digests(tmp_path / NAME) == before


def test_shipped_artifacts_are_exactly_the_carded_ones():
    shipped = artifacts.saved_models_dir()
    assert sorted(p.stem for p in shipped.glob("*.keras")) == sorted(
        card["name"] for card in zoo.cards.cards(shipped))
    assert not [p.name for p in shipped.iterdir() if p.name.startswith(".")]


def test_an_interrupted_cross_validation_resumes_after_its_last_finished_fold(
        tmp_path, monkeypatch, capsys):
    from training import cv

    x, y = zoo.data.spirals(n_per_class=60)
    record = tmp_path / "cv.json"
    original, trained = cv._fit_and_score, []

    def failing_on_fold(n):
        def fit_and_score(name, overrides, train, test, *args, **kwargs):
            if len(trained) == n:
                raise KeyboardInterrupt  # the session ends while this fold trains
            trained.append(len(test[1]))
            return original(name, overrides, train, test, *args, **kwargs)
        return fit_and_score

    monkeypatch.setattr(cv, "_fit_and_score", failing_on_fold(2))
    with pytest.raises(KeyboardInterrupt):
        cv.cross_validate(NAME, x, y, folds=4, epochs=1, record=record, verbose=False)
    assert not record.exists()  # no summary of half a cross-validation
    kept = json.loads(cv.partial_path(record).read_text())["folds"]
    assert [f["fold"] for f in kept] == [0, 1]

    monkeypatch.setattr(cv, "_fit_and_score", failing_on_fold(None))
    trained.clear()
    capsys.readouterr()
    summary = cv.cross_validate(NAME, x, y, folds=4, epochs=1, record=record)
    assert len(trained) == 2  # folds 3 and 4 only
    assert capsys.readouterr().out.count(f"(recorded in {cv.partial_path(record)})") == 2
    assert summary["folds"][:2] == kept and len(summary["folds"]) == 4
    assert json.loads(record.read_text())["mean"] == pytest.approx(summary["mean"])
    assert not cv.partial_path(record).exists()

    trained.clear()  # the same run again (as `--save` does): every fold is reused
    assert cv.cross_validate(NAME, x, y, folds=4, epochs=1, record=record,
                             verbose=False)["folds"] == summary["folds"]
    assert trained == []
    # run otherwise (another seed, other overrides): nothing reused, the record replaced
    cv.cross_validate(NAME, x, y, folds=4, epochs=1, seed=1, record=record, verbose=False)
    assert len(trained) == 4 and json.loads(record.read_text())["seed"] == 1
    trained.clear()
    cv.cross_validate(NAME, x, y, folds=4, epochs=1, seed=1, overrides={"width": 8},
                      record=record, verbose=False)
    assert len(trained) == 4
