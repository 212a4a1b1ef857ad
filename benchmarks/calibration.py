"""Does a reading's confidence mean something? A reliability table, and the threshold for "unsure".

The threshold is chosen on the model's own validation digits (its run's seeded split of the
training set, rebuilt from the config stored in the model file): the top of the highest band of
the table whose readings are right less than 90% of the time. The official test set is then read once, to report
the same table, how often "unsure" readings are wrong, and how many digits the model calls "not a
digit" (never right on a digit: it counts as a mistake).

    python benchmarks/calibration.py --mnist DIR [--checkpoint PATH]

DIR holds MNIST's training files (the shipped model was trained on the full MNIST).
"""

from __future__ import annotations

import argparse
from itertools import pairwise
from pathlib import Path

import numpy as np

from digits.learn.data import load_training_split, split_train_val
from digits.read.checkpoint import load_model_file
from digits.read.datasets import CLASSES, TEST_DIR, load_idx_dir
from digits.read.forward import answers, probabilities

EDGES = [0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999, 1.0001]
RIGHT_AT_LEAST = 0.9


def _bin(confidence: np.ndarray, right: np.ndarray, low: float, high: float) -> float:
    inside = (confidence >= low) & (confidence < high)
    return float(right[inside].mean()) if inside.any() else 1.0


def reliability(confidence: np.ndarray, right: np.ndarray) -> list[str]:
    rows = ["| stated confidence | readings | right |", "| --- | --- | --- |"]
    for low, high in pairwise(EDGES):
        inside = (confidence >= low) & (confidence < high)
        if inside.any():
            rows.append(f"| {low:.1%}–{min(high, 1):.1%} | {inside.sum():,} | {right[inside].mean():.1%} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", type=Path, required=True, help="folder with MNIST's training files")
    parser.add_argument("--checkpoint", type=Path, help="model file (default: the one predict uses)")
    args = parser.parse_args()
    model = load_model_file(args.checkpoint)
    data, train = model.config["data"], model.config["train"]
    digits = load_training_split(data["source"], str(args.mnist), model.image_size)
    val = split_train_val(digits, data["val_fraction"], train["seed"]).val

    probs = probabilities(model, val.images)
    answer = answers(probs)
    confidence, right = probs[np.arange(len(answer)), answer], answer == val.labels
    threshold = max(
        (high for low, high in pairwise(EDGES) if _bin(confidence, right, low, high) < RIGHT_AT_LEAST), default=0.0
    )
    print(f"{model.path}: validation, {len(val.labels):,} digits\n")
    print("\n".join(reliability(confidence, right)))
    print(
        f"\nunsure below {threshold:.0%}: the top of the highest band right less than {RIGHT_AT_LEAST:.0%} of the time\n"
    )

    test = load_idx_dir(TEST_DIR, "t10k")
    probs = probabilities(model, test.images)
    answer = answers(probs)
    confidence, right = probs[np.arange(len(answer)), answer], answer == test.labels
    refused = answer == len(CLASSES)  # "not a digit", where the model has that answer
    unsure = (confidence < threshold) & ~refused
    print(f"official test set, {len(test.labels):,} digits, read once\n")
    print("\n".join(reliability(confidence, right)))
    print(
        f"\nmarked unsure: {unsure.sum():,} readings ({unsure.mean():.2%}), {right[unsure].mean():.1%} of them right; "
        f"the others {right[~unsure].mean():.2%} right; of all {(~right).sum()} mistakes, {(unsure & ~right).sum()} "
        f'are marked unsure\nanswered "not a digit": {refused.sum():,} ({refused.mean():.2%}); refused or marked '
        f"unsure: {(refused | unsure).sum():,} ({(refused | unsure).mean():.2%}); accuracy {right.mean():.2%}"
    )


if __name__ == "__main__":
    main()
