"""Keras Tuner searches over any registered model's declared search space.

The search sees only the training data: a validation split is carved from it with a seed (or,
where the dataset defines one, as the Planetoid graphs do, its own validation split). The
test split is read once, by the final retraining of the best configuration, for its card.
"""
import csv
import time
from pathlib import Path

import keras
import keras_tuner

import zoo
from training import augment as augmentations
from training import distribute
from training.fit import train
from training.recipes import recipe_for
from zoo.artifacts import atomic_path, saved_models_dir
from zoo.data import labelled_count, load_splits, pipeline
from zoo.data.catalog import FIXED_SPLITS

TUNERS = {"random": keras_tuner.RandomSearch, "hyperband": keras_tuner.Hyperband,
          "bayesian": keras_tuner.BayesianOptimization}
LOWER_IS_BETTER = ("mse", "loss")


class SearchExistsError(FileExistsError):
    """The search directory already holds a search and --resume was not given."""


class ZooHyperModel(keras_tuner.HyperModel):
    """Builds a registered model from the hyperparameters its search space declares."""

    def __init__(self, name, steps_per_execution=1):
        super().__init__(name=name)
        self.task = zoo.get(name)
        self.steps_per_execution = steps_per_execution
        if self.task.search_space is None:
            raise ValueError(f"{name!r} declares no search space")

    def build(self, hp):
        model = zoo.build(self.task.name, **self.task.search_space(hp))
        model.steps_per_execution = self.steps_per_execution
        return model


def objective_for(task):
    metric = f"val_{task.metric}"
    return keras_tuner.Objective(metric, "min" if task.metric in LOWER_IS_BETTER else "max")


def _tuner_class(kind):
    if kind not in TUNERS:
        raise ValueError(f"unknown tuner {kind!r}; choose one of {sorted(TUNERS)}")
    base = TUNERS[kind]

    class ReportingTuner(base):
        """Prints one line per finished trial and keeps the results table current."""

        def on_trial_end(self, trial):
            super().on_trial_end(trial)
            self.zoo_report(trial)

    return ReportingTuner


class Search:
    """One resumable search in `directory`: the tuner, its progress lines and results files."""

    def __init__(self, name, tuner="random", max_trials=10, epochs=5, val_split=0.2, seed=0,
                 directory="tuner_runs", resume=False, strategy=None, data_dir=None,
                 verbose=True):
        self.task = zoo.get(name)
        self.name = name
        self.kind = tuner
        self.max_trials = int(max_trials)
        self.epochs = int(epochs)
        self.seed = int(seed)
        self.val_split = val_split
        self.data_dir = data_dir
        self.directory = Path(directory)
        self.verbose = verbose
        self.recipe = recipe_for(name)
        self.started = None
        self.finished_here = 0

        project = self.directory / name
        if project.exists() and any(project.glob("oracle*.json")) and not resume:
            raise SearchExistsError(
                f"{project} already holds a search; pass --resume to continue it, or choose "
                f"another --dir")
        strat = distribute.strategy(strategy) if isinstance(strategy, str) else strategy
        objective = objective_for(self.task)
        kwargs = dict(objective=objective, seed=self.seed, directory=str(self.directory),
                      project_name=name, overwrite=False, distribution_strategy=strat)
        if tuner == "hyperband":
            kwargs.update(max_epochs=self.epochs, factor=3, hyperband_iterations=1)
        else:
            kwargs.update(max_trials=self.max_trials)
        hypermodel = ZooHyperModel(name, self.recipe["steps_per_execution"])
        self.tuner = _tuner_class(tuner)(hypermodel, **kwargs)
        self.tuner.zoo_report = self._report

    # -- progress -------------------------------------------------------------------------
    def _finished(self):
        return [t for t in self.tuner.oracle.trials.values()
                if t.status == keras_tuner.engine.trial.TrialStatus.COMPLETED]

    def _total(self):
        if self.kind != "hyperband":
            return self.max_trials
        oracle = self.tuner.oracle
        # Hyperband's trial count follows from max_epochs and factor: every round of every
        # bracket (one iteration) starts its own trials
        brackets = oracle._get_num_brackets()
        return sum(oracle._get_size(b, r) for b in range(brackets) for r in range(b + 1))

    def _report(self, trial):
        self.finished_here += 1
        done = len(self._finished())
        metric = self.tuner.oracle.objective.name
        value = trial.metrics.get_best_value(metric) if trial.metrics.exists(metric) else None
        best = self.best_value()
        elapsed = time.time() - self.started
        eta = elapsed / self.finished_here * max(0, self._total() - done)
        hps = ", ".join(f"{k}={_fmt(v)}" for k, v in trial.hyperparameters.values.items()
                        if not k.startswith("tuner/"))
        if self.verbose:
            print(f"trial {done}/{self._total()}  [{hps}]  {metric} {_fmt(value)}  best "
                  f"{_fmt(best)}  elapsed {elapsed:.0f}s  eta {eta:.0f}s", flush=True)
        self.write_results()

    def best_value(self):
        trials = self.tuner.oracle.get_best_trials(1)
        return trials[0].score if trials else None

    # -- results --------------------------------------------------------------------------
    def rows(self):
        metric = self.tuner.oracle.objective.name
        rows = []
        for trial in sorted(self._finished(), key=lambda t: t.trial_id):
            values = {k: v for k, v in trial.hyperparameters.values.items()}
            epochs = values.pop("tuner/epochs", self.epochs)
            values = {k: v for k, v in values.items() if not k.startswith("tuner/")}
            rows.append({"trial": trial.trial_id, metric: trial.score, "epochs": epochs,
                         **values})
        return rows

    def write_results(self):
        rows = self.rows()
        if not rows:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        columns = list(dict.fromkeys(k for r in rows for k in r))
        with atomic_path(self.directory / "results.csv") as tmp:
            with open(tmp, "w", newline="") as f:
                writer = csv.DictWriter(f, columns)
                writer.writeheader()
                writer.writerows(rows)
        lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(_fmt(r.get(c, "")) for c in columns) + " |" for r in rows]
        split = ("the dataset's own validation split" if self.val_size is None else
                 f"a validation split carved from the training data ({self.val_split})")
        title = (f"# {self.kind} search on {self.name}\n\nObjective: "
                 f"{self.tuner.oracle.objective.name} on {split}, seed {self.seed}.\n\n")
        with atomic_path(self.directory / "results.md") as tmp:
            tmp.write_text(title + "\n".join(lines) + "\n")
        plot_trials(rows, self.tuner.oracle.objective.name, self.directory / "results.png",
                    f"{self.kind} search on {self.name}")

    # -- running --------------------------------------------------------------------------
    @property
    def val_size(self):
        """The validation split asked for, or None where the dataset defines its own (the
        Planetoid graphs' 500 validation nodes)."""
        return None if self.task.dataset in FIXED_SPLITS else self.val_split

    def run(self):
        val_size = self.val_size
        splits = load_splits(self.task.dataset, seed=self.seed, data_dir=self.data_dir,
                             val_size=val_size)
        batch = self.recipe["batch_size"]
        train_ds = pipeline(*splits.train, batch, shuffle=True, seed=self.seed,
                            augment=augmentations.get(self.recipe["augment"]))
        val_ds = pipeline(*splits.val, batch)
        self.started = time.time()
        keras.utils.set_random_seed(self.seed)
        if self.verbose:
            origin = ("the dataset's own" if val_size is None else "carved from the training "
                      "data")
            print(f"[{self.name}] {self.kind} search: {labelled_count(splits.train[1])} train / "
                  f"{labelled_count(splits.val[1])} validation examples ({origin}); "
                  f"{len(self._finished())} trial(s) already finished", flush=True)
        self.tuner.search(train_ds, validation_data=val_ds, epochs=self.epochs, verbose=0,
                          shuffle=False)
        self.write_results()
        return self

    def best_hyperparameters(self):
        values = self.tuner.get_best_hyperparameters(1)[0].values
        return {k: v for k, v in values.items() if not k.startswith("tuner/")}


