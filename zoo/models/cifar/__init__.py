"""CIFAR-10 / CIFAR-100: ResNet-20, the airbench-style fastnet and its residual CIFAR-100 variant.

`models.py` holds the registered builders and their search spaces, `recipes.py` how each
trains."""
from zoo.models.cifar import models  # noqa: F401  (registers the builders)
