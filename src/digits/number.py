"""A written number -> its marks left to right: the digits to read, and the separators between them.

A number is a row of marks, found as the runs of columns with ink. Its digits set the row's
height H and its lines (the median of their tops, and of their bottoms). A mark much shorter than
the digits is a separator, known by where it sits in the row and its shape: a point or a comma on
the baseline, a dash across the middle, a colon's two dots one above the other. A slash is as tall
as a digit, and straight, and leans further than MNIST's 1s do. A small mark that is none of these
is reported as left out, never dropped without a word.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .framing import Box, mnist_frame, stroke_width
from .page import find_ink

NUMBER_MASS = 0.1  # of the largest: a tall run of columns with less ink is a speck, not a digit
DIGIT_SHORTEST = 0.5  # of the digits' height: a shorter mark is no digit (digits of a number: 0.74–1.35 of each other)
DOT_SMALLEST = 0.6  # of the pen's width: a smaller speck is dust, not a point (a pen's point is as wide as its stroke)
DASH_LONG = 1.5  # a dash is this many times as wide as it is tall at least (a point is about as wide as tall)
# a mark on the baseline is a comma, not a point, when it is this many times as tall as wide, or
# hangs this share of the height below the digits' baseline (a point sits on it: digits stray 0.08 off it)
COMMA_TALL = 1.3
COMMA_BELOW = 0.1
ON_THE_BASELINE = 0.6  # of the height below the top line: a point's centre lies lower (a colon's lower dot too)
MIDDLE = (0.2, 0.8)  # of the height below the top line: a dash's centre lies between these
SLASH_LEAN = 35.0  # degrees from upright, top to the right: 1 in 20 of MNIST's 1s lean further (1 in 7 past 30°)
SLASH_STRAIGHT = 5.0  # a slash's ink is this many times longer than wide along its main axis at least
SEPARATORS = ".,-/:"


@dataclass
class NumberMark:
    """One mark of a number: a digit to read (its frame for the network), a separator, or a mark left out."""

    kind: str  # "digit", "separator" or "left out"
    ink_box: Box  # (left, top, right, bottom) in the ink's pixels
    box: Box  # the same in the picture's pixels
    frame: np.ndarray | None = None  # a digit framed as a lone digit is
    text: str = ""  # a separator's character, or why a mark was left out


def number_marks(gray: np.ndarray, name: str = "image", image_size: int = 28) -> tuple[np.ndarray, list[NumberMark]]:
    """The ink found on the page (0–255, uint8, as page.find_ink sees it), and the number's marks
    left to right."""
    ink = find_ink(gray, name)
    shades = ink.only(ink.marks)
    digits_ink = np.isin(ink.labels, ink.marks)
    pen = stroke_width(digits_ink)
    specks = np.isin(ink.labels, ink.specks)
    labels = np.where(digits_ink | (specks & _dots(ink.labels, ink.specks, DOT_SMALLEST * pen)), ink.labels, 0)
    runs = [_run(labels, start, end) for start, end in _column_runs((labels > 0).any(axis=0))]
    mass = [float(shades[:, left:right].sum()) for left, _, right, _ in runs]
    tall = [box for box, amount in zip(runs, mass, strict=True) if amount >= NUMBER_MASS * max(mass)]
    heights = [bottom - top for _, top, _, bottom in tall]
    tallest = max(heights)
    row = [box for box, height in zip(tall, heights, strict=True) if height >= DIGIT_SHORTEST * tallest]
    top_line = float(np.median([top for _, top, _, _ in row]))
    baseline = float(np.median([bottom for _, _, _, bottom in row]))
    height = max(baseline - top_line, 1.0)
    sized = [_digit_sized(labels[top:bottom, left:right], top, top_line, height) for left, top, right, bottom in runs]
    inner = range(sized.index(True) + 1, len(sized) - sized[::-1].index(True) - 1)  # a slash stands between digits
    marks = []
    for i, (box, amount) in enumerate(zip(runs, mass, strict=True)):
        left, top, right, bottom = box
        picture_box = ink.frame.to_picture(box)
        if sized[i]:
            if amount < NUMBER_MASS * max(mass):
                marks.append(NumberMark("left out", box, picture_box, text="too little ink for a digit"))
            elif i in inner and _slash(ink.share, labels, box):
                marks.append(NumberMark("separator", box, picture_box, text="/"))
            else:
                frame = mnist_frame(shades[top:bottom, left:right], image_size)
                marks.append(NumberMark("digit", box, picture_box, frame))
            continue
        separator = _separator(labels[top:bottom, left:right], top, top_line, baseline)
        kind = "separator" if separator in SEPARATORS else "left out"
        marks.append(NumberMark(kind, box, picture_box, text=separator))
    return np.round(shades).astype(np.uint8), marks


def _digit_sized(labels: np.ndarray, top: int, top_line: float, height: float) -> bool:
    """Whether one connected mark among these is DIGIT_SHORTEST of the row's height, and reaches above
    its middle: a colon's dots are each short, and a comma's tail hangs from the baseline."""
    return any(
        found[0].stop - found[0].start >= DIGIT_SHORTEST * height and top + found[0].start < top_line + height / 2
        for found in ndimage.find_objects(labels)
        if found is not None
    )


def _dots(labels: np.ndarray, specks: list[int], smallest: float) -> np.ndarray:
    """Where the specks at least `smallest` px across lie: they may be a number's points."""
    if not specks:
        return np.zeros(labels.shape, dtype=bool)
    found = ndimage.find_objects(labels)
    big = [i for i in specks if max(s.stop - s.start for s in found[i - 1]) >= smallest]
    return np.isin(labels, big)


