"""Citation graphs (Cora, CiteSeer) from the Planetoid files, with the standard split.

The files `ind.NAME.{x,y,tx,ty,allx,ally,graph,test.index}` (Yang, Cohen & Salakhutdinov 2016)
are Python-2 pickles. They are read by `SafeUnpickler`, which admits only the classes these files
are made of (NumPy arrays, SciPy CSR matrices, `collections.defaultdict`, lists) and refuses any
other global, so a crafted file cannot run code. The layout follows Kipf & Welling's reference
loader, which PyTorch Geometric and DGL reproduce:

- nodes: `allx` (labelled and unlabelled training-side nodes) then the test nodes `tx`, put back
  in graph order through `test.index`; the first `len(y)` nodes are the training nodes, the next
  500 the validation nodes, the `test.index` nodes the 1,000 test nodes;
- CiteSeer's `test.index` skips 15 node ids that appear in the graph but have no features or
  labels in the files: as in the reference loaders they keep a zero feature vector and stay in the
  graph (their edges count), but they carry no label (-1 here) and are in no split.

A graph task's examples are whole graphs: `x` is `{"features": (1, N, F) float32, "edges":
(1, E, 2) int32}` (each undirected citation as two directed edges, no self-loops, no
duplicates) and `y` is `(1, N)` int32 labels with -1 on every node outside the split, so one
"batch" is the whole graph and the loss and metrics read only the split's nodes.
"""
import codecs
import collections
import dataclasses
import io
import pickle

import numpy as np

from zoo.data.images import DataNotFoundError, resolve_data_dir
from zoo.data.splits import Splits

PLANETOID_PARTS = ("x", "y", "tx", "ty", "allx", "ally", "graph")
VALIDATION_NODES = 500
# label order of the Planetoid files; names matched through the class sizes of the original
# .content files (Cora: 351 Theory, 217 Reinforcement_Learning, ...; CiteSeer: 249 AI, ...)
CLASS_NAMES = {
    "cora": ["Theory", "Reinforcement_Learning", "Genetic_Algorithms", "Neural_Networks",
             "Probabilistic_Methods", "Case_Based", "Rule_Learning"],
    "citeseer": ["AI", "ML", "IR", "DB", "Agents", "HCI"],
}


class UnsafePickleError(ValueError):
    """A pickle asked for a class that the Planetoid files never contain."""


def _allowed_globals():
    import scipy.sparse

    try:  # NumPy 2 moved the array reconstructor; the files name NumPy 1's module
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # pragma: no cover - NumPy 1
        from numpy.core.multiarray import _reconstruct
    return {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
        ("scipy.sparse.csr", "csr_matrix"): scipy.sparse.csr_matrix,
        ("scipy.sparse._csr", "csr_matrix"): scipy.sparse.csr_matrix,
        ("collections", "defaultdict"): collections.defaultdict,
        ("__builtin__", "list"): list,  # Python 2's name (find_class sees it unmapped)
        ("builtins", "list"): list,
        # Python 3 writes bytes into protocol-2 pickles as _codecs.encode(text, "latin1"):
        # a pure function, admitted so that files re-saved by Python 3 read too
        ("_codecs", "encode"): codecs.encode,
    }


class SafeUnpickler(pickle.Unpickler):
    """An unpickler that builds only NumPy arrays, SciPy CSR matrices, defaultdicts and lists."""

    def __init__(self, file):
        super().__init__(file, encoding="latin1")  # Python-2 str of NumPy buffers -> bytes
        self._allowed = _allowed_globals()

    def find_class(self, module, name):
        if (module, name) not in self._allowed:
            raise UnsafePickleError(
                f"refusing to unpickle {module}.{name}: Planetoid files hold only NumPy arrays, "
                f"SciPy CSR matrices and adjacency lists (is this file from another source?)")
        return self._allowed[(module, name)]


def safe_unpickle(data):
    """Unpickle `data` (bytes) with `SafeUnpickler`."""
    return SafeUnpickler(io.BytesIO(data)).load()


@dataclasses.dataclass
class Graph:
    """One graph with its node labels and the standard split (arrays of node ids)."""

    features: np.ndarray  # (N, F) float32
    edges: np.ndarray  # (E, 2) int32: source, target; both directions, no self-loops
    labels: np.ndarray  # (N,) int32; -1 where the files give none
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    class_names: list

    @property
    def inputs(self):
        """The model's inputs: the whole graph as a batch of one."""
        return {"features": self.features[None], "edges": self.edges[None]}

    def targets(self, nodes):
        """`(1, N)` labels, -1 everywhere but `nodes`."""
        masked = np.full(len(self.labels), -1, dtype="int32")
        masked[nodes] = self.labels[nodes]
        return masked[None]


