"""Graph neural networks for semi-supervised node classification on citation graphs.

GCN (Kipf & Welling 2017) and GAT (Velickovic et al. 2018) on the Planetoid split of Cora and
CiteSeer, and GCNII (Chen et al. 2020) on Cora, with the papers' architectures and
hyperparameters as defaults (GCNII at 16 layers, not 64). Every model takes the
whole graph, `{"features": (1, N, F) raw bag-of-words, "edges": (1, E, 2)}`, normalises each
node's features to sum to one inside (as both papers do beforehand), and outputs class
probabilities for every node, `(1, N, classes)`. Labels are `(1, N)` with -1 on the nodes
outside the split, which the loss (`ignore_class=-1`) and `MaskedAccuracy` skip: one batch is
the whole graph and only the split's nodes count.

Weight decay: both reference codes add `coef * tf.nn.l2_loss(W) = coef * sum(W^2) / 2`, so their
5e-4 is Keras' `L2(2.5e-4)`. GCN decays only its first layer (as in Kipf's code); GAT every
weight of both layers; GCNII as its docstring says.
"""
import math

import keras

from zoo.layers import (GraphAttention, GraphConvolution, InitialResidualConvolution,
                        RowNormalization)
from zoo.models.common import MaskedAccuracy
from zoo.models.graph.recipes import RECIPES
from zoo.registry import register_model

GRAPH_FIGURES = ("training_curves", "confusion_matrix", "node_embedding")


def graph_inputs(num_features):
    """Symbolic inputs of a graph model, named as the keys of the data's `x` dict."""
    return {"features": keras.Input((None, num_features), name="features"),
            "edges": keras.Input((None, 2), dtype="int32", name="edges")}


def compile_node_classifier(inputs, logits, name, learning_rate):
    """Softmax over the logits, Adam, cross-entropy and accuracy over labelled nodes only."""
    outputs = keras.layers.Activation("softmax", dtype="float32", name="softmax")(logits)
    model = keras.Model(inputs, outputs, name=name)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(ignore_class=-1),
                  metrics=[MaskedAccuracy(name="accuracy")])
    return model


def gcn(name, num_features, num_classes, hidden=16, dropout=0.5, l2=5e-4, learning_rate=0.01):
    """Two graph convolutions (ReLU between), dropout on the input of each."""
    inputs = graph_inputs(num_features)
    x = RowNormalization(name="row_normalize")(inputs["features"])
    x = keras.layers.Dropout(dropout, name="dropout_input")(x)
    h = GraphConvolution(hidden, activation="relu", kernel_regularizer=keras.regularizers.L2(
        l2 / 2), name="hidden")([x, inputs["edges"]])
    h = keras.layers.Dropout(dropout, name="dropout_hidden")(h)
    logits = GraphConvolution(num_classes, name="logits")([h, inputs["edges"]])
    return compile_node_classifier(inputs, logits, name, learning_rate)


def gat(name, num_features, num_classes, hidden=8, heads=8, output_heads=1, dropout=0.6,
        l2=5e-4, learning_rate=0.005):
    """Multi-head attention (ELU, heads concatenated), then an output attention layer whose
    heads are averaged; dropout on each layer's input and on the attention coefficients."""
    inputs = graph_inputs(num_features)
    decay = keras.regularizers.L2(l2 / 2)
    x = RowNormalization(name="row_normalize")(inputs["features"])
    x = keras.layers.Dropout(dropout, name="dropout_input")(x)
    h = GraphAttention(hidden, heads=heads, activation="elu", dropout=dropout,
                       kernel_regularizer=decay, name="hidden")([x, inputs["edges"]])
    h = keras.layers.Dropout(dropout, name="dropout_hidden")(h)
    logits = GraphAttention(num_classes, heads=output_heads, concat_heads=False, dropout=dropout,
                            kernel_regularizer=decay, name="logits")([h, inputs["edges"]])
    return compile_node_classifier(inputs, logits, name, learning_rate)


def _gcn_space(hp):
    return {"hidden": hp.Choice("hidden", [16, 32, 64], default=16),
            "dropout": hp.Float("dropout", 0.3, 0.8, step=0.1, default=0.5),
            "l2": hp.Float("l2", 1e-5, 1e-2, sampling="log", default=5e-4),
            "learning_rate": hp.Float("learning_rate", 1e-3, 5e-2, sampling="log",
                                      default=0.01)}


def _gat_space(hp):
    return {"hidden": hp.Choice("hidden", [4, 8, 16], default=8),
            "heads": hp.Choice("heads", [4, 8], default=8),
            "dropout": hp.Float("dropout", 0.3, 0.8, step=0.1, default=0.6),
            "l2": hp.Float("l2", 1e-5, 1e-2, sampling="log", default=5e-4),
            "learning_rate": hp.Float("learning_rate", 1e-3, 2e-2, sampling="log",
                                      default=0.005)}


