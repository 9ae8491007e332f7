"""How long the generative models' recipes take on this machine, alone: the median time of a
training step (batches of the recipe's size, MNIST-shaped data) over a few timed steps after
warm-up, times the recipe's steps, and the time to draw 1,000 samples.

    python benchmarks/generative_speed.py [--models vae_mnist,cgan_mnist,diffusion_mnist]

Run it on a quiet machine: the trainings' recorded wall times (in the cards) include whatever
else ran beside them. Last line: one JSON object."""
import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

import zoo  # noqa: E402
from training import pieces  # noqa: E402
from training.recipes import recipe_for  # noqa: E402

TRAIN_IMAGES = 50_000  # MNIST's training split less the 10,000 validation images


def step_seconds(name, steps=12, warmup=3):
    """Median seconds of one training step at the recipe's batch size."""
    recipe = recipe_for(name)
    model = pieces.build_model(name, {}, recipe)
    rng = np.random.default_rng(0)
    batch = recipe["batch_size"]
    x = rng.integers(0, 256, (batch, 28, 28, 1)).astype("uint8")
    if recipe["augment"] == "binarize":
        x = np.where(x > 127, 255, 0).astype("uint8")
    y = rng.integers(0, 10, batch).astype("int32")
    times = []
    for i in range(warmup + steps):
        start = time.perf_counter()
        model.train_on_batch(x, y)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return float(np.median(times)), model


def measure(name):
    recipe = recipe_for(name)
    seconds, model = step_seconds(name)
    steps = pieces.steps_per_epoch(TRAIN_IMAGES, recipe["batch_size"]) * recipe["epochs"]
    start = time.perf_counter()
    zoo.generate(model, 1000, seed=0)
    return {"step_s": round(seconds, 4), "epochs": recipe["epochs"],
            "training_min": round(seconds * steps / 60, 1),
            "sample_1000_s": round(time.perf_counter() - start, 1)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="vae_mnist,cgan_mnist,diffusion_mnist")
    args = parser.parse_args(argv)
    results = {}
    for name in args.models.split(","):
        results[name] = measure(name)
        print(f"{name}: {results[name]}", flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