def planetoid_folder(data_dir=None):
    root = resolve_data_dir(data_dir)
    return root / "planetoid" if root else None


def load_planetoid(name, data_dir=None):
    """Read Cora or CiteSeer from `DATA_DIR/planetoid/` (data_dir, else `$ZOO_DATA_DIR`)."""
    if name not in CLASS_NAMES:
        raise ValueError(f"unknown Planetoid graph {name!r}; known: {sorted(CLASS_NAMES)}")
    folder = planetoid_folder(data_dir)
    files = [f"ind.{name}.{part}" for part in PLANETOID_PARTS + ("test.index",)]
    missing = files if folder is None else [f for f in files if not (folder / f).exists()]
    if missing:
        where = (f"{folder}" if folder else "no data directory (pass --data-dir or set "
                 "ZOO_DATA_DIR)")
        raise DataNotFoundError(
            f"Planetoid {name}: looked in {where} for {', '.join(missing)}. Put the files of the "
            f"Planetoid repository (kimiyoung/planetoid, its data/ folder) in DIR/planetoid/ "
            f"and pass --data-dir DIR or set ZOO_DATA_DIR=DIR")
    parts = {part: safe_unpickle((folder / f"ind.{name}.{part}").read_bytes())
             for part in PLANETOID_PARTS}
    test_index = np.loadtxt(folder / f"ind.{name}.test.index", dtype=np.int64, ndmin=1)
    return assemble(parts, test_index, CLASS_NAMES[name])


def assemble(parts, test_index, class_names):
    """The `Graph` of the Planetoid parts, in the reference loaders' node order."""
    allx, tx = _dense(parts["allx"]), _dense(parts["tx"])
    ally, ty = np.asarray(parts["ally"]), np.asarray(parts["ty"])
    graph = parts["graph"]
    n = max(len(graph), int(test_index.max()) + 1, len(allx) + len(tx))
    features = np.zeros((n, allx.shape[1]), dtype="float32")
    onehot = np.zeros((n, ally.shape[1]), dtype="float32")
    features[:len(allx)], onehot[:len(ally)] = allx, ally
    features[test_index], onehot[test_index] = tx, ty  # ids missing from test.index stay 0
    labels = np.where(onehot.any(axis=1), onehot.argmax(axis=1), -1).astype("int32")
    train = np.arange(len(parts["y"]))
    # the 500 nodes after the training nodes (fewer only in graphs too small to hold them)
    val = np.arange(len(parts["y"]), min(len(parts["y"]) + VALIDATION_NODES, len(allx)))
    return Graph(features, edge_list(graph, n), labels, train, val, np.sort(test_index),
                 list(class_names))


def _dense(matrix):
    return np.asarray(matrix.todense() if hasattr(matrix, "todense") else matrix, "float32")


def edge_list(adjacency, n):
    """`(E, 2)` int32 directed edges of an adjacency dict, made symmetric, without duplicates
    or self-loops, sorted by target then source."""
    pairs = np.array([(i, j) for i, neighbours in adjacency.items() for j in neighbours],
                     dtype=np.int64).reshape(-1, 2)
    if len(pairs) and (pairs.min() < 0 or pairs.max() >= n):
        raise ValueError(f"adjacency names node ids outside 0..{n - 1}")
    both = np.concatenate([pairs, pairs[:, ::-1]])
    both = both[both[:, 0] != both[:, 1]]
    unique = np.unique(both[:, 1] * n + both[:, 0])
    return np.stack([unique % n, unique // n], axis=1).astype("int32")


def graph_splits(name):
    """A `zoo.data.catalog` loader for one Planetoid graph: its standard split as Splits."""

    def load(seed=0, data_dir=None, val_size=None):
        if val_size not in (None, VALIDATION_NODES):
            raise ValueError(f"{name} uses the standard Planetoid split ({VALIDATION_NODES} "
                             f"validation nodes); a validation size of {val_size} is not "
                             f"supported")
        graph = load_planetoid(name, data_dir)
        info = {"source": f"Planetoid files in {planetoid_folder(data_dir)}",
                "nodes": len(graph.labels), "edges": len(graph.edges) // 2,
                "features": graph.features.shape[1], "split": "standard Planetoid split",
                "train": len(graph.train), "val": len(graph.val), "test": len(graph.test),
                "unlabelled_nodes": int((graph.labels < 0).sum())}
        return Splits((graph.inputs, graph.targets(graph.train)),
                      (graph.inputs, graph.targets(graph.val)),
                      lambda: (graph.inputs, graph.targets(graph.test)),
                      graph.class_names, info)

    return load
