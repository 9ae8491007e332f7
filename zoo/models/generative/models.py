"""The generative models on MNIST: a variational autoencoder, a class-conditional GAN and a
denoising diffusion model. Each registered builder returns a compiled model with a
`generate(n, labels=None, seed=0)` method; each task's `report` says what its card measures.
"""
import numpy as np

from zoo.models.common import make_optimizer
from zoo.models.generative import diffusion, gan, quality, vae
from zoo.models.generative.recipes import RECIPES
from zoo.registry import register_model

MNIST_SHAPE = (28, 28, 1)
# the test split's likelihood with K importance samples per image (Burda et al. 2016)
NLL_SAMPLES = 100
# training and validation figures on at most this many images (the test split: all of it)
SIDE_EXAMPLES = 2_000


def _first(split, count):
    x, y = split
    return x[:count], y[:count]


def _likelihood(nll, elbo):
    return {"nll": float(np.mean(nll)), "elbo": float(np.mean(elbo)), "k": NLL_SAMPLES,
            "examples": len(nll)}


def report_likelihood(model, named_splits, examples=None, seed=0, check=None):
    """Per split: the ELBO (one z per image) and the importance-sampled negative
    log-likelihood with `NLL_SAMPLES` z per image, in nats, on the first `examples` images
    (training and validation: at most `SIDE_EXAMPLES`); with `check`, under "check" the test
    split's figures on its first `check` images, from the same per-image values (the draws
    are seeded batch by batch, so they equal a run on those images alone)."""
    results = {}
    for split, data in named_splits.items():
        count = examples or (None if split == "test" else SIDE_EXAMPLES)
        x = vae.binary(_first(data, count)[0], seed)
        nll = vae.importance_sampled_nll(model, x, k=NLL_SAMPLES, seed=seed)
        elbo = vae.elbo(model, x, seed=seed)
        results[split] = _likelihood(nll, elbo)
        if check and split == "test":
            results["check"] = _likelihood(nll[:check], elbo[:check])
    return results


def _vae_space(hp):
    return {"latent_dim": hp.Choice("latent_dim", [16, 32, 64], default=32),
            "width": hp.Choice("width", [32, 48, 64], default=32),
            "learning_rate": hp.Float("learning_rate", 3e-4, 3e-3, sampling="log", default=1e-3)}


@register_model(
    description="Convolutional VAE with a Bernoulli decoder on binarized MNIST (CPSC 452, "
                "COMP541, CS/DS 541)",
    dataset="binarized_mnist", kind="generative", metric="nll", bar={"nll_max": 90.0},
    goal={"nll_max": 81.0}, search_space=_vae_space,
    figures=("generative_curves", "reconstructions", "samples", "latent_space"),
    input_kind="image", recipe=RECIPES["vae_mnist"], report=report_likelihood,
    objective="elbo")
def vae_mnist(latent_dim=32, width=32, hidden=256, learning_rate=1e-3, input_shape=MNIST_SHAPE,
              seed=None):
    """`VariationalAutoencoder` (encoder and decoder of two stride-2 convolutions each and a
    dense layer), trained on the negative ELBO with Adam."""
    model = vae.VariationalAutoencoder(latent_dim, width, hidden, input_shape, seed=seed,
                                       name="vae_mnist")
    model.build((None, *input_shape))
    model.compile(optimizer=make_optimizer("adam", learning_rate))
    return model


def report_samples(model, named_splits, examples=None, seed=0, check=None):
    """Per split: FID of `examples` generated images (10,000 by default, an equal share per
    class when the model is conditional) against as many of the split's images, in `mnist_cnn`
    features; the classifier score; the conditional accuracy; and, for validation and test,
    the same measures of real data (as many training images) and the ratio of the FIDs. With
    `check`, under "check" the test split's measures on the first `check` samples and images
    of the same pass (generation is prefix-stable: the same as generating `check` alone)."""
    count = examples or 10_000
    labels = np.arange(count) % 10 if getattr(model, "conditional", False) else None
    generated = quality.judged(model.generate(count, labels=labels, seed=seed))
    # each split's first `count` images judged once: the training split's serve both its own
    # FID and, for the other splits, real data's figures
    judged = {split: quality.judged(_first(data, count)[0])
              for split, data in named_splits.items()}
    results = _sample_measures(generated, labels, judged)
    if check and "test" in judged:
        prefix = {split: judged[split] for split in ("train", "test") if split in judged}
        results["check"] = _sample_measures(
            _head(generated, check), None if labels is None else labels[:check],
            {split: _head(pair, check) for split, pair in prefix.items()})["test"]
    return results


def _head(pair, count):
    return tuple(part[:count] for part in pair)


