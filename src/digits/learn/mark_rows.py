"""Rows of marks drawn at random, for the mark classifier to learn what each mark of a number is.

A row is a few tall marks (MNIST's training digits, or things that are not digits) with, between
them, separators drawn in the variety of handwriting: a point that is a blob, a tick or a ring; a
comma with a tail or without; a dash short or long, tilted and wobbling; a slash from nearly upright
to 60°; a colon's two dots. Small marks that are none of these (a quote, a degree sign, a tiny
cross) stand among them too. Each factor is drawn independently, each over a wide range: the row's
height, the pen's width, the gaps, the ink's darkness and blur.

The row is drawn as a clean picture and goes through the reader's own steps (marks.find_ink,
number.number_row), so that the classifier learns from the frames it will be given; each run of
columns the reader finds is labelled with the mark drawn there.
"""

from __future__ import annotations

import re

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from ..read.mark_kinds import MARK_CLASSES
from ..read.marks import NoDigitFound, find_ink
from ..read.number import number_row, row_gaps, row_inputs
from .non_digits import CANVAS, blot, crossing_strokes, font_letter, hand_letter, scribble

ROW_HEIGHT = (10, 64)  # px: the digits' height, from a number far off in a photo to one written large
PEN = (0.06, 0.16)  # of the row's height: the separators' pen (MNIST's strokes are about 0.12)
GAP = (0.12, 0.7)  # of the row's height, between neighbouring marks
SUPERSAMPLE = 4  # separators are drawn this many times larger, then reduced: smooth edges at any size
NOT_A_DIGIT_CLASS = MARK_CLASSES.index("not a digit")
LOWERCASE = "acefhkmnrstuvwxyz"  # printed lowercase letters, none shaped like a digit
# what people write, and how often: "d" a digit; "x" something as tall as one that is none (a letter,
# a scribble, a blot), "s" a small mark that is no separator (a quote, a degree sign)
FORMATS = {
    "d{1,7}": 0.3,  # a whole number; one digit alone is a picture `predict` is given
    "d{1,4}.d{1,3}": 0.1,  # a decimal or a price
    "d{1,4},d{1,3}": 0.06,
    "d{1,3}.ddd": 0.02,  # thousands
    "ddd-dddd": 0.05,  # phone numbers
    "ddd-ddd-dddd": 0.03,
    "d{1,2}/d{1,2}/d{2,4}": 0.08,  # dates
    "d{1,2}.d{1,2}.d{2,4}": 0.03,
    "d{1,2}-d{1,2}-d{2,4}": 0.02,
    "d{1,2}:dd": 0.07,  # times
    "d{1,2}:dd:dd": 0.02,
    "d{1,3}/d{1,3}": 0.05,  # fractions and ratios
    "d{1,3}-d{1,3}": 0.04,  # ranges
    "x": 0.06,  # something that is no digit, alone
    "random": 0.14,  # any mark after any other, things that are no digits among them
}
OTHERS = 0.05  # chance that any digit of a format is something else, tall or small


def row_pattern(rng: np.random.Generator) -> str:
    """A row's marks, left to right, as a pattern of "d", "x", "s" and separators (see FORMATS)."""
    names = list(FORMATS)
    chosen = names[rng.choice(len(names), p=np.array(list(FORMATS.values())) / sum(FORMATS.values()))]
    if chosen == "random":
        marks = [str(rng.choice(list("dddddx"))) for _ in range(int(rng.integers(1, 8)))]
        pattern = marks[0]
        for mark in marks[1:]:
            if rng.random() < 0.4:
                pattern += str(rng.choice(list(".,-/:s")))
            pattern += mark
        return pattern
    pattern = ""
    for part, low, high in _parts(chosen):
        pattern += part * int(rng.integers(low, high + 1))
    return "".join(str(rng.choice(list("xs"))) if mark == "d" and rng.random() < OTHERS else mark for mark in pattern)


def _parts(pattern: str) -> list[tuple[str, int, int]]:
    """A format's parts: a mark and how many times it repeats, from–to ("d{1,3}" is ("d", 1, 3))."""
    return [(mark, int(low or 1), int(high or 1)) for mark, low, high in re.findall(r"(.)(?:\{(\d),(\d)\})?", pattern)]


