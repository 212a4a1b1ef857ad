"""A picture's writing -> its marks left to right: the digits to read, and the separators between them.

`predict` and `read` find the marks the same way, here; reading.py reads them: `read` all of
them as a number, and `predict` the digit where there is one.

A number is a row of marks, found as the runs of columns with ink. Its digits set the row's
height and its lines (the median of their tops, and of their bottoms). What each mark is, a digit,
a point, a comma, a dash, a slash, a colon or none of these, a network tells from the mark seen in
the row's frame (mark_kinds.py): its shape, its size and its place in the row, as written. A mark
that is none of them is reported, never dropped without a word. Each digit is then read as a lone
digit is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from ..errors import DigitsError
from .framing import Box, mnist_frame, stroke_width
from .images import open_colours
from .mark_kinds import MARK_CLASSES, classifier_inputs, mark_probabilities, row_frame
from .marks import Ink, NoDigitFound, find_ink

# of the largest: a run of columns with less ink is a speck, not one of the digits that set the row's lines
NUMBER_MASS = 0.1
# of the row's height, above and below it: a comma hangs below the digits, and a number's digits
# stand a little higher or lower than each other
ROW_SLACK = 0.2
LEVEL = 0.5  # of a mark's height: a mark with this much of it within the row lies in the row
# of the number's height: a wider space ends it (a number's digits are written 10–40% of it apart; a
# whole digit's space is the gap between two words)
NUMBER_GAP = 1.0
# of the tallest: the runs that set the row's lines are this tall at least (a number's digits are
# 0.74–1.35 of each other's height); a mark shorter than this of the row's height that the classifier
# calls neither a digit nor a separator is left out, a taller one is read by the digit model
DIGIT_SHORTEST = 0.5
# of the pen's width: a speck this wide may be a point or a colon's dot (dust, a digit's broken-off sliver are thinner)
DOT_SMALLEST = 0.6
SEPARATORS = ".,-/:"


@dataclass
class NumberMark:
    """One mark of a number: a digit to read (its frame for the network), a separator, or a mark left out."""

    kind: str  # "digit", "separator" or "left out"
    ink_box: Box  # (left, top, right, bottom) in the ink's pixels
    box: Box  # the same in the picture's pixels
    frame: np.ndarray | None = None  # a digit framed as a lone digit is
    text: str = ""  # a separator's character, or why a mark was left out
    # a digit's ink alone (0–255, float32, its ink_box's size) and its row's top line and baseline in its
    # rows: what the row reader reads, where the mark holds several digits touching
    ink: np.ndarray | None = None
    lines: tuple[float, float] = (0.0, 0.0)


@dataclass
class Row:
    """The marks level with a number's row, as runs of inked columns left to right, and the row's lines."""

    runs: list[Box]  # in the ink's pixels
    in_row: set[int]  # the runs close enough together to be the number's
    aside: list[Box]  # runs of marks above or below the row
    top_line: float
    baseline: float
    labels: np.ndarray  # the row's marks (0 elsewhere)
    shades: np.ndarray  # their ink, 0–255 (float32)

    def ink_of(self, box: Box) -> np.ndarray:
        """The ink of the marks in a box, alone."""
        left, top, right, bottom = box
        return self.shades[top:bottom, left:right]

    def height(self) -> float:
        return max(self.baseline - self.top_line, 1.0)


def number_row(ink: Ink) -> Row:
    """The number's row on a page: the one the digit `find_ink` took lies in."""
    digits_ink = np.isin(ink.labels, ink.marks)
    # the pen's width where the ink is half as dark as the writing's darkest at least: a blurred edge is no stroke
    pen = stroke_width(digits_ink & (ink.share >= 0.5 * np.percentile(ink.share[digits_ink], 95)))
    specks = np.isin(ink.labels, ink.specks)
    labels = np.where(digits_ink | (specks & _dots(ink.labels, ink.specks, DOT_SMALLEST * pen)), ink.labels, 0)
    # marks above and below the row are not the number's
    top, bottom, _, _ = ink.box(ink.digit)
    level = _level(labels, top - ROW_SLACK * (bottom - top), bottom + ROW_SLACK * (bottom - top))
    row_labels = np.where(np.isin(labels, level), labels, 0)
    shades = ink.only(level)
    runs = [_run(row_labels, start, end) for start, end in _column_runs((row_labels > 0).any(axis=0))]
    mass = [float(shades[:, left:right].sum()) for left, _, right, _ in runs]
    in_row = _in_row(runs, int(np.argmax(mass)))
    apart = np.where((labels > 0) & (row_labels == 0), labels, 0)
    aside = [_run(apart, start, end) for start, end in _column_runs((apart > 0).any(axis=0))]
    # the row's lines are set by its tall runs with ink enough: a speck is not a digit
    tall = [box for i, box in enumerate(runs) if mass[i] >= NUMBER_MASS * max(mass) and i in in_row]
    tallest = max(bottom - top for _, top, _, bottom in tall)
    lines = [box for box in tall if box[3] - box[1] >= DIGIT_SHORTEST * tallest]
    top_line = float(np.median([top for _, top, _, _ in lines]))
    baseline = float(np.median([bottom for _, _, _, bottom in lines]))
    return Row(runs, in_row, aside, top_line, baseline, row_labels, shades)


