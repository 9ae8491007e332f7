"""Graph neural networks on the Planetoid citation graphs: GCN, GAT, GCNII.

`models.py` holds the registered builders and their search spaces, `recipes.py` how each
trains."""
from zoo.models.graph import models  # noqa: F401  (registers the builders)
