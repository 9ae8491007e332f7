"""The fit loop: data -> pipeline -> model under a strategy -> fit with callbacks -> artifact.

`train(name, ...)` is what `python -m training NAME` runs. It reads the test split once, after
training, to write the card; nothing before that touches it.
"""
import datetime
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

import zoo
from training import augment as augmentations
from training import distribute, loop
from training.callbacks import (EarlyStopping, EpochTable, RunRecord, StepSchedule,
                                WeightAveraging)
from training.hardware import describe_cpu, effective_precision
from training.recipes import recipe_for
from zoo import artifacts, plots
from zoo.data import DataNotFoundError, labelled_count, load_splits, pipeline, take
from zoo.layers import adapt_whitening
from zoo.models.common import ensemble_accuracy, member_crossentropy


TRAIN_METRIC_EXAMPLES = 10_000


def default_backup_dir(out, name):
    return Path(out) / f".{name}.backup"


def _backed_up_epoch(backup):
    """The epoch a BackupAndRestore checkpoint in `backup` resumes at (0 when there is none)."""
    metadata = backup / "training_metadata.json"
    return int(json.loads(metadata.read_text())["epoch"]) if metadata.exists() else 0


def _fit_multiworker(model, strat, splits, recipe, steps, schedule, backup, verbose, started):
    """MultiWorkerMirroredStrategy: Keras 3.15 fit fails there, so train with training.loop.
    Returns the history and seconds of the whole training (runs this one resumed included)."""
    worker = strat.cluster_resolver.task_id or 0
    with strat.scope():
        loop.build_optimizer(model)
    first_epoch = loop.restore(model, backup, worker)
    dataset = pipeline(*splits.train, recipe["batch_size"], shuffle=True, seed=recipe["seed"],
                       augment=augmentations.get(recipe["augment"]), drop_remainder=True,
                       epochs=recipe["epochs"], first_epoch=first_epoch)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    record = RunRecord(backup / f"worker-{worker}" / "run_record.json", started)
    history = loop.fit(model, strat, dataset.with_options(options), recipe["epochs"], steps,
                       recipe["batch_size"], schedule, backup, worker, first_epoch,
                       log=print if verbose else (lambda *a: None), record=record)
    seconds = record.seconds
    shutil.rmtree(backup / f"worker-{worker}", ignore_errors=True)
    if backup.exists() and not any(backup.iterdir()):
        backup.rmdir()
    return history, seconds


