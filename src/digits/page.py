"""A picture of a page -> the ink written on it, read top to bottom as a short pipeline of general steps:

1. light: the picture at a working size, turned so that ink is darker than paper;
2. page: where a sheet or a note lies on a table, the largest region of paper, turned upright;
3. paper: the paper's own brightness, estimated at a scale wider than any stroke (a grey-level
   closing), so that each pixel's ink is the share of the paper's light it takes;
4. printed lines: the dominant line angle by projection profiles, then long thin bars found by a
   grey-level opening, taken out while the strokes that cross them are kept;
5. marks: the ink's connected components, by hysteresis over the paper's noise; specks, bands
   along the picture's edge and far-off marks left out; the digit is the largest and its neighbours.

Each step asks a general question ("is this wider than a stroke?", "is this long and thin?",
"is this connected to the rest?") rather than knowing how the picture was made. numpy, scipy and
Pillow only: reading a digit never imports torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError

from .errors import DigitsError

WORK_SIDE = 1280  # px: a picture is read at most this long a side; a 20-px digit on a 2000-px page keeps 13 px
COARSE_SIDE = 256  # px: the page and the polarity are judged on a copy this size, where one pixel is a stroke's
TAIL = 0.5  # percent: the darkest and the lightest grey levels, where ink lies (a digit covers more of a page)
POLARITY_MARGIN = 1.5  # one end this many times further from the paper than the other is the ink's
STANDS_OUT = 24  # grey levels: ink stands this far from the paper at least (a blank page's grain and JPEG: under 10)
PAGE_SCALE = 0.15  # of the short side: wider than any stroke of a digit that leaves the page showing round it
PAGE_DARKER = (
    0.8  # a page and what lies round it differ by a fifth of the light at least (white paper on light wood: 0.6)
)
EDGE_SHARPNESS = 0.08  # a page's edge rises this share of its step per coarse pixel at least; a shadow's, 0.01
PAGE_PICTURE_SIDE = 160  # px: a smaller picture is a crop of the writing, not a photo of a page on a table
# (where the hole of a 0 could pass for a page)
SMALLEST_PAGE = 0.25  # of the picture: a brighter region smaller than this is something on the page (a toolbar)
LEAK = 0.04  # of the short side: a bright strip this thin joining the page (a streak of light wood) is not paper
TURN_AT_LEAST = 1.0  # degrees: a page or lines turned less are left as they are (a digit reads the same)
PAPER_OVER_STROKE = 2  # the paper is estimated over twice the thickest stroke: where two strokes meet stays ink
ANGLE_POINTS = 20_000  # pixels sampled to find a line angle: plenty for a line, and quick
LINE_TILT = 15  # degrees: printed lines are looked for up to this far off level
LEVEL_WITHIN = 0.2  # degrees: a line turned less stays within a pixel over 300 (the bar's slack); more is turned level
LINE_LENGTH = 0.45  # of the short side: a printed line is at least this long (a form's box side, a page's rule);
# a digit filling a crop has strokes up to 0.41 of it (a 5's bar)
LINE_STEADY = 5  # px: a line's ink is averaged over this much of its length before it must hold all along
BOX_SIDE = 0.25  # of a page's line: a box's side may be this short, with another of the same span beside it
BOX_LINE_VS_STROKE = (
    0.6  # and no thicker than this share of the writing's thickest stroke (a pen's own lines are not a box)
)
LINE_THINNEST = 1 / 12  # a line is no thicker than this share of its length; a digit's stroke is (1 in MNIST: 1/7)
LINE_FAINTEST = 0.05  # share of the light: a printed line is at least this dark (13 levels on white paper)
LINE_HEADROOM, LINE_SLACK = 1.5, 0.15  # a line's ink varies along it (JPEG, noise): this much more is the line's
MIN_INK = 0.18  # a mark must take this share of the paper's light (40 levels on white paper) to be writing
INK_OVER_NOISE = 8  # and stand this many times the paper's own noise above it (its grain, a sensor's, JPEG's)
SURELY_INK = 0.5  # share of the light: a mark this dark is ink however noisy the paper seemed (a tight crop's is mostly ink)
EDGE_OF_INK = 0.5  # a mark's pixels are those with half its threshold (hysteresis): its soft edges, a faint join
SMALLEST_MARK = 10  # px at the working size: a mark smaller both ways is a speck (dust, a fax's noise, what
# is left where graph paper's lines cross); the smallest digit read, 20 px on a 2000-px page, keeps 13
PAGE_EDGE_REACH = 6  # px: a mark mostly this near the page's edge is what is left of the table past it
BAND_ALONG = 0.6  # a mark lying along this share of a side of the picture, touching it, is what lies past the page
BAND_DEPTH = 0.35  # ... when it reaches no further in than this share of the picture (a frame, a lid, a table)
NEIGHBOUR_GAP = 0.3  # of the digit's size: marks this close belong to it (a 5's bar, a broken pencil stroke)
NEIGHBOUR_MASS = 0.02  # of the digit's ink: a lighter mark beside it is noise, not a part of it
NUMBER_MASS = 0.1  # of the largest: a lighter run of columns in a number is a speck, not a digit


class NoDigitFound(DigitsError):
    """The image holds no ink: a blank page."""


@dataclass
class Frame:
    """How the ink's pixels map onto the picture's: the picture was scaled by `scale`, cropped at
    (left, top), then turned by `angle` degrees about the crop's centre into an image `size` big."""

    scale: float
    left: int
    top: int
    crop_size: tuple[int, int]  # (width, height) before turning
    angle: float
    size: tuple[int, int]  # (width, height) after turning

    def to_picture(self, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        """A box (left, top, right, bottom) in the ink's pixels as a box in the picture's pixels."""
        left, top, right, bottom = box
        corners = np.array([[left, top], [right, top], [left, bottom], [right, bottom]], dtype=np.float64)
        # undo the turn: about the turned image's centre, back onto the crop's
        a = math.radians(self.angle)
        centred = corners - np.array(self.size) / 2
        x = centred[:, 0] * math.cos(a) - centred[:, 1] * math.sin(a)
        y = centred[:, 0] * math.sin(a) + centred[:, 1] * math.cos(a)
        xs = (x + self.crop_size[0] / 2 + self.left) / self.scale
        ys = (y + self.crop_size[1] / 2 + self.top) / self.scale
        return int(xs.min()), int(ys.min()), math.ceil(xs.max()), math.ceil(ys.max())


@dataclass
class Ink:
    """The ink found on a page, 0 (paper) to 1 (the darkest ink), in `frame`; each mark's label
    (0 for none) and the labels of the digit's marks, the largest first."""

    share: np.ndarray
    labels: np.ndarray
    marks: list[int]
    digit: list[int]
    frame: Frame

    def box(self, marks: list[int]) -> tuple[int, int, int, int]:
        """The bounding box (top, bottom, left, right) of these marks."""
        rows, columns = np.nonzero(np.isin(self.labels, marks))
        return int(rows.min()), int(rows.max()) + 1, int(columns.min()), int(columns.max()) + 1

    def only(self, marks: list[int]) -> np.ndarray:
        """The ink of these marks alone, with their soft edges, 0 to 255 (float32)."""
        near = ndimage.binary_dilation(np.isin(self.labels, marks), iterations=2)
        ink = np.where(near, self.share, 0).astype(np.float32)
        return ink * (255 / max(float(ink.max()), 1e-6))


def find_ink(gray: np.ndarray, name: str = "image") -> Ink:
    """Grey levels of any size and polarity -> the ink written on the page, and the digit's marks.
    A page with no mark that looks like writing raises NoDigitFound."""
    gray = np.asarray(gray, dtype=np.uint8)
    work, scale = _working_copy(gray)
    page = _find_page(work)
    work, frame, off_page = _the_page(work, page, scale)
    if _light_on_dark(work, on_a_table=page is not None):
        work = 255 - work
    share = _ink_share(work)
    paper = _noise(share)  # measured before lines are taken out, which leaves their traces
    share, frame, off_page = _without_lines(share, paper, frame, off_page)
    labels, marks = _marks(share, paper, off_page)
    if not marks:
        raise NoDigitFound(f"{name}: no digit found (the image is blank)")
    return Ink(share, labels, marks, _digit(labels, share, marks), frame)


def _working_copy(gray: np.ndarray) -> tuple[np.ndarray, float]:
    """The picture at most WORK_SIDE a side (averaged down), and the scale it was shrunk by."""
    scale = min(1.0, WORK_SIDE / max(gray.shape))
    if scale == 1.0:
        return gray, 1.0
    size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
    return np.asarray(Image.fromarray(gray).resize(size, Image.Resampling.BOX)), scale


def _coarse(image: np.ndarray) -> np.ndarray:
    """A copy at most COARSE_SIDE a side, averaged down, as float32."""
    factor = max(1, math.ceil(max(image.shape) / COARSE_SIDE))
    if factor == 1:
        return image.astype(np.float32)
    size = (max(1, image.shape[1] // factor), max(1, image.shape[0] // factor))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BOX), dtype=np.float32)


def _light_on_dark(work: np.ndarray, on_a_table: bool) -> bool:
    """Whether the ink is lighter than the paper (chalk, a dark-mode app, white on black). Ink lies
    at the far end of the grey levels from the paper's light round it (the median of blocks a third
    of the picture wide, where writing is never the most; a shadow or a lamp's falloff counts for
    nothing against it): the end that stands out STANDS_OUT levels at least, and POLARITY_MARGIN
    times further than the other. Where neither does (a blank page, or a bold digit that is the
    most of a block), a page found on a table is light, and so is a picture whose edge or whole is
    mostly above mid-grey."""
    coarse = _coarse(work)
    block = max(2, min(coarse.shape) // 3)
    rows, columns = -(-coarse.shape[0] // block), -(-coarse.shape[1] // block)
    padded = np.pad(coarse, ((0, rows * block - coarse.shape[0]), (0, columns * block - coarse.shape[1])), mode="edge")
    medians = np.median(padded.reshape(rows, block, columns, block), axis=(1, 3)).astype(np.float32)
    paper = np.asarray(Image.fromarray(medians).resize((coarse.shape[1], coarse.shape[0]), Image.Resampling.BILINEAR))
    darkest, lightest = np.percentile(coarse - paper, [TAIL, 100 - TAIL])
    darker, lighter = -float(darkest), float(lightest)
    if max(darker, lighter) >= STANDS_OUT and max(darker, lighter) > POLARITY_MARGIN * max(min(darker, lighter), 1.0):
        return lighter > darker
    edge = np.concatenate([coarse[:2].ravel(), coarse[-2:].ravel(), coarse[:, :2].ravel(), coarse[:, -2:].ravel()])
    # dark paper only where both its edge and the whole of it are: a fax's lid darkens two edges, and
    # a digit cropped tight is most of its picture
    return not on_a_table and float(np.median(coarse)) < 128 and float(np.median(edge)) < 128


def _resized_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A mask at another size (bilinear, then half way)."""
    resized = Image.fromarray(mask.astype(np.uint8) * 255).resize((shape[1], shape[0]), Image.Resampling.BILINEAR)
    return np.asarray(resized) > 127


def _find_page(work: np.ndarray) -> tuple[np.ndarray, float] | None:
    """Where a sheet or a note lies on a table: the region of the picture's centre (a photo is
    aimed at what it shows), split from the rest by brightness and bounded by a sharp edge, at the
    coarse size, as its convex hull (a sheet in perspective is still convex); and the angle its
    edges are turned by. None where the picture is all page, or the light only varies across it."""
    if min(work.shape) < PAGE_PICTURE_SIDE:
        return None
    coarse = _coarse(work)
    # specks, thin lines and the grain of a table taken out by a median; the writing on the page is
    # a hole in it, filled below (a closing would fill the strip of table between a page and the
    # picture's edge too)
    smooth = ndimage.median_filter(coarse, size=5)
    if float(np.ptp(smooth)) == 0:
        return None
    bright = smooth > _otsu(smooth)
    # of the regions of either brightness, holes filled (the writing on a page), the smallest that
    # holds the centre and is big enough to be a page: a table round a page holds the centre too
    centre = (bright.shape[0] // 2, bright.shape[1] // 2)
    leak = np.ones((max(3, round(LEAK * min(coarse.shape))),) * 2)
    candidates = []
    for side in (bright, ~bright):
        labels, _ = ndimage.label(ndimage.binary_fill_holes(side))
        if labels[centre] == 0:
            continue
        region = labels == labels[centre]
        # thin leaks into the table (a streak of wood as light as the page) cut off
        region = ndimage.binary_opening(region, leak)
        if SMALLEST_PAGE < region.mean() < 0.98 and region[centre]:
            candidates.append(region)
    if not candidates:
        return None
    page = min(candidates, key=lambda region: region.sum())
    paper, table = float(np.median(smooth[page])), float(np.median(smooth[~page]))
    if min(paper, table) > PAGE_DARKER * max(paper, table):  # too alike: the light varies, no table
        return None
    page = _convex_hull(page)
    edge = page & ~ndimage.binary_erosion(page)
    edge[[0, -1], :] = edge[:, [0, -1]] = False  # where the page runs off the picture is not its edge
    if edge.sum() < 8:
        return None
    # a page's edge is a step within a pixel or two; a shadow's rises over tens of them (measured
    # without printed lines, whose own edges are steep everywhere)
    rise = ndimage.maximum_filter(np.hypot(ndimage.sobel(smooth, 0), ndimage.sobel(smooth, 1)) / 8, size=3)
    if float(np.median(rise[edge])) < EDGE_SHARPNESS * abs(paper - table):
        return None
    angle = _dominant_angle(edge, 45, 1.0)
    return page, (angle if abs(angle) >= TURN_AT_LEAST else 0.0)


def _convex_hull(mask: np.ndarray) -> np.ndarray:
    """The smallest convex region holding a mask."""
    ys, xs = np.nonzero(mask)
    points = np.column_stack([xs, ys]).astype(np.float64)
    try:
        corners = points[ConvexHull(points).vertices]
    except QhullError:  # all in a line: nothing to fill
        return mask
    hull = Image.new("L", (mask.shape[1], mask.shape[0]), 0)
    ImageDraw.Draw(hull).polygon([tuple(p) for p in corners.tolist()], fill=255)
    return np.asarray(hull) > 0


def _the_page(
    work: np.ndarray, found: tuple[np.ndarray, float] | None, scale: float
) -> tuple[np.ndarray, Frame, np.ndarray | None]:
    """The picture cropped to the page, turned upright by its edges' angle, with what lies past its
    edges painted the page's own grey, and where that is; or the picture as it is where there is no
    page on a table."""
    height, width = work.shape
    whole = Frame(scale, 0, 0, (width, height), 0.0, (width, height))
    if found is None:
        return work, whole, None
    page, angle = found
    # a margin inside the edge, for its blur and the shadow the sheet casts
    margin = max(2, round(height / page.shape[0] + 0.01 * min(height, width)))
    full = ndimage.minimum_filter(_resized_mask(page, work.shape), size=2 * margin + 1)
    if not full.any():
        return work, whole, None
    level = float(np.median(work[full]))  # the paper: writing is never the most of a page
    painted = np.where(full, work, np.uint8(level)).astype(np.uint8)
    rows, columns = np.flatnonzero(full.any(axis=1)), np.flatnonzero(full.any(axis=0))
    top, left = int(rows[0]), int(columns[0])
    crop = painted[top : rows[-1] + 1, left : columns[-1] + 1]
    turned = Image.fromarray(crop).rotate(angle, Image.Resampling.BILINEAR, expand=True, fillcolor=int(level))
    frame = Frame(scale, left, top, (crop.shape[1], crop.shape[0]), angle, turned.size)
    return np.asarray(turned), frame, _turned_mask(~full[top : rows[-1] + 1, left : columns[-1] + 1], angle)


def _turned_mask(mask: np.ndarray, angle: float) -> np.ndarray:
    """A mask turned as an image is (expanding), what the turn brings in set."""
    turned = Image.fromarray(mask.astype(np.uint8) * 255).rotate(
        angle, Image.Resampling.BILINEAR, expand=True, fillcolor=255
    )
    return np.asarray(turned) > 127


def _otsu(values: np.ndarray) -> float:
    """The grey level that best splits values into two classes (Otsu's method)."""
    counts, edges = np.histogram(values, bins=256, range=(0, 256))
    weight = np.cumsum(counts)
    mean = np.cumsum(counts * edges[:-1])
    total, grand = weight[-1], mean[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (grand * weight - total * mean) ** 2 / (weight * (total - weight))
    return float(edges[int(np.nanargmax(between))])


def _dominant_angle(mask: np.ndarray, most: float, step: float) -> float:
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


def _ink_share(work: np.ndarray) -> np.ndarray:
    """How much of the paper's light each pixel's ink took, 0 to 1 (float32): the paper's brightness
    is a grey-level closing over a few strokes' widths, smoothed, so that what is darker than the
    paper but wider than any stroke (a shadow, a table, a frame) is paper, and a stroke in a shadow
    is as dark, against the paper round it, as one in the light."""
    gray = work.astype(np.float32)
    size = _paper_scale(gray)
    paper = ndimage.uniform_filter(ndimage.grey_closing(gray, size=size), size=size)
    np.maximum(paper, 1.0, out=paper)  # never 0: the share divides by it
    share = 1 - gray / paper
    return np.clip(share, 0, 1, out=share)


def _paper_scale(gray: np.ndarray) -> int:
    """Pixels over which to estimate the paper: PAPER_OVER_STROKE widths of the thickest stroke of
    the rough ink (twice its greatest distance to paper), so that no stroke is taken for paper."""
    short = min(gray.shape)
    rough = ndimage.grey_closing(gray, size=max(3, round(PAGE_SCALE * short)))
    ink = gray < (1 - MIN_INK) * rough
    stroke = 2 * float(ndimage.distance_transform_cdt(ink).max()) if ink.any() else 1.0
    return int(min(max(3, round(PAPER_OVER_STROKE * stroke) + 1), max(3, short // 2)))


def _noise(share: np.ndarray) -> tuple[float, float]:
    """The paper's own level and noise in the share (a median and a robust standard deviation);
    where the median is ink (a digit cropped tight is most of its picture), of the pixels paler
    than any ink (MIN_INK / 2) alone."""
    sample = share[:: max(1, share.shape[0] // 200), :: max(1, share.shape[1] // 200)]
    if np.median(sample) >= MIN_INK / 2:
        sample = sample[sample < MIN_INK / 2]
        if sample.size == 0:
            return 0.0, 0.0
    level = float(np.median(sample))
    return level, 1.4826 * float(np.median(np.abs(sample - level)))


def _without_lines(
    share: np.ndarray, paper: tuple[float, float], frame: Frame, off_page: np.ndarray | None
) -> tuple[np.ndarray, Frame, np.ndarray | None]:
    """The ink less printed lines (ruled, squared and graph paper, a form's box, an underline, a
    margin), found at their own angle, the picture turned level by it where they are; a stroke that
    crosses a line keeps the ink on both sides of it and any ink darker than the line."""
    level, noise = paper
    faintest = min(max(level + 4 * noise, LINE_FAINTEST), MIN_INK / 2)  # a line is paler than ink at most
    faint = share > faintest
    short = min(share.shape)
    length = max(8, round(LINE_LENGTH * short))
    angle = _dominant_angle(_coarse_mask(faint), LINE_TILT, 1.0)
    if abs(angle) >= LEVEL_WITHIN:
        turned = Image.fromarray(share).rotate(angle, Image.Resampling.BILINEAR, expand=True)
        candidate = np.asarray(turned)
        lines = _line_ink(candidate, length, faintest)
        if not lines.any():
            return share, frame, off_page
        # what the turn brings in at the corners is off the page: the picture's own edge lies there
        off_page = _turned_mask(np.zeros(share.shape, dtype=bool) if off_page is None else off_page, angle)
        share = candidate
        frame = _turned(frame, angle, share.shape)
    else:
        lines = _line_ink(share, length, faintest)
        if not lines.any():
            return share, frame, off_page
    # the line's own ink, with room for where it is darker (JPEG's ringing, two lines crossing) and
    # spread a pixel to its blurred edge
    lines = ndimage.grey_dilation(lines, size=3)
    cleaned = share - np.where(lines > 0, LINE_HEADROOM * lines + LINE_SLACK, 0)
    # across the line, ink on both sides of it is a stroke crossing: close the gap the line left
    thickness = 2 + int(_thickest(lines > 0))
    across = np.maximum(
        ndimage.grey_closing(cleaned, size=(thickness + 2, 1)), ndimage.grey_closing(cleaned, size=(1, thickness + 2))
    )
    on_line = ndimage.binary_dilation(lines > 0, iterations=1)
    cleaned[on_line] = np.maximum(cleaned, np.minimum(across, share))[on_line]
    return np.clip(cleaned, 0, 1, out=cleaned), frame, off_page


def _coarse_mask(mask: np.ndarray) -> np.ndarray:
    """A mask shrunk to at most COARSE_SIDE * 2 a side (any pixel set in a block sets it)."""
    factor = max(1, math.ceil(max(mask.shape) / (2 * COARSE_SIDE)))
    if factor == 1:
        return mask
    height, width = (mask.shape[0] // factor) * factor, (mask.shape[1] // factor) * factor
    return mask[:height, :width].reshape(height // factor, factor, width // factor, factor).any(axis=(1, 3))


def _turned(frame: Frame, angle: float, shape: tuple[int, int]) -> Frame:
    """The frame after its ink was turned by a further `angle` degrees (expanding to `shape`)."""
    # each turn maps the centre of what it turns onto the centre of what it makes: two turns are one
    return Frame(frame.scale, frame.left, frame.top, frame.crop_size, frame.angle + angle, (shape[1], shape[0]))


def _line_ink(share: np.ndarray, length: int, faint: float) -> np.ndarray:
    """The ink of printed lines: level or upright runs (a grey-level opening with a bar, a pixel
    either side allowed for a line not quite level), no thicker than LINE_THINNEST of their length
    and ink of their own across: a page's lines, at least `length` long; and a box's, at least
    BOX_SIDE of that, two of the same span, thinner than the writing. A digit's strokes are
    shorter, or thicker, or alone."""
    lines = np.zeros_like(share)
    stroke = _thickest(share > faint)  # the writing's thickest stroke
    for bar, on_a_page in ((length, True), (max(8, round(BOX_SIDE * length)), False)):
        along_rows, along_columns = _opened(share, bar, 1), _opened(share, bar, 0)
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
                if thickness <= LINE_THINNEST * extent and _alone(inked, found, axis):
                    along = found[1] if axis == 1 else found[0]
                    spans[index] = (along.start, along.stop, thickness)
            for index, (start, stop, thickness) in spans.items():
                if on_a_page:
                    _add_page_line(lines, share, opened, labels, objects[index - 1], index, axis, faint)
                    continue
                tolerance = 3 + 0.05 * (stop - start)
                twin = any(
                    other != index and abs(start - o_start) <= tolerance and abs(stop - o_stop) <= tolerance
                    for other, (o_start, o_stop, _) in spans.items()
                )
                if twin and thickness <= BOX_LINE_VS_STROKE * stroke:
                    _add_box_line(lines, share, opened, labels, objects[index - 1], index, axis)
    return lines


def _opened(share: np.ndarray, bar: int, axis: int) -> np.ndarray:
    """The ink that a bar `bar` long fits in, level (axis 1) or upright (axis 0), averaged along it
    over a few pixels first (JPEG's and the paper's dips do not break a line)."""
    slack = (3, 1) if axis == 1 else (1, 3)
    steady = ndimage.uniform_filter1d(ndimage.maximum_filter(share, size=slack), LINE_STEADY, axis=axis)
    return np.minimum(share, ndimage.grey_opening(steady, size=(1, bar) if axis == 1 else (bar, 1)))


def _add_page_line(
    lines: np.ndarray,
    share: np.ndarray,
    opened: np.ndarray,
    labels: np.ndarray,
    found: tuple[slice, slice],
    index: int,
    axis: int,
    faint: float,
) -> None:
    """Add a page's line to `lines`: the opening's ink, and its rows (columns where upright) on past
    where it was found, into a turned page's corners where it is too short to find, thin as it is."""
    mine = labels[found] == index
    band = (found[0], slice(None)) if axis == 1 else (slice(None), found[1])
    level = float(np.median(opened[found][mine]))
    np.maximum(lines[band], np.where(share[band] > faint, np.minimum(share[band], level), 0), out=lines[band])
    np.maximum(lines[found], np.where(mine, opened[found], 0), out=lines[found])


def _add_box_line(
    lines: np.ndarray,
    share: np.ndarray,
    opened: np.ndarray,
    labels: np.ndarray,
    found: tuple[slice, slice],
    index: int,
    axis: int,
) -> None:
    """Add a box's line to `lines`: its own rows (columns where upright) along its span, not what
    of a stroke joined it there (a stroke holds far less of a row than the line does)."""
    mine = labels[found] == index
    counts = mine.sum(axis=axis)
    on_line = np.zeros_like(mine)
    if axis == 1:
        on_line[counts >= 0.25 * counts.max()] = True
    else:
        on_line[:, counts >= 0.25 * counts.max()] = True
    level = float(np.median(opened[found][mine]))
    np.maximum(lines[found], np.where(on_line, np.minimum(share[found], level), 0), out=lines[found])


def _alone(inked: np.ndarray, found: tuple[slice, slice], axis: int) -> bool:
    """Whether a line found in these bounds (level where axis is 1, upright where 0) is ink of its
    own along most of its length, no thicker across than the line: not the straight core of a
    thick stroke, which the bar fits inside too."""
    across, along = (found[0], found[1]) if axis == 1 else (found[1], found[0])
    thickness = across.stop - across.start
    reach = slice(max(across.start - thickness - 3, 0), across.stop + thickness + 3)
    window = inked[reach, along] if axis == 1 else inked[along, reach].T
    return float(np.median(window.sum(axis=0))) <= 1.5 * thickness + 3  # room for its blur


def _thickest(mask: np.ndarray) -> float:
    """The thickest line in a mask of lines, in pixels: twice its greatest distance to paper."""
    return 2 * float(ndimage.distance_transform_cdt(mask).max()) if mask.any() else 0.0


def _marks(share: np.ndarray, paper: tuple[float, float], off_page: np.ndarray | None) -> tuple[np.ndarray, list[int]]:
    """The marks that look like writing, labelled, largest ink first: connected ink (by hysteresis
    between EDGE_OF_INK of the threshold and the threshold) with one pixel at least MIN_INK and
    INK_OVER_NOISE times the paper's noise (its level and noise given), not a speck, not a band along the picture's edge, and
    not mostly at the page's edge (what is left of the table past it)."""
    level, noise = paper
    near_edge = None if off_page is None else ndimage.binary_dilation(off_page, iterations=PAGE_EDGE_REACH)
    strong = max(MIN_INK, min(level + INK_OVER_NOISE * noise, SURELY_INK))
    labels, count = ndimage.label(share > EDGE_OF_INK * strong, structure=np.ones((3, 3)))
    if count == 0:
        return labels, []
    seeded = np.zeros(count + 1, dtype=bool)
    seeded[labels[share >= strong]] = True
    mass = ndimage.sum_labels(share, labels, range(1, count + 1))
    height, width = share.shape
    marks = []
    for index, found in enumerate(ndimage.find_objects(labels), start=1):
        if not seeded[index]:
            continue
        rows, columns = found[0].stop - found[0].start, found[1].stop - found[1].start
        if rows < SMALLEST_MARK and columns < SMALLEST_MARK:
            continue
        mark = labels[found] == index
        if _band_along_an_edge(mark, found, height, width):
            continue
        if near_edge is not None and near_edge[found][mark].mean() >= 0.5:
            continue
        marks.append(index)
    marks.sort(key=lambda index: -mass[index - 1])
    keep = np.zeros(count + 1, dtype=bool)
    keep[marks] = True
    return np.where(keep[labels], labels, 0), marks


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


def _digit(labels: np.ndarray, share: np.ndarray, marks: list[int]) -> list[int]:
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
