"""Reusable Keras layers, all serializable under the package name `zoo`."""
from zoo.layers.attention import TokenAndPositionEmbedding, TransformerEncoderBlock
from zoo.layers.gaussian_basis import GaussianBasis
from zoo.layers.normalization import make_norm
from zoo.layers.residual import ResidualBlock

__all__ = ["GaussianBasis", "ResidualBlock", "TransformerEncoderBlock",
           "TokenAndPositionEmbedding", "make_norm"]
