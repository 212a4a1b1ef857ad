"""Image files -> colours: any format Pillow reads, turned by its EXIF tag, transparency put on
paper, and a phone's photo of tens of megapixels decoded reduced (a JPEG at up to an eighth of its
size a side, which is far quicker), since a digit needs no more than a couple of thousand pixels a side.
"""

from __future__ import annotations

import math
import stat
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import ExifTags, Image, ImageOps

from ..errors import DigitsError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pnm")
# decoded pixels: a picture of 250 megapixels takes 750 MB as colours, what a laptop spares; a JPEG is decoded reduced first, so only its reduced size counts
MAX_PIXELS = 250_000_000
READ_SIDE = 2560  # px: a larger picture is decoded reduced (a JPEG) or shrunk, to at least this a side
MIN_CONTRAST = 32  # a transparent image's ink must stand this far (of 255) from white to be seen on it
# The limit is ours, checked from the header before decoding (_opened): Pillow's own, at twice its
# limit, would refuse a picture in other words, naming another number
Image.MAX_IMAGE_PIXELS = None


class ImageTooLarge(DigitsError):
    """The image decodes to more pixels than a limit: MAX_PIXELS, or the caller's."""

    def __init__(self, path: object, width: int, height: int, limit: int) -> None:
        super().__init__(
            f"{path}: image is {width}×{height} pixels, over the {limit:,} pixels that fit in memory to decode; "
            f"shrink it (a digit needs no more than 2,000 pixels a side)"
        )
        self.width, self.height, self.limit = width, height, limit


def list_images(path: Path) -> list[Path]:
    """The image files in a directory and its subfolders (sorted), or the path itself when it is a file."""
    path = Path(path)
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    return [path]


def colours(image: Image.Image) -> np.ndarray:
    """Any Pillow image as uint8 colours (H, W, 3): turned by its EXIF tag, transparency put on
    paper, 16-bit and float modes stretched to 0–255 grey."""
    if image.getexif().get(ExifTags.Base.Orientation, 1) != 1:  # a phone's photo, taken turned
        image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        image = _on_paper(image.convert("RGBA"))
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        wide = np.asarray(image, dtype=np.float64)
        span = max(wide.max() - wide.min(), 1e-9)
        return np.repeat(((wide - wide.min()) / span * 255).astype(np.uint8)[..., None], 3, axis=2)
    return np.asarray(image.convert("RGB"))


def open_colours(source: Path | BinaryIO, name: str | None = None) -> np.ndarray:
    """An image file (a path, or a file object called `name` in messages) as uint8 colours (H, W, 3)."""
    with _opened(source, name) as image:
        picture = colours(image)
    factor = max(picture.shape[:2]) // READ_SIDE
    if factor >= 2:  # shrunk by whole blocks of pixels, averaged
        picture = np.asarray(Image.fromarray(picture).reduce(factor))
    return picture


def decoded_size(source: Path | BinaryIO, name: str | None = None, max_pixels: int = MAX_PIXELS) -> tuple[int, int]:
    """The width and height open_colours would decode the image at (a large JPEG reduced), read from
    its header alone: nothing is decoded. Over `max_pixels`, ImageTooLarge."""
    with _opened(source, name, max_pixels) as image:
        return image.size


@contextmanager
def _opened(source: Path | BinaryIO, name: str | None, max_pixels: int = MAX_PIXELS) -> Iterator[Image.Image]:
    """The image opened, its header read and nothing decoded yet, to be decoded at its draft size: a
    JPEG decodes at 1/2, 1/4 or 1/8 of its size, as much quicker, the smallest still READ_SIDE a side.
    A picture over `max_pixels` is refused, before decoding; what fails while decoding it in the `with`
    block is said as a failure to open it is."""
    path = name or source  # what messages call it
    try:
        if isinstance(source, Path) and _empty_file(source):
            raise DigitsError(f"{path}: empty file (0 bytes)")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's, about a corrupt EXIF tag: the picture reads as it is
            with Image.open(source) as image:
                image.draft("RGB", _at_least_read_side(image.size))
                if image.width * image.height > max_pixels:  # known from the header, before decoding
                    raise ImageTooLarge(path, image.width, image.height, max_pixels)
                yield image
    except FileNotFoundError:
        raise DigitsError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DigitsError(f"{path}: is a directory with no images") from None
    except PermissionError:
        raise DigitsError(f"{path}: permission denied") from None
    except Image.UnidentifiedImageError:
        raise DigitsError(f"{path}: not a picture digits can read (PNG, JPEG, GIF, BMP, TIFF, WebP…)") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise DigitsError(f"{path}: cannot decode image ({e})") from None


def _at_least_read_side(size: tuple[int, int]) -> tuple[int, int]:
    """The size scaled down to READ_SIDE on its long side, or as it is where it is smaller."""
    scale = min(1.0, READ_SIDE / max(size))
    return math.ceil(size[0] * scale), math.ceil(size[1] * scale)


def _empty_file(path: Path) -> bool:
    """A regular file of 0 bytes (a pipe or a device has no size until read)."""
    status = path.stat()
    return stat.S_ISREG(status.st_mode) and status.st_size == 0


def _on_paper(rgba: Image.Image) -> Image.Image:
    """Composite a transparent image onto white paper, or onto black when its ink is white."""
    on_white = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba).convert("RGB")
    if int(np.ptp(np.asarray(on_white))) >= MIN_CONTRAST:
        return on_white
    return Image.alpha_composite(Image.new("RGBA", rgba.size, "black"), rgba).convert("RGB")
