"""keras-zoo: the classic deep-learning course models, built by name, trained, saved, verified.

    import zoo
    zoo.list_models()                 # every registered name
    zoo.describe("mnist_cnn")         # task, data, parameters, metric, bar, measured result
    model = zoo.build("spirals_mlp", width=32)   # compiled keras.Model, ready for fit
    model = zoo.load("spirals_mlp")   # the saved, verified artifact
"""
import os

# the backend is the user's (KERAS_BACKEND, else ~/.keras/keras.json, else Keras' default,
# TensorFlow); only TensorFlow's C++ start-up chatter is turned down unless asked for
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from zoo.quiet import import_backend_quietly  # noqa: E402

import_backend_quietly()

# every serializable class of the zoo registers on import, so that after `import zoo`
# Keras' own `keras.saving.load_model(path, safe_mode=True)` loads any zoo model
from zoo import data, layers, models  # noqa: E402
from zoo.text import hashing, minilm  # noqa: E402, F401
from zoo.artifacts import ArtifactError, load, read_card  # noqa: E402
from zoo.registry import Task, build, get, list_models, register_model  # noqa: E402

__version__ = "0.1.0"


def describe(name):
    """A dict describing a registered model: task, data, parameters, metric, bar, and the
    measured result of its saved artifact when one exists."""
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
    """Predictions of a saved model (by name or path) or a model object. Raw text models accept
    a plain Python list of strings here."""
    from zoo.inference import predict as _predict

    return _predict(name_or_model, inputs, **kwargs)


def embed(texts, encoder=None, batch_size=64):
    """all-MiniLM-L6-v2 sentence embeddings of `texts` (a list of str): (N, 384) float32."""
    from zoo.text.minilm import embed as _embed

    return _embed(texts, encoder=encoder, batch_size=batch_size)


__all__ = ["list_models", "describe", "build", "load", "get", "register_model", "Task",
           "predict", "embed", "read_card", "ArtifactError", "data", "layers"]
