"""Training throughput of mnist_cnn: our tf.data pipeline against in-memory NumPy arrays.

    python benchmarks/mnist_pipeline.py --data-dir DIR [--images 20000] [--rounds 2]

Both runs train the same network (fresh weights each time) on the same images for one pass,
alternating, in one process; the figure is the ratio of images/s (1.0 = no overhead). The first
pass of each kind is a warm-up (graph tracing) and is not counted.
"""
import argparse
import time

import keras
import numpy as np

import zoo
from zoo.data import load_splits, pipeline


def images_per_second(fit, n):
    started = time.time()
    fit()
    return n / (time.time() - started)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir")
    parser.add_argument("--images", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()
    splits = load_splits("mnist", data_dir=args.data_dir)
    x, y = splits.train[0][: args.images], splits.train[1][: args.images]
    steps = len(y) // args.batch_size
    ours, plain = [], []
    for round_ in range(args.rounds + 1):
        keras.utils.set_random_seed(round_)
        model = zoo.build("mnist_cnn")
        ds = pipeline(x, y, args.batch_size, shuffle=True, seed=round_, epochs=1)
        rate = images_per_second(lambda: model.fit(ds, steps_per_epoch=steps, verbose=0),
                                 steps * args.batch_size)
        model = zoo.build("mnist_cnn")
        rate_plain = images_per_second(
            lambda: model.fit(x[: steps * args.batch_size], y[: steps * args.batch_size],
                              batch_size=args.batch_size, shuffle=True, verbose=0),
            steps * args.batch_size)
        if round_:
            ours.append(rate)
            plain.append(rate_plain)
        print(f"round {round_}{' (warm-up)' if not round_ else ''}: pipeline {rate:.0f} img/s, "
              f"numpy arrays {rate_plain:.0f} img/s", flush=True)
    ratio = np.mean(ours) / np.mean(plain)
    print(f"\nmnist_cnn training: pipeline {np.mean(ours):.0f} img/s vs in-memory arrays "
          f"{np.mean(plain):.0f} img/s: ratio {ratio:.3f} (overhead {100 * (1 - ratio):.1f}%)")


if __name__ == "__main__":
    main()
