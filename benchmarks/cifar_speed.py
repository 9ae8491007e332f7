"""Training images/s of the CIFAR models: each speed lever alone, and our recipe against a plain
float32 `model.fit` on in-memory arrays, in one run.

    python benchmarks/cifar_speed.py --data-dir DIR [--models cifar10_fastnet cifar10_resnet20]
                                     [--images 4096] [--no-levers]
                                     [--out benchmarks/results/cifar_speed]

"plain" is what a user gets by default: `zoo.build(name)` (Keras compiles with jit_compile="auto",
which is XLA on TensorFlow), float32, `model.fit(x, y, batch_size=128)` on NumPy arrays. Each
lever changes one thing from plain; "recipe" is what `python -m training NAME` runs (the
recipe's batch size, precision and jit setting, the resumable tf.data pipeline with its
augmentation, the schedule and weight-averaging callbacks). Every configuration trains a fresh
model: one short warm-up fit (tracing / XLA compilation, not counted), then `--images` images
timed. The wall-clock time of a whole training is read from the artifact's card (the run that
produced the committed model), or measured anew with --full-training.
"""
import argparse
import json
import time
from pathlib import Path

import keras

import zoo
from training import augment as augmentations
from training.callbacks import StepSchedule, WeightAveraging
from training.hardware import cpu_flags, cpu_model, effective_precision
from training.recipes import recipe_for
from zoo.data import load_splits, pipeline
from zoo.layers import adapt_whitening

PLAIN_BATCH = 128


def build(name, precision=None, jit=None, x=None):
    keras.mixed_precision.set_global_policy(precision or "float32")
    try:
        model = zoo.build(name)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    if jit is not None:
        model.jit_compile = jit
    adapt_whitening(model, x[:2000])
    return model


def configurations(name, recipe):
    """(label, build kwargs, batch, data kind, use recipe callbacks)."""
    batch = recipe["batch_size"]
    precision, _ = effective_precision(recipe["precision"])  # float32 without bf16 hardware
    jit = recipe["jit_compile"]
    return [
        ("plain: float32, XLA (Keras default), batch 128, NumPy arrays", {}, PLAIN_BATCH,
         "arrays", False),
        ("lever: jit_compile=False", {"jit": False}, PLAIN_BATCH, "arrays", False),
        ("lever: mixed_bfloat16", {"precision": "mixed_bfloat16"}, PLAIN_BATCH, "arrays", False),
        ("lever: mixed_bfloat16 + jit_compile=False",
         {"precision": "mixed_bfloat16", "jit": False}, PLAIN_BATCH, "arrays", False),
        (f"lever: batch {batch}", {}, batch, "arrays", False),
        (f"lever: batch {batch} + jit_compile=False", {"jit": False}, batch, "arrays", False),
        ("recipe without its pipeline (NumPy arrays)", {"precision": precision, "jit": jit},
         batch, "arrays", True),
        (f"recipe: batch {batch}, {precision or 'float32'}, jit_compile={jit}, tf.data pipeline "
         f"+ {recipe['augment']}", {"precision": precision, "jit": jit}, batch, "pipeline", True),
    ]


def fit_arrays(model, x, y, batch, recipe, callbacks):
    model.fit(x, y, batch_size=batch, shuffle=True, verbose=0, callbacks=callbacks)


def fit_pipeline(model, x, y, batch, recipe, callbacks):
    data = pipeline(x, y, batch, shuffle=True, seed=0,
                    augment=augmentations.get(recipe["augment"]), epochs=1)
    model.fit(data, shuffle=False, verbose=0, callbacks=callbacks)


