"""A person's image file -> the pixel matrix the model reads: 0 is paper, 255 is ink.

MNIST's makers cropped each digit to its ink, scaled it into a 20×20 box and centred it by
its centre of mass in a 28×28 frame. Photos and scans must go through the same steps, or a
model trained on MNIST sees something it has never seen. Only numpy and Pillow here, so
that predicting never imports torch.
"""

from __future__ import annotations

import stat
import warnings
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import ExifTags, Image, ImageOps

from .errors import DigitsError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pnm")
MAX_PIXELS = 40_000_000  # refuse before decoding: a 40-megapixel grayscale page is ~40 MB
MIN_CONTRAST = 32  # a transparent image's ink must stand this far (of 255) from white to be seen on it
MIN_INK = 0.18  # ink must take this share of the paper's light (40 levels on white paper), or the page is blank
INK_OVER_NOISE = 8  # and stand this many times the paper's own noise (its grain, a sensor's) above it
NOISY_PAPER = 0.03  # of the paper's light (7 levels on white paper): the grainiest paper seen
STROKE_AT_LEAST = 2.8  # px at 28×28: thinner strokes are widened to this (a quarter of MNIST's are thinner)
INK_SEEN = 255 * 0.25  # a pixel with a quarter of the darkest ink's darkness is ink, for finding the digit
PAPER_GRID = 32  # the paper's brightness is fitted on a grid of about this many points a side
FLAT_PAPER = 4  # grey levels: paper lit more evenly than this is taken as one level


class NoDigitFound(DigitsError):
    """The image holds no ink: a blank page."""


class ImageTooLarge(DigitsError):
    """The image has more pixels than MAX_PIXELS."""


def read_digit_image(path: Path, image_size: int = 28) -> np.ndarray:
    """Read any image Pillow reads and return it as an image_size × image_size uint8 matrix."""
    gray = open_grayscale(Path(path))
    return normalize_digit(gray, image_size, name=str(path))


def normalize_digit(gray: np.ndarray, image_size: int = 28, name: str = "image") -> np.ndarray:
    """Grayscale pixels of any size and polarity -> a centred MNIST-style digit (0 paper, 255 ink)."""
    ink = ink_on_page(gray, name)
    top, bottom, left, right = _digit_box(ink > INK_SEEN)
    return mnist_frame(ink[top:bottom, left:right], image_size)


def digit_boxes(gray: np.ndarray, name: str = "image") -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """The ink on a page (as ink_on_page) and each digit's box, left to right, as (left, top, right,
    bottom) in the image's pixels: digits are the runs of columns with ink, split by blank columns,
    each holding at least a tenth of the largest one's ink (less is a speck)."""
    ink = ink_on_page(gray, name)
    seen = ink > INK_SEEN
    top, bottom, left, right = _digit_box(seen, thinnest=0.04)  # a long number is a thin line of ink too
    columns = seen[top:bottom, left:right]
    runs = list(zip(*_runs(columns.any(axis=0)), strict=True))
    mass = [float(ink[top:bottom, left + start : left + end].sum()) for start, end in runs]
    boxes = []
    for (start, end), amount in zip(runs, mass, strict=True):
        if amount < 0.1 * max(mass):
            continue
        rows = np.flatnonzero(columns[:, start:end].any(axis=1))
        boxes.append((left + start, top + int(rows[0]), left + end, top + int(rows[-1]) + 1))
    return ink, boxes


def ink_on_page(gray: np.ndarray, name: str = "image") -> np.ndarray:
    """Grayscale pixels of any size and polarity -> the ink alone, 0 (paper) to 255 (the darkest
    ink): the paper's light levelled, printed lines and the table past a page's edge taken out. A
    blank page raises NoDigitFound."""
    gray = np.asarray(gray, dtype=np.uint8)
    if _dark_paper(gray):  # light ink on dark paper: flip, so that paper is light as on a page
        gray = 255 - gray
    share, noise = ink_share(gray)
    ink = _without_lines(share)
    level = float(ink.max())
    # noise beyond NOISY_PAPER is the fit confused by ink (a digit cropped tight), not paper's grain
    if level < max(MIN_INK, INK_OVER_NOISE * min(noise, NOISY_PAPER)):
        raise NoDigitFound(f"{name}: no digit found (the image is blank)")
    ink *= 255 / level
    return ink


