"""What the network does with one digit, for the page: every layer's activations, the scores
before softmax, the paths that carried most of the answer, any unit traced to what feeds it and
what it feeds, and the first layer's weights as image_size × image_size tiles. numpy and Pillow.

The page draws a cell per unit lit by its activation, lines along the paths, and shows a unit's
tile (its 784 incoming weights, as a picture) and its trace when a person points at it; the
tiles travel once, as one PNG. A unit's contribution to the next layer is its activation times
the weight between them: the part of the next unit's sum that came through that link.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..read.checkpoint import ModelFile
from ..read.datasets import normalize
from ..read.forward import activations
from ..read.results import Result

TOP_UNITS = 8  # first-layer units shown as tiles beside the answer: a row of them fits a phone
PATH_UNITS = 4  # per layer, the units on the paths that carried most of the answer: lines a person can follow
TRACED = 6  # a traced unit's strongest links in and out: what a short list beside the grid holds
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
    # links that carried most of the top score, from the outputs back: [layer, unit, next layer's unit,
    # contribution], layers numbered from 1, the outputs the layer after the last hidden one
    paths: list[list[float]]


def network_activity(model: ModelFile, pixels: np.ndarray, top: int = TOP_UNITS) -> NetworkActivity:
    """Every layer's output for one digit's pixels (image_size, image_size), as the reading computed it."""
    computed = [layer[0] for layer in activations(model, pixels[None])]
    hidden = computed[:-1]
    layers = [LayerActivity(len(a), int((a > 0).sum()), np.round(a, 3).tolist()) for a in hidden]
    first = computed[0]
    top_units = [int(u) for u in np.argsort(-first, kind="stable")[:top] if first[u] > 0 or not hidden]
    return NetworkActivity(layers, np.round(computed[-1], 3).tolist(), top_units, _paths(model, computed))


def _paths(model: ModelFile, computed: list[np.ndarray]) -> list[list[float]]:
    """From the top score back to the first hidden layer: into each unit on a path, the PATH_UNITS links that
    brought it the most (activation × weight), and of their sources the PATH_UNITS that brought the most in all."""
    links: list[list[float]] = []
    targets = {int(np.argmax(computed[-1])): 1.0}
    for layer in range(len(computed) - 1, 0, -1):  # into `layer` (0-based: the outputs last) from layer - 1
        sent = computed[layer - 1][None, :] * model.weights[layer][list(targets)]  # (targets, sources)
        carried: dict[int, float] = {}
        for row, target in zip(sent, targets, strict=True):
            for source in np.argsort(-row, kind="stable")[:PATH_UNITS]:
                if row[source] > 0:
                    links.append([layer, int(source), target, round(float(row[source]), 3)])
                    carried[int(source)] = carried.get(int(source), 0.0) + float(row[source])
        kept = sorted(carried, key=lambda unit: -carried[unit])[:PATH_UNITS]
        links = [link for link in links if link[0] != layer or link[1] in kept]
        targets = {unit: carried[unit] for unit in kept}
    return links


@dataclass
class Link:
    unit: int  # the unit at the other end: a pixel's index for the first layer's inputs, a class's for the outputs
    weight: float
    contribution: float  # the source's activation (or standardized pixel) times the weight, for this drawing


@dataclass
class UnitTrace(Result):
    """One unit laid open for one drawing: its sum and activation, what feeds it and what it feeds."""

    layer: int  # 1 for the first hidden layer; len(hidden) + 1 for the outputs
    unit: int
    total: float  # the weighted sum plus bias, before ReLU (a score, for an output)
    activation: float  # after ReLU (the score itself, for an output)
    fed_by: list[Link]  # the TRACED links in that contribute the most, either way
    feeds: list[Link]  # the TRACED links out with the largest weights, either way (none from an output)


def unit_trace(model: ModelFile, pixels: np.ndarray, layer: int, unit: int) -> UnitTrace:
    """What feeds `unit` of `layer` (numbered from 1; the outputs after the hidden layers) and what it feeds,
    for one digit's pixels. ValueError names what is out of range."""
    sizes = model.layer_sizes
    if not 1 <= layer < len(sizes):
        raise ValueError(f"layer {layer} is not one of this network's, 1 to {len(sizes) - 1} (the outputs)")
    if not 0 <= unit < sizes[layer]:
        raise ValueError(f"unit {unit} is not one of layer {layer}'s, 0 to {sizes[layer] - 1}")
    computed = [values[0] for values in activations(model, pixels[None])]
    inputs = normalize(pixels[None], model.mean, model.std)[0].reshape(-1) if layer == 1 else computed[layer - 2]
    weights = model.weights[layer - 1][unit]
    sent = inputs * weights
    fed_by = [Link(int(i), round(float(weights[i]), 4), round(float(sent[i]), 4)) for i in _strongest(sent)]
    feeds = []
    if layer < len(sizes) - 1:
        out = model.weights[layer][:, unit]
        value = computed[layer - 1][unit]
        feeds = [Link(int(i), round(float(out[i]), 4), round(float(value * out[i]), 4)) for i in _strongest(out)]
    total = float(sent.sum() + model.biases[layer - 1][unit])
    return UnitTrace(layer, unit, round(total, 4), round(float(computed[layer - 1][unit]), 4), fed_by, feeds)


def _strongest(values: np.ndarray) -> list[int]:
    return [int(i) for i in np.argsort(-np.abs(values), kind="stable")[:TRACED]]


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
