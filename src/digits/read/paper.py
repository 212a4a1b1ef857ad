"""A picture of a page -> the ink written on it, read top to bottom as a short pipeline of general steps:

1. page: the picture at a working size; where a sheet or a note lies on a table, the region round
   the picture's centre bounded by a sharp edge, cropped, turned upright, the table painted out;
2. light: turned so that ink is darker than paper (the end of the grey levels that stands out);
3. paper: the paper's own brightness, estimated at a scale wider than any stroke (a grey-level
   closing), so that each pixel's ink is the share of the paper's light it takes;
4. printed lines (lines.py): the dominant line angle by projection profiles, then long thin bars
   found by a grey-level opening, taken out while the strokes that cross them are kept;
5. marks (marks.py): the ink's connected components, by hysteresis over the paper's noise; specks, bands
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

from ..errors import DigitsError
from .lines import dominant_angle, thickest_stroke, without_lines
from .marks import MIN_INK, digit_marks, find_marks

WORK_SIDE = 1280  # px: a picture is read at most this long a side; a 20-px digit on a 2000-px page keeps 13 px
COARSE_SIDE = 256  # px: the page and the polarity are judged on a copy this size, where one pixel is a stroke's
TAIL = 0.5  # percent: the darkest and the lightest grey levels, where ink lies (a digit covers more of a page)
POLARITY_MARGIN = 1.5  # one end this many times further from the paper than the other is the ink's
STANDS_OUT = 24  # grey levels: ink stands this far from the paper at least (a blank page's grain and JPEG: under 10)
PAGE_SCALE = 0.15  # of the short side: wider than any stroke of a digit that leaves the page showing round it
# a page and what lies round it differ by a fifth of the light at least (white paper on light wood:
# 0.6); less, and the light only varies (graph paper's and a whiteboard's glare reach 0.85)
PAGE_DARKER = 0.8
# a page darker than the table round it is a coloured note, whose edge alone stands out: within this
# share of the table's light (a pale note on a white desk: 0.81), and paper, not ink (black: 0.1)
NOTE_DARKER = (0.5, 0.85)
EDGE_SHARPNESS = 0.08  # a page's edge rises this share of its step per coarse pixel at least; a shadow's, 0.01
PAGE_PICTURE_SIDE = 160  # px: a picture smaller both ways is a crop of the writing, not a photo of a page on a table
# (where the hole of a 0 could pass for a page)
SMALLEST_PAGE = 0.25  # of the picture: a brighter region smaller than this is something on the page (a toolbar)
# of a page's area: the paper itself, the rest being the writing on it (a fat digit on a small sticky
# note leaves 0.83 of it; a 0 whose ring and hole pass for a page, 0.25–0.65)
PAGE_IS_PAPER = 0.8
SPECKS = 0.02  # of a darker page's area: lighter holes in it (glare, a fleck), as its writing is no hole
LEAK = 0.04  # of the short side: a bright strip this thin joining the page (a streak of light wood) is not paper
TURN_AT_LEAST = 1.0  # degrees: a page or lines turned less are left as they are (a digit reads the same)
PAPER_OVER_STROKE = 2  # the paper is estimated over twice the thickest stroke: where two strokes meet stays ink
LINE_FAINTEST = 0.05  # share of the light: a printed line is at least this dark (13 levels on white paper), and
# paler than ink at most (MIN_INK / 2)
# and this many times the paper's noise above it: a line is found by an opening, the least ink along
# a bar, which the paper's noise does not survive (graph paper's fine lines lie at 3 to 4 times it)
LINE_OVER_NOISE = 2


class NoDigitFound(DigitsError):
    """The image holds no ink: a blank page. `ink` is what the reader measured on it, 0–255 (uint8),
    so that a person can see why it was called blank."""

    def __init__(self, message: str, ink: np.ndarray | None = None) -> None:
        super().__init__(message)
        self.ink = ink


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

    def turned(self, angle: float, size: tuple[int, int]) -> Frame:
        """The frame after its ink was turned by a further `angle` degrees, expanding to `size`:
        each turn maps the centre of what it turns onto the centre of what it makes, so two are one."""
        return Frame(self.scale, self.left, self.top, self.crop_size, self.angle + angle, size)

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
    (0 for none), the labels of the marks and of the digit's marks, the largest first, and of the specks."""

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


