"""Load time and predictions/s at batch 1 and 256 for every saved artifact.

    python benchmarks/inference.py [--dir saved_models]

Inputs are random arrays (or short random texts) of each model's input shape; timings are the
median of several calls after a warm-up call, so tracing is not counted.
"""
import argparse
import statistics
import time
from pathlib import Path

import numpy as np

import zoo
from zoo.artifacts import saved_models_dir


def sample(model, n, rng):
    spec = model.inputs[0]
    if spec.dtype == "string":
        words = np.array(["stocks", "rally", "team", "wins", "new", "chip", "talks", "oil"])
        return np.array([" ".join(rng.choice(words, 12)) for _ in range(n)], dtype=object)
    shape = (n,) + tuple(spec.shape[1:])
    return rng.uniform(0, 255 if len(shape) == 4 else 1, shape).astype("float32")


def timed(call, repeats):
    call()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", default=str(saved_models_dir()))
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'model':<22} {'load s':>8} {'batch 1 /s':>12} {'batch 256 /s':>14}")
    for path in sorted(Path(args.dir).glob("*.keras")):
        started = time.perf_counter()
        model = zoo.load(path)
        load = time.perf_counter() - started
        one, many = sample(model, 1, rng), sample(model, 256, rng)
        t1 = timed(lambda: model.predict_on_batch(one), 20)
        t256 = timed(lambda: model.predict_on_batch(many), 5)
        print(f"{path.stem:<22} {load:8.2f} {1 / t1:12.0f} {256 / t256:14.0f}", flush=True)


if __name__ == "__main__":
    main()
