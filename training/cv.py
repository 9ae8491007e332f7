"""Stratified k-fold cross-validation for any registered model on in-memory data.

Each fold trains a fresh model on k-1 parts and scores the held-out part. When `grid` is given,
the hyperparameters are chosen inside each fold: on an inner validation split carved from that
fold's training part, never on its held-out part. Models with a frozen encoder whose outputs
are cached (`cached_features`) train only their head on those features, so the encoder runs
once per text for the whole cross-validation.

    python -m training.cv agnews_minilm --folds 5 [--data-dir DIR] [--set KEY=VALUE ...]
                                               [--grid JSON] [--save]
"""
import argparse
import json
import sys
import time

import numpy as np

import zoo
from training import pieces
from training.fit import compiled_head
from training.recipes import recipe_for
from zoo.cli import common_options, output_dir, parse_overrides, positive_int, run_command
from zoo.data import carve_validation, pipeline, stratified_folds, take


def _fit_and_score(name, overrides, train, test, recipe, x, features=None, seed=0):
    """Train a fresh model on the rows `train = (indices, labels)` of `x` with the recipe's
    pieces (`training.pieces`: as `python -m training` does), return its accuracy on the rows
    `test`, the seconds spent and the model. `features`: cached encoder outputs, or a function
    of the builder overrides giving them (None: no cache for that configuration)."""
    recipe = {**recipe, "seed": seed}
    rows = x
    if callable(features):
        features = features(overrides)
    if features is not None:  # frozen encoder: train the head alone on cached features
        rows = features
    train_rows, test_rows = (take(rows, train[0]), train[1]), (take(rows, test[0]), test[1])
    model = pieces.build_model(name, overrides, recipe, None if features is not None else
                               train_rows[0])
    fitted = compiled_head(model) if features is not None else model
    started = time.time()
    pieces.fit(fitted, recipe, train_rows)
    if features is not None and pieces.finetunes(model, recipe):  # a second stage, raw rows
        pieces.finetune(model, recipe, (take(x, train[0]), train[1]))
        fitted, test_rows = model, (take(x, test[0]), test[1])
    seconds = time.time() - started
    scores = fitted.evaluate(pipeline(*test_rows, 256), verbose=0, return_dict=True)
    return float(scores["accuracy"]), seconds, fitted


def _choose_in_fold(name, overrides, grid, train_idx, y, recipe, x, features, seed, fold):
    """The option of `grid` that scores best on an inner validation split (10%) of the fold's
    training part: the fold's held-out part is never looked at."""
    inner_train, inner_val = carve_validation(train_idx, y[train_idx], 0.1, seed=seed + fold)
    scored = [_fit_and_score(name, {**overrides, **option}, inner_train, inner_val, recipe, x,
                             features, seed)[0] for option in grid]
    return grid[int(np.argmax(scored))]


