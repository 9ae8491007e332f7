"""Graph neural networks: the layers against NumPy computations of their formulas, permutation
equivariance, Keras' own layer harness, the masked loss, the Planetoid reader (tiny files in the
published byte layout, and a crafted pickle), and the models through training, evaluate,
predict and tuning on a tiny graph."""
import collections
import json
import os
import pickle

import keras
import numpy as np
import pytest
import scipy.sparse
from keras.src import testing

import zoo
from zoo.data import graphs
from zoo.layers import (GraphAttention, GraphConvolution, InitialResidualConvolution,
                        RowNormalization)

RNG = np.random.default_rng(0)


def random_graph(nodes=9, features=5, edges=14, seed=0):
    """Node features and a symmetric edge list without self-loops or duplicates."""
    rng = np.random.default_rng(seed)
    pairs = {tuple(sorted(rng.choice(nodes, 2, replace=False))) for _ in range(edges)}
    directed = [(a, b) for a, b in pairs] + [(b, a) for a, b in pairs]
    return (rng.normal(size=(nodes, features)).astype("float32"),
            np.array(sorted(directed), dtype="int32"))


def adjacency_with_loops(edges, nodes):
    """Dense A + I with A[target, source] = 1."""
    a = np.eye(nodes)
    a[edges[:, 1], edges[:, 0]] = 1
    return a


def numpy_gcn(x, edges, kernel, bias):
    a = adjacency_with_loops(edges, len(x))
    d = a.sum(axis=1)
    return (a / np.sqrt(np.outer(d, d))) @ x @ kernel + bias


def numpy_gat(x, edges, layer):
    kernel = keras.ops.convert_to_numpy(layer.kernel)
    a_source = keras.ops.convert_to_numpy(layer.attention_source)
    a_target = keras.ops.convert_to_numpy(layer.attention_target)
    neighbours = adjacency_with_loops(edges, len(x)) > 0
    h = (x @ kernel).reshape(len(x), layer.heads, layer.units)
    heads = []
    for k in range(layer.heads):
        s = h[:, k] @ a_source[k]
        t = h[:, k] @ a_target[k]
        scores = t[:, None] + s[None, :]  # [target, source]
        scores = np.where(scores > 0, scores, layer.negative_slope * scores)
        scores = np.where(neighbours, scores, -np.inf)
        alpha = np.exp(scores - scores.max(axis=1, keepdims=True))
        alpha /= alpha.sum(axis=1, keepdims=True)
        heads.append(alpha @ h[:, k])
    out = np.concatenate(heads, axis=1) if layer.concat_heads else np.mean(heads, axis=0)
    return out + keras.ops.convert_to_numpy(layer.bias)


def _randomise(layer):
    for weight in layer.weights:
        weight.assign(RNG.normal(size=weight.shape).astype("float32"))


def test_graph_convolution_matches_the_normalised_adjacency_product():
    x, edges = random_graph()
    layer = GraphConvolution(4)
    layer([x[None], edges[None]])
    _randomise(layer)
    got = keras.ops.convert_to_numpy(layer([x[None], edges[None]]))[0]
    expected = numpy_gcn(x, edges, *(keras.ops.convert_to_numpy(w) for w in layer.weights))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("concat", [True, False])
def test_graph_attention_matches_a_neighbourhood_softmax(concat):
    x, edges = random_graph()
    layer = GraphAttention(3, heads=2, concat_heads=concat)
    layer([x[None], edges[None]])
    _randomise(layer)
    got = keras.ops.convert_to_numpy(layer([x[None], edges[None]]))[0]
    np.testing.assert_allclose(got, numpy_gat(x, edges, layer), rtol=1e-4, atol=1e-5)


def test_initial_residual_convolution_matches_its_formula():
    x, edges = random_graph()
    initial = RNG.normal(size=x.shape).astype("float32")
    layer = InitialResidualConvolution(alpha=0.2, beta=0.3)
    layer([x[None], initial[None], edges[None]])
    _randomise(layer)
    got = keras.ops.convert_to_numpy(layer([x[None], initial[None], edges[None]]))[0]
    a = adjacency_with_loops(edges, len(x))
    d = a.sum(axis=1)
    support = 0.8 * (a / np.sqrt(np.outer(d, d))) @ x + 0.2 * initial
    expected = 0.7 * support + 0.3 * support @ keras.ops.convert_to_numpy(layer.kernel)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


