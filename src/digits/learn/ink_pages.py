"""Pages drawn at random for the ink finder to learn from, with the handwritten ink's mask known exactly.

Not families of picture, but factors, each drawn from a wide range and independently of the
others (domain randomization, Tobin et al. 2017): the paper's colour and texture, the light,
printed lines and printed text in any colour and at any angle, the ink (pen, pencil, marker, chalk,
stamp) in any colour, the pose, blur, sensor noise and JPEG. A finder that has seen all of these
vary takes a real photo for one more variation. The handwriting is MNIST's training digits and
the drawn non-digits (writing too, though not digits); everything else is background.

Each factor group can be switched off, to measure by holding it out whether the finder
generalizes to pictures that have it (`FACTOR_GROUPS`).
"""

from __future__ import annotations

import glob
import io
import math
from functools import cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from scipy import ndimage

from .non_digits import blot, crossing_strokes, hand_letter, lone_line, scribble

# the groups a finder can be trained without, to be tested on pictures that have them
FACTOR_GROUPS = ("texture", "text", "lines", "colour", "perspective", "chalk_stamp")
BLANK = 0.15  # share of pages with no handwriting: the finder must learn to find nothing
NON_DIGIT = 0.15  # share of written marks that are drawn non-digits (scribbles, letters, strokes), not digits
TEXT = "0123456789 ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz .,:;-/()€$%#"


