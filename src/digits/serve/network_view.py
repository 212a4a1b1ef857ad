"""What the network does with one digit, for the page: every layer's activations, the scores
before softmax, and the first layer's weights as image_size × image_size tiles. numpy and Pillow.

The page draws a cell per unit lit by its activation, and shows a unit's tile (its 784 incoming
weights, as a picture) when a person points at it; the tiles travel once, as one PNG.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..read.checkpoint import ModelFile
from ..read.forward import activations
from ..read.results import Result

TOP_UNITS = 8  # first-layer units shown as tiles beside the answer: a row of them fits a phone
# RdBu's ends, as `digits info --weights` draws them: red for a negative weight, blue for a positive
NEGATIVE = np.array([178, 24, 43], np.float32)
POSITIVE = np.array([33, 102, 172], np.float32)
PAPER = np.array([247, 247, 247], np.float32)


@dataclass
class LayerActivity:
    units: int
    fired: int  # ReLUs that let something through (output > 0)
    activations: list[float]  # each unit's output after ReLU, rounded for the wire


@dataclass
class NetworkActivity(Result):
    """A forward pass laid open: the hidden layers, then the scores the softmax turns into probabilities."""

    layers: list[LayerActivity]  # hidden layers, first first
    scores: list[float]  # the last layer's activations: one per class, before softmax
    # first-layer units with the largest activation, largest first: hidden units that fired, or for
    # a linear classifier (no hidden layer) its classes, whose tiles are the class templates
    top_units: list[int]


def network_activity(model: ModelFile, pixels: np.ndarray, top: int = TOP_UNITS) -> NetworkActivity:
    """Every layer's output for one digit's pixels (image_size, image_size), as the reading computed it."""
    computed = [layer[0] for layer in activations(model, pixels[None])]
    hidden = computed[:-1]
    layers = [LayerActivity(len(a), int((a > 0).sum()), np.round(a, 3).tolist()) for a in hidden]
    first = computed[0]
    top_units = [int(u) for u in np.argsort(-first, kind="stable")[:top] if first[u] > 0 or not hidden]
    return NetworkActivity(layers, np.round(computed[-1], 3).tolist(), top_units)


def tile_columns(units: int) -> int:
    """How many tiles a row of weight_tiles holds: as many as its rows, near enough."""
    return math.ceil(math.sqrt(units))


def weight_tiles(model: ModelFile) -> bytes:
    """The first layer's weights as one PNG of tiles, unit by unit in rows of tile_columns: red
    negative, blue positive, each tile on its own symmetric scale so that its pattern shows."""
    size = model.image_size
    first = model.weights[0].reshape(-1, size, size)
    columns = tile_columns(len(first))
    rows = -(-len(first) // columns)
    scale = np.abs(first).max(axis=(1, 2), keepdims=True)
    signed = first / np.where(scale > 0, scale, 1.0)  # -1 to 1
    strength = np.abs(signed)[..., None]
    ends = np.where(signed[..., None] < 0, NEGATIVE, POSITIVE)
    tiles = PAPER + (ends - PAPER) * strength
    sheet = np.full((rows * size, columns * size, 3), PAPER, np.float32)
    for unit, tile in enumerate(tiles):
        row, column = divmod(unit, columns)
        sheet[row * size : (row + 1) * size, column * size : (column + 1) * size] = tile
    png = io.BytesIO()
    Image.fromarray(np.round(sheet).astype(np.uint8)).save(png, "PNG")
    return png.getvalue()