class _WithInitial(keras.layers.Layer):
    """InitialResidualConvolution with its input as H0 too, to share the two-input tests."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.inner = InitialResidualConvolution(alpha=0.3, beta=0.4)

    def call(self, inputs):
        features, edges = inputs
        return self.inner([features, features, edges])


GRAPH_LAYERS = [pytest.param(lambda: GraphConvolution(4), id="gcn"),
                pytest.param(lambda: GraphAttention(3, heads=2), id="gat"),
                pytest.param(_WithInitial, id="gcnii")]


@pytest.mark.parametrize("make", GRAPH_LAYERS)
def test_a_batch_of_graphs_is_each_graph_alone(make):
    """Graphs in one batch do not exchange messages: node ids index their own graph."""
    (x1, e1), (x2, e2) = random_graph(seed=1), random_graph(seed=2, edges=14)
    e2 = e2[:len(e1)] if len(e2) >= len(e1) else np.concatenate([e2, e2[:len(e1) - len(e2)]])
    layer = make()
    both = keras.ops.convert_to_numpy(layer([np.stack([x1, x2]), np.stack([e1, e2])]))
    np.testing.assert_allclose(both[0], keras.ops.convert_to_numpy(layer([x1[None], e1[None]]))[0],
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(both[1], keras.ops.convert_to_numpy(layer([x2[None], e2[None]]))[0],
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("make", GRAPH_LAYERS)
def test_relabelling_nodes_permutes_the_outputs(make):
    x, edges = random_graph(nodes=12, edges=20)
    layer = make()
    out = keras.ops.convert_to_numpy(layer([x[None], edges[None]]))[0]
    order = np.random.default_rng(3).permutation(len(x))  # new id i is old node order[i]
    new_id = np.argsort(order)
    permuted = keras.ops.convert_to_numpy(
        layer([x[order][None], new_id[edges][None].astype("int32")]))[0]
    np.testing.assert_allclose(permuted, out[order], rtol=1e-5, atol=1e-5)


def test_isolated_node_keeps_its_own_features():
    """A node without edges only sees its self-loop: GCN gives x W + b, attention weight 1."""
    x, edges = random_graph()
    x = np.concatenate([x, RNG.normal(size=(1, x.shape[1])).astype("float32")])
    for layer in (GraphConvolution(4), GraphAttention(4)):
        out = keras.ops.convert_to_numpy(layer([x[None], edges[None]]))[0, -1]
        expected = x[-1] @ keras.ops.convert_to_numpy(layer.kernel)
        np.testing.assert_allclose(out, expected + keras.ops.convert_to_numpy(layer.bias),
                                   rtol=1e-5, atol=1e-5)


class KerasLayerHarness(testing.TestCase):
    """Keras' own `run_layer_test`: building, serialisation, training and mixed precision."""

    def _graph_inputs(self):
        x, edges = random_graph(nodes=6, features=4, edges=8)
        return (np.stack([x, x]), np.stack([edges, edges]))  # a tuple: the harness fits on it

    def test_graph_convolution(self):
        self.run_layer_test(GraphConvolution, {"units": 3, "activation": "relu"},
                            input_data=self._graph_inputs(), expected_output_shape=(2, 6, 3),
                            expected_num_trainable_weights=2)

    def test_graph_attention(self):
        self.run_layer_test(GraphAttention, {"units": 3, "heads": 2, "dropout": 0.5},
                            input_data=self._graph_inputs(), expected_output_shape=(2, 6, 6),
                            expected_num_trainable_weights=4)

    def test_initial_residual_convolution(self):
        x, edges = self._graph_inputs()
        self.run_layer_test(InitialResidualConvolution, {"alpha": 0.1, "beta": 0.5},
                            input_data=(x, x, edges), expected_output_shape=(2, 6, 4),
                            expected_num_trainable_weights=1)

    def test_row_normalization(self):
        self.run_layer_test(RowNormalization, {}, input_shape=(2, 5, 4),
                            expected_output_shape=(2, 5, 4), expected_num_trainable_weights=0,
                            run_training_check=False)


