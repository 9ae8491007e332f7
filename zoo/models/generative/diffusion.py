"""A denoising diffusion model (Ho et al. 2020) with a small class-conditional U-Net, sampled
with DDIM (Song et al. 2021) and classifier-free guidance (Ho & Salimans 2022).

The network predicts v = sqrt(abar) eps - sqrt(1 - abar) x0 (Salimans & Ho 2022) on the cosine
schedule (Nichol & Dhariwal 2021) rather than DDPM's noise on its linear schedule: on a short
CPU budget (a few thousand steps) a noise-predicting network stays too imprecise at the high
noise levels, where the clean-image estimate divides its error by sqrt(abar) ~ 0.006, and its
samples are not digits (docs/generative.md)."""
import keras
import numpy as np
from keras import ops

from zoo.layers.generative import (ConditionedResidualBlock, SinusoidalEmbedding,
                                   SpatialSelfAttention)


def linear_schedule(steps, beta_start=1e-4, beta_end=0.02):
    """DDPM's noise schedule: alpha_bar[t] = prod_{s <= t} (1 - beta_s), betas linear."""
    betas = np.linspace(beta_start, beta_end, steps, dtype="float64")
    return np.cumprod(1.0 - betas).astype("float32")


def cosine_schedule(steps, offset=0.008, max_beta=0.999):
    """Nichol & Dhariwal's schedule: alpha_bar follows cos^2 of (t / steps + offset) / (1 +
    offset) * pi / 2, its betas capped at `max_beta`; alpha_bar[t] is the signal left after
    steps 0..t."""
    f = np.cos((np.arange(steps + 1) / steps + offset) / (1 + offset) * np.pi / 2) ** 2
    betas = np.minimum(1.0 - f[1:] / f[:-1], max_beta)
    return np.cumprod(1.0 - betas).astype("float32")


SCHEDULES = {"linear": linear_schedule, "cosine": cosine_schedule}


def _unet(widths, heads, classes, image_shape, embed_dim):
    """[noisy image, step, label] -> predicted noise. One conditioned residual block per
    resolution on the way down and up (skips concatenated), self-attention at the lowest
    resolution, stride-2 convolutions down and nearest-neighbour upsampling up. The label
    `classes` means "no label" (classifier-free guidance's unconditional model)."""
    noisy = keras.Input(image_shape, name="noisy")
    step = keras.Input((), dtype="int32", name="step")
    label = keras.Input((), dtype="int32", name="label")
    condition = SinusoidalEmbedding(embed_dim, name="step_embedding")(step)
    condition = keras.layers.Dense(embed_dim, activation="swish")(condition)
    condition = keras.layers.Dense(embed_dim)(condition)
    label_embedding = keras.layers.Embedding(classes + 1, embed_dim, name="label_embedding")
    condition = keras.layers.Add()([condition, label_embedding(label)])
    x = keras.layers.Conv2D(widths[0], 3, padding="same")(noisy)
    last = len(widths) - 1
    skips = []
    for level, width in enumerate(widths):
        x = ConditionedResidualBlock(width, name=f"down{level}")([x, condition])
        if level == last:
            x = SpatialSelfAttention(heads, name="down_attention")(x)
        skips.append(x)
        if level < last:
            x = keras.layers.Conv2D(widths[level + 1], 3, strides=2, padding="same")(x)
    x = ConditionedResidualBlock(widths[-1], name="middle")([x, condition])
    for level in reversed(range(len(widths))):
        x = keras.layers.Concatenate()([x, skips[level]])
        x = ConditionedResidualBlock(widths[level], name=f"up{level}")([x, condition])
        if level == last:
            x = SpatialSelfAttention(heads, name="up_attention")(x)
        if level > 0:
            x = keras.layers.UpSampling2D(2)(x)
            x = keras.layers.Conv2D(widths[level - 1], 3, padding="same")(x)
    x = keras.layers.Activation("swish")(keras.layers.GroupNormalization(8)(x))
    out = keras.layers.Conv2D(image_shape[-1], 3, padding="same", kernel_initializer="zeros",
                              name="noise")(x)
    return keras.Model([noisy, step, label], out, name="denoiser")


