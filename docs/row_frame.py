"""Draws docs/row-frame.png: numbers with separators, and each of their marks as the mark classifier
sees it, in its row's frame, with what the classifier answers. Run from the repository root:

    python docs/row_frame.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from digits.learn.mark_rows import digit, laid_out, separator
from digits.read.datasets import TEST_DIR, load_idx_dir
from digits.read.mark_kinds import FRAME_SIDE, MARK_CLASSES, mark_probabilities
from digits.read.marks import find_ink
from digits.read.number import number_row, row_gaps, row_inputs

NUMBERS = ("12.50", "3,75", "30/11/26", "12:45")
HEIGHT = 48  # px: the digits' height in the pictures
TILE = 2 * FRAME_SIDE  # px: each frame drawn twice its size
WIDTH = 640  # px: the figure's width


def _row(text: str, rng: np.random.Generator, digits) -> np.ndarray:
    """`text` written as a row: each digit the test set's next example of it, separators drawn by hand."""
    glyphs, seen = [], {}
    for mark in text:
        if mark.isdigit():
            which = np.flatnonzero(digits.labels == int(mark))
            index = which[seen.get(mark, 0)]
            seen[mark] = seen.get(mark, 0) + 1
            glyphs.append(digit(rng, digits.images[index], HEIGHT))
        else:
            glyphs.append(separator(rng, mark, HEIGHT, HEIGHT * 0.11))
    picture, _ = laid_out(rng, glyphs, HEIGHT)
    return picture


def main() -> None:
    digits = load_idx_dir(TEST_DIR, "t10k")
    rng = np.random.default_rng(1)
    parts = []
    for text in NUMBERS:
        picture = _row(text, rng, digits)
        row = number_row(find_ink(picture))
        taken = sorted(row.in_row)
        inputs = row_inputs(row, taken)
        kinds = mark_probabilities(inputs, row_gaps(row, taken))
        band = Image.new("RGB", (WIDTH, picture.shape[0] + TILE + 30), "white")
        band.paste(Image.fromarray(picture).convert("RGB"), (6, 0))
        pen = ImageDraw.Draw(band)
        for k, (frame, odds) in enumerate(zip(inputs[:, : FRAME_SIDE**2], kinds, strict=True)):
            tile = Image.fromarray(np.round(255 - 255 * frame.reshape(FRAME_SIDE, FRAME_SIDE)).astype(np.uint8))
            left, top = 6 + k * (TILE + 8), picture.shape[0] + 4
            band.paste(tile.resize((TILE, TILE), Image.Resampling.NEAREST).convert("RGB"), (left, top))
            pen.rectangle([left, top, left + TILE - 1, top + TILE - 1], outline=(190, 190, 190))
            # the row's top line and baseline, as the frame places them
            for y in (TILE / 4, 3 * TILE / 4):
                pen.line([(left, top + y), (left + TILE - 1, top + y)], fill=(120, 160, 230))
            answer = MARK_CLASSES[int(np.argmax(odds))]
            pen.text((left + 2, top + TILE + 2), f"{answer} {odds.max():.0%}", fill=(200, 30, 30))
        parts.append(np.asarray(band))
    Image.fromarray(np.concatenate(parts, axis=0)).save(Path("docs/row-frame.png"), optimize=True)


if __name__ == "__main__":
    main()
