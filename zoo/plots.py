"""Figures, one function per kind. Each takes a `FigureData` and a path prefix, writes
`PREFIX-KIND.png` (and a PDF beside it) atomically, and returns the PNG path."""
import dataclasses
import functools
from typing import Optional

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from zoo.artifacts import atomic_path  # noqa: E402

DPI = 160
STYLE = {"figure.figsize": (6.4, 4.4), "axes.grid": True, "grid.alpha": 0.3,
         "axes.spines.top": False, "axes.spines.right": False, "font.size": 10,
         "axes.titleweight": "bold", "legend.frameon": False}
CLASS_COLOURS = ("#1f77b4", "#d62728")


@dataclasses.dataclass
class FigureData:
    model: object
    train: tuple  # (x, y)
    test: tuple  # (x, y): what the final metrics were computed on
    history: dict  # keras History.history
    class_names: Optional[list] = None
    title: str = ""
    val_epochs: Optional[list] = None  # the epochs the val_* entries are from (None: every one)

    @functools.cached_property
    def test_predictions(self):
        """Predicted labels on `test`, computed once for all the figures that show them (a
        pass with test-time augmentation over 10,000 CIFAR images takes minutes on a CPU)."""
        x, _ = self.test
        return np.argmax(self.model.predict(x, batch_size=512, verbose=0), axis=-1)


def _save(fig, prefix, kind, pdf=True):
    png = f"{prefix}-{kind}.png"
    with atomic_path(png) as tmp:
        fig.savefig(tmp, dpi=DPI, bbox_inches="tight", format="png")
    if pdf:
        with atomic_path(f"{prefix}-{kind}.pdf") as tmp:
            fig.savefig(tmp, bbox_inches="tight", format="pdf")
    plt.close(fig)
    return png


def sine_fit(data, prefix):
    """Data points, the noiseless sine and the model's curve."""
    x, y = data.train
    grid = np.linspace(0, 1, 500, dtype="float32")[:, None]
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots()
        ax.plot(grid, np.sin(2 * np.pi * grid), color="0.4", ls="--", lw=1.5,
                label=r"noiseless $\sin(2\pi x)$")
        ax.plot(grid, data.model.predict(grid, verbose=0), color=CLASS_COLOURS[1], lw=2.2,
                label=r"model $\hat y(x)$")
        ax.scatter(x, y, s=22, color=CLASS_COLOURS[0], edgecolor="white", linewidth=0.6,
                   zorder=3, label=f"training data (N={len(x)})")
        ax.set(xlabel="x", ylabel="y", title=data.title or "Gaussian-basis fit of a noisy sine",
               xlim=(0, 1))
        ax.legend(loc="upper right")
        return _save(fig, prefix, "fit")


def sine_bases(data, prefix):
    """Each of the M learned basis functions phi_j(x) over the input range."""
    import keras

    basis = data.model.get_layer("basis")
    grid = np.linspace(0, 1, 500, dtype="float32")[:, None]
    phi = keras.ops.convert_to_numpy(basis(grid))
    mu = keras.ops.convert_to_numpy(basis.mu)[0]
    sigma = keras.ops.convert_to_numpy(basis.sigma)[0]
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots()
        colours = plt.cm.viridis(np.linspace(0, 0.9, phi.shape[1]))
        for j in np.argsort(mu):
            ax.plot(grid, phi[:, j], color=colours[j], lw=2,
                    label=rf"$\phi_{{{j + 1}}}$: $\mu$={mu[j]:.2f}, $\sigma$={sigma[j]:.2f}")
        ax.set(xlabel="x", ylabel=r"$\phi_j(x)$", xlim=(0, 1),
               title=f"The {phi.shape[1]} learned basis functions ({basis.family})")
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
        return _save(fig, prefix, "bases")