@keras.saving.register_keras_serializable(package="zoo")
class DiffusionModel(keras.Model):
    """DDPM training (a random step's noisy image in, its v out; labels dropped with
    probability `label_dropout` so one network is both the conditional and the unconditional
    model), DDIM sampling in `sample_steps` steps with stochasticity `eta` and guidance weight
    `guidance` (out = (1 + w) out(x, y) - w out(x)), on the `schedule` ("cosine" or "linear")
    of `steps` noise steps.

    `call(pixels)` reads uint8 images as noisy at step `denoise_step` and returns the
    network's estimate of the clean images (pixel values, unconditional): a one-step
    denoiser. `generate(n, labels, seed)` draws images."""

    conditional = True

    def __init__(self, widths=(32, 64, 64), heads=4, embed_dim=128, steps=1000,
                 sample_steps=30, guidance=0.25, eta=1.0, label_dropout=0.1, classes=10,
                 image_shape=(28, 28, 1), denoise_step=100, schedule="cosine", seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.widths = tuple(int(w) for w in widths)
        self.heads = int(heads)
        self.embed_dim = int(embed_dim)
        self.steps = int(steps)
        self.sample_steps = int(sample_steps)
        self.guidance = float(guidance)
        if not 0.0 <= float(eta) <= 1.0:
            raise ValueError(f"eta (DDIM's stochasticity) must be in [0, 1], got {eta!r}")
        self.eta = float(eta)
        self.label_dropout = float(label_dropout)
        self.classes = int(classes)
        self.image_shape = tuple(int(s) for s in image_shape)
        self.denoise_step = int(denoise_step)
        if schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {sorted(SCHEDULES)}, got {schedule!r}")
        self.schedule = schedule
        self.seed = seed
        scale = 2 ** (len(self.widths) - 1)
        if self.image_shape[0] % scale or self.image_shape[1] % scale:
            raise ValueError(f"DiffusionModel with {len(self.widths)} resolutions takes images "
                             f"of a side divisible by {scale}, got {self.image_shape[:2]}")
        self.alpha_bar = SCHEDULES[schedule](self.steps)
        self.denoiser = _unet(self.widths, self.heads, self.classes, self.image_shape,
                              self.embed_dim)
        self.seed_generator = keras.random.SeedGenerator(seed)

    @staticmethod
    def scaled(pixels):
        return ops.cast(pixels, "float32") / 127.5 - 1.0

    def call(self, pixels, training=False):
        noisy = self.scaled(pixels)
        batch = ops.shape(noisy)[0]
        step = ops.full((batch,), self.denoise_step, dtype="int32")
        label = ops.full((batch,), self.classes, dtype="int32")
        v = self.denoiser([noisy, step, label], training=training)
        clean, _ = self.estimates(noisy, v, float(self.alpha_bar[self.denoise_step]))
        return (ops.clip(clean, -1.0, 1.0) + 1.0) * 127.5

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, **kwargs):
        clean = self.scaled(x)
        batch = ops.shape(clean)[0]
        step = keras.random.randint((batch,), 0, self.steps, seed=self.seed_generator)
        noise = keras.random.normal(ops.shape(clean), seed=self.seed_generator)
        abar = ops.reshape(ops.take(ops.convert_to_tensor(self.alpha_bar), step), (-1, 1, 1, 1))
        noisy = ops.sqrt(abar) * clean + ops.sqrt(1.0 - abar) * noise
        labels = ops.cast(ops.reshape(y, (-1,)), "int32")
        dropped = keras.random.uniform((batch,), seed=self.seed_generator) < self.label_dropout
        labels = ops.where(dropped, ops.full_like(labels, self.classes), labels)
        predicted = self.denoiser([noisy, step, labels], training=True)
        v = ops.sqrt(abar) * noise - ops.sqrt(1.0 - abar) * clean
        return ops.mean(ops.square(predicted - v))

    @staticmethod
    def estimates(noisy, v, abar):
        """(clean image, noise) that a noisy image at signal level `abar` and the network's
        v imply: x0 = sqrt(abar) x - sqrt(1 - abar) v, eps = sqrt(1 - abar) x + sqrt(abar) v."""
        signal, noise = abar ** 0.5, (1.0 - abar) ** 0.5
        return signal * noisy - noise * v, noise * noisy + signal * v

    def guided_output(self, noisy, step, labels):
        """Classifier-free guided v: one network pass over [conditional;
        unconditional] (labels of `self.classes` are unconditional already)."""
        batch = len(noisy)
        steps = np.full((2 * batch,), step, "int32")
        both = np.concatenate([labels, np.full_like(labels, self.classes)]).astype("int32")
        # Keras' compiled predict function (XLA where the backend has it): twice as fast
        # as calling the network eagerly, step after step
        v = np.asarray(self.denoiser.predict_on_batch([np.concatenate([noisy, noisy]), steps,
                                                       both]))
        conditional, unconditional = v[:batch], v[batch:]
        return (1 + self.guidance) * conditional - self.guidance * unconditional

    def sample(self, labels, seed=0, record_every=None):
        """DDIM from pure noise to images in [-1, 1] for `labels` (`eta` 0: deterministic; 1:
        DDPM's ancestral sampling on the shortened schedule); with `record_every`, also the
        clean-image estimates every that many steps."""
        schedule = np.linspace(self.steps - 1, 0, self.sample_steps).round().astype(int)
        # image by image, the start and then each step's noise: a batch's first images are
        # those of a smaller batch under the same seed
        draws = len(schedule) if self.eta else 1
        noises = np.random.default_rng(seed).standard_normal(
            (len(labels), draws, *self.image_shape)).astype("float32")
        x = noises[:, 0]
        recorded = []
        for i, t in enumerate(schedule):
            clean, _ = self.estimates(x, self.guided_output(x, t, labels), self.alpha_bar[t])
            clean = np.clip(clean, -1, 1)
            last = i + 1 == len(schedule)
            previous = 1.0 if last else self.alpha_bar[schedule[i + 1]]
            noise = noises[:, i + 1] if self.eta and not last else 0.0
            x = ddim_step(x, clean, self.alpha_bar[t], previous, self.eta, noise)
            if record_every and (i % record_every == 0 or last):
                recorded.append(clean)
        return (clean, recorded) if record_every else clean

    def generate(self, n, labels=None, seed=0, batch_size=500):
        """`n` uint8 images of `labels` (default 0, 1, ..., 9, 0, ...): batches of
        `batch_size` sampled with seeds `seed`, `seed + 1`, ..."""
        labels = np.arange(n) % self.classes if labels is None else np.asarray(labels)
        parts = [self.sample(labels[i:i + batch_size], seed=seed + i // batch_size)
                 for i in range(0, n, batch_size)]
        return to_pixels(np.concatenate(parts))

    def get_config(self):
        return {**super().get_config(), "widths": self.widths, "heads": self.heads,
                "embed_dim": self.embed_dim, "steps": self.steps,
                "sample_steps": self.sample_steps, "guidance": self.guidance, "eta": self.eta,
                "label_dropout": self.label_dropout, "classes": self.classes,
                "image_shape": self.image_shape, "denoise_step": self.denoise_step,
                "schedule": self.schedule, "seed": self.seed}


def ddim_step(noisy, clean, abar, previous, eta, noise):
    """One DDIM step (Song et al. 2021, eq. 12) from signal level `abar` to `previous`: toward
    the clean-image estimate `clean` (clipped to [-1, 1] by the caller) with the noise that
    `clean` and `noisy` imply, so clipping moves the whole step and not only its first term.
    `eta` 0 is deterministic; 1 draws from DDPM's posterior q(x_previous | noisy, clean) with
    the standard normal `noise`."""
    implied_noise = (noisy - abar ** 0.5 * clean) / (1.0 - abar) ** 0.5
    sigma = eta * ((1.0 - previous) / (1.0 - abar) * (1.0 - abar / previous)) ** 0.5
    return (previous ** 0.5 * clean + max(1.0 - previous - sigma ** 2, 0.0) ** 0.5 * implied_noise
            + sigma * noise)


def to_pixels(signed):
    """uint8 images from values in [-1, 1]."""
    return np.clip(np.round((np.asarray(signed) + 1.0) * 127.5), 0, 255).astype("uint8")
