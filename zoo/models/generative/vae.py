"""A convolutional variational autoencoder with a Bernoulli decoder (Kingma & Welling 2014),
its evidence lower bound and the importance-sampled likelihood of Burda et al. (2016)."""
import math

import keras
import numpy as np
from keras import ops

from zoo.layers.generative import GaussianSample

LOG_2PI = math.log(2 * math.pi)


@keras.saving.register_keras_serializable(package="zoo")
class VariationalAutoencoder(keras.Model):
    """Encoder q(z|x): two stride-2 convolutions (`width`, 2 x `width`) and a dense layer of
    `hidden` units to the mean and log-variance of a diagonal Gaussian over `latent_dim`
    values. Decoder p(x|z): the mirror image, ending in one logit per pixel (a Bernoulli).

    Takes binarized images as uint8 0 / 255 (`zoo.data.images.binarize`) of a side divisible
    by 4. `call` returns the Bernoulli means of the reconstruction (z drawn in training, the
    encoder's mean otherwise); the training loss is the negative ELBO per image in nats
    (reconstruction here, the KL term added in `call`)."""

    def __init__(self, latent_dim=32, width=32, hidden=256, image_shape=(28, 28, 1), seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = int(latent_dim)
        self.width = int(width)
        self.hidden = int(hidden)
        self.image_shape = tuple(int(s) for s in image_shape)
        self.seed = seed
        height, side, channels = self.image_shape
        if height % 4 or side % 4:
            raise ValueError(f"VariationalAutoencoder takes images of a side divisible by 4, "
                             f"got {height}x{side}")
        conv = dict(padding="same", activation="swish")
        self.encoder = keras.Sequential([
            keras.layers.Conv2D(self.width, 4, strides=2, **conv),
            keras.layers.Conv2D(2 * self.width, 4, strides=2, **conv),
            keras.layers.Flatten(),
            keras.layers.Dense(self.hidden, activation="swish"),
            keras.layers.Dense(2 * self.latent_dim),
        ], name="encoder")
        self.decoder = keras.Sequential([
            keras.layers.Dense(self.hidden, activation="swish"),
            keras.layers.Dense(height // 4 * side // 4 * 2 * self.width, activation="swish"),
            keras.layers.Reshape((height // 4, side // 4, 2 * self.width)),
            keras.layers.Conv2DTranspose(self.width, 4, strides=2, **conv),
            keras.layers.Conv2DTranspose(self.width, 4, strides=2, **conv),
            keras.layers.Conv2D(channels, 3, padding="same"),
        ], name="decoder")
        self.sampler = GaussianSample(seed=seed, name="sample")

    def build(self, input_shape):
        self.encoder.build(input_shape)
        self.decoder.build((None, self.latent_dim))

    def encode(self, pixels):
        """Mean and log-variance of q(z|x) for uint8 (or float 0-255) images."""
        stats = self.encoder(ops.cast(pixels, "float32") / 255.0)
        return stats[:, : self.latent_dim], stats[:, self.latent_dim:]

    def decode_logits(self, z):
        return self.decoder(z)

    def call(self, pixels, training=False):
        mean, log_var = self.encode(pixels)
        self.add_loss(ops.mean(gaussian_kl(mean, log_var)))
        z = self.sampler([mean, log_var], training=training)
        return ops.sigmoid(self.decode_logits(z))

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, **kwargs):
        targets = ops.cast(x, "float32") / 255.0
        clipped = ops.clip(y_pred, 1e-7, 1 - 1e-7)
        nll = -(targets * ops.log(clipped) + (1 - targets) * ops.log(1 - clipped))
        reconstruction = ops.mean(ops.sum(ops.reshape(nll, (ops.shape(nll)[0], -1)), axis=1))
        return reconstruction + sum(self.losses)  # the KL term, added in `call`

    def generate(self, n, labels=None, seed=0):
        """`n` images (uint8, Bernoulli means x 255) decoded from z ~ N(0, I)."""
        z = np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype("float32")
        return to_pixels(ops.sigmoid(self.decode_logits(z)))

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim, "width": self.width,
                "hidden": self.hidden, "image_shape": self.image_shape, "seed": self.seed}


def to_pixels(unit):
    """uint8 images from values in [0, 1]."""
    return np.clip(np.round(ops.convert_to_numpy(unit) * 255.0), 0, 255).astype("uint8")


def binary(images, seed=0):
    """`images` when already binarized (0 / 255 only), else binarized with `seed` (the
    training split, which the "binarize" augmentation draws anew each epoch)."""
    from zoo.data.images import binarize

    images = np.asarray(images)
    return images if np.isin(images, (0, 255)).all() else binarize(images, seed)


def gaussian_kl(mean, log_var):
    """KL(N(mean, exp(log_var)) || N(0, I)) per row, in nats."""
    return 0.5 * ops.sum(ops.square(mean) + ops.exp(log_var) - 1.0 - log_var, axis=-1)


def bernoulli_log_likelihood(targets, logits):
    """log p(x | logits) per row, summed over pixels: x log s(l) + (1 - x) log(1 - s(l)),
    computed stably as -(softplus(l) - x l)."""
    flat_x = ops.reshape(targets, (ops.shape(targets)[0], -1))
    flat_l = ops.reshape(logits, (ops.shape(logits)[0], -1))
    return -ops.sum(ops.softplus(flat_l) - flat_x * flat_l, axis=-1)


def _gaussian_log_density(z, mean, log_var):
    return -0.5 * ops.sum(LOG_2PI + log_var + ops.square(z - mean) / ops.exp(log_var), axis=-1)


def _batches(n, batch_size):
    return [slice(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]


def elbo(model, images, samples=1, seed=0, batch_size=500):
    """The evidence lower bound per image, averaged over `samples` draws of z: E_q[log p(x|z)]
    - KL(q(z|x) || p(z)), in nats (an array, one value per image)."""
    rng = np.random.default_rng(seed)
    values = []
    for part in _batches(len(images), batch_size):
        x = images[part]
        targets = x.astype("float32") / 255.0
        mean, log_var = (ops.convert_to_numpy(t) for t in model.encode(x))
        total = np.zeros(len(x))
        for _ in range(samples):
            z = mean + np.exp(0.5 * log_var) * rng.standard_normal(mean.shape).astype("float32")
            total += ops.convert_to_numpy(
                bernoulli_log_likelihood(targets, model.decode_logits(z)))
        values.append(total / samples - ops.convert_to_numpy(gaussian_kl(mean, log_var)))
    return np.concatenate(values)


def importance_sampled_nll(model, images, k=100, seed=0, batch_size=100):
    """-log p(x) per image by importance sampling with q(z|x) as the proposal (Burda et al.
    2016): -log (1/k) sum_i p(x, z_i) / q(z_i|x), z_i ~ q(z|x). In expectation an upper bound
    on the true NLL that tightens as k grows, and at most -ELBO; in nats."""
    rng = np.random.default_rng(seed)
    values = []
    for part in _batches(len(images), batch_size):
        x = images[part]
        targets = np.repeat(x.astype("float32") / 255.0, k, axis=0)
        mean, log_var = (ops.convert_to_numpy(t) for t in model.encode(x))
        mean, log_var = np.repeat(mean, k, axis=0), np.repeat(log_var, k, axis=0)
        z = mean + np.exp(0.5 * log_var) * rng.standard_normal(mean.shape).astype("float32")
        log_joint = (ops.convert_to_numpy(bernoulli_log_likelihood(
            targets, model.decode_logits(z))) + ops.convert_to_numpy(
            _gaussian_log_density(z, np.zeros_like(z), np.zeros_like(z))))
        log_q = ops.convert_to_numpy(_gaussian_log_density(z, mean, log_var))
        weights = (log_joint - log_q).reshape(len(x), k).astype("float64")
        top = weights.max(axis=1, keepdims=True)
        log_mean = top[:, 0] + np.log(np.exp(weights - top).mean(axis=1))
        values.append(-log_mean)
    return np.concatenate(values)
