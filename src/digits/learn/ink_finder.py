"""The ink finder: a small fully convolutional network that gives each pixel of a picture the
probability that it is handwritten ink, trained on pages drawn at random (ink_pages).

A convolution is the course's Linear+ReLU, one step on: the same small Linear layer applied to
every 3×3 patch of the picture, so that each pixel's answer is computed from its neighbourhood,
and the layers below see ever wider neighbourhoods (at ½ and ¼ of the size, and with gaps, dilations,
between the taps). It is trained like the digit model, with a training and a validation loss each
epoch, and saved with batch norm folded into its convolutions, which `read.ink` runs in numpy.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from ..atomic import atomic_path
from ..errors import ConfigError
from ..read.ink import LAYERS, WEIGHTS_KIND, normalized
from .config import config_to_toml, load_config
from .data import Split, load_training_split, split_train_val
from .ink_pages import FACTOR_GROUPS, draw_pages

VAL_FRACTION, VAL_SEED = 0.1, 0  # the digit model's split (the defaults configs/mnist.toml keeps)


@dataclass
class PagesConfig:
    source: str = "sample"  # the digits written on the pages: "sample" (bundled) or "mnist" (its 60,000)
    path: str = ""  # root directory, for "mnist"
    count: int = 4000  # pages drawn to learn from
    val_count: int = 400  # pages drawn, with another seed, to judge the finder
    size: int = 112  # px a side: a page holds a digit from a speck to the whole of it
    off: list[str] = field(default_factory=list)  # factor groups left out of the pages (to test on them)


@dataclass
class FinderConfig:
    widths: list[int] = field(default_factory=lambda: [8, 24, 48])  # channels at full, ½ and ¼ of the size


@dataclass
class InkTrainConfig:
    epochs: int = 6
    batch_size: int = 16
    lr: float = 0.003  # AdamW's peak learning rate, falling to 0 by a cosine
    weight_decay: float = 0.0001
    seed: int = 0
    output: str = "checkpoints/ink.safetensors"


@dataclass
class InkConfig:
    pages: PagesConfig = field(default_factory=PagesConfig)
    model: FinderConfig = field(default_factory=FinderConfig)
    train: InkTrainConfig = field(default_factory=InkTrainConfig)


def load_ink_config(path: Path | None, overrides: dict) -> InkConfig:
    config = load_config(path, overrides, InkConfig)
    unknown = [group for group in config.pages.off if group not in FACTOR_GROUPS]
    if unknown:
        raise ConfigError(f"pages.off: {unknown[0]!r} is not a factor group (one of {', '.join(FACTOR_GROUPS)})")
    if len(config.model.widths) != 3 or min(config.model.widths) < 1:
        raise ConfigError("model.widths must be three positive channel counts (full, ½ and ¼ of the size)")
    return config


class InkFinder(nn.Module):
    """Colours (N, 3, H, W), H and W multiples of 4 -> a logit per pixel (N, 1, H, W). Each layer of
    LAYERS is a 3×3 (or 1×1) convolution, batch norm and ReLU; the last a 1×1 convolution alone."""

    def __init__(self, widths: list[int]) -> None:
        super().__init__()
        self.widths = widths
        self.layers = nn.ModuleDict()
        for name, (inputs, outputs, kernel, stride, dilation) in _plan(widths).items():
            convolution = nn.Conv2d(inputs, outputs, kernel, stride, dilation * (kernel // 2), dilation, bias=False)
            self.layers[name] = nn.Sequential(convolution, nn.BatchNorm2d(outputs))
        self.layers["out"] = nn.Conv2d(widths[0], 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        layer = lambda name, x: functional.relu(self.layers[name](x))  # noqa: E731
        full = layer("full", x)
        half = layer("half2", layer("half1", full))
        quarter = half
        for name in ("quarter1", "quarter2", "quarter3", "quarter4"):
            quarter = layer(name, quarter)
        up = torch.cat([functional.interpolate(quarter, scale_factor=2.0), half], dim=1)
        up = layer("up_half2", layer("up_half1", up))
        up = torch.cat([functional.interpolate(up, scale_factor=2.0), full], dim=1)
        return self.layers["out"](layer("up_full", up))


def _plan(widths: list[int]) -> dict[str, tuple[int, int, int, int, int]]:
    """Each convolution's (inputs, outputs, kernel, stride, dilation), in the order LAYERS names them."""
    a, b, c = widths
    return {
        "full": (3, a, 3, 1, 1),
        "half1": (a, b, 3, 2, 1),
        "half2": (b, b, 3, 1, 1),
        "quarter1": (b, c, 3, 2, 1),
        "quarter2": (c, c, 3, 1, 2),
        "quarter3": (c, c, 3, 1, 4),
        "quarter4": (c, c, 3, 1, 8),
        "up_half1": (c + b, b, 1, 1, 1),
        "up_half2": (b, b, 3, 1, 1),
        "up_full": (b + a, a, 3, 1, 1),
    }


