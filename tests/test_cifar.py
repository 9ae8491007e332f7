"""The airbench pieces of the CIFAR models: whitening computed from a batch, test-time
augmentation averaging what it says, lookahead weight averaging, dirac initialisation, the
reflect-padded augmentation, alternating flips, the triangular schedule's ends and the frozen
whitening bias. Fast, no real data."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from training import pieces
from training.augment import AUGMENTATIONS, AlternatingFlip, translate
from training.callbacks import StepSchedule, WeightAveraging
from training.recipes import recipe_for
from zoo.data import pipeline
from zoo.layers import PatchWhitening, TestTimeAugmentation, adapt_whitening, whitening_layers
from zoo.layers.tta import VIEWS
from zoo.layers.whitening import image_patches
from zoo.models.cifar.fastnet import PartialDirac

RNG = np.random.default_rng(0)


def correlated_images(n=64, size=12):
    """Images whose channels and neighbouring pixels are strongly correlated."""
    base = RNG.normal(size=(n, size + 1, size + 1, 1))
    smooth = base[:, 1:, 1:] + base[:, :-1, :-1] + 0.5 * base[:, 1:, :-1]
    mix = np.array([[1.0, 0.8, 0.6]])
    return (smooth * mix + 0.1 * RNG.normal(size=(n, size, size, 3))).astype("float32")


def test_patches_are_the_convolution_windows():
    x = np.arange(2 * 4 * 5 * 3, dtype="float32").reshape(2, 4, 5, 3)
    patches = image_patches(x, 2)
    assert patches.shape == (2 * 3 * 4, 12)
    np.testing.assert_array_equal(patches[0], x[0, 0:2, 0:2].reshape(-1))
    np.testing.assert_array_equal(patches[5], x[0, 1:3, 1:3].reshape(-1))  # row 1, col 1


def test_whitening_decorrelates_the_patches_it_was_fitted_on():
    x = correlated_images()
    raw = image_patches(x, 2)
    assert np.abs(np.corrcoef(raw.T) - np.eye(12)).max() > 0.5  # strongly correlated input
    layer = PatchWhitening(2, epsilon=1e-6)
    layer.adapt(x)
    out = keras.ops.convert_to_numpy(layer(x)).reshape(-1, 24)  # bias is zero
    half = out[:, :12]
    np.testing.assert_allclose(half.T @ half / len(half), np.eye(12), atol=2e-3)
    np.testing.assert_allclose(out[:, 12:], -half, atol=1e-5)  # the negated copies
    # the first filters carry the largest eigenvalues of the patches' second moments
    eigenvalues = np.linalg.eigvalsh(raw.T.astype("float64") @ raw / len(raw))[::-1]
    kernel = keras.ops.convert_to_numpy(layer.kernel).reshape(12, 24)[:, :12]
    np.testing.assert_allclose(1 / np.sum(kernel ** 2, axis=0), eigenvalues + 1e-6, rtol=1e-3)


def test_whitening_kernel_is_frozen_and_adapt_reaches_nested_layers():
    inner_in = keras.Input((12, 12, 3))
    scaled = keras.layers.Rescaling(2.0)(inner_in)
    inner = keras.Model(inner_in, PatchWhitening(2, epsilon=1e-6, name="w")(scaled))
    outer_in = keras.Input((12, 12, 3))
    model = keras.Model(outer_in, TestTimeAugmentation(inner, "mirror")(outer_in))
    layer = inner.get_layer("w")
    assert [w.name for w in layer.trainable_weights] == ["bias"]
    x = correlated_images()
    assert adapt_whitening(model, x) == 1
    out = keras.ops.convert_to_numpy(inner(x)).reshape(-1, 24)[:, :12]
    # fitted to what the layer receives (the doubled images), so its outputs are white
    np.testing.assert_allclose(out.T @ out / len(out), np.eye(12), atol=2e-3)


class _Probe(keras.layers.Layer):
    """Returns the mean of each image's first row, channel 0: tells views apart."""

    def call(self, x, training=None):
        return keras.ops.mean(x[:, 0, :, 0:1], axis=1) * 1.0 + keras.ops.mean(
            x[:, :, 0, 0:1], axis=1) * 10.0


def test_tta_averages_the_announced_views_with_their_weights():
    x = RNG.normal(size=(3, 6, 6, 2)).astype("float32")
    probe = _Probe()
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect")
    views = {"identity": x, "shift+": padded[:, :6, :6], "shift-": padded[:, 2:, 2:]}
    for name in list(views):
        views[f"{name} mirror" if name != "identity" else "mirror"] = views[name][:, :, ::-1]
    for level, weights in VIEWS.items():
        assert abs(sum(weights.values()) - 1) < 1e-9
        expected = sum(w * keras.ops.convert_to_numpy(probe(views[name]))
                       for name, w in weights.items())
        got = keras.ops.convert_to_numpy(TestTimeAugmentation(probe, level)(x))
        np.testing.assert_allclose(got, expected, rtol=1e-5, err_msg=level)
    # airbench's level 2: half on the image and its mirror, half on the shifted pairs
    assert VIEWS["mirror_translate"]["identity"] + VIEWS["mirror_translate"]["mirror"] == 0.5
    # training sees one view only
    train_out = TestTimeAugmentation(probe, "mirror_translate")(x, training=True)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(train_out),
                               keras.ops.convert_to_numpy(probe(x)), rtol=1e-6)


def test_tta_rejects_unknown_views():
    with pytest.raises(ValueError, match="mirror_translate"):
        TestTimeAugmentation(_Probe(), "rotate")


