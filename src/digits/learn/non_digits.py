"""Things that are not digits, drawn for the network to learn one more answer: "not a digit".

A network trained on digits alone answers with a digit whatever it is shown, and often with
confidence: a scribble reads as a 4, a letter as an 8. Given examples of the eleventh answer it
learns where the digits end. Each drawing is made at CANVAS × CANVAS with a pen as wide as MNIST's
strokes are at 28×28, then framed as the reader frames a digit (framing.mnist_frame). Training's
augmentation then turns, shears and bends them as it does the digits.

Kinds: scribbles, crossing strokes (crosses, stars, hashes), a lone line near level (a
steeper one may be a 1), blots, letters and symbols from Pillow's own font, and capitals drawn by
hand-like strokes. None is shaped like a digit: no O, I, l, S, Z, B, G, Q, b, g, q ...
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..read.framing import mnist_frame

CANVAS = 112  # px: each drawing is made this size, then framed into image_size × image_size
PEN = (6, 17)  # px at the canvas size, from–to: MNIST's strokes are 1.5–4 px at 28×28
STEEPEST_LINE = 30  # degrees off level; turned 15° more at most, so never within 45° of upright, where 1s lean
FONT_LETTERS = "ACEFHKLMNPRTUVWXYacefhkmnprtuvwxy#%&*+<=>@~"
# capitals as hand-drawn strokes through points on a 0–1 grid (x right, y down); arcs as ("arc", ...)
HAND_STROKES: dict[str, list[list[tuple[float, float]]]] = {
    "A": [[(0.05, 1), (0.5, 0), (0.95, 1)], [(0.25, 0.62), (0.75, 0.62)]],
    "E": [[(0.9, 0), (0.1, 0), (0.1, 1), (0.9, 1)], [(0.1, 0.5), (0.65, 0.5)]],
    "F": [[(0.9, 0), (0.1, 0), (0.1, 1)], [(0.1, 0.45), (0.6, 0.45)]],
    "H": [[(0.1, 0), (0.1, 1)], [(0.9, 0), (0.9, 1)], [(0.1, 0.5), (0.9, 0.5)]],
    "K": [[(0.1, 0), (0.1, 1)], [(0.9, 0), (0.1, 0.6)], [(0.3, 0.45), (0.9, 1)]],
    "L": [[(0.15, 0), (0.15, 1), (0.85, 1)]],
    "M": [[(0.05, 1), (0.15, 0), (0.5, 0.7), (0.85, 0), (0.95, 1)]],
    "N": [[(0.1, 1), (0.1, 0), (0.9, 1), (0.9, 0)]],
    "T": [[(0, 0), (1, 0)], [(0.5, 0), (0.5, 1)]],
    "V": [[(0.05, 0), (0.5, 1), (0.95, 0)]],
    "W": [[(0, 0), (0.2, 1), (0.5, 0.25), (0.8, 1), (1, 0)]],
    "X": [[(0.05, 0), (0.95, 1)], [(0.95, 0), (0.05, 1)]],
    "Y": [[(0.05, 0), (0.5, 0.5), (0.95, 0)], [(0.5, 0.5), (0.5, 1)]],
    "U": [[(0.1, 0), (0.1, 0.7), (0.3, 0.97), (0.7, 0.97), (0.9, 0.7), (0.9, 0)]],
    "P": [[(0.15, 1), (0.15, 0), (0.7, 0), (0.9, 0.15), (0.9, 0.35), (0.7, 0.5), (0.15, 0.5)]],
    "R": [[(0.15, 1), (0.15, 0), (0.7, 0), (0.9, 0.15), (0.9, 0.35), (0.7, 0.5), (0.15, 0.5)], [(0.45, 0.5), (0.9, 1)]],
    "C": [[(0.9, 0.15), (0.6, 0), (0.3, 0.05), (0.1, 0.3), (0.1, 0.7), (0.3, 0.95), (0.6, 1), (0.9, 0.85)]],
    "k": [[(0.15, 0), (0.15, 1)], [(0.8, 0.4), (0.15, 0.75)], [(0.4, 0.65), (0.85, 1)]],
    "h": [[(0.15, 0), (0.15, 1)], [(0.15, 0.6), (0.4, 0.42), (0.75, 0.45), (0.85, 0.6), (0.85, 1)]],
    "m": [[(0.05, 1), (0.05, 0.2), (0.3, 0), (0.5, 0.2), (0.5, 1)], [(0.5, 0.2), (0.75, 0), (0.95, 0.2), (0.95, 1)]],
    "n": [[(0.15, 1), (0.15, 0)], [(0.15, 0.25), (0.45, 0), (0.8, 0.1), (0.85, 0.3), (0.85, 1)]],
    "r": [[(0.2, 1), (0.2, 0)], [(0.2, 0.3), (0.5, 0.05), (0.85, 0.05)]],
}


def drawn_non_digits(count: int, seed: int, image_size: int = 28) -> np.ndarray:
    """`count` non-digits, uint8 (count, image_size, image_size), 0 paper and 255 ink, the kinds in
    turn; the same ones for the same seed."""
    rng = np.random.default_rng(seed)
    font = ImageFont.load_default(80)  # Pillow's own (Aileron): there on every machine
    kinds = [scribble, crossing_strokes, lone_line, blot, lambda r, d: font_letter(r, d, font), hand_letter]
    frames = [_framed(kinds[i % len(kinds)], rng, image_size) for i in range(count)]
    return np.stack(frames) if frames else np.zeros((0, image_size, image_size), np.uint8)


def scribble(rng: np.random.Generator, pen: ImageDraw.ImageDraw) -> None:
    """A pen wandering: at every step its heading turns by a random amount, more for some hands."""
    heading, turning, length = rng.uniform(0, 2 * np.pi), rng.uniform(0.5, 1.2), rng.uniform(4, 9)
    point, points = rng.uniform(40, 72, 2), []
    for _ in range(int(rng.integers(50, 150))):
        heading += rng.normal(0, turning)
        point = np.clip(point + length * np.array([np.cos(heading), np.sin(heading)]), 8, CANVAS - 8)
        points.append(tuple(point))
    pen.line(points, fill=255, width=_pen(rng), joint="curve")


def crossing_strokes(rng: np.random.Generator, pen: ImageDraw.ImageDraw) -> None:
    """Two to five straight strokes across one another: a cross, a star, a hash, a tick."""
    width = _pen(rng)
    for _ in range(int(rng.integers(2, 6))):
        pen.line(
            [tuple(rng.uniform(12, CANVAS - 12, 2)), tuple(rng.uniform(12, CANVAS - 12, 2))], fill=255, width=width
        )


def lone_line(rng: np.random.Generator, pen: ImageDraw.ImageDraw) -> None:
    """One line (a dash, a stray mark, a crossing-out), sometimes bent once, at most STEEPEST_LINE off level."""
    angle, length = np.radians(rng.uniform(-STEEPEST_LINE, STEEPEST_LINE)), rng.uniform(40, 100)
    along = np.array([np.cos(angle), np.sin(angle)]) * length / 2
    middle = np.array([CANVAS / 2, CANVAS / 2]) + rng.normal(0, length / 12, 2) * (rng.random() < 0.5)
    pen.line(
        [tuple(CANVAS / 2 - along), tuple(middle), tuple(CANVAS / 2 + along)], fill=255, width=_pen(rng), joint="curve"
    )


def blot(rng: np.random.Generator, pen: ImageDraw.ImageDraw) -> None:
    """A blot of ink: one to four filled ellipses, none thin and upright (that is a 1)."""
    for _ in range(int(rng.integers(1, 5))):
        x, y = rng.uniform(35, 77, 2)
        width = rng.uniform(12, 32)
        height = width * rng.uniform(0.4, 2.0)
        pen.ellipse([x - width, y - height, x + width, y + height], fill=255)


def font_letter(rng: np.random.Generator, pen: ImageDraw.ImageDraw, font: ImageFont.FreeTypeFont) -> None:
    """A letter or symbol no digit looks like, printed, in a pen's weight from thin to bold."""
    letter = str(rng.choice(list(FONT_LETTERS)))
    pen.text(
        (CANVAS / 2, CANVAS / 2),
        letter,
        fill=255,
        font=font,
        anchor="mm",
        stroke_width=int(rng.integers(0, 5)),
        stroke_fill=255,
    )


