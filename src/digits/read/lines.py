"""Printed lines at any angle: ruled, squared and graph paper, a form's box or the lines above and
below the writing, an underline, a margin. The OpenCV recipe: the dominant line angle by
projection profiles, the picture turned level by it, then what a long thin bar fits in (a
grey-level opening), kept where it is thin and ink of its own, and taken out; a stroke that crosses
a line is carried across it. It asks "is this long and thin?", not "is this row mostly ink?", so
any line colour, spacing or tilt up to LINE_TILT will do.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from PIL import Image
from scipy import ndimage

ANGLE_SIDE = 512  # px: the line angle is found on the ink shrunk to this, where a line is still a line
ANGLE_POINTS = 20_000  # pixels sampled to find a line angle: plenty for a line, and quick
LINE_TILT = 15  # degrees: printed lines are looked for up to this far off level
LEVEL_WITHIN = 0.2  # degrees: a line turned less stays within a pixel over 300 (the bar's slack); more is turned level
LINE_LENGTH = 0.45  # of the short side: a printed line is at least this long (a form's box side, a page's rule);
# a digit filling a crop has strokes up to 0.41 of it (a 5's bar)
# of a line's length: it is ink of its own along this much at least; a rule through a number
# written along it is crossed by strokes over most of its length, a thick stroke's core all of it
LINE_ALONE = 0.25
LINE_STEADY = 5  # px: a line's ink is averaged over this much of its length before it must hold all along
BOX_SIDE = 0.25  # of a page's line: a box's side may be this short, with another of the same span beside it
BOX_LINE_VS_STROKE = 0.6  # and no thicker than this share of the writing's thickest stroke (not a pen's own)
LINE_THINNEST = 1 / 12  # a line is no thicker than this share of its length; a digit's stroke is (1 in MNIST: 1/7)
WRITING_AT_LEAST = 8  # px: ink this long one way at least is writing; less, a speck
WRITING_OVER_FAINT = 2  # and this many times as dark as the faintest line somewhere; paler, a table's grain
# of a line's longest row: a row holding less is a stroke's that joined it along part of its length, not
# the line's; a page's line runs the page, a stroke along it far less; a box's side is short, and its
# blurred edge rows hold less of it
PAGE_LINE_OWN, BOX_LINE_OWN = 0.5, 0.25
# of each side of a closed box's bounds: ink along this much of it at least (a blurred corner, a
# scan's gap); a digit's loop, round or drawn by hand, meets its bounds over a few pixels a side
BOX_CLOSED = 0.9
BOX_REACH = 0.15  # of a box's bounds: its side lies this near them at least (a digit poking past it, a speck)
LINE_HEADROOM, LINE_SLACK = 1.5, 0.15  # a line's ink varies along it (JPEG, noise): this much more is the line's


def without_lines(share: np.ndarray, faintest: float) -> tuple[np.ndarray, float]:
    """The ink less printed lines (ruled, squared and graph paper, a form's box, an underline, a
    margin), found at their own angle, the picture turned level by it where they are; a stroke that
    crosses a line keeps the ink on both sides of it and any ink darker than the line. `faintest`:
    the share of the light below which nothing is a line. Returns the ink, and the angle (degrees)
    it was turned by (expanding, as Pillow turns images)."""
    faint = share > faintest
    short = min(share.shape)
    length = max(8, round(LINE_LENGTH * short))
    angle = dominant_angle(_coarse_mask(faint), LINE_TILT, 1.0)
    if abs(angle) >= LEVEL_WITHIN:
        turned = Image.fromarray(share).rotate(angle, Image.Resampling.BILINEAR, expand=True)
        candidate = np.asarray(turned)
        lines = _line_ink(candidate, length, faintest)
        if not lines.any():
            return share, 0.0
        share = candidate
    else:
        angle = 0.0
        lines = _line_ink(share, length, faintest)
        if not lines.any():
            return share, 0.0
    # the line's own ink, with room for where it is darker (JPEG's ringing, two lines crossing) and
    # spread a pixel to its blurred edge
    lines = ndimage.grey_dilation(lines, size=(1, 3, 3))  # upright lines, level ones
    ink = lines.max(axis=0)
    cleaned = share - np.where(ink > 0, LINE_HEADROOM * ink + LINE_SLACK, 0)
    # across a line, ink on both sides of it is a stroke crossing: close the gap the line left, across
    # it only (along it, the gap between two digits written on a rule would close too)
    bridge = int(thickest_stroke(ink > 0)) + 4  # the widest line, and two pixels of blur each side
    on_line = ndimage.binary_dilation(lines > 0, iterations=1, structure=np.ones((1, 3, 3)))
    across = np.maximum(
        np.where(on_line[1], ndimage.grey_closing(cleaned, size=(bridge, 1)), 0),
        np.where(on_line[0], ndimage.grey_closing(cleaned, size=(1, bridge)), 0),
    )
    np.maximum(cleaned, np.minimum(across, share), out=cleaned)
    return np.clip(cleaned, 0, 1, out=cleaned), angle


def _coarse_mask(mask: np.ndarray) -> np.ndarray:
    """A mask shrunk to at most ANGLE_SIDE a side (any pixel set in a block sets it)."""
    factor = max(1, math.ceil(max(mask.shape) / ANGLE_SIDE))
    if factor == 1:
        return mask
    height, width = (mask.shape[0] // factor) * factor, (mask.shape[1] // factor) * factor
    return mask[:height, :width].reshape(height // factor, factor, width // factor, factor).any(axis=(1, 3))


def dominant_angle(mask: np.ndarray, most: float, step: float) -> float:
    """The angle (degrees, within ±most) at which the mask's pixels, projected onto rows and onto
    columns, are most sharply peaked: the angle of its straight lines. A coarse search, then a finer one."""
    ys, xs = np.nonzero(mask)
    if len(ys) > ANGLE_POINTS:  # a random sample is as peaked as the whole (a regular one is striped)
        chosen = np.random.default_rng(0).choice(len(ys), ANGLE_POINTS, replace=False)
        ys, xs = ys[chosen], xs[chosen]
    ys, xs = ys - mask.shape[0] / 2, xs - mask.shape[1] / 2
    reach = int(np.hypot(*mask.shape)) + 2

    def peakedness(angle: float) -> float:
        a = math.radians(angle)
        across = np.floor(ys * math.cos(a) - xs * math.sin(a)).astype(np.int64) + reach
        along = np.floor(xs * math.cos(a) + ys * math.sin(a)).astype(np.int64) + reach
        # jumps between neighbouring rows: a line is two, the picture's own frame or a blob few
        return float((np.diff(np.bincount(across)) ** 2).sum() + (np.diff(np.bincount(along)) ** 2).sum())

    if len(ys) == 0:
        return 0.0
    best = max(np.arange(-most, most + step / 2, step), key=peakedness)
    finer = np.arange(best - step, best + step + step / 8, step / 5)
    return float(max(finer, key=peakedness))


def _line_ink(share: np.ndarray, length: int, faint: float) -> np.ndarray:
    """The ink of printed lines, upright lines' and level lines' apart (an array of two): level or
    upright runs (a grey-level opening with a bar, a pixel either side allowed for a line not quite
    level), no thicker than LINE_THINNEST of their length and ink of their own across: a page's
    lines, at least `length` long; a box's, at least BOX_SIDE of that, two of the same span,
    thinner than the writing besides them; and closed boxes. A digit's strokes are shorter, or
    thicker, or alone."""
    lines = np.zeros((2, *share.shape), dtype=share.dtype)  # upright lines' ink, level lines'
    page_lines = {1: np.zeros(share.shape, dtype=bool), 0: np.zeros(share.shape, dtype=bool)}  # level, upright
    steady = {axis: _steady(share, axis) for axis in (1, 0)}
    for bar, on_a_page in ((length, True), (max(8, round(BOX_SIDE * length)), False)):
        along_rows, along_columns = _opened(share, steady[1], bar, 1), _opened(share, steady[0], bar, 0)
        for axis, opened, across in ((1, along_rows, along_columns), (0, along_columns, along_rows)):
            labels, count = ndimage.label(opened > faint)
            if count == 0:
                continue
            inked = (share > faint) & ~(across > faint)  # the ink round a line, less the lines crossing it
            objects = ndimage.find_objects(labels)
            spans = {}  # the straight, thin lines: where each runs along, and how thick it is
            for index, found in enumerate(objects, start=1):
                extent = max(found[0].stop - found[0].start, found[1].stop - found[1].start)
                thickness = int((labels[found] == index).sum()) / extent
                known = not on_a_page and page_lines[axis][found][labels[found] == index].any()  # a page line's piece
                if extent >= bar and not known and thickness <= LINE_THINNEST * extent and _alone(inked, found, axis):
                    along = found[1] if axis == 1 else found[0]
                    spans[index] = (along.start, along.stop, thickness)
            # a lone straight piece within the writing is a stroke's (a 7's stem); with no writing
            # but it, an upright one is a 1, unless lines run across it (a ruled page's margin)
            alone_upright = axis == 0 and not page_lines[1].any()
            if (
                on_a_page
                and len(spans) == 1
                and not _past_the_writing(share, inked, faint, labels == next(iter(spans)), axis, alone_upright)
            ):
                spans = {}
            stroke = math.inf
            if not on_a_page and spans:
                # the writing's thickest stroke, less these lines; with no writing but them (an
                # empty form), any line is thinner than it
                besides = ndimage.binary_dilation(np.isin(labels, list(spans)), iterations=2)
                writing = _writing(share, (share > faint) & ~besides, faint)
                stroke = thickest_stroke(writing) if writing.any() else math.inf
            for index, (start, stop, thickness) in spans.items():
                tolerance = 3 + 0.05 * (stop - start)
                twin = any(
                    other != index and abs(start - o_start) <= tolerance and abs(stop - o_stop) <= tolerance
                    for other, (o_start, o_stop, _) in spans.items()
                )
                if on_a_page or (twin and thickness <= BOX_LINE_VS_STROKE * stroke):
                    found = objects[index - 1]
                    _add_line(lines[axis], share, opened, labels[found] == index, found, axis, faint, on_a_page)
                    if on_a_page:
                        page_lines[axis][found] |= labels[found] == index
    np.maximum(lines, _closed_boxes(share, faint), out=lines)
    return lines


def _closed_boxes(share: np.ndarray, faint: float) -> np.ndarray:
    """The ink of closed boxes: connected ink that runs along BOX_CLOSED of each of four sides near
    its bounds (within BOX_REACH of them: a stroke or a speck may poke past a box), each side thin
    (LINE_THINNEST of its length): a printed box, however short its sides and however thick
    against the writing in it (or with none in it), as a digit's loop is never a rectangle. Each
    side at its own thickness, its ink up to its typical level; upright sides' and level sides' apart."""
    boxes = np.zeros((2, *share.shape), dtype=share.dtype)  # upright sides' ink, level sides'
    labels, _ = ndimage.label(share > faint, structure=np.ones((3, 3)))
    for index, found in enumerate(ndimage.find_objects(labels), start=1):
        height, width = found[0].stop - found[0].start, found[1].stop - found[1].start
        if min(height, width) < 2 * WRITING_AT_LEAST:
            continue
        mine = labels[found] == index
        ink = share[found]
        sides = [
            _box_side(*turned)
            for turned in ((mine, ink), (mine[::-1], ink[::-1]), (mine.T, ink.T), (mine.T[::-1], ink.T[::-1]))
        ]
        if any(side is None for side in sides):
            continue
        (top, top_thick), (bottom, bottom_thick), (left, left_thick), (right, right_thick) = sides
        rows, columns = slice(top, height - bottom), slice(left, width - right)
        bands = (  # each side's band, and the axis across it
            ((slice(top, top + top_thick), columns), 0),
            ((slice(height - bottom - bottom_thick, height - bottom), columns), 0),
            ((rows, slice(left, left + left_thick)), 1),
            ((rows, slice(width - right - right_thick, width - right)), 1),
        )
        for band, across in bands:
            # the line's level: its core, the darkest across it, as it typically is along it
            level = float(np.median(ink[band].max(axis=across)))
            side = boxes[1 - across][found][band]  # a level side is crossed down its rows
            np.maximum(side, np.where(mine[band], np.minimum(ink[band], level), 0), out=side)
    return boxes


def _box_side(mask: np.ndarray, ink: np.ndarray) -> tuple[int, int] | None:
    """A box's side along the first rows of a mask of ink (its top, in the mask as turned; `ink`,
    the share, turned alike): how far in it lies, and how many rows it spans; None where no line
    runs along BOX_CLOSED of it within BOX_REACH, or where it is thicker than LINE_THINNEST of its
    length, measured as its ink across over its core's (a blurred line's faint fringe is no width)."""
    reach = max(2, round(BOX_REACH * mask.shape[0]))
    pairs = mask[:reach] | np.vstack([mask[1:reach], np.zeros_like(mask[:1])])  # a row or the next
    along = np.flatnonzero(pairs.mean(axis=1) >= BOX_CLOSED)
    if along.size == 0:
        return None
    first = int(along[0])
    rest = mask[first:].copy()
    if rest.shape[0] > 1:
        rest[0] |= rest[1]
    on_side = np.cumprod(rest, axis=0).astype(bool)  # the side's run of ink in from its edge
    spans = int(np.median(on_side.sum(axis=0)))
    side_ink = np.where(on_side, ink[first:], 0)
    width = float(np.median(side_ink.sum(axis=0) / np.maximum(side_ink.max(axis=0), 1e-6)))
    return (first, spans) if spans > 0 and width <= LINE_THINNEST * mask.shape[1] else None


def _past_the_writing(
    share: np.ndarray, inked: np.ndarray, faint: float, line: np.ndarray, axis: int, alone_is_writing: bool
) -> bool:
    """Whether a line (a mask, level where axis is 1, upright where 0) reaches past the writing at
    both ends, as a printed line does (a margin, an underline, a rule across the page); a
    handwritten stroke's straight part ends within its digit. The writing: the ink (`inked`, less
    the lines across it) in pieces WRITING_AT_LEAST long and WRITING_OVER_FAINT times `faint` dark.
    Where there is none, the line is the writing if `alone_is_writing`."""
    writing = _writing(share, inked & ~ndimage.binary_dilation(line, iterations=2), faint)
    line_along = np.flatnonzero(line.any(axis=1 - axis))
    writing_along = np.flatnonzero(writing.any(axis=1 - axis))
    if writing_along.size == 0:
        return not alone_is_writing
    return line_along[0] <= writing_along[0] and line_along[-1] >= writing_along[-1]


def _writing(share: np.ndarray, ink: np.ndarray, faint: float) -> np.ndarray:
    """Of a mask of ink, the writing: pieces WRITING_AT_LEAST long one way at least and
    WRITING_OVER_FAINT times `faint` dark somewhere; the rest is specks and a table's grain."""
    pieces, count = ndimage.label(ink)
    if count == 0:
        return ink
    # each piece's darkest pixel (ndimage.maximum sorts the whole picture to find it: 30 ms on a photo)
    darkest = np.zeros(count + 1, dtype=share.dtype)
    np.maximum.at(darkest, pieces.ravel(), share.ravel())
    kept = np.zeros(count + 1, dtype=bool)
    for index, found in enumerate(ndimage.find_objects(pieces), start=1):
        kept[index] = (
            max(s.stop - s.start for s in found) >= WRITING_AT_LEAST and darkest[index] >= WRITING_OVER_FAINT * faint
        )
    return kept[pieces]