def _thickened(ink: np.ndarray, at_least: float) -> np.ndarray:
    """The ink with strokes widened to `at_least` pixels where they are thinner (a sharp pencil, a
    fine pen on a large page): shrunk to 20×20 they would be fainter and thinner than any MNIST
    writer's. A stroke's width is measured as twice its area over its outline."""
    seen = ink > 64
    # pinholes filled first (grainy chalk, pencil on rough paper): they are not the strokes' edges
    seen[1:-1, 1:-1] |= (seen[:-2, 1:-1] & seen[2:, 1:-1]) | (seen[1:-1, :-2] & seen[1:-1, 2:])
    area = np.count_nonzero(seen)
    inner = seen[1:-1, 1:-1] & seen[:-2, 1:-1] & seen[2:, 1:-1] & seen[1:-1, :-2] & seen[1:-1, 2:]
    stroke = 2 * area / max(area - np.count_nonzero(inner), 1)
    grow = round(at_least - stroke)
    if area == 0 or grow < 1:
        return ink
    wide = np.pad(ink, grow)  # a maximum filter, grow + 1 pixels a side, along columns then rows
    return _running_max(_running_max(wide, grow + 1).T, grow + 1).T


def _running_max(rows: np.ndarray, width: int) -> np.ndarray:
    """The maximum over each `width` consecutive rows, in log2(width) steps: maxima over 1, 2, 4 …
    rows, then two overlapping runs of the largest power of 2 that fits."""
    run, most = rows, 1
    while 2 * most <= width:
        run = np.maximum(run[:-most], run[most:])
        most *= 2
    count = len(rows) - width + 1
    return np.maximum(run[:count], run[width - most : width - most + count])


