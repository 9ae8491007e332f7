"""Text to integer ids with no vocabulary to fit: words (and word n-grams) hashed to buckets."""
import keras


@keras.saving.register_keras_serializable(package="zoo")
class HashedWordIds(keras.layers.Layer):
    """Raw strings -> `(batch, length)` int32 ids in `[1, num_buckets)`, 0 for padding.

    Lower-cases, keeps letters and digits, splits on everything else, adds word n-grams up to
    `ngrams` (fastText's bag of n-grams), hashes each token to a bucket and truncates to
    `max_length` tokens. Nothing is learned or adapted, so a model built with it is complete
    before it sees data. TensorFlow string ops: text models run on the TensorFlow backend.

    Args:
        num_buckets: ids per token, padding included.
        max_length: longest output (tokens beyond it are dropped).
        ngrams: 1 for words, 2 for words plus bigrams, and so on.
    """

    def __init__(self, num_buckets=2**15, max_length=128, ngrams=1, **kwargs):
        super().__init__(**kwargs)
        self.num_buckets = int(num_buckets)
        self.max_length = int(max_length)
        self.ngrams = int(ngrams)

    def tokens(self, texts):
        """The ragged `(batch, None)` string tokens of `texts`, before truncation."""
        import tensorflow as tf  # string ops: the text models need the TensorFlow backend

        texts = tf.strings.lower(tf.reshape(tf.convert_to_tensor(texts), [-1]))
        texts = tf.strings.regex_replace(texts, r"[^a-z0-9]+", " ")
        words = tf.strings.split(tf.strings.strip(texts))
        if self.ngrams > 1:
            return tf.strings.ngrams(words, list(range(1, self.ngrams + 1)), separator=" ")
        return words

    def token_counts(self, texts):
        """Tokens per text before truncation to `max_length` (a NumPy int array)."""
        return self.tokens(texts).row_lengths().numpy()

    def call(self, texts):
        import tensorflow as tf

        tokens = self.tokens(texts)
        ids = tf.strings.to_hash_bucket_fast(tokens, self.num_buckets - 1) + 1
        ids = tf.cast(ids[:, : self.max_length], "int32")
        return ids.to_tensor(0)

    def compute_output_spec(self, texts):
        return keras.KerasTensor((None, None), dtype="int32")

    def get_config(self):
        config = super().get_config()
        config.update(num_buckets=self.num_buckets, max_length=self.max_length,
                      ngrams=self.ngrams)
        return config


@keras.saving.register_keras_serializable(package="zoo")
class BagOfEmbeddings(keras.layers.Layer):
    """`(embeddings (batch, length, dim), ids (batch, length))` -> `(batch, dim)`: the sum of
    the vectors of the real tokens (id > 0) divided by the square root of their count, as a
    linear model on an L2-normalised bag of words reads its input (a mean would shrink long
    texts' evidence; a plain sum would let length decide)."""

    def build(self, embeddings_shape, ids_shape=None):
        pass  # nothing to learn; two arguments, as call takes two inputs

    def call(self, embeddings, ids):
        real = keras.ops.expand_dims(keras.ops.cast(ids > 0, embeddings.dtype), -1)
        count = keras.ops.maximum(keras.ops.sum(real, axis=1), 1.0)
        return keras.ops.sum(embeddings * real, axis=1) / keras.ops.sqrt(count)

    def compute_output_shape(self, embeddings_shape, ids_shape=None):
        return (embeddings_shape[0], embeddings_shape[-1])
