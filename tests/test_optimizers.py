"""zoo.optimizers: ConvMuon's two halves, each against what it claims to be."""
import keras
import numpy as np
import pytest

import zoo
from zoo.optimizers import ConvMuon, orthogonalise


@pytest.mark.parametrize("shape", [(576, 64), (64, 576), (216, 64)])
def test_orthogonalise_approximates_u_v_transpose(shape):
    g = np.random.default_rng(0).normal(size=shape).astype("float32")
    found = keras.ops.convert_to_numpy(orthogonalise(keras.ops.convert_to_tensor(g)))
    u, _, vt = np.linalg.svd(g, full_matrices=False)
    singular = np.linalg.svd(found, compute_uv=False)
    assert 0.5 < singular.min() and singular.max() < 1.5  # Jordan's "about 0.5-1.5"
    cosine = np.sum(found * (u @ vt)) / np.linalg.norm(found) / np.linalg.norm(u @ vt)
    assert cosine > 0.98


def _conv_model(optimizer):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 3)),
                              keras.layers.Conv2D(16, 3, use_bias=False, name="conv"),
                              keras.layers.BatchNormalization(center=True, scale=False),
                              keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(4, name="logits")])
    model.compile(optimizer=optimizer,
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _batches():
    rng = np.random.default_rng(1)
    return rng.normal(size=(32, 8, 8, 3)).astype("float32"), rng.integers(0, 4, 32)


def test_non_filters_take_nesterov_sgd_steps_at_their_scaled_rates():
    """Three steps: every variable but the filters moves exactly as under Keras' Nesterov SGD
    at the scaled rate (the logits' kernel at 0.1 x 3 x 2, the others at 0.1 x 3)."""
    x, y = _batches()
    muon = _conv_model(ConvMuon(0.1, sgd_rate_scale=3.0, sgd_momentum=0.85,
                                rate_scales={"^logits/kernel$": 2.0}))
    sgd = _conv_model(keras.optimizers.SGD(0.3, momentum=0.85, nesterov=True))
    logits_sgd = _conv_model(keras.optimizers.SGD(0.6, momentum=0.85, nesterov=True))
    for model in (muon, sgd, logits_sgd):
        model.layers[0].trainable = False  # the filters stay put: the rest sees one network
        model.compile(optimizer=model.optimizer, loss=model.loss)
        model.fit(x, y, batch_size=32, epochs=3, shuffle=False, verbose=0)
    for variable, plain, faster in zip(muon.trainable_variables, sgd.trainable_variables,
                                       logits_sgd.trainable_variables):
        expected = faster if variable.path == "logits/kernel" else plain
        np.testing.assert_allclose(variable.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)


def test_a_filter_step_is_its_rate_times_the_orthogonalised_gradient_at_fixed_norm():
    """The first step (momentum buffer = gradient): the filters are put at norm sqrt(out), then
    moved by the rate times `orthogonalise` of the gradient seen as a (kh*kw*in, out) matrix."""
    import tensorflow as tf

    x, y = _batches()
    model = _conv_model(ConvMuon(0.05, momentum=0.6))
    kernel = model.get_layer("conv").kernel
    before = kernel.numpy().copy()
    with tf.GradientTape() as tape:
        loss = model.loss(y, model(x, training=True))
    gradient = tape.gradient(loss, kernel.value).numpy()
    model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
    normalised = before * 4.0 / np.linalg.norm(before)  # sqrt(16 filters)
    expected = normalised - 0.05 * keras.ops.convert_to_numpy(
        orthogonalise(keras.ops.convert_to_tensor(gradient.reshape(-1, 16)))).reshape(
        before.shape)
    np.testing.assert_allclose(kernel.numpy(), expected, rtol=1e-4, atol=1e-5)
    assert not np.allclose(kernel.numpy(), normalised, atol=1e-3)  # it did move


def test_cifar10_muon_gives_muon_the_filters_and_boosts_the_whitening_bias():
    model = zoo.build("cifar10_muon")
    optimizer = model.optimizer
    assert isinstance(optimizer, ConvMuon)
    factors = {v.path: (None if optimizer.uses_muon(v) else optimizer.sgd_rate_factor(v))
               for v in model.trainable_variables}
    assert all(factors[p] is None for p in factors if p.endswith("conv/kernel"))
    assert factors["whiten/bias"] == pytest.approx(64 * factors["logits/kernel"])
    assert factors["logits/kernel"] * optimizer.learning_rate.numpy() == pytest.approx(1.66)
