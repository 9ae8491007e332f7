"""Start-up cost of `python -m zoo list` against importing TensorFlow, side by side.

    python benchmarks/list_startup.py [--repeats 5]

Each command runs in a fresh interpreter, alternating, `--repeats` times; the figures are
medians of wall time. The last line is one JSON object; `ratio` = list / import tensorflow
(smaller is better: `list` reads the model index and the cards, and imports no backend).
"""
import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COMMANDS = {
    "zoo_list": [sys.executable, "-m", "zoo", "list"],
    "import_tensorflow": [sys.executable, "-c", "import tensorflow"],
}


def wall_time(command):
    started = time.perf_counter()
    subprocess.run(command, cwd=REPO, check=True, capture_output=True)
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    times = {name: [] for name in COMMANDS}
    for _ in range(args.repeats):
        for name, command in COMMANDS.items():
            times[name].append(wall_time(command))
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, seconds in medians.items():
        print(f"{name:>18}: {seconds:.3f} s (median of {args.repeats})")
    print(json.dumps({"zoo_list_s": round(medians["zoo_list"], 3),
                      "import_tensorflow_s": round(medians["import_tensorflow"], 3),
                      "ratio": round(medians["zoo_list"] / medians["import_tensorflow"], 4),
                      "repeats": args.repeats}))


if __name__ == "__main__":
    main()