def spirals_boundary(data, prefix):
    """Examples of both classes over the shaded p(t=1 | x), with the 0.5 contour."""
    x, y = data.train
    pad = 0.15
    lo, hi = x.min(axis=0) - pad, x.max(axis=0) + pad
    g0, g1 = np.meshgrid(np.linspace(lo[0], hi[0], 300), np.linspace(lo[1], hi[1], 300))
    grid = np.stack([g0.ravel(), g1.ravel()], axis=1).astype("float32")
    p = data.model.predict(grid, batch_size=4096, verbose=0).reshape(g0.shape)
    with plt.rc_context({**STYLE, "figure.figsize": (6.0, 5.6), "axes.grid": False}):
        fig, ax = plt.subplots()
        shade = ax.contourf(g0, g1, p, levels=np.linspace(0, 1, 21), cmap="RdBu_r", alpha=0.45)
        ax.contour(g0, g1, p, levels=[0.5], colors="black", linewidths=1.8)
        for cls in (0, 1):
            pts = x[y == cls]
            ax.scatter(pts[:, 0], pts[:, 1], s=12, color=CLASS_COLOURS[cls], edgecolor="white",
                       linewidth=0.4, label=f"class {cls} (t={cls})")
        ax.plot([], [], color="black", lw=1.8, label=r"boundary $p(t=1\mid x)=0.5$")
        fig.colorbar(shade, ax=ax, label=r"$p(t=1\mid x)$", ticks=[0, 0.25, 0.5, 0.75, 1])
        ax.set(xlabel="$x_1$", ylabel="$x_2$", aspect="equal",
               title=data.title or "Spirals: MLP decision boundary")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, fontsize=8)
        return _save(fig, prefix, "boundary")


def training_curves(data, prefix):
    """Loss and headline metric per epoch, training against validation."""
    h = data.history
    metric = next((m for m in ("accuracy", "mse") if m in h), None)
    keys = ["loss"] + ([metric] if metric else [])
    return _curves(data, prefix, [(key, key, key.capitalize()) for key in keys],
                   log_keys=("loss", "mse"))


def _curves(data, prefix, panels, log_keys=()):
    """One panel per `(history key, y label, title)`, training against validation, a log
    scale for `log_keys`; written as PREFIX-curves."""
    h = data.history
    with plt.rc_context({**STYLE, "figure.figsize": (5.2 * len(panels), 4.0)}):
        fig, axes = plt.subplots(1, len(panels), squeeze=False)
        for ax, (key, label, title) in zip(axes[0], panels):
            epochs = np.arange(1, len(h[key]) + 1)
            ax.plot(epochs, h[key], lw=2, color=CLASS_COLOURS[0], label="training")
            if f"val_{key}" in h:
                val = h[f"val_{key}"]
                val_epochs = epochs if data.val_epochs is None else data.val_epochs
                ax.plot(val_epochs[:len(val)], val, lw=2, color=CLASS_COLOURS[1],
                        marker="o" if len(val) < len(epochs) else None, label="validation")
            if key in log_keys:
                ax.set_yscale("log")
            ax.set(xlabel="epoch", ylabel=label, title=title)
            ax.legend()
        fig.suptitle(data.title or "Training curves", fontweight="bold")
        fig.tight_layout()
        return _save(fig, prefix, "curves")


def confusion_matrix(data, prefix):
    """Row-normalised confusion matrix on the test split, counts in the cells (only labelled
    entries: a graph task's labels are -1 on the nodes outside the split)."""
    y, pred = np.ravel(data.test[1]), np.ravel(data.test_predictions)
    y, pred = y[y >= 0], pred[y >= 0]
    k = int(max(y.max(), pred.max())) + 1
    counts = np.zeros((k, k), dtype=int)
    np.add.at(counts, (y, pred), 1)
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    names = data.class_names or [str(i) for i in range(k)]
    with plt.rc_context({**STYLE, "figure.figsize": (6.4, 5.6), "axes.grid": False}):
        fig, ax = plt.subplots()
        im = ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
        if k <= 20:
            for i in range(k):
                for j in range(k):
                    ax.text(j, i, counts[i, j], ha="center", va="center", fontsize=7,
                            color="white" if rates[i, j] > 0.5 else "black")
            slanted = k > 10 or max(len(str(n)) for n in names) > 6  # long names overlap
            ax.set_xticks(range(k), names, rotation=40 if slanted else 0,
                          ha="right" if slanted else "center")
            ax.set_yticks(range(k), names)
        fig.colorbar(im, ax=ax, label="fraction of the true class")
        accuracy = np.trace(counts) / counts.sum()
        ax.set(xlabel="predicted", ylabel="true",
               title=f"{data.title or 'Confusion matrix'} (test accuracy {accuracy:.2%})")
        return _save(fig, prefix, "confusion")