def test_row_normalization_sums_rows_to_one_and_keeps_zero_rows():
    x = np.array([[[1, 3, 0], [0, 0, 0]]], "float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(RowNormalization()(x)),
                               [[[0.25, 0.75, 0], [0, 0, 0]]])


def test_loss_and_accuracy_read_only_the_splits_nodes():
    """Predictions on nodes labelled -1 change neither the loss, its gradient nor accuracy."""
    model = zoo.build("gcn_cora", num_features=5, num_classes=3)
    x, edges = random_graph()
    y = np.full((1, len(x)), -1, "int32")
    y[0, [0, 2, 5]] = [0, 1, 2]
    probs = keras.ops.convert_to_numpy(model({"features": x[None], "edges": edges[None]}))
    loss = model.loss(y, probs)
    expected = -np.mean(np.log(probs[0, [0, 2, 5], [0, 1, 2]]))
    assert float(loss) == pytest.approx(expected, rel=1e-5)
    scrambled = probs.copy()
    scrambled[0, [1, 3, 4]] = scrambled[0, [1, 3, 4], ::-1]
    assert float(model.loss(y, scrambled)) == pytest.approx(float(loss), rel=1e-6)
    accuracy = zoo.models.common.MaskedAccuracy()
    accuracy.update_state(y, probs)
    hits = np.mean(probs[0, [0, 2, 5]].argmax(-1) == [0, 1, 2])
    assert float(accuracy.result()) == pytest.approx(hits)


# -- the Planetoid reader ----------------------------------------------------------------


