"""Training images/s of the CIFAR models: each speed lever alone, and our recipe against a plain
float32 `model.fit` on in-memory arrays, in one run.

    python benchmarks/cifar_speed.py --data-dir DIR [--models cifar10_fastnet cifar10_resnet20]
                                     [--images 2048] [--rounds 3] [--no-levers]
                                     [--out benchmarks/results/cifar_speed]

"plain" is what a user gets by default: `zoo.build(name)` (compiled with jit_compile="auto",
which Keras resolves to no XLA on a machine without a GPU; the label prints what it resolved
to), float32, `model.fit(x, y, batch_size=128)` on NumPy arrays. Each lever changes one thing
from plain; a lever that equals plain on this machine (e.g. jit_compile=False on a CPU) is
kept as a control: its ratio shows the noise. "recipe" is what `python -m training NAME` runs
(the recipe's batch size, precision and jit setting, the resumable tf.data pipeline with its
augmentation, the schedule and weight-averaging callbacks). bfloat16 levers are skipped where
the CPU would emulate bfloat16 (7-8x slower, training/hardware.py).

Every configuration gets its own model and one warm-up fit (tracing / XLA compilation, not
counted); then `--rounds` rounds each time `--images` images of every configuration in turn,
so a slow spell on a shared machine hits all of them alike. A row reports the median rate and
the median over rounds of its ratio to plain in the same round (min-max in brackets). The
wall-clock time of a whole training is read from the artifact's card (the run that produced
the committed model, resumed runs included), or measured anew with --full-training.
"""
import argparse
import json
import statistics
import time
from pathlib import Path

import keras

from training import pieces
from training.hardware import bfloat16_is_fast, describe_cpu, effective_precision
from training.recipes import recipe_for
from zoo import artifacts
from zoo.data import load_splits

PLAIN_BATCH = 128


def build(name, precision=None, jit=None, x=None):
    """The model as the recipe builds it (`training.pieces`), with one lever changed: plain
    runs take one step per call as Keras' default does."""
    recipe = {**recipe_for(name), "precision": precision, "jit_compile": jit, "seed": 0}
    model = pieces.build_model(name, {}, recipe, x[:2000])
    model.steps_per_execution = 1
    return model


def recipe_callbacks(model, recipe, total_steps):
    """The recipe's callbacks (`training.pieces`) with its schedule, warm-up and averaging
    spread over `total_steps`, the steps of every timed round."""
    spread = {**recipe, "epochs": 1, "warmup_epochs": recipe["warmup_epochs"] / recipe["epochs"]}
    return pieces.callbacks(model, spread, total_steps, validation=False)


def configurations(name, recipe):
    """(label, build kwargs, batch, data kind, use recipe callbacks); plain first, recipe last."""
    batch = recipe["batch_size"]
    precision, _ = effective_precision(recipe["precision"])  # float32 without bf16 hardware
    jit = recipe["jit_compile"]
    rows = [
        ("plain: Keras defaults (jit_compile={jit}), float32, batch 128, NumPy arrays", {},
         PLAIN_BATCH, "arrays", False),
        ("lever: jit_compile=True (XLA)", {"jit": True}, PLAIN_BATCH, "arrays", False),
        ("lever: jit_compile=False", {"jit": False}, PLAIN_BATCH, "arrays", False),
    ]
    if bfloat16_is_fast():
        rows.append(("lever: mixed_bfloat16", {"precision": "mixed_bfloat16"}, PLAIN_BATCH,
                     "arrays", False))
    if batch != PLAIN_BATCH:
        rows.append((f"lever: batch {batch}", {}, batch, "arrays", False))
    return rows + [
        ("recipe without its pipeline (NumPy arrays)", {"precision": precision, "jit": jit},
         batch, "arrays", True),
        (f"recipe: batch {batch}, {precision or 'float32'}, jit_compile={jit}, tf.data pipeline "
         f"+ {recipe['augment']}", {"precision": precision, "jit": jit}, batch, "pipeline", True),
    ]


def fit_arrays(model, x, y, batch, recipe, callbacks):
    model.fit(x, y, batch_size=batch, shuffle=True, verbose=0, callbacks=callbacks)


def fit_pipeline(model, x, y, batch, recipe, callbacks):
    data = pieces.train_dataset((x, y), {**recipe, "batch_size": batch, "epochs": 1, "seed": 0})
    model.fit(data, shuffle=False, verbose=0, callbacks=callbacks)