def test_weight_averaging_keeps_the_documented_average():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    x, y = RNG.normal(size=(40, 2)), RNG.normal(size=(40, 1))
    total = 8  # 40 examples in batches of 5, one epoch
    averaging = WeightAveraging(total, every=2, decay=0.9)
    assert averaging.decay_at(0) == 0 and averaging.decay_at(total) == pytest.approx(0.81)
    # replay the same steps by hand: a plain model with the same start, averaged every 2 steps
    twin = keras.models.clone_model(model)
    twin.set_weights(model.get_weights())
    twin.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    average = [w.copy() for w in twin.get_weights()]
    for step in range(1, total + 1):
        twin.train_on_batch(x[(step - 1) * 5: step * 5], y[(step - 1) * 5: step * 5])
        if step % 2 == 0:
            d = averaging.decay_at(step)
            average = [d * a + (1 - d) * w for a, w in zip(average, twin.get_weights())]
            twin.set_weights(average)
    model.fit(x, y, batch_size=5, epochs=1, shuffle=False, verbose=0, callbacks=[averaging])
    for got, want in zip(model.get_weights(), average):
        np.testing.assert_allclose(got, want, rtol=1e-5)


def test_partial_dirac_passes_the_first_channels_through():
    kernel = keras.ops.convert_to_numpy(PartialDirac(seed=1)((3, 3, 4, 6)))
    x = RNG.normal(size=(1, 5, 5, 4)).astype("float32")
    y = keras.ops.convert_to_numpy(keras.ops.conv(x, kernel, padding="same"))
    np.testing.assert_allclose(y[..., :4], x, rtol=1e-6)
    assert np.abs(kernel[..., 4:]).max() <= 1 / np.sqrt(36) + 1e-6  # PyTorch's default bound


def test_reflect_translation_keeps_border_pixels_real():
    images = tf.constant(RNG.uniform(1, 2, size=(32, 8, 8, 1)).astype("float32"))
    zero_filled = translate(images, 2)
    reflected, _ = AUGMENTATIONS["flip_reflect2"](images, None)
    assert float(tf.reduce_min(zero_filled)) == 0.0  # some shifts pad with zeros
    assert float(tf.reduce_min(reflected)) >= 1.0  # reflection never invents zeros


def _mirrored_per_epoch(seed, epochs=4, n=40, first_epoch=0):
    """{epoch: {example: mirrored?}} as the training pipeline feeds them with AlternatingFlip."""
    images = np.zeros((n, 1, 2, 1), "uint8")
    images[:, 0, 0, 0] = 1  # a mirrored image has its mark on the right
    ds = pipeline(images, np.arange(n), 8, shuffle=True, seed=seed, augment=AlternatingFlip(),
                  epochs=epochs, first_epoch=first_epoch)
    seen = {}
    for step, (x, y) in enumerate(ds):
        epoch = first_epoch + step // (n // 8)
        seen.setdefault(epoch, {}).update(zip(y.numpy().tolist(), x.numpy()[:, 0, 1, 0] == 1))
    return seen


def test_alternating_flip_mirrors_each_image_every_other_epoch():
    seen = _mirrored_per_epoch(seed=3)
    first = np.array([seen[0][i] for i in range(40)])
    assert 8 <= first.sum() <= 32  # the first epoch's coins are fair-ish, not all one way
    for epoch in range(1, 4):
        now = np.array([seen[epoch][i] for i in range(40)])
        np.testing.assert_array_equal(now, first ^ bool(epoch % 2))
    assert _mirrored_per_epoch(seed=3) == seen  # the seed fixes the coins
    assert _mirrored_per_epoch(seed=4)[0] != seen[0]
    assert _mirrored_per_epoch(seed=3, first_epoch=2)[3] == seen[3]  # a resumed run agrees


def test_alternating_flip_needs_the_epoch_indexed_pipeline():
    with pytest.raises(ValueError, match="epochs=N"):
        pipeline(np.zeros((4, 2, 2, 1)), np.arange(4), 2, augment=AlternatingFlip())


def test_triangular_schedule_starts_and_ends_at_its_fractions():
    schedule = StepSchedule("onecycle", 2.0, steps_per_epoch=10, epochs=10, warmup_epochs=2,
                            start=0.2, end=0.07)
    assert schedule.lr_at(0) == pytest.approx(2.0 * (0.2 + 0.8 / 20))
    assert schedule.lr_at(19) == pytest.approx(2.0)
    assert schedule.lr_at(60) == pytest.approx(2.0 * (0.07 + 0.93 * 0.5))
    assert schedule.lr_at(100) == pytest.approx(2.0 * 0.07)
    plain = StepSchedule("onecycle", 2.0, 10, 10, 2)  # the defaults: from and to nothing
    assert plain.lr_at(0) == pytest.approx(2.0 / 20) and plain.lr_at(100) == 0.0


def test_whitening_bias_learns_until_its_epoch_then_holds():
    recipe = {**recipe_for("cifar10_fastnet"), "epochs": 3, "batch_size": 16,
              "freeze_whitening_after": 2}
    images = RNG.integers(0, 256, (64, 12, 12, 3)).astype("uint8")
    model = pieces.build_model("cifar10_fastnet", {"input_shape": (12, 12, 3)}, recipe, images)
    bias = whitening_layers(model)[0].bias
    after = []

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            after.append(keras.ops.convert_to_numpy(bias).copy())

    pieces.fit(model, recipe, (images, np.arange(64) % 10), extra_callbacks=[Record()])
    assert np.abs(after[1] - after[0]).max() > 0  # epochs 1-2 move it
    np.testing.assert_array_equal(after[2], after[1])  # epoch 3 does not
