"""A quiet start: the command lines print no TensorFlow / CUDA start-up lines unless asked."""
import os
import subprocess
import sys

from conftest import REPO

START_UP = ("absl::InitializeLog", "cuInit", "oneDNN custom operations", "cuda drivers")


def _zoo_list(**extra):
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run([sys.executable, "-m", "zoo", "list", "mnist_*"], capture_output=True,
                          text=True, cwd=REPO, timeout=300, env={**env, **extra})


def test_zoo_list_prints_no_tensorflow_start_up_lines():
    proc = _zoo_list()
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "mnist_cnn" in proc.stdout
    assert not [line for line in proc.stderr.splitlines() if any(s in line for s in START_UP)]


def test_zoo_verbose_shows_them():
    proc = _zoo_list(ZOO_VERBOSE="1", TF_CPP_MIN_LOG_LEVEL="0")
    assert proc.returncode == 0
    assert any(s in proc.stderr for s in START_UP), proc.stderr[-2000:]
