"""python -m training NAME [--out DIR] [--epochs E] [--batch-size B] [--seed S] [--data-dir DIR]
                          [--strategy SPEC] [--resume] [--backup-dir DIR] [--set KEY=VALUE ...]"""
import argparse
import sys

from zoo.cli import common_options, output_dir, parse_overrides, positive_int, run_command


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m training", parents=[common_options()], description=(
        "Train a registered model with its recipe and write NAME.keras, its card NAME.json and "
        "its figures NAME-*.png into --out."))
    parser.add_argument("name", help="registered model name (python -m zoo list)")
    parser.add_argument("--out", type=output_dir, default=None,
                        help="output folder (default: saved_models/)")
    parser.add_argument("--epochs", type=positive_int)
    parser.add_argument("--batch-size", type=positive_int,
                        help="global batch size over all replicas")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--val-size", type=float, help="validation split: count or fraction")
    parser.add_argument("--data-dir", help="folder with the official dataset layouts "
                        "(default: $ZOO_DATA_DIR, else tensorflow-datasets)")
    parser.add_argument("--strategy", default="auto",
                        help="auto, one, mirrored[:DEVICES], cpu:N or multiworker")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted run from its checkpoint")
    parser.add_argument("--backup-dir", type=output_dir,
                        help="checkpoint folder (default: OUT/.NAME.backup)")
    parser.add_argument("--set", nargs="*", metavar="KEY=VALUE",
                        help="override builder arguments, e.g. --set width=48 dropout=0.2")
    args = parser.parse_args(argv)
    return run_command(run, args)


def run(args):
    # choose devices before TensorFlow initialises them (cpu:N needs that)
    from training import distribute

    strat = distribute.from_option(args.strategy)
    from training.fit import command_line, train
    from zoo.artifacts import saved_models_dir

    val_size = args.val_size
    if val_size is not None and val_size >= 1:
        val_size = int(val_size)
    train(args.name, out=args.out or saved_models_dir(), epochs=args.epochs,
          batch_size=args.batch_size, seed=args.seed, data_dir=args.data_dir,
          strategy=strat, resume=args.resume, backup_dir=args.backup_dir,
          val_size=val_size, overrides=parse_overrides(args.set), command=command_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
