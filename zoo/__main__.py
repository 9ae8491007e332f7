"""python -m zoo {list, describe, evaluate, predict, generate, export, cards}: the saved models
from the shell."""
import argparse
import json
import sys

from zoo import artifacts, cards, registry
from zoo.cli import (accept_negative_inputs, common_options, output_file, positive_int,
                     run_command)


def cmd_list(args):
    """From the model index and the cards alone: no Keras, no TensorFlow, no model built."""
    index = registry.read_index()
    rows = []
    for name in registry.matching(sorted(index), args.filter):
        entry, card = index[name], artifacts.read_card(name)
        measured = cards.headline(card).get(entry["metric"]) if card else None
        params = card["params"] if card else entry["params"]
        bar = ", ".join(f"{k} {v}" for k, v in entry["bar"].items())
        where = "test" if card and card["metrics"].get("test") else "cv"  # cross-validation
        rows.append((name, "-" if params is None else f"{params:,}", entry["dataset"],
                     entry["metric"], bar, "-" if measured is None else f"{measured:.4f} {where}"))
    header = ("model", "params", "data", "metric", "bar", "measured")
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths)] + rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    return 0


def cmd_describe(args):
    import zoo

    print(json.dumps(zoo.describe(args.name), indent=2, default=str))
    return 0


def cmd_evaluate(args):
    from zoo.evaluation import evaluate_artifact

    result = evaluate_artifact(args.name, data_dir=args.data_dir, tta=args.tta,
                               verify=not args.no_verify, examples=args.examples)
    for key, value in result.items():
        print(f"{key:>16}: {value}")
    if args.json:
        print(json.dumps(result, allow_nan=False))
    return 0


def cmd_predict(args):
    from zoo import inference

    rows = inference.predict(args.name, args.inputs, data_dir=args.data_dir,
                             verify=not args.no_verify,
                             invert=False if args.no_invert else "auto")
    if args.json:
        print(json.dumps(rows, allow_nan=False))
        return 0
    names = inference.class_names_for(args.name)
    for raw, row in zip(args.inputs, rows):
        if row["probabilities"] is None:
            print(f"{raw}: {row['label']:.6f}")
        else:
            top = sorted(enumerate(row["probabilities"]), key=lambda t: -t[1])[:5]
            probs = ", ".join(f"{names[i] if names else i} {p:.3f}" for i, p in top)
            shown = f"node {raw}" if "node" in row else raw
            print(f"{shown}: {row['name']}  ({probs})")
    return 0


def cmd_generate(args):
    import numpy as np

    from zoo import artifacts as saved, generation, plots

    labels = args.label if args.label is not None else args.labels
    images = generation.generate(args.name, args.n, labels=labels, seed=args.seed,
                                 verify=not args.no_verify)
    print(f"wrote {plots.save_grid(images, args.out)}")
    if args.npy:
        with saved.atomic_path(args.npy, suffix=".npy") as tmp:
            np.save(tmp, images)
        print(f"wrote {args.npy}")
    return 0


def _label_list(text):
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated class numbers, got {text!r}")


def cmd_export(args):
    from zoo.evaluation import export_saved_model

    path = export_saved_model(args.name, args.dir, args.format, verify=not args.no_verify)
    print(f"wrote {path}")
    return 0


def cmd_cards(args):
    print(f"wrote {cards.write(args.dir)}")
    print(f"wrote {registry.write_index()}")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m zoo")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name, run, help, loads=False):
        p = sub.add_parser(name, parents=[common_options()], help=help)
        p.set_defaults(run=run)
        if loads:
            p.add_argument("--no-verify", action="store_true", help=(
                "load the saved model even when its sha256 does not match its card"))
        return p

    p = command("list", cmd_list, "registered models with their bars and measured results")
    p.add_argument("filter", nargs="?")
    p = command("describe", cmd_describe, "everything the zoo knows about one model")
    p.add_argument("name")
    p = command("evaluate", cmd_evaluate, "metrics of a saved model on its test split", True)
    p.add_argument("name")
    p.add_argument("--data-dir")
    p.add_argument("--tta", choices=["none", "mirror", "mirror_translate", "translate"],
                   help="test-time augmentation views for this evaluation (default: the "
                        "model's own; 'none' for single-view figures such as papers report)")
    p.add_argument("--json", action="store_true", help="end with one JSON line")
    p.add_argument("--examples", type=positive_int, help=(
        "generative models: measure on the first N test images (the VAE) or N generated "
        "samples (default: the whole test split / 10,000 samples)"))
    p = accept_negative_inputs(command("predict", cmd_predict, "predict with a saved model", True))
    p.add_argument("name")
    p.add_argument("inputs", nargs="+",
                   help="image files, texts, numbers (sine_basis), x,y pairs (spirals_mlp) "
                        "or node ids (graph models)")
    p.add_argument("--data-dir", help="graph models: folder holding planetoid/ (default: "
                   "$ZOO_DATA_DIR)")
    p.add_argument("--json", action="store_true", help="print one JSON list")
    p.add_argument("--no-invert", action="store_true", help=(
        "grey (MNIST) models: keep dark-on-light images as they are instead of inverting them"))
    p = command("generate", cmd_generate, "draw images from a generative model", True)
    p.add_argument("name")
    p.add_argument("--n", type=positive_int, default=64, help="how many images (default 64)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--labels", type=_label_list, help="classes, repeated in turn: 0,1,2")
    which.add_argument("--label", type=int, help="one class for every image")
    p.add_argument("--seed", type=int, default=0, help="the same seed gives the same images")
    p.add_argument("--out", required=True, type=output_file, help="PNG grid to write")
    p.add_argument("--npy", type=output_file,
                   help="also write the uint8 images (n, 28, 28, 1) as a .npy file")
    p = command("export", cmd_export, "export a saved model for serving", True)
    p.add_argument("name")
    p.add_argument("--format", default="saved_model", choices=["saved_model"])
    p.add_argument("dir")
    p = command("cards", cmd_cards, "regenerate saved_models/README.md from the cards and the "
                                    "model index that `list` reads")
    p.add_argument("--dir", help="folder of artifacts (default: saved_models/)")
    args = parser.parse_args(argv)
    return run_command(args.run, args)


if __name__ == "__main__":
    sys.exit(main())