def draw_page(
    rng: np.random.Generator,
    digits: np.ndarray,
    size: int,
    off: frozenset[str] = frozenset(),
    on: frozenset[str] = frozenset(),
    blank: bool | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One page, size × size: (colours uint8 (size, size, 3), the handwriting's mask float32 0–1).
    `digits`: uint8 (N, 28, 28) training digits, 255 ink, written at random; `off`: factor groups left
    out; `on`: groups every page has (to test a finder on them). With `blank` set, the page is blank
    or holds `digits[0]` alone, as a test page does."""

    def has(group: str, chance: float) -> bool:
        return group not in off and (group in on or rng.random() < chance)

    colour = "colour" not in off
    paper = _paper_colour(rng, colour, "colour" in on)
    page = np.ones((size, size, 3), np.float32) * paper
    if "texture" not in off:
        page *= _texture(rng, size, colour, "texture" in on)
    if has("lines", 0.6):
        _print(page, _printed_lines(rng, size), _print_colour(rng, paper, colour))
    if has("text", 0.6):
        _print(page, _printed_text(rng, size), _print_colour(rng, paper, colour))
    if rng.random() < 0.25:  # printed shapes: a logo, a filled box, a ring, a dot
        _print(page, _printed_shapes(rng, size), _print_colour(rng, paper, colour))
    mask = np.zeros((size, size), np.float32)
    if (rng.random() >= BLANK) if blank is None else not blank:
        mask = _handwriting(rng, digits, size, alone=blank is not None)
        ink = _ink_colour(rng, paper, colour)
        shown = _pen_texture(rng, mask, has("chalk_stamp", 0.25))
        page = page * (1 - shown[..., None]) + ink * shown[..., None]
        if has("text", 0.15):  # print over the writing (a stamp, a form's text)
            _print(page, _printed_text(rng, size), _print_colour(rng, paper, colour))
    page *= _light(rng, size, colour)
    if has("perspective", 0.6):
        page, mask = _posed(rng, page, mask, _paper_colour(rng, colour, False) * rng.uniform(0.2, 1.0))
    page = _camera(rng, np.clip(page, 0, 1))
    return page, mask


def draw_pages(
    count: int, seed: int, digits: np.ndarray, size: int, off: frozenset[str] = frozenset()
) -> tuple[np.ndarray, np.ndarray]:
    """`count` pages for one seed: colours uint8 (count, size, size, 3), masks uint8 (count, size, size) 0–255."""
    rng = np.random.default_rng(seed)
    pictures = np.zeros((count, size, size, 3), np.uint8)
    masks = np.zeros((count, size, size), np.uint8)
    for i in range(count):
        pictures[i], mask = draw_page(rng, digits, size, off)
        masks[i] = np.round(mask * 255)
    return pictures, masks


def _paper_colour(rng: np.random.Generator, colour: bool, vivid: bool) -> np.ndarray:
    """Mostly light paper; some dark (a board, a dark-mode app) and some mid (cardboard, a coloured
    note); `vivid`, strongly coloured."""
    kind = rng.random()
    value = rng.uniform(0.7, 1.0) if kind < 0.7 else rng.uniform(0.02, 0.35) if kind < 0.85 else rng.uniform(0.35, 0.7)
    if not colour:
        return np.full(3, value, np.float32)
    tint = rng.uniform(0.3, 0.6) if vivid else rng.uniform(0, 0.6 if kind >= 0.7 else 0.25) * rng.random()
    hue = _hue(rng.uniform())
    return np.clip(value * (1 - tint + tint * hue), 0, 1).astype(np.float32)


def _hue(h: float) -> np.ndarray:
    """A saturated colour at hue h (0–1), as RGB 0–1."""
    return np.clip(np.abs((h * 6 + np.array([0, 4, 2])) % 6 - 3) - 1, 0, 1).astype(np.float32)


def _noise(rng: np.random.Generator, size: int, scale: float) -> np.ndarray:
    """Smooth noise, about `scale` px between its bumps, mean 0 and deviation 1."""
    cells = max(2, int(size / max(scale, 1)) + 2)
    field = Image.fromarray(rng.normal(0, 1, (cells, cells)).astype(np.float32))
    return np.asarray(field.resize((size, size), Image.Resampling.BICUBIC), np.float32)


def _texture(rng: np.random.Generator, size: int, colour: bool, strong: bool = False) -> np.ndarray:
    """The paper's brightness across it, (size, size, 3): noise at several scales, fibres, grain,
    corrugation, creases; `strong`, a texture that shows."""
    shade = np.ones((size, size), np.float32)
    for scale in (2, 8, 32):
        shade += rng.uniform(0.03 if strong else 0, 0.06) * _noise(rng, size, scale) * (strong or rng.random() < 0.6)
    if rng.random() < (0.6 if strong else 0.25):  # corrugation or a woven, striped paper
        y, x = np.mgrid[:size, :size].astype(np.float32)
        angle, period = rng.uniform(0, np.pi), rng.uniform(4, 30)
        shade += rng.uniform(0.02, 0.12) * np.sin((x * np.cos(angle) + y * np.sin(angle)) * 2 * np.pi / period)
    if rng.random() < 0.3:  # fibres
        fibres = Image.new("F", (size, size), 0)
        pen = ImageDraw.Draw(fibres)
        for _ in range(int(rng.integers(5, 60))):
            x, y, a, n = *rng.uniform(0, size, 2), rng.uniform(0, np.pi), rng.uniform(3, 20)
            pen.line([(x, y), (x + n * np.cos(a), y + n * np.sin(a))], fill=float(rng.uniform(-1, 1)), width=1)
        shade += rng.uniform(0.02, 0.15) * np.asarray(fibres)
    if rng.random() < 0.2:  # a crease: a step of light along a line
        y, x = np.mgrid[:size, :size].astype(np.float32)
        a, c = rng.uniform(0, np.pi), rng.uniform(0.2, 0.8) * size
        distance = x * np.cos(a) + y * np.sin(a) - c
        shade += rng.uniform(-0.1, 0.1) * np.exp(-np.abs(distance) / rng.uniform(1, 4))
    shade += rng.uniform(0, 0.05) * rng.normal(0, 1, (size, size)).astype(np.float32)  # grain
    if colour and rng.random() < 0.3:  # a texture in colour (cardboard's fibres, a wooden table)
        tint = _hue(rng.uniform()) * rng.uniform(0, 0.2)
        return np.clip(shade[..., None] * (1 - tint) + tint * _noise(rng, size, 4)[..., None], 0.2, 1.3)
    return np.clip(shade, 0.2, 1.3)[..., None].repeat(3, axis=2)


def _print_colour(rng: np.random.Generator, paper: np.ndarray, colour: bool) -> np.ndarray:
    """A printed colour: black, grey or any hue, darker or lighter than the paper, sometimes faint."""
    light = float(paper.mean())
    strength = rng.uniform(0.15, 0.9)
    target = 0.0 if light > 0.45 else 1.0
    base = np.full(3, target, np.float32)
    if colour and rng.random() < 0.6:
        base = _hue(rng.uniform()) * (rng.uniform(0.3, 1.0) if target == 0 else 1.0)
    return paper + strength * (base - paper)


def _ink_colour(rng: np.random.Generator, paper: np.ndarray, colour: bool) -> np.ndarray:
    """The writing's colour: a pen's black, blue or red, a pencil's grey, a marker's or chalk's any hue;
    it stands from the paper, most often well, sometimes faintly."""
    light = float(paper.mean())
    target = np.full(3, 0.0 if light > 0.45 else 1.0, np.float32)
    if colour and rng.random() < 0.5:
        target = _hue(rng.uniform()) * (rng.uniform(0.2, 0.8) if light > 0.45 else 1.0)
    strength = rng.uniform(0.6, 1.0) if rng.random() < 0.85 else rng.uniform(0.25, 0.6)
    return paper + strength * (target - paper)


def _print(page: np.ndarray, alpha: np.ndarray, colour: np.ndarray) -> None:
    page *= 1 - alpha[..., None]
    page += alpha[..., None] * colour


@cache
def _fonts() -> tuple[str, ...]:
    """The machine's TrueType fonts (Pillow's own where it has none)."""
    return tuple(sorted(glob.glob("/usr/share/fonts/**/*.[ot]tf", recursive=True)))


@cache
def _font(index: int, size: int) -> ImageFont.FreeTypeFont:
    fonts = _fonts()
    return ImageFont.truetype(fonts[index], size) if fonts else ImageFont.load_default(size)


def _printed_text(rng: np.random.Generator, size: int) -> np.ndarray:
    """Lines of printed text and printed digits, in any font, size and weight, turned a little."""
    layer = Image.new("L", (size, size), 0)
    pen = ImageDraw.Draw(layer)
    height = int(rng.integers(6, max(7, size // 4)))
    font = _font(int(rng.integers(max(1, len(_fonts())))), height)
    y = rng.uniform(-height, size)
    for _ in range(int(rng.integers(1, 6))):
        words = "".join(rng.choice(list(TEXT), int(rng.integers(3, 30))))
        pen.text(
            (rng.uniform(-size / 2, size / 2), y), words, fill=255, font=font, stroke_width=int(rng.random() < 0.2)
        )
        y += height * rng.uniform(1.2, 2.5)
    if rng.random() < 0.5:
        layer = layer.rotate(rng.uniform(-20, 20), Image.Resampling.BILINEAR)
    return np.asarray(layer, np.float32) / 255


def _printed_lines(rng: np.random.Generator, size: int) -> np.ndarray:
    """Rules, a grid, boxes and cells, dotted lines, a margin: at one angle, any spacing and width."""
    big = int(size * 1.5)
    layer = Image.new("L", (big, big), 0)
    pen = ImageDraw.Draw(layer)
    kind = rng.choice(["rules", "grid", "boxes", "dotted", "margin", "cells"])
    width = int(rng.choice([1, 1, 1, 2, 2, 3, 4]))
    gap = rng.uniform(6, size / 2)
    start = rng.uniform(0, gap)
    if kind in ("rules", "grid", "dotted"):
        step = rng.uniform(3, 8)  # a dotted line's dots
        for y in np.arange(start, big, gap):
            if kind == "dotted":
                for x in np.arange(0, big, step):
                    pen.ellipse([x, y, x + width, y + width], fill=255)
            else:
                pen.line([(0, y), (big, y)], fill=255, width=width)
        if kind == "grid":
            for x in np.arange(start, big, gap):
                pen.line([(x, 0), (x, big)], fill=255, width=width)
    elif kind in ("boxes", "cells"):
        for _ in range(int(rng.integers(1, 5))):
            x, y = rng.uniform(0, big, 2)
            w, h = rng.uniform(size / 6, size, 2)
            pen.rectangle([x, y, x + w, y + h], outline=255, width=width)
            if kind == "cells":
                for cx in np.arange(x, x + w, w / int(rng.integers(2, 6))):
                    pen.line([(cx, y), (cx, y + h)], fill=255, width=width)
    else:
        x = rng.uniform(0, big)
        pen.line([(x, 0), (x, big)], fill=255, width=width)
        for y in np.arange(start, big, gap):
            pen.line([(0, y), (big, y)], fill=int(rng.uniform(80, 255)), width=1)
    layer = layer.rotate(rng.uniform(-45, 45) if rng.random() < 0.3 else rng.uniform(-8, 8), Image.Resampling.BILINEAR)
    offset = (big - size) // 2
    return np.asarray(layer.crop((offset, offset, offset + size, offset + size)), np.float32) / 255


def _printed_shapes(rng: np.random.Generator, size: int) -> np.ndarray:
    """Filled and outlined shapes: a logo, a bullet, a ring, a bar, a page's edge-on heading block."""
    layer = Image.new("L", (size, size), 0)
    pen = ImageDraw.Draw(layer)
    for _ in range(int(rng.integers(1, 4))):
        x, y = rng.uniform(0, size, 2)
        r = rng.uniform(2, size / 4)
        fill = 255 if rng.random() < 0.6 else None
        if rng.random() < 0.5:
            pen.ellipse([x - r, y - r, x + r, y + r], fill=fill, outline=255, width=int(rng.integers(1, 5)))
        else:
            pen.rectangle([x - r, y - r / rng.uniform(0.3, 3), x + r, y + r], fill=fill, outline=255)
    return np.asarray(layer, np.float32) / 255


def _handwriting(rng: np.random.Generator, digits: np.ndarray, size: int, alone: bool = False) -> np.ndarray:
    """The handwriting's alpha, 0–1: one digit, or a row of them as a number is written, or a
    non-digit, at any size from a speck of a page to the whole picture, thin to thick; `alone`,
    digits[0] alone, a fifth to four fifths of the page high."""
    alpha = np.zeros((size, size), np.float32)
    height = size * math.exp(rng.uniform(math.log(0.2 if alone else 0.08), math.log(0.8 if alone else 0.9)))
    count = 1 if alone or rng.random() < 0.6 else int(rng.integers(2, 6))
    width = height * 0.75
    # a row may run off the page; a test page's digit lies whole on it
    x = rng.uniform(0, size - width) if alone else rng.uniform(-width * 0.2, max(size - count * width * 0.9, 1))
    y = rng.uniform(0, size - height) if alone else rng.uniform(-height * 0.1, max(size - height * 0.9, 1))
    thickness = rng.uniform(-0.4, 0.6)  # strokes thinner or thicker than MNIST's, as a share of its pen
    for _ in range(count):
        if alone:
            mark = digits[0].astype(np.float32) / 255
        elif rng.random() < NON_DIGIT:
            mark = _non_digit(rng)
        else:
            mark = digits[int(rng.integers(len(digits)))].astype(np.float32) / 255
        h = max(4, int(height * rng.uniform(0.85, 1.1)))
        shear = rng.uniform(-0.3, 0.3)
        mark_image = Image.fromarray(mark).transform(
            (28, 28), Image.Transform.AFFINE, (1, shear, -shear * 14, 0, 1, 0), Image.Resampling.BILINEAR
        )
        placed = np.asarray(mark_image.resize((h, h), Image.Resampling.BILINEAR), np.float32)
        pen = h / 28 * abs(thickness) * 2
        if pen >= 1:
            filter_ = ndimage.grey_dilation if thickness > 0 else ndimage.grey_erosion
            placed = filter_(placed, size=int(pen))
        placed = np.clip((placed - 0.3) * rng.uniform(2, 4) + 0.5, 0, 1)  # MNIST's soft edge to a pen's
        _paste(alpha, placed, int(x), int(y))
        x += h * rng.uniform(0.55, 0.95)
        y += rng.normal(0, h * 0.04)
    return alpha


def _non_digit(rng: np.random.Generator) -> np.ndarray:
    """A drawn non-digit (a scribble, crossing strokes, a line, a blot, a hand-drawn letter), 28×28 0–1."""
    canvas = Image.new("L", (112, 112), 0)
    kind = [scribble, crossing_strokes, lone_line, blot, hand_letter][int(rng.integers(5))]
    kind(rng, ImageDraw.Draw(canvas))
    return np.asarray(canvas.resize((28, 28), Image.Resampling.BILINEAR), np.float32) / 255


def _paste(alpha: np.ndarray, mark: np.ndarray, x: int, y: int) -> None:
    """The mark's alpha added over `alpha` at (x, y), clipped at the page's edges."""
    h, w = mark.shape
    top, left = max(0, y), max(0, x)
    bottom, right = min(alpha.shape[0], y + h), min(alpha.shape[1], x + w)
    if bottom <= top or right <= left:
        return
    region = mark[top - y : bottom - y, left - x : right - x]
    np.maximum(alpha[top:bottom, left:right], region, out=alpha[top:bottom, left:right])


def _pen_texture(rng: np.random.Generator, mask: np.ndarray, chalk_stamp: bool) -> np.ndarray:
    """How much of the ink's colour each pixel takes: a pen's all of it, a pencil's or chalk's grain,
    a stamp's or a dry marker's gaps, a faint stroke's less."""
    shown = mask * rng.uniform(0.75, 1.0)
    if rng.random() < 0.3:  # pencil: a fine grain
        shown *= np.clip(1 - rng.uniform(0.1, 0.5) * rng.random(mask.shape), 0, 1).astype(np.float32)
    if chalk_stamp and rng.random() < 0.25:  # chalk's grain or a stamp's gaps: the ink missing in blotches
        holes = _noise(rng, mask.shape[0], rng.uniform(1, 4)) > rng.uniform(-0.5, 0.8)
        shown *= np.where(holes, rng.uniform(0, 0.4), 1).astype(np.float32)
    return shown


def _light(rng: np.random.Generator, size: int, colour: bool) -> np.ndarray:
    """The light on the page, (size, size, 3): a gradient, a vignette, a hard or soft shadow, glare, a colour cast."""
    y, x = np.mgrid[:size, :size].astype(np.float32) / size
    light = np.ones((size, size), np.float32)
    a = rng.uniform(0, 2 * np.pi)
    light *= 1 + rng.uniform(0, 0.5) * ((x - 0.5) * np.cos(a) + (y - 0.5) * np.sin(a))
    if rng.random() < 0.4:  # a vignette
        light *= 1 - rng.uniform(0, 0.5) * ((x - 0.5) ** 2 + (y - 0.5) ** 2) * 2
    if rng.random() < 0.35:  # a shadow: a polygon's, hard or soft
        shadow = Image.new("L", (size, size), 0)
        corners = [tuple(p) for p in rng.uniform(-0.5, 1.5, (int(rng.integers(3, 6)), 2)) * size]
        ImageDraw.Draw(shadow).polygon(corners, fill=255)
        blur = float(rng.uniform(1, size / 10)) if rng.random() < 0.4 else 0.0
        shade = np.asarray(shadow.filter(ImageFilter.GaussianBlur(blur)) if blur else shadow, np.float32) / 255
        light *= 1 - rng.uniform(0.2, 0.7) * shade
    if rng.random() < 0.2:  # glare
        cx, cy, r = *rng.uniform(0, 1, 2), rng.uniform(0.05, 0.4)
        light += rng.uniform(0.2, 0.8) * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r))
    cast = np.ones(3, np.float32)
    if colour and rng.random() < 0.4:
        cast = 1 + rng.uniform(-0.2, 0.2, 3).astype(np.float32)
    return np.clip(light, 0.1, 2)[..., None] * cast


