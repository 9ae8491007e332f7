"""The generative models: the likelihood and sample-quality measures against hand computations,
their layers, generation under a seed, and `zoo.generate` / `python -m zoo generate`.
(Every registered model, these included, also gets test_models.py's checks: builds compiled,
a few steps lower the loss, `.keras` round trip in a fresh process.)"""
import json
import math

import keras
import numpy as np
import pytest
from scipy import integrate

import zoo
from conftest import run_python
from zoo.__main__ import main as zoo_main
from zoo.layers import (ConditionedResidualBlock, GaussianSample, SinusoidalEmbedding,
                        SpatialSelfAttention)
from zoo.models.generative import diffusion, quality, vae

GENERATIVE = [name for name in zoo.list_models() if zoo.get(name).kind == "generative"]
SMALL = {"vae_mnist": dict(latent_dim=4, width=8, hidden=16),
         "cgan_mnist": dict(latent_dim=8, width=8, features=16),
         "diffusion_mnist": dict(base_width=8, heads=2, sample_steps=3)}


class LinearGaussianVAE:
    """A stand-in with the VAE's interface on 2 pixels and a 1-D latent: q(z|x) = N(m, s^2)
    fixed, p(x|z) Bernoulli with logits (a z + b), so every term can be integrated by hand."""

    latent_dim = 1

    def __init__(self, m=0.3, s=0.7, a=(1.5, -2.0), b=(0.2, 0.5)):
        self.m, self.s, self.a, self.b = m, s, np.array(a), np.array(b)

    def encode(self, pixels):
        n = len(pixels)
        return (np.full((n, 1), self.m, "float32"),
                np.full((n, 1), 2 * math.log(self.s), "float32"))

    def decode_logits(self, z):
        return (np.asarray(z, "float64") * self.a + self.b).astype("float32")

    def log_likelihood(self, x, z):
        logits = z * self.a + self.b
        return float(np.sum(x * logits - np.logaddexp(0, logits)))

    def normal(self, z, mean, sd):
        return math.exp(-0.5 * ((z - mean) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))


X = np.array([[255, 0]], "uint8").reshape(1, 2)  # two pixels: on, off


def test_elbo_terms_match_a_hand_computation_on_two_pixels():
    model = LinearGaussianVAE()
    x = X[0] / 255.0
    reconstruction, _ = integrate.quad(
        lambda z: model.normal(z, model.m, model.s) * model.log_likelihood(x, z), -10, 10)
    kl = 0.5 * (model.m ** 2 + model.s ** 2 - 1 - math.log(model.s ** 2))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(vae.gaussian_kl(
        *model.encode(X))), [kl], rtol=1e-5)
    estimate = vae.elbo(model, X, samples=20_000, seed=0)
    assert estimate[0] == pytest.approx(reconstruction - kl, abs=0.02)


def test_importance_sampled_nll_approaches_the_true_one_and_stays_below_minus_elbo():
    model = LinearGaussianVAE()
    x = X[0] / 255.0
    evidence, _ = integrate.quad(lambda z: model.normal(z, 0, 1) * math.exp(
        model.log_likelihood(x, z)), -10, 10)
    true_nll = -math.log(evidence)
    images = np.repeat(X, 200, axis=0)
    one = vae.importance_sampled_nll(model, images, k=1, seed=1).mean()
    many = vae.importance_sampled_nll(model, images, k=500, seed=1).mean()
    minus_elbo = -vae.elbo(model, images, seed=1).mean()
    assert one == pytest.approx(minus_elbo, abs=0.05)  # k = 1 is the ELBO
    assert true_nll - 1e-3 <= many <= minus_elbo
    assert many == pytest.approx(true_nll, abs=0.01)


