"""The task record: one registered name ties a builder to its data, metric, bar and search space.

Builders are thin functions whose keyword arguments are the model's defaults; they return a
compiled `keras.Model`. `register_model` records them; `build(name, **overrides)` checks the
overrides against the builder's signature before anything is built.
"""
import dataclasses
import difflib
import fnmatch
import inspect
import json
from pathlib import Path
from typing import Callable, Optional

KINDS = ("classification", "binary", "regression", "generative")
INDEX_PATH = Path(__file__).resolve().parent / "models" / "index.json"
INDEX_FIELDS = ("description", "dataset", "kind", "metric", "bar", "goal", "input_kind")


@dataclasses.dataclass(frozen=True)
class Task:
    """Everything the zoo knows about one registered model."""

    name: str
    builder: Callable
    description: str
    dataset: str  # a key of zoo.data.DATASETS
    kind: str  # "classification" (softmax over classes), "binary" (one sigmoid) or "regression"
    metric: str  # the headline metric, as named in the model's compiled metrics
    bar: dict  # metric -> the value the saved artifact must reach (issue's "must show")
    goal: dict = dataclasses.field(default_factory=dict)
    search_space: Optional[Callable] = None  # hp -> dict of builder overrides
    figures: tuple = ()  # names of zoo.plots functions drawn after training
    input_kind: str = "dense"  # "dense", "image" or "text": what zoo.predict parses
    requires: Optional[Callable] = None  # () -> None when buildable, else why not (a str)
    cached_features: Optional[Callable] = None  # x -> frozen-encoder outputs for the "head"
    recipe: dict = dataclasses.field(default_factory=dict)  # how it trains (training.recipes)
    # generative models: (model, {split: (x, y)}, examples, seed, check) -> {split: {measure:
    # value}} (with `check`, also "check": the test split's measures on its first `check`
    # examples), what training, evaluation and tuning report instead of Keras' compiled metrics
    report: Optional[Callable] = None
    objective: Optional[str] = None  # what a search optimises on validation (default: metric)

    def unavailable(self):
        """None when the model can be built here, else the reason it cannot."""
        return self.requires() if self.requires else None

    @property
    def defaults(self):
        """The builder's keyword defaults: what `build(name)` uses."""
        return {k: p.default for k, p in inspect.signature(self.builder).parameters.items()
                if p.default is not inspect.Parameter.empty}

    def check_overrides(self, overrides):
        """A TypeError for an option the builder does not have; a ValueError for a value
        outside the domain its search space declares (a count below 1, a negative rate)."""
        unknown = sorted(set(overrides) - set(self.defaults))
        if unknown:
            raise TypeError(
                f"{self.name!r} has no option(s) {unknown}; its options are "
                f"{sorted(self.defaults)} (see zoo.describe({self.name!r}))")
        for key, (kind, low) in self.domains().items():
            value = overrides.get(key)
            if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if (kind == "int" and (value < 1 or value != int(value))) or value < 0:
                what = "a whole number >= 1" if kind == "int" else "a number >= 0"
                raise ValueError(f"{self.name}: {key} must be {what}, got {value!r} (its "
                                 f"search space starts at {low})")

    def domains(self):
        """`{option: ("int" | "float", lowest searched value)}` for the options the search
        space tunes as counts (integers from 1 up) or non-negative amounts (floats above 0,
        of which 0 still means "none": no dropout, no weight decay)."""
        if self.search_space is None:
            return {}
        recorder = _DomainRecorder()
        self.search_space(recorder)
        return {name: found for name, found in recorder.found.items() if name in self.defaults}


class _DomainRecorder:
    """Stands in for keras_tuner's HyperParameters to read a search space's numeric domains
    without importing Keras Tuner: each call records its bounds and returns the default."""

    def __init__(self):
        self.found = {}

    def Int(self, name, min_value, max_value, default=None, **kwargs):  # noqa: N802
        if min_value >= 1:
            self.found[name] = ("int", min_value)
        return min_value if default is None else default

    def Float(self, name, min_value, max_value, default=None, **kwargs):  # noqa: N802
        if min_value > 0:
            self.found[name] = ("float", min_value)
        return min_value if default is None else default

    def Choice(self, name, values, default=None, **kwargs):  # noqa: N802
        return values[0] if default is None else default


_TASKS: dict = {}


def register_model(name=None, *, description, dataset, kind, metric, bar, goal=None,
                   search_space=None, figures=(), input_kind="dense", requires=None,
                   cached_features=None, recipe=None, report=None, objective=None):
    """Register a builder under `name` (default: the function's name), with how it trains
    (`recipe`: keys of `training.recipes.DEFAULTS`, plain data) and, for a generative model,
    how its results are measured (`report`, see `Task.report`)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")

    def decorate(builder):
        key = name or builder.__name__
        if key in _TASKS and _TASKS[key].builder is not builder:
            raise ValueError(f"a model named {key!r} is already registered")
        signature = inspect.signature(builder)
        no_default = [k for k, p in signature.parameters.items()
                      if p.default is inspect.Parameter.empty]
        if no_default:
            raise TypeError(f"builder {key!r}: every argument needs a default, not {no_default}")
        _TASKS[key] = Task(key, builder, description, dataset, kind, metric, dict(bar),
                           dict(goal or {}), search_space, tuple(figures), input_kind,
                           requires, cached_features, dict(recipe or {}), report, objective)
        return builder

    return decorate


def get(name) -> Task:
    """The task record of a registered name; a `ValueError` naming close matches otherwise.
    (`import zoo` registers the zoo's models: this module imports none of them.)"""
    if name not in _TASKS:
        close = difflib.get_close_matches(str(name), list(_TASKS), n=3, cutoff=0.4)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(f"Unknown model {name!r}.{hint} zoo.list_models() lists all "
                         f"{len(_TASKS)} registered names.")
    return _TASKS[name]


def list_models(filter=None):
    """Sorted registered names, optionally filtered by a shell-style pattern (`"mnist_*"`)."""
    return matching(sorted(_TASKS), filter)


def matching(names, filter=None):
    """The names that match a shell-style pattern (`"mnist_*"`) or contain a plain string."""
    if not filter:
        return list(names)
    pattern = filter if any(c in filter for c in "*?[") else f"*{filter}*"
    return [n for n in names if fnmatch.fnmatch(n, pattern)]


def build(name, **overrides):
    """Build the compiled `keras.Model` registered as `name`, keyword arguments overriding
    its defaults."""
    task = get(name)
    task.check_overrides(overrides)
    return task.builder(**overrides)


def index_entries():
    """What `python -m zoo list` shows of every registered model, as plain data: the fields of
    its task record and the parameter count of `build(name)` (None where it cannot be built)."""
    entries = {}
    for name in list_models():
        task = get(name)
        entry = {field: getattr(task, field) for field in INDEX_FIELDS}
        entry["params"] = None if task.unavailable() else build(name).count_params()
        entries[name] = entry
    return entries


def write_index(path=INDEX_PATH):
    """Regenerate the model index (`zoo/models/index.json`); a test fails when it is stale."""
    from zoo.artifacts import write_json

    return write_json(index_entries(), path)


def read_index(path=INDEX_PATH):
    """The model index without importing Keras or any model: name -> what `list` shows."""
    return json.loads(Path(path).read_text())
