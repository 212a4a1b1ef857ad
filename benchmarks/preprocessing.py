"""How well does the model read digits as people send them? Plain resize vs the digits pipeline.

MNIST digits the model never trained on are each drawn the way people's images tend to look,
written to a real file, and read back two ways:

- plain resize: what a naive user does, `Image.open(p).convert("L").resize((28, 28))`, pixels
  fed as they are (no inversion, no cropping, alpha simply dropped);
- digits pipeline: `DigitReader.predict`, as `digits predict` reads (polarity,
  paper level, crop to the ink, 20×20 box, centre of mass). A file it refuses counts as wrong.

The clean kinds: dark ink on a white page of any size, felt-tip strokes, a transparent PNG, white
on black, a JPEG photo of grey paper; then the digits themselves as 28×28 PNGs. The kinds people
photograph: a page in shadow, a page tilted in perspective, pencil, ruled and squared paper, a
form's printed box, chalk on a board, a small digit on a large page. Then digits by other writers
(scikit-learn's 8×8 digits, enlarged). Then blank pages of each kind, on which the pipeline must
find nothing; whole numbers of 2–6 digits, read by `digits.read.number.read_number` as `digits read`
does; and, on the photographed kinds, whether the pipeline's stated confidence means something.

Which digits: `--digits test` (the default), MNIST's official test digits, bundled: report on
these, read once; or `--digits validation --mnist DIR`, the model's own validation digits (its
run's seeded split of its training set, rebuilt from the config stored in the model file, as
benchmarks/calibration.py does): choose thresholds and methods on these. Of the other writers'
digits, the first half go with validation and the second with test. The drawings come from
seeded generators, so every run (and every --limit prefix) is the same.

    python benchmarks/preprocessing.py [--checkpoint PATH] [--digits test|validation] [--mnist DIR]
        [--limit N] [--numbers N] [--blanks N] [--save-failures DIR]

It prints markdown tables that can be pasted into the README as they are.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from calibration import reliability  # benchmarks/calibration.py: a script's own folder is on sys.path
from drawing import number_page
from PIL import Image, ImageDraw
from renderings import BLANK_KINDS, CLEAN_KINDS, MNIST_KIND, NUMBER_PAPERS, OTHER_WRITERS, PHOTO_KINDS, Finish, Render

from digits.errors import DigitsError
from digits.learn.data import load_training_split, split_train_val
from digits.read.checkpoint import ModelFile, load_model_file
from digits.read.datasets import CLASSES, TEST_DIR, Digits, load_idx_dir, resize
from digits.read.forward import UNSURE_BELOW, answers, probabilities
from digits.read.images import open_colours
from digits.read.reader import DigitReader
from digits.read.reading import read_number

SEED = 0
SAVED_FAILURES_PER_KIND = 6
# Whole numbers: digits of slightly different sizes, on slightly different baselines, close or far apart.
NUMBER_LENGTHS = (2, 3, 4, 5, 6)
GAP_BANDS = ((0.05, 0.15), (0.15, 0.3), (0.3, 0.6))  # between neighbours' ink, of the digits' height
# The goals
GOAL_EACH_KIND = 0.97
GOAL_BEHIND_CLEAN = 0.02  # each kind at most this far below the clean kinds overall
GOAL_NUMBERS = 0.95


def mnist_digits(model: ModelFile, which: str, mnist: Path | None) -> Digits:
    """MNIST's official test digits, or the model's own validation digits, 28×28 as drawn."""
    if which == "test":
        return load_idx_dir(TEST_DIR, "t10k")
    data, train = model.config["data"], model.config["train"]
    digits = load_training_split(data["source"], str(mnist or ""), 28)
    return split_train_val(digits, data["val_fraction"], train["seed"]).val


def other_writers_digits(which: str, limit: int) -> Digits | None:
    """The first `limit` of scikit-learn's 1,797 8×8 digits by other writers (as 0–255 ink) in the
    first half for validation, or in the second for test; None without scikit-learn."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        return None
    bunch = load_digits()
    half = len(bunch.target) // 2
    part = slice(0, min(half, limit)) if which == "validation" else slice(half, half + limit)
    ink = np.round(bunch.images[part] * 255 / 16).astype(np.uint8)  # 16 grey levels, 0 to 16
    return Digits(ink, bunch.target[part].astype(np.int64), "scikit-learn's digits")


