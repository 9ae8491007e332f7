"""A quiet start: the command lines print no TensorFlow / CUDA start-up lines unless asked, and
`python -m zoo list` imports neither Keras nor TensorFlow."""
import json
import os
import subprocess
import sys

from conftest import REPO

START_UP = ("absl::InitializeLog", "cuInit", "oneDNN custom operations", "cuda drivers")


def _zoo(*args, **extra):
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=REPO,
                          timeout=300, env={**env, "KERAS_BACKEND": "tensorflow", **extra})


def test_zoo_describe_prints_no_tensorflow_start_up_lines():
    proc = _zoo("-m", "zoo", "describe", "mnist_tiny")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert '"mnist_tiny"' in proc.stdout
    assert not [line for line in proc.stderr.splitlines() if any(s in line for s in START_UP)]


def test_zoo_verbose_shows_them():
    proc = _zoo("-m", "zoo", "describe", "mnist_tiny", ZOO_VERBOSE="1", TF_CPP_MIN_LOG_LEVEL="0")
    assert proc.returncode == 0
    assert any(s in proc.stderr for s in START_UP), proc.stderr[-2000:]


def test_zoo_list_imports_neither_keras_nor_tensorflow():
    """`-X importtime` names every module the interpreter imports, on stderr."""
    proc = _zoo("-X", "importtime", "-m", "zoo", "list", "mnist_*")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "mnist_cnn" in proc.stdout and "0.9961" in proc.stdout
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0]
                for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "zoo" in imported
    assert not imported & {"keras", "tensorflow", "jax"}, sorted(imported)


def test_model_index_matches_the_registry():
    from zoo import registry

    assert registry.read_index() == json.loads(json.dumps(registry.index_entries())), \
        "zoo/models/index.json is stale: run `python -m zoo cards`"
