"""Course tasks 1-2 (sine, spirals): fast fits meet the bars, figures hold what they should,
and the L2 penalty really is in the loss."""
import json

import matplotlib.image
import numpy as np
import pytest

import zoo
from training import train
from zoo.data import sine_grid, spirals


@pytest.fixture(scope="module")
def sine_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("sine")
    return train("sine_basis", out=out, seed=0, verbose=False), out


@pytest.fixture(scope="module")
def spirals_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("spirals")
    return train("spirals_mlp", out=out, seed=0, verbose=False), out


def test_sine_fit_meets_the_bar(sine_run):
    result, _ = sine_run
    gx, gy = sine_grid(1000)
    mse = float(np.mean((result["model"].predict(gx, verbose=0) - gy) ** 2))
    assert mse <= zoo.get("sine_basis").bar["mse"], mse
    assert result["metrics"]["test"]["mse"] == pytest.approx(mse, rel=1e-4)


def test_sine_uses_plain_sgd_and_gaussian_bases(sine_run):
    model = sine_run[0]["model"]
    assert type(model.optimizer).__name__ == "SGD"
    assert float(model.optimizer.momentum) == 0.0
    assert type(model.get_layer("basis")).__name__ == "GaussianBasis"


def _png_has_colour(path, rgb, tolerance=40):
    image = matplotlib.image.imread(path)[..., :3] * 255
    return bool(np.any(np.all(np.abs(image - np.array(rgb)) < tolerance, axis=-1)))


def test_sine_figures_and_card(sine_run):
    _, out = sine_run
    for kind in ("fit", "bases", "curves"):
        png = out / f"sine_basis-{kind}.png"
        assert png.exists() and (out / f"sine_basis-{kind}.pdf").exists()
        assert matplotlib.image.imread(png).shape[1] >= 800  # >= 150 dpi at figure size
    fit = out / "sine_basis-fit.png"
    assert _png_has_colour(fit, (31, 119, 180)), "data points missing"
    assert _png_has_colour(fit, (214, 39, 40)), "model curve missing"
    card = json.loads((out / "sine_basis.json").read_text())
    for key in ("metrics", "data", "seed", "epochs", "wall_seconds", "command", "sha256"):
        assert key in card


def test_sine_basis_figure_draws_each_basis(sine_run):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from zoo import plots

    result, out = sine_run
    drawn = []
    original = plt.Axes.plot

    def spy(self, *args, **kwargs):
        drawn.append(kwargs.get("label"))
        return original(self, *args, **kwargs)

    plt.Axes.plot = spy
    try:
        plots.sine_bases(plots.FigureData(result["model"], None, None, {}), str(out / "spy"))
    finally:
        plt.Axes.plot = original
    assert len([d for d in drawn if d and d.startswith("$\\phi")]) == 6


def test_spirals_fit_meets_the_bar(spirals_run):
    result, _ = spirals_run
    assert result["metrics"]["train"]["accuracy"] == 1.0
    x, y = spirals(seed=12345)
    p = result["model"].predict(x, verbose=0)[:, 0]
    assert np.mean((p > 0.5) == y) >= 0.99


def test_spirals_boundary_figure(spirals_run):
    _, out = spirals_run
    png = out / "spirals_mlp-boundary.png"
    assert png.exists()
    assert _png_has_colour(png, (31, 119, 180)) and _png_has_colour(png, (214, 39, 40))
    assert _png_has_colour(png, (0, 0, 0), tolerance=10), "boundary contour missing"


def test_l2_penalty_is_in_the_loss():
    model = zoo.build("spirals_mlp", l2=1e-3)
    x, y = spirals(n_per_class=20)
    model(x)
    penalty = float(sum(model.losses))
    assert penalty > 0
    weights = [l.kernel for l in model.layers if hasattr(l, "kernel")]
    expected = 1e-3 * sum(float(np.sum(np.square(w.numpy()))) for w in weights)
    assert penalty == pytest.approx(expected, rel=1e-4)
    with_penalty = model.compute_loss(x, y[:, None].astype("float32"), model(x))
    no_penalty = zoo.build("spirals_mlp", l2=0.0)
    no_penalty.set_weights(model.get_weights())
    without = no_penalty.compute_loss(x, y[:, None].astype("float32"), no_penalty(x))
    assert float(with_penalty) - float(without) == pytest.approx(penalty, rel=1e-3)