@dataclass
class Readings:
    """One kind's files read back, per image: right by plain resize, right by the pipeline (a file
    it refused is wrong), and the pipeline's reading's probability (0 where it refused the file)."""

    plain: np.ndarray
    right: np.ndarray
    confidence: np.ndarray


@dataclass
class NumberReadings:
    """Numbers drawn on one kind of paper and read back, per number: its length, its gap band (an
    index into GAP_BANDS), and whether read_number read it exactly."""

    length: np.ndarray
    band: np.ndarray
    right: np.ndarray


def plain_resize(path: Path, size: int) -> np.ndarray:
    """What a naive user does: grayscale, bilinear resize, pixels as they are."""
    with Image.open(path) as image:
        return np.asarray(image.convert("L").resize((size, size), Image.Resampling.BILINEAR))


def pipeline(path: Path, model: ModelFile) -> np.ndarray | None:
    """The matrix `digits predict` reads; None when it finds no one digit (a blank page, several
    digits) or cannot read the file."""
    return DigitReader(model).predict(path).pixels


def graded(model: ModelFile, matrices: list[np.ndarray | None], labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per image, whether the model's answer is the label, and the answer's probability (a refused
    image: wrong, and 0; "not a digit": wrong)."""
    size = model.image_size
    read = np.stack([m if m is not None else np.zeros((size, size), np.uint8) for m in matrices])
    probs = probabilities(model, read)
    answer = answers(probs)
    seen = np.array([m is not None for m in matrices])
    return (answer == labels) & seen, probs[np.arange(len(answer)), answer] * seen


def run_kind(
    model: ModelFile,
    digits: Digits,
    readable: np.ndarray,
    render: Render,
    rng: np.random.Generator,
    workdir: Path,
    failures: Path | None,
) -> Readings:
    """Render every digit to a file and read each back both ways."""
    paths = [render(ink, rng, workdir / f"{render.__name__}-{i:04d}") for i, ink in enumerate(digits.images)]
    plain, _ = graded(model, [plain_resize(p, model.image_size) for p in paths], digits.labels)
    seen = [pipeline(p, model) for p in paths]
    right, confidence = graded(model, seen, digits.labels)
    if failures is not None:
        save_failures(model, paths, seen, digits.labels, right, readable, failures)
    return Readings(plain, right, confidence)


def run_blanks(
    model: ModelFile, render: Render, count: int, rng: np.random.Generator, workdir: Path, failures: Path | None
) -> tuple[int, int]:
    """Draw `count` pages with no digit: on how many predict reports a digit (does not
    refuse the file), and on how many read_number reports any digits."""
    blank = np.zeros((28, 28), dtype=np.uint8)  # no ink: the page, lines and boxes drawn as for a digit
    digit_found, number_found, saved = 0, 0, 0
    for i in range(count):
        path = render(blank, rng, workdir / f"blank-{render.__name__}-{i:03d}")
        seen = pipeline(path, model)
        answer = None if seen is None else int(answers(probabilities(model, seen[None]))[0])
        found = answer is not None and answer < len(CLASSES)  # "not a digit" is no digit found
        number = read_number(model, str(path), open_colours(path)).number
        digit_found, number_found = digit_found + found, number_found + bool(number)
        if failures is not None and (found or number) and saved < SAVED_FAILURES_PER_KIND:
            digit = answer if found else "nothing"
            failures.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, failures / f"{path.stem}-predict{digit}-read{number or 'nothing'}{path.suffix}")
            saved += 1
    return digit_found, number_found


def run_numbers(
    model: ModelFile,
    digits: Digits,
    finish: Finish,
    count: int,
    rng: np.random.Generator,
    workdir: Path,
    failures: Path | None,
) -> NumberReadings:
    """Draw `count` numbers, lengths and gap bands in turn, each from the next digits of the set
    (none used twice until all are), and read each as `digits read` does."""
    lengths = np.array([NUMBER_LENGTHS[i % len(NUMBER_LENGTHS)] for i in range(count)])
    bands = np.arange(count) // len(NUMBER_LENGTHS) % len(GAP_BANDS)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    right, saved = np.zeros(count, dtype=bool), 0
    for i, (length, band, start) in enumerate(zip(lengths, bands, starts, strict=True)):
        chosen = np.arange(start, start + length) % len(digits.labels)
        page = number_page(rng, digits.images[chosen], GAP_BANDS[band])
        path = finish(page, rng, workdir / f"number-{finish.__name__}-{i:04d}")
        reading = read_number(model, str(path), open_colours(path))
        truth = "".join(str(label) for label in digits.labels[chosen])
        right[i] = reading.number == truth
        if failures is not None and not right[i] and saved < SAVED_FAILURES_PER_KIND:
            save_number_failure(path, truth, reading.number, [d.box for d in reading.digits], failures)
            saved += 1
    return NumberReadings(lengths, bands, right)


def save_failures(
    model: ModelFile,
    paths: list[Path],
    seen: list[np.ndarray | None],
    labels: np.ndarray,
    correct: np.ndarray,
    readable: np.ndarray,
    folder: Path,
) -> None:
    """Keep the first few images the pipeline got wrong: the file, and what the model saw (×8).
    First those whose original the model reads right: they tell about the pipeline."""
    folder.mkdir(parents=True, exist_ok=True)
    wrong = np.flatnonzero(~correct)
    for i in np.concatenate([wrong[readable[wrong]], wrong[~readable[wrong]]])[:SAVED_FAILURES_PER_KIND]:
        path, matrix = paths[i], seen[i]
        guess = "refused" if matrix is None else str(answers(probabilities(model, matrix[None]))[0])
        name = f"{path.stem}-label{labels[i]}-read{guess}"
        shutil.copy(path, folder / f"{name}{path.suffix}")
        if matrix is not None:
            big = Image.fromarray(matrix).resize((matrix.shape[1] * 8, matrix.shape[0] * 8), Image.Resampling.NEAREST)
            big.save(folder / f"{name}-seen.png")


def save_number_failure(
    path: Path, truth: str, number: str | None, boxes: list[tuple[int, int, int, int]], folder: Path
) -> None:
    """Keep a misread number: the file, and a copy with the boxes read_number found drawn on it."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{path.stem}-number{truth}-read{number or 'nothing'}"
    shutil.copy(path, folder / f"{name}{path.suffix}")
    with Image.open(path) as image:
        marked = image.convert("RGB")
    draw = ImageDraw.Draw(marked)
    for left, top, right, bottom in boxes:
        draw.rectangle((left, top, right - 1, bottom - 1), outline=(255, 0, 0))
    marked.save(folder / f"{name}-boxes.png")


def table(rows: list[tuple[str, ...]]) -> str:
    """A markdown pipe table from its header and rows, the first column left-aligned and the others
    right-aligned, padded so it also reads well as plain text."""
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    lines = []
    for r, row in enumerate(rows):
        padded = [row[0].ljust(widths[0])] + [cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=True)]
        lines.append("| " + " | ".join(padded) + " |")
        if r == 0:
            lines.append("|" + "|".join(["-" * (widths[0] + 2)] + ["-" * (w + 1) + ":" for w in widths[1:]]) + "|")
    return "\n".join(lines)