def test_importance_sampled_nll_is_at_most_minus_elbo_for_a_built_vae():
    keras.utils.set_random_seed(0)
    model = zoo.build("vae_mnist", **SMALL["vae_mnist"])
    images = np.where(np.random.default_rng(0).random((40, 28, 28, 1)) < 0.2, 255, 0)
    nll = vae.importance_sampled_nll(model, images.astype("uint8"), k=50).mean()
    assert nll <= -vae.elbo(model, images.astype("uint8"), samples=10).mean()


def test_frechet_distance_of_a_set_with_itself_is_zero_and_a_known_case_matches():
    features = np.random.default_rng(0).normal(size=(400, 6))
    assert quality.fid(features, features) == pytest.approx(0, abs=1e-6)
    # N((1, 0), diag(1, 4)) against N(0, diag(4, 1)): 1 + (1 + 4 - 2 * 2) + (4 + 1 - 2 * 2) = 3
    distance = quality.frechet_distance([1, 0], np.diag([1.0, 4.0]), [0, 0], np.diag([4.0, 1.0]))
    assert distance == pytest.approx(3.0, abs=1e-9)
    rotation = np.array([[0.6, -0.8], [0.8, 0.6]])  # the distance is rotation invariant
    turned = quality.frechet_distance(rotation @ [1, 0], rotation @ np.diag([1.0, 4.0]) @
                                      rotation.T, [0, 0], rotation @ np.diag([4.0, 1.0]) @
                                      rotation.T)
    assert turned == pytest.approx(3.0, abs=1e-9)
    dead = np.maximum(features, 0)
    dead[:, 2] = 0  # a feature that never fires: singular covariances still give a number
    assert quality.fid(dead, dead + [1, 0, 0, 0, 0, 0]) == pytest.approx(1.0, abs=1e-4)


def test_classifier_score_spans_one_to_the_class_count():
    confident = np.eye(10)[np.arange(1000) % 10]
    assert quality.classifier_score(confident) == pytest.approx(10, rel=1e-6)
    assert quality.classifier_score(np.full((50, 10), 0.1)) == pytest.approx(1, rel=1e-6)
    assert quality.classifier_score(np.eye(10)[np.zeros(50, int)]) == pytest.approx(1, rel=1e-6)


def test_binarize_draws_each_pixel_with_probability_pixel_over_255():
    from zoo.data.images import binarize

    grey = np.full((200, 28, 28, 1), 64, "uint8")
    bits = binarize(grey, seed=3)
    assert set(np.unique(bits)) == {0, 255}
    assert (bits == 255).mean() == pytest.approx(64 / 255, abs=0.005)
    assert (binarize(grey, seed=3) == bits).all()
    assert (binarize(np.array([0, 255], "uint8"), seed=1) == [0, 255]).all()


@pytest.mark.parametrize("name", GENERATIVE)
def test_generation_is_deterministic_under_a_seed(name):
    keras.utils.set_random_seed(0)
    model = zoo.build(name, **SMALL[name])
    first = zoo.generate(model, 6, seed=4)
    assert first.shape == (6, 28, 28, 1) and first.dtype == np.uint8
    assert (zoo.generate(model, 6, seed=4) == first).all()
    assert not (zoo.generate(model, 6, seed=5) == first).all()
    assert (zoo.generate(model, 3, seed=4) == first[:3]).all()  # a prefix of the same draw


def test_labels_are_checked_and_repeated():
    from zoo.generation import checked_labels

    model = zoo.build("cgan_mnist", **SMALL["cgan_mnist"])
    assert checked_labels(model, 5, [1, 2]).tolist() == [1, 2, 1, 2, 1]
    assert checked_labels(model, 3, 7).tolist() == [7, 7, 7]
    with pytest.raises(ValueError, match="not a class"):
        checked_labels(model, 3, [10])
    with pytest.raises(ValueError, match="whole numbers"):
        checked_labels(model, 3, [0.5])
    with pytest.raises(ValueError, match="unconditional"):
        checked_labels(zoo.build("vae_mnist", **SMALL["vae_mnist"]), 3, [1])


