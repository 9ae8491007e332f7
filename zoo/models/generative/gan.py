"""A class-conditional DCGAN (Radford et al. 2016) with a projection discriminator (Miyato &
Koyama 2018), trained with the non-saturating loss of Goodfellow et al. (2014).

Two optimisers take turns, so training needs its own `train_step`, written for TensorFlow (the
zoo's default backend); under another backend the model builds, loads and generates, and
`fit` says it needs TensorFlow."""
import keras
import numpy as np
from keras import ops


def _generator(latent_dim, width, classes, image_shape):
    """[z, label] -> image in [-1, 1]: z and a label embedding, a dense layer to a quarter-size
    map of 2 x `width` channels, two stride-2 transposed convolutions."""
    height, side, channels = image_shape
    z = keras.Input((latent_dim,), name="z")
    label = keras.Input((), dtype="int32", name="label")
    x = keras.layers.Concatenate()([z, keras.layers.Embedding(classes, latent_dim)(label)])
    x = keras.layers.Dense(height // 4 * side // 4 * 2 * width, use_bias=False)(x)
    x = keras.layers.ReLU()(keras.layers.BatchNormalization()(x))
    x = keras.layers.Reshape((height // 4, side // 4, 2 * width))(x)
    x = keras.layers.Conv2DTranspose(width, 4, strides=2, padding="same", use_bias=False)(x)
    x = keras.layers.ReLU()(keras.layers.BatchNormalization()(x))
    out = keras.layers.Conv2DTranspose(channels, 4, strides=2, padding="same",
                                       activation="tanh")(x)
    return keras.Model([z, label], out, name="generator")


def _critic_features(width, image_shape, features):
    """image in [-1, 1] -> `features` values: two stride-2 convolutions with leaky ReLUs and
    a dense layer."""
    image = keras.Input(image_shape, name="image")
    x = keras.layers.Conv2D(width, 4, strides=2, padding="same")(image)
    x = keras.layers.LeakyReLU(0.2)(x)
    x = keras.layers.Conv2D(2 * width, 4, strides=2, padding="same")(x)
    x = keras.layers.LeakyReLU(0.2)(x)
    x = keras.layers.Dense(features)(keras.layers.Flatten()(x))
    return keras.Model(image, keras.layers.LeakyReLU(0.2)(x), name="critic_features")


@keras.saving.register_keras_serializable(package="zoo")
class ConditionalGAN(keras.Model):
    """Generator G(z, y) and discriminator D(x, y) = psi(phi(x)) + embed(y) . phi(x).

    `call(pixels)` returns D's logit for every class at once, (batch, classes): how real each
    image looks as each digit. `generate(n, labels, seed)` draws images. The compiled
    optimiser trains the generator; `d_learning_rate` sets the discriminator's Adam."""

    conditional = True
    backends = ("tensorflow",)

    def __init__(self, latent_dim=64, width=64, features=256, classes=10,
                 image_shape=(28, 28, 1), d_learning_rate=2e-4, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = int(latent_dim)
        self.width = int(width)
        self.features = int(features)
        self.classes = int(classes)
        self.image_shape = tuple(int(s) for s in image_shape)
        self.d_learning_rate = float(d_learning_rate)
        self.seed = seed
        if self.image_shape[0] % 4 or self.image_shape[1] % 4:
            raise ValueError(f"ConditionalGAN takes images of a side divisible by 4, got "
                             f"{self.image_shape[0]}x{self.image_shape[1]}")
        self.generator = _generator(self.latent_dim, self.width, self.classes, self.image_shape)
        self.critic = _critic_features(self.width, self.image_shape, self.features)
        self.realness = keras.layers.Dense(1, name="realness")
        self.class_projection = keras.layers.Embedding(self.classes, self.features,
                                                       name="class_projection")
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_optimizer = None
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")

    def build(self, input_shape=None):
        self.realness.build((None, self.features))
        self.class_projection.build((None,))

    @property
    def discriminator_variables(self):
        return (self.critic.trainable_variables + self.realness.trainable_variables +
                self.class_projection.trainable_variables)

    def compile(self, *args, **kwargs):
        super().compile(*args, **kwargs)
        if not self.built:
            self.build()
        self.d_optimizer = keras.optimizers.Adam(self.d_learning_rate, beta_1=0.5)

    def compile_from_config(self, config):
        """What loading a saved GAN compiles with (Keras skips a custom `compile` otherwise)."""
        self.compile(**keras.saving.deserialize_keras_object(config))

    def _build_optimizers(self):
        """Each optimiser holds the state of its own network's variables only, built before
        the first step (and before a checkpoint is restored into them, so that one run's
        checkpoint loads into the next: --resume); never for a model only saved or loaded,
        so an artifact carries no optimiser state."""
        if not self.optimizer.built:
            self.optimizer.build(self.generator.trainable_variables)
        if not self.d_optimizer.built:
            self.d_optimizer.build(self.discriminator_variables)

    def fit(self, *args, **kwargs):
        self._build_optimizers()
        return super().fit(*args, **kwargs)

    def train_on_batch(self, *args, **kwargs):
        self._build_optimizers()
        return super().train_on_batch(*args, **kwargs)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    @staticmethod
    def scaled(pixels):
        return ops.cast(pixels, "float32") / 127.5 - 1.0

    def discriminate(self, images, labels, training=False):
        """D's logit that each image in [-1, 1] is a real example of its label."""
        phi = self.critic(images, training=training)
        projected = ops.sum(self.class_projection(labels) * phi, axis=-1)
        return ops.squeeze(self.realness(phi), -1) + projected

    def call(self, pixels, training=False):
        phi = self.critic(self.scaled(pixels), training=training)
        every_class = ops.matmul(phi, ops.transpose(self.class_projection.embeddings))
        return self.realness(phi) + every_class

    def _gan_losses(self, pixels, labels, training):
        labels = ops.cast(ops.reshape(labels, (-1,)), "int32")
        z = keras.random.normal((ops.shape(labels)[0], self.latent_dim), seed=self.seed_generator)
        fake = self.generator([z, labels], training=training)
        real_logit = self.discriminate(self.scaled(pixels), labels, training=training)
        fake_logit = self.discriminate(fake, labels, training=training)
        d_loss = ops.mean(ops.softplus(-real_logit) + ops.softplus(fake_logit))
        g_loss = ops.mean(ops.softplus(-fake_logit))
        return d_loss, g_loss

    def train_step(self, *args):
        data = args[-1]  # JAX's trainer passes (state, data), TensorFlow's (data,)
        if keras.backend.backend() != "tensorflow":
            raise NotImplementedError(f"{self.name} trains on the TensorFlow backend only (its "
                                      f"two optimisers need a train_step per backend); set "
                                      f"KERAS_BACKEND=tensorflow")
        import tensorflow as tf

        pixels, labels = data[0], data[1]
        with tf.GradientTape() as tape:
            d_loss, _ = self._gan_losses(pixels, labels, training=True)
        d_vars = self.discriminator_variables
        self.d_optimizer.apply(tape.gradient(d_loss, d_vars), d_vars)
        with tf.GradientTape() as tape:
            _, g_loss = self._gan_losses(pixels, labels, training=True)
        g_vars = self.generator.trainable_variables
        self.optimizer.apply(tape.gradient(g_loss, g_vars), g_vars)
        return self._logged(d_loss, g_loss)

    def test_step(self, data):
        return self._logged(*self._gan_losses(data[0], data[1], training=False))

    def _logged(self, d_loss, g_loss):
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}

    def generate(self, n, labels=None, seed=0, batch_size=1000):
        """`n` uint8 images of `labels` (one per image; default: 0, 1, ..., 9, 0, ...)."""
        labels = np.arange(n) % self.classes if labels is None else np.asarray(labels)
        z = np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype("float32")
        return self.generate_from(z, labels, batch_size)

    def generate_from(self, z, labels, batch_size=1000):
        """uint8 images from given latents `z` (n, latent_dim) and `labels` (n,)."""
        parts = [ops.convert_to_numpy(self.generator(
            [z[i:i + batch_size], np.asarray(labels[i:i + batch_size], "int32")],
            training=False)) for i in range(0, len(z), batch_size)]
        return np.clip(np.round((np.concatenate(parts) + 1.0) * 127.5), 0, 255).astype("uint8")

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim, "width": self.width,
                "features": self.features, "classes": self.classes,
                "image_shape": self.image_shape, "d_learning_rate": self.d_learning_rate,
                "seed": self.seed}