def pooled(readings: list[Readings]) -> Readings:
    """Several kinds' readings as one."""
    return Readings(
        np.concatenate([r.plain for r in readings]),
        np.concatenate([r.right for r in readings]),
        np.concatenate([r.confidence for r in readings]),
    )


def kind_row(kind: str, readings: Readings) -> tuple[str, ...]:
    return (kind, f"{len(readings.right):,}", f"{readings.plain.mean():.1%}", f"{readings.right.mean():.1%}")


def kinds_report(results: dict[str, Readings], mnist_kind: str) -> list[str]:
    """The kinds' table, each group with its overall row, and each kind checked against the goal."""
    clean = [kind for kind, _ in CLEAN_KINDS]
    photographed = [kind for kind, _ in PHOTO_KINDS]
    others = [kind for kind in [OTHER_WRITERS[0]] if kind in results]
    clean_overall = pooled([results[kind] for kind in clean])
    rows = [("kind", "images", "plain resize", "digits pipeline")]
    rows += [kind_row(kind, results[kind]) for kind in clean]
    rows.append(kind_row("clean kinds, overall", clean_overall))
    rows += [kind_row(kind, results[kind]) for kind in [mnist_kind, *photographed]]
    rows.append(kind_row("photographed kinds, overall", pooled([results[kind] for kind in photographed])))
    rows += [kind_row(kind, results[kind]) for kind in others]
    bar = max(GOAL_EACH_KIND, clean_overall.right.mean() - GOAL_BEHIND_CLEAN)
    scores = {kind: results[kind].right.mean() for kind in [*clean, *photographed, *others]}
    missed = [f"{kind} {score:.1%}" for kind, score in scores.items() if score < bar]
    verdict = f"missed by {', '.join(missed)}" if missed else "met by every kind"
    return [
        table(rows),
        "",
        f"goal, each kind ≥ {GOAL_EACH_KIND:.0%} and within {GOAL_BEHIND_CLEAN * 100:.0f} points of the clean kinds' "
        f"{clean_overall.right.mean():.1%} (so ≥ {bar:.1%}): {verdict}",
    ]