def folded(finder: InkFinder) -> dict[str, np.ndarray]:
    """The finder's weights with each batch norm folded into its convolution's weight and bias, as numpy."""
    tensors = {}
    for name in LAYERS:
        if name == "out":
            conv = finder.layers["out"]
            tensors["out.weight"], tensors["out.bias"] = conv.weight, conv.bias
            continue
        conv, norm = finder.layers[name]
        scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
        tensors[f"{name}.weight"] = conv.weight * scale[:, None, None, None]
        tensors[f"{name}.bias"] = norm.bias - norm.running_mean * scale
    return {name: t.detach().cpu().numpy().astype(np.float32) for name, t in tensors.items()}


def page_digits(source: str, path: str) -> Split:
    """The digits the pages are written with (`train`), and those kept from them (`val`): the digit
    model's own split (as configs/mnist.toml makes it), so that the reader is judged on digits
    neither network has seen."""
    return split_train_val(load_training_split(source, path, 28), VAL_FRACTION, VAL_SEED)


def _pages(config: PagesConfig, seed: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """`count` pages for a seed, drawn in two processes (drawing is Pillow's and numpy's, on one core each)."""
    digits = page_digits(config.source, config.path).train.images
    off = frozenset(config.off)
    halves = [(count + 1) // 2, count // 2]
    with ProcessPoolExecutor(2) as pool:
        parts = list(pool.map(draw_pages, halves, [seed * 2, seed * 2 + 1], [digits] * 2, [config.size] * 2, [off] * 2))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _batch(pictures: np.ndarray, masks: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.from_numpy(normalized(pictures)).permute(0, 3, 1, 2).contiguous()
    return x, torch.from_numpy(masks).float().unsqueeze(1) / 255


def _loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy per pixel, plus half a dice loss: the ink is a few percent of a page's
    pixels, and the dice term counts it as a whole, however little of the page it covers."""
    bce = functional.binary_cross_entropy_with_logits(logits, target)
    p = torch.sigmoid(logits)
    dice = 1 - (2 * (p * target).sum() + 1) / (p.sum() + target.sum() + 1)
    return bce + 0.5 * dice


def train_finder(config: InkConfig, report: Callable[[dict], None]) -> Path:
    """Draw the pages, train the finder, report each epoch's {epoch, train_loss, val_loss, seconds},
    and save the folded weights with the config and seed that made them. Returns the file written."""
    torch.manual_seed(config.train.seed)
    rng = np.random.default_rng(config.train.seed)
    started = time.perf_counter()
    pictures, masks = _pages(config.pages, 1_000 + config.train.seed, config.pages.count)
    val_pictures, val_masks = _pages(config.pages, 2_000 + config.train.seed, config.pages.val_count)
    report({"drawn": len(pictures) + len(val_pictures), "seconds": time.perf_counter() - started})
    finder = InkFinder(config.model.widths)
    optimizer = torch.optim.AdamW(finder.parameters(), lr=config.train.lr, weight_decay=config.train.weight_decay)
    size = config.train.batch_size
    steps = config.train.epochs * math.ceil(len(pictures) / size)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * step / steps)))
    history = []
    for epoch in range(1, config.train.epochs + 1):
        finder.train()
        order, total = rng.permutation(len(pictures)), 0.0
        for start in range(0, len(order), size):
            chosen = np.sort(order[start : start + size])
            x, y = _batch(pictures[chosen], masks[chosen])
            flip = rng.random() < 0.5  # a page mirrored is as good a page
            loss = _loss(finder(x.flip(3) if flip else x), y.flip(3) if flip else y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += float(loss.detach()) * len(chosen)
        finder.eval()
        with torch.no_grad():
            val = sum(
                float(_loss(finder(x), y)) * len(x)
                for x, y in (
                    _batch(val_pictures[i : i + 64], val_masks[i : i + 64]) for i in range(0, len(val_pictures), 64)
                )
            )
        row = {"epoch": epoch, "train_loss": total / len(pictures), "val_loss": val / len(val_pictures)}
        row["seconds"] = time.perf_counter() - started
        history.append(row)
        report(row)
    return save_finder(finder, config, history)


def save_finder(finder: InkFinder, config: InkConfig, history: list[dict]) -> Path:
    """The folded weights as safetensors, naming the config and seed that made them and their losses."""
    from safetensors.numpy import save_file

    output = Path(config.train.output)
    tensors = folded(finder)
    metadata = {
        "kind": WEIGHTS_KIND,
        "widths": json.dumps(config.model.widths),
        "config": config_to_toml(asdict(config)),
        "seed": str(config.train.seed),
        "history": json.dumps(history),
    }
    with atomic_path(output) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
    return output
