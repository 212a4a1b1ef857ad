"""How well does the model read digits as people send them? Plain resize vs the digits pipeline.

MNIST digits the model never trained on are each drawn the way people's images tend to look,
written to a real file, and read back two ways:

- plain resize: what a naive user does, `Image.open(p).convert("L").resize((28, 28))`, pixels
  fed as they are (no inversion, no cropping, alpha simply dropped);
- digits pipeline: `digits.images.read_digit_image`, which `digits predict` uses (polarity,
  paper level, crop to the ink, 20×20 box, centre of mass). A file it refuses counts as wrong.

The clean kinds: dark ink on a white page of any size, felt-tip strokes, a transparent PNG, white
on black, a JPEG photo of grey paper; then the digits themselves as 28×28 PNGs. The kinds people
photograph: a page in shadow, a page tilted in perspective, pencil, ruled and squared paper, a
form's printed box, chalk on a board, a small digit on a large page. Then digits by other writers
(scikit-learn's 8×8 digits, enlarged). Then blank pages of each kind, on which the pipeline must
find nothing; whole numbers of 2–6 digits, read by `digits.number.read_number` as `digits read`
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
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from calibration import reliability  # benchmarks/calibration.py: a script's own folder is on sys.path
from PIL import Image, ImageDraw, ImageFilter

from digits.checkpoint import ModelFile, load_model_file
from digits.data import CLASSES, TEST_DIR, Digits, load_idx_dir, load_source, resize, split_train_val
from digits.errors import DigitsError
from digits.forward import UNSURE_BELOW, answers, probabilities
from digits.framing import read_digit_image
from digits.images import open_grayscale
from digits.number import read_number

SEED = 0
PAGE_SIDE = (60, 300)  # px, width and height drawn independently
DIGIT_HEIGHT = (0.4, 0.8)  # of the page's height
THICK_FROM = 120  # px of digit height from which the felt-tip is MaxFilter(5), not (3)
INK_RGB = np.array([25, 30, 60], dtype=np.float64)  # blue-black ballpoint
INK_GREY = 32  # the same ink, in grey levels
PAPER_GREY = (150, 200)
PAPER_NOISE = 6.0
JPEG_QUALITY = 75
SAVED_FAILURES_PER_KIND = 6

# A phone photo: the light across the page, then the camera's own blur, noise and compression.
PHOTO_SIDE = (120, 480)  # px, width and height drawn independently: a photo cropped around the writing
PHOTO_DIGIT = (0.25, 0.6)  # of the page's height: some of the page shows around the digit
LIGHT = (170, 230)  # grey level of white paper where a room's light falls most: photos are greyer than scans
LIGHT_DROP = (0, 30)  # grey levels it loses across the page
SHADOW_LIGHT = (200, 220)
SHADOW_DROP = (40, 120)  # a shadow over part of the page, or a lamp's falloff
CAMERA_BLUR = (0.3, 1.0)  # Gaussian radius in px: focus, a hand's shake
CAMERA_NOISE = (1.5, 4.0)  # the sensor's, a standard deviation in grey levels
CAMERA_QUALITY = (60, 90)  # JPEG
TILT_DEGREES = 25  # how far off square a photographed page is, at most
CAMERA_DISTANCE = (2.0, 4.0)  # in half the page's height: a phone held close
TILTED_DIGIT = (0.3, 0.55)  # of the photo's height
TABLE_SHOWS = 0.4  # share of tilted photos where the table shows past one or two of the page's edges
TABLE_STRIP = (0.04, 0.15)  # of the photo's side: how far in the page's edge then is
TABLES = [(105, 72, 45), (60, 60, 64), (135, 130, 122)]  # wood, a dark desk, a grey one

PENCIL_GREY = (90, 150)  # graphite, in grey levels
RULE_SPACING = (0.6, 1.0)  # of the digit's height: a notebook's lines cross the digit
GRID_SPACING = (0.3, 0.6)  # of the digit's height
LINE_COLOURS = [(150, 185, 230), (120, 160, 215), (175, 175, 180)]  # pale blue, blue, grey
MARGIN_RED = (225, 110, 120)
MARGIN_SHARE = 0.3  # of ruled pages with a margin line
BOX_MARGIN = (0.05, 0.25)  # of the digit's height, from its ink to a printed box's lines
BOX_COLOURS = [(20, 20, 20), (80, 80, 85), (30, 45, 120)]  # black, dark grey, dark blue
BETWEEN_LINES = 0.25  # of form boxes that are only a line above and one below the writing
BOARDS = [(35, 70, 50), (50, 54, 56)]  # dark green, dark grey
CHALK_RGB = (235, 235, 225)
CHALK_DROPPED = (0.2, 0.4)  # of the stroke's pixels, where the chalk skipped over the board
LARGE_PAGE = (1000, 2000)  # px a side
SMALL_DIGIT = (20, 40)  # px tall
ENLARGED = (3, 12)  # times: the other writers' 8×8 digits, as scanned
ENLARGING = [Image.Resampling.NEAREST, Image.Resampling.BILINEAR, Image.Resampling.BICUBIC]

# Whole numbers: digits of slightly different sizes, on slightly different baselines, close or far apart.
NUMBER_LENGTHS = (2, 3, 4, 5, 6)
GAP_BANDS = ((0.05, 0.15), (0.15, 0.3), (0.3, 0.6))  # between neighbours' ink, of the digits' height
NUMBER_HEIGHT = (30, 100)  # px, the digits' common height
SIZE_SPREAD = 0.15  # each digit's height, off the common one
BASELINE_SPREAD = 0.08  # each digit's bottom, off the common baseline, of the height

# The goals
GOAL_EACH_KIND = 0.97
GOAL_BEHIND_CLEAN = 0.02  # each kind at most this far below the clean kinds overall
GOAL_NUMBERS = 0.95


# --- drawing digits on a page ----------------------------------------------------------------


@dataclass
class Page:
    """Ink on a page as coverage, 0 (paper) to 1 (ink); the box (top, left, bottom, right) around
    the writing (on a blank page, where the digit would be); the digits' height in px."""

    ink: np.ndarray
    box: tuple[int, int, int, int]
    height: int


