"""Keras Tuner searches over any registered model's declared search space.

The search sees only the training data: a validation split is carved from it with a seed (or,
where the dataset defines one, as the Planetoid graphs do, its own validation split). The
test split is read once, by the final retraining of the best configuration, for its card.
"""
import csv
import os
import time
from pathlib import Path

import keras_tuner

import zoo
from training import distribute, pieces
from training.fit import train
from training.recipes import recipe_for
from zoo.artifacts import atomic_path
from zoo.data import labelled_count, load_splits
from zoo.data.catalog import FIXED_SPLITS

TUNERS = {"random": keras_tuner.RandomSearch, "hyperband": keras_tuner.Hyperband,
          "bayesian": keras_tuner.BayesianOptimization}
LOWER_IS_BETTER = ("mse", "loss", "nll", "fid", "fid_ratio")
# a generative model's trial is scored by its task's report on this many validation images
# (the VAE's ELBO) or generated samples (FID against as many validation images)
TUNING_EXAMPLES = 1_000


def distributed_role():
    """"chief" or "worker" in Keras Tuner's distributed mode (`KERASTUNER_TUNER_ID`,
    `KERASTUNER_ORACLE_IP`, `KERASTUNER_ORACLE_PORT` set), else None: one process searches.
    The chief runs the oracle and, when the trials are done, the final retraining; workers
    run trials."""
    from keras_tuner.src.distribute import utils

    if not utils.has_chief_oracle():
        return None
    return "chief" if utils.is_chief_oracle() else "worker"


class SearchExistsError(FileExistsError):
    """The search directory already holds a search and --resume was not given."""


class ZooHyperModel(keras_tuner.HyperModel):
    """A registered model built from the hyperparameters its search space declares, and
    trained as `python -m training` trains it (`training.pieces`: the recipe's seed, pipeline,
    augmentation, schedule, warm-up, weight averaging and early stopping), for the trial's
    epochs."""

    def __init__(self, name, recipe, train_x=None):
        super().__init__(name=name)
        self.task = zoo.get(name)
        self.recipe = recipe
        self.train_x = train_x  # what a whitening layer is fitted to
        if self.task.search_space is None:
            raise ValueError(f"{name!r} declares no search space")

    def build(self, hp):
        return pieces.build_model(self.task.name, self.task.search_space(hp), self.recipe,
                                  self.train_x)

    def fit(self, hp, model, train, validation_data=None, epochs=None, callbacks=(),
            initial_epoch=0, **kwargs):
        """`train` and `validation_data` are `(x, y)` arrays; Keras Tuner adds its callbacks
        (and, for Hyperband, the trial's epochs and initial epoch)."""
        # Keras Tuner scores (and checkpoints) every epoch on the validation split
        recipe = {**self.recipe, "epochs": epochs or self.recipe["epochs"], "validate_every": 1}
        history = pieces.fit(model, recipe, train, validation_data, callbacks,
                             initial_epoch=initial_epoch)
        if self.task.report is None:
            return history
        measured = self.task.report(model, {"val": validation_data}, examples=TUNING_EXAMPLES,
                                    seed=0)["val"]
        return {f"val_{key}": value for key, value in measured.items()}


def _defaults_first(oracle):
    """Make the search's first trial the search space's defaults, which are the builder's (a
    test checks it for every registered model), so a search reports how the defaults score
    and never returns anything worse on validation. Every Keras Tuner oracle (random,
    Bayesian's initial points, Hyperband's first round) draws a new trial's values with
    `_random_values` (private API of Keras Tuner 1.4): the first draw becomes the defaults,
    recorded so that no later trial repeats them."""
    draw = oracle._random_values

    def random_values():
        if oracle.trials:
            return draw()
        values = dict(oracle.hyperparameters.values)
        oracle._duplicate(dict(values))
        return values

    oracle._random_values = random_values


def _tuned_values(values):
    return {k: v for k, v in values.items() if not k.startswith("tuner/")}


