"""Training: recipes, the fit loop with its callbacks, distribution strategies, artifacts."""
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # tf.data, tf.distribute: TensorFlow only

import zoo  # noqa: E402,F401  (first: imports the backend with TF's start-up lines hidden)

from training.distribute import strategy  # noqa: E402
from training.fit import train  # noqa: E402
from training.recipes import RECIPES, recipe_for  # noqa: E402

__all__ = ["train", "strategy", "RECIPES", "recipe_for"]
