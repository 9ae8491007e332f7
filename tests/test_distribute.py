"""Training on 1 device, 2 logical CPU devices and 2 worker processes; resuming killed runs."""
import json
import os
import socket
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from conftest import REPO, kill_when
from training import distribute, loop, train
from training.callbacks import RunRecord

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
WORKER_SCRIPT = """
import json, sys, numpy as np
from training import train
result = train("spirals_mlp", out=sys.argv[1], epochs=3, batch_size=20,
               strategy="multiworker", verbose=False)
np.save(sys.argv[2], np.concatenate([w.ravel() for w in result["model"].get_weights()]))
print(json.dumps(result["history"]["loss"]))
"""


def _flat(model):
    return np.concatenate([w.ravel() for w in model.get_weights()])


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _run_workers(argv_for, timeout=300):
    """Start two workers on 127.0.0.1 with TF_CONFIG; return their completed outputs."""
    cluster = {"worker": [f"127.0.0.1:{p}" for p in _free_ports(2)]}
    procs = []
    for index in range(2):
        env = {**ENV, "TF_CONFIG": json.dumps({"cluster": cluster,
                                               "task": {"type": "worker", "index": index}})}
        procs.append(subprocess.Popen(argv_for(index), cwd=REPO, env=env, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    outputs = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=timeout)
            outputs.append((proc.returncode, out, err))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    return outputs


def test_strategy_specs():
    assert distribute.strategy("one").num_replicas_in_sync == 1
    assert distribute.strategy("auto").num_replicas_in_sync == 1  # no GPUs here
    assert distribute.strategy("cpu:2").num_replicas_in_sync == 2
    with pytest.raises(ValueError, match="unknown strategy"):
        distribute.strategy("tpu-pod")
    with pytest.raises(RuntimeError, match="TF_CONFIG"):
        os.environ.pop("TF_CONFIG", None)
        distribute.strategy("multiworker")


def test_mirrored_follows_single_device_trajectory():
    """Same global batch (32 = 2 x 16): the replicas' gradients are summed, so each step is the
    single-device step up to float32 summation order. Over 5 epochs (80 steps) that rounding
    (~1e-7 relative per step) keeps the epoch losses within 1e-4 (relative). Weights get a
    looser bound: Adam divides by sqrt(v), so a component whose gradient is near zero can move
    by up to the learning rate (1e-2) either way from a rounding-level difference; measured
    worst case 6e-4, bound 2e-3 (a fifth of one step)."""
    single = train("spirals_mlp", epochs=5, strategy="one", save=False, verbose=False)
    mirrored = train("spirals_mlp", epochs=5, strategy="cpu:2", save=False, verbose=False)
    assert mirrored["model"].distribute_strategy.num_replicas_in_sync == 2
    np.testing.assert_allclose(mirrored["history"]["loss"], single["history"]["loss"],
                               rtol=1e-4)
    np.testing.assert_allclose(_flat(mirrored["model"]), _flat(single["model"]), atol=2e-3)


def test_two_workers_bit_identical_and_equal_to_single_process(tmp_path):
    outputs = _run_workers(lambda i: [sys.executable, "-c", WORKER_SCRIPT,
                                      str(tmp_path / f"out{i}"), str(tmp_path / f"w{i}.npy")])
    for code, out, err in outputs:
        assert code == 0, err[-3000:]
    w0, w1 = np.load(tmp_path / "w0.npy"), np.load(tmp_path / "w1.npy")
    assert np.array_equal(w0, w1), "workers disagree"
    assert (tmp_path / "out0" / "spirals_mlp.keras").exists()  # the chief saves
    assert not (tmp_path / "out1" / "spirals_mlp.keras").exists()  # the other does not
    # 500 examples / global batch 20 = 25 full steps per epoch, the same in both runs
    single = train("spirals_mlp", epochs=3, batch_size=20, strategy="one", save=False,
                   verbose=False)
    # equal up to summation order (two all-reduced halves vs one batch): a CI run saw 7 of
    # 12,737 weights differ by up to 2.3e-6
    np.testing.assert_allclose(w0, _flat(single["model"]), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(json.loads(outputs[0][1].strip().splitlines()[-1]),
                               single["history"]["loss"], rtol=1e-5)


def test_multiworker_cli_completes(tmp_path):
    outputs = _run_workers(lambda i: [sys.executable, "-m", "training", "spirals_mlp",
                                      "--strategy", "multiworker", "--epochs", "2",
                                      "--out", str(tmp_path / f"out{i}")])
    for code, out, err in outputs:
        assert code == 0, err[-3000:]
    zoo.load(tmp_path / "out0" / "spirals_mlp.keras")


def test_cli_cpu2_completes(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "training", "spirals_mlp", "--strategy",
                           "cpu:2", "--epochs", "2", "--out", str(tmp_path)], cwd=REPO,
                          env=ENV, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "global batch 32 = 2 replica(s) x 16" in proc.stdout
    card = json.loads((tmp_path / "spirals_mlp.json").read_text())
    assert card["strategy"] == "MirroredStrategy x2"


def test_killed_training_resumes_to_the_same_weights(tmp_path):
    """Kill a run mid-way (SIGKILL, after its second epoch checkpoint), resume it, and compare
    with an uninterrupted run: each epoch's batch order depends only on (seed, epoch) and the
    checkpoint holds weights and optimiser state, so they agree to float32 rounding (1e-6)."""
    command = [sys.executable, "-m", "training", "spirals_mlp", "--epochs", "40",
               "--out", str(tmp_path / "killed")]
    metadata = tmp_path / "killed" / ".spirals_mlp.backup" / "training_metadata.json"
    kill_when(command, lambda: metadata.exists() and json.loads(
        metadata.read_text() or "{}").get("epoch", 0) >= 2)
    assert not (tmp_path / "killed" / "spirals_mlp.keras").exists()
    # the killed run's time and epoch logs are kept beside the checkpoint; an hour is added to
    # its time so the card's wall time shows whether the resumed run counts it
    record = metadata.parent / "run_record.json"
    before = json.loads(record.read_text())
    assert before["epochs"] >= 1 and before["seconds"] > 0
    assert len(before["logs"]) == before["epochs"]
    record.write_text(json.dumps({**before, "seconds": before["seconds"] + 3600}))
    started = time.time()
    resumed = subprocess.run(command + ["--resume"], cwd=REPO, env=ENV, capture_output=True,
                             text=True, timeout=300)
    own_seconds = time.time() - started
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming from the checkpoint of epoch" in resumed.stdout
    full = train("spirals_mlp", epochs=40, out=tmp_path / "full", verbose=False)
    again = zoo.load(tmp_path / "killed" / "spirals_mlp.keras")
    np.testing.assert_allclose(_flat(again), _flat(full["model"]), rtol=1e-6, atol=1e-6)
    card = json.loads((tmp_path / "killed" / "spirals_mlp.json").read_text())
    counted = card["wall_seconds"] - 3600 - before["seconds"]
    assert 0 <= counted <= own_seconds
    for split in ("train", "val", "test"):
        for key, value in full["metrics"][split].items():
            assert card["metrics"][split][key] == pytest.approx(value, rel=1e-5, abs=1e-6)


def _loop_run(backup, epochs, x, y):
    """The multi-worker loop's code path on the default strategy: build, restore from `backup`
    if it holds a checkpoint, train to `epochs` keeping a RunRecord beside the checkpoint."""
    keras.utils.set_random_seed(0)
    model = zoo.build("spirals_mlp")
    loop.build_optimizer(model)
    first_epoch = loop.restore(model, backup)
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(16).repeat()
    record = RunRecord(backup / "worker-0" / "run_record.json")
    history = loop.fit(model, tf.distribute.get_strategy(), data, epochs, 4, 16,
                       backup_dir=backup, first_epoch=first_epoch, log=lambda *a: None,
                       record=record)
    return model, history, record


def test_loop_resumed_run_keeps_the_whole_record(tmp_path):
    """A run of the multi-worker loop stopped after 2 epochs and resumed to 4 ends with the
    weights and the 4-epoch history of an uninterrupted run, and its time includes the first
    run's (an hour is added to it on disk, to be seen in the resumed total)."""
    x = np.random.default_rng(0).normal(size=(64, 2)).astype("float32")
    y = (x[:, 0] * x[:, 1] > 0).astype("int32")
    _loop_run(tmp_path / "stopped", 2, x, y)
    saved = tmp_path / "stopped" / "worker-0" / "run_record.json"
    first = json.loads(saved.read_text())
    assert first["epochs"] == 2 and len(first["logs"]) == 2
    saved.write_text(json.dumps({**first, "seconds": first["seconds"] + 3600}))
    resumed, history, record = _loop_run(tmp_path / "stopped", 4, x, y)
    whole, whole_history, _ = _loop_run(tmp_path / "whole", 4, x, y)
    np.testing.assert_allclose(history["loss"], whole_history["loss"], rtol=1e-6)
    np.testing.assert_allclose(_flat(resumed), _flat(whole), rtol=1e-6, atol=1e-6)
    assert 3600 + first["seconds"] <= record.seconds < 3600 + first["seconds"] + 300


def test_tuner_runs_a_trial_on_two_devices(tmp_path):
    import tuning

    result = tuning.search("spirals_mlp", max_trials=1, epochs=1, directory=tmp_path,
                           strategy="cpu:2", retrain=False, verbose=True)
    assert result["search"].tuner.distribution_strategy.num_replicas_in_sync == 2
    assert len(result["rows"]) == 1


KERAS_FIT_UNDER_MULTIWORKER = """
import json, os, numpy as np, keras, tensorflow as tf
strategy = tf.distribute.MultiWorkerMirroredStrategy()
with strategy.scope():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
x = np.zeros((8, 2), "float32"); y = np.zeros((8, 1), "float32")
try:
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    print("FIT-WORKED")
except Exception as error:
    print("FIT-FAILED", type(error).__name__, " ".join(str(error).split())[:300])
"""


def test_keras_fit_under_multiworker_still_fails():
    """training/loop.py exists because Keras 3.15's fit fails under MultiWorkerMirroredStrategy
    with two workers. When this test fails, Keras has fixed it: multi-worker runs can go back
    to `fit` and training/loop.py can be deleted."""
    outputs = _run_workers(lambda i: [sys.executable, "-c", KERAS_FIT_UNDER_MULTIWORKER],
                           timeout=180)
    for code, out, err in outputs:
        assert "FIT-WORKED" not in out, "Keras fit now works under MultiWorkerMirroredStrategy"
        # the known failure: Keras reduces the PerReplica (x, y) batch before building
        assert "FIT-FAILED" in out and "PerReplica" in out, (out, err[-2000:])
