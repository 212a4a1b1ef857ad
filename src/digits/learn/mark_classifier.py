"""The mark classifier: two small Linear+ReLU networks that tell what each mark of a number's row
is (a digit, . , - / :, or not a digit), trained on rows drawn at random (mark_rows). The first
reads the mark alone, in its row's frame; the second reads the first one's answers for the mark
and its neighbours (read.mark_kinds). Each is trained as the digit model is, with a training and
a validation loss each epoch, the second on rows the first never saw, so that it learns how far
the first is to be trusted. Both are saved as plain Linear layers, which `read.mark_kinds` runs in numpy.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from ..atomic import atomic_path
from ..errors import ConfigError
from ..read.mark_kinds import FRAME_SIDE, MARK_CLASSES, WEIGHTS_KIND, context_inputs, context_width, forward, softmax
from .config import config_to_toml, load_config
from .ink_finder import page_digits
from .mark_rows import row_examples


@dataclass
class RowsConfig:
    source: str = "sample"  # the digits written in the rows: "sample" (bundled) or "mnist" (its 60,000)
    path: str = ""  # root directory, for "mnist"
    count: int = 6000  # rows drawn for each network to learn from
    val_count: int = 600  # rows drawn, with another seed, to judge them


@dataclass
class ClassifierConfig:
    hidden: list[int] = field(default_factory=lambda: [256, 128])  # the first network's hidden layers
    context_hidden: list[int] = field(default_factory=lambda: [64])  # the second's


@dataclass
class MarksTrainConfig:
    epochs: int = 8  # over the first network's rows
    context_epochs: int = 8  # over the second's
    batch_size: int = 128
    lr: float = 0.002  # AdamW's peak learning rate, falling to 0 by a cosine
    weight_decay: float = 0.0001
    seed: int = 0
    output: str = "checkpoints/marks.safetensors"


@dataclass
class MarksConfig:
    rows: RowsConfig = field(default_factory=RowsConfig)
    model: ClassifierConfig = field(default_factory=ClassifierConfig)
    train: MarksTrainConfig = field(default_factory=MarksTrainConfig)


@dataclass
class Marks:
    """Marks found in drawn rows: inputs, labels (-1: not known), each one's row, gaps (row_examples)."""

    inputs: np.ndarray
    labels: np.ndarray
    rows: np.ndarray
    gaps: np.ndarray


def load_marks_config(path: Path | None, overrides: dict) -> MarksConfig:
    config = load_config(path, overrides, MarksConfig)
    if min([*config.model.hidden, *config.model.context_hidden, 1]) < 1:
        raise ConfigError("model.hidden and model.context_hidden must be positive layer widths")
    return config


def network(inputs: int, hidden: list[int]) -> nn.Sequential:
    """inputs -> Linear+ReLU layers of `hidden` widths -> a score per class."""
    sizes = [inputs, *hidden]
    layers: list[nn.Module] = []
    for a, b in pairwise(sizes):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(sizes[-1], len(MARK_CLASSES)))


