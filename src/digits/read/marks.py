"""A picture -> the handwriting on it, as marks, in one pipeline:

1. the picture at a working size (WORK_SIDE on its long side);
2. the ink finder (ink.py): each pixel's probability of being handwritten ink, learned from pages
   drawn at random, so that paper, shadow, table, printed lines and printed text are all background;
3. the marks: the connected regions where ink is likelier than not, largest first;
4. the digit: the mark with the most ink and the marks near it; where it is small at the working
   size (a fine pen on a large photo), the finder looks again, closer, at the region round it.

A picture that is already clean (a drawing on pure white or black, its writing clear of its
edges) skips the finder: its ink is its distance from the paper's level, which the finder would
find too (benchmarks/ink.py measures that both give the same answers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from ..errors import DigitsError
from .ink import ink_probability

# px: the finder reads a picture at most this long a side first, where a digit filling the picture
# is as large as the largest it learned from (100 px); where it finds nothing, at FINE_SIDE, where a
# digit a twentieth of the picture high is 24 px
WORK_SIDE, FINE_SIDE = 160, 480
SMALLEST_SIDE = 112  # px: a smaller picture (MNIST's 28×28) is enlarged to this, the pages the finder learned on
INK_LIKELY = 0.5  # the finder's probability above which a pixel is ink: likelier than not
# px at the working size: a mark smaller both ways is a speck (a number's point may be one); a digit
# found at FINE_SIDE on a large page may be 9 px (at 8 px, 15 of 58 generated blank pages were read as
# a digit against 19, but such a digit was lost)
SMALLEST_MARK = 4
# px at the working size: a digit shorter than this is looked at again at ZOOM_TO px, from the picture
# at its own size (at 12 px a fine pen's stroke is under a pixel, and the finder sees a smudge); the
# finder learned digits from 9 to 100 px high
ZOOM_BELOW, ZOOM_TO = 40, 64
ZOOM_MARGIN = 2.5  # of the digit's size: the region looked at again reaches this far round the marks, for context
# (chosen on generated pages: 74.8% read and 17 of 58 blanks read as a digit, against 74.4% and 19 at 1.0)
PAPER_ROUND = 0.125  # of the side: the paper set round a picture cropped to its digit (MNIST's frame leaves 4 of 28 px)
NEIGHBOUR_GAP = 0.3  # of the digit's size: marks this close belong to it (a 5's bar, a broken pencil stroke)
NEIGHBOUR_MASS = 0.02  # of the digit's ink: a lighter mark beside it is noise, not a part of it
# a clean drawing: pure white or black paper (a drawing app, a pad, MNIST's own files) on this share
# of its pixels at least, and all round its edges (where a scanner's lid, or a form's lines, would run off it)
CLEAN_PAPER = 0.5
# of the light: in a clean drawing a pixel this far from the paper is ink, its strokes' soft edges
# joining them (on the digit model's validation digits as 28×28 files: 99.37% read, 99.30% at 0.5)
CLEAN_INK = 0.25


class NoDigitFound(DigitsError):
    """The image holds no handwriting: a blank page. `ink` is the ink the reader found on it, 0–255
    (uint8), so that a person can see why it was called blank."""

    def __init__(self, message: str, ink: np.ndarray | None = None) -> None:
        super().__init__(message)
        self.ink = ink


@dataclass
class Frame:
    """How the ink's pixels map onto the picture's: the picture was scaled by `scale`, then cropped at (left, top)."""

    scale: float
    left: float = 0.0  # where the crop starts, in pixels at the scale
    top: float = 0.0

    def to_picture(self, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        """A box (left, top, right, bottom) in the ink's pixels as a box in the picture's pixels."""
        left, top, right, bottom = box
        s = self.scale
        return (
            int((left + self.left) / s),
            int((top + self.top) / s),
            int(np.ceil((right + self.left) / s)),
            int(np.ceil((bottom + self.top) / s)),
        )


@dataclass
class Ink:
    """The handwriting found on a page: each pixel's ink, 0 (paper) to 1, in `frame`; each mark's
    label (0 for none), the labels of the marks and of the digit's marks, the largest first, and of the specks."""

    share: np.ndarray
    labels: np.ndarray
    marks: list[int]
    digit: list[int]
    frame: Frame
    specks: list[int]

    def box(self, marks: list[int]) -> tuple[int, int, int, int]:
        """The bounding box (top, bottom, left, right) of these marks."""
        rows, columns = np.nonzero(np.isin(self.labels, marks))
        return int(rows.min()), int(rows.max()) + 1, int(columns.min()), int(columns.max()) + 1

    def only(self, marks: list[int]) -> np.ndarray:
        """The ink of these marks alone, with their soft edges, 0 to 255 (float32)."""
        near = ndimage.binary_dilation(np.isin(self.labels, marks), iterations=2)
        ink = np.where(near, self.share, 0).astype(np.float32)
        return ink * (255 / max(float(ink.max()), 1e-6))


