"""Time to accuracy on MNIST: the keras-io "Simple MNIST convnet" beside a zoo recipe, in one run.

    python benchmarks/mnist_time_to_accuracy.py --data-dir DIR [--model mnist_fast]
                                                [--epochs E] [--rounds 1]

keras-io (https://keras.io/examples/vision/mnist_convnet/), as published: two 3x3 convolutions
(32, 64) with max pooling, dropout 0.5, a dense softmax; Adam, batch 128, 15 epochs, the 60,000
official training images with `validation_split=0.1`. Its clock covers `model.fit` (with its
per-epoch validation). The zoo's clock covers the whole `training.train(NAME)` call: loading the
data, building, fitting (with the validation passes its recipe asks for), and measuring the
training, validation and test splits (more work than the keras-io clock counts). Both score the
official 10,000 test images, read once at the end. With `--rounds R` the two alternate R times,
so a slow spell on a shared machine hits both. The last line is one JSON object.
"""
import argparse
import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402

from training import train  # noqa: E402
from training.fit import machine  # noqa: E402
from zoo.data.images import load_arrays  # noqa: E402

KERAS_IO_EPOCHS = 15


def keras_io_convnet():
    """The keras-io example's model, compiled as it is there."""
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        keras.layers.MaxPooling2D(pool_size=(2, 2)),
        keras.layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        keras.layers.MaxPooling2D(pool_size=(2, 2)),
        keras.layers.Flatten(),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


def as_keras_io(images, labels):
    """The example's preprocessing: floats in [0, 1], a channel axis, one-hot labels."""
    x = images.reshape(-1, 28, 28, 1).astype("float32") / 255
    return x, keras.utils.to_categorical(labels, 10)


def run_keras_io(data_dir, seed, epochs=KERAS_IO_EPOCHS):
    train_x, train_y = as_keras_io(*load_arrays("mnist", "train", data_dir)[:2])
    test_x, test_y = as_keras_io(*load_arrays("mnist", "test", data_dir)[:2])
    keras.utils.set_random_seed(seed)
    model = keras_io_convnet()
    start = time.perf_counter()
    model.fit(train_x, train_y, batch_size=128, epochs=epochs, validation_split=0.1, verbose=0)
    seconds = time.perf_counter() - start
    _, accuracy = model.evaluate(test_x, test_y, batch_size=500, verbose=0)
    return {"seconds": seconds, "test_accuracy": float(accuracy), "epochs": epochs,
            "params": model.count_params()}


def run_zoo(name, data_dir, seed, epochs=None):
    start = time.perf_counter()
    result = train(name, epochs=epochs, seed=seed, data_dir=data_dir, save=False, verbose=False)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "fit_seconds": result["wall_seconds"],
            "test_accuracy": result["metrics"]["test"]["accuracy"],
            "epochs": result["recipe"]["epochs"], "params": result["model"].count_params()}


def summary(runs):
    """Median seconds and accuracy over rounds, with each round's figures."""
    return {"seconds": statistics.median(r["seconds"] for r in runs),
            "test_accuracy": statistics.median(r["test_accuracy"] for r in runs),
            "epochs": runs[0]["epochs"], "params": runs[0]["params"], "rounds": runs}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--model", default="mnist_fast", help="a registered MNIST model")
    parser.add_argument("--epochs", type=int, help="override the zoo recipe's epochs")
    parser.add_argument("--keras-io-epochs", type=int, default=KERAS_IO_EPOCHS)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    keras_io, zoo_runs = [], []
    for round_ in range(args.rounds):
        seed = args.seed + round_
        keras_io.append(run_keras_io(args.data_dir, seed, args.keras_io_epochs))
        print(f"round {round_ + 1}: keras-io {keras_io[-1]['seconds']:.0f}s "
              f"{keras_io[-1]['test_accuracy']:.4f}", flush=True)
        zoo_runs.append(run_zoo(args.model, args.data_dir, seed, args.epochs))
        print(f"round {round_ + 1}: {args.model} {zoo_runs[-1]['seconds']:.0f}s "
              f"{zoo_runs[-1]['test_accuracy']:.4f}", flush=True)
    figures = {"keras_io_convnet": summary(keras_io), args.model: summary(zoo_runs)}
    figures["time_ratio"] = figures[args.model]["seconds"] / figures["keras_io_convnet"]["seconds"]
    figures["machine"] = machine()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