def prepare(name, x, y, images, rounds, levers=True):
    """One warmed-up model per configuration: (label, timed fit) pairs, plain first."""
    recipe = recipe_for(name)
    chosen = configurations(name, recipe)
    if not levers:  # plain against recipe only
        chosen = [chosen[0], chosen[-1]]
    prepared = []
    for label, kwargs, batch, data_kind, with_callbacks in chosen:
        keras.utils.set_random_seed(0)
        model = build(name, x=x, **kwargs)
        fit = fit_arrays if data_kind == "arrays" else fit_pipeline
        steps = max(1, images // batch)
        callbacks = []
        if with_callbacks:  # the recipe's schedule and averaging, spread over every round
            callbacks = recipe_callbacks(model, recipe, steps * rounds + 2)
        fit(model, x[:2 * batch], y[:2 * batch], batch, recipe, [])  # warm-up: tracing / XLA
        label = label.format(jit=model.jit_compile)

        def timed(model=model, fit=fit, batch=batch, steps=steps, callbacks=callbacks):
            started = time.time()
            fit(model, x[:steps * batch], y[:steps * batch], batch, recipe, callbacks)
            return steps * batch / (time.time() - started)

        prepared.append((label, timed))
    return prepared


def benchmark(name, x, y, images, rounds=3, levers=True):
    """Rows (label, median images/s, median ratio to plain, min ratio, max ratio)."""
    prepared = prepare(name, x, y, images, rounds, levers)
    rates = {label: [] for label, _ in prepared}
    for round_ in range(rounds):
        for label, timed in prepared:
            rates[label].append(timed())
        plain = rates[prepared[0][0]][-1]
        print(f"  round {round_ + 1}/{rounds}: " + ", ".join(
            f"{r[-1]:.0f}" for r in rates.values()) + f" img/s (plain {plain:.0f})", flush=True)
    plain = rates[prepared[0][0]]
    rows = []
    for label, rate in rates.items():
        ratios = [r / p for r, p in zip(rate, plain)]
        rows.append((label, statistics.median(rate), statistics.median(ratios), min(ratios),
                     max(ratios)))
        print(f"  {name:17s} {label:80s} {rows[-1][1]:7.1f} img/s  x{rows[-1][2]:.2f}",
              flush=True)
    return rows


def card_wall_time(name):
    card = artifacts.read_card(name)
    return (card["wall_seconds"], card["metrics"].get("test", {})) if card else None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir")
    parser.add_argument("--models", nargs="*", default=["cifar10_fastnet", "cifar10_resnet20"])
    parser.add_argument("--images", type=int, default=2048,
                        help="images timed per configuration and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--full-training", action="store_true",
                        help="also time a whole cifar10_fastnet training (2 h on 2 AVX2 cores)")
    parser.add_argument("--out", help="write the figures as OUT.json and OUT.md")
    parser.add_argument("--no-levers", action="store_true",
                        help="time only plain and recipe (the levers take most of the run)")
    args = parser.parse_args()
    host = describe_cpu()
    print(f"machine: {host}", flush=True)
    splits = load_splits("cifar10", data_dir=args.data_dir, val_size=0)
    x, y = splits.train
    results = {}
    for name in args.models:
        print(f"{name}:", flush=True)
        rows = benchmark(name, x, y, args.images, args.rounds, levers=not args.no_levers)
        results[name] = {"rows": rows, "ratio": rows[-1][2]}
    lines = [f"Machine: {host}; {args.rounds} interleaved rounds of {args.images} timed images "
             "per configuration; medians, ratio range over the rounds in brackets.", "",
             "| model | configuration | images/s | vs plain |", "|---|---|---:|---:|"]
    for name, result in results.items():
        lines += [f"| {name} | {label} | {rate:.0f} | {ratio:.2f}x ({low:.2f}-{high:.2f}) |"
                  for label, rate, ratio, low, high in result["rows"]]
    print("\n" + "\n".join(lines))
    for name, result in results.items():
        print(f"\n{name}: recipe / plain float32 fit = {result['ratio']:.2f}x (goal >= 1.0x)")
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
            {"machine": host, "images": args.images, "rounds": args.rounds, "results": results,
             "fastnet_full_training_seconds": wall,
             "fastnet_test": test, "wall_source": source}, indent=1))
    print(json.dumps({"recipe_over_plain": {name: round(result["ratio"], 3)
                                            for name, result in results.items()},
                      "machine": host, "images": args.images, "rounds": args.rounds}))


if __name__ == "__main__":
    main()
