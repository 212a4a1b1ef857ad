"""Numbers with a point, a comma, a dash, a slash or a colon: does `digits read` keep them?

Prices, decimals, phone numbers, dates and times are written with MNIST digits the model never
trained on, as `preprocessing.py` writes whole numbers (each digit 85–115% of a common height, a
little off a common baseline, gaps of 10–40% of the height), with separators drawn by a pen as
wide as the digits' strokes: a point or comma on the baseline, a dash across the middle, a slash
leaning 20–45° from upright, a colon's two dots. Each is put on the papers of the number benchmark
(white, in shadow, ruled, a form's box), saved as a real file and read by `read_number`, as
`digits read` reads it. A number counts only when read exactly, separators included.

    python benchmarks/separators.py [--checkpoint PATH] [--digits test|validation] [--mnist DIR] [--count N]

Choose on `--digits validation --mnist DIR` (the model's own validation digits); report on the
official test digits (the default), read once.
"""

from __future__ import annotations

import argparse
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
from drawing import BASELINE_SPREAD, NUMBER_HEIGHT, SIZE_SPREAD, Page, cropped, scaled_ink  # on sys.path: benchmarks/
from PIL import Image, ImageDraw
from preprocessing import mnist_digits, table
from renderings import NUMBER_PAPERS

from digits.read.checkpoint import load_model_file
from digits.read.images import open_colours
from digits.read.reading import read_number

SEED = 20
# what people write with separators; "d" is a digit
PATTERNS = {
    "price 12.50": "dd.dd",
    "decimal 3,75": "d,dd",
    "phone 555-1234": "ddd-dddd",
    "date 30/11/2026": "dd/dd/dddd",
    "time 12:45": "dd:dd",
}
GAPS = (0.1, 0.4)  # between neighbours' ink, of the digits' height
PEN = (0.1, 0.16)  # the separators' pen, of the digits' height (MNIST's strokes: about 0.12)
SLASH_LEAN = (20, 45)  # degrees from upright, top to the right