def search(name, tuner="random", max_trials=10, epochs=5, val_split=0.2, seed=0,
           directory="tuner_runs", resume=False, strategy=None, data_dir=None, out=None,
           final_epochs=None, retrain=True, verbose=True, command=None):
    """Run (or resume) a search, write DIR/results.csv, results.md and results.png, then
    retrain the best configuration and save OUT/NAME.tuned.keras with its card."""
    s = Search(name, tuner, max_trials, epochs, val_split, seed, directory, resume, strategy,
               data_dir, verbose).run()
    result = {"search": s, "best": s.best_hyperparameters(), "rows": s.rows()}
    if retrain:
        card = {"tuning": {
            "tuner": tuner, "trials": len(s.rows()), "max_trials": max_trials,
            "epochs_per_trial": epochs, "val_split": val_split, "seed": seed,
            "best_hyperparameters": result["best"], "best_val": s.best_value(),
            "objective": s.tuner.oracle.objective.name, "directory": str(directory)}}
        result["final"] = train(
            name, out=out or saved_models_dir(), epochs=final_epochs, seed=seed,
            data_dir=data_dir, strategy=s.tuner.distribution_strategy or "auto",
            val_size=s.val_size, overrides=result["best"], artifact_name=f"{name}.tuned",
            extra_card=card, command=command, verbose=verbose,
            backup_dir=Path(directory) / f".{name}.final.backup")
    return result


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return "-" if value is None else str(value)


def plot_trials(rows, metric, path, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from zoo.plots import DPI, STYLE

    scores = np.array([r[metric] if r[metric] is not None else np.nan for r in rows], float)
    lower = metric.replace("val_", "") in LOWER_IS_BETTER
    best = (np.fmin.accumulate if lower else np.fmax.accumulate)(scores)
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots()
        ax.scatter(range(1, len(rows) + 1), scores, color="#1f77b4", zorder=3,
                   label="trial result")
        ax.step(range(1, len(rows) + 1), best, where="post", color="#d62728", lw=2,
                label="best so far")
        ax.set(xlabel="trial", ylabel=metric, title=title)
        ax.legend()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=DPI, bbox_inches="tight", format="png")
        plt.close(fig)
