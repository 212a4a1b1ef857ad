"""The writing on a page, as marks: the ink's connected components, found by hysteresis over the
paper's noise, less what is not writing (specks, bands along the picture's edge, what is left of a
table at the page's edge); and the digit, as the mark with the most ink and its neighbours.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

MIN_INK = 0.18  # a mark must take this share of the paper's light (40 levels on white paper) to be writing
INK_OVER_NOISE = 8  # and stand this many times the paper's own noise above it (its grain, a sensor's, JPEG's)
# share of the light: a mark this dark is ink however noisy the paper seemed (a tight crop's is mostly ink)
SURELY_INK = 0.5
EDGE_OF_INK = 0.5  # a mark's pixels are those with half its threshold (hysteresis): its soft edges, a faint join
SMALLEST_MARK = 10  # px at the working size: a mark smaller both ways is a speck (dust, a fax's noise, what
# is left where graph paper's lines cross); the smallest digit read, 20 px on a 2000-px page, keeps 13
PAGE_EDGE_REACH = 6  # px: a mark mostly this near the page's edge is what is left of the table past it
BAND_ALONG = 0.6  # a mark lying along this share of a side of the picture, touching it, is what lies past the page
BAND_DEPTH = 0.35  # ... when it reaches no further in than this share of the picture (a frame, a lid, a table)
NEIGHBOUR_GAP = 0.3  # of the digit's size: marks this close belong to it (a 5's bar, a broken pencil stroke)
NEIGHBOUR_MASS = 0.02  # of the digit's ink: a lighter mark beside it is noise, not a part of it


def find_marks(
    share: np.ndarray, paper: tuple[float, float], off_page: np.ndarray | None
) -> tuple[np.ndarray, list[int], list[int]]:
    """The marks that look like writing, labelled, largest ink first: connected ink (by hysteresis
    between EDGE_OF_INK of the threshold and the threshold) with one pixel at least MIN_INK and
    INK_OVER_NOISE times the paper's noise (its level and noise given), not a speck, not a band along the picture's edge, and
    not mostly at the page's edge (what is left of the table past it). Then the specks, labelled too:
    a number's point may be one."""
    level, noise = paper
    near_edge = None if off_page is None else ndimage.binary_dilation(off_page, iterations=PAGE_EDGE_REACH)
    strong = max(MIN_INK, min(level + INK_OVER_NOISE * noise, SURELY_INK))
    labels, count = ndimage.label(share > EDGE_OF_INK * strong, structure=np.ones((3, 3)))
    if count == 0:
        return labels, [], []
    seeded = np.zeros(count + 1, dtype=bool)
    seeded[labels[share >= strong]] = True
    mass = ndimage.sum_labels(share, labels, range(1, count + 1))
    height, width = share.shape
    marks, specks = [], []
    for index, found in enumerate(ndimage.find_objects(labels), start=1):
        if not seeded[index]:
            continue
        rows, columns = found[0].stop - found[0].start, found[1].stop - found[1].start
        if rows < SMALLEST_MARK and columns < SMALLEST_MARK:
            specks.append(index)
            continue
        mark = labels[found] == index
        if _band_along_an_edge(mark, found, height, width):
            continue
        if near_edge is not None and near_edge[found][mark].mean() >= 0.5:
            continue
        marks.append(index)
    marks.sort(key=lambda index: -mass[index - 1])
    keep = np.zeros(count + 1, dtype=bool)
    keep[marks + specks] = True
    return np.where(keep[labels], labels, 0), marks, specks


def _band_along_an_edge(mark: np.ndarray, found: tuple[slice, slice], height: int, width: int) -> bool:
    """Whether a mark lies along a side of the picture, touching it along BAND_ALONG of it and
    reaching in no further than BAND_DEPTH: the table past a page, a board's frame, a scanner's lid."""
    rows, columns = found
    sides = (
        (rows.start == 0, mark[0], rows.stop, height, width),
        (rows.stop == height, mark[-1], height - rows.start, height, width),
        (columns.start == 0, mark[:, 0], columns.stop, width, height),
        (columns.stop == width, mark[:, -1], width - columns.start, width, height),
    )
    return any(
        touches and edge.sum() >= BAND_ALONG * along and depth <= BAND_DEPTH * across
        for touches, edge, depth, across, along in sides
    )


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
