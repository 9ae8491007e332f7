"""Data the zoo generates itself: the noisy sine and the two spirals."""
import numpy as np


def noisy_sine(n=50, sigma=0.1, seed=0):
    """The sine assignment's data: `x ~ U(0, 1)`, `y = sin(2 pi x) + eps`, `eps ~ N(0, sigma)`.

    Args:
        n: number of points (the assignment's N = 50).
        sigma: standard deviation of the Gaussian noise (0.1).
        seed: NumPy seed; the same seed gives the same points.

    Returns:
        `(x, y)`, both float32 of shape `(n, 1)`.
    """
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.0, size=(n, 1))
    y = np.sin(2 * np.pi * x) + rng.normal(0.0, sigma, size=(n, 1))
    return x.astype("float32"), y.astype("float32")


def sine_grid(n=1000):
    """A dense grid over [0, 1] with the noiseless sine: what the fitted curve is scored on."""
    x = np.linspace(0.0, 1.0, n, dtype="float32")[:, None]
    return x, np.sin(2 * np.pi * x).astype("float32")


def spirals(n_per_class=250, noise=0.02, turns=2.0, seed=0):
    """Two interleaved Archimedean spirals, one per class.

    Class 0 follows `r = theta / (2 pi turns)` for theta from pi/2 to `2 pi turns` (radius up to
    1); class 1 is the same spiral rotated by pi. Angles are drawn so that points are spread
    evenly along the arc, and each coordinate gets Gaussian noise of standard deviation `noise`.
    Adjacent arms of the two classes are `1 / (2 turns)` = 0.25 apart at the defaults.

    Args:
        n_per_class: points per spiral (250, so 500 in all).
        noise: standard deviation of the coordinate noise (0.02).
        turns: number of turns of each spiral (2).
        seed: NumPy seed.

    Returns:
        `(x, y)`: x float32 `(2 n_per_class, 2)`, y int32 `(2 n_per_class,)` with values 0 and 1,
        classes interleaved in a shuffled order.
    """
    rng = np.random.default_rng(seed)
    top = 2 * np.pi * turns
    start = np.pi / 2
    # r grows linearly with theta, so arc length grows like theta^2: sample theta^2 uniformly.
    theta = np.sqrt(rng.uniform(start**2, top**2, size=(2, n_per_class)))
    radius = theta / top
    angle = theta + np.array([[0.0], [np.pi]])
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=-1).reshape(-1, 2)
    x = x + rng.normal(0.0, noise, size=x.shape)
    y = np.repeat([0, 1], n_per_class)
    order = rng.permutation(len(y))
    return x[order].astype("float32"), y[order].astype("int32")
