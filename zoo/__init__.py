"""keras-zoo: the classic deep-learning course models, built by name, trained, saved, verified.

    import zoo
    zoo.list_models()                 # every registered name
    zoo.describe("mnist_cnn")         # task, data, parameters, metric, bar, measured result
    model = zoo.build("spirals_mlp", width=32)   # compiled keras.Model, ready for fit
    model = zoo.load("spirals_mlp")   # the saved, verified artifact
"""
import os
import sys


def _listing_only():
    """True while `python -m zoo list ...` starts: that command reads the model index and the
    cards only, so importing Keras (and TensorFlow with it) would be nearly all of its time.
    Python keeps the interpreter's own arguments in `sys.orig_argv`."""
    argv = getattr(sys, "orig_argv", [])
    if "-m" not in argv:
        return False
    module = argv.index("-m")
    return argv[module + 1:module + 3] == ["zoo", "list"]


# the backend is the user's (KERAS_BACKEND, else ~/.keras/keras.json, else Keras' default,
# TensorFlow); only TensorFlow's C++ start-up chatter is turned down unless asked for
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from zoo.artifacts import ArtifactError, load, read_card  # noqa: E402
from zoo.quiet import import_backend_quietly  # noqa: E402

if not _listing_only():
    import_backend_quietly()
    # every serializable class of the zoo registers on import, so that after `import zoo`
    # Keras' own `keras.saving.load_model(path, safe_mode=True)` loads any zoo model
    from zoo import data, layers, models  # noqa: F401
    from zoo.text import hashing, minilm  # noqa: F401
from zoo.registry import Task, build, get, list_models, register_model  # noqa: E402

__version__ = "0.1.0"


def describe(name):
    """A dict describing a registered model: task, data, parameters, metric, bar, how it
    trains (its recipe), and the measured result of its saved artifact when one exists."""
    task = get(name)
    model = build(name)
    card = read_card(name)
    return {
        "name": name,
        "task": task.description,
        "kind": task.kind,
        "data": task.dataset,
        "parameters": model.count_params(),
        "defaults": task.defaults,
        "metric": task.metric,
        "bar": task.bar,
        "goal": task.goal,
        "measured": _headline(card) if card else None,
        "tunable": sorted(_search_space_names(task)),
        "recipe": task.recipe,
    }


def _headline(card):
    from zoo.cards import headline

    return headline(card)


def _search_space_names(task):
    if task.search_space is None:
        return []
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    task.search_space(hp)
    return [p.name for p in hp.space]


def predict(name_or_model, inputs, **kwargs):
    """Predictions of a saved model (by name or path) or a model object: one dict per input.
    Takes what `python -m zoo predict` takes (image paths, texts, numbers, "x,y" strings) and
    arrays; see `zoo.inference.predict` for the options."""
    from zoo.inference import predict as _predict

    return _predict(name_or_model, inputs, **kwargs)


def generate(name_or_model, n, labels=None, seed=0, verify=True):
    """`n` uint8 images from a saved generative model (`vae_mnist`, `cgan_mnist`,
    `diffusion_mnist`): `labels` one class or a list repeated in turn (conditional models);
    the same seed gives the same images. See `zoo.generation.generate`."""
    from zoo.generation import generate as _generate

    return _generate(name_or_model, n, labels=labels, seed=seed, verify=verify)


def embed(texts, encoder=None, batch_size=64):
    """all-MiniLM-L6-v2 sentence embeddings of `texts` (a list of str): (N, 384) float32."""
    from zoo.text.minilm import embed as _embed

    return _embed(texts, encoder=encoder, batch_size=batch_size)


__all__ = ["list_models", "describe", "build", "load", "get", "register_model", "Task",
           "predict", "generate", "embed", "read_card", "ArtifactError", "data", "layers"]