def cross_validate(name, x, y, folds=5, seed=0, overrides=None, grid=None, epochs=None,
                   features=None, verbose=True):
    """k-fold cross-validation of `name` on `(x, y)`.

    Args:
        x, y: in-memory inputs and integer labels.
        folds: k.
        overrides: builder arguments for every fold.
        grid: optional list of override dicts; each fold picks the best on an inner validation
            split (10% of its training part) and retrains on its whole training part.
        features: optional cached encoder outputs, row-aligned with `x` (frozen encoders), or
            a function of a configuration's overrides giving them (None when it has none).

    Returns:
        `{"folds": [{"fold", "accuracy", "train_seconds", "chosen"}], "mean", "std", ...}`.
    """
    if zoo.get(name).kind == "generative":
        raise ValueError(f"{name} is a generative model: cross-validation scores classifiers "
                         f"and regressors; train it with `python -m training {name}` (its card "
                         f"reports likelihood or sample quality on the test split)")
    recipe = recipe_for(name, epochs=epochs)
    overrides = dict(overrides or {})
    y = np.asarray(y)
    index = np.arange(len(y))
    results = []
    for fold, (train_idx, test_idx) in enumerate(stratified_folds(y, k=folds, seed=seed)):
        chosen = _choose_in_fold(name, overrides, grid, train_idx, y, recipe, x, features,
                                 seed, fold) if grid else {}
        accuracy, seconds, _ = _fit_and_score(
            name, {**overrides, **chosen}, (train_idx, y[train_idx]), (test_idx, y[test_idx]),
            recipe, x, features, seed)
        results.append({"fold": fold, "accuracy": accuracy, "train_seconds": round(seconds, 1),
                        "chosen": chosen})
        if verbose:
            print(f"[{name}] fold {fold + 1}/{folds}: accuracy {accuracy:.4f} "
                  f"({seconds:.0f}s){' chosen ' + json.dumps(chosen) if grid else ''}",
                  flush=True)
    accs = np.array([r["accuracy"] for r in results])
    summary = {"model": name, "folds": results, "k": folds, "seed": seed,
               "mean": float(accs.mean()), "std": float(accs.std(ddof=1)),
               "train_seconds_mean": float(np.mean([r["train_seconds"] for r in results])),
               "examples": int(len(index)), "overrides": overrides, "grid": grid or [],
               "epochs": recipe["epochs"]}
    if verbose:
        print(f"[{name}] {folds}-fold accuracy {summary['mean']:.4f} +- {summary['std']:.4f}",
              flush=True)
    return summary


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m training.cv", parents=[common_options()])
    parser.add_argument("name")
    parser.add_argument("--folds", type=positive_int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=positive_int)
    parser.add_argument("--data-dir")
    parser.add_argument("--json", help="write the summary to this file")
    parser.add_argument("--save", action="store_true", help=(
        "then train on every row and save NAME.keras in --out with the cross-validation in "
        "its card (the protocol when no held-out test split exists)"))
    parser.add_argument("--out", type=output_dir,
                        help="where --save writes (default: saved_models/)")
    parser.add_argument("--set", nargs="*", metavar="KEY=VALUE",
                        help="override builder arguments for every fold (and --save), e.g. "
                             "--set finetune_layers=2")
    parser.add_argument("--grid", help=(
        "JSON list of override dicts to choose between inside each fold, on an inner 10%% "
        "split of its training part (default: the recipe's cv_grid), e.g. "
        "'[{\"ngrams\": 0}, {\"ngrams\": 2}]'"))
    args = parser.parse_args(argv)
    return run_command(run, args)


def run(args):
    task = zoo.get(args.name)
    from zoo.data import load_splits

    splits = load_splits(task.dataset, seed=args.seed, data_dir=args.data_dir)
    x = np.concatenate([splits.train[0], splits.val[0]])
    y = np.concatenate([splits.train[1], splits.val[1]])
    def cached(overrides):  # one configuration's encoder outputs (cached on disk)
        return task.cached_features(x, **overrides)

    features = cached if task.cached_features else None
    if features is not None:
        print(f"[{args.name}] frozen encoder: heads train on cached encoder outputs",
              flush=True)
    grid = json.loads(args.grid) if args.grid else recipe_for(args.name)["cv_grid"]
    overrides = parse_overrides(args.set)
    summary = cross_validate(args.name, x, y, folds=args.folds, seed=args.seed,
                             overrides=overrides, grid=grid, epochs=args.epochs,
                             features=features)
    summary["data"] = splits.info
    from zoo import artifacts

    if args.json:
        artifacts.write_json(summary, args.json)
    if args.save:
        from training.fit import command_line, train

        cv_card = {"metrics": {"cv": {"accuracy": summary["mean"],
                                      "accuracy_std": summary["std"], "folds": args.folds,
                                      "per_fold": [f["accuracy"] for f in summary["folds"]]}},
                   "cross_validation": summary,
                   "data": {"trained_on": f"all {summary['examples']} rows (no validation "
                                          f"split)"}}
        train(args.name, out=args.out or artifacts.saved_models_dir(), seed=args.seed,
              data_dir=args.data_dir, val_size=0, overrides=overrides, command=command_line(),
              extra_card=cv_card)
    return 0


if __name__ == "__main__":
    sys.exit(main())
