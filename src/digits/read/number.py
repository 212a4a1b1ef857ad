"""A picture's writing -> its marks left to right: the digits to read, and the separators between them.

`predict` and `read` find the marks the same way, here; reading.py reads them: `read` all of
them as a number, and `predict` the digit where there is one.

A number is a row of marks, found as the runs of columns with ink. Its digits set the row's
height H and its lines (the median of their tops, and of their bottoms). A mark much shorter than
the digits is a separator, known by where it sits in the row and its shape: a point or a comma on
the baseline, a dash across the middle, a colon's two dots one above the other. A slash is as tall
as a digit and straight, as a 1 may be: it leans further than all but a few of MNIST's 1s, or
less where two of them split the digits as a date is split. A small mark that is none of these is
reported as left out, never dropped without a word. Each digit is then read as a lone digit is.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
from scipy import ndimage

from ..errors import DigitsError
from .framing import Box, mnist_frame, stroke_width
from .images import open_colours
from .marks import NoDigitFound, find_ink

NUMBER_MASS = 0.1  # of the largest: a tall run of columns with less ink is a speck, not a digit
# of the row's height, above and below it: a comma hangs below the digits, and a number's digits
# stand a little higher or lower than each other
ROW_SLACK = 0.2
LEVEL = 0.5  # of a mark's height: a mark with this much of it within the row lies in the row
# of the number's height: a wider space ends it (a number's digits are written 10–40% of it apart; a
# whole digit's space is the gap between two words)
NUMBER_GAP = 1.0
DIGIT_SHORTEST = 0.5  # of the row's height: a shorter mark is no digit (a number's digits: 0.74–1.35 of each other)
DIGIT_REACHES = 0.4  # of the row's height below its top line: a digit's top lies higher (a comma's hangs lower)
# of the pen's width: a point, a colon's dot and a dash's thickness are no smaller (dust, a digit's
# broken-off sliver are), and no larger (a piece of a digit is)
DOT_SMALLEST = 0.6
DOT_LARGEST = 4.0
DASH_LONG = 1.5  # a dash is this many times as wide as it is tall at least (a point is about as wide as tall)
# a mark on the baseline is a comma, not a point, when it is a tail (this many times as tall as wide)
# or hangs this share of the row's height below the baseline: a point sits on it, and the baseline,
# the median of the digits' bottoms (each up to 0.08 off it), lies within about 0.05 of where it is
COMMA_TALL = 1.3
COMMA_BELOW = 0.06
ON_THE_BASELINE = 0.6  # of the height below the top line: a point's centre lies lower
MIDDLE = (0.2, 0.8)  # of the height below the top line: a dash's centre lies between these
SLASH_LEAN = 35.0  # degrees from upright, top to the right: 1 in 20 of MNIST's 1s lean further (1 in 7 past 30°)
DATE_SLASH_LEAN = 15.0  # degrees: a date's slashes may lean this little (half of MNIST's 1s lean further)
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


def number_marks(picture: np.ndarray, name: str = "image", image_size: int = 28) -> tuple[np.ndarray, list[NumberMark]]:
    """The ink found on the page (0–255, uint8, as marks.find_ink sees it), and the number's marks
    left to right."""
    ink = find_ink(picture, name)
    digits_ink = np.isin(ink.labels, ink.marks)
    # the pen's width where the ink is half as dark as the writing's darkest at least: a blurred edge is no stroke
    pen = stroke_width(digits_ink & (ink.share >= 0.5 * np.percentile(ink.share[digits_ink], 95)))
    specks = np.isin(ink.labels, ink.specks)
    labels = np.where(digits_ink | (specks & _dots(ink.labels, ink.specks, DOT_SMALLEST * pen)), ink.labels, 0)
    # the number's row is the one the digit `find_ink` took lies in; marks above and below it are not the number's
    top, bottom, _, _ = ink.box(ink.digit)
    level = _level(labels, top - ROW_SLACK * (bottom - top), bottom + ROW_SLACK * (bottom - top))
    row_labels = np.where(np.isin(labels, level), labels, 0)
    shades = ink.only(level)
    runs = [_run(row_labels, start, end) for start, end in _column_runs((row_labels > 0).any(axis=0))]
    mass = [float(shades[:, left:right].sum()) for left, _, right, _ in runs]
    in_row = _in_row(runs, int(np.argmax(mass)))
    apart = np.where((labels > 0) & (row_labels == 0), labels, 0)
    aside = [_run(apart, start, end) for start, end in _column_runs((apart > 0).any(axis=0))]
    # lighter, a run is a speck, not a digit; further along the row, it is something else on the page
    heavy = [amount >= NUMBER_MASS * max(mass) and i in in_row for i, amount in enumerate(mass)]
    tall = [box for box, enough in zip(runs, heavy, strict=True) if enough]
    heights = [bottom - top for _, top, _, bottom in tall]
    tallest = max(heights)
    row = [box for box, height in zip(tall, heights, strict=True) if height >= DIGIT_SHORTEST * tallest]
    top_line = float(np.median([top for _, top, _, _ in row]))
    baseline = float(np.median([bottom for _, _, _, bottom in row]))
    height = max(baseline - top_line, 1.0)
    sized = [
        _digit_sized(row_labels[top:bottom, left:right], top, top_line, height, pen)
        for left, top, right, bottom in runs
    ]
    readable = [i for i, enough in enumerate(heavy) if sized[i] and enough]
    # a slash stands between two digits
    between = [i for i in readable if 0 < i < len(runs) - 1 and sized[i - 1] and sized[i + 1]]
    slashes = _slashes(readable, {i: _lean(ink.share, row_labels, runs[i]) for i in between})
    marks = [
        NumberMark("left out", box, ink.frame.to_picture(box), text="apart from the number's row") for box in aside
    ]
    for i, box in enumerate(runs):
        left, top, right, bottom = box
        picture_box = ink.frame.to_picture(box)
        if i not in in_row:
            marks.append(NumberMark("left out", box, picture_box, text="apart from the number's row"))
        elif sized[i]:
            if not heavy[i]:
                marks.append(NumberMark("left out", box, picture_box, text="too little ink for a digit"))
            elif i in slashes:
                marks.append(NumberMark("separator", box, picture_box, text="/"))
            else:
                frame = mnist_frame(shades[top:bottom, left:right], image_size)
                marks.append(NumberMark("digit", box, picture_box, frame))
        else:
            separator = _separator(row_labels[top:bottom, left:right], top, (top_line, baseline), pen)
            kind = "separator" if separator in SEPARATORS else "left out"
            marks.append(NumberMark(kind, box, picture_box, text=separator))
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


def _digit_sized(labels: np.ndarray, top: int, top_line: float, height: float, pen: float) -> bool:
    """Whether a run of marks is a digit: one connected mark among them DIGIT_SHORTEST of the row's
    height that reaches up to DIGIT_REACHES of it (a colon's dots are each short, and a comma's tail
    hangs from the baseline), or several that together do and are not all dots (a stroke broken
    into pieces: a faint pen, a pencil's grain, a scribble's crossings)."""
    parts = list(filter(None, ndimage.find_objects(labels)))

    def sized(start: int, stop: int) -> bool:
        return stop - start >= DIGIT_SHORTEST * height and top + start < top_line + DIGIT_REACHES * height

    if any(sized(rows.start, rows.stop) for rows, _ in parts):
        return True
    dots = all(
        max(rows.stop - rows.start, columns.stop - columns.start) <= DOT_LARGEST * pen for rows, columns in parts
    )
    return len(parts) > 1 and not dots and sized(min(r.start for r, _ in parts), max(r.stop for r, _ in parts))


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


def _separator(labels: np.ndarray, top: int, row: tuple[float, float], pen: float) -> str:
    """What a short mark is, from where it sits in the row (`top` is its top in the page, `row` the
    digits' top line and baseline) and its shape, the pen's width given: ".", ",", "-", ":", or why
    it is none of them."""
    top_line, baseline = row
    height = max(baseline - top_line, 1.0)
    parts = list(filter(None, ndimage.find_objects(labels)))
    sizes = [(rows.stop - rows.start, columns.stop - columns.start) for rows, columns in parts]
    dots = all(DOT_SMALLEST * pen <= min(size) and max(size) <= DOT_LARGEST * pen for size in sizes)
    if len(parts) == 2 and dots:
        upper, lower = sorted(parts, key=lambda part: part[0].start)
        if upper[0].stop <= lower[0].start:  # one above the other
            return ":"
    if len(parts) >= 2:
        return f"{len(parts)} small marks, not a colon's two dots"
    mark_height, mark_width = sizes[0]
    centre = (top + mark_height / 2 - top_line) / height
    if min(sizes[0]) < DOT_SMALLEST * pen:
        return "a sliver thinner than the pen, not a point, a comma or a dash"
    if mark_width >= DASH_LONG * mark_height and mark_height <= DOT_LARGEST * pen and MIDDLE[0] <= centre <= MIDDLE[1]:
        return "-"
    if centre >= ON_THE_BASELINE and mark_width <= DOT_LARGEST * pen:
        hangs = (top + mark_height - baseline) / height
        return "," if mark_height >= COMMA_TALL * mark_width or hangs >= COMMA_BELOW else "."
    return "a small mark, not a point, a comma, a dash or a colon by its place and shape"


def _lean(share: np.ndarray, labels: np.ndarray, box: Box) -> float:
    """How far a mark leans from upright in degrees, its top to the right, where it is a straight
    stroke (its ink's main axis SLASH_STRAIGHT times its width); -90 where it is not straight."""
    left, top, right, bottom = box
    weights = np.where(labels[top:bottom, left:right] > 0, share[top:bottom, left:right], 0)
    ys, xs = np.nonzero(weights)
    if len(xs) < 3:
        return -90.0
    values, vectors = np.linalg.eigh(np.cov(np.stack([xs, ys]).astype(np.float64), aweights=weights[ys, xs]))
    if values[1] < SLASH_STRAIGHT**2 * max(values[0], 1e-9):
        return -90.0
    along = vectors[:, 1] if vectors[1, 1] < 0 else -vectors[:, 1]  # pointing up the page
    return float(np.degrees(np.arctan2(along[0], -along[1])))


def _slashes(readable: list[int], leans: dict[int, float]) -> set[int]:
    """Which of the digit-sized marks between the first and the last (`leans`: each one's lean) are
    slashes. A date's two may lean as little as DATE_SLASH_LEAN when they split the digits as a date
    is split (1–2 / 1–2 / 2 or 4 digits); otherwise a slash leans SLASH_LEAN at least."""
    dates = []
    for first, second in combinations([i for i, lean in leans.items() if lean >= DATE_SLASH_LEAN], 2):
        a, b = readable.index(first), readable.index(second)
        if a in (1, 2) and b - a - 1 in (1, 2) and len(readable) - b - 1 in (2, 4):
            dates.append((min(leans[first], leans[second]), {first, second}))
    if dates:
        return max(dates, key=lambda date: date[0])[1]
    return {i for i, lean in leans.items() if lean >= SLASH_LEAN}


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
