"""A layer of learnable one-dimensional basis functions (Gaussian or sigmoid bumps)."""
import math

import keras
from keras import ops

FAMILIES = ("gaussian", "sigmoid")


def _inverse_softplus(y):
    return math.log(math.expm1(y))


@keras.saving.register_keras_serializable(package="zoo")
class GaussianBasis(keras.layers.Layer):
    """Evaluate M learnable basis functions at every input feature.

    Gaussian family: `phi_j(x) = exp(-(x - mu_j)^2 / sigma_j^2)`.
    Sigmoid family: `phi_j(x) = sigmoid((x - mu_j) / sigma_j)`.

    Centres `mu_j` start evenly spaced over `input_range`; widths start at the spacing between
    centres, so neighbouring bumps overlap and the range is covered. Widths stay positive because
    the layer learns `s_j` and uses `sigma_j = softplus(s_j) + min_sigma`.

    Multi-feature inputs: for an input of shape `(..., F)` every feature gets its own M centres and
    widths (shape `(F, M)`), and the output has shape `(..., F * M)`, feature-major: the first M
    outputs are the M bases of feature 0. With F = 1 this is the textbook `(..., M)` design matrix.

    Args:
        num_basis: M, the number of basis functions per feature.
        input_range: `(low, high)` interval the initial centres cover.
        family: `"gaussian"` (default) or `"sigmoid"`.
        min_sigma: lower bound added to every width, so no bump collapses to a spike.

    Example:
    >>> layer = GaussianBasis(num_basis=6, input_range=(0.0, 1.0))
    >>> layer(np.zeros((4, 1), "float32")).shape
    (4, 6)
    """

    def __init__(self, num_basis=8, input_range=(0.0, 1.0), family="gaussian", min_sigma=1e-3,
                 **kwargs):
        super().__init__(**kwargs)
        if family not in FAMILIES:
            raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
        if int(num_basis) < 1:
            raise ValueError(f"num_basis must be >= 1, got {num_basis}")
        low, high = (float(v) for v in input_range)
        if not high > low:
            raise ValueError(f"input_range must be (low, high) with high > low, got {input_range}")
        self.num_basis = int(num_basis)
        self.input_range = (low, high)
        self.family = family
        self.min_sigma = float(min_sigma)

    def build(self, input_shape):
        features = int(input_shape[-1])
        low, high = self.input_range
        m = self.num_basis
        spacing = (high - low) / max(m - 1, 1)
        centres = [low + spacing * j for j in range(m)] if m > 1 else [(low + high) / 2]
        self.mu = self.add_weight(
            name="mu", shape=(features, m),
            initializer=keras.initializers.Constant([centres] * features))
        raw_width = _inverse_softplus(max(spacing - self.min_sigma, 1e-3))
        self.raw_sigma = self.add_weight(
            name="raw_sigma", shape=(features, m),
            initializer=keras.initializers.Constant(raw_width))

    @property
    def sigma(self):
        return ops.softplus(self.raw_sigma) + self.min_sigma

    def call(self, x):
        z = (ops.expand_dims(x, -1) - self.mu) / self.sigma  # (..., F, M)
        phi = ops.exp(-ops.square(z)) if self.family == "gaussian" else ops.sigmoid(z)
        flat = phi.shape[-2] * phi.shape[-1]
        return ops.reshape(phi, tuple(ops.shape(phi)[:-2]) + (flat,))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (int(input_shape[-1]) * self.num_basis,)

    def get_config(self):
        config = super().get_config()
        config.update(num_basis=self.num_basis, input_range=list(self.input_range),
                      family=self.family, min_sigma=self.min_sigma)
        return config