def find_ink(gray: np.ndarray, name: str = "image") -> Ink:
    """Grey levels of any size and polarity -> the ink written on the page, and the digit's marks.
    A page with no mark that looks like writing raises NoDigitFound."""
    gray = np.asarray(gray, dtype=np.uint8)
    work, scale = _working_copy(gray)
    page = _find_page(work)
    work, frame, off_page = _the_page(work, page, scale)
    if _light_on_dark(work, on_a_table=page is not None):
        work = 255 - work
    share = _ink_share(work, sharp_steps=page is not None)
    paper = _noise(share)  # measured before lines are taken out, which leaves their traces
    level, noise = paper
    with_lines, on_page = share, off_page
    share, angle = without_lines(share, faintest=min(max(level + LINE_OVER_NOISE * noise, LINE_FAINTEST), MIN_INK / 2))
    if angle:  # what the turn brings in at the corners is off the page: the picture's own edge lies there
        off_page = _turned_mask(np.zeros(with_lines.shape, dtype=bool) if off_page is None else off_page, angle)
        frame = frame.turned(angle, (share.shape[1], share.shape[0]))
    labels, marks, specks = find_marks(share, paper, off_page)
    if not marks:
        # a page of printed lines only, or a person's long straight stroke taken for one: not blank
        lines_only = bool(find_marks(with_lines, paper, on_page)[1])
        why = "only long straight lines, taken for the page's printed lines" if lines_only else "the image is blank"
        raise NoDigitFound(f"{name}: no digit found ({why})", np.round(share * 255).astype(np.uint8))
    return Ink(share, labels, marks, digit_marks(labels, share, marks), frame, specks)


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
    times further than the other, unless it is the lighter end on a picture light all through and
    all round (glare, the white past a turned sheet's corners). Where neither does (a blank page,
    or a bold digit that is the most of a block), a page found on a table is light, and so is a
    picture whose edge or whole is mostly above mid-grey."""
    coarse = _coarse(work)
    block = max(2, min(coarse.shape) // 3)
    rows, columns = -(-coarse.shape[0] // block), -(-coarse.shape[1] // block)
    padded = np.pad(coarse, ((0, rows * block - coarse.shape[0]), (0, columns * block - coarse.shape[1])), mode="edge")
    medians = np.median(padded.reshape(rows, block, columns, block), axis=(1, 3)).astype(np.float32)
    paper = np.asarray(Image.fromarray(medians).resize((coarse.shape[1], coarse.shape[0]), Image.Resampling.BILINEAR))
    darkest, lightest = np.percentile(coarse - paper, [TAIL, 100 - TAIL])
    darker, lighter = -float(darkest), float(lightest)
    edge = np.concatenate([coarse[:2].ravel(), coarse[-2:].ravel(), coarse[:, :2].ravel(), coarse[:, -2:].ravel()])
    # dark paper only where both its edge and the whole of it are: a fax's lid darkens two edges, and
    # a digit cropped tight is most of its picture
    whole, rim = float(np.median(coarse)), float(np.median(edge))
    if max(darker, lighter) >= STANDS_OUT and max(darker, lighter) > POLARITY_MARGIN * max(min(darker, lighter), 1.0):
        # what is lighter than light paper, all round and through the picture, is glare or the
        # white past a turned sheet's corner, not ink
        return lighter > darker and not (whole >= 128 and rim >= 128)
    return not on_a_table and whole < 128 and rim < 128


def _resized_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A mask at another size (bilinear, then half way)."""
    resized = Image.fromarray(mask.astype(np.uint8) * 255).resize((shape[1], shape[0]), Image.Resampling.BILINEAR)
    return np.asarray(resized) > 127


