"""Hyperband against random search at an equal budget of training epochs.

    python benchmarks/tuners.py mnist_tiny --data-dir DIR [--max-epochs 9] [--subset 10000]

Hyperband runs first (max_epochs, factor 3, one iteration); the epochs it spends fix the budget;
random search then gets as many full-length trials as that budget buys. Prints the best
validation accuracy reached against epochs spent for both, and writes a table and a plot into
--out. Both search on a validation split carved from (a subset of) the training data.
"""
import argparse
import shutil
import tempfile
from pathlib import Path

import numpy as np

import tuning


def epochs_spent(rows):
    """Cumulative epochs per finished trial, in trial order (Hyperband trials that continue an
    earlier one only pay for their new epochs)."""
    out, total = [], 0
    for row in rows:
        total += int(row["epochs"]) - int(row.get("initial_epoch", 0) or 0)
        out.append(total)
    return out


def run(name, kind, trials, epochs, data_dir, val_split, seed):
    folder = Path(tempfile.mkdtemp(prefix=f"{kind}-"))
    try:
        result = tuning.search(name, tuner=kind, max_trials=trials, epochs=epochs,
                               val_split=val_split, seed=seed, directory=folder,
                               data_dir=data_dir, retrain=False, verbose=True)
        oracle = result["search"].tuner.oracle
        rows = []
        for trial in sorted(oracle.trials.values(), key=lambda t: t.trial_id):
            if trial.score is None:
                continue
            values = trial.hyperparameters.values
            rows.append({"score": trial.score, "epochs": values.get("tuner/epochs", epochs),
                         "initial_epoch": values.get("tuner/initial_epoch", 0)})
        return rows
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("name", nargs="?", default="mnist_tiny")
    parser.add_argument("--data-dir")
    parser.add_argument("--max-epochs", type=int, default=9)
    parser.add_argument("--val-split", type=float, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args()
    val = int(args.val_split) if args.val_split >= 1 else args.val_split

    hb = run(args.name, "hyperband", 0, args.max_epochs, args.data_dir, val, args.seed)
    hb_spent = epochs_spent(hb)
    budget = hb_spent[-1]
    trials = max(1, budget // args.max_epochs)
    rs = run(args.name, "random", trials, args.max_epochs, args.data_dir, val, args.seed)
    rs_spent = epochs_spent(rs)

    def best_curve(rows):
        return list(np.maximum.accumulate([r["score"] for r in rows]))

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lines = [f"# Hyperband vs random search on {args.name}", "",
             f"Budget: {budget} epochs (what Hyperband with max_epochs={args.max_epochs}, "
             f"factor 3 spent); random search: {trials} trials of {args.max_epochs} epochs.", "",
             "| tuner | trials | epochs spent | best val accuracy | epochs to reach 99% of "
             "the final best |", "|---|---|---|---|---|"]
    for kind, rows, spent in (("hyperband", hb, hb_spent), ("random", rs, rs_spent)):
        curve = best_curve(rows)
        target = 0.99 * curve[-1]
        reach = next(s for s, c in zip(spent, curve) if c >= target)
        lines.append(f"| {kind} | {len(rows)} | {spent[-1]} | {curve[-1]:.4f} | {reach} |")
    table = "\n".join(lines) + "\n"
    (out / f"tuners-{args.name}.md").write_text(table)
    print("\n" + table)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from zoo.plots import DPI, STYLE

    with plt.rc_context(STYLE):
        fig, ax = plt.subplots()
        for kind, rows, spent, colour in (("Hyperband", hb, hb_spent, "#d62728"),
                                          ("Random search", rs, rs_spent, "#1f77b4")):
            ax.step(spent, best_curve(rows), where="post", lw=2, color=colour, label=kind)
            ax.scatter(spent, [r["score"] for r in rows], s=12, color=colour, alpha=0.5)
        ax.set(xlabel="training epochs spent", ylabel="best validation accuracy so far",
               title=f"Hyperband vs random search on {args.name} (equal epoch budget)")
        ax.legend()
        fig.savefig(out / f"tuners-{args.name}.png", dpi=DPI, bbox_inches="tight")


if __name__ == "__main__":
    main()
