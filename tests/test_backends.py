"""The zoo on Keras' other backends: `import zoo` keeps the user's backend, and under JAX every
layer and every model that needs no TensorFlow string ops (all but the text models) builds,
takes training steps that lower the loss, and round-trips through `.keras`."""
import json
import os

import pytest

from conftest import run_python

JAX_CHECK = r"""
import json, os, sys
import numpy as np, keras, zoo
from training.recipes import recipe_for
sys.path.insert(0, "tests")
from conftest import sample_batch
from test_layers import CASES, _input
from test_graph import random_graph
from zoo.layers import GraphAttention, GraphConvolution

assert keras.backend.backend() == "jax", keras.backend.backend()
folder = os.environ["ZOO_TEST_FOLDER"]  # the test's own tmp_path: pytest clears it
report = {}


def steps_lower_the_loss(model, x, y):
    losses = [float(model.train_on_batch(x, y, return_dict=True)["loss"]) for _ in range(8)]
    return bool(np.isfinite(losses).all() and min(losses[-3:]) < losses[0])


def round_trips(model, x):
    path = f"{folder}/{model.name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    return bool(np.allclose(model.predict(x, verbose=0), loaded.predict(x, verbose=0),
                            rtol=1e-5, atol=1e-5))


for name in zoo.list_models():
    task = zoo.get(name)
    if task.input_kind == "text" or name == "cgan_mnist":  # the GAN's train_step is TF's
        continue
    keras.utils.set_random_seed(0)
    model = zoo.build(name)
    if recipe_for(name)["warmup_epochs"]:  # as the TensorFlow test: its full rate is for later
        model.optimizer.learning_rate.assign(0.1 * float(model.optimizer.learning_rate))
    x, y = sample_batch(model, task.kind, n=16)
    report[name] = [steps_lower_the_loss(model, x, y), round_trips(model, x)]

graph = random_graph()
LAYERS = {case: (factory, _input(x)) for case, (factory, x, _) in CASES.items()}
LAYERS["graph_convolution"] = (lambda: GraphConvolution(4), [g[None] for g in graph])
LAYERS["graph_attention"] = (lambda: GraphAttention(2, heads=2), [g[None] for g in graph])
for case, (factory, x) in LAYERS.items():
    keras.utils.set_random_seed(0)
    inputs = ([keras.Input(part.shape[1:], dtype=part.dtype) for part in x]
              if isinstance(x, list) else keras.Input(x.shape[1:], dtype=x.dtype))
    out = factory()(inputs)
    out = keras.layers.Dense(3)(keras.layers.Flatten()(out))
    model = keras.Model(inputs, out, name=f"layer_{case}")
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    batch = x[0].shape[0] if isinstance(x, list) else x.shape[0]
    y = np.random.default_rng(0).normal(size=(batch, 3)).astype("float32")
    report[case] = [steps_lower_the_loss(model, x, y), round_trips(model, x)]
print(json.dumps(report))
"""


def test_layers_and_non_text_models_train_and_round_trip_under_jax(tmp_path):
    pytest.importorskip("jax")
    proc = run_python(JAX_CHECK, timeout=900,
                      env={"KERAS_BACKEND": "jax", "ZOO_TEST_FOLDER": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert {"mnist_cnn", "cifar10_fastnet", "gcn_cora", "gat_cora", "sine_basis", "vae_mnist",
            "diffusion_mnist",
            "graph_attention", "residual_v1_basic", "transformer_pre"} <= set(report)
    failed = {case: checks for case, checks in report.items() if checks != [True, True]}
    assert not failed, f"[loss lowered, .keras round trip] under JAX: {failed}"


def test_import_zoo_keeps_the_backend_of_keras_json(tmp_path):
    pytest.importorskip("jax")
    (tmp_path / "keras.json").write_text(json.dumps({"backend": "jax"}))
    env = {key: value for key, value in os.environ.items() if key != "KERAS_BACKEND"}
    env["KERAS_HOME"] = str(tmp_path)
    import subprocess
    import sys

    from conftest import REPO

    proc = subprocess.run([sys.executable, "-c", "import zoo, keras; "
                           "print(keras.backend.backend())"], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split()[-1] == "jax"


WITHOUT_TENSORFLOW = r"""
import importlib.abc, sys


class NoTensorFlow(importlib.abc.MetaPathFinder):
    # as if TensorFlow were not installed: importing it (or any part of it) fails

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "tensorflow_text", "tensorflow_datasets"):
            raise ModuleNotFoundError(f"No module named {name!r}")


sys.meta_path.insert(0, NoTensorFlow())
import numpy as np, keras, zoo
from zoo.layers import GraphConvolution, ResidualBlock
assert keras.backend.backend() == "jax"
model = zoo.build("mnist_cnn", input_shape=(8, 8, 1))
x = np.random.default_rng(0).integers(0, 255, (16, 8, 8, 1)).astype("float32")
model.fit(x, np.arange(16) % 10, epochs=1, verbose=0)
try:
    zoo.build("agnews_bow")
except RuntimeError as error:
    print("text:", error)
print("tensorflow imported:", any(name.split(".")[0] == "tensorflow" for name in sys.modules))
"""


def test_zoo_imports_builds_and_fits_without_tensorflow():
    """Under JAX with TensorFlow unimportable: `import zoo`, the layers and an image model
    work; a text model says it needs the TensorFlow backend."""
    pytest.importorskip("jax")
    proc = run_python(WITHOUT_TENSORFLOW, env={"KERAS_BACKEND": "jax"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "run on the TensorFlow backend only" in proc.stdout
    assert "tensorflow imported: False" in proc.stdout