def _posed(rng: np.random.Generator, page: np.ndarray, mask: np.ndarray, table: np.ndarray):
    """The page seen in perspective and turned, what lies past it a table of another colour."""
    size = page.shape[0]
    reach = rng.uniform(0, 0.25) * size
    corners = np.array([[0, 0], [size, 0], [size, size], [0, size]], np.float64)
    seen = corners + rng.uniform(-reach, reach, (4, 2))
    angle = math.radians(rng.uniform(-30, 30))
    centre = seen.mean(axis=0)
    turn = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    seen = (seen - centre) @ turn.T + centre
    coefficients = _perspective(seen, corners)  # Pillow maps each output pixel back onto the input
    warp = lambda image, fill: image.transform(  # noqa: E731
        (size, size), Image.Transform.PERSPECTIVE, coefficients, Image.Resampling.BILINEAR, fillcolor=fill
    )
    inside = np.asarray(warp(Image.new("F", (size, size), 1.0), 0.0), np.float32)[..., None]
    channels = [np.asarray(warp(Image.fromarray(page[..., c]), 0.0), np.float32) for c in range(3)]
    posed = np.stack(channels, axis=-1) * inside + (1 - inside) * table * _texture(rng, size, False)
    return posed, np.asarray(warp(Image.fromarray(mask), 0.0), np.float32)


