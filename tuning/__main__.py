"""python -m tuning NAME --tuner {random,hyperband,bayesian} --max-trials N --epochs E
   --val-split F --seed S --dir DIR [--resume] [--strategy SPEC] [--data-dir DIR] [--out DIR]"""
import argparse
import sys

from zoo.cli import common_options, output_dir, positive_int, run_command


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m tuning", parents=[common_options()], description=(
        "Search a registered model's hyperparameters on a validation split carved from the "
        "training data, then retrain the best configuration and save NAME.tuned.keras."))
    parser.add_argument("name")
    parser.add_argument("--tuner", default="random", choices=["random", "hyperband", "bayesian"])
    parser.add_argument("--max-trials", type=positive_int, default=10)
    parser.add_argument("--epochs", type=positive_int, default=5,
                        help="epochs per trial (hyperband: max)")
    parser.add_argument("--val-split", type=float, default=0.2,
                        help="fraction (or count, if >= 1) of the training data to validate on")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dir", type=output_dir, default="tuner_runs", help="search directory")
    parser.add_argument("--resume", action="store_true", help="continue a search in --dir")
    parser.add_argument("--strategy", default="auto")
    parser.add_argument("--data-dir")
    parser.add_argument("--out", type=output_dir,
                        help="where NAME.tuned.keras goes (default: DIR/NAME/)")
    parser.add_argument("--final-epochs", type=int,
                        help="epochs of the final retraining (default: the recipe's)")
    parser.add_argument("--no-retrain", action="store_true", help="stop after the search")
    args = parser.parse_args(argv)
    return run_command(run, args)


def run(args):
    from training import distribute

    strat = distribute.from_option(args.strategy)
    from training.fit import command_line
    from tuning.search import search

    val_split = int(args.val_split) if args.val_split >= 1 else args.val_split
    search(args.name, tuner=args.tuner, max_trials=args.max_trials, epochs=args.epochs,
           val_split=val_split, seed=args.seed, directory=args.dir, resume=args.resume,
           strategy=strat, data_dir=args.data_dir, out=args.out,
           final_epochs=args.final_epochs, retrain=not args.no_retrain, command=command_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