def test_conditional_generation_follows_its_labels():
    """The GAN's generator sees the label: different labels, same latents, different images."""
    model = zoo.build("cgan_mnist", **SMALL["cgan_mnist"])
    z = np.random.default_rng(0).standard_normal((4, model.latent_dim)).astype("float32")
    assert not (model.generate_from(z, [1] * 4) == model.generate_from(z, [2] * 4)).all()


def test_gaussian_sample_is_the_mean_outside_training_and_spread_inside():
    mean, log_var = np.full((4000, 2), 1.5, "float32"), np.full((4000, 2), np.log(0.25), "float32")
    layer = GaussianSample(seed=0)
    assert np.array_equal(keras.ops.convert_to_numpy(layer([mean, log_var])), mean)
    z = keras.ops.convert_to_numpy(layer([mean, log_var], training=True))
    assert z.mean() == pytest.approx(1.5, abs=0.03) and z.std() == pytest.approx(0.5, abs=0.02)


def test_sinusoidal_embedding_matches_the_formula():
    steps = np.array([0, 7, 999])
    got = keras.ops.convert_to_numpy(SinusoidalEmbedding(8)(steps))
    frequencies = np.exp(-math.log(10_000.0) * np.arange(4) / 4)
    angles = steps[:, None] * frequencies
    np.testing.assert_allclose(got, np.concatenate([np.sin(angles), np.cos(angles)], 1),
                               rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="even"):
        SinusoidalEmbedding(7)


def test_conditioned_block_uses_its_condition_and_round_trips_its_config():
    block = ConditionedResidualBlock(8, groups=4)
    maps = np.random.default_rng(0).normal(size=(2, 6, 6, 4)).astype("float32")
    a = block([maps, np.zeros((2, 16), "float32")])
    b = block([maps, np.ones((2, 16), "float32")])
    assert a.shape == (2, 6, 6, 8) and not np.allclose(a, b)
    clone = ConditionedResidualBlock.from_config(block.get_config())
    assert clone.get_config() == block.get_config()
    attention = SpatialSelfAttention(2)
    assert SpatialSelfAttention.from_config(attention.get_config()).num_heads == 2


