"""Training throughput of mnist_cnn: our tf.data pipeline against in-memory NumPy arrays.

    python benchmarks/mnist_pipeline.py --data-dir DIR [--images 20000] [--rounds 4]

Both runs train the same network (fresh weights each time) on the same images for one pass,
in one process, which one first alternating between rounds; the figure is the median over
rounds of the ratio of images/s (1.0 = no overhead), the last line one JSON object. The first
round is a warm-up and is not counted.
"""
import argparse
import json
import time

import keras
import numpy as np

import zoo
from training.hardware import describe_cpu
from zoo.data import load_splits, pipeline


def images_per_second(fit, n):
    started = time.time()
    fit()
    return n / (time.time() - started)


def one_round(x, y, batch_size, seed, order):
    """Images/s of the same network (fresh weights) fit once through each path, in `order`."""
    steps = len(y) // batch_size
    n = steps * batch_size
    rates = {}
    for path in order:
        keras.utils.set_random_seed(seed)
        model = zoo.build("mnist_cnn")
        if path == "pipeline":
            ds = pipeline(x, y, batch_size, shuffle=True, seed=seed, epochs=1)
            rates[path] = images_per_second(
                lambda: model.fit(ds, steps_per_epoch=steps, verbose=0), n)
        else:
            rates[path] = images_per_second(
                lambda: model.fit(x[:n], y[:n], batch_size=batch_size, shuffle=True,
                                  verbose=0), n)
    return rates


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir")
    parser.add_argument("--images", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()
    splits = load_splits("mnist", data_dir=args.data_dir)
    x, y = splits.train[0][: args.images], splits.train[1][: args.images]
    ratios, rates = [], {"pipeline": [], "arrays": []}
    for round_ in range(args.rounds + 1):
        order = ("pipeline", "arrays") if round_ % 2 else ("arrays", "pipeline")
        rate = one_round(x, y, args.batch_size, round_, order)
        print(f"round {round_}{' (warm-up)' if not round_ else ''}: pipeline "
              f"{rate['pipeline']:.0f} img/s, numpy arrays {rate['arrays']:.0f} img/s",
              flush=True)
        if round_:
            ratios.append(rate["pipeline"] / rate["arrays"])
            for path in rates:
                rates[path].append(rate[path])
    ratio = float(np.median(ratios))
    print(f"\nmnist_cnn training: pipeline {np.median(rates['pipeline']):.0f} img/s vs in-memory "
          f"arrays {np.median(rates['arrays']):.0f} img/s: median ratio {ratio:.3f} over "
          f"{args.rounds} rounds (range {min(ratios):.3f}-{max(ratios):.3f})")
    print(json.dumps({"pipeline_over_arrays": round(ratio, 4),
                      "ratios": [round(r, 4) for r in ratios], "images": len(y),
                      "rounds": args.rounds, "machine": describe_cpu()}))


if __name__ == "__main__":
    main()
