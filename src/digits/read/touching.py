"""Digits that touch: a mark the digit model cannot read as one digit, read by the row reader as
the several characters it may hold; and the runner-up number, where a digit is unsure.

A number's marks are found as runs of inked columns (number.py): digits written apart are one mark
each, and the digit model reads each. Digits written in a hurry touch, and two or three of them make
one mark, which the model rightly calls no digit. Such a mark, one the model is unsure of, or one
wider than one digit is, goes to the row reader (row_reader.py), which reads it with no cuts. Where
it writes two characters or more, none of them "not a digit", they replace the mark (where the model
read a digit there, only if the reader is surer of them all than the model of its digit); else the
digit model's answer stands. So a number whose digits the model is sure of reads as before.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from .forward import UNSURE_BELOW
from .framing import Box, mnist_frame
from .number import NumberMark
from .results import DigitReading, Likelihood, Prediction
from .row_reader import ROW_PX, best_path, load_reader, probabilities, strip, window_centre

# of the row's height: 99.5% of MNIST's training digits are at most 1.43 times as wide as they are
# high, and two digits side by side, a quarter of each overlapping, are 1.2 at least: a mark wider
# than this is read by the row reader even where the digit model is sure of it
WIDEST = 1.45
# the product of the reader's confidences in the characters it reads in a mark the model calls no
# digit: 98% of its readings of touching validation numbers are surer (5th percentile 0.34), and of
# 37 letters and 12 scribbles that the tests draw, two read as several digits, at 0.23 (a #) and 0.39
SURE_ENOUGH = 0.25
# of the row's height: a character's columns run from where its windows begin to where the next
# character's begin (the shipped reader's windows fire as a character starts, within a few px of its
# left edge: docs/row-reader.png), and this much further either way, as digits overlapping by a
# quarter of their width (0.5–1 of a row wide) reach 0.1–0.25 of a row into each other
REACH = 0.15


def read_touching(mark: NumberMark, answer: Prediction, decoded: float = 1.0) -> list[DigitReading] | None:
    """The characters the row reader writes in a digit mark (boxes in the picture's pixels, the array
    being `decoded` of its size), where the mark may hold several and does; None where the digit
    model's `answer` stands."""
    top_line, baseline = mark.lines
    height = max(baseline - top_line, 1.0)
    wide = mark.ink.shape[1] > WIDEST * height
    if not (answer.not_a_digit or answer.unsure or wide):
        return None
    found = probabilities(load_reader(), strip(mark.ink, top_line, baseline))
    characters = best_path(found)
    if len(characters) < 2 or any(c.text == "?" for c in characters):
        return None
    # a digit the model reads, unsure or wide, is read as several only where the reader is surer of
    # them all together than the model is of the one; a mark it calls no digit, where the reader is
    # sure enough of them all together (see SURE_ENOUGH)
    together = float(np.prod([c.confidence for c in characters]))
    if together <= (SURE_ENOUGH if answer.not_a_digit else answer.confidence):
        return None
    scale = ROW_PX / height
    starts = [0.0, *(window_centre(c.first, scale) for c in characters[1:]), float(mark.ink.shape[1])]
    readings = []
    for c, (start, end) in zip(characters, pairwise(starts), strict=True):
        left = max(0, int(start - REACH * height))
        right = min(mark.ink.shape[1], int(np.ceil(end + REACH * height)))
        only = np.zeros_like(mark.ink)
        only[:, left:right] = mark.ink[:, left:right]
        rows = np.flatnonzero(only.max(axis=1) > 0)
        inner = (left, int(rows[0]), right, int(rows[-1]) + 1) if len(rows) else (left, 0, right, len(only))
        ink_box, box = _within(mark.ink_box, inner, mark.ink_box), _within(mark.box, inner, mark.ink_box)
        box = tuple(round(v / decoded) for v in box)
        if not c.text.isdigit():
            readings.append(DigitReading(None, 0.0, False, box, ink_box, "separator", c.text))
            continue
        second = Likelihood(int(c.second), c.second_probability) if c.second.isdigit() else None
        pixels = mnist_frame(only, mark.frame.shape[0])
        unsure = c.confidence < UNSURE_BELOW
        readings.append(DigitReading(int(c.text), c.confidence, unsure, box, ink_box, "digit", c.text, pixels, second))
    return readings


def runner_up(readings: list[DigitReading]) -> str | None:
    """The number read with its unsure digit whose next likeliest answer comes closest swapped for that
    answer; None where every digit is sure."""
    unsure = [r for r in readings if r.kind == "digit" and r.unsure and r.second is not None]
    if not unsure:
        return None
    closest = max(unsure, key=lambda r: r.second.probability / max(r.confidence, 1e-9))
    return "".join(
        str(r.second.digit) if r is closest else r.text for r in readings if r.kind in ("digit", "separator")
    )


def _within(outer: Box, inner: Box, ink_box: Box) -> Box:
    """`inner`, a box in the pixels of a mark's ink (which lies at `ink_box` in the ink's pixels), as a box
    in `outer`'s pixels: the ink's, or the picture's."""
    sx = (outer[2] - outer[0]) / max(ink_box[2] - ink_box[0], 1)
    sy = (outer[3] - outer[1]) / max(ink_box[3] - ink_box[1], 1)
    left, top, right, bottom = inner
    return (
        outer[0] + int(left * sx),
        outer[1] + int(top * sy),
        outer[0] + int(np.ceil(right * sx)),
        outer[1] + int(np.ceil(bottom * sy)),
    )
