"""Numbers written in a hurry: digits that touch and overlap, or stand close. Does `digits read` read them?

Numbers of 2–5 MNIST digits are written as `preprocessing.py` writes them (each digit 85–115% of a
common height, a little off a common baseline), with their digits overlapping by a share of a
digit's width (each one starting before the one before it ends), or 1 px to 12% of the height
apart, or spaced as MNIST's own 28×28 boxes side by side. Each is read by `read_number`, as `digits
read` reads it, and counts only when read exactly. Where a number is misread, the runner-up the
reader names ("4262 (or 4282)") is counted too.

It also times `read` on a row of 5 touching digits against `predict` on a page of its first digit
alone, on the same page: the median of each, and their ratio.

    python benchmarks/touching.py [--digits test|validation] [--mnist DIR] [--count N] [--checkpoint PATH]

Choose on `--digits validation --mnist DIR` (the digit model's own validation digits); report on
the official test digits (the default), read once.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from drawing import number_page  # on sys.path: benchmarks/
from preprocessing import mnist_digits, table

from digits.read.checkpoint import load_model_file
from digits.read.number import number_marks
from digits.read.reading import predict_marks, read_number

SEED = 38
LENGTHS = (2, 3, 4, 5)
# (name, gaps of the height, overlaps of a digit's width); None for MNIST's boxes side by side
SETS = [
    ("overlap 0–10%", (0.0, 0.0), (0.0, 0.1)),
    ("overlap 10–20%", (0.0, 0.0), (0.1, 0.2)),
    ("overlap 20–30%", (0.0, 0.0), (0.2, 0.3)),
    ("close, 1 px–12% apart", (0.0, 0.12), None),
    ("spaced as MNIST's boxes", None, None),
]
TIMED = 30  # rows of 5 touching digits timed


def picture(rng: np.random.Generator, inks: np.ndarray, gaps: tuple[float, float] | None, overlaps) -> np.ndarray:
    """A number's page as a clean grey picture (white paper, black ink)."""
    if gaps is None:  # MNIST's boxes side by side, with a box's paper round them, twice their size
        ink = np.pad(np.hstack(list(inks)), 14).astype(np.float32) / 255
        ink = np.kron(ink, np.ones((2, 2)))
    else:
        ink = number_page(rng, inks, gaps, overlaps).ink
    return np.round(255 * (1 - ink)).astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--digits", choices=["test", "validation"], default="test")
    parser.add_argument("--mnist", type=Path, help="MNIST's IDX files, for --digits validation")
    parser.add_argument("--count", type=int, default=100, help="numbers in each set")
    parser.add_argument("--checkpoint", type=Path, default=None, help="the digit model (default: the shipped one)")
    args = parser.parse_args()
    model = load_model_file(args.checkpoint)
    digits = mnist_digits(model, "test" if args.digits == "test" else "val", args.mnist)
    rng = np.random.default_rng(SEED)
    rows = [("set", "numbers", "exact", "runner-up right", "no number")]
    for name, gaps, overlaps in SETS:
        exact = runner_up = refused = 0
        for _ in range(args.count):
            chosen = rng.choice(len(digits.labels), int(rng.choice(LENGTHS)), replace=False)
            truth = "".join(str(d) for d in digits.labels[chosen])
            reading = read_number(model, name, picture(rng, digits.images[chosen], gaps, overlaps))
            exact += reading.number == truth
            runner_up += reading.number != truth and reading.runner_up == truth
            refused += reading.number is None
        rows.append((name, str(args.count), f"{exact / args.count:.1%}", str(runner_up), str(refused)))
    print(f"{args.digits} digits, seed {SEED}, {args.count} numbers of {LENGTHS[0]}–{LENGTHS[-1]} digits a set")
    print(table(rows))

    reads, predicts = [], []
    for _ in range(TIMED):
        chosen = rng.choice(len(digits.labels), 5, replace=False)
        page = number_page(rng, digits.images[chosen], (0.0, 0.0), (0.0, 0.25))
        alone = number_page(rng, digits.images[chosen[:1]], (0.0, 0.0)).ink
        one = np.zeros((max(page.ink.shape[0], alone.shape[0]), page.ink.shape[1]))  # as wide as the row's page
        one[: alone.shape[0], : alone.shape[1]] = alone[:, : one.shape[1]]
        pictures = [np.round(255 * (1 - ink)).astype(np.uint8) for ink in (page.ink, one)]
        started = time.perf_counter()
        read_number(model, "row", pictures[0])
        reads.append(time.perf_counter() - started)
        started = time.perf_counter()
        predict_marks(model, [("digit", number_marks(pictures[1], "digit", model.image_size))], 1, False)
        predicts.append(time.perf_counter() - started)
    read_ms, predict_ms = 1000 * np.median(reads), 1000 * np.median(predicts)
    print(f"\nread, 5 touching digits: {read_ms:.1f} ms (median of {TIMED})")
    print(f"predict, the first digit on the same page: {predict_ms:.1f} ms")
    print(f"ratio: {read_ms / predict_ms:.2f}× (goal ≤ 3×)")


if __name__ == "__main__":
    main()
