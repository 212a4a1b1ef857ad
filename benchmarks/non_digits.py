"""Things that are not digits: how often does the reader call one a digit, and how sure is it?

A scribble, a letter not shaped like a digit (printed in each font found, and drawn by hand-like
strokes), a blob of ink and a horizontal bar are drawn into a 28×28 frame the way MNIST framed its
digits, then written on paper the ways `preprocessing.py` writes digits (a clean page, pencil, ruled
paper, a phone photo, a form's box, chalk ...), saved as real files and read back as `digits
predict` reads them. Each reading is one of: a confident digit (the failure this measures), a
digit marked unsure, "not a digit", or no digit (refused as a blank page). An upright single stroke is a 1, so
none is drawn.

    python benchmarks/non_digits.py [--checkpoint PATH] [--count N] [--seed S]

The non-digits are this project's own making, drawn apart from the ones the model learns "not a
digit" from (`digits.learn.non_digits`: other fonts, other strokes): choose a method on one seed, report
on another.
"""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from preprocessing import table  # benchmarks/preprocessing.py: on sys.path
from renderings import CLEAN_KINDS, PHOTO_KINDS

from digits.read.checkpoint import load_model_file
from digits.read.files import predict_paths
from digits.read.framing import mnist_frame
from digits.read.results import Prediction

CANVAS = 112  # px: a non-digit is drawn this size, then framed into 28×28 as MNIST framed digits
PEN = (7, 14)  # px at the canvas size: a pen's width, as MNIST's strokes are at 28×28 (2–3.5 px)
# letters no digit looks like (not O, I, l, S, Z, B, G, D, Q, b, g, q, z, s, o ...)
LETTERS = "ACEFHKMNPRTVWXYaefhkmnrtvwxy"
FONT_FILES = [  # not Pillow's own font, which training draws from: what a Debian machine has (fonts-dejavu)
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
]
# each capital drawn by hand as strokes between points on a 0–1 grid (x right, y down)
HAND_LETTERS = {
    "A": [[(0.1, 1), (0.5, 0), (0.9, 1)], [(0.28, 0.6), (0.72, 0.6)]],
    "E": [[(0.85, 0), (0.15, 0), (0.15, 1), (0.85, 1)], [(0.15, 0.5), (0.7, 0.5)]],
    "F": [[(0.85, 0), (0.15, 0), (0.15, 1)], [(0.15, 0.5), (0.7, 0.5)]],
    "H": [[(0.15, 0), (0.15, 1)], [(0.85, 0), (0.85, 1)], [(0.15, 0.5), (0.85, 0.5)]],
    "K": [[(0.15, 0), (0.15, 1)], [(0.85, 0), (0.15, 0.55)], [(0.35, 0.4), (0.85, 1)]],
    "M": [[(0.1, 1), (0.1, 0), (0.5, 0.6), (0.9, 0), (0.9, 1)]],
    "N": [[(0.15, 1), (0.15, 0), (0.85, 1), (0.85, 0)]],
    "T": [[(0.05, 0), (0.95, 0)], [(0.5, 0), (0.5, 1)]],
    "V": [[(0.1, 0), (0.5, 1), (0.9, 0)]],
    "W": [[(0, 0), (0.25, 1), (0.5, 0.3), (0.75, 1), (1, 0)]],
    "X": [[(0.1, 0), (0.9, 1)], [(0.9, 0), (0.1, 1)]],
    "Y": [[(0.1, 0), (0.5, 0.5), (0.9, 0)], [(0.5, 0.5), (0.5, 1)]],
}


def scribble(rng: np.random.Generator) -> Image.Image:
    """A pen wandering in loops: its direction turns by a random amount at every step."""
    image, pen = _canvas()
    heading, point, points = rng.uniform(0, 2 * np.pi), np.array([CANVAS / 2, CANVAS / 2]), []
    for _ in range(int(rng.integers(60, 120))):
        heading += rng.normal(0, 0.6)
        point = np.clip(point + 6 * np.array([np.cos(heading), np.sin(heading)]), 10, CANVAS - 10)
        points.append(tuple(point))
    pen.line(points, fill=255, width=int(rng.integers(*PEN)), joint="curve")
    return image


def printed_letter(rng: np.random.Generator, fonts: list[ImageFont.FreeTypeFont]) -> Image.Image:
    """A letter no digit looks like, in one of the fonts, in the pen's weight."""
    image, pen = _canvas()
    font = fonts[int(rng.integers(len(fonts)))]
    pen.text((CANVAS / 2, CANVAS / 2), str(rng.choice(list(LETTERS))), fill=255, font=font, anchor="mm")
    return image.filter(ImageFilter.MaxFilter(int(rng.choice([1, 3, 5]))))