def misclassified(data, prefix, count=24):
    """The first `count` misclassified test images, with true and predicted labels."""
    x, y = data.test
    pred = data.test_predictions
    wrong = np.flatnonzero(pred != y)[:count]
    names = data.class_names or [str(i) for i in range(int(y.max()) + 1)]
    cols = 8
    rows = max(1, -(-len(wrong) // cols))
    with plt.rc_context({**STYLE, "figure.figsize": (cols * 1.1, rows * 1.35 + 0.5)}):
        fig, axes = plt.subplots(rows, cols, squeeze=False)
        for ax in axes.ravel():
            ax.axis("off")
        for ax, i in zip(axes.ravel(), wrong):
            image = x[i].squeeze()
            ax.imshow(image, cmap="gray_r" if image.ndim == 2 else None)
            ax.set_title(f"true {names[y[i]]}\npred {names[pred[i]]}", fontsize=7)
        fig.suptitle(f"{data.title or 'Misclassified'}: {len(np.flatnonzero(pred != y))} of "
                     f"{len(y)} test images wrong", fontweight="bold")
        fig.tight_layout()
        return _save(fig, prefix, "misclassified")


def node_embedding(data, prefix, layer="hidden"):
    """The test nodes' hidden representations (the output of the layer named `layer`), placed in
    2-D by t-SNE and coloured by their true class: how far the network has pulled the classes
    apart before its last layer."""
    import keras
    from sklearn.manifold import TSNE

    x, y = data.test
    nodes = np.flatnonzero(np.ravel(y) >= 0)
    hidden = keras.Model(data.model.inputs, data.model.get_layer(layer).output)
    features = hidden.predict(x, verbose=0)
    features = features.reshape(-1, features.shape[-1])[nodes]
    perplexity = min(30.0, (len(nodes) - 1) / 3)  # 30 as usual; tiny graphs need less
    points = TSNE(2, init="pca", random_state=0, perplexity=perplexity).fit_transform(features)
    labels = np.ravel(y)[nodes]
    names = data.class_names or [str(i) for i in range(int(labels.max()) + 1)]
    with plt.rc_context({**STYLE, "figure.figsize": (7.4, 5.6), "axes.grid": False}):
        fig, ax = plt.subplots()
        colours = plt.cm.tab10(np.arange(len(names)) % 10)
        for cls, name in enumerate(names):
            pts = points[labels == cls]
            ax.scatter(pts[:, 0], pts[:, 1], s=9, color=colours[cls], label=name, alpha=0.8,
                       edgecolor="none")
        ax.set(xticks=[], yticks=[], xlabel="t-SNE 1", ylabel="t-SNE 2",
               title=f"{data.title or 'Node embedding'}: hidden layer of {len(nodes)} test "
                     f"nodes")
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), markerscale=2, fontsize=8)
        return _save(fig, prefix, "embedding")


def _tiled(images, cols):
    """uint8 images (n, h, w, 1) as one (rows * h, cols * w) array with a 2-pixel gap of 0."""
    n, h, w = images.shape[:3]
    rows = -(-n // cols)
    canvas = np.zeros((rows * (h + 2) - 2, cols * (w + 2) - 2), "uint8")
    for i, image in enumerate(images):
        r, c = divmod(i, cols)
        canvas[r * (h + 2): r * (h + 2) + h, c * (w + 2): c * (w + 2) + w] = image[..., 0]
    return canvas


def _image_panel(ax, images, cols, title):
    ax.imshow(_tiled(images, cols), cmap="gray_r", vmin=0, vmax=255, interpolation="nearest")
    ax.set(xticks=[], yticks=[], title=title)
    ax.grid(False)


def save_grid(images, path, cols=None):
    """Write uint8 images (n, h, w, 1) as one PNG grid of `cols` columns (default: square)."""
    cols = cols or int(np.ceil(np.sqrt(len(images))))
    canvas = 255 - _tiled(np.asarray(images), cols)  # dark digits on white, as the figures
    with atomic_path(path, suffix=".png") as tmp:
        plt.imsave(tmp, np.kron(canvas, np.ones((2, 2), "uint8")), cmap="gray", vmin=0,
                   vmax=255, format="png")
    return path


def generative_curves(data, prefix):
    """Each loss the model logs per epoch (a GAN: the discriminator's and the generator's),
    training against validation."""
    keys = [k for k in data.history if not k.startswith("val_") and k != "learning_rate"]
    return _curves(data, prefix, [(key, key, key.replace("_", " ")) for key in keys])


def samples(data, prefix, count=100):
    """`count` generated images (seed 0); a conditional model's one row per class."""
    conditional = getattr(data.model, "conditional", False)
    labels = np.repeat(np.arange(10), count // 10) if conditional else None
    images = data.model.generate(count, labels=labels, seed=0)
    with plt.rc_context({**STYLE, "figure.figsize": (6.4, 6.8)}):
        fig, ax = plt.subplots()
        _image_panel(ax, images, count // 10 if conditional else 10,
                     f"{data.title}: generated" + (", one row per class" if conditional else ""))
        return _save(fig, prefix, "samples")


def reconstructions(data, prefix, count=30):
    """The first `count` test images (binarized) above their reconstructions (Bernoulli
    means, z at the encoder's mean)."""
    x = data.test[0][:count]
    rebuilt = np.clip(np.round(data.model.predict(x, verbose=0) * 255), 0, 255).astype("uint8")
    with plt.rc_context({**STYLE, "figure.figsize": (8.0, 4.4)}):
        fig, axes = plt.subplots(2, 1)
        _image_panel(axes[0], x, 10, "test images")
        _image_panel(axes[1], rebuilt, 10, "reconstructions")
        fig.suptitle(data.title or "Reconstructions", fontweight="bold")
        fig.tight_layout()
        return _save(fig, prefix, "reconstructions")


def latent_space(data, prefix, count=5000, steps=15):
    """Left: the encoder's means of `count` test images projected on their two principal
    axes, coloured by class. Right: images decoded along that plane (+-2 sd each way)."""
    import keras

    x, y = data.test[0][:count], np.ravel(data.test[1])[:count]
    mean = keras.ops.convert_to_numpy(data.model.encode(x)[0])
    centre = mean.mean(axis=0)
    _, sd, axes = np.linalg.svd(mean - centre, full_matrices=False)
    sd = sd[:2] / np.sqrt(len(mean) - 1)
    points = (mean - centre) @ axes[:2].T
    grid = np.linspace(-2, 2, steps)
    plane = np.array([centre + a * sd[0] * axes[0] + b * sd[1] * axes[1]
                      for b in grid[::-1] for a in grid], "float32")
    decoded = keras.ops.convert_to_numpy(keras.ops.sigmoid(data.model.decode_logits(plane)))
    decoded = np.clip(np.round(decoded * 255), 0, 255).astype("uint8")
    with plt.rc_context({**STYLE, "figure.figsize": (12.0, 5.6)}):
        fig, (left, right) = plt.subplots(1, 2)
        colours = plt.cm.tab10(np.arange(10))
        for cls in range(10):
            pts = points[y == cls]
            left.scatter(pts[:, 0], pts[:, 1], s=5, color=colours[cls], label=str(cls),
                         alpha=0.7, edgecolor="none")
        left.set(xlabel="principal axis 1", ylabel="principal axis 2",
                 title=f"latent means of {len(x)} test images")
        left.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), markerscale=3, fontsize=8)
        _image_panel(right, decoded, steps, "decoded along the same plane (+-2 sd)")
        fig.suptitle(data.title or "Latent space", fontweight="bold")
        fig.tight_layout()
        return _save(fig, prefix, "latent")


