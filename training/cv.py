"""Stratified k-fold cross-validation for any registered model on in-memory data.

Each fold trains a fresh model on k-1 parts and scores the held-out part. When `grid` is given,
the hyperparameters are chosen inside each fold: on an inner validation split carved from that
fold's training part, never on its held-out part; an option may set builder arguments and,
under "recipe", recipe keys. Models with a frozen encoder whose outputs
are cached (`cached_features`) train only their head on those features, so the encoder runs
once per text for the whole cross-validation.

    python -m training.cv agnews_minilm --folds 5 [--data-dir DIR] [--set KEY=VALUE ...]
                                               [--grid JSON] [--json FILE] [--save]

With `--json FILE` nothing finished is lost: each fold is recorded (in FILE.partial) as soon as
it ends, so running the same command again resumes after the last finished fold, and running
it again with `--save` reuses the finished cross-validation and only trains the saved model.
Folds are reused only when they were run the same way (model, folds, seed, overrides, grid,
recipe and labels).
"""
import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

import zoo
from training import pieces
from training.fit import compiled_head
from training.recipes import recipe_for, with_changes
from zoo import artifacts
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


def trained_with(overrides, recipe, option):
    """The builder overrides and the recipe that the grid option `option` trains with: its
    entries beside `overrides`, and its "recipe" entry, if any, applied to `recipe`
    (`training.recipes.with_changes`), e.g. `{"recipe": {"finetune": {"epochs": 6}}}`."""
    option = dict(option)
    changes = option.pop("recipe", None) or {}
    return {**overrides, **option}, with_changes(recipe, changes)


def _check_grid(overrides, recipe, grid):
    """Fail on a grid option naming an unknown recipe key now, not folds later."""
    for option in grid or []:
        trained_with(overrides, recipe, option)


def _choose_in_fold(name, overrides, grid, train_idx, y, recipe, x, features, seed, fold,
                    progress=None):
    """The option of `grid` that scores best on an inner validation split (10%) of the fold's
    training part: the fold's held-out part is never looked at. Returns it and the options'
    inner accuracies (none for a grid of one option, chosen without training). With
    `progress` (what the split is, for the log), each option's inner accuracy is printed as it
    comes: an option with a fine-tuning stage takes minutes."""
    if len(grid) == 1:
        return grid[0], []
    inner_train, inner_val = carve_validation(train_idx, y[train_idx], 0.1, seed=seed + fold)
    scored = []
    for i, option in enumerate(grid):
        option_overrides, option_recipe = trained_with(overrides, recipe, option)
        accuracy, seconds, _ = _fit_and_score(name, option_overrides, inner_train, inner_val,
                                              option_recipe, x, features, seed)
        scored.append(accuracy)
        if progress:
            print(f"[{name}] {progress}: option {i + 1}/{len(grid)} "
                  f"{json.dumps(option)} {accuracy:.4f} ({seconds:.0f}s)", flush=True)
    return grid[int(np.argmax(scored))], scored


def _run_fold(name, fold, split, y, overrides, grid, recipe, x, features, seed, verbose=False):
    """One fold's record: its option chosen on an inner split (with a grid), then a model
    trained on its training part and scored on its held-out part."""
    train_idx, test_idx = split
    progress = f"fold {fold + 1}, inner split" if verbose else None
    chosen, inner = _choose_in_fold(name, overrides, grid, train_idx, y, recipe, x, features,
                                    seed, fold, progress) if grid else ({}, [])
    fold_overrides, fold_recipe = trained_with(overrides, recipe, chosen)
    accuracy, seconds, _ = _fit_and_score(
        name, fold_overrides, (train_idx, y[train_idx]), (test_idx, y[test_idx]), fold_recipe,
        x, features, seed)
    return {"fold": fold, "accuracy": accuracy, "train_seconds": round(seconds, 1),
            "chosen": chosen, "inner_accuracies": inner}


def _scores(results):
    """The folds, their mean accuracy, its standard deviation and the mean train time."""
    accs = np.array([r["accuracy"] for r in results])
    return {"folds": results, "mean": float(accs.mean()), "std": float(accs.std(ddof=1)),
            "train_seconds_mean": float(np.mean([r["train_seconds"] for r in results]))}


def _report(name, done, folds, grid, source=None):
    """One fold's line: its accuracy, its train time (or `source`, for a recorded fold) and,
    with a grid, its choice."""
    choice = (f" chosen {json.dumps(done['chosen'])} (inner: "
              f"{_listed(done['inner_accuracies'])})" if grid else "")
    when = source or f"{done['train_seconds']:.0f}s"
    print(f"[{name}] fold {done['fold'] + 1}/{folds}: accuracy {done['accuracy']:.4f} "
          f"({when}){choice}", flush=True)


def _listed(accuracies):
    return ", ".join(f"{a:.4f}" for a in accuracies) or "one option"


def _configuration(name, folds, seed, overrides, grid, recipe, y):
    """What a recorded fold must have been run with to be reused, as it reads back from JSON."""
    labels = hashlib.sha256(np.ascontiguousarray(y).tobytes()).hexdigest()
    return json.loads(json.dumps(
        {"model": name, "k": folds, "seed": seed, "overrides": overrides, "grid": grid or [],
         "recipe": recipe, "labels_sha256": labels}, default=str))


def partial_path(record):
    """Where the folds of an unfinished cross-validation are kept, beside its summary."""
    return Path(f"{record}.partial")