def _dark_paper(gray: np.ndarray) -> bool:
    """Whether the image is light ink on dark paper: its border is mostly dark, or, where the border
    is half dark (a table showing past two of a page's edges), most of the image is."""
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    dark = np.count_nonzero(border < 128) / border.size
    if not 0.35 < dark < 0.65:
        return dark >= 0.65
    sample = gray[:: max(1, len(gray) // PAPER_GRID), :: max(1, gray.shape[1] // PAPER_GRID)]
    return float(np.median(sample)) < (int(sample.min()) + int(sample.max())) / 2


def mnist_frame(ink: np.ndarray, image_size: int = 28) -> np.ndarray:
    """A digit's ink, cropped to it, as MNIST's makers framed theirs: fitted in a 20×20 box (at 28×28)
    and centred by its centre of mass, uint8, 0 paper and 255 ink."""
    box = max(1, round(image_size * 20 / 28))
    scale = box / max(ink.shape)
    height, width = max(1, round(ink.shape[0] * scale)), max(1, round(ink.shape[1] * scale))
    ink = _thickened(ink, STROKE_AT_LEAST * image_size / 28 / scale)  # in the ink's own pixels
    # reducing by whole pixel blocks first, to 3× the size, then Lanczos: as sharp, and far quicker
    digit = Image.fromarray(np.ascontiguousarray(ink, dtype=np.float32))
    digit = np.asarray(digit.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0))
    digit = np.clip(digit, 0, 255)

    row_mass, column_mass = digit.sum(axis=1), digit.sum(axis=0)
    total = max(float(row_mass.sum()), 1e-9)
    centre_y = row_mass @ np.arange(height) / total
    centre_x = column_mass @ np.arange(width) / total
    top = round(image_size / 2 - centre_y)
    left = round(image_size / 2 - centre_x)
    top = min(max(top, 0), image_size - height)
    left = min(max(left, 0), image_size - width)
    frame = np.zeros((image_size, image_size), dtype=np.float32)
    frame[top : top + height, left : left + width] = digit
    return np.round(frame).astype(np.uint8)


def ink_share(gray: np.ndarray) -> tuple[np.ndarray, float]:
    """Light paper with dark ink (uint8) -> how much of each pixel's light the ink took, 0 to 1
    (float32), and the paper's own noise (a standard deviation) in the same units.

    The paper's own brightness is estimated across the page as a smooth surface fitted to the
    pixels that are paper (a shadow, a lamp's falloff, a phone's vignette, a tint), and each
    pixel is divided by it: light multiplies, so ink in a shadow is as dark, next to the paper
    around it, as ink in the light.
    """
    paper, noise = _paper_brightness(gray)
    share = gray.astype(np.float32)
    share /= -paper
    share += 1
    np.maximum(share, 0, out=share)  # ink takes light; a pixel brighter than the paper has none
    return share, noise / float(np.mean(paper))


def _paper_brightness(gray: np.ndarray, rounds: int = 3) -> tuple[float | np.ndarray, float]:
    """A quadratic surface fitted to the paper on a coarse grid: from the brighter half of the
    points (paper, however much ink there is), then from every point the last fit calls paper.
    One level (a float) where the surface varies by less than FLAT_PAPER levels. And the paper's
    noise around it, as a standard deviation in grey levels."""
    height, width = gray.shape
    step_y, step_x = -(-height // PAPER_GRID), -(-width // PAPER_GRID)  # at most PAPER_GRID points a side
    grid = gray[step_y // 2 :: step_y, step_x // 2 :: step_x]  # a view: every step-th pixel
    values = grid.ravel().astype(np.float64)
    terms = _grid_terms(*grid.shape)
    paper = (values >= np.partition(values, len(values) // 2)[len(values) // 2]).astype(np.float64)
    for _ in range(rounds):
        # weighted least squares (weights 1 for paper, 0 for ink) by the normal equations: a 6×6
        # solve, and a touch of ridge keeping it solvable when the paper is too few points
        weighted = terms.T * paper
        coefficients = np.linalg.solve(weighted @ terms + _RIDGE, weighted @ values)
        surface = terms @ coefficients
        residual = values - surface
        count = paper.sum()
        noise = 1.25 * (np.abs(residual) @ paper) / count  # the paper's own noise, as a std
        brighter = (residual > -3 * noise - 3).astype(np.float64)  # darker than that is ink, left out of the next fit
        if brighter.sum() < len(coefficients) or (brighter == paper).all():  # too few to fit, or settled
            break
        paper = brighter
    # no brighter or darker than any paper seen, and never 0: the ink's share divides by it
    on_paper = values[paper > 0]
    low, high = max(float(on_paper.min()), 1.0), max(float(on_paper.max()), 1.0)
    lowest, highest = float(surface.min()), float(surface.max())
    if highest - lowest < FLAT_PAPER:  # a python float, so that float32 pixels divided by it stay float32
        return min(max((lowest + highest) / 2, low), high), noise
    # the surface at every pixel, in the grid's coordinates: powers of y, a matrix, powers of x
    square = np.zeros((3, 3), dtype=np.float32)
    square[_TERM_POWERS] = coefficients
    ys = (np.arange(height, dtype=np.float32) - step_y // 2) / (step_y * grid.shape[0])
    xs = (np.arange(width, dtype=np.float32) - step_x // 2) / (step_x * grid.shape[1])
    full = np.vander(ys, 3, increasing=True) @ square @ np.vander(xs, 3, increasing=True).T
    return np.clip(full, low, high, out=full), noise


_TERM_POWERS = ((0, 0, 0, 1, 1, 2), (0, 1, 2, 0, 1, 0))  # the quadratic's terms y^i x^j, as (i…), (j…)
_RIDGE = 1e-6 * np.eye(len(_TERM_POWERS[0]))


@lru_cache(maxsize=512)  # grids have PAPER_GRID / 2 to PAPER_GRID points a side
def _grid_terms(rows: int, columns: int) -> np.ndarray:
    """The quadratic's terms at each point of a rows × columns grid spanning [0, 1), one column each."""
    y, x = np.meshgrid(np.arange(rows) / rows, np.arange(columns) / columns, indexing="ij")
    return np.stack([y.ravel() ** i * x.ravel() ** j for i, j in zip(*_TERM_POWERS, strict=True)], axis=1)


def _without_lines(ink: np.ndarray) -> np.ndarray:
    """Ink less what was printed or lies around the page: ruled and squared paper's lines, a
    notebook's margin line, a form's boxes, and the table showing past the page's edge.

    A line crossing the digit goes only where there are two or more alike (a ruled page): a lone
    one may be the digit's own stroke (a 1, or a 7's bar, in a tight crop). Where a stroke crosses
    a line, the ink on both sides of the line carries it across.
    """
    level = max(float(ink.max()), MIN_INK)
    _without_page_edges(ink, level)
    faint, seen = ink > 0.1 * level, ink > 0.25 * level  # printed lines are often paler than the ink
    for transpose in (False, True):  # rows, then columns (of what the rows left)
        lined, faint_lined, seen_lined = (ink.T, faint.T, seen.T) if transpose else (ink, faint, seen)
        length = lined.shape[1]
        edge_to_edge = _thin_runs(faint_lined.sum(axis=1, dtype=np.int32) > 0.9 * length, max(3, 0.05 * len(lined)))
        for start, end in edge_to_edge:
            if len(edge_to_edge) >= 2 or not _touched(seen_lined, start, end):
                _erase_line(lined, start, end, 0, length)
        if edge_to_edge:  # what is left, for the next pass
            faint, seen = ink > 0.1 * level, ink > 0.25 * level
    _without_boxes(ink, seen)
    return ink


def _touched(seen: np.ndarray, start: int, end: int) -> bool:
    """Whether ink touches the line in rows start…end from either side (a stroke crossing or meeting it)."""
    margin = _margin(start, end)
    beside = seen[max(start - margin - 2, 0) : max(start - margin, 0)], seen[end + margin : end + margin + 2]
    return any(np.count_nonzero(rows) > 0.02 * seen.shape[1] for rows in beside)


def _without_page_edges(ink: np.ndarray, level: float) -> None:
    """Erase the table past the page's edges: from a side of the photo inwards, dark in most of its
    rows (or a wedge from a corner), a strip no wider than a third of the photo, its inner
    boundary a straight line (the page's edge); all up to that line, and a margin past it."""
    border = np.concatenate([ink[0], ink[-1], ink[:, 0], ink[:, -1]])
    if np.count_nonzero(border > 0.1 * level) < 0.3 * min(ink.shape):  # no side of the photo is mostly ink
        return
    seen = ink > 0.1 * level
    erase = np.zeros_like(seen)
    for transpose in (False, True):
        mask, erased = (seen.T, erase.T) if transpose else (seen, erase)
        height, width = mask.shape
        if height < 8 or width < 8:
            continue
        for side, marked in ((mask, erased), (mask[:, ::-1], erased[:, ::-1])):
            if np.count_nonzero(side[:, 0]) < 0.3 * height:  # the photo's edge is mostly paper
                continue
            reach = side.argmin(axis=1)  # each row's run of ink from the side; 0 where it is all ink
            rows = np.flatnonzero(reach)
            if len(rows) < 0.3 * height or np.median(reach[rows]) > width / 3:
                continue
            slope, offset = np.polyfit(rows, reach[rows], 1)
            edge = slope * np.arange(height) + offset
            off_line = np.abs(reach[rows] - edge[rows])
            if float(np.median(off_line)) > 1 + 0.02 * width:  # not a straight edge: ink that reaches the side
                continue
            # along most of the side; or a wedge from a corner, narrowing to nothing where the page's
            # edge leaves the photo (a digit cropped tight touches a side too, but not so)
            one_run = rows[-1] - rows[0] + 1 == len(rows)
            tip = rows[-1] if rows[0] == 0 else rows[0] if rows[-1] == height - 1 else None
            wedge = one_run and tip is not None and edge[tip] <= 3 and abs(edge[rows[0]] - edge[rows[-1]]) >= 6
            if len(rows) < 0.8 * height and not wedge:
                continue
            # past the line by its blur and shadow, and by how far its own rows stray from it
            margin = 2 + 0.03 * width + float(np.percentile(off_line, 90))
            marked |= np.arange(width) < (edge + margin)[:, None]
    ink[erase] = 0


def _without_boxes(ink: np.ndarray, seen: np.ndarray) -> None:
    """Erase a form's printed lines: two or more thin, solid lines of the same span, darker in the
    row profile than any stroke of a digit (a box's top and bottom, or the lines the writing goes
    between), then the lines standing between them (the box's sides, the walls between its cells)."""
    height, width = seen.shape
    row_counts = seen.sum(axis=1, dtype=np.int32)
    if not row_counts.any():
        return
    bands = _thin_runs(row_counts >= 0.5 * row_counts.max(), max(4, 0.08 * height))
    lines = []
    for start, end in bands:
        columns = np.flatnonzero(seen[start:end].any(axis=0))
        first, last = int(columns[0]), int(columns[-1]) + 1
        straightest = int(seen[start:end, first:last].sum(axis=1).max())
        if straightest > 0.95 * (last - first) and last - first >= max(12, 4 * (end - start)):  # straight, long
            lines.append((start, end, first, last))
    spans = [(first, last) for _, _, first, last in lines]
    alike = [line for line in lines if sum(_same_span(line[2:], span) for span in spans) >= 2]  # and another
    if not alike:
        return
    top, bottom = alike[0][0], alike[-1][1]
    left, right = min(line[2] for line in alike), max(line[3] for line in alike)
    column_counts = seen[top:bottom, left:right].sum(axis=0, dtype=np.int32)
    walls = _thin_runs(column_counts > 0.95 * (bottom - top), max(4, 0.08 * width))
    # a box has its sides; lines with no sides are a form's only if what is written between them
    # touches neither them nor their ends (a 3's or a 7's strokes do, however straight)
    ends = max(1, round(0.01 * (right - left)))
    boxed = len(walls) >= 2 and walls[0][0] <= ends and walls[-1][1] >= right - left - ends
    between = seen[alike[0][1] + 1 : alike[-1][0] - 1, left:right]  # from a row past the lines' own blur
    touching = between[:1].any() or between[-1:].any() or between[:, :ends].any() or between[:, -ends:].any()
    if not boxed and touching:
        return
    for start, end, first, last in alike:
        margin = _margin(start, end)  # the line's blurred ends too
        _erase_line(ink, start, end, max(first - margin, 0), last + margin)
    for start, end in walls:
        _erase_line(ink.T, left + start, left + end, top, bottom)


def _same_span(a: tuple[int, int], b: tuple[int, int]) -> bool:
    tolerance = max(3, 0.05 * (b[1] - b[0]))
    return abs(a[0] - b[0]) <= tolerance and abs(a[1] - b[1]) <= tolerance


def _runs(is_true: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each run of True in a 1-D mask starts, and where it ends (one past its last)."""
    padded = np.zeros(len(is_true) + 2, dtype=bool)
    padded[1:-1] = is_true
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return edges[::2], edges[1::2]


def _thin_runs(is_line: np.ndarray, thickness: float) -> list[tuple[int, int]]:
    """The runs of True in is_line, as (start, end), no thicker than `thickness`: printed lines."""
    if not is_line.any():
        return []
    starts, ends = _runs(is_line)
    return [(start, end) for start, end in zip(starts.tolist(), ends.tolist(), strict=True) if end - start <= thickness]


def _erase_line(lined: np.ndarray, start: int, end: int, first: int, last: int) -> None:
    """Erase rows start…end of `lined` (a view, so that columns work too) between columns first and
    last, with a margin for the line's blur. Each pixel keeps the ink it shares with both sides of
    the line, so that a stroke crossing it stays whole, and any ink darker than the line itself,
    so that a stroke running along a pale ruled line stays too."""
    rows, margin = len(lined), _margin(start, end)
    top, bottom = max(start - margin, 0), min(end + margin, rows)
    above, below = lined[max(top - 2, 0), first:last], lined[min(bottom + 1, rows - 1), first:last]
    band = lined[top:bottom, first:last]
    # the line's own ink, with room for where it is darker (JPEG, two lines crossing)
    line = 1.3 * float(np.median(lined[start:end, first:last], axis=1).max()) + 0.1
    np.maximum(np.minimum(above, below), band - line, out=band)


def _margin(start: int, end: int) -> int:
    """How far past a line's own rows its blur reaches."""
    return 1 + (end - start) // 2


def _digit_box(mask: np.ndarray, keep: float = 0.05, thinnest: float = 0.15) -> tuple[int, int, int, int]:
    """The ink's bounding box, leaving out specks and stray lines: ink cut off from the rest by
    blank rows or columns that holds under `keep` of the ink, or is a line (no thicker than `thinnest`
    of its length) far longer than the rest is wide: what is left of a page's edge, a rule. Rows,
    then columns within them, then rows again."""
    top, bottom, left, right = 0, mask.shape[0], 0, mask.shape[1]
    for axis in (1, 0, 1):
        window = mask[top:bottom, left:right]
        start, end = _main_span(window if axis == 1 else window.T, keep, thinnest)
        if axis == 1:
            top, bottom = top + start, top + end
        else:
            left, right = left + start, left + end
    return top, bottom, left, right


def _main_span(lines: np.ndarray, keep: float, thinnest: float) -> tuple[int, int]:
    """First and last+1 row of the runs of inked rows of `lines` (a mask) that are the digit's."""
    profile = lines.sum(axis=1, dtype=np.int32)
    inked = np.flatnonzero(profile)
    if inked[-1] - inked[0] + 1 == len(inked):  # one run: nothing to leave out
        return int(inked[0]), int(inked[-1]) + 1
    starts, ends = _runs(profile > 0)
    mass = np.add.reduceat(profile, starts)  # each run's sum: between runs the profile is 0
    big = (mass >= keep * mass.sum()) | (mass == mass.max())  # scattered ink: keep the most of it
    if big.sum() > 1:
        spans = [np.flatnonzero(lines[start:end].any(axis=0)) for start, end in zip(starts, ends, strict=True)]
        extent = np.array([span[-1] - span[0] + 1 for span in spans])
        widest = np.sort(extent[big])
        for i in np.flatnonzero(big):  # against the widest of the others
            others = widest[-2] if extent[i] == widest[-1] else widest[-1]
            thin = ends[i] - starts[i] <= thinnest * extent[i]
            # a line is left out where it is not the most ink (a 1's stroke may be), or at the edge
            at_edge = starts[i] <= 0.03 * len(lines) or ends[i] >= 0.97 * len(lines)
            if thin and extent[i] >= 1.5 * others and (mass[i] < mass.max() or at_edge) and big.sum() > 1:
                big[i] = False
    return int(starts[big].min()), int(ends[big].max())


def list_images(path: Path) -> list[Path]:
    """The image files in a directory and its subfolders (sorted), or the path itself when it is a file."""
    path = Path(path)
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    return [path]


def grayscale(image: Image.Image) -> np.ndarray:
    """Any Pillow image as uint8 grey levels: turned by its EXIF tag, transparency put on paper,
    16-bit and float modes stretched to 0–255."""
    if image.getexif().get(ExifTags.Base.Orientation, 1) != 1:  # a phone's photo, taken turned
        image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        image = _on_paper(image.convert("RGBA"))
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        wide = np.asarray(image, dtype=np.float64)
        span = max(wide.max() - wide.min(), 1e-9)
        return ((wide - wide.min()) / span * 255).astype(np.uint8)
    return np.asarray(image.convert("L"))


def open_grayscale(source: Path | BinaryIO, name: str | None = None) -> np.ndarray:
    """An image file (a path, or a file object called `name` in messages) as uint8 grey levels."""
    path = name or source  # what messages call it
    try:
        if isinstance(source, Path) and _empty_file(source):
            raise DigitsError(f"{path}: empty file (0 bytes)")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's (a corrupt EXIF tag, a huge image: the check below is stricter)
            with Image.open(source) as image:
                if image.width * image.height > MAX_PIXELS:  # known from the header, before decoding
                    raise ImageTooLarge(
                        f"{path}: image is {image.width}×{image.height} pixels, over the limit of {MAX_PIXELS:,} pixels; "
                        f"shrink it (a digit needs no more than 2,000 pixels a side) and try again"
                    )
                return grayscale(image)
    except FileNotFoundError:
        raise DigitsError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DigitsError(f"{path}: is a directory with no images") from None
    except PermissionError:
        raise DigitsError(f"{path}: permission denied") from None
    except Image.DecompressionBombError:
        raise ImageTooLarge(
            f"{path}: image is over the limit of {MAX_PIXELS:,} pixels; shrink it and try again"
        ) from None
    except Image.UnidentifiedImageError:
        raise DigitsError(f"{path}: not an image Pillow can read") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise DigitsError(f"{path}: cannot decode image ({e})") from None


def _empty_file(path: Path) -> bool:
    """A regular file of 0 bytes (a pipe or a device has no size until read)."""
    status = path.stat()
    return stat.S_ISREG(status.st_mode) and status.st_size == 0


def _on_paper(rgba: Image.Image) -> Image.Image:
    """Composite a transparent image onto white paper, or onto black when its ink is white."""
    on_white = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba).convert("L")
    if int(np.ptp(np.asarray(on_white))) >= MIN_CONTRAST:
        return on_white
    return Image.alpha_composite(Image.new("RGBA", rgba.size, "black"), rgba).convert("L")
