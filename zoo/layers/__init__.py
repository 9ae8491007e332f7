"""Reusable Keras layers, all serializable under the package name `zoo`."""
from zoo.layers.attention import TokenAndPositionEmbedding, TransformerEncoderBlock
from zoo.layers.features import LowFrequencyDCT, NearestMean, OrientedGradients
from zoo.layers.gaussian_basis import GaussianBasis
from zoo.layers.generative import (ConditionedResidualBlock, GaussianSample, SinusoidalEmbedding,
                                   SpatialSelfAttention)
from zoo.layers.graph import (GraphAttention, GraphConvolution, InitialResidualConvolution,
                              RowNormalization)
from zoo.layers.normalization import BiasBoostedBatchNorm, make_norm
from zoo.layers.residual import ResidualBlock
from zoo.layers.tta import TestTimeAugmentation
from zoo.layers.whitening import PatchWhitening, adapt_whitening, whitening_layers

__all__ = ["GaussianBasis", "ResidualBlock", "TransformerEncoderBlock",
           "TokenAndPositionEmbedding", "make_norm", "BiasBoostedBatchNorm", "PatchWhitening",
           "adapt_whitening", "whitening_layers", "TestTimeAugmentation", "GraphConvolution",
           "GraphAttention", "InitialResidualConvolution", "RowNormalization", "GaussianSample",
           "SinusoidalEmbedding", "ConditionedResidualBlock", "SpatialSelfAttention",
           "LowFrequencyDCT", "OrientedGradients", "NearestMean"]
