"""The ink finder's forward pass in numpy: a picture's colours -> the probability, at each pixel,
that it is handwritten ink (not paper, shadow, table, printed lines or printed text).

The network is learn.ink_finder's, trained on pages drawn at random; its weights ship in the package
with batch norm folded into each convolution. A 3×3 convolution is nine matrix products, one for
each tap of the 3×3 window: the same Linear layer applied at every pixel to its neighbourhood.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path

import numpy as np

from ..errors import DigitsError
from .weights_file import read_weights

SHIPPED_FINDER = Path(str(files("digits") / "pretrained" / "ink.safetensors"))  # configs/ink.toml's run
FINDER_VARIABLE = "DIGITS_INK_FINDER"  # names another finder's weights, as `digits train-ink` writes them
WEIGHTS_KIND = "digits ink finder"
# the convolutions, in the order they run: name -> (stride, dilation)
LAYERS = {
    "full": (1, 1),
    "half1": (2, 1),
    "half2": (1, 1),
    "quarter1": (2, 1),
    "quarter2": (1, 2),
    "quarter3": (1, 4),
    "quarter4": (1, 8),
    "up_half1": (1, 1),
    "up_half2": (1, 1),
    "up_full": (1, 1),
    "out": (1, 1),
}
# of the light, 0–1: a picture whose colours vary less than this is scaled as if they varied this
# much, so that a blank page's grain and JPEG's noise are not stretched into something that looks like ink
LEAST_SPREAD = 0.05


@dataclass
class InkFinderFile:
    """A finder's folded weights, and what made them."""

    path: Path
    tensors: dict[str, np.ndarray]
    config: str
    seed: int


def normalized(colours: np.ndarray) -> np.ndarray:
    """uint8 colours (..., H, W, 3) -> float32, each picture less its mean colour and over its spread:
    the finder sees the same page in any light, exposure or colour cast."""
    x = colours.astype(np.float32) / 255
    mean = x.mean(axis=(-3, -2), keepdims=True)
    spread = np.maximum(x.std(axis=(-3, -2, -1), keepdims=True), LEAST_SPREAD)
    return (x - mean) / spread


def load_finder() -> InkFinderFile:
    """The ink finder's weights: those DIGITS_INK_FINDER names, else the ones shipped with digits."""
    return _loaded(Path(os.environ.get(FINDER_VARIABLE) or SHIPPED_FINDER))


@cache
def _loaded(path: Path) -> InkFinderFile:
    tensors, metadata = read_weights(path, WEIGHTS_KIND, "ink finder")
    missing = [f"{name}.weight" for name in LAYERS if f"{name}.weight" not in tensors]
    if missing:
        raise DigitsError(f"{path}: ink finder weights lack {missing[0]}")
    return InkFinderFile(path, tensors, metadata.get("config", ""), int(metadata.get("seed", "0")))


def ink_probability(colours: np.ndarray, finder: InkFinderFile | None = None) -> np.ndarray:
    """uint8 colours (H, W, 3) -> float32 (H, W): each pixel's probability of being handwritten ink."""
    finder = finder or load_finder()
    height, width = colours.shape[:2]
    x = normalized(colours)
    # the network halves the size twice: the picture is padded to a multiple of 4 with its own edge
    x = np.pad(x, ((0, -height % 4), (0, -width % 4), (0, 0)), mode="edge")
    x = np.ascontiguousarray(x.transpose(2, 0, 1))
    layer = lambda name, x: np.maximum(_convolved(finder, name, x), 0)  # noqa: E731
    full = layer("full", x)
    half = layer("half2", layer("half1", full))
    quarter = half
    for name in ("quarter1", "quarter2", "quarter3", "quarter4"):
        quarter = layer(name, quarter)
    up = layer("up_half2", layer("up_half1", np.concatenate([_doubled(quarter), half])))
    logit = _convolved(finder, "out", layer("up_full", np.concatenate([_doubled(up), full])))[0]
    return (1 / (1 + np.exp(-logit[:height, :width]))).astype(np.float32)


def _doubled(x: np.ndarray) -> np.ndarray:
    """Each pixel made 2×2 (as torch's nearest upsampling)."""
    return x.repeat(2, axis=1).repeat(2, axis=2)


def _convolved(finder: InkFinderFile, name: str, x: np.ndarray) -> np.ndarray:
    """One convolution of (channels, H, W): for a 3×3 one, nine matrix products, one per tap."""
    weight, bias = finder.tensors[f"{name}.weight"], finder.tensors[f"{name}.bias"]
    stride, dilation = LAYERS[name]
    outputs, inputs, kernel, _ = weight.shape
    height, width = x.shape[1] // stride, x.shape[2] // stride
    if kernel == 1:
        out = weight[:, :, 0, 0] @ x.reshape(inputs, -1)
    else:
        padded = np.pad(x, ((0, 0), (dilation, dilation), (dilation, dilation)))
        out = np.zeros((outputs, height * width), np.float32)
        for i in range(3):
            for j in range(3):
                rows, columns = i * dilation, j * dilation
                tap = padded[:, rows : rows + stride * height : stride, columns : columns + stride * width : stride]
                out += weight[:, :, i, j] @ tap.reshape(inputs, -1)
    return (out + bias[:, None]).reshape(outputs, height, width)