def _run(labels: np.ndarray, start: int, end: int) -> Box:
    rows = np.flatnonzero((labels[:, start:end] > 0).any(axis=1))
    return (start, int(rows[0]), end, int(rows[-1]) + 1)


def _separator(labels: np.ndarray, top: int, top_line: float, baseline: float) -> str:
    """What a short mark is, from where it sits in the row (`top` is its top in the page, `top_line`
    and `baseline` the digits' tops and bottoms) and its shape: ".", ",", "-", ":", or why it is none."""
    height = max(baseline - top_line, 1.0)
    parts = ndimage.find_objects(labels)
    parts = [p for p in parts if p is not None]
    centres = [(top + (p[0].start + p[0].stop) / 2 - top_line) / height for p in parts]
    mark_height, mark_width = labels.shape
    if len(parts) == 2:
        upper, lower = sorted(parts, key=lambda part: part[0].start)
        if upper[0].stop <= lower[0].start:  # one above the other
            return ":"
    if len(parts) >= 2:
        return f"{len(parts)} small marks side by side in the number's row, not a colon"
    centre = centres[0]
    if mark_width >= DASH_LONG * mark_height and MIDDLE[0] <= centre <= MIDDLE[1]:
        return "-"
    if centre >= ON_THE_BASELINE:
        hangs = (top + mark_height - baseline) / height
        return "," if mark_height >= COMMA_TALL * mark_width or hangs >= COMMA_BELOW else "."
    return "a small mark above the number's baseline, not a point, a dash or a colon"


def _slash(share: np.ndarray, labels: np.ndarray, box: Box) -> bool:
    """Whether a tall mark is a slash: straight (its ink's main axis SLASH_STRAIGHT times its width)
    and leaning SLASH_LEAN or more, its top to the right."""
    left, top, right, bottom = box
    weights = np.where(labels[top:bottom, left:right] > 0, share[top:bottom, left:right], 0)
    ys, xs = np.nonzero(weights)
    if len(xs) < 3:
        return False
    spread = np.cov(np.stack([xs, ys]).astype(np.float64), aweights=weights[ys, xs])
    values, vectors = np.linalg.eigh(spread)
    along = vectors[:, 1] if vectors[1, 1] < 0 else -vectors[:, 1]  # pointing up the page
    lean = np.degrees(np.arctan2(along[0], -along[1]))
    return lean >= SLASH_LEAN and values[1] >= SLASH_STRAIGHT**2 * max(values[0], 1e-9)


def _column_runs(inked: np.ndarray) -> list[tuple[int, int]]:
    """Where each run of inked columns starts, and where it ends (one past its last)."""
    padded = np.zeros(len(inked) + 2, dtype=bool)
    padded[1:-1] = inked
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))
