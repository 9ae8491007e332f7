"""The task record: one registered name ties a builder to its data, metric, bar and search space.

Builders are thin functions whose keyword arguments are the model's defaults; they return a
compiled `keras.Model`. `register_model` records them; `build(name, **overrides)` checks the
overrides against the builder's signature before anything is built.
"""
import dataclasses
import difflib
import fnmatch
import inspect
from typing import Callable, Optional

KINDS = ("classification", "binary", "regression")


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

    def unavailable(self):
        """None when the model can be built here, else the reason it cannot."""
        return self.requires() if self.requires else None

    @property
    def defaults(self):
        """The builder's keyword defaults: what `build(name)` uses."""
        return {k: p.default for k, p in inspect.signature(self.builder).parameters.items()
                if p.default is not inspect.Parameter.empty}

    def check_overrides(self, overrides):
        unknown = sorted(set(overrides) - set(self.defaults))
        if unknown:
            raise TypeError(
                f"{self.name!r} has no option(s) {unknown}; its options are "
                f"{sorted(self.defaults)} (see zoo.describe({self.name!r}))")


_TASKS: dict = {}


def register_model(name=None, *, description, dataset, kind, metric, bar, goal=None,
                   search_space=None, figures=(), input_kind="dense", requires=None,
                   cached_features=None):
    """Register a builder under `name` (default: the function's name)."""
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
                           requires, cached_features)
        return builder

    return decorate


def _ensure_models_imported():
    import zoo.models  # noqa: F401  (registers every builder)


def get(name) -> Task:
    """The task record of a registered name; a `ValueError` naming close matches otherwise."""
    _ensure_models_imported()
    if name not in _TASKS:
        close = difflib.get_close_matches(str(name), list(_TASKS), n=3, cutoff=0.4)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(f"Unknown model {name!r}.{hint} zoo.list_models() lists all "
                         f"{len(_TASKS)} registered names.")
    return _TASKS[name]


def list_models(filter=None):
    """Sorted registered names, optionally filtered by a shell-style pattern (`"mnist_*"`)."""
    _ensure_models_imported()
    names = sorted(_TASKS)
    if filter:
        pattern = filter if any(c in filter for c in "*?[") else f"*{filter}*"
        names = [n for n in names if fnmatch.fnmatch(n, pattern)]
    return names


def build(name, **overrides):
    """Build the compiled `keras.Model` registered as `name`, keyword arguments overriding
    its defaults."""
    task = get(name)
    task.check_overrides(overrides)
    return task.builder(**overrides)
