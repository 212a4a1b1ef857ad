"""A person's image file -> the pixel matrix the model reads: 0 is paper, 255 is ink.

MNIST's makers cropped each digit to its ink, scaled it into a 20×20 box and centred it by
its centre of mass in a 28×28 frame. Photos and scans must go through the same steps, or a
model trained on MNIST sees something it has never seen. Only numpy and Pillow here, so
that predicting never imports torch.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps

from .errors import DigitsError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pnm")
MAX_PIXELS = 40_000_000  # refuse before decoding: a 40-megapixel grayscale page is ~40 MB
MIN_CONTRAST = 32  # a transparent image's ink must stand this far (of 255) from white to be seen on it
MIN_INK = 0.12  # ink must take this share of the paper's light (30 levels on white paper), or the page is blank
INK_SEEN = 255 * 0.25  # a pixel with a quarter of the darkest ink's darkness is ink, for finding the digit
PAPER_GRID = 32  # the paper's brightness is fitted on a grid of about this many points a side


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
    top, bottom, left, right = _digit_box(seen)
    columns = seen[top:bottom, left:right]
    edges = np.flatnonzero(np.diff(columns.any(axis=0).astype(np.int8), prepend=0, append=0))
    runs = list(zip(edges[::2], edges[1::2], strict=True))
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
    ink): the paper's light levelled, ruled lines removed. A blank page raises NoDigitFound."""
    pixels = gray.astype(np.float32)
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    if float(np.median(border)) < 128:  # light ink on dark paper: flip, so that paper is light as on a page
        pixels = 255 - pixels
    ink = _without_ruled_lines(ink_share(pixels))
    level = float(ink.max())
    if level < MIN_INK or not (ink > level * 0.25).any():
        raise NoDigitFound(f"{name}: no digit found (the image is blank)")
    return np.clip(ink / level, 0, 1) * 255


def mnist_frame(ink: np.ndarray, image_size: int = 28) -> np.ndarray:
    """A digit's ink, cropped to it, as MNIST's makers framed theirs: fitted in a 20×20 box (at 28×28)
    and centred by its centre of mass, uint8, 0 paper and 255 ink."""
    box = max(1, round(image_size * 20 / 28))
    scale = box / max(ink.shape)
    height, width = max(1, round(ink.shape[0] * scale)), max(1, round(ink.shape[1] * scale))
    digit = np.asarray(Image.fromarray(ink.astype(np.float32)).resize((width, height), Image.Resampling.LANCZOS))
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


def ink_share(pixels: np.ndarray) -> np.ndarray:
    """Light paper with dark ink (float, 0–255) -> how much of each pixel's light the ink took, 0 to 1.

    The paper's own brightness is estimated across the page as a smooth surface fitted to the
    pixels that are paper (a shadow, a lamp's falloff, a phone's vignette, a tint), and each
    pixel is divided by it: light multiplies, so ink in a shadow is as dark, next to the paper
    around it, as ink in the light.
    """
    paper = _paper_brightness(pixels)
    return np.clip(1 - pixels / np.maximum(paper, 1), 0, 1)


