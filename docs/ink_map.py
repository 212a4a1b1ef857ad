"""Draws docs/ink-map.png: pictures, the ink finder's map of each (how likely each pixel is
handwriting), and the 28×28 the network then reads. Run from the repository root:

    python docs/ink_map.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from digits.learn.ink_pages import draw_page
from digits.read.datasets import TEST_DIR, load_idx_dir
from digits.read.ink import ink_probability
from digits.read.marks import WORK_SIDE, _working_copy
from digits.read.reader import load_model

TILE = 240  # px a side, each picture in the figure
SEEDS = (3, 12, 25)  # generated photos that show print, a table and colour beside the writing


def _tile(picture: np.ndarray) -> np.ndarray:
    image = Image.fromarray(picture).convert("RGB")
    image.thumbnail((TILE, TILE))
    tile = Image.new("RGB", (TILE, TILE), "white")
    tile.paste(image, ((TILE - image.width) // 2, (TILE - image.height) // 2))
    return np.asarray(tile)


def main() -> None:
    reader = load_model()
    digits = load_idx_dir(TEST_DIR, "t10k")
    pictures = [np.asarray(Image.open("examples/2026.png").convert("RGB"))]
    for i, seed in enumerate(SEEDS):
        page, _ = draw_page(
            np.random.default_rng(seed), digits.images[i : i + 1], 480, on=frozenset(["text"]), blank=False
        )
        pictures.append(page)
    rows = []
    for picture in pictures:
        work, _ = _working_copy(picture, WORK_SIDE)
        ink = np.round(ink_probability(work) * 255).astype(np.uint8)
        seen = np.asarray(Image.fromarray(reader.pixels(picture)).resize((TILE, TILE), Image.Resampling.NEAREST))
        rows.append(np.concatenate([_tile(picture), _tile(255 - ink), _tile(255 - seen)], axis=1))
    figure = Image.fromarray(np.concatenate(rows, axis=0))
    pen = ImageDraw.Draw(figure)
    for column, title in enumerate(("the picture", "the ink finder's map", "what the network reads")):
        pen.text((column * TILE + 6, 4), title, fill=(200, 30, 30))
    figure.save(Path("docs/ink-map.png"), optimize=True)


if __name__ == "__main__":
    main()
