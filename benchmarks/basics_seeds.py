"""Sine and spirals over 10 seeds: how reliably the recipes meet the bars.

    python benchmarks/basics_seeds.py [--seeds 10]

Prints, per seed, the sine curve's MSE against the noiseless sine on a 1,000-point grid and the
spirals' training / fresh-data accuracy, then the mean and worst. Each seed draws new data and
new initial weights.
"""
import argparse

import numpy as np

from training import train
from zoo.data import sine_grid, spirals


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()
    gx, gy = sine_grid(1000)
    rows = []
    for seed in range(args.seeds):
        sine = train("sine_basis", seed=seed, save=False, verbose=False)
        mse = float(np.mean((sine["model"].predict(gx, verbose=0) - gy) ** 2))
        spiral = train("spirals_mlp", seed=seed, save=False, verbose=False)
        fx, fy = spirals(seed=1000 + seed)
        fresh = float(np.mean((spiral["model"].predict(fx, verbose=0)[:, 0] > 0.5) == fy))
        rows.append((seed, mse, spiral["metrics"]["train"]["accuracy"], fresh))
        print(f"seed {seed}: sine mse {mse:.5f}   spirals train {rows[-1][2]:.4f} "
              f"fresh {fresh:.4f}", flush=True)
    mses = np.array([r[1] for r in rows])
    train_acc = np.array([r[2] for r in rows])
    fresh = np.array([r[3] for r in rows])
    print(f"\nsine_basis  ({args.seeds} seeds): mse mean {mses.mean():.5f}, worst {mses.max():.5f}"
          f" (bar 0.005, goal mean <= 0.003)")
    print(f"spirals_mlp ({args.seeds} seeds): {int(np.sum(train_acc == 1.0))}/{args.seeds} reach "
          f"100% train; fresh-spirals accuracy mean {fresh.mean():.4f}, worst {fresh.min():.4f}")


if __name__ == "__main__":
    main()
