"""What each mark of a number's row is: a digit, a separator (. , - / :), or not a digit, told by a
small Linear+ReLU network in numpy from the mark seen in its row's frame.

A separator is known by its size and its place in the row as much as by its shape: a point sits on
the baseline and is a pen's width wide, a dash crosses the middle, a slash spans the row and more.
Blown up to fill 28×28, as a digit is framed, a point and a blot look alike. So each mark is framed
in its row's own box instead: the row (the digits' top line to their baseline) is ROW_PX high in
every frame, with half a row above and below it, and the frame is centred on the mark, so that its
size, its height in the row and its pen's width all stay as written. Four numbers say what a frame
may have cut off: the mark's width and height, and its top and bottom off the row's lines, each in
rows.

Alone, a mark may not say what it is: a slash leaning 25° is also a 1 in MNIST's hands. Its row
does: two of them splitting six digits 2/2/2 make a date. So a second network reads each mark's
answer again, beside the answers of the CONTEXT marks either side of it and the gaps between them.
Both networks (learn.mark_classifier's) learned from rows drawn at random, in the formats people
write (numbers, prices, dates, times, phone numbers ...): MNIST's digits, separators in many hands,
and things that are not digits (`digits train-marks`).
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
from .framing import Box
from .weights_file import read_weights

MARK_CLASSES = ("digit", ".", ",", "-", "/", ":", "not a digit")
ROW_PX = 16  # px: the row's height in a frame; a point a pen wide is 2 px at least there
FRAME_SIDE = 2 * ROW_PX  # px: half a row above and below it, and a row each way from the mark's centre
CONTEXT = 4  # marks either side of a mark that the second network sees
PLACE_LIMIT = 3.0  # rows: a mark's width, height and place are given up to this (a longer scribble is long)
SHIPPED_CLASSIFIER = Path(str(files("digits") / "pretrained" / "marks.safetensors"))  # configs/marks.toml's run
CLASSIFIER_VARIABLE = (
    "DIGITS_MARK_CLASSIFIER"  # names another classifier's weights, as `digits train-marks` writes them
)
WEIGHTS_KIND = "digits mark classifier"


@dataclass
class MarkClassifierFile:
    """A mark classifier's Linear layers, and what made them."""

    path: Path
    layers: list[tuple[np.ndarray, np.ndarray]]  # the first network's (weight, bias), in order
    context: list[tuple[np.ndarray, np.ndarray]]  # the second's
    config: str
    seed: int


def row_frame(ink: np.ndarray, box: Box, top_line: float, baseline: float) -> tuple[np.ndarray, np.ndarray]:
    """One mark in its row's frame: its ink (0–255, the mark alone, cut to its `box`) seen in a
    window two rows square, from half a row above the top line, centred on the mark, at FRAME_SIDE
    px a side (float32, 0–1); and where it lies in the row (width, height, top and bottom off the
    row's lines, in rows)."""
    left, top, right, bottom = box
    height = max(baseline - top_line, 1.0)
    side = max(1, round(2 * height))
    # the window, in the mark's own pixels; the paper round the mark is blank
    window_top, window_left = round(top_line - height / 2) - top, round((left + right) / 2 - height) - left
    window = np.zeros((side, side), np.float32)
    y0, x0 = max(window_top, 0), max(window_left, 0)
    y1, x1 = min(window_top + side, bottom - top), min(window_left + side, right - left)
    if y1 > y0 and x1 > x0:
        window[y0 - window_top : y1 - window_top, x0 - window_left : x1 - window_left] = ink[y0:y1, x0:x1]
    resample = Image.Resampling.BOX if side > FRAME_SIDE else Image.Resampling.BILINEAR
    frame = np.asarray(Image.fromarray(window).resize((FRAME_SIDE, FRAME_SIDE), resample)) / 255
    place = np.array(
        [(right - left) / height, (bottom - top) / height, (top - top_line) / height, (bottom - baseline) / height]
    )
    return frame.astype(np.float32), np.clip(place, -PLACE_LIMIT, PLACE_LIMIT).astype(np.float32)


