"""Transformer pieces: token + position embedding and a self-attention encoder block."""
import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class TokenAndPositionEmbedding(keras.layers.Layer):
    """Token embedding plus a learned position embedding.

    Token id 0 is padding: the layer emits a mask `ids != 0` that Keras passes to later layers
    (for example `TransformerEncoderBlock` and pooling layers).

    Args:
        vocab_size: number of token ids, padding (0) included.
        max_length: longest sequence; positions beyond it are an error.
        embed_dim: width of both embeddings.

    Example:
    >>> emb = TokenAndPositionEmbedding(vocab_size=100, max_length=8, embed_dim=16)
    >>> emb(np.array([[5, 7, 0, 0]])).shape
    (1, 4, 16)
    """

    def __init__(self, vocab_size, max_length, embed_dim, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = int(vocab_size)
        self.max_length = int(max_length)
        self.embed_dim = int(embed_dim)
        self.token_embedding = keras.layers.Embedding(self.vocab_size, self.embed_dim,
                                                      name="token_embedding",
                                                      dtype=self.dtype_policy)
        self.position_embedding = keras.layers.Embedding(self.max_length, self.embed_dim,
                                                         name="position_embedding",
                                                         dtype=self.dtype_policy)
        self.supports_masking = True

    def build(self, input_shape):
        self.token_embedding.build(input_shape)
        self.position_embedding.build((self.max_length,))

    def call(self, ids):
        positions = ops.arange(ops.shape(ids)[-1])
        return self.token_embedding(ids) + self.position_embedding(positions)

    def compute_mask(self, ids, mask=None):
        return ops.not_equal(ids, 0)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.embed_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(vocab_size=self.vocab_size, max_length=self.max_length,
                      embed_dim=self.embed_dim)
        return config


@keras.saving.register_keras_serializable(package="zoo")
class TransformerEncoderBlock(keras.layers.Layer):
    """Multi-head self-attention and a feed-forward network, each in a residual branch.

    `norm_first=False` is the original post-norm block (Vaswani et al. 2017):
    `x = norm(x + drop(attn(x)))`, then `x = norm(x + drop(ffn(x)))`. `norm_first=True` is the
    pre-norm block used by most modern encoders: `x = x + drop(attn(norm(x)))`, and so on.
    Padded positions (a Keras mask, or `padding_mask` with True for real tokens) are never
    attended to; the output mask equals the input mask.

    Args:
        num_heads: attention heads; `embed_dim` must be divisible by it.
        ff_dim: hidden width of the feed-forward network.
        dropout: dropout rate on both residual branches and on the attention weights.
        norm_first: pre-norm (True) or post-norm (False).
        activation: feed-forward activation.

    Example:
    >>> block = TransformerEncoderBlock(num_heads=2, ff_dim=32)
    >>> block(np.zeros((2, 5, 16), "float32")).shape
    (2, 5, 16)
    """

    def __init__(self, num_heads, ff_dim, dropout=0.1, norm_first=False, activation="gelu",
                 **kwargs):
        super().__init__(**kwargs)
        self.num_heads = int(num_heads)
        self.ff_dim = int(ff_dim)
        self.dropout = float(dropout)
        self.norm_first = bool(norm_first)
        self.activation = activation
        self.supports_masking = True
        self.attention = None  # its key_dim depends on the input width, known in build()
        policy = dict(dtype=self.dtype_policy)
        self.attention_norm = keras.layers.LayerNormalization(epsilon=1e-6, name="attention_norm",
                                                              **policy)
        self.ffn_norm = keras.layers.LayerNormalization(epsilon=1e-6, name="ffn_norm", **policy)
        self.ffn_hidden = keras.layers.Dense(self.ff_dim, activation=activation, name="ffn_hidden",
                                             **policy)
        self.ffn_out = None
        self.attention_dropout = keras.layers.Dropout(self.dropout, **policy)
        self.ffn_dropout = keras.layers.Dropout(self.dropout, **policy)

    def build(self, input_shape):
        width = int(input_shape[-1])
        if width % self.num_heads:
            raise ValueError(f"embed_dim {width} is not divisible by num_heads {self.num_heads}")
        self.attention = keras.layers.MultiHeadAttention(
            self.num_heads, width // self.num_heads, dropout=self.dropout, name="attention",
            dtype=self.dtype_policy)
        self.attention.build(input_shape, input_shape)
        self.ffn_out = keras.layers.Dense(width, name="ffn_out", dtype=self.dtype_policy)
        self.attention_norm.build(input_shape)
        self.ffn_norm.build(input_shape)
        self.ffn_hidden.build(input_shape)
        self.ffn_out.build(tuple(input_shape[:-1]) + (self.ff_dim,))

    def call(self, x, mask=None, padding_mask=None, training=None):
        keep = mask if padding_mask is None else ops.cast(padding_mask, "bool")
        attention_mask = None
        if keep is not None:
            # (batch, query, key): a query may look only at real keys.
            attention_mask = ops.logical_and(ops.expand_dims(keep, 1), ops.expand_dims(keep, 2))
        y = self.attention_norm(x) if self.norm_first else x
        y = self.attention(y, y, attention_mask=attention_mask, training=training)
        x = x + self.attention_dropout(y, training=training)
        if not self.norm_first:
            x = self.attention_norm(x)
        y = self.ffn_norm(x) if self.norm_first else x
        y = self.ffn_out(self.ffn_hidden(y))
        x = x + self.ffn_dropout(y, training=training)
        if not self.norm_first:
            x = self.ffn_norm(x)
        return x

    def compute_mask(self, x, mask=None, padding_mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(num_heads=self.num_heads, ff_dim=self.ff_dim, dropout=self.dropout,
                      norm_first=self.norm_first, activation=self.activation)
        return config
