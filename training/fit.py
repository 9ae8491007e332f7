"""The fit loop: data -> pipeline -> model under a strategy -> fit with callbacks -> artifact.

`train(name, ...)` is what `python -m training NAME` runs. It reads the test split once, after
training, to write the card; nothing before that touches it.
"""
import os
import platform
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

import zoo
from training import checkpoint, distribute, loop, pieces
from training.callbacks import EpochTable, RunRecord
from training.hardware import describe_cpu, effective_precision
from training.recipes import recipe_for
from zoo import artifacts, cards, plots
from zoo.data import DataNotFoundError, labelled_count, load_splits, pipeline, take
from zoo.evaluation import CHECK_EXAMPLES, REPORT_SEED


TRAIN_METRIC_EXAMPLES = 10_000
FITTED_WEIGHTS = "fitted.weights.h5"  # in the checkpoint folder: training ended with these


def default_backup_dir(out, name):
    return Path(out) / f".{name}.backup"


def _fit_multiworker(model, strat, splits, recipe, backup, verbose, started):
    """MultiWorkerMirroredStrategy: Keras 3.15 fit fails there, so train with training.loop.
    Returns the history and seconds of the whole training (runs this one resumed included)."""
    worker = strat.cluster_resolver.task_id or 0
    with strat.scope():
        loop.build_optimizer(model)
    first_epoch = loop.restore(model, backup, worker)
    dataset = pieces.train_dataset(splits.train, recipe, first_epoch, drop_remainder=True)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    steps = pieces.steps_per_epoch(len(splits.train[1]), recipe["batch_size"], True)
    record = RunRecord(backup / f"worker-{worker}" / "run_record.json", started)
    history = loop.fit(model, strat, dataset.with_options(options), recipe["epochs"], steps,
                       recipe["batch_size"], pieces.schedule(model, recipe, steps), backup,
                       worker, first_epoch, log=print if verbose else (lambda *a: None),
                       record=record)
    seconds = record.seconds
    shutil.rmtree(backup / f"worker-{worker}", ignore_errors=True)
    if backup.exists() and not any(backup.iterdir()):
        backup.rmdir()
    return history, seconds


