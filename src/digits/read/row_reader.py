"""A piece of a number's row -> the characters written in it, read with no cuts: a row reader
trained with CTC (Graves et al. 2006; Shi, Bai and Yao 2015's CRNN), in numpy.

Digits written in a hurry touch: two or three of them are one piece of ink, which the digit model
rightly calls no digit, and no gap says where to cut it. The row reader does not cut. The piece is
framed as a strip, the row (its digits' top line to their baseline) ROW_PX high, and the same
Linear+ReLU layer reads every WINDOW-wide window along it, STRIDE px apart; later layers read each
window's answers beside its neighbours', and a last one gives, at every window, the probability
of each character and of "blank" (nothing new here). The characters are the windows' likeliest
answers, repeats and blanks collapsed (best-path decoding): "1 1 blank 2 2" reads "12". Each
character's place is the windows that gave it, so it keeps a box (touching.py), and boxes may overlap.

The reader learned from rows of MNIST's training digits drawn at random, from 0.4 of a row apart
to overlapping by a third of a digit, with separators in many hands and things that are no digit
(learn.row_reader, `digits train-rows`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import DigitsError
from .weights_file import read_weights

# what the reader writes, after "blank" (class 0): digits, separators, and "?" for a mark that is none
ROW_CHARACTERS = "0123456789.,-/:?"
ROW_PX = 20  # px: the row's height in a strip, as MNIST's digits are 20 px high in their 28
ABOVE = 6  # px above the top line and below the baseline: a digit standing high, a comma's tail
STRIP_HEIGHT = ROW_PX + 2 * ABOVE
WINDOW = 28  # px: a window is 1.4 rows wide, a digit and the edges of its neighbours
STRIDE = 2  # px between windows: a digit 10–20 px wide is seen by 5–10 of them
PAD = ROW_PX  # px of paper each side of a strip: a row's digits are read beside paper, as they learned them
SHIPPED_READER = Path(str(files("digits") / "pretrained" / "rows.safetensors"))  # configs/rows.toml's run
READER_VARIABLE = "DIGITS_ROW_READER"  # names another reader's weights, as `digits train-rows` writes them
WEIGHTS_KIND = "digits row reader"


@dataclass
class RowReaderFile:
    """The row reader's layers, and what made them."""

    path: Path
    windows: tuple[np.ndarray, np.ndarray]  # (hidden, STRIP_HEIGHT * WINDOW), (hidden,): each window alone
    # each (units, units before, k), (units,): a window's answers beside k-1 neighbours', one layer after another
    neighbours: list[tuple[np.ndarray, np.ndarray]]
    characters: tuple[np.ndarray, np.ndarray]  # (classes, hidden2), (classes,)
    config: str
    seed: int


@dataclass
class Character:
    """One character the reader wrote, the windows that wrote it, and how sure it is."""

    text: str  # a digit, a separator, or "?"
    first: int  # the first and last window (their index along the strip) whose likeliest answer it is
    last: int
    confidence: float  # the likeliest of its windows' probability of it
    second: str  # the character next likeliest at that window, blank aside
    second_probability: float


def strip(ink: np.ndarray, top_line: float, baseline: float) -> np.ndarray:
    """A piece of a row, its ink 0–255 (H, W), and its row's lines in its own rows -> the strip the reader
    reads (STRIP_HEIGHT, width), 0–1: the row ROW_PX high from ABOVE px down, PAD px of paper each side."""
    scale = ROW_PX / max(baseline - top_line, 1.0)
    width = max(1, round(ink.shape[1] * scale))
    top = round(top_line - ABOVE / scale)
    bottom = top + round(STRIP_HEIGHT / scale)
    band = np.zeros((max(bottom - top, 1), ink.shape[1]), np.float32)
    y0, y1 = max(top, 0), min(bottom, ink.shape[0])
    if y1 > y0:
        band[y0 - top : y1 - top] = ink[y0:y1]
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    scaled = np.asarray(Image.fromarray(band).resize((width, STRIP_HEIGHT), resample), np.float32) / 255
    return np.pad(np.clip(scaled, 0, 1), ((0, 0), (PAD, PAD)))


def window_count(width: int) -> int:
    """How many windows a strip `width` px wide has."""
    return max(0, (width - WINDOW) // STRIDE + 1)


def window_centre(index: float, scale: float) -> float:
    """Where window `index` is centred, in the piece's own columns (`scale`: strip px per piece px)."""
    return (index * STRIDE + WINDOW / 2 - PAD) / scale


def probabilities(reader: RowReaderFile, strip_: np.ndarray) -> np.ndarray:
    """A strip -> each window's probabilities of blank and each of ROW_CHARACTERS (windows, classes)."""
    windows = np.lib.stride_tricks.sliding_window_view(strip_, WINDOW, axis=1)[:, ::STRIDE]
    x = windows.transpose(1, 0, 2).reshape(windows.shape[1], -1)
    weight, bias = reader.windows
    hidden = np.maximum(x @ weight.T + bias, 0)
    for weight, bias in reader.neighbours:
        k = weight.shape[2]
        padded = np.pad(hidden, ((k // 2, k // 2), (0, 0)))
        near = np.lib.stride_tricks.sliding_window_view(padded, k, axis=0)  # (windows, units, k)
        hidden = np.maximum(np.einsum("thk,ohk->to", near, weight) + bias, 0)
    weight, bias = reader.characters
    scores = hidden @ weight.T + bias
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def best_path(probs: np.ndarray) -> list[Character]:
    """The characters of the windows' likeliest answers, repeats and blanks collapsed."""
    likeliest = probs.argmax(axis=1)
    characters: list[Character] = []
    previous = 0
    for t, k in enumerate(likeliest.tolist()):
        if k != 0 and k == previous:
            characters[-1].last = t
            if probs[t, k] > characters[-1].confidence:
                characters[-1] = _at(probs, t, k, characters[-1].first)
        elif k != 0:
            characters.append(_at(probs, t, k, t))
        previous = k
    return characters


def _at(probs: np.ndarray, t: int, k: int, first: int) -> Character:
    others = probs[t].copy()
    others[[0, k]] = 0
    second = int(others.argmax())
    return Character(
        ROW_CHARACTERS[k - 1], first, t, float(probs[t, k]), ROW_CHARACTERS[second - 1], float(others[second])
    )


def load_reader() -> RowReaderFile:
    """The row reader's weights: those DIGITS_ROW_READER names, else the ones shipped with digits."""
    return _loaded(Path(os.environ.get(READER_VARIABLE) or SHIPPED_READER))


@cache
def _loaded(path: Path) -> RowReaderFile:
    tensors, metadata = read_weights(path, WEIGHTS_KIND, "row reader")
    neighbours, i = [], 0
    while f"neighbours.{i}.weight" in tensors and f"neighbours.{i}.bias" in tensors:
        neighbours.append((tensors[f"neighbours.{i}.weight"], tensors[f"neighbours.{i}.bias"]))
        i += 1
    try:
        windows, characters = (
            (tensors[f"{name}.weight"], tensors[f"{name}.bias"]) for name in ("windows", "characters")
        )
    except KeyError as e:
        raise DigitsError(f"{path}: row reader weights lack {e.args[0]}") from None
    if (
        not neighbours
        or windows[0].shape[1] != STRIP_HEIGHT * WINDOW
        or characters[0].shape[0] != len(ROW_CHARACTERS) + 1
    ):
        raise DigitsError(f"{path}: row reader weights are for another strip or other characters")
    return RowReaderFile(
        path, windows, neighbours, characters, metadata.get("config", ""), int(metadata.get("seed", "0"))
    )