def objective_for(task):
    """What a search maximises or minimises: the task's `objective` (else its headline
    metric) on the validation split."""
    name = task.objective or task.metric
    return keras_tuner.Objective(f"val_{name}", "min" if name in LOWER_IS_BETTER else "max")


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

        self.role = distributed_role()
        self.project = project = self.directory / name
        if (project.exists() and any(project.glob("oracle*.json")) and not resume
                and self.role != "worker"):
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
        self.hypermodel = ZooHyperModel(name, {**self.recipe, "seed": self.seed})
        self.tuner = _tuner_class(tuner)(self.hypermodel, **kwargs)
        self.tuner.zoo_report = self._report_trial if self.role == "worker" else self._report
        if self.role != "worker":  # the chief's oracle draws the trials
            _defaults_first(self.tuner.oracle)

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

    def _report_trial(self, trial):
        """A worker's line per trial: the chief keeps the results table."""
        metric = self.tuner.oracle.objective.name
        hps = ", ".join(f"{k}={_fmt(v)}" for k, v in trial.hyperparameters.values.items()
                        if not k.startswith("tuner/"))
        if self.verbose:
            print(f"[{self.tuner.tuner_id}] trial {trial.trial_id}  [{hps}]  {metric} "
                  f"{_fmt(trial.score)}", flush=True)

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
        self.project.mkdir(parents=True, exist_ok=True)
        columns = list(dict.fromkeys(k for r in rows for k in r))
        with atomic_path(self.project / "results.csv") as tmp:
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
        with atomic_path(self.project / "results.md") as tmp:
            tmp.write_text(title + "\n".join(lines) + "\n")
        plot_trials(rows, self.tuner.oracle.objective.name, self.project / "results.png",
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
        self.hypermodel.train_x = splits.train[0]
        self.started = time.time()
        if self.verbose:
            origin = ("the dataset's own" if val_size is None else "carved from the training "
                      "data")
            where = (f"worker {self.tuner.tuner_id} of the chief at "
                     f"{os.environ['KERASTUNER_ORACLE_IP']}:{os.environ['KERASTUNER_ORACLE_PORT']}"
                     if self.role == "worker" else
                     f"{len(self._finished())} trial(s) already finished" +
                     ("; chief: the workers run the trials" if self.role else ""))
            print(f"[{self.name}] {self.kind} search: {labelled_count(splits.train[1])} train / "
                  f"{labelled_count(splits.val[1])} validation examples ({origin}); {where}",
                  flush=True)
        self.tuner.search(splits.train, validation_data=splits.val, epochs=self.epochs)
        if self.role != "worker":
            self.write_results()
        return self

    def defaults_value(self):
        """The objective of the builder's defaults (the first trial), or None."""
        first = sorted(self._finished(), key=lambda t: t.trial_id)[:1]
        defaults = _tuned_values(self.tuner.oracle.hyperparameters.values)
        return (first[0].score if first and
                _tuned_values(first[0].hyperparameters.values) == defaults else None)

    def best_hyperparameters(self):
        return _tuned_values(self.tuner.get_best_hyperparameters(1)[0].values)


def search(name, tuner="random", max_trials=10, epochs=5, val_split=0.2, seed=0,
           directory="tuner_runs", resume=False, strategy=None, data_dir=None, out=None,
           final_epochs=None, retrain=True, verbose=True, command=None):
    """Run (or resume) a search, write DIR/NAME/results.csv, results.md and results.png, then
    retrain the best configuration and save OUT/NAME.tuned.keras with its card (OUT defaults
    to DIR/NAME: a search never writes into the package's saved_models/ unless asked to)."""
    s = Search(name, tuner, max_trials, epochs, val_split, seed, directory, resume, strategy,
               data_dir, verbose).run()
    if s.role == "worker":  # the chief holds the results and retrains the best
        return {"search": s}
    result = {"search": s, "best": s.best_hyperparameters(), "rows": s.rows()}
    if retrain:
        card = {"tuning": {
            "tuner": tuner, "trials": len(s.rows()), "max_trials": max_trials,
            "epochs_per_trial": epochs, "val_split": val_split, "seed": seed,
            "best_hyperparameters": result["best"], "best_val": s.best_value(),
            "defaults_val": s.defaults_value(), "winner": _winner(s),
            "objective": s.tuner.oracle.objective.name, "directory": str(directory)}}
        result["final"] = train(
            name, out=out or s.project, epochs=final_epochs, seed=seed,
            data_dir=data_dir, strategy=s.tuner.distribution_strategy or "auto",
            val_size=s.val_size, overrides=result["best"], artifact_name=f"{name}.tuned",
            extra_card=card, command=command, verbose=verbose,
            backup_dir=s.project / ".final.backup")
    return result


def _winner(search):
    """Which configuration the retraining uses, as the card says it: the builder's defaults
    when no trial beat them on validation, else the tuned values."""
    defaults = _tuned_values(search.tuner.oracle.hyperparameters.values)
    best = _tuned_values(search.tuner.get_best_hyperparameters(1)[0].values)
    if search.defaults_value() is None:
        return "tuned (the defaults were not among the trials)"
    return "defaults (no trial beat them on validation)" if best == defaults else "tuned"


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
