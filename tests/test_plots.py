"""Figures: written where the card says, and the test split predicted once for all of them."""
import keras
import numpy as np

from zoo import plots


class CountingModel:
    """Stands in for a Keras model: a fixed linear classifier that counts predict calls."""

    def __init__(self, weights):
        self.weights = weights
        self.calls = 0

    def predict(self, x, batch_size=None, verbose=0):
        self.calls += 1
        return keras.ops.convert_to_numpy(keras.ops.softmax(x.reshape(len(x), -1) @ self.weights))


def test_image_figures_share_one_pass_over_the_test_split(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (40, 8, 8, 1)).astype("float32")
    y = rng.integers(0, 3, 40)
    model = CountingModel(rng.normal(size=(64, 3)).astype("float32"))
    data = plots.FigureData(model, (x, y), (x, y), {}, ["a", "b", "c"], title="toy")
    paths = plots.draw(["confusion_matrix", "misclassified"], data, str(tmp_path / "toy"))
    assert [p.rsplit("/", 1)[-1] for p in paths] == ["toy-confusion.png",
                                                      "toy-misclassified.png"]
    assert all((tmp_path / p).exists() for p in paths)
    assert model.calls == 1
    expected = np.argmax(model.predict(x), axis=-1)
    np.testing.assert_array_equal(data.test_predictions, expected)
