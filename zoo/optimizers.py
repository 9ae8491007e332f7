"""Optimisers the zoo's builders use beyond Keras' own, serializable under the package `zoo`.

`ConvMuon` is airbench94_muon's (Jordan 2024) split: Muon on the convolution filters, Nesterov
SGD on everything else. Keras' own `keras.optimizers.Muon` orthogonalises 2-D variables only
and gives the rest to AdamW, so it cannot express that recipe.
"""
import re

import keras
from keras import ops

# the quintic Newton-Schulz coefficients of Jordan's Muon (slope at zero maximised)
NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)


def orthogonalise(matrix, steps=3, eps=1e-7):
    """An approximation of U V^T for `matrix` = U S V^T (singular values land in about
    0.5-1.5), by `steps` quintic Newton-Schulz iterations. Works on either orientation."""
    a, b, c = NS_COEFFICIENTS
    tall = matrix.shape[0] > matrix.shape[1]
    x = ops.transpose(matrix) if tall else matrix
    x = x / (ops.sqrt(ops.sum(ops.square(x))) + eps)  # spectral norm <= Frobenius norm <= 1
    for _ in range(steps):
        gram = ops.matmul(x, ops.transpose(x))
        x = a * x + ops.matmul(b * gram + c * ops.matmul(gram, gram), x)
    return ops.transpose(x) if tall else x


@keras.saving.register_keras_serializable(package="zoo")
class ConvMuon(keras.optimizers.Optimizer):
    """Muon for convolution filters, Nesterov SGD for every other variable.

    A filter of shape (kh, kw, in, out) is first rescaled to Frobenius norm sqrt(out) (the
    BatchNorm after it makes the network blind to its scale), then moved by `learning_rate`
    times its orthogonalised Nesterov momentum, seen as an (kh * kw * in, out) matrix. Every
    other variable takes a Nesterov SGD step at `learning_rate * sgd_rate_scale`, times the
    first matching factor of `rate_scales` (`{regex on variable.path: factor}`).
    A schedule that assigns `learning_rate` (`training.callbacks.StepSchedule`) scales both.
    """

    def __init__(self, learning_rate=0.24, momentum=0.6, sgd_rate_scale=1.0, sgd_momentum=0.85,
                 rate_scales=None, ns_steps=3, name="conv_muon", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.momentum = float(momentum)
        self.sgd_rate_scale = float(sgd_rate_scale)
        self.sgd_momentum = float(sgd_momentum)
        self.rate_scales = dict(rate_scales or {})
        self.ns_steps = int(ns_steps)

    @staticmethod
    def uses_muon(variable):
        return len(variable.shape) == 4

    def sgd_rate_factor(self, variable):
        """The SGD rate of `variable` as a multiple of `learning_rate`."""
        for pattern, factor in self.rate_scales.items():
            if re.search(pattern, variable.path):
                return self.sgd_rate_scale * float(factor)
        return self.sgd_rate_scale

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.momentums = self.add_optimizer_variables(variables, "momentum")
        # decided here, on Keras variables: update_step may see the backend's own variables
        self._rate_factors = [None if self.uses_muon(v) else self.sgd_rate_factor(v)
                              for v in variables]

    def update_step(self, gradient, variable, learning_rate):
        index = self._get_variable_index(variable)
        factor = self._rate_factors[index]
        gradient = ops.cast(gradient, variable.dtype)
        rate = ops.cast(learning_rate, variable.dtype)
        buffer = self.momentums[index]
        momentum = self.momentum if factor is None else self.sgd_momentum
        self.assign(buffer, ops.add(ops.multiply(buffer, momentum), gradient))
        step = ops.add(gradient, ops.multiply(buffer, momentum))  # Nesterov
        if factor is not None:
            self.assign_sub(variable, ops.multiply(step, rate * factor))
            return
        out = variable.shape[-1]
        norm = ops.sqrt(ops.sum(ops.square(variable)))
        self.assign(variable, ops.multiply(variable, out ** 0.5 / (norm + 1e-12)))
        update = orthogonalise(ops.reshape(step, (-1, out)), self.ns_steps)
        self.assign_sub(variable, ops.multiply(ops.reshape(update, variable.shape), rate))

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum,
                "sgd_rate_scale": self.sgd_rate_scale, "sgd_momentum": self.sgd_momentum,
                "rate_scales": self.rate_scales, "ns_steps": self.ns_steps}
