"""Training: recipes, the fit loop with its callbacks, distribution strategies, artifacts."""
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from training.distribute import strategy  # noqa: E402
from training.fit import train  # noqa: E402
from training.recipes import RECIPES, recipe_for  # noqa: E402

__all__ = ["train", "strategy", "RECIPES", "recipe_for"]