def find_ink(picture: np.ndarray, name: str = "image") -> Ink:
    """A picture, uint8 grey levels (H, W) or colours (H, W, 3), -> the handwriting on it, and the
    digit's marks. A picture with none raises NoDigitFound."""
    picture = np.asarray(picture, dtype=np.uint8)
    colours = picture if picture.ndim == 3 else np.repeat(picture[..., None], 3, axis=2)
    share = _clean_drawing(colours)
    if share is not None:
        ink = _marked(share, Frame(1.0), CLEAN_INK)
    else:
        ink, share = _found(colours, WORK_SIDE)
        if ink is None and max(colours.shape[:2]) > WORK_SIDE:
            ink, share = _found(colours, FINE_SIDE)
    if ink is None:
        raise NoDigitFound(f"{name}: no digit found (the image is blank)", np.round(share * 255).astype(np.uint8))
    top, bottom, left, right = ink.box(ink.digit)
    side = max(bottom - top, right - left)
    if side < ZOOM_BELOW and ink.frame.scale < 1.0:
        return _closer(colours, ink, side) or ink
    return ink


def _found(colours: np.ndarray, side: int) -> tuple[Ink | None, np.ndarray]:
    """The handwriting the finder sees with the picture at most `side` a side, and its map. Where the
    digit runs off the picture (a photo cropped to it), the finder looks again with paper round the
    picture: it learned digits on pages, with paper round them."""
    work, scale = _working_copy(colours, side)
    share = ink_probability(work)
    ink = _marked(share, Frame(scale))
    if ink is not None and _cut_by_the_edge(ink):
        share = _with_paper_round(work)
        ink = _marked(share, Frame(scale))
    return ink, share


def _cut_by_the_edge(ink: Ink) -> bool:
    top, bottom, left, right = ink.box(ink.digit)
    return top == 0 or left == 0 or bottom == ink.share.shape[0] or right == ink.share.shape[1]


def _with_paper_round(work: np.ndarray) -> np.ndarray:
    """The finder's map of a picture set on paper of its median colour, PAPER_ROUND of its side each way."""
    pad = max(4, round(PAPER_ROUND * max(work.shape[:2])))
    paper = np.median(work.reshape(-1, 3), axis=0).astype(np.uint8)
    page = np.empty((work.shape[0] + 2 * pad, work.shape[1] + 2 * pad, 3), np.uint8)
    page[:] = paper
    page[pad:-pad, pad:-pad] = work
    return ink_probability(page)[pad:-pad, pad:-pad]


def _marked(share: np.ndarray, frame: Frame, least: float = INK_LIKELY) -> Ink | None:
    """The marks where the ink is over `least` (8-connected), largest ink first; None where there are none."""
    labels, count = ndimage.label(share > least, structure=np.ones((3, 3)))
    if count == 0:
        return None
    mass = ndimage.sum_labels(share, labels, range(1, count + 1))
    marks, specks = [], []
    for index, found in enumerate(ndimage.find_objects(labels), start=1):
        small = max(s.stop - s.start for s in found) < SMALLEST_MARK
        (specks if small else marks).append(index)
    if not marks:
        return None
    marks.sort(key=lambda index: -mass[index - 1])
    return Ink(share, labels, marks, digit_marks(labels, share, marks), frame, specks)


