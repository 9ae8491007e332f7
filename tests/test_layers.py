"""Every zoo layer: output shapes, gradients to every weight, config round trip, and a `.keras`
save loaded in a fresh process (safe_mode=True) giving identical outputs."""
import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras.src import testing

from conftest import run_python
from zoo.layers import (BiasBoostedBatchNorm, GaussianBasis, LowFrequencyDCT, NearestMean,
                        OrientedGradients, PatchWhitening, ResidualBlock, SpatialSelfAttention,
                        TestTimeAugmentation, TokenAndPositionEmbedding, TransformerEncoderBlock)

RNG = np.random.default_rng(0)

# (layer factory, input array, expected output shape)
CASES = {
    "gaussian_1d": (lambda: GaussianBasis(6), RNG.uniform(0, 1, (4, 1)), (4, 6)),
    "gaussian_3d_features": (lambda: GaussianBasis(5, input_range=(-1, 1)),
                             RNG.uniform(-1, 1, (4, 3)), (4, 15)),
    "sigmoid": (lambda: GaussianBasis(4, family="sigmoid"), RNG.uniform(0, 1, (4, 1)), (4, 4)),
    "residual_v1_basic": (lambda: ResidualBlock(8), RNG.normal(size=(2, 8, 8, 8)), (2, 8, 8, 8)),
    "residual_v1_project": (lambda: ResidualBlock(16, strides=2), RNG.normal(size=(2, 8, 8, 8)),
                            (2, 4, 4, 16)),
    "residual_v2_bottleneck": (lambda: ResidualBlock(16, strides=2, kind="bottleneck", version=2),
                               RNG.normal(size=(2, 8, 8, 8)), (2, 4, 4, 16)),
    "residual_layernorm_gelu": (lambda: ResidualBlock(8, norm="layer", activation="gelu"),
                                RNG.normal(size=(2, 8, 8, 8)), (2, 8, 8, 8)),
    "transformer_post": (lambda: TransformerEncoderBlock(2, 32), RNG.normal(size=(2, 5, 16)),
                         (2, 5, 16)),
    "transformer_pre": (lambda: TransformerEncoderBlock(4, 32, norm_first=True),
                        RNG.normal(size=(2, 5, 16)), (2, 5, 16)),
    "token_position": (lambda: TokenAndPositionEmbedding(50, 8, 16),
                       np.array([[3, 4, 5, 0, 0, 0], [7, 8, 0, 0, 0, 0]]), (2, 6, 16)),
    "patch_whitening": (lambda: PatchWhitening(2), RNG.normal(size=(2, 8, 8, 3)), (2, 7, 7, 24)),
    "bias_boosted_batchnorm": (lambda: BiasBoostedBatchNorm(), RNG.normal(size=(4, 5, 5, 6)),
                               (4, 5, 5, 6)),
    "tta_mirror_translate": (lambda: TestTimeAugmentation(keras.layers.Conv2D(4, 3)),
                             RNG.normal(size=(2, 8, 8, 3)), (2, 6, 6, 4)),
    "spatial_attention": (lambda: SpatialSelfAttention(2), RNG.normal(size=(2, 3, 3, 8)),
                          (2, 3, 3, 8)),
    "low_frequency_dct": (lambda: LowFrequencyDCT(5, crop=2), RNG.uniform(size=(2, 12, 12, 1)),
                          (2, 5)),
    "oriented_gradients": (lambda: OrientedGradients(2, crop=1), RNG.uniform(size=(2, 12, 12, 1)),
                           (2, 16)),
    "nearest_mean": (lambda: NearestMean(4), RNG.normal(size=(3, 2)), (3, 4)),
}


def _input(array):
    return array.astype("int32") if array.dtype.kind == "i" else array.astype("float32")


@pytest.mark.parametrize("case", sorted(CASES))
def test_output_shape(case):
    factory, x, shape = CASES[case]
    layer = factory()
    assert tuple(layer(_input(x)).shape) == shape
    assert tuple(layer.compute_output_shape(x.shape)) == shape


@pytest.mark.parametrize("case", sorted(CASES))
def test_gradients_reach_every_trainable_weight(case):
    factory, x, _ = CASES[case]
    layer = factory()
    x = tf.convert_to_tensor(_input(x))
    layer(x)  # build
    # a layer without weights (a fixed feature extractor) passes gradients to its input
    targets = layer.trainable_weights or [x]
    with tf.GradientTape() as tape:
        if x.dtype.is_floating:
            tape.watch(x)
        y = layer(x, training=True)
        # position-dependent weights: a plain sum of a normalised output has zero gradient
        weights = tf.reshape(tf.cast(tf.range(tf.size(y)) % 7 + 1, y.dtype), tf.shape(y))
        loss = tf.reduce_sum(tf.square(y) * weights)
    grads = tape.gradient(loss, targets)
    for target, grad in zip(targets, grads):
        name = getattr(target, "path", "the input")
        assert grad is not None, name
        assert float(tf.reduce_max(tf.abs(grad))) > 0, f"zero gradient for {name}"


