"""AG News: MiniLM + n-gram ensemble, transformer, LSTM, bag of n-grams.

`models.py` holds the registered builders and their search spaces, `recipes.py` how each
trains."""
from zoo.models.agnews import models  # noqa: F401  (registers the builders)
