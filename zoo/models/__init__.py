"""Importing this package registers every model family's builders."""
from zoo.models import basics, fastnet, mnist, resnet, text  # noqa: F401