@pytest.mark.parametrize("case", sorted(CASES))
def test_config_round_trip(case):
    factory, x, _ = CASES[case]
    layer = factory()
    clone = layer.__class__.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert tuple(clone(_input(x)).shape) == tuple(layer(_input(x)).shape)


@pytest.mark.parametrize("case", sorted(CASES))
def test_keras_file_loads_in_fresh_process(case, tmp_path):
    factory, x, _ = CASES[case]
    x = _input(x)
    inputs = keras.Input(x.shape[1:], dtype=x.dtype)
    model = keras.Model(inputs, factory()(inputs))
    path = tmp_path / "layer.keras"
    model.save(path)
    np.save(tmp_path / "x.npy", x)
    expected = keras.ops.convert_to_numpy(model(x, training=False))
    code = f"""
import json, numpy as np, keras, zoo
model = keras.saving.load_model({str(path)!r}, safe_mode=True)
y = keras.ops.convert_to_numpy(model(np.load({str(tmp_path / 'x.npy')!r}), training=False))
print(json.dumps(y.tolist()))
"""
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = np.array(json.loads(proc.stdout.strip().splitlines()[-1]))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_gaussian_basis_matches_numpy_formula():
    layer = GaussianBasis(5, input_range=(0, 1))
    x = RNG.uniform(0, 1, (7, 2)).astype("float32")
    layer(x)
    mu = RNG.uniform(0, 1, (2, 5)).astype("float32")
    raw = RNG.normal(size=(2, 5)).astype("float32")
    layer.mu.assign(mu)
    layer.raw_sigma.assign(raw)
    sigma = np.log1p(np.exp(raw)) + layer.min_sigma
    expected = np.exp(-((x[:, :, None] - mu) ** 2) / sigma**2).reshape(7, 10)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x)), expected, rtol=1e-5,
                               atol=1e-6)


def test_gaussian_basis_initial_centres_cover_the_range():
    layer = GaussianBasis(5, input_range=(-2.0, 3.0))
    layer(np.zeros((1, 1), "float32"))
    mu = keras.ops.convert_to_numpy(layer.mu)[0]
    np.testing.assert_allclose(mu, np.linspace(-2, 3, 5), atol=1e-6)
    assert np.all(keras.ops.convert_to_numpy(layer.sigma) > 0)


def test_gaussian_basis_rejects_bad_arguments():
    with pytest.raises(ValueError, match="family"):
        GaussianBasis(3, family="cubic")
    with pytest.raises(ValueError, match="input_range"):
        GaussianBasis(3, input_range=(1, 0))


def test_residual_block_shortcut_only_when_shape_changes():
    same = ResidualBlock(8)
    same(np.zeros((1, 4, 4, 8), "float32"))
    assert same.shortcut_conv is None
    wider = ResidualBlock(16)
    wider(np.zeros((1, 4, 4, 8), "float32"))
    assert wider.shortcut_conv is not None


def test_transformer_honours_padding_mask():
    """Changing what sits in padded positions must not change the real positions' outputs."""
    emb = TokenAndPositionEmbedding(50, 6, 8)
    block = TransformerEncoderBlock(2, 16, dropout=0.0)
    a = np.array([[3, 4, 5, 0, 0, 0]])
    x = emb(a)
    mask = emb.compute_mask(a)
    noise = tf.concat([tf.zeros((1, 3, 8)), tf.random.normal((1, 3, 8), stddev=5)], axis=1)
    out_a = block(x, mask=mask)
    out_b = block(x + noise, mask=mask)
    np.testing.assert_allclose(out_a[:, :3], out_b[:, :3], rtol=1e-5, atol=1e-5)
    out_c = block(x, padding_mask=np.array([[1, 1, 1, 0, 0, 0]]))
    np.testing.assert_allclose(out_a, out_c, rtol=1e-6, atol=1e-6)


def test_token_embedding_propagates_mask_through_a_model():
    ids = keras.Input((6,), dtype="int32")
    h = TokenAndPositionEmbedding(50, 6, 8)(ids)
    h = TransformerEncoderBlock(2, 16)(h)
    pooled = keras.layers.GlobalAveragePooling1D()(h)
    model = keras.Model(ids, pooled)
    a = np.array([[3, 4, 0, 0, 0, 0]])
    manual = keras.ops.convert_to_numpy(model.layers[2](model.layers[1](a), mask=a != 0))[:, :2]
    np.testing.assert_allclose(model(a), manual.mean(axis=1), rtol=1e-5, atol=1e-5)