def _paper_brightness(pixels: np.ndarray, degree: int = 2, rounds: int = 3) -> np.ndarray:
    """A polynomial surface fitted to the paper on a coarse grid: from the brighter half of the
    points (paper, however much ink there is), then from every point the last fit calls paper."""
    height, width = pixels.shape
    rows = np.linspace(0, height - 1, min(height, PAPER_GRID)).round().astype(int)
    columns = np.linspace(0, width - 1, min(width, PAPER_GRID)).round().astype(int)
    values = pixels[np.ix_(rows, columns)].ravel().astype(np.float64)
    grid_y, grid_x = np.meshgrid(rows / height, columns / width, indexing="ij")
    terms = _surface_terms(grid_y.ravel(), grid_x.ravel(), degree)
    paper = values >= np.partition(values, len(values) // 2)[len(values) // 2]
    for _ in range(rounds):
        fitted = terms[paper]
        # least squares by the normal equations (a 6×6 solve; lstsq's SVD costs more), a touch of
        # ridge keeping it solvable when the paper is too few points to fix every term
        coefficients = np.linalg.solve(fitted.T @ fitted + 1e-6 * np.eye(len(fitted.T)), fitted.T @ values[paper])
        residual = values - terms @ coefficients
        noise = 1.25 * np.abs(residual[paper]).mean() + 1.0  # the paper's own noise, as a std
        brighter = residual > -3 * noise  # darker than that is ink, left out of the next fit
        if brighter.sum() < len(coefficients):  # too few points left to fit (a tiny image): keep the last
            break
        paper = brighter
    # evaluated as a sum over i of y^i times a polynomial in x: degree + 1 outer products
    y, x = np.arange(height, dtype=np.float32) / height, np.arange(width, dtype=np.float32) / width
    surface = np.zeros((height, width), dtype=np.float32)
    terms_done = 0
    for i in range(degree + 1):
        in_x = sum(c * x**j for j, c in enumerate(coefficients[terms_done : terms_done + degree + 1 - i]))
        surface += np.outer(y**i, in_x.astype(np.float32))
        terms_done += degree + 1 - i
    low, high = values[paper].min(), values[paper].max()  # no brighter or darker than any paper seen
    return np.clip(surface, low, high, out=surface)


def _surface_terms(y: np.ndarray, x: np.ndarray, degree: int) -> np.ndarray:
    """The polynomial's terms y^i x^j, i + j <= degree, one column each, in the order _paper_brightness uses."""
    return np.stack([y**i * x**j for i in range(degree + 1) for j in range(degree + 1 - i)], axis=1)


def _without_ruled_lines(ink: np.ndarray) -> np.ndarray:
    """Ink less the lines of ruled or squared paper: thin lines from edge to edge, two or more alike.

    A lone line is kept: it may be the digit's own stroke (a 1, or a 7's bar, in a tight crop).
    Where a stroke crosses a line, the ink on both sides of the line carries it across.
    """
    seen = ink > 0.25 * max(float(ink.max()), MIN_INK)
    for axis in (0, 1):  # 0: horizontal lines, as rows; 1: vertical lines, as columns
        length = ink.shape[axis]
        edges = np.diff((seen.mean(axis=1 - axis) > 0.9).astype(np.int8), prepend=0, append=0)
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        if len(starts) < 2 or (ends - starts).max() > max(3, 0.05 * length):
            continue
        ink = ink.copy()
        lined = ink if axis == 0 else ink.T  # a view: rows of `lined` are the lines
        for start, end in zip(starts, ends, strict=True):
            first, last = max(start - 1, 0), min(end + 1, length)
            above, below = lined[max(first - 2, 0)], lined[min(last + 1, length - 1)]
            lined[first:last] = np.minimum(lined[first:last], np.minimum(above, below))
    return ink


def _digit_box(mask: np.ndarray, keep: float = 0.05) -> tuple[int, int, int, int]:
    """The ink's bounding box, leaving out specks: ink cut off from the rest by blank rows or
    columns that holds under `keep` of the ink. Rows, then columns within them, then rows again."""
    top, bottom, left, right = 0, mask.shape[0], 0, mask.shape[1]
    for axis in (1, 0, 1):
        start, end = _main_span(mask[top:bottom, left:right].sum(axis=axis), keep)
        if axis == 1:
            top, bottom = top + start, top + end
        else:
            left, right = left + start, left + end
    return top, bottom, left, right


def _main_span(profile: np.ndarray, keep: float) -> tuple[int, int]:
    """First and last+1 index of the runs of ink in `profile` holding at least `keep` of it."""
    edges = np.flatnonzero(np.diff((profile > 0).astype(np.int8), prepend=0, append=0))
    starts, ends = edges[::2], edges[1::2]
    mass = np.add.reduceat(profile, starts)  # each run's sum: between runs the profile is 0
    big = (mass >= keep * mass.sum()) | (mass == mass.max())  # scattered ink: keep the most of it
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
    if isinstance(source, Path) and source.is_file() and source.stat().st_size == 0:
        raise DigitsError(f"{path}: empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the check below is stricter
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


def _on_paper(rgba: Image.Image) -> Image.Image:
    """Composite a transparent image onto white paper, or onto black when its ink is white."""
    on_white = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba).convert("L")
    if int(np.ptp(np.asarray(on_white))) >= MIN_CONTRAST:
        return on_white
    return Image.alpha_composite(Image.new("RGBA", rgba.size, "black"), rgba).convert("L")