def draw_row(rng: np.random.Generator, digits: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """One row as a clean picture (uint8 grey, white paper), and each mark's columns and class:
    (left, right, index into MARK_CLASSES). `digits`: uint8 (N, 28, 28) MNIST digits, 255 ink."""
    height = int(rng.integers(*ROW_HEIGHT))
    pen = max(1.2, height * rng.uniform(*PEN))
    glyphs = []  # (ink 0–1, its bottom below the baseline in px, class)
    for mark in row_pattern(rng):
        if mark == "d":
            glyphs.append(digit(rng, digits[rng.integers(len(digits))], height))
        elif mark == "x":
            glyphs.append(tall_other(rng, height))
        elif mark == "s":
            glyphs.append(small_other(rng, height, pen))
        else:
            glyphs.append(separator(rng, mark, height, pen))
    picture, marks = laid_out(rng, glyphs, height)
    return picture, [(left, right, kind) for left, right, kind, _, _ in marks]


def row_examples(
    rng: np.random.Generator, digits: np.ndarray, rows: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every mark the reader finds in `rows` rows drawn at random: the classifier's inputs
    (number.row_inputs), its label, its row's number, and its gap from the mark before (row_gaps).
    Where a mark is broken into several runs of columns (a thin pen, a digit's stray stroke), the
    largest is the mark and the others are not digits: a piece left out, not a colon or a slash.
    A run holding parts of two marks is labelled -1, not known."""
    inputs, labels, numbers, gaps = [], [], [], []
    for number in range(rows):
        picture, marks = draw_row(rng, digits)
        try:
            row = number_row(find_ink(picture))
        except NoDigitFound:
            continue
        taken = sorted(row.in_row)
        found: dict[int, list[int]] = {}
        for i in taken:
            left, _, right, _ = row.runs[i]
            overlapping = [k for k, (x0, x1, _) in enumerate(marks) if x0 < right and x1 > left]
            found.setdefault(overlapping[0] if len(overlapping) == 1 else -1 - i, []).append(i)
        label = {}
        for k, runs in found.items():
            if k >= 0:
                largest = max(runs, key=lambda i: row.ink_of(row.runs[i]).sum())
                label |= {i: marks[k][2] if i == largest else NOT_A_DIGIT_CLASS for i in runs}
        inputs.append(row_inputs(row, taken))
        labels += [label.get(i, -1) for i in taken]
        numbers += [number] * len(taken)
        gaps.append(row_gaps(row, taken))
    return np.concatenate(inputs), np.array(labels), np.array(numbers), np.concatenate(gaps)


def digit(rng: np.random.Generator, image: np.ndarray, height: int) -> tuple[np.ndarray, float, int]:
    """An MNIST digit at about the row's height, a little off its baseline."""
    rows, columns = np.flatnonzero(image.max(axis=1)), np.flatnonzero(image.max(axis=0))
    crop = image[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]
    tall = height * rng.uniform(0.85, 1.15)
    return _scaled(crop / 255, tall / crop.shape[0]), height * rng.uniform(-0.08, 0.08), 0


def tall_other(rng: np.random.Generator, height: int) -> tuple[np.ndarray, float, int]:
    """Something as tall as a digit that is none: a scribble, crossing strokes, a blot, a filled
    shape or one with holes, a letter printed (upper or lowercase, any weight and slant) or drawn."""
    image = Image.new("L", (CANVAS, CANVAS), 0)
    pen = ImageDraw.Draw(image)
    kind = int(rng.integers(7))
    font = ImageFont.load_default(80)
    if kind == 0:
        scribble(rng, pen)
    elif kind == 1:
        crossing_strokes(rng, pen)
    elif kind == 2:
        blot(rng, pen)
    elif kind == 3:
        font_letter(rng, pen, font)
    elif kind == 4:
        hand_letter(rng, pen)
    elif kind == 5:
        _shape(rng, pen)
    else:
        letter, weight = str(rng.choice(list(LOWERCASE))), int(rng.integers(0, 5))
        pen.text(
            (CANVAS / 2, CANVAS / 2), letter, fill=255, font=font, anchor="mm", stroke_width=weight, stroke_fill=255
        )
    shear = rng.uniform(-0.35, 0.35)  # upright or italic, either way
    image = image.transform(image.size, Image.Transform.AFFINE, (1, shear, -shear * CANVAS / 2, 0, 1, 0))
    ink = np.asarray(image, dtype=np.float32) / 255
    rows, columns = np.flatnonzero(ink.max(axis=1) > 0.1), np.flatnonzero(ink.max(axis=0) > 0.1)
    if len(rows) == 0:
        return tall_other(rng, height)
    crop = ink[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]
    size = height * rng.uniform(0.6, 1.3)
    scale = min(size / max(crop.shape), 2.5 * height / crop.shape[1])
    return _scaled(crop, scale), height * rng.uniform(-0.15, 0.15), NOT_A_DIGIT_CLASS


def separator(rng: np.random.Generator, mark: str, height: int, pen: float) -> tuple[np.ndarray, float, int]:
    """A point, a comma, a dash, a slash or a colon as a hand writes it, and its bottom off the baseline."""
    s = SUPERSAMPLE
    width = pen * rng.uniform(0.8, 1.2)
    canvas = Image.new("L", (round(3 * height * s), round(3 * height * s)), 0)
    draw = ImageDraw.Draw(canvas)
    centre = np.array(canvas.size) / 2
    below = 0.0
    if mark == ".":
        _dot(rng, draw, centre, pen * s)
        below = height * rng.uniform(-0.12, 0.05)
    elif mark == ",":
        tail = height * rng.uniform(0.18, 0.5) * s
        lean = np.radians(rng.uniform(5, 45))
        end = centre + np.array([-np.sin(lean), np.cos(lean)]) * tail
        bend = (centre + end) / 2 + np.array([tail * rng.uniform(0, 0.25), 0])
        if rng.random() < 0.6:  # a dot with a tail; else the tail alone, a tick
            _dot(rng, draw, centre, pen * s)
        draw.line([tuple(centre), tuple(bend), tuple(end)], fill=255, width=round(width * s), joint="curve")
        below = height * rng.uniform(0.08, 0.35)
    elif mark == "-":
        half = height * rng.uniform(0.12, 0.45) * s
        tilt = np.radians(rng.uniform(-12, 12))
        along = np.array([np.cos(tilt), -np.sin(tilt)]) * half
        wobble = width * s * rng.uniform(0, 0.4)
        points = [centre + (2 * k / 3 - 1) * along + rng.normal(0, wobble + 1e-6, 2) for k in range(4)]
        draw.line([tuple(p) for p in points], fill=255, width=round(width * s), joint="curve")
        below = -height * rng.uniform(0.3, 0.65)  # its bottom a little below the middle
    elif mark == "/":
        tall = height * rng.uniform(0.85, 1.3) * s
        lean = np.radians(rng.uniform(8, 60))
        along = np.array([np.sin(lean), -np.cos(lean)]) * tall / 2
        bend = centre + rng.normal(0, width * s * 0.5, 2)
        draw.line(
            [tuple(centre - along), tuple(bend), tuple(centre + along)], fill=255, width=round(width * s), joint="curve"
        )
        below = height * rng.uniform(-0.1, 0.2)
    elif mark == ":":
        gap = height * rng.uniform(0.3, 0.6) * s
        _dot(rng, draw, centre - np.array([0, gap / 2]), pen * s)
        _dot(rng, draw, centre + np.array([rng.normal(0, pen * s * 0.4), gap / 2]), pen * s)
        below = -height * rng.uniform(-0.05, 0.25)
    ink = _reduced(canvas, s)
    return ink, below, MARK_CLASSES.index(mark)


def small_other(rng: np.random.Generator, height: int, pen: float) -> tuple[np.ndarray, float, int]:
    """A small mark that is no separator: a quote or apostrophe high in the row, a degree sign, a
    tiny cross, a squiggle."""
    s = SUPERSAMPLE
    canvas = Image.new("L", (round(3 * height * s), round(3 * height * s)), 0)
    draw = ImageDraw.Draw(canvas)
    centre = np.array(canvas.size) / 2
    width = round(pen * rng.uniform(0.8, 1.3) * s)
    size = height * rng.uniform(0.15, 0.4) * s
    kind = int(rng.integers(4))
    below = -height * rng.uniform(0.6, 0.9)  # high in the row
    if kind == 0:  # a quote: one or two short ticks
        for dx in range(int(rng.integers(1, 3))):
            top = centre + np.array([dx * size * 0.6, -size / 2])
            draw.line([tuple(top), tuple(top + np.array([-size * 0.2, size]))], fill=255, width=width)
    elif kind == 1:  # a degree sign
        draw.ellipse([*(centre - size / 2), *(centre + size / 2)], outline=255, width=max(1, width // 2))
    elif kind == 2:  # a tiny cross, mid-row
        for sign in (1, -1):
            arm = np.array([size / 2, sign * size / 2])
            draw.line([tuple(centre - arm), tuple(centre + arm)], fill=255, width=width)
        below = -height * rng.uniform(0.2, 0.5)
    else:  # a squiggle anywhere in the row
        xs = np.linspace(-size / 2, size / 2, 6)
        points = [(centre[0] + x, centre[1] + rng.normal(0, size / 4)) for x in xs]
        draw.line(points, fill=255, width=width, joint="curve")
        below = -height * rng.uniform(0.1, 0.8)
    return _reduced(canvas, s), below, NOT_A_DIGIT_CLASS


def _dot(rng: np.random.Generator, draw: ImageDraw.ImageDraw, centre: np.ndarray, pen: float) -> None:
    """A point as a hand makes it: a blob, a short tick, or a small ring."""
    kind = rng.random()
    if kind < 0.6:
        rx, ry = pen * rng.uniform(0.45, 1.1), pen * rng.uniform(0.45, 1.1)
        draw.ellipse([centre[0] - rx, centre[1] - ry, centre[0] + rx, centre[1] + ry], fill=255)
    elif kind < 0.85:
        angle = rng.uniform(0, np.pi)
        along = np.array([np.cos(angle), np.sin(angle)]) * pen * rng.uniform(0.6, 1.4)
        draw.line([tuple(centre - along), tuple(centre + along)], fill=255, width=max(1, round(pen)))
    else:
        r = pen * rng.uniform(1.0, 1.8)
        draw.ellipse([*(centre - r), *(centre + r)], outline=255, width=max(1, round(pen * 0.6)))


def _shape(rng: np.random.Generator, pen: ImageDraw.ImageDraw) -> None:
    """A filled shape (an ellipse, a polygon), or one with holes (a smiley, a ring with a dot in it)."""
    x, y = rng.uniform(44, 68, 2)
    rx, ry = rng.uniform(20, 40), rng.uniform(20, 40)
    if rng.random() < 0.5:
        pen.ellipse([x - rx, y - ry, x + rx, y + ry], fill=255)
    else:
        angles = np.sort(rng.uniform(0, 2 * np.pi, int(rng.integers(3, 8))))
        pen.polygon([(x + rx * np.cos(a), y + ry * np.sin(a)) for a in angles], fill=255)
    for _ in range(int(rng.integers(0, 4))):  # holes
        hx, hy, r = (
            x + rng.uniform(-0.5, 0.5) * rx,
            y + rng.uniform(-0.5, 0.5) * ry,
            rng.uniform(3, 0.3 * min(rx, ry) + 4),
        )
        pen.ellipse([hx - r, hy - r, hx + r, hy + r], fill=0)


def _reduced(canvas: Image.Image, s: int) -> np.ndarray:
    """A supersampled drawing at its size, cropped to its ink, 0–1."""
    small = np.asarray(canvas.resize((canvas.width // s, canvas.height // s), Image.Resampling.BOX), np.float32) / 255
    rows, columns = np.flatnonzero(small.max(axis=1) > 0.05), np.flatnonzero(small.max(axis=0) > 0.05)
    if len(rows) == 0:
        return np.ones((1, 1), np.float32)
    return small[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]


def _scaled(ink: np.ndarray, scale: float) -> np.ndarray:
    size = (max(1, round(ink.shape[1] * scale)), max(1, round(ink.shape[0] * scale)))
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BICUBIC
    return np.clip(np.asarray(Image.fromarray(ink.astype(np.float32)).resize(size, resample)), 0, 1)


def laid_out(
    rng: np.random.Generator,
    glyphs: list[tuple[np.ndarray, float, int]],
    height: int,
    gaps: np.ndarray | None = None,
) -> tuple[np.ndarray, list[tuple[int, int, int, int, int]]]:
    """The glyphs left to right on white paper, their bottoms off a common baseline, each `gaps` px
    before the next (less than 0: overlapping it; by default GAP of the height apart), in ink of a
    random darkness, a little blurred at times; and each one's columns, class and rows: (left,
    right, class, top, bottom)."""
    if gaps is None:
        gaps = np.maximum(2, np.round(height * rng.uniform(*GAP, len(glyphs))).astype(int))
    margin = int(height * 0.8) + 4
    width = 2 * margin + sum(g.shape[1] for g, _, _ in glyphs) + int(gaps[:-1].sum())
    tallest = max(g.shape[0] - below for g, below, _ in glyphs)
    deepest = max(max(below for _, below, _ in glyphs), 0)
    baseline = margin + int(np.ceil(tallest))
    page = np.zeros((baseline + int(np.ceil(deepest)) + margin, width), np.float32)
    marks, left = [], margin
    for (ink, below, kind), gap in zip(glyphs, gaps, strict=True):
        bottom = baseline + round(below)
        region = page[bottom - ink.shape[0] : bottom, left : left + ink.shape[1]]
        np.maximum(region, ink, out=region)
        marks.append((left, left + ink.shape[1], kind, bottom - ink.shape[0], bottom))
        left += ink.shape[1] + gap
    darkness = rng.uniform(0.45, 1.0)
    picture = Image.fromarray(np.round(255 * (1 - darkness * page)).astype(np.uint8))
    if rng.random() < 0.3:
        picture = picture.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.8)))
    return np.asarray(picture), marks
