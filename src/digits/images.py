"""A person's image file -> the pixel matrix the model reads: 0 is paper, 255 is ink.

MNIST's makers cropped each digit to its ink, scaled it into a 20×20 box and centred it by
its centre of mass in a 28×28 frame. Photos and scans must go through the same steps, or a
model trained on MNIST sees something it has never seen. Only numpy and Pillow here, so
that predicting never imports torch.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from .errors import DigitsError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pnm")
MAX_PIXELS = 40_000_000  # refuse before decoding: a 40-megapixel grayscale page is ~40 MB
MIN_CONTRAST = 32  # ink must stand this far (of 255) from the paper, or the page is blank


class NoDigitFound(DigitsError):
    """The image holds no ink: a blank page."""


def read_digit_image(path: Path, image_size: int = 28) -> np.ndarray:
    """Read any image Pillow reads and return it as an image_size × image_size uint8 matrix."""
    gray = _open_grayscale(Path(path))
    return normalize_digit(gray, image_size, name=str(path))


def normalize_digit(gray: np.ndarray, image_size: int = 28, name: str = "image") -> np.ndarray:
    """Grayscale pixels of any size and polarity -> a centred MNIST-style digit (0 paper, 255 ink)."""
    pixels = gray.astype(np.float32)
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    paper = float(np.median(border))
    if paper > 127:  # dark ink on light paper: flip so ink is the bright part, as in MNIST
        pixels, paper = 255 - pixels, 255 - paper
    pixels = _flatten_paper(pixels, paper)
    ink_level = float(pixels.max())
    if ink_level - paper < MIN_CONTRAST:
        raise NoDigitFound(f"{name}: no digit found (the image is blank)")
    ink = np.clip((pixels - paper) / (ink_level - paper), 0, 1) * 255

    mask = ink > 255 * 0.25
    if not mask.any():  # only faint marks once the paper is levelled
        raise NoDigitFound(f"{name}: no digit found (the image is blank)")
    top, bottom, left, right = _digit_box(mask)
    ink = ink[top:bottom, left:right]

    box = max(1, round(image_size * 20 / 28))
    scale = box / max(ink.shape)
    height, width = max(1, round(ink.shape[0] * scale)), max(1, round(ink.shape[1] * scale))
    digit = np.asarray(Image.fromarray(ink).resize((width, height), Image.Resampling.LANCZOS))
    digit = np.clip(digit, 0, 255)

    row_mass, column_mass = digit.sum(axis=1), digit.sum(axis=0)
    total = row_mass.sum()
    centre_y = row_mass @ np.arange(height) / total
    centre_x = column_mass @ np.arange(width) / total
    top = round(image_size / 2 - centre_y)
    left = round(image_size / 2 - centre_x)
    top = min(max(top, 0), image_size - height)
    left = min(max(left, 0), image_size - width)
    frame = np.zeros((image_size, image_size), dtype=np.float32)
    frame[top : top + height, left : left + width] = digit
    return np.round(frame).astype(np.uint8)


def _flatten_paper(pixels: np.ndarray, paper: float) -> np.ndarray:
    """Paper that is not one level (a shadow, a lamp's falloff, ruled lines) made one level.

    Each column's, then each row's, 10th-percentile level above the paper is subtracted;
    a row or column darker than half the ink's contrast is the digit's own bar, left alone.
    """
    contrast = pixels.max() - paper
    for axis in (0, 1):
        # the level of a column needs no more than 64 of its pixels (and of a row, the same)
        step = max(1, pixels.shape[axis] // 64)
        sample = pixels[::step] if axis == 0 else pixels[:, ::step]
        tenth = sample.shape[axis] // 10
        level = np.partition(sample, tenth, axis=axis).take([tenth], axis=axis) - paper
        if (level > 0).any():
            pixels = pixels - np.where((level > 0) & (level < 0.5 * contrast), level, 0)
    return pixels


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
    """The image files in a directory (sorted), or the path itself when it is a file."""
    path = Path(path)
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    return [path]


def _open_grayscale(path: Path) -> np.ndarray:
    if path.is_file() and path.stat().st_size == 0:
        raise DigitsError(f"{path}: empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the check below is stricter
            with Image.open(path) as image:
                if image.width * image.height > MAX_PIXELS:  # known from the header, before decoding
                    raise DigitsError(
                        f"{path}: image is {image.width}×{image.height} pixels, over the limit of {MAX_PIXELS:,} pixels"
                    )
                image = ImageOps.exif_transpose(image)
                if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
                    image = _on_paper(image.convert("RGBA"))
                if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
                    wide = np.asarray(image, dtype=np.float64)
                    span = max(wide.max() - wide.min(), 1e-9)
                    return ((wide - wide.min()) / span * 255).astype(np.uint8)
                return np.asarray(image.convert("L"))
    except FileNotFoundError:
        raise DigitsError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DigitsError(f"{path}: is a directory with no images") from None
    except PermissionError:
        raise DigitsError(f"{path}: permission denied") from None
    except Image.DecompressionBombError:
        raise DigitsError(f"{path}: image is over the limit of {MAX_PIXELS:,} pixels") from None
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