def _sample_measures(generated, labels, judged):
    """`report_samples`' measures from judged (features, probabilities) pairs: the generated
    images' and each split's."""
    features, probabilities = generated
    scores = {"classifier_score": quality.classifier_score(probabilities),
              "samples": len(features)}
    if labels is not None:
        scores["conditional_accuracy"] = float(np.mean(np.argmax(probabilities, 1) == labels))
    train = judged.get("train")
    has_reference = train is not None and len(train[0]) >= len(features)
    results = {}
    for split, (split_features, _) in judged.items():
        results[split] = {"fid": quality.fid(features, split_features), **scores}
        if split != "train" and has_reference:
            reference = quality.real_reference(*train, split_features)
            results[split].update(reference, fid_ratio=results[split]["fid"] /
                                  reference["real_fid"])
    return results


def _gan_space(hp):
    return {"width": hp.Choice("width", [32, 64, 96], default=64),
            "latent_dim": hp.Choice("latent_dim", [32, 64, 128], default=64),
            "learning_rate": hp.Float("learning_rate", 1e-4, 1e-3, sampling="log", default=2e-4),
            "d_learning_rate": hp.Float("d_learning_rate", 1e-4, 1e-3, sampling="log",
                                        default=2e-4)}


@register_model(
    description="Class-conditional DCGAN with a projection discriminator on MNIST (IE 534 "
                "HW4; CPSC 452, COMP541, CS/DS 541)",
    dataset="mnist", kind="generative", metric="conditional_accuracy",
    bar={"conditional_accuracy": 0.95, "fid_ratio_max": 6.0},
    goal={"conditional_accuracy": 0.99}, search_space=_gan_space,
    figures=("generative_curves", "samples", "interpolation"), input_kind="image",
    recipe=RECIPES["cgan_mnist"], report=report_samples, objective="fid")
def cgan_mnist(latent_dim=64, width=64, features=256, learning_rate=2e-4,
               d_learning_rate=2e-4, input_shape=MNIST_SHAPE, num_classes=10, seed=None):
    """`ConditionalGAN`: both networks Adam (beta_1 0.5, as DCGAN), the generator's rate
    `learning_rate`, the discriminator's `d_learning_rate`."""
    model = gan.ConditionalGAN(latent_dim, width, features, num_classes, input_shape,
                               d_learning_rate, seed=seed, name="cgan_mnist")
    model.compile(optimizer=make_optimizer("adam", learning_rate, beta_1=0.5))
    return model


def _diffusion_space(hp):
    return {"base_width": hp.Choice("base_width", [16, 32, 48], default=32),
            "learning_rate": hp.Float("learning_rate", 2e-4, 2e-3, sampling="log", default=1e-3),
            "guidance": hp.Float("guidance", 0.0, 2.0, default=0.25)}


@register_model(
    description="Class-conditional denoising diffusion (DDPM training, DDIM sampling, "
                "classifier-free guidance) with a small U-Net on MNIST (CPSC 452, COMP541, "
                "CS/DS 541)",
    dataset="mnist", kind="generative", metric="fid_ratio",
    bar={"classifier_score": 9.0, "fid_ratio_max": 4.0}, goal={"fid_ratio_max": 2.0},
    search_space=_diffusion_space, figures=("generative_curves", "samples", "denoising"),
    input_kind="image", recipe=RECIPES["diffusion_mnist"], report=report_samples,
    objective="fid")
def diffusion_mnist(base_width=32, heads=4, sample_steps=30, guidance=0.25, eta=1.0,
                    label_dropout=0.1, learning_rate=1e-3, input_shape=MNIST_SHAPE,
                    num_classes=10, seed=None):
    """`DiffusionModel`: U-Net widths (base, 2 x base, 2 x base) at 28, 14 and 7 pixels,
    1,000 noise steps on the cosine schedule, v-prediction; sampled in `sample_steps` DDIM
    steps with stochasticity `eta` (1: DDPM's ancestral steps) and guidance weight
    `guidance`; Adam (no moving average of the weights: over a run of a few thousand steps, a
    0.999 average still holds ~10% of the initial weights and denoised worse).

    The three sampling settings were chosen after training on validation FID (2,000 samples
    against 2,000 validation images; real training images: 5.65): at 20 steps and eta 1, w = 0,
    0.25, 0.5 gave 13.98, 9.97, 20.02; at w = 0.25, 20, 30, 50 steps gave 9.97, 8.49, 7.84
    (30: most of the gain at 60% of 50's cost). Deterministic DDIM (eta 0) was worse: 15.6
    against eta 1's 12.4 at 1,000 samples. docs/generative.md has the whole story."""
    model = diffusion.DiffusionModel((base_width, 2 * base_width, 2 * base_width), heads,
                                     sample_steps=sample_steps, guidance=guidance,
                                     eta=eta, label_dropout=label_dropout, classes=num_classes,
                                     image_shape=input_shape, seed=seed, name="diffusion_mnist")
    model.build((None, *input_shape))
    model.compile(optimizer=make_optimizer("adam", learning_rate))
    return model
