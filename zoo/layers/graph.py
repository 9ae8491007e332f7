"""Graph layers on node features and an edge list: graph convolution, graph attention and
GCNII's initial-residual convolution.

They take `[features, edges]` (GCNII's also the first layer's output): `features` (batch,
nodes, F) and `edges` (batch, E, 2) integer `(source, target)` pairs indexing the nodes of the
same graph (every graph of a batch with the same node and edge counts; a node-classification
task has a batch of one graph). Messages flow
from source to target; give both directions for an undirected graph. Self-loops are added here
(so the edge list should not hold them). Work and memory grow with the edges, not with nodes
squared: aggregation is a segment sum over the edge list.
"""
import keras
from keras import ops


def _flat_graph(features, edges):
    """Merge the batch's graphs into one: `(B * N, ...)` node rows and `(source, target)` index
    vectors with every node's self-loop appended."""
    shape = ops.shape(features)
    batch, nodes = shape[0], shape[1]
    offsets = ops.reshape(ops.arange(batch, dtype="int32") * nodes, (-1, 1, 1))
    pairs = ops.reshape(ops.cast(edges, "int32") + offsets, (-1, 2))
    count = batch * nodes
    loops = ops.arange(count, dtype="int32")
    source = ops.concatenate([pairs[:, 0], loops])
    target = ops.concatenate([pairs[:, 1], loops])
    return source, target, count


def _propagate(rows, source, target, count):
    """`D^-1/2 (A + I) D^-1/2 rows`: each node's rows summed over its neighbours and itself,
    every message scaled by 1 / sqrt(degree(source) degree(target)) (degrees with the loop)."""
    degree = ops.segment_sum(ops.ones_like(target, dtype=rows.dtype), target, count)
    scale = ops.rsqrt(degree)
    norm = ops.take(scale, source) * ops.take(scale, target)
    messages = ops.take(rows, source, axis=0) * ops.expand_dims(norm, -1)
    return ops.segment_sum(messages, target, count)


def _unflatten(rows, features):
    shape = ops.shape(features)
    return ops.reshape(rows, (shape[0], shape[1], rows.shape[-1]))