def _perspective(source: np.ndarray, target: np.ndarray) -> tuple[float, ...]:
    """Pillow's 8 perspective coefficients that map each of `source`'s points onto `target`'s."""
    rows = []
    for (x, y), (u, v) in zip(source, target, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    return tuple(np.linalg.solve(np.array(rows), target.reshape(8)).tolist())


def _camera(rng: np.random.Generator, page: np.ndarray) -> np.ndarray:
    """Focus or motion blur, sensor noise, and JPEG at a quality from 30 to 95, as uint8 colours."""
    if rng.random() < 0.5:
        sigma = rng.uniform(0.3, 1.5)
        page = ndimage.gaussian_filter(page, (sigma, sigma, 0))
    elif rng.random() < 0.2:
        length = int(rng.integers(2, 6))
        page = ndimage.uniform_filter1d(page, length, axis=int(rng.integers(2)))
    page = page + rng.normal(0, rng.uniform(0, 0.05), page.shape).astype(np.float32)
    picture = Image.fromarray(np.clip(page * 255, 0, 255).astype(np.uint8))
    if rng.random() < 0.7:
        buffer = io.BytesIO()
        picture.save(buffer, "JPEG", quality=int(rng.integers(30, 96)))
        picture = Image.open(buffer).convert("RGB")
    return np.asarray(picture)