def hand_letter(rng: np.random.Generator, pen: ImageDraw.ImageDraw) -> None:
    """A letter drawn by hand: its strokes through jittered points, slanted and squeezed a little."""
    strokes = HAND_STROKES[str(rng.choice(list(HAND_STROKES)))]
    width, slant, squeeze = _pen(rng), rng.uniform(-0.3, 0.3), rng.uniform(0.6, 1.1)
    for stroke in strokes:
        points = [
            (
                CANVAS / 2 + 76 * squeeze * (x - 0.5 + slant * (0.5 - y) + rng.normal(0, 0.03)),
                18 + 76 * (y + rng.normal(0, 0.03)),
            )
            for x, y in stroke
        ]
        pen.line(points, fill=255, width=width, joint="curve")


def _pen(rng: np.random.Generator) -> int:
    return int(rng.integers(*PEN))


def _framed(draw, rng: np.random.Generator, image_size: int) -> np.ndarray:
    """One drawing, turned by up to 15° either way, cropped to its ink and framed as the reader frames a digit."""
    image = Image.new("L", (CANVAS, CANVAS), 0)
    draw(rng, ImageDraw.Draw(image))
    image = image.rotate(rng.uniform(-15, 15), resample=Image.Resampling.BILINEAR)
    ink = np.asarray(image, dtype=np.float32)
    rows, columns = np.flatnonzero(ink.max(axis=1) > 0), np.flatnonzero(ink.max(axis=0) > 0)
    if len(rows) == 0:  # nothing drawn (a letter the font lacks): a blot instead
        return _framed(blot, rng, image_size)
    return mnist_frame(ink[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1], image_size)