@pytest.mark.parametrize("name", ["vae_mnist", "diffusion_mnist"])
def test_trains_one_step_under_jax(name):
    """The models whose training is one loss (`compute_loss`) train on every backend; the
    GAN's two optimisers need TensorFlow's train_step."""
    pytest.importorskip("jax")
    proc = run_python(f"""
import json, sys, numpy as np, keras, zoo
sys.path.insert(0, "tests")
from conftest import sample_batch
assert keras.backend.backend() == "jax"
model = zoo.build({name!r}, **{SMALL[name]!r})
x, y = sample_batch(model, "generative", n=8)
loss = model.train_on_batch(x, y, return_dict=True)["loss"]
print(json.dumps([float(loss), zoo.generate(model, 2).shape[0]]))
""", env={"KERAS_BACKEND": "jax"}, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    loss, count = json.loads(proc.stdout.strip().splitlines()[-1])
    assert np.isfinite(loss) and count == 2


def test_gan_under_jax_generates_and_loads_and_says_it_trains_on_tensorflow_only(tmp_path):
    pytest.importorskip("jax")
    proc = run_python(f"""
import json, numpy as np, keras, zoo
model = zoo.build("cgan_mnist", **{SMALL["cgan_mnist"]!r})
images = zoo.generate(model, 4)
model.save({str(tmp_path / "gan.keras")!r})
loaded = keras.saving.load_model({str(tmp_path / "gan.keras")!r}, safe_mode=True)
same = bool((zoo.generate(loaded, 4) == images).all())
try:
    loaded.fit(np.zeros((4, 28, 28, 1), "uint8"), np.zeros(4, "int32"), verbose=0)
    refused = ""
except NotImplementedError as error:
    refused = str(error)
print(json.dumps([same, refused]))
""", env={"KERAS_BACKEND": "jax"}, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    same, refused = json.loads(proc.stdout.strip().splitlines()[-1])
    assert same and "TensorFlow backend only" in refused


def test_predict_refuses_generative_models_and_points_to_generate():
    from zoo.inference import InputError

    with pytest.raises(InputError, match="zoo.generate"):
        zoo.predict(zoo.build("vae_mnist", **SMALL["vae_mnist"]), np.zeros((1, 28, 28, 1)))


def test_cli_generate_writes_a_grid_and_the_array(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ZOO_SAVED_MODELS", str(tmp_path))
    model = zoo.build("cgan_mnist", **SMALL["cgan_mnist"])
    zoo.artifacts.save_model(model, tmp_path / "cgan_mnist.keras")
    grid, array = tmp_path / "out" / "grid.png", tmp_path / "out" / "x.npy"
    assert zoo_main(["generate", "cgan_mnist", "--n", "12", "--labels", "3,4", "--seed", "2",
                     "--out", str(grid), "--npy", str(array)]) == 0
    images = np.load(array)
    assert images.shape == (12, 28, 28, 1) and images.dtype == np.uint8
    loaded = zoo.load(tmp_path / "cgan_mnist.keras")
    assert (images == zoo.generate(loaded, 12, labels=[3, 4], seed=2)).all()
    from PIL import Image

    assert Image.open(grid).size[0] > 28 * 3
    assert zoo_main(["generate", "cgan_mnist", "--label", "11", "--out", str(grid)]) == 2
    assert "not a class" in capsys.readouterr().err
    with pytest.raises(SystemExit) as refused:  # checked before any work
        zoo_main(["generate", "cgan_mnist", "--out", str(tmp_path)])
    assert refused.value.code == 2 and "is a folder" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        zoo_main(["generate", "cgan_mnist", "--n", "0", "--out", str(grid)])


def test_generative_cards_meet_bars_only_when_measured_below_them():
    from zoo.cards import meets_bar

    card = {"bar": {"nll_max": 90.0}, "params": 1, "metrics": {"test": {"nll": 89.0}}}
    assert meets_bar(card)
    card["metrics"]["test"]["nll"] = 91.0
    assert not meets_bar(card)
    card = {"bar": {"conditional_accuracy": 0.95, "fid_ratio_max": 6.0}, "params": 1,
            "metrics": {"test": {"conditional_accuracy": 0.97, "fid_ratio": 6.5}}}
    assert not meets_bar(card)


@pytest.mark.parametrize("name, objective", [("vae_mnist", "val_elbo"),
                                             ("cgan_mnist", "val_fid")])
def test_a_search_scores_trials_with_the_tasks_objective(name, objective, tmp_path, monkeypatch):
    """Keras Tuner's trials of a generative model are scored by its report on validation: the
    VAE by the ELBO (higher is better), the GAN by FID on a validation sample (lower)."""
    import csv

    import tuning
    from test_data import write_mnist
    from zoo.models.generative import quality

    write_mnist(tmp_path / "data", n_train=120, n_test=20)
    # the FID features come from the saved mnist_cnn: a tiny stand-in keeps the test quick
    # and independent of saved_models/
    monkeypatch.setattr(quality, "judged", lambda images, batch_size=500: (
        np.asarray(images, "float64").reshape(len(images), -1)[:, ::98],
        np.full((len(images), 10), 0.1)))
    searched = tuning.search(name, max_trials=2, epochs=1, val_split=40, seed=0,
                             directory=tmp_path / "runs", data_dir=tmp_path / "data",
                             retrain=False, verbose=False)
    assert searched["search"].tuner.oracle.objective.name == objective
    with open(tmp_path / "runs" / name / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 and all(np.isfinite(float(r[objective])) for r in rows)


def test_cli_evaluate_reports_the_vae_likelihood_in_nats(tmp_path, monkeypatch, capsys):
    from test_data import write_mnist

    monkeypatch.setenv("ZOO_SAVED_MODELS", str(tmp_path))
    monkeypatch.delenv("ZOO_DATA_DIR", raising=False)
    write_mnist(tmp_path / "data", n_train=30, n_test=20)
    zoo.artifacts.save_model(zoo.build("vae_mnist", **SMALL["vae_mnist"]),
                             tmp_path / "vae_mnist.keras")
    zoo.artifacts.write_json({"name": "vae_mnist", "seed": 0, "recipe": {"val_size": 5}},
                             tmp_path / "vae_mnist.json")
    assert zoo_main(["evaluate", "vae_mnist", "--data-dir", str(tmp_path / "data"),
                     "--examples", "8", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["examples"] == 8 and result["k"] == 100
    assert 0 < result["nll"] <= -result["elbo"] + 1.0  # an untrained VAE: ~543 nats (784 ln 2)


def test_cross_validation_says_it_is_for_classifiers():
    from training.cv import cross_validate

    with pytest.raises(ValueError, match="generative model"):
        cross_validate("vae_mnist", np.zeros((10, 28, 28, 1), "uint8"), np.zeros(10, int))


@pytest.mark.parametrize("name", GENERATIVE)
def test_every_figure_a_generative_task_names_is_drawn(name, tmp_path):
    from zoo import plots

    model = zoo.build(name, **SMALL[name])
    rng = np.random.default_rng(0)
    images = np.where(rng.random((40, 28, 28, 1)) < 0.2, 255, 0).astype("uint8")
    data = plots.FigureData(model, (images, np.arange(40) % 10), (images, np.arange(40) % 10),
                            {"loss": [2.0, 1.0], "val_loss": [2.5, 1.5]}, title=name)
    paths = plots.draw(zoo.get(name).figures, data, str(tmp_path / name))
    assert len(paths) == len(zoo.get(name).figures)
    assert all((tmp_path / p).stat().st_size > 1000 for p in paths)


@pytest.mark.parametrize("eta", [0.0, 1.0])
def test_ddim_sampler_reaches_a_gaussian_with_its_exact_denoiser(eta):
    """The sampler against a case with a known answer: pixels N(0.2, 0.2^2), whose optimal
    noise and clean-image estimates are closed-form (the network's v is a mix of the two).
    200 DDIM steps land on that distribution, deterministic or ancestral."""
    model = zoo.build("diffusion_mnist",
                      **{**SMALL["diffusion_mnist"], "guidance": 0.0, "eta": eta})
    mean, sd = 0.2, 0.2

    class ExactDenoiser:
        def predict_on_batch(self, inputs):
            noisy, steps, _ = inputs
            abar = model.alpha_bar[steps][:, None, None, None]
            surprise = (noisy - np.sqrt(abar) * mean) / (abar * sd ** 2 + 1 - abar)
            noise = np.sqrt(1 - abar) * surprise
            clean = mean + np.sqrt(abar) * sd ** 2 * surprise
            return np.sqrt(abar) * noise - np.sqrt(1 - abar) * clean

    model.denoiser = ExactDenoiser()
    model.sample_steps = 200
    images = model.sample(np.zeros(100, int), seed=0)
    assert images.mean() == pytest.approx(mean, abs=0.005)
    assert images.std() == pytest.approx(sd, rel=0.05)


def test_ddim_step_is_ddpms_posterior_at_eta_one_and_deterministic_at_zero():
    """Between consecutive steps, eta = 1 draws from q(x_{t-1} | x_t, x0) (Ho et al. eq. 7:
    mean sqrt(abar') beta / (1 - abar) x0 + sqrt(alpha) (1 - abar') / (1 - abar) x_t, variance
    (1 - abar') / (1 - abar) beta); eta = 0 is x0 re-noised with the noise x_t and x0 imply."""
    abar, previous = 0.36, 0.4
    alpha = abar / previous
    rng = np.random.default_rng(0)
    noisy, clean, noise = rng.standard_normal(5), rng.uniform(-1, 1, 5), rng.standard_normal(5)
    mean = (np.sqrt(previous) * (1 - alpha) / (1 - abar) * clean
            + np.sqrt(alpha) * (1 - previous) / (1 - abar) * noisy)
    sd = np.sqrt((1 - previous) / (1 - abar) * (1 - alpha))
    np.testing.assert_allclose(diffusion.ddim_step(noisy, clean, abar, previous, 1.0, noise),
                               mean + sd * noise, atol=1e-12)
    implied = (noisy - np.sqrt(abar) * clean) / np.sqrt(1 - abar)
    np.testing.assert_allclose(diffusion.ddim_step(noisy, clean, abar, previous, 0.0, noise),
                               np.sqrt(previous) * clean + np.sqrt(1 - previous) * implied,
                               atol=1e-12)
    np.testing.assert_allclose(diffusion.ddim_step(noisy, clean, abar, 1.0, 1.0, noise), clean)


def test_diffusion_refuses_an_eta_outside_zero_to_one():
    with pytest.raises(ValueError, match="eta"):
        diffusion.DiffusionModel((8, 8), 2, embed_dim=16, eta=1.5)


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_v_parameterisation_recovers_the_clean_image_and_the_noise(schedule):
    """x = sqrt(abar) x0 + sqrt(1 - abar) eps and v = sqrt(abar) eps - sqrt(1 - abar) x0 give
    back x0 and eps at every signal level; the schedule falls from ~1 to ~0."""
    alpha_bar = diffusion.SCHEDULES[schedule](1000)
    assert alpha_bar[0] > 0.999 and alpha_bar[-1] < 1e-4
    assert np.all(np.diff(alpha_bar) < 0)
    rng = np.random.default_rng(0)
    clean, noise = rng.uniform(-1, 1, (4, 5)), rng.standard_normal((4, 5))
    for abar in alpha_bar[[0, 300, 700, 999]].astype("float64"):
        noisy = np.sqrt(abar) * clean + np.sqrt(1 - abar) * noise
        v = np.sqrt(abar) * noise - np.sqrt(1 - abar) * clean
        got_clean, got_noise = diffusion.DiffusionModel.estimates(noisy, v, abar)
        np.testing.assert_allclose(got_clean, clean, atol=1e-9)
        np.testing.assert_allclose(got_noise, noise, atol=1e-9)


def test_diffusion_refuses_an_unknown_schedule():
    with pytest.raises(ValueError, match="schedule must be one of"):
        diffusion.DiffusionModel((8, 8), 2, embed_dim=16, schedule="quadratic")


@pytest.mark.parametrize("name", GENERATIVE)
def test_the_cards_check_is_the_same_as_measuring_that_many_examples_alone(name, monkeypatch):
    """Training reads the card's `check` off the full pass (its first examples); CI measures
    it anew with `examples=`: the two agree."""
    from zoo.models.generative import quality

    monkeypatch.setattr(quality, "judged", lambda images, batch_size=500: (
        np.asarray(images, "float64").reshape(len(images), -1)[:, ::98],
        np.asarray(images, "float64").reshape(len(images), -1)[:, 300:310] + 1.0))
    keras.utils.set_random_seed(0)
    model = zoo.build(name, **SMALL[name])
    report = zoo.get(name).report
    rng = np.random.default_rng(0)
    images = np.where(rng.random((60, 28, 28, 1)) < 0.2, 255, 0).astype("uint8")
    splits = {"train": (images[:60], np.arange(60) % 10), "test": (images[30:], np.arange(30))}
    full = report(model, splits, examples=30, seed=0, check=20)
    alone = report(model, splits, examples=20, seed=0)["test"]
    assert full["check"].keys() == alone.keys()
    for measure, value in alone.items():
        assert full["check"][measure] == pytest.approx(value, rel=1e-4), measure
