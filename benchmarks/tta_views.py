"""What test-time augmentation adds: each saved model that has it, scored on its official test
split with one view, with the mirror image, and with its six views (what its card reports).

    python benchmarks/tta_views.py --data-dir DIR [--dir saved_models] [--out FILE.md]

No training and no tuning: the same saved weights, only the averaged views change
(`python -m zoo evaluate NAME --tta VIEWS` does one of these evaluations).
"""
import argparse
import time
from pathlib import Path

import zoo
from zoo.artifacts import saved_models_dir
from zoo.evaluation import evaluate_artifact, tta_views
from zoo.layers.tta import VIEWS


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", help="the real datasets (default: $ZOO_DATA_DIR)")
    parser.add_argument("--dir", default=str(saved_models_dir()))
    parser.add_argument("--out", help="also write the table to this Markdown file")
    args = parser.parse_args()
    lines = ["| model | views | images | top-1 | top-5 | seconds |", "|---|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)
    for path in sorted(Path(args.dir).glob("*.keras")):
        if tta_views(zoo.load(path, compile=False)) is None:
            continue
        for views in VIEWS:
            started = time.perf_counter()
            result = evaluate_artifact(path, data_dir=args.data_dir, tta=views)
            row = (f"| `{path.stem}` | {views} ({len(VIEWS[views])}) | {result['examples']} | "
                   f"{result['accuracy']:.4f} | {result.get('top5_accuracy', float('nan')):.4f} | "
                   f"{time.perf_counter() - started:.0f} |")
            lines.append(row)
            print(row, flush=True)
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
