"""What sorting text batches by length (`length_groups`) saves the MiniLM fine-tuning stage, in
one run.

    python benchmarks/text_length_groups.py --data-dir DIR [--texts 1280] [--rounds 2]

On `--texts` AG News rows (the real test split in DIR; `../shared/data/unpack.py` writes it):
- the padded length of the stage's batches, counted from the word-piece counts, for each epoch
  order: drawn at random (`length_groups=None`) and sorted within groups of 16 batches (the
  `agnews_minilm` recipe's `finetune`); the encoder's work grows about linearly with it;
- one epoch of the stage (`training.pieces.finetune`, `finetune_layers=2`) timed in each order,
  alternating, `--rounds` times; the fastest of each counts (a call also builds and traces its
  model: the same fixed cost in both).

The last line (one JSON object) holds both figures and their ratios.
"""
import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from training import pieces  # noqa: E402
from training.fit import machine  # noqa: E402
from training.recipes import recipe_for  # noqa: E402
from zoo.data import load_splits  # noqa: E402
from zoo.text.minilm import WordPiecePreprocessor, as_strings, load_tokenizer  # noqa: E402

GROUPS = 16


def padded_length(texts, counts, recipe, length_groups):
    """Mean over one epoch's batches of the longest text of the batch, in word pieces (what
    each text is padded to); `counts`: word pieces per text."""
    stage = {**recipe, "epochs": 1, "length_groups": length_groups}
    rows = np.arange(len(counts))
    batches = pieces.train_dataset((np.asarray(texts, object), rows), stage)
    return float(np.mean([counts[b[1].numpy()].max() for b in batches]))


def epoch_seconds(texts, labels, recipe, length_groups):
    """Seconds of one epoch of the fine-tuning stage in that order."""
    spec = {**recipe["finetune"], "epochs": 1, "length_groups": length_groups}
    model = pieces.build_model("agnews_minilm", {"finetune_layers": 2}, recipe)
    start = time.perf_counter()
    pieces.finetune(model, {**recipe, "finetune": spec}, (texts, labels))
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", default=os.environ.get("ZOO_DATA_DIR"))
    parser.add_argument("--texts", type=int, default=1280)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    splits = load_splits("ag_news", seed=0, data_dir=args.data_dir)
    texts, labels = splits.train[0][:args.texts], splits.train[1][:args.texts]
    recipe = recipe_for("agnews_minilm")
    batch = recipe["finetune"]["batch_size"]
    counts = WordPiecePreprocessor(load_tokenizer()).token_counts(tf.constant(as_strings(texts)))
    lengths = {str(g): padded_length(texts, counts, {**recipe, "batch_size": batch}, g)
               for g in (None, GROUPS)}
    print(f"padded length of a batch of {batch}: random {lengths['None']:.1f}, sorted in "
          f"groups of {GROUPS} batches {lengths[str(GROUPS)]:.1f} word pieces", flush=True)
    seconds = {"None": [], str(GROUPS): []}
    for round_ in range(args.rounds):
        for groups in (None, GROUPS):
            seconds[str(groups)].append(epoch_seconds(texts, labels, recipe, groups))
            print(f"round {round_ + 1}: length_groups={groups}: "
                  f"{seconds[str(groups)][-1]:.1f} s", flush=True)
    best = {key: min(value) for key, value in seconds.items()}
    print(json.dumps({"benchmark": "text_length_groups", "texts": len(labels),
                      "batch_size": batch, "length_groups": GROUPS,
                      "padded_length": lengths, "epoch_seconds": best,
                      "padding_ratio": lengths[str(GROUPS)] / lengths["None"],
                      "time_ratio": best[str(GROUPS)] / best["None"], "machine": machine()}))


if __name__ == "__main__":
    main()