def cropped(ink: np.ndarray) -> np.ndarray:
    """The ink cropped to its bounding box; blank ink (a page with no digit) as it is."""
    rows, cols = np.nonzero(ink)
    if not len(rows):
        return ink
    return ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]


def scaled_ink(ink: np.ndarray, height: int, max_width: int) -> np.ndarray:
    """The digit's ink (255 = ink) cropped to its bounding box, scaled up (bicubic) to `height`."""
    crop = cropped(ink)
    scale = min(height / crop.shape[0], max_width / crop.shape[1])  # keep aspect, and fit the page
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    return np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.BICUBIC))


def felt_tip(height: int) -> int:
    """Px a felt-tip adds to each side of a stroke, for a digit `height` px tall."""
    return 2 if height >= THICK_FROM else 1


def sharp_pencil(height: int) -> int:
    """Px a sharp pencil takes off each side of a ballpoint's stroke: about a third of its width."""
    return -max(1, round(height / 50))


def restroke(glyph: np.ndarray, widen: int) -> np.ndarray:
    """The glyph's strokes grown by `widen` px on each side, or shrunk where it is negative."""
    size = 2 * abs(widen) + 1
    if widen > 0:
        padded = np.pad(glyph, widen)  # room for the strokes to grow at the edges
        return np.asarray(Image.fromarray(padded).filter(ImageFilter.MaxFilter(size)))
    return np.asarray(Image.fromarray(glyph).filter(ImageFilter.MinFilter(size)))


def at(glyph: np.ndarray, shape: tuple[int, int], top: int, left: int, height: int) -> Page:
    """A page of `shape` with the glyph (255 = ink) at (top, left), moved in where it would stick out."""
    top = min(max(top, 0), shape[0] - glyph.shape[0])
    left = min(max(left, 0), shape[1] - glyph.shape[1])
    page = np.zeros(shape)
    page[top : top + glyph.shape[0], left : left + glyph.shape[1]] = glyph / 255
    return Page(page, (top, left, top + glyph.shape[0], left + glyph.shape[1]), height)


def placed(rng: np.random.Generator, glyph: np.ndarray, shape: tuple[int, int], height: int) -> Page:
    """The glyph at a random spot fully inside a page of `shape`."""
    top = rng.integers(0, shape[0] - glyph.shape[0] + 1)
    left = rng.integers(0, shape[1] - glyph.shape[1] + 1)
    return at(glyph, shape, top, left, height)


def written(
    rng: np.random.Generator,
    ink: np.ndarray,
    shape: tuple[int, int],
    height: int,
    widen: Callable[[int], int] | None = None,
) -> Page:
    """The digit written `height` px tall at a random spot on a page of `shape`, with the strokes
    of the pen `widen` says (px more on each side of a stroke, for that height)."""
    glyph = scaled_ink(ink, height, max_width=int(shape[1] * 0.9))
    if widen is not None:
        glyph = restroke(glyph, widen(height))
    return placed(rng, glyph, shape, height)


def lone_digit(
    rng: np.random.Generator,
    ink: np.ndarray,
    sides: tuple[int, int] = PAGE_SIDE,
    share: tuple[float, float] = DIGIT_HEIGHT,
    widen: Callable[[int], int] | None = None,
) -> Page:
    """A random page (`sides` px a side) with the digit, `share` of the page's height, on it."""
    page_h, page_w = rng.integers(sides[0], sides[1] + 1, size=2)
    height = round(rng.uniform(*share) * page_h)
    return written(rng, ink, (page_h, page_w), height, widen)