def write_planetoid(folder, name="cora", nodes=40, features=1433, classes=7, train=7,
                    allx=28, missing=(), seed=0):
    """Tiny `ind.NAME.*` files in the published layout: protocol-2 pickles of CSR matrices,
    one-hot NumPy arrays and a defaultdict of adjacency lists, test ids shuffled in test.index,
    `missing` ids (CiteSeer's isolated nodes) in the graph but without features or labels.
    Returns the features and labels per node id (-1 for the missing ones)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    x = (rng.random((nodes, features)) < 0.05).astype("float32")
    x[:, 0] = 1  # no empty rows
    labels = rng.integers(classes, size=nodes)
    onehot = np.eye(classes, dtype="float32")[labels]
    test_ids = rng.permutation([i for i in range(allx, nodes) if i not in missing])
    graph = collections.defaultdict(list)
    for _ in range(nodes * 2):
        a, b = rng.integers(nodes, size=2)
        graph[int(a)].append(int(b))
    graph[0] += [0, 1, 1]  # a self-loop and a duplicate, as the real files have
    parts = {"x": scipy.sparse.csr_matrix(x[:train]), "y": onehot[:train],
             "allx": scipy.sparse.csr_matrix(x[:allx]), "ally": onehot[:allx],
             "tx": scipy.sparse.csr_matrix(x[test_ids]), "ty": onehot[test_ids], "graph": graph}
    for part, value in parts.items():
        with open(folder / f"ind.{name}.{part}", "wb") as f:
            pickle.dump(value, f, protocol=2)
    (folder / f"ind.{name}.test.index").write_text("".join(f"{i}\n" for i in test_ids))
    labels = labels.astype("int32")
    labels[list(missing)] = -1
    x[list(missing)] = 0
    return x, labels, graph


def test_reader_rebuilds_node_order_split_and_missing_nodes(tmp_path):
    x, labels, graph = write_planetoid(tmp_path / "planetoid", "citeseer", features=3703,
                                       classes=6, missing=(30, 33))
    g = graphs.load_planetoid("citeseer", tmp_path)
    np.testing.assert_array_equal(g.features, x)
    np.testing.assert_array_equal(g.labels, labels)
    np.testing.assert_array_equal(g.train, np.arange(7))
    np.testing.assert_array_equal(g.val, np.arange(7, 28))
    assert sorted(g.test) == [i for i in range(28, 40) if i not in (30, 33)]
    expected = {(a, b) for a, bs in graph.items() for b in bs if a != b}
    expected |= {(b, a) for a, b in expected}
    assert {tuple(e) for e in g.edges} == expected and len(g.edges) == len(expected)
    y = g.targets(g.val)
    assert y.shape == (1, 40) and (y >= 0).sum() == 21


def test_reader_refuses_a_crafted_pickle_without_running_it(tmp_path):
    write_planetoid(tmp_path / "planetoid")
    marker = tmp_path / "ran"

    class Exploit:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    (tmp_path / "planetoid" / "ind.cora.graph").write_bytes(pickle.dumps(Exploit(), protocol=2))
    with pytest.raises(graphs.UnsafePickleError, match="refusing to unpickle .*system"):
        graphs.load_planetoid("cora", tmp_path)
    assert not marker.exists()
    assert pickle.loads(pickle.dumps(Exploit())) == 0 and marker.exists()  # it would have run


def test_reader_names_the_folder_and_files_it_looked_for(tmp_path):
    with pytest.raises(zoo.data.DataNotFoundError) as info:
        graphs.load_planetoid("cora", tmp_path)
    assert str(tmp_path / "planetoid") in str(info.value)
    assert "ind.cora.graph" in str(info.value) and "--data-dir" in str(info.value)


# -- the models through the zoo ------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_cora(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    write_planetoid(folder / "planetoid", "cora", nodes=60, allx=40, train=14)
    return folder


def test_training_writes_card_and_figures_and_predict_names_nodes(tiny_cora, tmp_path,
                                                                   monkeypatch, capsys):
    from training.fit import train
    from zoo.__main__ import main as zoo_main

    monkeypatch.setenv("ZOO_SAVED_MODELS", str(tmp_path))
    result = train("gcn_cora", out=tmp_path, epochs=30, data_dir=tiny_cora, verbose=False)
    card = json.loads((tmp_path / "gcn_cora.json").read_text())
    assert card["data"]["train"] == 14 and card["data"]["test"] == 20
    assert card["epochs"] == len(result["history"]["loss"]) <= 30
    assert {"gcn_cora-curves.png", "gcn_cora-confusion.png",
            "gcn_cora-embedding.png"} <= set(card["figures"])
    assert zoo_main(["evaluate", "gcn_cora", "--data-dir", str(tiny_cora), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert evaluated["accuracy"] == pytest.approx(card["metrics"]["test"]["accuracy"])
    assert zoo_main(["predict", "gcn_cora", "3", "41", "--data-dir", str(tiny_cora),
                     "--json"]) == 0
    rows = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [r["node"] for r in rows] == [3, 41]
    assert rows[0]["name"] in graphs.CLASS_NAMES["cora"]
    assert zoo_main(["predict", "gcn_cora", "60", "--data-dir", str(tiny_cora)]) == 2
    assert "0..59" in capsys.readouterr().err


def test_early_stopping_keeps_the_best_validation_epoch(tiny_cora, tmp_path):
    from training.fit import train

    result = train("gcn_cora", out=tmp_path, epochs=60, data_dir=tiny_cora, save=False,
                   verbose=False)
    history = result["history"]
    best = int(np.argmin(history["val_loss"]))
    assert len(history["loss"]) < 60 or best >= 50  # patience 10 stopped it, or it improved
    assert result["metrics"]["val"]["loss"] == pytest.approx(history["val_loss"][best], rel=1e-4)


def test_seed_repeats_save_one_run_with_every_seeds_figure(tiny_cora, tmp_path):
    from training.seeds import repeat
    from zoo import cards

    summary = repeat("gcn_cora", [0, 1, 2], artifact_seed=1,
                     out=tmp_path, data_dir=tiny_cora, verbose=False)
    card = json.loads((tmp_path / "gcn_cora.json").read_text())
    assert card["seed"] == 1 and card["seeds"] == summary
    values = list(summary["values"].values())
    assert summary["values"]["1"] == pytest.approx(card["metrics"]["test"]["accuracy"], abs=1e-6)
    assert summary["mean"] == pytest.approx(np.mean(values), abs=1e-6)
    assert summary["sd"] == pytest.approx(np.std(values, ddof=1), abs=1e-6)
    assert cards.bar_figures(card) == {"accuracy": summary["mean"]}


def test_search_validates_on_the_standard_validation_nodes(tiny_cora, tmp_path):
    from tuning.search import search

    result = search("gat_cora", max_trials=2, epochs=2, directory=tmp_path / "search",
                    data_dir=tiny_cora, retrain=False, verbose=False)
    assert len(result["rows"]) == 2
    assert all(0 <= row["val_accuracy"] <= 1 for row in result["rows"])
