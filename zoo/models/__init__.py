"""The model families, one folder each: builders and search spaces (`models.py`), recipes
(`recipes.py`), and the networks they build on. Importing this package registers them all."""
from zoo.models import agnews, basics, cifar, generative, graph, mnist  # noqa: F401
