"""The digit on a page -> the pixel matrix the model reads, framed as MNIST's makers framed theirs.

They cropped each digit to its ink, scaled it into a 20×20 box and centred it by its centre of
mass in a 28×28 frame. Photos and scans must go through the same steps, or a model trained on
MNIST sees something it has never seen. Finding the ink is marks.py's job, and telling one digit
from several number.py's; this is the framing.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

STROKE_AT_LEAST = 2.8  # px at 28×28: thinner strokes are widened to this (a quarter of MNIST's are thinner)


Box = tuple[int, int, int, int]  # (left, top, right, bottom)


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


def stroke_width(seen: np.ndarray) -> float:
    """The strokes' width in pixels, of a mask of ink: twice its area over its outline."""
    seen = seen.copy()
    # pinholes filled first (grainy chalk, pencil on rough paper): they are not the strokes' edges
    seen[1:-1, 1:-1] |= (seen[:-2, 1:-1] & seen[2:, 1:-1]) | (seen[1:-1, :-2] & seen[1:-1, 2:])
    area = np.count_nonzero(seen)
    inner = seen[1:-1, 1:-1] & seen[:-2, 1:-1] & seen[2:, 1:-1] & seen[1:-1, :-2] & seen[1:-1, 2:]
    return 2 * area / max(area - np.count_nonzero(inner), 1)


def _thickened(ink: np.ndarray, at_least: float) -> np.ndarray:
    """The ink with strokes widened to `at_least` pixels where they are thinner (a sharp pencil, a
    fine pen on a large page): shrunk to 20×20 they would be fainter and thinner than any MNIST
    writer's."""
    seen = ink > 64
    grow = round(at_least - stroke_width(seen))
    if not seen.any() or grow < 1:
        return ink
    # a maximum over grow + 1 pixels each way, the ink padded so that no stroke is cut at the crop's edge
    wide = ndimage.maximum_filter(np.pad(ink, grow), size=grow + 1)
    first = (grow + 1) // 2  # where a window starting at the padding's first pixel is centred
    return wide[first : first + ink.shape[0] + grow, first : first + ink.shape[1] + grow]
