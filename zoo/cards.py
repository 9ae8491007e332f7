"""Cards: made in one place (`make_card`), extended by cross-validation, repeated seeds and
tuning (`extend`), and the table of saved models (`saved_models/README.md`) generated from them.
"""
import datetime
import json
from pathlib import Path

from zoo.artifacts import saved_models_dir

HEADER = """# Saved models

Generated from the cards (`NAME.json`) by `python -m zoo cards`; a test fails when this file
is out of date or a card's sha256 does not match its `.keras` file. Every metric is measured on
the split named in the card; the test split was read once, after training. Where a card reports
repeated runs (`python -m training.seeds`), the bar is checked against their mean.

| model | params | metric (test, or CV where no test split) | bar | meets bar | val | epochs | wall time | data |
|---|---|---|---|---|---|---|---|---|
"""


GENERATIVE_MEASURES = ("elbo", "fid", "fid_ratio", "classifier_score", "conditional_accuracy")


BASE_CONFIG_KEYS = {"name", "trainable", "dtype"}


def parameter_free_layers(model):
    """`model`'s layers that hold no values, learned or fixed (inputs aside), as "name: Class
    (settings)": what a parameter-count bar lets a model use for free, listed on its card."""
    listed = []
    for layer in model.layers:
        if layer.weights or type(layer).__name__ == "InputLayer":
            continue
        settings = ", ".join(f"{k}={v}" for k, v in layer.get_config().items()
                             if k not in BASE_CONFIG_KEYS)
        listed.append(f"{layer.name}: {type(layer).__name__}({settings})")
    return listed


def make_card(task, result, command, figures, sha256, environment):
    """The card of a training result (`training.fit.train`): what was trained on what, how,
    where (`environment`: the machine and library versions), and what it measured; with a
    parameter-count bar, also the parameter-free layers the count leaves out."""
    recipe, splits = result["recipe"], result["splits"]
    free = ({"parameter_free_layers": parameter_free_layers(result["model"])}
            if "params_max" in task.bar else {})
    return {
        "name": task.name,
        "task": task.description,
        "kind": task.kind,
        "data": {"dataset": task.dataset, **splits.info,
                 "train_metrics_on": f"first {result['train_metrics_on']} training examples"},
        "class_names": splits.class_names,
        "metric": task.metric,
        "bar": task.bar,
        "goal": task.goal,
        "metrics": result["metrics"],
        "params": result["model"].count_params(),
        **free,
        "overrides": result["overrides"],
        "recipe": recipe,
        # epochs run: fewer than the recipe's when early stopping ended the training
        "epochs": len(result["history"].get("loss", [])) or recipe["epochs"],
        "seed": recipe["seed"],
        "strategy": result["strategy"],
        "wall_seconds": round(result["wall_seconds"], 1),
        **environment,
        "command": command,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "figures": figures,
        "sha256": sha256,
    }


def extend(card, extra):
    """`card` with `extra` merged in, nested dicts key by key (`{"metrics": {"cv": ...}}` adds
    the cross-validation beside the other metrics)."""
    merged = dict(card)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = extend(merged[key], value)
        else:
            merged[key] = value
    return merged


def headline(card):
    """The metrics a card's claims rest on: the test split's, else the cross-validation's."""
    return card["metrics"].get("test") or card["metrics"].get("cv", {})


def bar_figures(card):
    """What a card's bar is checked against: the mean over seeds where the card reports
    repeated runs (`python -m training.seeds`), else its headline metrics."""
    seeds = card.get("seeds")
    return {seeds["metric"]: seeds["mean"]} if seeds else headline(card)


def meets_bar(card):
    """True when every bar in the card is met by its measured metrics."""
    test, train = bar_figures(card), card["metrics"].get("train", {})
    for key, bar in card["bar"].items():
        if key == "params_max":
            ok = card["params"] <= bar
        elif key.endswith("_max"):  # lower is better: nll_max, fid_ratio_max
            ok = test.get(key[: -len("_max")], float("inf")) <= bar
        elif key.startswith("train_"):
            ok = train.get(key[len("train_"):], float("nan")) >= bar
        elif key in ("mse", "loss"):
            ok = test.get(key, float("inf")) <= bar
        else:
            ok = test.get(key, float("-inf")) >= bar
        if not ok:
            return False
    return True


def _row(card):
    metric = card["metric"]
    test = headline(card).get(metric)
    val = card["metrics"].get("val", {}).get(metric)
    other, label = (("accuracy", "top-1") if metric == "top5_accuracy"
                    else ("top5_accuracy", "top-5"))
    extra = headline(card).get(other)
    shown = f"{metric} {test:.4f}" + (f", {label} {extra:.4f}" if extra is not None else "")
    if card.get("kind") == "generative":  # the other measures its bars and goals speak of
        shown += "".join(f", {key} {headline(card)[key]:.4f}" for key in GENERATIVE_MEASURES
                         if key != metric and key in headline(card))
    if card.get("seeds"):
        seeds = card["seeds"]
        shown += (f" (seed {seeds['artifact_seed']}; {seeds['runs']} seeds: "
                  f"{seeds['mean']:.4f} +- {seeds['sd']:.4f})")
    if "test" not in card["metrics"]:
        shown += f" ({card['metrics']['cv'].get('folds', 5)}-fold CV)"
    bar = ", ".join(f"{k} {v}" for k, v in card["bar"].items())
    minutes = card["wall_seconds"] / 60
    data = card["data"].get("source", card["data"].get("dataset", ""))
    return (f"| `{card['name']}` | {card['params']:,} | {shown} | {bar} | "
            f"{'yes' if meets_bar(card) else '**no**'} | "
            f"{'-' if val is None else f'{val:.4f}'} | {card['epochs']} | {minutes:.1f} min | "
            f"{data} |")


def cards(folder=None):
    folder = Path(folder or saved_models_dir())
    found = []
    for path in sorted(folder.glob("*.json")):
        card = json.loads(path.read_text())
        if "sha256" in card and "metrics" in card:
            found.append(card)
    return found


def render(folder=None):
    return HEADER + "\n".join(_row(c) for c in cards(folder)) + "\n"


def write(folder=None):
    from zoo.artifacts import atomic_path

    folder = Path(folder or saved_models_dir())
    with atomic_path(folder / "README.md") as tmp:
        tmp.write_text(render(folder))
    return folder / "README.md"
