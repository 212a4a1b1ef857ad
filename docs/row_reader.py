"""Draws docs/row-reader.png: numbers whose digits touch, the strip the row reader reads, the
likeliest answer of each of its windows (the path), and the characters it collapses to, each with
its box; and examples/touching.png and touching-date.png, the first two of them. Run from the repository root:

    python docs/row_reader.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from digits.learn.mark_rows import digit, laid_out, separator
from digits.read.checkpoint import load_model_file
from digits.read.datasets import TEST_DIR, load_idx_dir
from digits.read.marks import find_ink
from digits.read.number import number_row
from digits.read.reading import read_number
from digits.read.row_reader import (
    ROW_CHARACTERS,
    ROW_PX,
    STRIDE,
    WINDOW,
    best_path,
    load_reader,
    probabilities,
    strip,
)

NUMBERS = ("4262", "30/11", "1907")
EXAMPLES = {"4262": "touching.png", "30/11": "touching-date.png"}  # for the README and docs/model.md
OVERLAP = 0.2  # of each digit's width, overlapping the next
HEIGHT = 48  # px: the digits' height in the pictures
ZOOM = 3  # the strip drawn this many times its size
WIDTH = 640  # px: the figure's width
BOX = (26, 86, 219)


def _row(text: str, rng: np.random.Generator, digits) -> tuple[np.ndarray, list]:
    """`text` written as a touching row: each digit the test set's next example of it."""
    glyphs, seen = [], {}
    for mark in text:
        if mark.isdigit():
            index = np.flatnonzero(digits.labels == int(mark))[seen.get(mark, 0)]
            seen[mark] = seen.get(mark, 0) + 1
            glyphs.append(digit(rng, digits.images[index], HEIGHT))
        else:
            glyphs.append(separator(rng, mark, HEIGHT, HEIGHT * 0.11))
    gaps = -np.round(np.array([g.shape[1] for g, _, _ in glyphs]) * OVERLAP).astype(int)
    return laid_out(rng, glyphs, HEIGHT, gaps)


def main() -> None:
    digits = load_idx_dir(TEST_DIR, "t10k")
    model, reader = load_model_file(None), load_reader()
    rng = np.random.default_rng(3)
    bands = []
    for text in NUMBERS:
        picture, _ = _row(text, rng, digits)
        if text in EXAMPLES:
            Image.fromarray(picture).save(Path("examples") / EXAMPLES[text])
        reading = read_number(model, text, picture)
        row = number_row(find_ink(picture))  # the row as `read` finds it: its marks, and its lines
        taken = sorted(row.in_row)
        framed = strip(row.shades[:, row.runs[taken[0]][0] : row.runs[taken[-1]][2]], row.top_line, row.baseline)
        probs = probabilities(reader, framed)
        characters = best_path(probs)
        shown = Image.fromarray(np.round(255 - 255 * framed).astype(np.uint8))
        shown = shown.resize((shown.width * ZOOM, shown.height * ZOOM), Image.Resampling.NEAREST).convert("RGB")
        height = picture.shape[0] + shown.height + 60
        band = Image.new("RGB", (WIDTH, height), "white")
        pen = ImageDraw.Draw(band)
        band.paste(Image.fromarray(picture).convert("RGB"), (6, 0))
        for mark in reading.digits:  # the boxes `read` gives
            left, top, right, bottom = mark.box
            pen.rectangle([6 + left, top, 6 + right - 1, bottom - 1], outline=BOX)
            pen.text((6 + left + 2, max(0, top - 11)), mark.text, fill=BOX)
        said = f"read: {reading.number}" + (f" (or {reading.runner_up})" if reading.runner_up else "")
        pen.text((picture.shape[1] + 20, picture.shape[0] // 2), said if reading.number else "read: no number", fill=0)
        top = picture.shape[0] + 4
        band.paste(shown, (6, top))
        # each window's likeliest answer, under its centre: a character, or · for blank (nothing new)
        likeliest = probs.argmax(axis=1)
        for t, k in enumerate(likeliest):
            x = 6 + (t * STRIDE + WINDOW / 2) * ZOOM
            shade = int(200 * (1 - probs[t, k]))
            label = "·" if k == 0 else ROW_CHARACTERS[k - 1]
            pen.text((x - 3, top + shown.height + 4), label, fill=(shade, shade, shade) if k == 0 else BOX)
        collapsed = "".join(c.text for c in characters)
        pen.text((6, top + shown.height + 22), f"windows' path collapsed: {collapsed}", fill=0)
        # the row's top line and baseline, as the strip places them
        for y in (top + (shown.height / ZOOM - ROW_PX) / 2 * ZOOM, top + (shown.height / ZOOM + ROW_PX) / 2 * ZOOM):
            pen.line([(6, y), (6 + shown.width, y)], fill=(230, 160, 160))
        bands.append(band)
    figure = Image.new("RGB", (WIDTH, sum(b.height for b in bands)), "white")
    y = 0
    for band in bands:
        figure.paste(band, (0, y))
        y += band.height
    figure.save(Path("docs/row-reader.png"))


if __name__ == "__main__":
    main()