def _marks(config: RowsConfig, seed: int, count: int) -> Marks:
    """The marks of `count` rows for a seed, drawn in two processes (one core each)."""
    digits = page_digits(config.source, config.path).train.images
    rngs = [np.random.default_rng([seed, part]) for part in range(2)]
    with ProcessPoolExecutor(2) as pool:
        parts = list(pool.map(row_examples, rngs, [digits] * 2, [(count + 1) // 2, count // 2]))
    (inputs, labels, rows, gaps), (inputs2, labels2, rows2, gaps2) = parts
    # the second process's rows numbered after the first's, so that no two rows share a number
    return Marks(
        np.concatenate([inputs, inputs2]),
        np.concatenate([labels, labels2]),
        np.concatenate([rows, rows2 + count]),
        np.concatenate([gaps, gaps2]),
    )


def _in_rows(layers: list[tuple[np.ndarray, np.ndarray]], marks: Marks) -> np.ndarray:
    """The second network's inputs for every mark: the first network's answers, row by row."""
    alone = softmax(forward(layers, marks.inputs))
    starts = np.flatnonzero(np.diff(marks.rows, prepend=-1))
    ends = [*starts[1:], len(marks.rows)]
    rows = zip(starts, ends, strict=True)
    return np.concatenate([context_inputs(alone[a:b], marks.inputs[a:b], marks.gaps[a:b]) for a, b in rows])


def _fit(
    net: nn.Sequential,
    data: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    epochs: int,
    config: MarksTrainConfig,
    report: Callable[[dict], None],
    started: float,
    rng: np.random.Generator,
) -> list[dict]:
    """AdamW over the labelled marks, a cosine schedule; a row of losses each epoch."""
    known, val_known = data[1] >= 0, val[1] >= 0
    x, y = torch.from_numpy(data[0][known]), torch.from_numpy(data[1][known])
    val_x, val_y = torch.from_numpy(val[0][val_known]), torch.from_numpy(val[1][val_known])
    optimizer = torch.optim.AdamW(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps = epochs * math.ceil(len(x) / config.batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * step / steps)))
    history = []
    for epoch in range(1, epochs + 1):
        net.train()
        order, total = torch.from_numpy(rng.permutation(len(x))), 0.0
        for start in range(0, len(order), config.batch_size):
            chosen = order[start : start + config.batch_size]
            loss = functional.cross_entropy(net(x[chosen]), y[chosen])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += float(loss.detach()) * len(chosen)
        net.eval()
        with torch.no_grad():
            scores = net(val_x)
            val_loss = float(functional.cross_entropy(scores, val_y))
            accuracy = float((scores.argmax(1) == val_y).float().mean())
        row = {"epoch": epoch, "train_loss": total / len(x), "val_loss": val_loss, "val_accuracy": accuracy}
        row["seconds"] = time.perf_counter() - started
        history.append(row)
        report(row)
    return history


def _numpy_layers(net: nn.Sequential) -> list[tuple[np.ndarray, np.ndarray]]:
    linear = [layer for layer in net if isinstance(layer, nn.Linear)]
    return [(layer.weight.detach().numpy().copy(), layer.bias.detach().numpy().copy()) for layer in linear]


def train_classifier(config: MarksConfig, report: Callable[[dict], None]) -> Path:
    """Draw the rows, train both networks, report as it goes ({drawn, counts, seconds}, then for each
    network {network}, and a row per epoch: epoch, train_loss, val_loss, val_accuracy, seconds), and
    save their layers with the config and seed that made them."""
    torch.manual_seed(config.train.seed)
    rng = np.random.default_rng(config.train.seed)
    started = time.perf_counter()
    first = _marks(config.rows, 1_000 + config.train.seed, config.rows.count)
    second = _marks(config.rows, 3_000 + config.train.seed, config.rows.count)
    val = _marks(config.rows, 2_000 + config.train.seed, config.rows.val_count)
    counts = np.bincount(first.labels[first.labels >= 0], minlength=len(MARK_CLASSES))
    drawn = len(first.labels) + len(second.labels) + len(val.labels)
    report({"drawn": drawn, "counts": counts.tolist(), "seconds": time.perf_counter() - started})

    report({"network": "each mark alone, in its row's frame"})
    alone = network(FRAME_SIDE**2 + 4, config.model.hidden)
    fit = (config.train, report, started, rng)
    history = _fit(alone, (first.inputs, first.labels), (val.inputs, val.labels), config.train.epochs, *fit)
    layers = _numpy_layers(alone)

    report({"network": "each mark beside its neighbours' answers"})
    in_row = network(context_width(), config.model.context_hidden)
    data, val_data = (_in_rows(layers, second), second.labels), (_in_rows(layers, val), val.labels)
    context_history = _fit(in_row, data, val_data, config.train.context_epochs, *fit)
    return save_classifier(layers, _numpy_layers(in_row), config, history + context_history)


def save_classifier(
    layers: list[tuple[np.ndarray, np.ndarray]],
    context: list[tuple[np.ndarray, np.ndarray]],
    config: MarksConfig,
    history: list[dict],
) -> Path:
    """Both networks' Linear layers as safetensors (layers.{i} and context.{i}, .weight and .bias),
    naming the config and seed that made them."""
    from safetensors.numpy import save_file

    tensors = {}
    for prefix, stack in (("layers", layers), ("context", context)):
        for i, (weight, bias) in enumerate(stack):
            tensors[f"{prefix}.{i}.weight"] = weight.astype(np.float32)
            tensors[f"{prefix}.{i}.bias"] = bias.astype(np.float32)
    metadata = {
        "kind": WEIGHTS_KIND,
        "classes": json.dumps(MARK_CLASSES),
        "config": config_to_toml(asdict(config)),
        "seed": str(config.train.seed),
        "history": json.dumps(history),
    }
    output = Path(config.train.output)
    with atomic_path(output) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
    return output
