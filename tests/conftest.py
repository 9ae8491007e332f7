"""Test set-up. The first lines split the CPU into two logical devices: TensorFlow allows that
only before it initialises, so this runs before anything imports it elsewhere."""
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["ZOO_OFFLINE"] = "1"  # tests never download; tfds is exercised with mock_data

import tensorflow as tf  # noqa: E402

_cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    _cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])

import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def real_data_dir():
    """`$ZOO_DATA_DIR` when it is set and exists, else None (tests needing it skip)."""
    path = os.environ.get("ZOO_DATA_DIR")
    return Path(path) if path and Path(path).is_dir() else None


def run_python(code, timeout=300, env=None, cwd=None):
    """Run `code` in a fresh interpreter; returns the completed process (output captured)."""
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout, env=full_env, cwd=cwd or REPO)


def kill_when(command, ready, timeout=240, poll=0.05):
    """Run `command` (from the repository root) until `ready()` is true, then SIGKILL it and
    its children, as a crash or a pre-empted machine would. Fails if it ends first."""
    import signal
    import time

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + timeout
    try:
        while time.time() < deadline and proc.poll() is None and not ready():
            time.sleep(poll)
        assert proc.poll() is None, f"{command[2:4]} ended before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)


def sample_batch(model, kind, n=16, seed=0):
    """A small random batch that fits `model`'s input and `kind`'s labels."""
    rng = np.random.default_rng(seed)
    if kind == "generative":  # uint8 images and their labels (a conditional model's classes)
        # a white square on black at a random place: structure a model can learn in a few
        # steps (on uniform noise a diffusion model's per-step loss, a Monte-Carlo estimate
        # over random steps and noise, drowns eight steps' progress)
        shape = (n,) + tuple(getattr(model, "image_shape", (28, 28, 1)))
        images = np.zeros(shape, "uint8")
        side = max(1, min(shape[1:3]) // 3)
        for image, (row, col) in zip(images, rng.integers(0, min(shape[1:3]) - side + 1,
                                                          (n, 2))):
            image[row:row + side, col:col + side] = 255
        return images, rng.integers(0, getattr(model, "classes", 10), size=(n,)).astype("int32")
    if isinstance(model.input, dict) and set(model.input) == {"features", "edges"}:
        return sample_graph(model, n, rng)
    spec = model.inputs[0]
    if spec.dtype == "string":
        words = ["stocks", "rally", "team", "wins", "cup", "new", "chip", "launch", "war", "talks"]
        x = np.array([" ".join(rng.choice(words, size=rng.integers(3, 12))) for _ in range(n)],
                     dtype=object)
    else:
        shape = (n,) + tuple(spec.shape[1:])
        x = (rng.integers(0, 256, size=shape) if len(shape) == 4 else rng.uniform(-1, 1, shape))
        x = x.astype("float32")
    outputs = int(model.outputs[0].shape[-1])
    if kind == "classification":
        y = rng.integers(0, outputs, size=(n,)).astype("int32")
    elif kind == "binary":
        y = rng.integers(0, 2, size=(n, 1)).astype("float32")
    else:
        y = rng.normal(size=(n, outputs)).astype("float32")
    return x, y


def sample_graph(model, nodes, rng):
    """A random graph for a node classifier: features, symmetric edges, and labels on half the
    nodes (-1 elsewhere), as one batch."""
    features = int(model.input["features"].shape[-1])
    classes = int(model.outputs[0].shape[-1])
    pairs = rng.integers(0, nodes, size=(2 * nodes, 2))
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    edges = np.unique(np.concatenate([pairs, pairs[:, ::-1]]), axis=0).astype("int32")
    x = (rng.random((1, nodes, features)) < 0.05).astype("float32")
    y = np.where(np.arange(nodes) % 2 == 0, rng.integers(0, classes, size=nodes), -1)
    return {"features": x, "edges": edges[None]}, y[None].astype("int32")