def _recorded_folds(record, configuration, verbose):
    """The finished folds `record` (a summary, or else its `.partial`) holds for
    `configuration`, and the file they came from; none when it holds another configuration's,
    which a new run replaces."""
    for path in (Path(record), partial_path(record)):
        if not path.exists():
            continue
        recorded = json.loads(path.read_text())
        if recorded.get("configuration") == configuration:
            return recorded["folds"], path
        if verbose:
            earlier = recorded.get("configuration") or {}
            differing = sorted(key for key in configuration
                               if earlier.get(key) != configuration[key])
            print(f"[{configuration['model']}] {path} records a cross-validation run with other "
                  f"settings ({', '.join(differing)}): starting over; it will be replaced",
                  flush=True)
        return [], None
    return [], None


def _check_classifier(name):
    if zoo.get(name).kind == "generative":
        raise ValueError(f"{name} is a generative model: cross-validation scores classifiers "
                         f"and regressors; train it with `python -m training {name}` (its card "
                         f"reports likelihood or sample quality on the test split)")


def cross_validate(name, x, y, folds=5, seed=0, overrides=None, grid=None, epochs=None,
                   features=None, verbose=True, record=None, data=None):
    """k-fold cross-validation of `name` on `(x, y)`.

    Args:
        x, y: in-memory inputs and integer labels.
        folds: k.
        overrides: builder arguments for every fold.
        grid: optional list of options (builder overrides, recipe keys under "recipe"); each
            fold picks the best on an inner 10% split of its training part, then trains on all.
        features: optional cached encoder outputs, row-aligned with `x` (frozen encoders), or
            a function of a configuration's overrides giving them (None when it has none).
        record: optional path of the summary JSON; each fold is written to `record.partial`
            as it ends; folds recorded there or at `record` for the same configuration are reused.
        data: optional description of the data (`Splits.info`), kept in the summary.

    Returns:
        `{"folds": [{"fold", "accuracy", "train_seconds", "chosen", "inner_accuracies"}],
        "mean", "std", "configuration", ...}`.
    """
    _check_classifier(name)
    recipe = recipe_for(name, epochs=epochs)
    overrides = dict(overrides or {})
    y = np.asarray(y)
    _check_grid(overrides, recipe, grid)
    configuration = _configuration(name, folds, seed, overrides, grid, recipe, y)
    results, source = _recorded_folds(record, configuration, verbose) if record else ([], None)
    for fold, (train_idx, test_idx) in enumerate(stratified_folds(y, k=folds, seed=seed)):
        if fold < len(results):
            if verbose:
                _report(name, results[fold], folds, grid, f"recorded in {source}")
            continue
        results.append(_run_fold(name, fold, (train_idx, test_idx), y, overrides, grid, recipe,
                                 x, features, seed, verbose))
        if record:
            artifacts.write_json({"configuration": configuration, "folds": results},
                                 partial_path(record))
        if verbose:
            _report(name, results[-1], folds, grid)
    summary = {"model": name, **_scores(results), "k": folds, "seed": seed,
               "examples": int(len(y)), "overrides": overrides, "grid": grid or [],
               "epochs": recipe["epochs"], "configuration": configuration,
               **({"data": data} if data is not None else {})}
    if verbose:
        print(f"[{name}] {folds}-fold accuracy {summary['mean']:.4f} +- {summary['std']:.4f}",
              flush=True)
    if record:
        artifacts.write_json(summary, record)
        partial_path(record).unlink(missing_ok=True)
    return summary


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m training.cv", parents=[common_options()])
    parser.add_argument("name")
    parser.add_argument("--folds", type=positive_int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=positive_int)
    parser.add_argument("--data-dir")
    parser.add_argument("--json", help=(
        "write the summary to this file; each fold is recorded beside it as it ends, so the same "
        "command run again resumes after the last finished fold (with --save: reuses them all)"))
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
                             features=features, record=args.json, data=splits.info)
    if args.save:
        save_trained_on_all(args, summary, x, y, grid, overrides, features)
    return 0


def save_trained_on_all(args, summary, x, y, grid, overrides, features):
    """Train on every row and save the artifact, the cross-validation in its card. With a
    grid, the option it trains with is chosen as each fold chose: on an inner 10% split, here
    of all the rows."""
    from training.fit import command_line, train

    recipe = recipe_for(args.name, epochs=args.epochs)
    chosen, inner = _choose_in_fold(args.name, overrides, grid, np.arange(len(y)), y, recipe,
                                    x, features, args.seed, args.folds,
                                    "saved model, inner split of all rows") if grid else ({}, [])
    if grid:
        print(f"[{args.name}] the saved model trains with {json.dumps(chosen)} (chosen on an "
              f"inner split of all the rows: {_listed(inner)})", flush=True)
    option_overrides, _ = trained_with(overrides, recipe, chosen)
    cv_card = {"metrics": {"cv": {"accuracy": summary["mean"],
                                  "accuracy_std": summary["std"], "folds": args.folds,
                                  "per_fold": [f["accuracy"] for f in summary["folds"]]}},
               "cross_validation": {**summary, "chosen_for_saved_model": chosen,
                                    "inner_accuracies_for_saved_model": inner},
               "data": {"trained_on": f"all {summary['examples']} rows (no validation split)"}}
    train(args.name, out=args.out or artifacts.saved_models_dir(), epochs=args.epochs,
          seed=args.seed, data_dir=args.data_dir, val_size=0, overrides=option_overrides,
          recipe_changes=chosen.get("recipe"), command=command_line(), extra_card=cv_card)


if __name__ == "__main__":
    sys.exit(main())
