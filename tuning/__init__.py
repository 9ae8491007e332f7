"""Keras Tuner searches over every registered model's declared search space."""
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # tf.data, tf.distribute: TensorFlow only

import zoo  # noqa: E402,F401  (first: imports the backend with TF's start-up lines hidden)

from tuning.search import Search, SearchExistsError, search  # noqa: E402

__all__ = ["search", "Search", "SearchExistsError"]