def number_page(rng: np.random.Generator, inks: np.ndarray, gaps: tuple[float, float]) -> Page:
    """Digits side by side as a person writes a number: each 85–115% of a common height, its bottom
    up to 8% of that height off a common baseline, the gaps between neighbours' ink (their bounding
    boxes) drawn from `gaps` (of the height), with some of the page around them."""
    height = int(rng.integers(NUMBER_HEIGHT[0], NUMBER_HEIGHT[1] + 1))
    sizes = np.round(height * rng.uniform(1 - SIZE_SPREAD, 1 + SIZE_SPREAD, len(inks))).astype(int)
    glyphs = [cropped(scaled_ink(ink, size, max_width=2 * height)) for ink, size in zip(inks, sizes, strict=True)]
    drops = np.round(height * rng.uniform(-BASELINE_SPREAD, BASELINE_SPREAD, len(inks))).astype(int)
    spaces = np.maximum(1, np.round(height * rng.uniform(*gaps, len(inks) - 1))).astype(int)
    margin_top, margin_left, margin_bottom, margin_right = np.round(height * rng.uniform(0.3, 1.0, 4)).astype(int)
    spread = round(height * BASELINE_SPREAD) + 1
    baseline = margin_top + round(height * (1 + SIZE_SPREAD)) + spread  # room above for the tallest, raised
    width = margin_left + sum(glyph.shape[1] for glyph in glyphs) + int(spaces.sum()) + margin_right
    page = np.zeros((baseline + spread + margin_bottom, width))
    left, tops, bottoms = margin_left, [], []
    for glyph, drop, space in zip(glyphs, drops, [*spaces, 0], strict=True):
        bottom = baseline + drop
        page[bottom - glyph.shape[0] : bottom, left : left + glyph.shape[1]] = glyph / 255
        tops.append(bottom - glyph.shape[0])
        bottoms.append(bottom)
        left += glyph.shape[1] + space
    return Page(page, (min(tops), margin_left, max(bottoms), width - margin_right), height)


# --- paper, light and camera -----------------------------------------------------------------


def paint(under: np.ndarray | float, alpha: np.ndarray, colour: np.ndarray | tuple | float) -> np.ndarray:
    """`colour` laid over a page (RGB or grey levels) as much as `alpha` (0 to 1, per pixel) says."""
    if np.ndim(under) == 3:
        alpha = alpha[..., None]
    return under * (1 - alpha) + np.asarray(colour, dtype=np.float32) * alpha


