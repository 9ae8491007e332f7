"""python -m zoo {list, describe, evaluate, predict, export}: the saved models from the shell."""
import argparse
import json
import sys

from zoo import artifacts, cards, inference, registry
from zoo.cli import accept_negative_inputs


def cmd_list(args):
    rows = []
    for name in registry.list_models(args.filter):
        task = registry.get(name)
        card = artifacts.read_card(name)
        measured = cards.headline(card).get(task.metric) if card else None
        params = card["params"] if card else registry.build(name).count_params()
        bar = ", ".join(f"{k} {v}" for k, v in task.bar.items())
        rows.append((name, f"{params:,}", task.dataset, task.metric, bar,
                     "-" if measured is None else f"{measured:.4f}"))
    header = ("model", "params", "data", "metric", "bar", "measured (test)")
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths)] + rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)))
    return 0


def cmd_describe(args):
    import zoo

    print(json.dumps(zoo.describe(args.name), indent=2, default=str))
    return 0


def cmd_evaluate(args):
    from zoo.evaluation import evaluate_artifact

    result = evaluate_artifact(args.name, data_dir=args.data_dir, tta=args.tta)
    for key, value in result.items():
        print(f"{key:>16}: {value}")
    if args.json:
        print(json.dumps(result))
    return 0


def cmd_predict(args):
    model = artifacts.load(args.name, compile=False)  # inference needs no optimiser state
    task = inference.task_of(model)
    if task is not None and task.input_kind == "graph":
        rows = inference.predict(model, args.inputs, data_dir=args.data_dir)
    else:
        notices = []
        batch = inference.parse_inputs(model, args.inputs, notices)
        for note in notices:
            inference.warn(note)
        outputs = model.predict(batch, verbose=0)
        rows = inference.describe_outputs(model, outputs, inference.class_names_for(args.name))
    if args.json:
        print(json.dumps(rows))
        return 0
    for raw, row in zip(args.inputs, rows):
        if row["probabilities"] is None:
            print(f"{raw}: {row['label']:.6f}")
        else:
            top = sorted(enumerate(row["probabilities"]), key=lambda t: -t[1])[:5]
            names = inference.class_names_for(args.name)
            probs = ", ".join(f"{names[i] if names else i} {p:.3f}" for i, p in top)
            shown = f"node {raw}" if "node" in row else raw
            print(f"{shown}: {row['name']}  ({probs})")
    return 0


def cmd_export(args):
    from zoo.evaluation import export_saved_model

    path = export_saved_model(args.name, args.dir, args.format)
    print(f"wrote {path}")
    return 0


def cmd_cards(args):
    print(f"wrote {cards.write(args.dir)}")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m zoo")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("list", help="registered models with their bars and measured results")
    p.add_argument("filter", nargs="?")
    p.set_defaults(run=cmd_list)
    p = sub.add_parser("describe", help="everything the zoo knows about one model")
    p.add_argument("name")
    p.set_defaults(run=cmd_describe)
    p = sub.add_parser("evaluate", help="metrics of a saved model on its test split")
    p.add_argument("name")
    p.add_argument("--data-dir")
    p.add_argument("--tta", choices=["none", "mirror", "mirror_translate"],
                   help="test-time augmentation views for this evaluation (default: the "
                        "model's own; 'none' for single-view figures such as papers report)")
    p.add_argument("--json", action="store_true", help="end with one JSON line")
    p.set_defaults(run=cmd_evaluate)
    p = accept_negative_inputs(sub.add_parser("predict", help="predict with a saved model"))
    p.add_argument("name")
    p.add_argument("inputs", nargs="+",
                   help="image files, texts, numbers (sine_basis), x,y pairs (spirals_mlp) "
                        "or node ids (graph models)")
    p.add_argument("--data-dir", help="graph models: folder holding planetoid/ (default: "
                   "$ZOO_DATA_DIR)")
    p.add_argument("--json", action="store_true", help="print one JSON list")
    p.set_defaults(run=cmd_predict)
    p = sub.add_parser("export", help="export a saved model for serving")
    p.add_argument("name")
    p.add_argument("--format", default="saved_model", choices=["saved_model"])
    p.add_argument("dir")
    p.set_defaults(run=cmd_export)
    p = sub.add_parser("cards", help="regenerate saved_models/README.md from the cards")
    p.add_argument("--dir", help="folder of artifacts (default: saved_models/)")
    p.set_defaults(run=cmd_cards)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (artifacts.ArtifactError, inference.InputError, ValueError,
            FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