def _find_page(work: np.ndarray) -> tuple[np.ndarray, float] | None:
    """Where a sheet or a note lies on a table: the region of the picture's centre (a photo is
    aimed at what it shows), split from the rest by brightness and bounded by a sharp edge, at the
    coarse size, as its convex hull (a sheet in perspective is still convex); and the angle its
    edges are turned by. None where the picture is all page, or the light only varies across it."""
    if max(work.shape) < PAGE_PICTURE_SIDE:
        return None
    coarse = _coarse(work)
    # specks, thin lines and the grain of a table taken out by a median; the writing on the page is
    # a hole in it, filled below (a closing would fill the strip of table between a page and the
    # picture's edge too)
    smooth = ndimage.median_filter(coarse, size=5)
    if float(np.ptp(smooth)) == 0:
        return None
    bright = smooth > _otsu(smooth)
    # of the regions of either brightness that hold the centre, holes filled (the writing on a
    # page), the smallest big enough to be a page: a table round a page holds the centre too
    centre = (bright.shape[0] // 2, bright.shape[1] // 2)
    leak = np.ones((max(3, round(LEAK * min(coarse.shape))),) * 2)
    candidates = []
    for side, writing_room, darker in ((bright, 1 - PAGE_IS_PAPER, None), (~bright, SPECKS, NOTE_DARKER)):
        labels, _ = ndimage.label(ndimage.binary_fill_holes(side))
        if labels[centre] == 0:
            continue
        region = labels == labels[centre]
        # its holes are its writing, darker than paper: a darker page (a note on a white desk) has
        # none, its writing being dark too; a region round lighter holes is ink round paper (a 0)
        if 1 - side[region].mean() > writing_room:
            continue
        region = ndimage.binary_opening(region, leak)  # thin leaks into the table (a streak of light wood) cut off
        if not (SMALLEST_PAGE < region.mean() < 0.98 and region[centre]):
            continue
        paper, table = float(np.median(smooth[region])), float(np.median(smooth[~region]))
        least, most = darker or (0.0, PAGE_DARKER)
        if least * max(paper, table) <= min(paper, table) <= most * max(paper, table):
            candidates.append((region, paper, table))
    if not candidates:
        return None
    page, paper, table = min(candidates, key=lambda candidate: candidate[0].sum())
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
    angle = dominant_angle(edge, 45, 1.0)
    return page, (angle if abs(angle) >= TURN_AT_LEAST else 0.0)


def _convex_hull(mask: np.ndarray) -> np.ndarray:
    """The smallest convex region holding a mask."""
    from scipy.spatial import ConvexHull, QhullError  # 60 ms to import: only pictures of a page on a table need it

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
    # past the edge, each pixel takes the grey of the page's nearest pixel: a constant grey would
    # make the page's darker side (its light falls off) a valley between it and the brighter
    # centre, which the paper's estimate fills and the ink then shows
    nearest = ndimage.distance_transform_edt(~full, return_distances=False, return_indices=True)
    painted = work[tuple(nearest)]
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


def _ink_share(work: np.ndarray, sharp_steps: bool) -> np.ndarray:
    """How much of the paper's light each pixel's ink took, 0 to 1 (float32): the paper's brightness
    is a grey-level closing over a few strokes' widths, smoothed, so that what is darker than the
    paper but wider than any stroke (a shadow, a table, a frame) is paper, and a stroke in a shadow
    is as dark, against the paper round it, as one in the light. Where the light has sharp steps (a
    page photographed on a table: its edge, the shadow of the camera across it) the smoothing is
    kept under the closing, lest it reach over a step from the lit side and the dark side's rim read
    as ink; elsewhere it is not, as the closing alone would take a soft, wide stroke for paper where
    it is most of its picture (a digit cropped tight)."""
    gray = work.astype(np.float32)
    size = _paper_scale(gray)
    closed = ndimage.grey_closing(gray, size=size)
    paper = ndimage.uniform_filter(closed, size=size)
    if sharp_steps:
        np.minimum(paper, closed, out=paper)
    np.maximum(paper, 1.0, out=paper)  # never 0: the share divides by it
    share = 1 - gray / paper
    return np.clip(share, 0, 1, out=share)


def _paper_scale(gray: np.ndarray) -> int:
    """Pixels over which to estimate the paper: PAPER_OVER_STROKE widths of the thickest stroke of
    the rough ink (twice its greatest distance to paper), so that no stroke is taken for paper."""
    short = min(gray.shape)
    rough = ndimage.grey_closing(gray, size=max(3, round(PAGE_SCALE * short)))
    ink = gray < (1 - MIN_INK) * rough
    return int(min(max(3, round(PAPER_OVER_STROKE * thickest_stroke(ink)) + 1), max(3, short // 2)))


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
