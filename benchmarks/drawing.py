"""The benchmarks' pictures, 1: a digit, or a number's digits, drawn on a page as a pen would
(its size, place, stroke), before any paper, light or camera."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

PAGE_SIDE = (60, 300)  # px, width and height drawn independently
DIGIT_HEIGHT = (0.4, 0.8)  # of the page's height
THICK_FROM = 120  # px of digit height from which the felt-tip is MaxFilter(5), not (3)
NUMBER_HEIGHT = (30, 100)  # px, the digits' common height
SIZE_SPREAD = 0.15  # each digit's height, off the common one
BASELINE_SPREAD = 0.08  # each digit's bottom, off the common baseline, of the height


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


def number_page(
    rng: np.random.Generator, inks: np.ndarray, gaps: tuple[float, float], overlaps: tuple[float, float] | None = None
) -> Page:
    """Digits side by side as a person writes a number: each 85–115% of a common height, its bottom
    up to 8% of that height off a common baseline, the gaps between neighbours' ink (their bounding
    boxes) drawn from `gaps` (of the height), with some of the page around them. With `overlaps`
    instead, each digit starts before the one before it ends, by that share of its width."""
    height = int(rng.integers(NUMBER_HEIGHT[0], NUMBER_HEIGHT[1] + 1))
    sizes = np.round(height * rng.uniform(1 - SIZE_SPREAD, 1 + SIZE_SPREAD, len(inks))).astype(int)
    glyphs = [cropped(scaled_ink(ink, size, max_width=2 * height)) for ink, size in zip(inks, sizes, strict=True)]
    drops = np.round(height * rng.uniform(-BASELINE_SPREAD, BASELINE_SPREAD, len(inks))).astype(int)
    spaces = np.maximum(1, np.round(height * rng.uniform(*gaps, len(inks) - 1))).astype(int)
    if overlaps is not None:
        widths = np.array([glyph.shape[1] for glyph in glyphs[:-1]])
        spaces = -np.round(widths * rng.uniform(*overlaps, len(inks) - 1)).astype(int)
    margin_top, margin_left, margin_bottom, margin_right = np.round(height * rng.uniform(0.3, 1.0, 4)).astype(int)
    spread = round(height * BASELINE_SPREAD) + 1
    baseline = margin_top + round(height * (1 + SIZE_SPREAD)) + spread  # room above for the tallest, raised
    width = margin_left + sum(glyph.shape[1] for glyph in glyphs) + int(spaces.sum()) + margin_right
    page = np.zeros((baseline + spread + margin_bottom, width))
    left, tops, bottoms = margin_left, [], []
    for glyph, drop, space in zip(glyphs, drops, [*spaces, 0], strict=True):
        bottom = baseline + drop
        region = page[bottom - glyph.shape[0] : bottom, left : left + glyph.shape[1]]
        np.maximum(region, glyph / 255, out=region)  # where digits overlap, both inks show
        tops.append(bottom - glyph.shape[0])
        bottoms.append(bottom)
        left += glyph.shape[1] + space
    return Page(page, (min(tops), margin_left, max(bottoms), width - margin_right), height)
