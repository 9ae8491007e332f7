"""Importing this package registers every model family's builders."""
from zoo.models import basics, mnist, resnet, text  # noqa: F401