def benchmark(name, x, y, images, levers=True):
    recipe = recipe_for(name)
    rows = []
    chosen = configurations(name, recipe)
    if not levers:  # plain against recipe only
        chosen = [chosen[0], chosen[-1]]
    for label, kwargs, batch, data_kind, with_callbacks in chosen:
        keras.utils.set_random_seed(0)
        model = build(name, x=x, **kwargs)
        fit = fit_arrays if data_kind == "arrays" else fit_pipeline
        steps = max(1, images // batch)
        callbacks = []
        if with_callbacks:
            base_lr = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
            callbacks = [StepSchedule(recipe["schedule"], base_lr, steps, 1,
                                      recipe["warmup_epochs"] / recipe["epochs"]),
                         WeightAveraging(steps, **recipe["weight_averaging"])]
        fit(model, x[:2 * batch], y[:2 * batch], batch, recipe, [])  # warm-up: tracing / XLA
        started = time.time()
        fit(model, x[:steps * batch], y[:steps * batch], batch, recipe, callbacks)
        rate = steps * batch / (time.time() - started)
        rows.append((label, rate))
        print(f"  {name:17s} {label:80s} {rate:7.1f} img/s  x{rate / rows[0][1]:.2f}",
              flush=True)
    return rows


def machine():
    """CPU model, core count and the vector extensions that decide these figures."""
    import os

    flags = cpu_flags()
    wide = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in flags]
    return f"{cpu_model()}, {os.cpu_count()} cores, {' '.join(wide) or 'no AVX2'}"


def card_wall_time(name):
    card = Path("saved_models") / f"{name}.json"
    if not card.exists():
        return None
    data = json.loads(card.read_text())
    return data["wall_seconds"], data["metrics"].get("test", {})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir")
    parser.add_argument("--models", nargs="*", default=["cifar10_fastnet", "cifar10_resnet20"])
    parser.add_argument("--images", type=int, default=4096)
    parser.add_argument("--full-training", action="store_true",
                        help="also time a whole cifar10_fastnet training (about 25 minutes)")
    parser.add_argument("--out", help="write the figures as OUT.json and OUT.md")
    parser.add_argument("--no-levers", action="store_true",
                        help="time only plain and recipe (the levers take most of the run)")
    args = parser.parse_args()
    host = machine()
    print(f"machine: {host}", flush=True)
    splits = load_splits("cifar10", data_dir=args.data_dir, val_size=0)
    x, y = splits.train
    results = {}
    for name in args.models:
        print(f"{name}:", flush=True)
        rows = benchmark(name, x, y, args.images, levers=not args.no_levers)
        results[name] = {"rows": rows, "ratio": rows[-1][1] / rows[0][1]}
    lines = [f"Machine: {host}; {args.images} timed images per row.", "",
             "| model | configuration | images/s | vs plain |", "|---|---|---:|---:|"]
    for name, result in results.items():
        plain = result["rows"][0][1]
        lines += [f"| {name} | {label} | {rate:.0f} | {rate / plain:.2f}x |"
                  for label, rate in result["rows"]]
    print("\n" + "\n".join(lines))
    for name, result in results.items():
        print(f"\n{name}: recipe / plain float32 fit = {result['ratio']:.2f}x (goal >= 1.5x)")
    if args.full_training:
        from training.fit import train

        outcome = train("cifar10_fastnet", save=False, data_dir=args.data_dir)
        wall, test = outcome["wall_seconds"], outcome["metrics"]["test"]
        source = "measured now"
    else:
        wall, test = card_wall_time("cifar10_fastnet") or (None, {})
        source = "from saved_models/cifar10_fastnet.json"
    if wall:
        print(f"cifar10_fastnet full training: {wall / 60:.1f} min, test accuracy "
              f"{test.get('accuracy', float('nan')):.4f} ({source}; goal <= 30 min)")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out + ".md").write_text("\n".join(lines) + "\n")
        Path(args.out + ".json").write_text(json.dumps(
            {"machine": host, "images": args.images, "results": results,
             "fastnet_full_training_seconds": wall,
             "fastnet_test": test, "wall_source": source}, indent=1))


if __name__ == "__main__":
    main()