def row_inputs(row: Row, taken: list[int]) -> np.ndarray:
    """The mark classifier's inputs for these runs of the row: each seen in the row's frame."""
    framed = [row_frame(row.ink_of(row.runs[i]), row.runs[i], row.top_line, row.baseline) for i in taken]
    return classifier_inputs(np.stack([f for f, _ in framed]), np.stack([p for _, p in framed]))


def row_gaps(row: Row, taken: list[int]) -> np.ndarray:
    """Each of these runs' gap from the one before it, in rows (0 for the first)."""
    lefts = np.array([row.runs[i][0] for i in taken], dtype=np.float32)
    rights = np.array([row.runs[i][2] for i in taken], dtype=np.float32)
    return np.concatenate([[0.0], lefts[1:] - rights[:-1]]).astype(np.float32) / row.height()


def number_marks(picture: np.ndarray, name: str = "image", image_size: int = 28) -> tuple[np.ndarray, list[NumberMark]]:
    """The ink found on the page (0–255, uint8, as marks.find_ink sees it), and the number's marks
    left to right."""
    ink = find_ink(picture, name)
    row = number_row(ink)
    taken = sorted(row.in_row)
    kinds = dict(zip(taken, mark_probabilities(row_inputs(row, taken), row_gaps(row, taken)), strict=True))
    marks = [
        NumberMark("left out", box, ink.frame.to_picture(box), text="apart from the number's row") for box in row.aside
    ]
    for i, box in enumerate(row.runs):
        picture_box = ink.frame.to_picture(box)
        if i not in kinds:
            marks.append(NumberMark("left out", box, picture_box, text="apart from the number's row"))
            continue
        kind = MARK_CLASSES[int(np.argmax(kinds[i]))]
        if kind in SEPARATORS:
            marks.append(NumberMark("separator", box, picture_box, text=kind))
        elif kind == "digit" or box[3] - box[1] >= DIGIT_SHORTEST * row.height():
            # the digit model tells a digit from what is none: it learned both from many more, and
            # from the ink finder's ink, which the classifier's clean rows lack
            shades, lines = row.ink_of(box), (row.top_line - box[1], row.baseline - box[1])
            marks.append(
                NumberMark("digit", box, picture_box, mnist_frame(shades, image_size), ink=shades, lines=lines)
            )
        else:
            marks.append(NumberMark("left out", box, picture_box, text="a small mark, not a digit or a separator"))
    marks.sort(key=lambda mark: mark.ink_box[0])
    return np.round(ink.only(ink.marks)).astype(np.uint8), marks


def _level(labels: np.ndarray, top: float, bottom: float) -> list[int]:
    """The marks that lie level with the rows from `top` to `bottom`: LEVEL of their height within them."""
    level = []
    for index, found in enumerate(ndimage.find_objects(labels), start=1):
        if found is not None:
            rows = found[0]
            if min(rows.stop, bottom) - max(rows.start, top) >= LEVEL * (rows.stop - rows.start):
                level.append(index)
    return level


def _in_row(runs: list[Box], anchor: int) -> set[int]:
    """The runs of a number's row: from the one with the most ink, each run on either side no
    further than NUMBER_GAP of the anchor's height from the last one taken."""
    _, row_top, _, row_bottom = runs[anchor]
    reach = NUMBER_GAP * (row_bottom - row_top)
    taken = {anchor}
    for step in (-1, 1):
        i = anchor + step
        while (
            0 <= i < len(runs) and (runs[i][0] - runs[i - 1][2] if step > 0 else runs[i + 1][0] - runs[i][2]) <= reach
        ):
            taken.add(i)
            i += step
    return taken


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


def _column_runs(inked: np.ndarray) -> list[tuple[int, int]]:
    """Where each run of inked columns starts, and where it ends (one past its last)."""
    padded = np.zeros(len(inked) + 2, dtype=bool)
    padded[1:-1] = inked
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def too_small(name: str) -> str:
    """Why a picture with marks has no digit."""
    return f"{name}: no digit found, only marks too small for one"


def lone_digit(marks: list[NumberMark]) -> np.ndarray | None:
    """The framed digit where the marks hold one digit-sized mark (specks and small marks beside it
    are no digit); None where they hold several, or none."""
    framed = [mark.frame for mark in marks if mark.kind == "digit"]
    return framed[0] if len(framed) == 1 else None


def normalize_digit(picture: np.ndarray, image_size: int = 28, name: str = "image") -> np.ndarray:
    """A picture's grey levels (H, W) or colours (H, W, 3), any size and polarity -> its one digit,
    centred MNIST-style (0 paper, 255 ink). A picture of several digits raises DigitsError; a blank
    one NoDigitFound."""
    _, marks = number_marks(picture, name, image_size)
    frame = lone_digit(marks)
    if frame is None:
        count = sum(mark.kind == "digit" for mark in marks)
        if count == 0:
            raise NoDigitFound(too_small(name))
        raise DigitsError(f"{name}: {count} digits, not one (read them as a number)")
    return frame


def read_digit_image(path: Path, image_size: int = 28) -> np.ndarray:
    """Read any image Pillow reads and return its one digit as an image_size × image_size uint8 matrix."""
    return normalize_digit(open_colours(Path(path)), image_size, name=str(path))