def _closer(colours: np.ndarray, ink: Ink, side: int) -> Ink | None:
    """The writing looked at again, from the picture at up to its own size, in the region round all
    its marks (a number's digits too), where the digit, `side` px at the working size, is ZOOM_TO px.
    None where nothing is found there."""
    top, bottom, left, right = ink.box(ink.marks)
    reach = ZOOM_MARGIN * side
    scale = ink.frame.scale
    region = [max(0, int((v - reach) / scale)) for v in (top, left)]
    ends = [
        min(n, int(np.ceil((v + reach) / scale))) for v, n in ((bottom, colours.shape[0]), (right, colours.shape[1]))
    ]
    crop = colours[region[0] : ends[0], region[1] : ends[1]]
    zoom = min(1.0, ZOOM_TO / (side / scale))
    size = (max(1, round(crop.shape[1] * zoom)), max(1, round(crop.shape[0] * zoom)))
    work = np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.BOX)) if zoom < 1.0 else crop
    frame = Frame(zoom, region[1] * zoom, region[0] * zoom)
    return _marked(ink_probability(work), frame)


def _working_copy(colours: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    """The picture at most `side` a side (averaged down), at least SMALLEST_SIDE (enlarged), and the
    scale it was shrunk or enlarged by."""
    longest = max(colours.shape[:2])
    scale = side / longest if longest > side else max(1.0, SMALLEST_SIDE / longest)
    if scale == 1.0:
        return colours, 1.0
    size = (max(1, round(colours.shape[1] * scale)), max(1, round(colours.shape[0] * scale)))
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    return np.asarray(Image.fromarray(colours).resize(size, resample)), scale


def _clean_drawing(colours: np.ndarray) -> np.ndarray | None:
    """The ink of a clean drawing (see CLEAN_PAPER), 0–1 by its distance from the paper; None for
    any other picture."""
    gray = colours[..., 0]
    if not (np.array_equal(gray, colours[..., 1]) and np.array_equal(gray, colours[..., 2])):
        return None
    for paper in (255, 0):
        on_paper = gray == paper
        if on_paper.mean() < CLEAN_PAPER or on_paper.all():
            continue
        edges = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
        if not (edges == paper).all():
            return None
        return np.abs(gray.astype(np.float32) - paper) / 255
    return None


def digit_marks(labels: np.ndarray, share: np.ndarray, marks: list[int]) -> list[int]:
    """The digit's marks: the one with the most ink, and the marks near it (within NEIGHBOUR_GAP of
    the digit's size, with NEIGHBOUR_MASS of its ink), grown until no more join."""
    objects = ndimage.find_objects(labels)
    mass = dict(zip(marks, ndimage.sum_labels(share, labels, marks), strict=True))
    digit = [marks[0]]
    top, bottom = objects[marks[0] - 1][0].start, objects[marks[0] - 1][0].stop
    left, right = objects[marks[0] - 1][1].start, objects[marks[0] - 1][1].stop
    grown = True
    while grown:
        grown = False
        gap = NEIGHBOUR_GAP * max(bottom - top, right - left)
        for index in marks:
            if index in digit or mass[index] < NEIGHBOUR_MASS * mass[marks[0]]:
                continue
            rows, columns = objects[index - 1]
            if (
                rows.start <= bottom + gap
                and rows.stop >= top - gap
                and columns.start <= right + gap
                and columns.stop >= left - gap
            ):
                digit.append(index)
                top, bottom = min(top, rows.start), max(bottom, rows.stop)
                left, right = min(left, columns.start), max(right, columns.stop)
                grown = True
    return digit