def hand_letter(rng: np.random.Generator) -> Image.Image:
    """A capital drawn by hand: its strokes through jittered points, slanted a little."""
    image, pen = _canvas()
    strokes = HAND_LETTERS[str(rng.choice(list(HAND_LETTERS)))]
    width, slant = int(rng.integers(*PEN)), rng.uniform(-0.25, 0.25)
    for stroke in strokes:
        points = [
            (20 + 72 * (x + slant * (0.5 - y) + rng.normal(0, 0.03)), 20 + 72 * (y + rng.normal(0, 0.03)))
            for x, y in stroke
        ]
        pen.line(points, fill=255, width=width, joint="curve")
    return image


def blob(rng: np.random.Generator) -> Image.Image:
    """A blot: a few overlapping ellipses filled with ink."""
    image, pen = _canvas()
    for _ in range(int(rng.integers(1, 4))):
        x, y = rng.uniform(35, 77, 2)
        rx, ry = rng.uniform(14, 30, 2)  # no thinner: a thin upright blot is a 1
        pen.ellipse([x - rx, y - ry, x + rx, y + ry], fill=255)
    return image


def bar(rng: np.random.Generator) -> Image.Image:
    """A horizontal stroke (a dash, a crossing-out), a little off level."""
    image, pen = _canvas()
    y, tilt = CANVAS / 2, rng.uniform(-8, 8)
    pen.line([(15, y - tilt), (CANVAS - 15, y + tilt)], fill=255, width=int(rng.integers(*PEN)))
    return image


def _canvas() -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("L", (CANVAS, CANVAS), 0)
    return image, ImageDraw.Draw(image)


def framed(image: Image.Image) -> np.ndarray:
    """A drawing (ink 255 on 0) cropped to its ink and framed 28×28 as MNIST framed its digits."""
    ink = np.asarray(image, dtype=np.float32)
    rows, columns = np.flatnonzero(ink.max(axis=1) > 0), np.flatnonzero(ink.max(axis=0) > 0)
    return mnist_frame(ink[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1])


def categories(fonts: list[ImageFont.FreeTypeFont]) -> dict[str, Callable[[np.random.Generator], Image.Image]]:
    return {
        "scribble": scribble,
        f"printed letter ({len(fonts)} fonts)": lambda rng: printed_letter(rng, fonts),
        "hand-drawn letter": hand_letter,
        "blob": blob,
        "horizontal bar": bar,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path)
    parser.add_argument("--count", type=int, default=30, help="non-digits of each category on each kind of page")
    parser.add_argument("--seed", type=int, default=0, help="choose on one seed, report on another")
    args = parser.parse_args()
    model = load_model_file(args.checkpoint)
    fonts = [ImageFont.truetype(f, 72) for f in FONT_FILES if Path(f).exists()]
    if not fonts:
        raise SystemExit(f"none of the fonts is installed ({', '.join(FONT_FILES)}): apt-get install fonts-dejavu-core")
    kinds = [CLEAN_KINDS[0], *PHOTO_KINDS]
    drawers = categories(fonts)
    print(f"checkpoint: {model.path}\nseed {args.seed}; {args.count} of each category on each of {len(kinds)} pages\n")
    counts: dict[tuple[str, str], Counter] = {}
    with tempfile.TemporaryDirectory(prefix="digits-non-digits-") as tmp:
        for c, (category, draw) in enumerate(drawers.items()):
            for k, (kind, render) in enumerate(kinds):
                rng = np.random.default_rng([args.seed, c, k])
                paths = [render(framed(draw(rng)), rng, Path(tmp) / f"{c}-{k}-{i:04d}") for i in range(args.count)]
                counts[category, kind] = Counter(_outcome(prediction) for prediction in predict_paths(model, paths))
    rows = [("non-digit", "readings", "read as a confident digit", "marked unsure", "not a digit", "no digit")]
    for category in drawers:
        total = sum((counts[category, kind] for kind, _ in kinds), Counter())
        rows.append((category, *_shares(total)))
    everything = sum(counts.values(), Counter())
    rows.append(("all", *_shares(everything)))
    print(table(rows))
    print()
    rows = [("page", "readings", "read as a confident digit", "marked unsure", "not a digit", "no digit")]
    for kind, _ in kinds:
        rows.append((kind, *_shares(sum((counts[category, kind] for category in drawers), Counter()))))
    print(table(rows))


def _outcome(prediction: Prediction) -> str:
    if prediction.not_a_digit:
        return "not a digit"
    if prediction.digit is None:
        return "no digit"
    return "unsure" if prediction.unsure else "confident"


def _shares(outcome: Counter) -> tuple[str, ...]:
    total = sum(outcome.values())
    return (
        f"{total:,}",
        *(f"{outcome[key] / total:.1%}" for key in ("confident", "unsure", "not a digit", "no digit")),
    )


if __name__ == "__main__":
    main()