def _register(name, dataset, paper, bar, space):
    return register_model(
        name, description=f"{paper} on {dataset}: semi-supervised node classification, standard "
                          f"Planetoid split (CPSC 452, COMP541, CS/DS 541)",
        dataset=dataset.lower(), kind="classification", metric="accuracy", bar=bar,
        search_space=space, figures=GRAPH_FIGURES, input_kind="graph", recipe=RECIPES[name])


@_register("gcn_cora", "Cora", "GCN (Kipf & Welling 2017)", {"accuracy": 0.81}, _gcn_space)
def gcn_cora(hidden=16, dropout=0.5, l2=5e-4, learning_rate=0.01, num_features=1433,
             num_classes=7):
    return gcn("gcn_cora", num_features, num_classes, hidden, dropout, l2, learning_rate)


@_register("gcn_citeseer", "CiteSeer", "GCN (Kipf & Welling 2017)", {"accuracy": 0.70},
           _gcn_space)
def gcn_citeseer(hidden=16, dropout=0.5, l2=5e-4, learning_rate=0.01, num_features=3703,
                 num_classes=6):
    return gcn("gcn_citeseer", num_features, num_classes, hidden, dropout, l2, learning_rate)


@_register("gat_cora", "Cora", "GAT (Velickovic et al. 2018)", {"accuracy": 0.825}, _gat_space)
def gat_cora(hidden=8, heads=8, dropout=0.6, l2=5e-4, learning_rate=0.005, num_features=1433,
             num_classes=7):
    return gat("gat_cora", num_features, num_classes, hidden, heads, 1, dropout, l2,
               learning_rate)


@_register("gat_citeseer", "CiteSeer", "GAT (Velickovic et al. 2018)", {"accuracy": 0.715},
           _gat_space)
def gat_citeseer(hidden=8, heads=8, dropout=0.6, l2=5e-4, learning_rate=0.005,
                 num_features=3703, num_classes=6):
    return gat("gat_citeseer", num_features, num_classes, hidden, heads, 1, dropout, l2,
               learning_rate)


def gcnii(name, num_features, num_classes, depth=64, hidden=64, alpha=0.1, lam=0.5,
          dropout=0.6, l2_conv=0.01, l2_dense=5e-4, learning_rate=0.01):
    """GCNII (Chen et al. 2020): a dense map to `hidden` units, `depth` initial-residual graph
    convolutions (`InitialResidualConvolution`, beta_l = log(lam / l + 1)) with ReLU and dropout
    before each, and a dense map to the classes. Weight decay as in the reference code (its
    PyTorch Adam `weight_decay` w adds w * W to the gradient, Keras' `L2(w / 2)`): `l2_conv` on
    the convolutions, `l2_dense` on the two dense maps."""
    inputs = graph_inputs(num_features)
    dense_decay = keras.regularizers.L2(l2_dense / 2)
    x = RowNormalization(name="row_normalize")(inputs["features"])
    x = keras.layers.Dropout(dropout, name="dropout_input")(x)
    initial = keras.layers.Dense(hidden, activation="relu", kernel_regularizer=dense_decay,
                                 name="input_map")(x)
    h = initial
    for layer in range(1, depth + 1):
        h = keras.layers.Dropout(dropout, name=f"dropout{layer}")(h)
        h = InitialResidualConvolution(
            alpha, math.log(lam / layer + 1), name=f"conv{layer}",
            kernel_regularizer=keras.regularizers.L2(l2_conv / 2))([h, initial, inputs["edges"]])
        h = keras.layers.Activation("relu", name="hidden" if layer == depth else None)(h)
    h = keras.layers.Dropout(dropout, name="dropout_output")(h)
    logits = keras.layers.Dense(num_classes, kernel_regularizer=dense_decay, name="logits")(h)
    return compile_node_classifier(inputs, logits, name, learning_rate)


def _gcnii_space(hp):
    return {"depth": hp.Choice("depth", [8, 16, 32, 64], default=16),
            "alpha": hp.Float("alpha", 0.05, 0.3, step=0.05, default=0.1),
            "lam": hp.Float("lam", 0.5, 1.5, step=0.5, default=0.5),
            "dropout": hp.Float("dropout", 0.4, 0.7, step=0.1, default=0.6),
            "learning_rate": hp.Float("learning_rate", 1e-3, 2e-2, sampling="log",
                                      default=0.01)}


@register_model(
    "gcnii_cora", description="GCNII (Chen et al. 2020), 16 layers deep, on Cora: the zoo's "
                              "best Cora model (later work than GCN and GAT; standard split)",
    dataset="cora", kind="classification", metric="accuracy", bar={"accuracy": 0.84},
    search_space=_gcnii_space, figures=GRAPH_FIGURES, input_kind="graph",
    recipe=RECIPES["gcnii_cora"])
def gcnii_cora(depth=16, hidden=64, alpha=0.1, lam=0.5, dropout=0.6, l2_conv=0.01,
               l2_dense=5e-4, learning_rate=0.01, num_features=1433, num_classes=7):
    return gcnii("gcnii_cora", num_features, num_classes, depth, hidden, alpha, lam, dropout,
                 l2_conv, l2_dense, learning_rate)