def classifier_inputs(frames: np.ndarray, places: np.ndarray) -> np.ndarray:
    """Frames (N, FRAME_SIDE, FRAME_SIDE) and places (N, 4) -> the network's input rows (N, FRAME_SIDE² + 4)."""
    return np.concatenate([frames.reshape(len(frames), -1), places], axis=1).astype(np.float32)


def load_classifier() -> MarkClassifierFile:
    """The mark classifier's weights: those DIGITS_MARK_CLASSIFIER names, else the ones shipped with digits."""
    return _loaded(Path(os.environ.get(CLASSIFIER_VARIABLE) or SHIPPED_CLASSIFIER))


@cache
def _loaded(path: Path) -> MarkClassifierFile:
    tensors, metadata = read_weights(path, WEIGHTS_KIND, "mark classifier")
    layers, context = _layers(tensors, "layers"), _layers(tensors, "context")
    if not layers or not context:
        raise DigitsError(f"{path}: mark classifier weights lack their layers (layers.0.weight, context.0.weight ...)")
    if layers[0][0].shape[1] != FRAME_SIDE**2 + 4 or context[0][0].shape[1] != context_width():
        raise DigitsError(f"{path}: mark classifier weights are for another frame or context")
    return MarkClassifierFile(path, layers, context, metadata.get("config", ""), int(metadata.get("seed", "0")))


def _layers(tensors: dict[str, np.ndarray], prefix: str) -> list[tuple[np.ndarray, np.ndarray]]:
    layers, i = [], 0
    while f"{prefix}.{i}.weight" in tensors and f"{prefix}.{i}.bias" in tensors:
        layers.append((tensors[f"{prefix}.{i}.weight"], tensors[f"{prefix}.{i}.bias"]))
        i += 1
    return layers


def context_width() -> int:
    """The second network's inputs per mark: for it and CONTEXT marks either side, the first
    network's answers, whether there is a mark there, its gap from the mark before, and its place
    in the row (width, height, top and bottom)."""
    return (2 * CONTEXT + 1) * (len(MARK_CLASSES) + 6)


def context_inputs(probs: np.ndarray, inputs: np.ndarray, gaps: np.ndarray) -> np.ndarray:
    """One row's marks' answers from the first network (N, classes), their inputs to it (the
    last four are their places) and gaps (N,) -> the second network's input rows (N, context_width())."""
    present = np.ones((len(probs), 1))
    slots = np.concatenate([probs, present, gaps[:, None], inputs[:, -4:]], axis=1).astype(np.float32)
    padded = np.concatenate(
        [np.zeros((CONTEXT, slots.shape[1]), np.float32), slots, np.zeros((CONTEXT, slots.shape[1]), np.float32)]
    )
    return np.stack([padded[i : i + 2 * CONTEXT + 1].ravel() for i in range(len(probs))])


def mark_probabilities(
    inputs: np.ndarray, gaps: np.ndarray, classifier: MarkClassifierFile | None = None
) -> np.ndarray:
    """One row's marks, left to right, as the first network's input rows (classifier_inputs) and
    their gaps -> each mark's probability of each of MARK_CLASSES, read in its row."""
    classifier = classifier or load_classifier()
    alone = softmax(forward(classifier.layers, inputs))
    return softmax(forward(classifier.context, context_inputs(alone, inputs, gaps)))


def forward(layers: list[tuple[np.ndarray, np.ndarray]], x: np.ndarray) -> np.ndarray:
    """Linear layers with a ReLU between each two -> the last layer's scores."""
    for i, (weight, bias) in enumerate(layers):
        x = x @ weight.T + bias
        if i < len(layers) - 1:
            x = np.maximum(x, 0)
    return x


def softmax(scores: np.ndarray) -> np.ndarray:
    """Each row's scores as probabilities, shifted by its largest first, so that exp cannot overflow."""
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
