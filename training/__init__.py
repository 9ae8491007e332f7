"""Training mechanism: recipe defaults, the fit loop with its callbacks, distribution strategies,
cross-validation, repeated seeds. What each model is and how it trains lives in zoo.models."""
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # tf.data, tf.distribute: TensorFlow only

import zoo  # noqa: E402,F401  (first: imports the backend with TF's start-up lines hidden)

from training.distribute import strategy  # noqa: E402
from training.fit import train  # noqa: E402
from training.recipes import recipe_for  # noqa: E402

__all__ = ["train", "strategy", "recipe_for"]
