"""Course tasks 1-2: the noisy sine and the spirals.

`models.py` holds the registered builders and their search spaces, `recipes.py` how each
trains."""
from zoo.models.basics import models  # noqa: F401  (registers the builders)