def sheet(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Paper's colour, RGB in full light: white to slightly cream."""
    colour = np.array([255, rng.uniform(245, 255), rng.uniform(230, 255)], dtype=np.float32)
    return np.broadcast_to(colour, (*shape, 3)).copy()


def mottled(rng: np.random.Generator, shape: tuple[int, int], size: int) -> np.ndarray:
    """Smooth random variation, about -1 to 1, in blobs about `size` px across: paper's fibres, smudges."""
    cells = rng.uniform(-1, 1, (shape[0] // size + 2, shape[1] // size + 2)).astype(np.float32)
    smooth = Image.fromarray(cells).resize((cells.shape[1] * size, cells.shape[0] * size), Image.Resampling.BICUBIC)
    return np.asarray(smooth)[: shape[0], : shape[1]]


def grainy(rng: np.random.Generator, shape: tuple[int, int], strength: float) -> np.ndarray:
    """A paper's texture in grey levels: its fibres' mottling and a fine grain, about `strength` strong."""
    return strength * (mottled(rng, shape, 6) + 0.5 * rng.standard_normal(shape, dtype=np.float32))


def light(rng: np.random.Generator, shape: tuple[int, int], brightest: float, drop: float) -> np.ndarray:
    """The light across a page, as the grey level white paper takes: `brightest` where it falls most,
    `drop` less where least; falling linearly in a random direction (a shadow's soft edge, a window)
    or outwards from a corner (a lamp beside the page, a phone's vignette)."""
    side = max(shape)
    y = np.arange(shape[0], dtype=np.float32)[:, None] / side
    x = np.arange(shape[1], dtype=np.float32)[None, :] / side
    if rng.random() < 0.5:
        angle = rng.uniform(0, 2 * np.pi)
        fall = np.cos(angle) * x + np.sin(angle) * y
    else:
        corner_y, corner_x = rng.integers(0, 2, size=2) * [y.max(), x.max()]
        fall = np.hypot(y - corner_y, x - corner_x)
    fall = (fall - fall.min()) / max(float(fall.max() - fall.min()), 1e-6)
    return brightest - drop * fall


def line_cover(length: int, centres: np.ndarray, width: float) -> np.ndarray:
    """How much printed lines `width` px wide at `centres` cover each pixel along a side (anti-aliased)."""
    position = np.arange(length, dtype=np.float32)[:, None] + 0.5
    nearest = np.abs(position - np.asarray(centres, dtype=np.float32)[None, :]).min(axis=1)
    return np.clip(width / 2 + 0.5 - nearest, 0, 1)


def printed_lines(rng: np.random.Generator, paper: np.ndarray, spacing: float, grid: bool) -> np.ndarray:
    """Paper with a notebook's printed lines: pale blue or grey, 1–2 px, `spacing` px apart across
    the page, and down it too on squared paper (`grid`)."""
    height, width = paper.shape[:2]
    thickness = rng.uniform(1, 2)
    rows = line_cover(height, np.arange(rng.uniform(0, spacing), height, spacing), thickness)
    lines = np.broadcast_to(rows[:, None], (height, width))
    if grid:
        columns = line_cover(width, np.arange(rng.uniform(0, spacing), width, spacing), thickness)
        lines = np.maximum(lines, columns[None, :])
    colour = LINE_COLOURS[rng.integers(len(LINE_COLOURS))]
    return paint(paper, lines * rng.uniform(0.6, 1.0), colour)


def box_lines(shape: tuple[int, int], rect: tuple[int, int, int, int], width: int, sides: bool) -> np.ndarray:
    """A printed box's lines, 1 on them: `width` px inside `rect` (top, left, bottom, right); without
    `sides`, only the line above and the one below."""
    top, left, bottom, right = rect
    lines = np.zeros(shape, dtype=np.float32)
    lines[top : top + width, left:right] = lines[bottom - width : bottom, left:right] = 1
    if sides:
        lines[top:bottom, left : left + width] = lines[top:bottom, right - width : right] = 1
    return lines


def with_room(page: Page, rect: tuple[int, int, int, int], margin: int) -> tuple[Page, tuple[int, int, int, int]]:
    """The page grown with blank paper where `rect` comes closer than `margin` px to its edge (or
    past it); the page, and `rect` where it now is."""
    top, left, bottom, right = rect
    above, before = max(0, margin - top), max(0, margin - left)
    below, after = max(0, bottom + margin - page.ink.shape[0]), max(0, right + margin - page.ink.shape[1])
    ink = np.pad(page.ink, ((above, below), (before, after)))
    box = (page.box[0] + above, page.box[1] + before, page.box[2] + above, page.box[3] + before)
    return Page(ink, box, page.height), (top + above, left + before, bottom + above, right + before)


def as_uint8(pixels: np.ndarray) -> np.ndarray:
    return np.clip(np.round(pixels), 0, 255).astype(np.uint8)


def scan(pixels: np.ndarray, stem: Path) -> Path:
    """The page as a scanner or a drawing app writes it: PNG, the pixels as they are."""
    return save(Image.fromarray(as_uint8(pixels)), stem.with_suffix(".png"))


def camera(pixels: np.ndarray, rng: np.random.Generator, stem: Path) -> Path:
    """What a phone's camera adds to the light it sees: a slight blur, sensor noise, JPEG."""
    image = Image.fromarray(as_uint8(pixels)).filter(ImageFilter.GaussianBlur(rng.uniform(*CAMERA_BLUR)))
    noise = rng.uniform(*CAMERA_NOISE) * rng.standard_normal(pixels.shape, dtype=np.float32)
    quality = int(rng.integers(CAMERA_QUALITY[0], CAMERA_QUALITY[1] + 1))
    noisy = Image.fromarray(as_uint8(np.asarray(image, dtype=np.float32) + noise))
    return save(noisy, stem.with_suffix(".jpg"), quality=quality)


def photo(
    colours: np.ndarray,
    rng: np.random.Generator,
    stem: Path,
    brightest: tuple[float, float] = LIGHT,
    drop: tuple[float, float] = LIGHT_DROP,
) -> Path:
    """A phone photo of a page of these colours (RGB or grey, as they are in full light): the light
    falling across it unevenly (`brightest` where most, `drop` levels less where least), then the camera."""
    lit = light(rng, colours.shape[:2], rng.uniform(*brightest), rng.uniform(*drop)) / 255
    return camera(colours * (lit[..., None] if colours.ndim == 3 else lit), rng, stem)


# --- a page in perspective -------------------------------------------------------------------


def tilt(rng: np.random.Generator) -> np.ndarray:
    """A 3-D rotation: up to TILT_DEGREES about a random line in the page's plane, then up to 5° within it."""
    angle, towards = np.radians(rng.uniform(0, TILT_DEGREES)), rng.uniform(0, 2 * np.pi)
    turn = np.radians(rng.uniform(-5, 5))
    axis = np.array([np.cos(towards), np.sin(towards), 0.0])
    cross = np.array([[0, 0, axis[1]], [0, 0, -axis[0]], [-axis[1], axis[0], 0]])
    tilted = np.cos(angle) * np.eye(3) + np.sin(angle) * cross + (1 - np.cos(angle)) * np.outer(axis, axis)
    turned = np.array([[np.cos(turn), -np.sin(turn), 0], [np.sin(turn), np.cos(turn), 0], [0, 0, 1]])
    return turned @ tilted


def covering(quad: np.ndarray, width: int, height: int) -> float:
    """The least scale at which a convex quad around 0 covers a width × height frame centred on 0."""
    frame = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * [width / 2, height / 2]
    edges = np.roll(quad, -1, axis=0) - quad
    normals = np.stack([edges[:, 1], -edges[:, 0]], axis=1)
    offsets = (normals * quad).sum(axis=1)  # each edge's line is normal·p = offset; 0 is inside
    normals, offsets = normals * np.sign(offsets)[:, None], np.abs(offsets)
    return float((frame @ normals.T / offsets).max())


def page_corners(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Where a page's corners (top left, top right, bottom right, bottom left) fall in a photo of
    width × height px: the page tilted (see tilt), seen in perspective from close by, scaled to fill
    the photo; in TABLE_SHOWS of photos moved so that the table shows past one or two of its edges."""
    aspect = rng.uniform(0.7, 1.4)
    corners = np.array([[-aspect, -1, 0], [aspect, -1, 0], [aspect, 1, 0], [-aspect, 1, 0]]) @ tilt(rng).T
    distance = rng.uniform(*CAMERA_DISTANCE)
    quad = corners[:, :2] * (distance / (distance + corners[:, 2:]))
    quad *= covering(quad, width, height) * rng.uniform(1.02, 1.15)
    if rng.random() < TABLE_SHOWS:
        first = int(rng.integers(4))  # 0 top, 1 right, 2 bottom, 3 left; and with half, the next one round
        half = np.array([width, height]) / 2
        for side in [first, (first + 1) % 4][: rng.integers(1, 3)]:
            axis, sign = 1 - side % 2, -1 if side in (0, 3) else 1  # top and bottom move in y; top and left are low
            middle = (quad[side] + quad[(side + 1) % 4]) / 2
            quad[:, axis] += sign * half[axis] * (1 - 2 * rng.uniform(*TABLE_STRIP)) - middle[axis]
    return quad + np.array([width, height]) / 2


def homography(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 8 coefficients (a–h) of the projective map taking each of 4 source points to its target:
    x' = (ax + by + c) / (gx + hy + 1), y' = (dx + ey + f) / (gx + hy + 1), as Image.transform takes them."""
    rows = []
    for (x, y), (u, v) in zip(source, target, strict=True):
        rows += [[x, y, 1, 0, 0, 0, -u * x, -u * y], [0, 0, 0, x, y, 1, -v * x, -v * y]]
    return np.linalg.solve(np.array(rows, dtype=np.float64), np.asarray(target, dtype=np.float64).ravel())


def mapped(coefficients: np.ndarray, point: np.ndarray) -> np.ndarray:
    """Where the projective map (as homography gives it) takes a point (x, y)."""
    a, b, c, d, e, f, g, h = coefficients
    x, y = point
    return np.array([a * x + b * y + c, d * x + e * y + f]) / (g * x + h * y + 1)


def tabletop(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """What lies past the page's edge: a wooden or grey table, RGB, with its own grain and shading."""
    colour = np.asarray(TABLES[rng.integers(len(TABLES))], dtype=np.float32)
    return colour * (1 + 0.15 * mottled(rng, shape, 24))[..., None]


# --- the renderings: one function each, (digit, generator, file stem) -> the file written -----


def dark_on_white(ink: np.ndarray, rng: np.random.Generator, stem: Path) -> Path:
    """Dark ink on a white page: a scan or a drawing app's export. PNG, grayscale."""
    return on_white(lone_digit(rng, ink), rng, stem)


def thick_strokes(ink: np.ndarray, rng: np.random.Generator, stem: Path) -> Path:
    """As dark_on_white, written with a felt-tip: strokes dilated by MaxFilter(3) or (5)."""
    return on_white(lone_digit(rng, ink, widen=felt_tip), rng, stem)


def transparent(ink: np.ndarray, rng: np.random.Generator, stem: Path) -> Path:
    """Black ink whose alpha is the ink, on a fully transparent page. PNG, RGBA."""
    alpha = as_uint8(255 * lone_digit(rng, ink).ink)
    rgba = np.zeros((*alpha.shape, 4), dtype=np.uint8)
    rgba[..., 3] = alpha
    return save(Image.fromarray(rgba, mode="RGBA"), stem.with_suffix(".png"))


def white_on_black(ink: np.ndarray, rng: np.random.Generator, stem: Path) -> Path:
    """Light ink on a black page, like MNIST itself but any size and off-centre. PNG, grayscale."""
    return scan(255 * lone_digit(rng, ink).ink, stem)


def jpeg_on_grey_paper(ink: np.ndarray, rng: np.random.Generator, stem: Path) -> Path:
    """A phone photo: blue-black ink on grey, noisy paper (level 150–200), JPEG quality 75."""
    alpha = lone_digit(rng, ink).ink[..., None]
    paper = rng.integers(PAPER_GREY[0], PAPER_GREY[1] + 1) + rng.normal(0, PAPER_NOISE, (*alpha.shape[:2], 3))
    page = paper * (1 - alpha) + INK_RGB * alpha
    return save(Image.fromarray(as_uint8(page), mode="RGB"), stem.with_suffix(".jpg"), quality=JPEG_QUALITY)


def mnist_png(ink: np.ndarray, rng: np.random.Generator, stem: Path) -> Path:
    """The MNIST digit itself, 28×28, white on black: the format the model was trained on."""
    return save(Image.fromarray(ink), stem.with_suffix(".png"))


def shadow(ink: np.ndarray, rng: np.random.Generator, stem: Path) -> Path:
    """A phone photo of a digit on a page in shadow (see in_shadow)."""
    return in_shadow(lone_digit(rng, ink, PHOTO_SIDE, PHOTO_DIGIT), rng, stem)


def tilted_photo(ink: np.ndarray, rng: np.random.Generator, stem: Path) -> Path:
    """A phone photo of a page held up to 25° off square: the page in perspective, its digit 30–55%
    of the photo's height near the middle, blue-black ink, uneven light, in 40% of photos the table
    showing past one or two of the page's edges; JPEG."""
    width, height = (int(side) for side in rng.integers(PHOTO_SIDE[0], PHOTO_SIDE[1] + 1, size=2))
    corners = page_corners(rng, width, height)
    sides = np.linalg.norm(np.roll(corners, -1, axis=0) - corners, axis=1)  # top, right, bottom, left
    shape = (round(max(sides[1], sides[3])), round(max(sides[0], sides[2])))  # the page flat, about as sharp
    to_page = homography(corners, [[0, 0], [shape[1], 0], [shape[1], shape[0]], [0, shape[0]]])
    # the digit is written where the photo's middle falls on the page, scaled by the page's px per photo px there
    middle, down = np.array([width, height]) * (0.5 + rng.uniform(-0.05, 0.05, size=2)), np.array([0, 1])
    scale = np.linalg.norm(mapped(to_page, middle + down) - mapped(to_page, middle - down)) / 2
    glyph = scaled_ink(ink, round(rng.uniform(*TILTED_DIGIT) * height * scale), max_width=round(0.6 * width * scale))
    centre = mapped(to_page, middle)
    top, left = round(centre[1] - glyph.shape[0] / 2), round(centre[0] - glyph.shape[1] / 2)
    page = at(glyph, shape, top, left, glyph.shape[0])
    flat = Image.fromarray(as_uint8(paint(sheet(rng, shape), page.ink, INK_RGB))).convert("RGBA")
    seen = flat.transform((width, height), Image.Transform.PERSPECTIVE, tuple(to_page), Image.Resampling.BICUBIC)
    scene = Image.alpha_composite(Image.fromarray(as_uint8(tabletop(rng, (height, width)))).convert("RGBA"), seen)
    return photo(np.asarray(scene.convert("RGB"), dtype=np.float32), rng, stem, LIGHT, (10, 60))


def pencil(ink: np.ndarray, rng: np.random.Generator, stem: Path) -> Path:
    """Graphite on white paper: grey strokes (90–150 grey), thinner than a pen's, grainy where the
    lead skipped over the paper's tooth, on paper with a visible grain; half scanned (PNG), half
    photographed (JPEG)."""
    page = lone_digit(rng, ink, widen=sharp_pencil)
    paper = rng.uniform(225, 250) + grainy(rng, page.ink.shape, rng.uniform(2, 5))
    graphite = page.ink * rng.uniform(0.5, 1.0, page.ink.shape)
    grey = paint(paper, graphite, rng.uniform(*PENCIL_GREY))
    return scan(grey, stem) if rng.random() < 0.5 else photo(grey, rng, stem)


def ruled(ink: np.ndarray, rng: np.random.Generator, stem: Path) -> Path:
    """A phone photo of a digit on a notebook's ruled page (see on_ruled)."""
    return on_ruled(lone_digit(rng, ink, PHOTO_SIDE, PHOTO_DIGIT), rng, stem)


def squared(ink: np.ndarray, rng: np.random.Generator, stem: Path) -> Path:
    """A phone photo of a digit on squared paper (see on_squared)."""
    return on_squared(lone_digit(rng, ink, PHOTO_SIDE, PHOTO_DIGIT), rng, stem)


def form_box(ink: np.ndarray, rng: np.random.Generator, stem: Path) -> Path:
    """A digit written in a form's printed box (see in_box)."""
    return in_box(lone_digit(rng, ink, PHOTO_SIDE, PHOTO_DIGIT), rng, stem)


def chalk(ink: np.ndarray, rng: np.random.Generator, stem: Path) -> Path:
    """Chalk on a board: light strokes with 20–40% of their pixels missing where the chalk skipped,
    on a dark green or dark grey board smudged with rubbed-out chalk; a phone photo (JPEG)."""
    page = lone_digit(rng, ink, PHOTO_SIDE, PHOTO_DIGIT)
    shape = page.ink.shape
    dust = np.clip(mottled(rng, shape, max(4, page.height // 2)), 0, 1) * rng.uniform(10, 35)
    board = np.asarray(BOARDS[rng.integers(len(BOARDS))], dtype=np.float32) + dust[..., None]
    touched = rng.random(shape) >= rng.uniform(*CHALK_DROPPED)
    return photo(paint(board, page.ink * touched, CHALK_RGB), rng, stem)


def large_page(ink: np.ndarray, rng: np.random.Generator, stem: Path) -> Path:
    """A small digit (20–40 px tall) on a large page (1000–2000 px a side): a whole page scanned or
    photographed for one digit. Half on white paper as PNG, half on light grey paper with a little
    noise as JPEG (grey levels only: a colour page this size costs three times the time)."""
    shape = tuple(int(side) for side in rng.integers(LARGE_PAGE[0], LARGE_PAGE[1] + 1, size=2))
    page = written(rng, ink, shape, int(rng.integers(SMALL_DIGIT[0], SMALL_DIGIT[1] + 1)))
    if rng.random() < 0.5:
        return on_white(page, rng, stem)
    return camera(paint(rng.uniform(200, 240), page.ink, INK_GREY), rng, stem)


def other_writer(ink: np.ndarray, rng: np.random.Generator, stem: Path) -> Path:
    """A digit by another writer (scikit-learn's 8×8 digits, 16 grey levels) as if scanned that small
    and enlarged 3–12 times, blocky or smooth, dark on a white page with room around it. PNG."""
    factor = int(rng.integers(ENLARGED[0], ENLARGED[1] + 1))
    enlarging = ENLARGING[rng.integers(len(ENLARGING))]
    glyph = np.asarray(Image.fromarray(ink).resize((ink.shape[1] * factor, ink.shape[0] * factor), enlarging))
    shape = tuple(np.round(np.array(glyph.shape) * rng.uniform(1.1, 2.5, size=2)).astype(int))
    return on_white(placed(rng, glyph, shape, glyph.shape[0]), rng, stem)


def textured_paper(ink: np.ndarray, rng: np.random.Generator, stem: Path) -> Path:
    """Writing on coarse, textured paper in a noisy photo: fibres' mottling and grain 8–20 levels
    strong. Drawn for blank pages: the texture alone must not read as a digit."""
    page = lone_digit(rng, ink, PHOTO_SIDE, PHOTO_DIGIT)
    paper = sheet(rng, page.ink.shape) + grainy(rng, page.ink.shape, rng.uniform(8, 20))[..., None]
    return photo(paint(paper, page.ink, INK_RGB), rng, stem)


# --- the same, for any writing on a page (a digit or a number): (page, generator, stem) -> file


def on_white(page: Page, rng: np.random.Generator, stem: Path) -> Path:
    """Black ink on white paper, scanned: PNG, grayscale."""
    return scan(255 * (1 - page.ink), stem)


def in_shadow(page: Page, rng: np.random.Generator, stem: Path) -> Path:
    """Blue-black ink photographed on a page in shadow: the paper at 200–220 grey where lit, falling
    by 40–120 levels across the page; slight blur, light noise, JPEG."""
    return photo(paint(sheet(rng, page.ink.shape), page.ink, INK_RGB), rng, stem, SHADOW_LIGHT, SHADOW_DROP)


def on_ruled(page: Page, rng: np.random.Generator, stem: Path) -> Path:
    """Blue-black ink on a notebook's ruled page: pale blue or grey lines 0.6–1.0 of the digits'
    height apart, so they cross the writing, and on 30% of pages a red margin line left of it;
    photographed in a room's light (greyish paper, slight blur, noise, JPEG)."""
    paper = printed_lines(rng, sheet(rng, page.ink.shape), rng.uniform(*RULE_SPACING) * page.height, grid=False)
    if rng.random() < MARGIN_SHARE and page.box[1] >= 6:
        margin = line_cover(page.ink.shape[1], [rng.uniform(0.3, 0.8) * page.box[1]], rng.uniform(1, 2))
        paper = paint(paper, np.broadcast_to(margin[None, :], page.ink.shape), MARGIN_RED)
    return photo(paint(paper, page.ink, INK_RGB), rng, stem)


def on_squared(page: Page, rng: np.random.Generator, stem: Path) -> Path:
    """Blue-black ink on squared paper: a pale grid 0.3–0.6 of the digits' height a square;
    photographed in a room's light (greyish paper, slight blur, noise, JPEG)."""
    paper = printed_lines(rng, sheet(rng, page.ink.shape), rng.uniform(*GRID_SPACING) * page.height, grid=True)
    return photo(paint(paper, page.ink, INK_RGB), rng, stem)


def in_box(page: Page, rng: np.random.Generator, stem: Path) -> Path:
    """Blue-black ink in a form's printed box: a rectangle of 1–4 px lines (black, dark grey or dark
    blue) 5–25% of the digits' height out from the ink on each side, the form's paper around it; in
    a quarter of forms only a line above and one below. Half scanned (PNG), half photographed (JPEG)."""
    line = int(rng.integers(1, 5))
    out = np.round(rng.uniform(*BOX_MARGIN, size=4) * page.height).astype(int) + line
    top, left, bottom, right = page.box
    rect = (top - out[0], left - out[1], bottom + out[2], right + out[3])
    page, rect = with_room(page, rect, round(rng.uniform(0.1, 0.5) * page.height) + 2)
    lines = box_lines(page.ink.shape, rect, line, sides=rng.random() >= BETWEEN_LINES)
    form = paint(sheet(rng, page.ink.shape), lines, BOX_COLOURS[rng.integers(len(BOX_COLOURS))])
    filled = paint(form, page.ink, INK_RGB)
    return scan(filled, stem) if rng.random() < 0.5 else photo(filled, rng, stem)


def save(image: Image.Image, path: Path, **options: int) -> Path:
    image.save(path, **options)
    return path


Render = Callable[[np.ndarray, np.random.Generator, Path], Path]
Finish = Callable[[Page, np.random.Generator, Path], Path]
CLEAN_KINDS: list[tuple[str, Render]] = [
    ("dark ink on white, 60–300 px", dark_on_white),
    ("thick strokes", thick_strokes),
    ("transparent background", transparent),
    ("white on black", white_on_black),
    ("JPEG on grey paper", jpeg_on_grey_paper),
]
MNIST_KIND = ("MNIST {} digits (28×28 PNG)", mnist_png)
PHOTO_KINDS: list[tuple[str, Render]] = [
    ("in shadow, up to 120 levels", shadow),
    ("tilted phone photo, up to 25°", tilted_photo),
    ("pencil", pencil),
    ("ruled paper", ruled),
    ("squared paper", squared),
    ("printed form box", form_box),
    ("chalk on a board", chalk),
    ("20–40 px digit, 1000–2000 px page", large_page),
]
OTHER_WRITERS = ("other writers (scikit-learn 8×8, enlarged)", other_writer)
BLANK_KINDS: list[tuple[str, Render]] = [
    ("plain white", dark_on_white),
    ("grey JPEG paper", jpeg_on_grey_paper),
    ("in shadow", shadow),
    ("tilted phone photo", tilted_photo),
    ("pencil paper", pencil),
    ("ruled paper", ruled),
    ("squared paper", squared),
    ("empty printed form box", form_box),
    ("chalk board", chalk),
    ("large page", large_page),
    ("textured, noisy paper", textured_paper),
]
NUMBER_PAPERS: list[tuple[str, Finish]] = [
    ("white paper", on_white),
    ("in shadow", in_shadow),
    ("ruled paper", on_ruled),
    ("printed box", in_box),
]


# --- which digits -----------------------------------------------------------------------------


def mnist_digits(model: ModelFile, which: str, mnist: Path | None) -> Digits:
    """MNIST's official test digits, or the model's own validation digits, 28×28 as drawn."""
    if which == "test":
        return load_idx_dir(TEST_DIR, "t10k")
    data, train = model.config["data"], model.config["train"]
    digits = load_source(data["source"], str(mnist or ""), "train", 28)
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


# --- reading the files back -----------------------------------------------------------------


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


def pipeline(path: Path, size: int) -> np.ndarray | None:
    """What `digits predict` does; None when it refuses the file (a blank or unreadable image)."""
    try:
        return read_digit_image(path, size)
    except DigitsError:
        return None


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
    seen = [pipeline(p, model.image_size) for p in paths]
    right, confidence = graded(model, seen, digits.labels)
    if failures is not None:
        save_failures(model, paths, seen, digits.labels, right, readable, failures)
    return Readings(plain, right, confidence)


def run_blanks(
    model: ModelFile, render: Render, count: int, rng: np.random.Generator, workdir: Path, failures: Path | None
) -> tuple[int, int]:
    """Draw `count` pages with no digit: on how many read_digit_image reports a digit (does not
    refuse the file), and on how many read_number reports any digits."""
    blank = np.zeros((28, 28), dtype=np.uint8)  # no ink: the page, lines and boxes drawn as for a digit
    digit_found, number_found, saved = 0, 0, 0
    for i in range(count):
        path = render(blank, rng, workdir / f"blank-{render.__name__}-{i:03d}")
        seen = pipeline(path, model.image_size)
        answer = None if seen is None else int(answers(probabilities(model, seen[None]))[0])
        found = answer is not None and answer < len(CLASSES)  # "not a digit" is no digit found
        number = read_number(model, str(path), open_grayscale(path)).number
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
        reading = read_number(model, str(path), open_grayscale(path))
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


# --- the report -----------------------------------------------------------------------------


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


# --- the run ------------------------------------------------------------------------------------


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
