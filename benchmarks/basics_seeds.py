"""Sine and spirals over 10 seeds: how reliably the recipes meet the bars.

    python benchmarks/basics_seeds.py [--seeds 10] [--models sine_basis spirals_mlp]

Prints, per seed, the sine curve's MSE against the noiseless sine on a 1,000-point grid and the
spirals' training / fresh-data accuracy, then the mean and worst. Each seed draws new data and
new initial weights. The last line is one JSON object.
"""
import argparse
import json

import numpy as np

from training import train
from zoo.data import sine_grid, spirals


def sine_mse(seed, grid):
    sine = train("sine_basis", seed=seed, save=False, verbose=False)
    return float(np.mean((sine["model"].predict(grid[0], verbose=0) - grid[1]) ** 2))


def spirals_accuracies(seed):
    """Training accuracy, and accuracy on fresh spirals (seed 1000 + seed)."""
    spiral = train("spirals_mlp", seed=seed, save=False, verbose=False)
    fx, fy = spirals(seed=1000 + seed)
    fresh = float(np.mean((spiral["model"].predict(fx, verbose=0)[:, 0] > 0.5) == fy))
    return spiral["metrics"]["train"]["accuracy"], fresh


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--models", nargs="*", default=["sine_basis", "spirals_mlp"],
                        choices=["sine_basis", "spirals_mlp"])
    args = parser.parse_args()
    grid = sine_grid(1000)
    figures = {}
    for seed in range(args.seeds):
        if "sine_basis" in args.models:
            figures.setdefault("sine_mse", []).append(sine_mse(seed, grid))
        if "spirals_mlp" in args.models:
            train_acc, fresh = spirals_accuracies(seed)
            figures.setdefault("spirals_train", []).append(train_acc)
            figures.setdefault("spirals_fresh", []).append(fresh)
        print(f"seed {seed}: " + "  ".join(f"{k} {v[-1]:.5f}" for k, v in figures.items()),
              flush=True)
    summary = {"seeds": args.seeds}
    if "sine_mse" in figures:
        mses = np.array(figures["sine_mse"])
        print(f"\nsine_basis  ({args.seeds} seeds): mse mean {mses.mean():.5f}, worst "
              f"{mses.max():.5f} (bar 0.005, goal mean <= 0.003)")
        summary.update(sine_mse_mean=round(float(mses.mean()), 6),
                       sine_mse_worst=round(float(mses.max()), 6))
    if "spirals_train" in figures:
        train_acc, fresh = np.array(figures["spirals_train"]), np.array(figures["spirals_fresh"])
        print(f"spirals_mlp ({args.seeds} seeds): {int(np.sum(train_acc == 1.0))}/{args.seeds} "
              f"reach 100% train; fresh-spirals accuracy mean {fresh.mean():.4f}, worst "
              f"{fresh.min():.4f}")
        summary.update(spirals_train_100=int(np.sum(train_acc == 1.0)),
                       spirals_fresh_mean=round(float(fresh.mean()), 4),
                       spirals_fresh_worst=round(float(fresh.min()), 4))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
