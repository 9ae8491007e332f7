"""Repeated runs over seeds: the mean and spread of a recipe's test figure, and one of the runs
saved as the artifact.

    python -m training.seeds NAME [--seeds 10] [--artifact-seed 0] [--out DIR] [--data-dir DIR]

Each seed trains the model with its recipe (`python -m training NAME --seed S`) and reads the
test split once, after its training. The run of `--artifact-seed` (chosen before any run, not the
best one) is saved with its figures; its card carries every seed's figure under `seeds`, and the
bar is checked against their mean (`zoo.cards.meets_bar`), as papers report means over runs.
"""
import argparse
import sys
import time

import numpy as np

from zoo.cli import common_options, output_dir, positive_int, run_command


def summarise(metric, values, artifact_seed, seconds):
    """The card's `seeds` entry: `{seed: value}` with their mean and sample sd (ddof=1)."""
    figures = np.array(list(values.values()), dtype=float)
    return {"metric": metric, "split": "test", "runs": len(figures),
            "values": {str(seed): round(float(v), 6) for seed, v in values.items()},
            "mean": round(float(figures.mean()), 6),
            "sd": round(float(figures.std(ddof=1)) if len(figures) > 1 else 0.0, 6),
            "artifact_seed": artifact_seed, "wall_seconds": round(seconds, 1)}


def repeat(name, seeds, artifact_seed=0, out="saved_models", data_dir=None, command=None,
           verbose=True):
    """Train `name` once per seed, save the `artifact_seed` run, return its card's `seeds`."""
    import zoo
    from training.fit import publish, train

    if artifact_seed not in seeds:
        raise ValueError(f"the artifact seed {artifact_seed} is not among the seeds {seeds}")
    metric = zoo.get(name).metric
    values, kept, started = {}, None, time.time()
    for seed in seeds:
        result = train(name, out=out, seed=seed, data_dir=data_dir, save=False, verbose=False)
        if "test" not in result["metrics"]:
            raise ValueError(f"{name} has no test split here; repeated runs report test figures")
        values[seed] = result["metrics"]["test"][metric]
        if verbose:
            print(f"[{name}] seed {seed}: test {metric} {values[seed]:.4f} after "
                  f"{len(result['history'].get('loss', []))} epochs, "
                  f"{result['wall_seconds']:.1f}s", flush=True)
        if seed == artifact_seed:
            kept = result
    summary = summarise(metric, values, artifact_seed, time.time() - started)
    if verbose:
        print(f"[{name}] {len(seeds)} seeds: test {metric} {summary['mean']:.4f} +- "
              f"{summary['sd']:.4f} (sd); saving the run of seed {artifact_seed}", flush=True)
    publish(name, kept, out, command=command, extra_card={"seeds": summary}, verbose=verbose)
    return summary


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m training.seeds", parents=[common_options()], description=(
        "Train a registered model once per seed, report the test figure's mean and sd, and "
        "save one run (--artifact-seed) with all runs' figures in its card."))
    parser.add_argument("name")
    parser.add_argument("--seeds", type=positive_int, default=10, help="seeds 0 .. N-1")
    parser.add_argument("--artifact-seed", type=int, default=0)
    parser.add_argument("--out", type=output_dir, default=None,
                        help="output folder (default: saved_models/)")
    parser.add_argument("--data-dir")
    args = parser.parse_args(argv)
    return run_command(run, args)


def run(args):
    from training.fit import command_line
    from zoo.artifacts import saved_models_dir

    repeat(args.name, list(range(args.seeds)), args.artifact_seed,
           out=args.out or saved_models_dir(), data_dir=args.data_dir, command=command_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