def blanks_report(blanks: dict[str, tuple[int, int]], count: int) -> list[str]:
    """How many blank pages of each kind were read as holding a digit, or a number; the goal is none."""
    rows = [("blank page", "pages", "predict reports a digit", "read reports digits")]
    rows += [(kind, str(count), str(digit), str(number)) for kind, (digit, number) in blanks.items()]
    missed = [kind for kind, found in blanks.items() if any(found)]
    verdict = f"missed on {', '.join(missed)}" if missed else "met on every kind"
    return [table(rows), "", f"goal, no digit reported on any blank page: {verdict}"]


def percent(share: float) -> str:
    return "–" if np.isnan(share) else f"{share:.1%}"


def number_shares(read: NumberReadings) -> list[float]:
    """Share of numbers read exactly, per length, per gap band, and of all."""
    groups = [read.length == n for n in NUMBER_LENGTHS] + [read.band == b for b in range(len(GAP_BANDS))]
    return [float(read.right[group].mean()) if group.any() else np.nan for group in groups] + [read.right.mean()]


def numbers_report(numbers: dict[str, NumberReadings]) -> list[str]:
    """Share of numbers read exactly, per paper (rows), per length and gap band (columns)."""
    bands = [f"gaps {low:.0%}–{high:.0%}" for low, high in GAP_BANDS]
    header = ("numbers on", *(f"{n} digits" for n in NUMBER_LENGTHS), *bands, "all")
    every = NumberReadings(
        *(np.concatenate([getattr(n, f) for n in numbers.values()]) for f in ("length", "band", "right"))
    )
    shares = {paper: number_shares(read) for paper, read in [*numbers.items(), ("overall", every)]}
    counts = {paper: len(read.right) for paper, read in [*numbers.items(), ("overall", every)]}
    rows = [header] + [(f"{paper} ({counts[paper]:,})", *map(percent, row)) for paper, row in shares.items()]
    missed = [f"{paper} {percent(row[-1])}" for paper, row in shares.items() if row[-1] < GOAL_NUMBERS]
    columns = zip(header[1:-1], shares["overall"][:-1], strict=True)
    weakest = [f"{column} {percent(share)}" for column, share in columns if share < GOAL_NUMBERS]
    verdict = "met on every paper"
    if missed:
        verdict = f"missed by {', '.join(missed)}; over all papers, below it: {', '.join(weakest) or 'nothing'}"
    return [table(rows), "", f"goal, ≥ {GOAL_NUMBERS:.0%} of numbers read exactly (gaps ≥ 5% of the height): {verdict}"]


