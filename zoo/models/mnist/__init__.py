"""MNIST: softmax regression, a CNN, and the tiny-parameter challenge.

`models.py` holds the registered builders and their search spaces, `recipes.py` how each
trains."""
from zoo.models.mnist import models  # noqa: F401  (registers the builders)