def _fit(fitted, name, train_data, val_data, recipe, backup, record, resume, verbose):
    """Fit with the recipe's pieces, resuming from the checkpoint in `backup`, which is kept
    when fit ends (`train` removes it once the artifact set is published)."""
    first_epoch = checkpoint.saved_epoch(backup)
    if verbose and first_epoch:
        print(f"[{name}] resuming from the checkpoint of epoch {first_epoch}", flush=True)
    elif verbose and resume:
        print(f"[{name}] --resume: no checkpoint in {backup}, so training starts at epoch 1",
              flush=True)
    extra = [record, checkpoint.EpochCheckpoint(backup)]  # the record first: see RunRecord
    if verbose:
        extra.append(EpochTable(recipe["epochs"], every=max(1, recipe["epochs"] // 25)))
    pieces.fit(fitted, recipe, train_data, val_data, extra, first_epoch, initial_epoch=first_epoch)


def compiled_head(model):
    """The "head" sub-model of a frozen-encoder model, compiled with the model's own optimiser,
    to be trained alone on cached encoder outputs (`training.pieces.compile_members`: an
    ensemble head's members each on their own loss; a one-member head keeps the model's own
    loss, label smoothing say)."""
    return pieces.compile_members(model.get_layer("head"), model.optimizer, model.loss)


def _fresh_copy(name, overrides, model):
    """The same weights in a freshly built model: outside the strategy, so evaluation and
    saving use plain Keras (evaluate shares fit's multi-worker problems), and with no optimiser
    state (a frozen-encoder artifact need not carry its head's, about a quarter of its size)."""
    plain = zoo.build(name, **overrides)
    plain.set_weights(model.get_weights())
    return plain


def evaluate_splits(model, named_splits, batch_size):
    """`{split: {metric: value}}` for each non-empty `(x, y)` in `named_splits`."""
    results = {}
    for split, (x, y) in named_splits.items():
        if not len(y):
            continue
        ds = pipeline(x, y, batch_size, cache=False)
        results[split] = {k: float(v) for k, v in
                          model.evaluate(ds, verbose=0, return_dict=True).items()}
    return results


def library_versions():
    import keras_tuner

    return {"python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": keras.__version__, "keras_tuner": keras_tuner.__version__,
            "numpy": np.__version__, "keras_zoo": zoo.__version__}


def machine():
    return {"platform": platform.platform(), "processor": platform.processor() or
            platform.machine(), "cpu": describe_cpu(), "cpus": os.cpu_count(),
            "gpus": len(tf.config.list_physical_devices("GPU"))}


def train(name, out="saved_models", epochs=None, batch_size=None, seed=None, data_dir=None,
          strategy="auto", resume=False, backup_dir=None, val_size=None, overrides=None,
          command=None, save=True, verbose=True, artifact_name=None, extra_card=None,
          recipe_changes=None):
    """Train `name` with its recipe, save `out/NAME.keras`, its card and figures.

    Returns a dict with the model, its history, metrics per split and the written paths.
    `epochs`, `batch_size`, `seed` and `val_size` override the recipe, as `recipe_changes` (a
    dict, `training.recipes.with_changes`) may any of its keys; `overrides` the builder.
    `artifact_name` (default `name`) names the written files; `extra_card` is merged into the card.
    Checkpoints go to `backup_dir`, by default `out/.NAME.backup` (a temporary folder when
    `save=False`, unless resuming).
    The steps: resolve -> data -> model -> fit -> evaluate -> publish.
    """
    task, recipe, strat, overrides = resolve(name, epochs, batch_size, seed, val_size,
                                             strategy, overrides, verbose, recipe_changes)
    splits = load_data(task, recipe, strat, data_dir, verbose)
    model = pieces.build_model(name, overrides, recipe, splits.train[0], strat,
                               strat.num_replicas_in_sync)
    backup, temporary = checkpoint_folder(name, out, backup_dir, save, resume, verbose)
    try:
        run = fit_step(task, model, overrides, splits, recipe, strat, backup, resume, verbose)
        result = evaluate_step(task, run, splits, recipe, strat, overrides, verbose)
        if save and distribute.is_chief(strat):
            publish(name, result, out, artifact_name=artifact_name, command=command,
                    extra_card=extra_card, verbose=verbose)
    except BaseException:
        if temporary:  # nothing to publish, so nothing to resume
            shutil.rmtree(backup, ignore_errors=True)
        elif (backup / FITTED_WEIGHTS).exists():
            print(f"[{name}] the trained weights are kept in {backup}: run the same command "
                  f"with --resume to evaluate and publish them without training again",
                  file=sys.stderr, flush=True)
        raise
    shutil.rmtree(backup, ignore_errors=True)  # published (or not asked for): nothing to resume
    return result


def resolve(name, epochs, batch_size, seed, val_size, strategy, overrides, verbose,
            recipe_changes=None):
    """The task, its recipe with the command's overrides, the distribution strategy and the
    builder overrides, all checked before any work."""
    task = zoo.get(name)
    overrides = dict(overrides or {})
    task.check_overrides(overrides)
    recipe = recipe_for(name, recipe_changes, epochs=epochs, batch_size=batch_size, seed=seed,
                        val_size=val_size)
    strat = distribute.strategy(strategy) if isinstance(strategy, (str, type(None))) else strategy
    replicas = strat.num_replicas_in_sync
    if recipe["batch_size"] % replicas:
        raise ValueError(f"global batch size {recipe['batch_size']} is not divisible by the "
                         f"{replicas} replicas")
    recipe["precision"], precision_note = effective_precision(recipe["precision"])
    if precision_note and verbose:
        print(f"[{name}] {precision_note}", flush=True)
    return task, recipe, strat, overrides


def load_data(task, recipe, strat, data_dir, verbose):
    """The task's train and validation splits (the test split stays behind its function)."""
    keras.utils.set_random_seed(recipe["seed"])
    splits = load_splits(task.dataset, seed=recipe["seed"], data_dir=data_dir,
                         val_size=recipe["val_size"])
    if verbose:
        replicas, batch = strat.num_replicas_in_sync, recipe["batch_size"]
        print(f"[{task.name}] {labelled_count(splits.train[1])} train / "
              f"{labelled_count(splits.val[1])} validation examples; global batch {batch} = "
              f"{replicas} replica(s) x {batch // replicas}; learning rate not rescaled with "
              f"the replica count", flush=True)
    return splits


def checkpoint_folder(name, out, backup_dir, save, resume, verbose):
    """Where the run checkpoints, and whether that folder is a temporary one: `backup_dir` when
    given; a temporary folder for a run that publishes nothing and resumes nothing (benchmarks,
    tests: nothing of theirs appears in `out` while they run); else `out/.NAME.backup`, where
    `--resume` finds it."""
    if backup_dir is None and not save and not resume:
        return Path(tempfile.mkdtemp(prefix=f"zoo-{name}-backup-")), True
    folder = Path(backup_dir) if backup_dir else default_backup_dir(out, name)
    return prepare_backup(folder, resume, name, verbose), False


def prepare_backup(backup, resume, name, verbose):
    """The checkpoint folder: kept for `--resume`, else a previous run's is removed."""
    if backup.exists() and not resume:
        if verbose:
            print(f"[{name}] removing a previous run's checkpoint {backup} (pass --resume to "
                  f"continue it instead)", flush=True)
        shutil.rmtree(backup, ignore_errors=True)
    return backup


def fit_step(task, model, overrides, splits, recipe, strat, backup, resume, verbose):
    """Train `model`: on one process with Keras' fit (the head alone on cached features for a
    frozen encoder), or with the multi-worker loop. Returns what was fitted on what, the
    history and the seconds of training (resumed runs included)."""
    started = time.time()
    if distribute.is_multiworker(strat):
        history, wall = _fit_multiworker(model, strat, splits, recipe, backup, verbose, started)
        model = _fresh_copy(task.name, overrides, model)
        return {"model": model, "fitted": model, "train": splits.train, "val": splits.val,
                "history": history, "wall": wall, "frozen_head": False}
    fitted, train_data, val_data = _head_or_model(task, model, overrides, splits, verbose)
    frozen_head = fitted is not model
    staged = frozen_head and pieces.finetunes(model, recipe)  # a fine-tuning stage follows
    record = RunRecord(backup / "run_record.json", started)
    if resume and (backup / FITTED_WEIGHTS).exists():
        _load_fitted(model, backup, record, task.name, verbose)
        wall = record.before
    else:
        _fit(fitted, task.name, train_data, val_data, recipe, backup, record, resume, verbose)
        if staged:
            _finetune(task.name, model, recipe, splits, verbose)
            record.write()  # with the stage's seconds, for a resume that only publishes
        wall = record.seconds
        with artifacts.atomic_path(backup / FITTED_WEIGHTS, suffix=".weights.h5") as tmp:
            model.save_weights(tmp)
    if staged:  # the head's cached features are stale now
        fitted, train_data, val_data = model, splits.train, splits.val
    return {"model": model, "fitted": fitted, "train": train_data, "val": val_data,
            "history": record.history, "wall": wall, "frozen_head": frozen_head}


def _finetune(name, model, recipe, splits, verbose):
    """The recipe's fine-tuning stage after the head's (`training.pieces.finetune`)."""
    if verbose:
        print(f"[{name}] fine-tuning stage: {recipe['finetune']['epochs']} epochs end to end on "
              f"the raw inputs", flush=True)
    pieces.finetune(model, recipe, splits.train, verbose)


def _head_or_model(task, model, overrides, splits, verbose):
    """What trains on what: the model on the splits, or, for a frozen encoder, its "head" on
    the cached encoder outputs of the same rows."""
    cached = task.cached_features and task.cached_features(
        np.concatenate([splits.train[0], splits.val[0]]), **overrides)
    if cached is None:
        return model, splits.train, splits.val
    if verbose:
        print(f"[{task.name}] frozen encoder: training the head on cached encoder outputs",
              flush=True)
    n, total = len(splits.train[1]), len(splits.train[1]) + len(splits.val[1])
    return (compiled_head(model), (take(cached, np.arange(n)), splits.train[1]),
            (take(cached, np.arange(n, total)), splits.val[1]))


def _load_fitted(model, backup, record, name, verbose):
    """The weights an earlier run finished training with (it failed or was killed before
    publishing), and its record."""
    with warnings.catch_warnings():  # no optimiser state is needed: no more steps
        warnings.filterwarnings("ignore", message="Skipping variable loading")
        model.load_weights(backup / FITTED_WEIGHTS)
    record.on_train_begin()
    if verbose:
        print(f"[{name}] training finished in an earlier run "
              f"({len(record.history.get('loss', []))} epochs); evaluating and publishing its "
              f"weights", flush=True)


def evaluate_step(task, run, splits, recipe, strat, overrides, verbose):
    """Metrics per split of a fitted run, as the dict `publish` takes."""
    train_metrics_on = min(TRAIN_METRIC_EXAMPLES, len(run["train"][1]))
    if task.report is not None:
        metrics, test = _report(task, run["model"], splits, verbose)
        # the report's own count of training images (a likelihood on fewer, FID on as many
        # as it generates)
        train = metrics["train"]
        train_metrics_on = int(train.get("examples", train.get("samples", train_metrics_on)))
    else:
        metrics, test = _evaluate(task.name, run["model"], run["fitted"], run["train"],
                                  run["val"], splits, recipe["batch_size"], verbose)
    if verbose:
        print(f"[{task.name}] done in {run['wall']:.1f}s; " + "; ".join(
            f"{split} " + ", ".join(f"{k} {v:.4f}" for k, v in m.items())
            for split, m in metrics.items()), flush=True)
    return {"model": run["model"], "history": run["history"], "metrics": metrics, "paths": [],
            "wall_seconds": run["wall"], "recipe": recipe, "splits": splits, "test": test,
            "overrides": overrides,
            "strategy": f"{type(strat).__name__} x{strat.num_replicas_in_sync}",
            "train_metrics_on": train_metrics_on,
            "frozen_head": run["frozen_head"]}


def _evaluate(name, model, fitted, train_data, val_data, splits, batch_size, verbose):
    """Metrics per split of a trained model, and the test split `(x, y)` (Nones when the task
    has none). Train metrics on at most TRAIN_METRIC_EXAMPLES (a full pass with test-time
    augmentation over 50,000 CIFAR images costs minutes on a CPU and says little more); the
    train and validation metrics of a frozen-encoder model are its head's on cached features."""
    sample = np.arange(min(TRAIN_METRIC_EXAMPLES, len(train_data[1])))
    train_sample = (take(train_data[0], sample), train_data[1][sample])
    metrics = evaluate_splits(fitted, {"train": train_sample, "val": val_data}, batch_size)
    try:
        test_x, test_y = splits.load_test()
        metrics.update(evaluate_splits(model, {"test": (test_x, test_y)}, batch_size))
    except DataNotFoundError as error:  # e.g. AG News offline: cross-validate instead
        test_x = test_y = None
        if verbose:
            print(f"[{name}] no test split: {error}", flush=True)
    return metrics, (test_x, test_y)


def _report(task, model, splits, verbose):
    """A generative model's measures per split (`Task.report`: likelihoods, sample quality),
    and under "check" the same measures of the test split on `CHECK_EXAMPLES`, the figure CI
    re-measures (`zoo.evaluation.evaluate_artifact(..., examples=CHECK_EXAMPLES)`)."""
    if verbose:
        print(f"[{task.name}] measuring (sample quality / likelihood on every split)", flush=True)
    test = splits.load_test()
    named = {"train": splits.train, "val": splits.val, "test": test}
    return task.report(model, named, seed=REPORT_SEED, check=CHECK_EXAMPLES), test


def publish(name, result, out, artifact_name=None, command=None, extra_card=None, verbose=True):
    """Publish a `train` result as one set in `out`: the artifact `STEM.keras`, its figures and
    its card (`zoo.cards.make_card`, `extra_card` merged in by `zoo.cards.extend`: how
    cross-validation, repeated seeds and tuning add to it), written into a staging folder and moved into place
    together (`zoo.artifacts.publishing`), so a failed or killed publish leaves the previous
    set as it was. Records the published paths in `result["paths"]`."""
    task = zoo.get(name)
    model, splits = result["model"], result["splits"]
    out, stem = Path(out), artifact_name or name
    with artifacts.publishing(out, stem) as staging:
        # a frozen encoder's head and a generative model's two networks or weight average
        # carry optimiser state worth more megabytes than the model: saved without it
        slim = result["frozen_head"] or task.kind == "generative"
        saved = _fresh_copy(name, result["overrides"], model) if slim else model
        artifact = artifacts.save_model(saved, staging / f"{stem}.keras")
        figure_data = plots.FigureData(model, splits.train, result["test"], result["history"],
                                       splits.class_names, title=name,
                                       val_epochs=pieces.validated_epochs(result["recipe"]))
        figures = [Path(f).name for f in plots.draw(task.figures, figure_data,
                                                    str(staging / stem))]
        card = cards.make_card(task, result, command or f"python -m training {name} --out {out}",
                               figures, artifacts.sha256(artifact),
                               {"machine": machine(), "versions": library_versions()})
        artifacts.write_json(cards.extend(card, extra_card or {}), artifacts.card_path(artifact))
    result["paths"] = [out / f"{stem}.keras", out / f"{stem}.json", *(out / f for f in figures)]
    if verbose:
        print(f"[{name}] wrote " + ", ".join(str(p) for p in result["paths"]), flush=True)
    return result["paths"]


def command_line():
    """The command that started this process, as a user would retype it."""
    script = Path(sys.argv[0] if sys.argv else "")
    module = (script.parent.name if script.name == "__main__.py"
              else f"{script.parent.name}.{script.stem}")
    return " ".join(["python -m", module, *sys.argv[1:]])
