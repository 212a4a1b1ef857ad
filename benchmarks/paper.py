"""The benchmarks' pictures, 2: paper, light and camera: sheets, shadows, printed lines and boxes,
scans and phone photos, a page turned in perspective on a table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from drawing import Page
from PIL import Image, ImageFilter

LIGHT = (170, 230)  # grey level of white paper where a room's light falls most: photos are greyer than scans
LIGHT_DROP = (0, 30)  # grey levels it loses across the page
CAMERA_BLUR = (0.3, 1.0)  # Gaussian radius in px: focus, a hand's shake
CAMERA_NOISE = (1.5, 4.0)  # the sensor's, a standard deviation in grey levels
CAMERA_QUALITY = (60, 90)  # JPEG
TILT_DEGREES = 25  # how far off square a photographed page is, at most
CAMERA_DISTANCE = (2.0, 4.0)  # in half the page's height: a phone held close
TABLE_SHOWS = 0.4  # share of tilted photos where the table shows past one or two of the page's edges
TABLE_STRIP = (0.04, 0.15)  # of the photo's side: how far in the page's edge then is
TABLES = [(105, 72, 45), (60, 60, 64), (135, 130, 122)]  # wood, a dark desk, a grey one
LINE_COLOURS = [(150, 185, 230), (120, 160, 215), (175, 175, 180)]  # pale blue, blue, grey


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


def save(image: Image.Image, path: Path, **options: int) -> Path:
    image.save(path, **options)
    return path