def _steady(share: np.ndarray, axis: int) -> np.ndarray:
    """The ink with a pixel either side allowed for a line not quite level (axis 1) or upright (axis
    0), averaged along it over a few pixels (JPEG's and the paper's dips do not break a line)."""
    slack = (3, 1) if axis == 1 else (1, 3)
    return ndimage.uniform_filter1d(ndimage.maximum_filter(share, size=slack), LINE_STEADY, axis=axis)


def _opened(share: np.ndarray, steady: np.ndarray, bar: int, axis: int) -> np.ndarray:
    """The ink that a bar `bar` long fits in, level (axis 1) or upright (axis 0), of the steady ink
    along that axis (`_steady`)."""
    return np.minimum(share, ndimage.grey_opening(steady, size=(1, bar) if axis == 1 else (bar, 1)))


def _add_line(
    lines: np.ndarray,
    share: np.ndarray,
    opened: np.ndarray,
    mine: np.ndarray,
    found: tuple[slice, slice],
    axis: int,
    faint: float,
    on_a_page: bool,
) -> None:
    """Add a line found by the opening (`mine`, within `found`) to `lines`: its own rows (columns
    where upright), each holding PAGE_LINE_OWN (a box's: BOX_LINE_OWN) of its longest row at
    least, not those of a stroke that joined it along part of its length, at its own level. A
    page's line: the opening's ink, and its rows on past where it was found, into a turned page's
    corners where it is too short to find, thin as it is. A box's line: its own rows along its span."""
    counts = mine.sum(axis=axis)
    least = PAGE_LINE_OWN if on_a_page else BOX_LINE_OWN
    own = ndimage.binary_dilation(counts >= least * counts.max())  # and its blurred edge
    on_line = np.zeros_like(mine)
    if axis == 1:
        on_line[own] = True
    else:
        on_line[:, own] = True
    level = float(np.median(opened[found][mine & on_line]))
    if on_a_page:
        start = (found[0] if axis == 1 else found[1]).start
        rows = slice(start + int(np.flatnonzero(own)[0]), start + int(np.flatnonzero(own)[-1]) + 1)
        band = (rows, slice(None)) if axis == 1 else (slice(None), rows)
        np.maximum(lines[band], np.where(share[band] > faint, np.minimum(share[band], level), 0), out=lines[band])
        # each row at its own level along the line (its core darker than its edges), above which
        # is a stroke's lying along it
        rows_first = np.asarray if axis == 1 else np.transpose
        kept, ink = rows_first(mine & on_line), rows_first(opened[found])
        with warnings.catch_warnings():  # a row with none of the line is all nan: its median nan, then 0
            warnings.simplefilter("ignore", RuntimeWarning)
            typical = np.nan_to_num(np.nanmedian(np.where(kept, ink, np.nan), axis=1))
        own_ink = rows_first(np.where(kept, np.minimum(ink, typical[:, None]), 0))
        np.maximum(lines[found], own_ink, out=lines[found])
        return
    np.maximum(lines[found], np.where(on_line, np.minimum(share[found], level), 0), out=lines[found])


def _alone(inked: np.ndarray, found: tuple[slice, slice], axis: int) -> bool:
    """Whether a line found in these bounds (level where axis is 1, upright where 0) is ink of its
    own along LINE_ALONE of its length at least, no thicker across than the line: not the straight
    core of a thick stroke, which the bar fits inside all along."""
    across, along = (found[0], found[1]) if axis == 1 else (found[1], found[0])
    thickness = across.stop - across.start
    reach = slice(max(across.start - thickness - 3, 0), across.stop + thickness + 3)
    window = inked[reach, along] if axis == 1 else inked[along, reach].T
    return float(np.quantile(window.sum(axis=0), LINE_ALONE)) <= 1.5 * thickness + 3  # room for its blur


def thickest_stroke(mask: np.ndarray) -> float:
    """The thickest stroke or line in a mask of ink, in pixels: twice its greatest distance to paper."""
    return 2 * float(ndimage.distance_transform_cdt(mask).max()) if mask.any() else 0.0
