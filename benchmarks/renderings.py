"""The benchmarks' pictures, 3: each kind of picture people send, one function each: (digit,
generator, file stem) -> the file written; the same for a whole page (a number); the lists of kinds."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from drawing import Page, at, felt_tip, lone_digit, placed, scaled_ink, sharp_pencil, written
from paper import (
    LIGHT,
    as_uint8,
    box_lines,
    camera,
    grainy,
    homography,
    line_cover,
    mapped,
    mottled,
    page_corners,
    paint,
    photo,
    printed_lines,
    save,
    scan,
    sheet,
    tabletop,
    with_room,
)
from PIL import Image

INK_RGB = np.array([25, 30, 60], dtype=np.float64)  # blue-black ballpoint
INK_GREY = 32  # the same ink, in grey levels
PAPER_GREY = (150, 200)
PAPER_NOISE = 6.0
JPEG_QUALITY = 75
# A phone photo: the light across the page, then the camera's own blur, noise and compression.
PHOTO_SIDE = (120, 480)  # px, width and height drawn independently: a photo cropped around the writing
PHOTO_DIGIT = (0.25, 0.6)  # of the page's height: some of the page shows around the digit
SHADOW_LIGHT = (200, 220)
SHADOW_DROP = (40, 120)  # a shadow over part of the page, or a lamp's falloff
TILTED_DIGIT = (0.3, 0.55)  # of the photo's height
PENCIL_GREY = (90, 150)  # graphite, in grey levels
RULE_SPACING = (0.6, 1.0)  # of the digit's height: a notebook's lines cross the digit
GRID_SPACING = (0.3, 0.6)  # of the digit's height
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