@keras.saving.register_keras_serializable(package="zoo")
class GraphConvolution(keras.layers.Layer):
    """Graph convolution of Kipf & Welling (2017): `H' = act(D^-1/2 (A + I) D^-1/2 H W + b)`.

    Args:
        units: output features per node.
        activation: applied last (None: linear).
        use_bias: add a bias after the propagation.
        kernel_initializer, kernel_regularizer: of the `(F, units)` weight matrix.

    Example:
        >>> features = np.random.rand(1, 4, 3).astype("float32")
        >>> edges = np.array([[[0, 1], [1, 0], [1, 2], [2, 1]]])  # node 3 is isolated
        >>> GraphConvolution(8)([features, edges]).shape
        (1, 4, 8)
    """

    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", kernel_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.activation = keras.activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

    def build(self, input_shape):
        features_shape, _ = input_shape
        self.kernel = self.add_weight(shape=(features_shape[-1], self.units), name="kernel",
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer)
        self.bias = (self.add_weight(shape=(self.units,), name="bias", initializer="zeros")
                     if self.use_bias else None)

    def call(self, inputs):
        features, edges = inputs
        source, target, count = _flat_graph(features, edges)
        h = ops.reshape(ops.matmul(features, self.kernel), (-1, self.units))
        out = _unflatten(_propagate(h, source, target, count), features)
        if self.use_bias:
            out = out + self.bias
        return self.activation(out)

    def compute_output_shape(self, input_shape):
        features_shape, _ = input_shape
        return (*features_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": keras.activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer)}


@keras.saving.register_keras_serializable(package="zoo")
class GraphAttention(keras.layers.Layer):
    """Multi-head graph attention of Velickovic et al. (2018).

    For each head, node i's output is `sum_j alpha_ij W h_j` over its neighbours j and itself,
    with `alpha_ij = softmax_j(LeakyReLU(a_s . W h_j + a_t . W h_i))`: the softmax runs over each
    node's own neighbourhood only. Heads are concatenated (hidden layers) or averaged (an
    output layer), then the bias and activation are applied.

    Args:
        units: features per head.
        heads: number of attention heads.
        concat_heads: concatenate (`heads * units` outputs) or average (`units`).
        activation: applied last (None: linear).
        dropout: dropout rate on the attention coefficients during training.
        negative_slope: of the LeakyReLU on the scores (0.2 in the paper).
        use_bias: add a bias after aggregation.
        kernel_initializer, kernel_regularizer: of the feature transform and attention vectors.

    Example:
        >>> features = np.random.rand(1, 4, 3).astype("float32")
        >>> edges = np.array([[[0, 1], [1, 0], [1, 2], [2, 1]]])
        >>> GraphAttention(8, heads=2)([features, edges]).shape
        (1, 4, 16)
    """

    def __init__(self, units, heads=1, concat_heads=True, activation=None, dropout=0.0,
                 negative_slope=0.2, use_bias=True, kernel_initializer="glorot_uniform",
                 kernel_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.heads = int(heads)
        self.concat_heads = bool(concat_heads)
        self.activation = keras.activations.get(activation)
        self.dropout = float(dropout)
        self.negative_slope = float(negative_slope)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.attention_dropout = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)

    @property
    def output_units(self):
        return self.heads * self.units if self.concat_heads else self.units

    def build(self, input_shape):
        features_shape, _ = input_shape
        weight = dict(initializer=self.kernel_initializer, regularizer=self.kernel_regularizer)
        self.kernel = self.add_weight(shape=(features_shape[-1], self.heads * self.units),
                                      name="kernel", **weight)
        self.attention_source = self.add_weight(shape=(self.heads, self.units),
                                                name="attention_source", **weight)
        self.attention_target = self.add_weight(shape=(self.heads, self.units),
                                                name="attention_target", **weight)
        self.bias = (self.add_weight(shape=(self.output_units,), name="bias", initializer="zeros")
                     if self.use_bias else None)
        self.attention_dropout.build(None)

    def call(self, inputs, training=None):
        features, edges = inputs
        source, target, count = _flat_graph(features, edges)
        h = ops.reshape(ops.matmul(features, self.kernel), (-1, self.heads, self.units))
        score_source = ops.sum(h * self.attention_source, axis=-1)  # (nodes, heads)
        score_target = ops.sum(h * self.attention_target, axis=-1)
        scores = ops.leaky_relu(ops.take(score_source, source, axis=0) +
                                ops.take(score_target, target, axis=0), self.negative_slope)
        # softmax over each target's incoming edges (every node has its self-loop)
        shifted = scores - ops.take(ops.segment_max(scores, target, count), target, axis=0)
        weights = ops.exp(shifted)
        alpha = weights / ops.take(ops.segment_sum(weights, target, count), target, axis=0)
        alpha = self.attention_dropout(alpha, training=training)
        messages = ops.take(h, source, axis=0) * ops.expand_dims(alpha, -1)
        out = ops.segment_sum(messages, target, count)  # (nodes, heads, units)
        out = (ops.reshape(out, (-1, self.heads * self.units)) if self.concat_heads
               else ops.mean(out, axis=1))
        out = _unflatten(out, features)
        if self.use_bias:
            out = out + self.bias
        return self.activation(out)

    def compute_output_shape(self, input_shape):
        features_shape, _ = input_shape
        return (*features_shape[:-1], self.output_units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "heads": self.heads,
                "concat_heads": self.concat_heads,
                "activation": keras.activations.serialize(self.activation),
                "dropout": self.dropout, "negative_slope": self.negative_slope,
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer)}


@keras.saving.register_keras_serializable(package="zoo")
class InitialResidualConvolution(keras.layers.Layer):
    """GCNII's layer (Chen et al. 2020, "Simple and Deep Graph Convolutional Networks"): graph
    convolution with an initial residual and an identity mapping, which lets dozens of layers
    be stacked without the node features collapsing to one value (over-smoothing):

        support = (1 - alpha) D^-1/2 (A + I) D^-1/2 H + alpha H0
        H' = (1 - beta) support + beta support W,   beta = log(lambda / layer + 1)

    Takes `[features, initial, edges]`: this layer's input H, the first layer's output H0 (same
    width) and the edge list. No bias and no activation (the model applies ReLU).

    Args:
        alpha: weight of the initial representation H0.
        beta: weight of the learned map W against the identity.
        kernel_initializer, kernel_regularizer: of the square weight matrix W.
    """

    def __init__(self, alpha=0.1, beta=0.5, kernel_initializer="glorot_uniform",
                 kernel_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

    def build(self, input_shape):
        width = input_shape[0][-1]
        self.kernel = self.add_weight(shape=(width, width), name="kernel",
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer)

    def call(self, inputs):
        features, initial, edges = inputs
        source, target, count = _flat_graph(features, edges)
        rows = ops.reshape(features, (-1, features.shape[-1]))
        spread = _unflatten(_propagate(rows, source, target, count), features)
        support = (1 - self.alpha) * spread + self.alpha * initial
        return (1 - self.beta) * support + self.beta * ops.matmul(support, self.kernel)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "beta": self.beta,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer)}


@keras.saving.register_keras_serializable(package="zoo")
class RowNormalization(keras.layers.Layer):
    """Scale each row of the last axis to sum to one (rows of zeros stay zero): the feature
    normalisation of the GCN and GAT papers, done inside the model so it takes raw features."""

    def call(self, inputs):
        total = ops.sum(inputs, axis=-1, keepdims=True)
        return inputs / ops.where(total == 0, ops.ones_like(total), total)

    def compute_output_shape(self, input_shape):
        return input_shape