class KerasLayerHarness(testing.TestCase):
    """Keras' own `run_layer_test` on every public layer: build, symbolic and eager calls,
    serialisation, a training step and a mixed-precision call (float16 compute, float32
    weights) with the layer given its own dtype policy. The graph layers' cases are in
    test_graph.py."""

    def test_gaussian_basis(self):
        self.run_layer_test(GaussianBasis, {"num_basis": 4}, input_shape=(3, 2),
                            expected_output_shape=(3, 8), expected_num_trainable_weights=2)

    def test_residual_block_post_activation(self):
        self.run_layer_test(ResidualBlock, {"filters": 8, "strides": 2}, input_shape=(2, 8, 8, 4),
                            expected_output_shape=(2, 4, 4, 8))

    def test_residual_block_bottleneck_pre_activation_group_norm(self):
        # 4 input channels: group norm must use groups dividing 4 (8 would not build)
        self.run_layer_test(ResidualBlock, {"filters": 12, "kind": "bottleneck", "version": 2,
                                            "norm": "group"},
                            input_shape=(2, 6, 6, 4), expected_output_shape=(2, 6, 6, 12))

    def test_transformer_encoder_block(self):
        self.run_layer_test(TransformerEncoderBlock, {"num_heads": 2, "ff_dim": 16},
                            input_shape=(2, 5, 8), expected_output_shape=(2, 5, 8))

    def test_token_and_position_embedding(self):
        self.run_layer_test(TokenAndPositionEmbedding,
                            {"vocab_size": 20, "max_length": 6, "embed_dim": 8},
                            input_data=np.array([[3, 4, 5, 0, 0, 0], [7, 8, 0, 0, 0, 0]]),
                            expected_output_shape=(2, 6, 8), supports_masking=True,
                            expected_mask_shape=(2, 6))

    def test_bias_boosted_batchnorm(self):
        self.run_layer_test(BiasBoostedBatchNorm, {}, input_shape=(4, 3, 3, 6),
                            expected_output_shape=(4, 3, 3, 6), expected_num_trainable_weights=1,
                            expected_num_non_trainable_weights=2)

    def test_patch_whitening(self):
        self.run_layer_test(PatchWhitening, {"kernel_size": 2}, input_shape=(2, 6, 6, 3),
                            expected_output_shape=(2, 5, 5, 24))

    def test_test_time_augmentation(self):
        self.run_layer_test(TestTimeAugmentation, {"layer": keras.layers.Conv2D(4, 3)},
                            input_shape=(2, 8, 8, 3), expected_output_shape=(2, 6, 6, 4))

    def test_bag_of_embeddings(self):
        from zoo.text.hashing import BagOfEmbeddings

        self.run_layer_test(BagOfEmbeddings, {},
                            input_shape={"embeddings_shape": (2, 4, 5), "ids_shape": (2, 4)},
                            input_dtype={"embeddings_shape": "float32", "ids_shape": "int32"},
                            expected_output_shape=(2, 5), run_training_check=False)


def test_low_frequency_dct_is_scipys_orthonormal_dct_of_the_centre():
    import scipy.fft

    images = RNG.uniform(size=(3, 12, 12, 1)).astype("float32")
    got = keras.ops.convert_to_numpy(LowFrequencyDCT(6, crop=2)(images))
    full = scipy.fft.dctn(images[:, 2:10, 2:10, 0], norm="ortho", axes=(1, 2))
    lowest = [(0, 0), (0, 1), (1, 0), (0, 2), (1, 1), (2, 0)]  # by u + v, then u
    np.testing.assert_allclose(got, np.stack([full[:, u, v] for u, v in lowest], 1), atol=1e-5)


def test_oriented_gradients_average_the_four_half_gradients_per_cell():
    image = np.zeros((1, 8, 8, 1), "float32")
    image[0, :, 5:, 0] = 1.0  # a vertical edge: x-gradient up at columns 4-5, no y-gradient
    got = keras.ops.convert_to_numpy(OrientedGradients(2, crop=0, scale=1.0)(image))[0]
    dx = image[0, 1:-1, 2:, 0] - image[0, 1:-1, :-2, 0]  # 6x6, cells of 3x3
    cells = [dx[r:r + 3, c:c + 3].mean() for r in (0, 3) for c in (0, 3)]
    np.testing.assert_allclose(got[:4], cells, atol=1e-6)  # rising x
    np.testing.assert_allclose(got[4:], 0, atol=1e-6)  # falling x, rising and falling y
    assert got[:4].max() > 0


def test_nearest_mean_is_a_softmax_of_minus_squared_distances():
    layer = NearestMean(3)
    points = RNG.normal(size=(4, 2)).astype("float32")
    got = keras.ops.convert_to_numpy(layer(points))
    means = keras.ops.convert_to_numpy(layer.means)
    scores = -((points[:, None, :] - means[None]) ** 2).sum(-1)
    expected = np.exp(scores - scores.max(1, keepdims=True))
    np.testing.assert_allclose(got, expected / expected.sum(1, keepdims=True), atol=1e-6)
    assert layer.count_params() == 6