def compiled_head(model):
    """The "head" sub-model of a frozen-encoder model, compiled with the model's own optimiser,
    to be trained alone on cached encoder outputs.

    A head may output one probability vector per example, `(batch, classes)`, or one per
    ensemble member, `(batch, members, classes)`, which the model averages. Each member then
    learns from its own cross-entropy, as separately trained ensemble members do (one loss on
    the average would let the strongest member fit the data and starve the others); accuracy
    is that of the average, what the model predicts. A one-member head keeps the model's own
    loss (label smoothing, say)."""
    head = model.get_layer("head")
    members = len(head.output.shape) == 3
    head.compile(optimizer=model.optimizer, loss=member_crossentropy if members else model.loss,
                 metrics=[keras.metrics.MeanMetricWrapper(ensemble_accuracy, name="accuracy")])
    return head


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
          command=None, save=True, verbose=True, artifact_name=None, extra_card=None):
    """Train `name` with its recipe, save `out/NAME.keras`, its card and figures.

    Returns a dict with the model, its history, metrics per split and the written paths.
    `epochs`, `batch_size`, `seed` and `val_size` override the recipe; `overrides` the builder.
    `artifact_name` (default `name`) names the written files; `extra_card` is merged into the card.
    """
    task = zoo.get(name)
    overrides = dict(overrides or {})
    task.check_overrides(overrides)
    recipe = recipe_for(name, epochs=epochs, batch_size=batch_size, seed=seed, val_size=val_size)
    strat = distribute.strategy(strategy) if isinstance(strategy, (str, type(None))) else strategy
    keras.utils.set_random_seed(recipe["seed"])

    splits = load_splits(task.dataset, seed=recipe["seed"], data_dir=data_dir,
                         val_size=recipe["val_size"])
    replicas = strat.num_replicas_in_sync
    global_batch = recipe["batch_size"]
    if global_batch % replicas:
        raise ValueError(f"global batch size {global_batch} is not divisible by the "
                         f"{replicas} replicas")
    if verbose:
        print(f"[{name}] {labelled_count(splits.train[1])} train / "
              f"{labelled_count(splits.val[1])} validation examples; "
              f"global batch {global_batch} = {replicas} replica(s) x {global_batch // replicas}; "
              f"learning rate not rescaled with the replica count", flush=True)

    recipe["precision"], precision_note = effective_precision(recipe["precision"])
    if precision_note and verbose:
        print(f"[{name}] {precision_note}", flush=True)
    previous_policy = keras.mixed_precision.global_policy()
    if recipe["precision"]:
        keras.mixed_precision.set_global_policy(recipe["precision"])
    try:
        with strat.scope():
            model = zoo.build(name, **overrides)
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)
    if recipe["jit_compile"] is not None:
        model.jit_compile = recipe["jit_compile"]
    if adapt_whitening(model, splits.train[0]) and verbose:
        print(f"[{name}] whitening layer fitted to {min(5000, len(splits.train[1]))} training "
              f"images", flush=True)
    # read by Keras when it first builds its train function (what compile(steps_per_execution=)
    # sets); several steps per call fail under MirroredStrategy in Keras 3.15 (a placeholder
    # inside the multi-step while loop is never fed), and StepSchedule sets the learning rate
    # between calls, so replicated and scheduled runs take one step per call
    model.steps_per_execution = (int(recipe["steps_per_execution"]) if replicas == 1 and not (
        recipe["schedule"] or recipe["warmup_epochs"]) else 1)
    multiworker = distribute.is_multiworker(strat)
    steps = (len(splits.train[1]) // global_batch if multiworker
             else int(np.ceil(len(splits.train[1]) / global_batch)))
    schedule = None
    if recipe["schedule"] or recipe["warmup_epochs"]:
        base_lr = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
        schedule = StepSchedule(recipe["schedule"], base_lr, steps, recipe["epochs"],
                                recipe["warmup_epochs"])

    backup = Path(backup_dir) if backup_dir else default_backup_dir(out, name)
    if backup.exists() and not resume:
        if verbose:
            print(f"[{name}] removing a previous run's checkpoint {backup} (pass --resume to "
                  f"continue it instead)", flush=True)
        shutil.rmtree(backup, ignore_errors=True)

    started = time.time()
    if multiworker:
        history, wall = _fit_multiworker(model, strat, splits, recipe, steps, schedule, backup,
                                         verbose, started)
        model = _fresh_copy(name, overrides, model)
    else:
        first_epoch = _backed_up_epoch(backup)
        if verbose and first_epoch:
            print(f"[{name}] resuming from the checkpoint of epoch {first_epoch}", flush=True)
        fitted, train_data, val_data = model, splits.train, splits.val
        cached = task.cached_features and task.cached_features(
            np.concatenate([splits.train[0], splits.val[0]]), **overrides)
        if cached is not None:
            # frozen encoder: train the "head" sub-model on the cached encoder outputs
            fitted = compiled_head(model)
            n, total = len(splits.train[1]), len(splits.train[1]) + len(splits.val[1])
            train_data = (take(cached, np.arange(n)), splits.train[1])
            val_data = (take(cached, np.arange(n, total)), splits.val[1])
            if verbose:
                print(f"[{name}] frozen encoder: training the head on cached encoder outputs",
                      flush=True)
        train_ds = pipeline(*train_data, global_batch, shuffle=True, seed=recipe["seed"],
                            augment=augmentations.get(recipe["augment"]),
                            epochs=recipe["epochs"], first_epoch=first_epoch)
        val_ds = pipeline(*val_data, global_batch) if len(val_data[1]) else None
        record = RunRecord(backup / "run_record.json", started)
        callbacks = [keras.callbacks.BackupAndRestore(str(backup), delete_checkpoint=True), record]
        if verbose:
            callbacks.append(EpochTable(recipe["epochs"], every=max(1, recipe["epochs"] // 25)))
        if schedule is not None:
            callbacks.insert(0, schedule)
        if recipe["early_stopping"]:
            callbacks.insert(0, EarlyStopping(**recipe["early_stopping"]))
        if recipe["weight_averaging"]:
            callbacks.insert(0, WeightAveraging(steps * recipe["epochs"],
                                                **recipe["weight_averaging"]))
        fitted.fit(train_ds, validation_data=val_ds, epochs=recipe["epochs"],
                   steps_per_epoch=steps, callbacks=callbacks, verbose=0, shuffle=False)
        # every epoch and the whole training's time, those of runs this one resumed included
        history, wall = record.history, record.seconds

    if multiworker:
        fitted, train_data, val_data = model, splits.train, splits.val
    # train metrics on at most TRAIN_METRIC_EXAMPLES (a full pass with test-time augmentation
    # over 50,000 CIFAR images costs minutes on a CPU and says little more)
    sample = np.arange(min(TRAIN_METRIC_EXAMPLES, len(train_data[1])))
    train_sample = (take(train_data[0], sample), train_data[1][sample])
    metrics = evaluate_splits(fitted, {"train": train_sample, "val": val_data}, global_batch)
    try:
        test_x, test_y = splits.load_test()
        metrics.update(evaluate_splits(model, {"test": (test_x, test_y)}, global_batch))
    except DataNotFoundError as error:  # e.g. AG News offline: cross-validate instead
        test_x = test_y = None
        if verbose:
            print(f"[{name}] no test split: {error}", flush=True)
    result = {"model": model, "history": history, "metrics": metrics, "paths": [],
              "wall_seconds": wall, "recipe": recipe, "splits": splits, "test": (test_x, test_y),
              "overrides": overrides, "strategy": f"{type(strat).__name__} x{replicas}",
              "train_metrics_on": len(train_sample[1]), "frozen_head": fitted is not model}
    if verbose:
        print(f"[{name}] done in {wall:.1f}s; " + "; ".join(
            f"{split} " + ", ".join(f"{k} {v:.4f}" for k, v in m.items())
            for split, m in metrics.items()), flush=True)
    if save and distribute.is_chief(strat):
        publish(name, result, out, artifact_name=artifact_name, command=command,
                extra_card=extra_card, verbose=verbose)
    return result


def publish(name, result, out, artifact_name=None, command=None, extra_card=None, verbose=True):
    """Write the artifact `OUT/STEM.keras` of a `train` result, its figures and its card
    (`extra_card` merged in); records the written paths in `result["paths"]`."""
    task = zoo.get(name)
    model, splits, recipe = result["model"], result["splits"], result["recipe"]
    out = Path(out)
    stem = artifact_name or name
    artifact = artifacts.save_model(_fresh_copy(name, result["overrides"], model)
                                    if result["frozen_head"] else model, out / f"{stem}.keras")
    figure_data = plots.FigureData(model, splits.train, result["test"], result["history"],
                                   splits.class_names, title=name)
    figures = plots.draw(task.figures, figure_data, str(out / stem))
    card = {
        "name": name,
        "task": task.description,
        "kind": task.kind,
        "data": {"dataset": task.dataset, **splits.info,
                 "train_metrics_on": f"first {result['train_metrics_on']} training examples"},
        "class_names": splits.class_names,
        "metric": task.metric,
        "bar": task.bar,
        "goal": task.goal,
        "metrics": result["metrics"],
        "params": model.count_params(),
        "overrides": result["overrides"],
        "recipe": recipe,
        # epochs run: fewer than the recipe's when early stopping ended the training
        "epochs": len(result["history"].get("loss", [])) or recipe["epochs"],
        "seed": recipe["seed"],
        "strategy": result["strategy"],
        "wall_seconds": round(result["wall_seconds"], 1),
        "machine": machine(),
        "versions": library_versions(),
        "command": command or f"python -m training {name} --out {out}",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "figures": [Path(f).name for f in figures],
        "sha256": artifacts.sha256(artifact),
        **(extra_card or {}),
    }
    artifacts.write_json(card, artifacts.card_path(artifact))
    result["paths"] = [artifact, artifacts.card_path(artifact), *map(Path, figures)]
    if verbose:
        print(f"[{name}] wrote " + ", ".join(str(p) for p in result["paths"]), flush=True)
    return result["paths"]


def command_line():
    """The command that started this process, as a user would retype it."""
    script = Path(sys.argv[0] if sys.argv else "")
    module = (script.parent.name if script.name == "__main__.py"
              else f"{script.parent.name}.{script.stem}")
    return " ".join(["python -m", module, *sys.argv[1:]])
