"""The table of saved models (`saved_models/README.md`), generated from their cards."""
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
