"""Keras Tuner searches over every registered model's declared search space."""
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tuning.search import Search, SearchExistsError, search  # noqa: E402

__all__ = ["search", "Search", "SearchExistsError"]