def interpolation(data, prefix, steps=10):
    """One row per class: images generated along the straight line between two latents
    (the same two for every row), so the row shows style changing while the class holds."""
    model = data.model
    rng = np.random.default_rng(0)
    ends = rng.standard_normal((2, model.latent_dim)).astype("float32")
    weights = np.linspace(0, 1, steps, dtype="float32")[:, None]
    line = (1 - weights) * ends[0] + weights * ends[1]
    z = np.tile(line, (model.classes, 1))
    images = model.generate_from(z, np.repeat(np.arange(model.classes), steps))
    with plt.rc_context({**STYLE, "figure.figsize": (6.4, 6.8)}):
        fig, ax = plt.subplots()
        _image_panel(ax, images, steps, f"{data.title}: latent interpolation, one row per class")
        return _save(fig, prefix, "interpolation")


def denoising(data, prefix, rows=10):
    """DDIM sampling of one image per class (seed 0): the clean-image estimate after each
    group of steps, from pure noise (left) to the sample (right)."""
    model = data.model
    every = max(1, model.sample_steps // 8)
    _, recorded = model.sample(np.arange(rows) % model.classes, seed=0, record_every=every)
    frames = np.stack(recorded, axis=1)  # (rows, frames, h, w, 1)
    images = np.clip(np.round((frames + 1) * 127.5), 0, 255).astype("uint8")
    with plt.rc_context({**STYLE, "figure.figsize": (1.0 + 0.62 * frames.shape[1], 6.8)}):
        fig, ax = plt.subplots()
        _image_panel(ax, images.reshape(-1, *images.shape[2:]), frames.shape[1],
                     f"{data.title}: clean-image estimate every {every} of "
                     f"{model.sample_steps} DDIM steps")
        return _save(fig, prefix, "denoising")


FIGURES = {f.__name__: f for f in (sine_fit, sine_bases, spirals_boundary, training_curves,
                                   confusion_matrix, misclassified, node_embedding,
                                   generative_curves, samples, reconstructions, latent_space,
                                   interpolation, denoising)}


def draw(names, data, prefix):
    """Draw each named figure; returns the PNG paths."""
    return [FIGURES[name](data, prefix) for name in names]