def separator(mark: str, height: int, pen: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """A separator's ink (255 = ink), and how far its bottom lies above the digits' baseline."""
    size = 2 * height
    image = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(image)
    mid, r = size // 2, pen * rng.uniform(0.5, 0.9)
    raise_by = 0
    if mark == ".":
        draw.ellipse([mid - r, mid - r, mid + r, mid + r], fill=255)
        raise_by = int(rng.integers(0, max(1, height // 12)))
    elif mark == ",":
        draw.ellipse([mid - r, mid - r, mid + r, mid + r], fill=255)
        tail = height * rng.uniform(0.2, 0.3)
        draw.line([(mid + r / 2, mid), (mid - tail * 0.4, mid + tail)], fill=255, width=pen)
        raise_by = -round(tail * 0.6)  # the tail hangs below the baseline
    elif mark == "-":
        half = height * rng.uniform(0.15, 0.3)
        tilt = half * rng.uniform(-0.1, 0.1)
        draw.line([(mid - half, mid + tilt), (mid + half, mid - tilt)], fill=255, width=pen)
        raise_by = round(height * rng.uniform(0.4, 0.55) - pen / 2)
    elif mark == "/":
        tall = height * rng.uniform(0.9, 1.15)
        across = tall * np.tan(np.radians(rng.uniform(*SLASH_LEAN)))
        draw.line([(mid - across / 2, mid + tall / 2), (mid + across / 2, mid - tall / 2)], fill=255, width=pen)
        raise_by = round(height * rng.uniform(-0.1, 0.05))
    elif mark == ":":
        gap = height * rng.uniform(0.35, 0.5)
        for y in (mid - gap / 2, mid + gap / 2):
            draw.ellipse([mid - r, y - r, mid + r, y + r], fill=255)
        raise_by = round(height * rng.uniform(0.1, 0.25))
    return cropped(np.asarray(image)), raise_by


def number_with_separators(rng: np.random.Generator, pattern: str, inks: list[np.ndarray]) -> Page:
    """The pattern written left to right: its digits from `inks`, as `preprocessing.number_page`
    writes a number, and its separators drawn in between."""
    height = int(rng.integers(NUMBER_HEIGHT[0], NUMBER_HEIGHT[1] + 1))
    pen = max(2, round(height * rng.uniform(*PEN)))
    glyphs, raises, digits = [], [], iter(inks)
    for mark in pattern:
        if mark == "d":
            size = round(height * rng.uniform(1 - SIZE_SPREAD, 1 + SIZE_SPREAD))
            glyphs.append(cropped(scaled_ink(next(digits), size, max_width=2 * height)))
            raises.append(round(height * rng.uniform(-BASELINE_SPREAD, BASELINE_SPREAD)))
        else:
            glyph, raise_by = separator(mark, height, pen, rng)
            glyphs.append(glyph)
            raises.append(raise_by)
    spaces = np.maximum(1, np.round(height * rng.uniform(*GAPS, len(glyphs) - 1))).astype(int)
    margin = np.round(height * rng.uniform(0.3, 1.0, 4)).astype(int)
    baseline = margin[0] + round(height * (1.5 + SIZE_SPREAD))
    width = margin[1] + sum(glyph.shape[1] for glyph in glyphs) + int(spaces.sum()) + margin[3]
    page = np.zeros((baseline + height // 2 + margin[2], width))
    left, tops, bottoms = margin[1], [], []
    for glyph, raise_by, space in zip(glyphs, raises, [*spaces, 0], strict=True):
        bottom = baseline - raise_by
        page[bottom - glyph.shape[0] : bottom, left : left + glyph.shape[1]] = np.maximum(
            page[bottom - glyph.shape[0] : bottom, left : left + glyph.shape[1]], glyph / 255
        )
        tops.append(bottom - glyph.shape[0])
        bottoms.append(bottom)
        left += glyph.shape[1] + space
    return Page(page, (min(tops), margin[1], max(bottoms), width - margin[3]), height)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path)
    parser.add_argument("--digits", choices=["test", "validation"], default="test")
    parser.add_argument("--mnist", type=Path)
    parser.add_argument("--count", type=int, default=40, help="numbers of each pattern on each paper")
    parser.add_argument("--save-failures", type=Path)
    args = parser.parse_args()
    model = load_model_file(args.checkpoint)
    digits = mnist_digits(model, args.digits, args.mnist)
    print(f"checkpoint: {model.path}\nMNIST {args.digits} digits; {args.count} numbers of each pattern on each paper\n")
    right: dict[tuple[str, str], list[bool]] = defaultdict(list)
    used = 0
    with tempfile.TemporaryDirectory(prefix="digits-separators-") as tmp:
        for p, (name, pattern) in enumerate(PATTERNS.items()):
            for k, (paper, finish) in enumerate(NUMBER_PAPERS):
                rng = np.random.default_rng([SEED, p, k])
                for i in range(args.count):
                    count = pattern.count("d")
                    chosen = np.arange(used, used + count) % len(digits.labels)
                    used += count
                    page = number_with_separators(rng, pattern, list(digits.images[chosen]))
                    path = finish(page, rng, Path(tmp) / f"{p}-{k}-{i:04d}")
                    labels = iter(digits.labels[chosen])
                    truth = "".join(str(next(labels)) if mark == "d" else mark for mark in pattern)
                    reading = read_number(model, str(path), open_colours(path))
                    right[name, paper].append(reading.number == truth)
                    if args.save_failures and reading.number != truth:
                        args.save_failures.mkdir(parents=True, exist_ok=True)
                        name_of = f"{p}-{k}-{i}-{truth}-read-{reading.number}".replace("/", "|")
                        Image.open(path).save(args.save_failures / f"{name_of}.png")
    papers = [paper for paper, _ in NUMBER_PAPERS]
    rows = [("number", *papers, "all")]
    for name in PATTERNS:
        cells = [np.mean(right[name, paper]) for paper in papers]
        rows.append((name, *(f"{c:.1%}" for c in cells), f"{np.mean(cells):.1%}"))
    every = [np.mean([x for name in PATTERNS for x in right[name, paper]]) for paper in papers]
    rows.append(("all", *(f"{c:.1%}" for c in every), f"{np.mean(every):.1%}"))
    print(table(rows))


if __name__ == "__main__":
    main()