def calibration_report(readings: Readings) -> list[str]:
    """Stated confidence against share right over readings (a refused file is no reading), and what
    marking those below UNSURE_BELOW as unsure catches."""
    read = readings.confidence > 0
    right, confidence = readings.right[read], readings.confidence[read]
    unsure = confidence < UNSURE_BELOW
    right_unsure = f"{right[unsure].mean():.1%}" if unsure.any() else "–"
    return [
        *reliability(confidence, right),
        "",
        f"marked unsure (below {UNSURE_BELOW:.0%}): {unsure.sum():,} of {len(right):,} readings ({unsure.mean():.1%}), "
        f"{right_unsure} of them right; the others {right[~unsure].mean():.2%} right; of all {(~right).sum():,} "
        f"mistakes, {(unsure & ~right).sum():,} are marked unsure; {(~read).sum():,} refused files are no reading",
    ]


def machine() -> str:
    processor, arch = platform.processor(), platform.machine()
    name = arch if not processor or processor == arch else f"{processor} ({arch})"
    return f"{name}, {os.cpu_count()} CPUs"


def run_all(
    model: ModelFile,
    digits: Digits,
    first: Digits,
    readable: np.ndarray,
    others: Digits | None,
    args: argparse.Namespace,
) -> tuple[dict[str, Readings], dict[str, tuple[int, int]], dict[str, NumberReadings]]:
    """Every kind of digit (the `first` digits of the set, or of the other writers'), of blank page
    and of paper for numbers (drawn from all the set's digits), each in a process of its own (the
    cores share the rendering and reading), each with its own seeded generator: the clean kinds'
    the same as they have always been, the others' the same whether or not scikit-learn is there."""
    sets = [(first, readable)] * (len(CLEAN_KINDS) + 1 + len(PHOTO_KINDS))
    if others is not None:  # no original to compare with: a misread counts as new
        sets.append((others, np.ones(len(others.labels), dtype=bool)))
    kinds = [*CLEAN_KINDS, (MNIST_KIND[0].format(args.digits), MNIST_KIND[1]), *PHOTO_KINDS, OTHER_WRITERS]
    seeds = np.random.SeedSequence(SEED).spawn(len(kinds) + len(BLANK_KINDS) + len(NUMBER_PAPERS))
    rngs = [np.random.default_rng(seed) for seed in seeds]
    blank_rngs, number_rngs = rngs[len(kinds) : -len(NUMBER_PAPERS)], rngs[-len(NUMBER_PAPERS) :]
    failures = args.save_failures
    with tempfile.TemporaryDirectory(prefix="digits-bench-") as tmp, ProcessPoolExecutor(os.cpu_count()) as pool:
        work = Path(tmp)
        read = {
            kind: pool.submit(run_kind, model, *chosen, render, rng, work, failures)
            for (kind, render), chosen, rng in zip(kinds, sets, rngs, strict=False)  # no other writers' set: skipped
        }
        blanks = {
            kind: pool.submit(run_blanks, model, render, args.blanks, rng, work, failures)
            for (kind, render), rng in zip(BLANK_KINDS, blank_rngs, strict=True)
        }
        numbers = {
            paper: pool.submit(run_numbers, model, digits, finish, args.numbers, rng, work, failures)
            for (paper, finish), rng in zip(NUMBER_PAPERS, number_rngs, strict=True)
        }
        return (
            {kind: future.result() for kind, future in read.items()},
            {kind: future.result() for kind, future in blanks.items()},
            {paper: future.result() for paper, future in numbers.items()},
        )


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--checkpoint",
        type=Path,
        help="model file (default: the one predict uses: checkpoints/default.safetensors, else the shipped one)",
    )
    parser.add_argument(
        "--digits",
        choices=["test", "validation"],
        default="test",
        help="MNIST's official test digits, to report on (the default), or the model's own validation digits, to choose on",
    )
    parser.add_argument("--mnist", type=Path, metavar="DIR", help="MNIST's training files, for --digits validation")
    parser.add_argument(
        "--limit", type=positive, default=1000, help="the first N digits, per kind (default: %(default)s)"
    )
    parser.add_argument(
        "--numbers", type=positive, default=500, help="numbers drawn on each paper (default: %(default)s)"
    )
    parser.add_argument("--blanks", type=positive, default=50, help="blank pages of each kind (default: %(default)s)")
    parser.add_argument("--save-failures", type=Path, metavar="DIR", help="keep a few pipeline misreads per kind here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    start = time.perf_counter()
    args = arguments(argv)
    try:
        model = load_model_file(args.checkpoint)
        if args.digits == "validation" and args.mnist is None and model.config["data"]["source"] != "sample":
            raise DigitsError(
                f"--digits validation needs --mnist DIR: {model.path} was trained on MNIST's training files"
            )
        digits = mnist_digits(model, args.digits, args.mnist)
    except DigitsError as e:
        print(e, file=sys.stderr)
        return 1
    first = Digits(digits.images[: args.limit], digits.labels[: args.limit], digits.source)
    # what the model reads in the digits as they are: a misread of one it reads right is new
    readable = answers(probabilities(model, resize(first, model.image_size).images)) == first.labels
    others = other_writers_digits(args.digits, args.limit)

    print(f"checkpoint: {model.path} ({model.image_size}×{model.image_size})")
    purpose = "to report on, once" if args.digits == "test" else "to choose thresholds and methods on"
    print(f"digits: the first {len(first.labels):,} of {len(digits.labels):,} MNIST {args.digits} digits, {purpose}")
    print(f"machine: {machine()}")
    print()
    results, blanks, numbers = run_all(model, digits, first, readable, others, args)
    print("\n".join(kinds_report(results, MNIST_KIND[0].format(args.digits))))
    if others is None:
        print("other writers: skipped, scikit-learn is not installed (pip install 'digits[bench]')")
    mnist_kinds = [kind for kind in results if kind != OTHER_WRITERS[0]]
    new = [f"{kind} {n}" for kind in mnist_kinds if (n := (readable & ~results[kind].right).sum())]
    print(f"pipeline misreads of digits the model reads right as they are: {', '.join(new) or 'none'}")
    refused = [f"{kind} {n}" for kind, r in results.items() if (n := (r.confidence == 0).sum())]
    if refused:
        print(f"files the pipeline refused (counted wrong): {', '.join(refused)}")
    print(f"\nblank pages, {args.blanks} of each kind:\n")
    print("\n".join(blanks_report(blanks, args.blanks)))
    print(f"\nwhole numbers of 2–6 digits, {args.numbers:,} on each paper, share read exactly (`digits read`):\n")
    print("\n".join(numbers_report(numbers)))
    print("\nthe pipeline's confidence on the photographed kinds:\n")
    print("\n".join(calibration_report(pooled([results[kind] for kind, _ in PHOTO_KINDS]))))
    if args.save_failures is not None:
        print(f"\npipeline misreads saved in {args.save_failures}")
    print(f"elapsed: {time.perf_counter() - start:.1f} s")
    return 0


def positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of digits, 1 or more; got {text!r}")
    return int(text)


if __name__ == "__main__":
    sys.exit(main())
