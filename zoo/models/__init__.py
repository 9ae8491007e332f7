"""Importing this package registers every model family's builders."""
from zoo.models import basics, fastnet, graph, mnist, resnet, text  # noqa: F401
