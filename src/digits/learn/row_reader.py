"""The row reader (read.row_reader): trained with CTC on rows drawn at random, then saved as plain
layers that `read.row_reader` runs in numpy.

A row is drawn as the mark classifier's are (mark_rows: MNIST's training digits, separators in many
hands, things that are no digit, in the formats people write), but its marks are set closer: each
gap is drawn from OVERLAP (a share of the mark before, overlapping it) to GAP (of the row's height,
apart), so that digits touch and cross as they do in a hurry; new rows every epoch. Each row goes
through `read`'s own steps (its ink, its row and the row's lines), so that its strip is framed as
`read` frames a piece: where all its digits touch, the lines are the piece's extremes.

The network is the course's: a Linear+ReLU layer at every window of the strip (a convolution whose
kernel is the window), more over each window and its neighbours, and a Linear layer to the
characters. CTC (torch.nn.functional.ctc_loss) learns from the row's text alone, with no place for
each character: the network finds where they are.
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
from ..read.marks import NoDigitFound, find_ink
from ..read.number import number_row
from ..read.row_reader import (
    ROW_CHARACTERS,
    STRIDE,
    STRIP_HEIGHT,
    WEIGHTS_KIND,
    WINDOW,
    RowReaderFile,
    best_path,
    probabilities,
    strip,
    window_count,
)
from .config import config_to_toml, load_config
from .ink_finder import page_digits
from .mark_rows import ROW_HEIGHT, digit, laid_out, row_pattern, separator, tall_other

OVERLAP = 0.35  # of the mark before, at most: the checker's touching digits overlap by up to a quarter
GAP = 0.4  # of the row's height, at most: wider gaps are the mark classifier's rows, cut apart already
TOUCHING = 0.5  # of the gaps are overlaps, the others gaps of 0 to GAP


@dataclass
class RowsConfig:
    source: str = "sample"  # the digits written in the rows: "sample" (bundled) or "mnist" (its 60,000)
    path: str = ""  # root directory, for "mnist"
    count: int = 20000  # rows drawn to learn from, new ones each epoch (drawing costs less than learning)
    val_count: int = 1000  # rows drawn, with another seed, to judge the reader each epoch
    overlap: float = OVERLAP  # of the mark before, at most (0: digits never overlap, to hold overlaps out)


@dataclass
class ReaderConfig:
    window_units: int = 256  # the Linear+ReLU layer read at every window
    neighbours: int = 5  # windows each later layer reads at once (odd)
    neighbour_units: int = 192  # their width
    neighbour_layers: int = 1  # how many: each sees further along the row


@dataclass
class ReaderTrainConfig:
    epochs: int = 12
    batch_size: int = 64
    lr: float = 0.002  # AdamW's peak learning rate, falling to 0 by a cosine
    weight_decay: float = 0.0001
    seed: int = 0
    output: str = "checkpoints/rows.safetensors"


@dataclass
class RowReaderConfig:
    rows: RowsConfig = field(default_factory=RowsConfig)
    model: ReaderConfig = field(default_factory=ReaderConfig)
    train: ReaderTrainConfig = field(default_factory=ReaderTrainConfig)


def load_reader_config(path: Path | None, overrides: dict) -> RowReaderConfig:
    config = load_config(path, overrides, RowReaderConfig)
    m = config.model
    if min(m.window_units, m.neighbour_units, m.neighbour_layers) < 1 or m.neighbours % 2 == 0:
        raise ConfigError(
            "model.window_units, model.neighbour_units and model.neighbour_layers must be positive, model.neighbours odd"
        )
    if not 0 <= config.rows.overlap < 1:
        raise ConfigError(f"rows.overlap must be from 0 to under 1, not {config.rows.overlap}")
    return config


def touching_row(
    rng: np.random.Generator, digits: np.ndarray, labels: np.ndarray, overlap: float = OVERLAP
) -> tuple[np.ndarray, str]:
    """One row drawn at random, close or touching, as `read` sees it: its strip, and its text in ROW_CHARACTERS."""
    while True:
        found = _seen(rng, digits, labels, overlap)
        if found is not None:
            return found


def _seen(
    rng: np.random.Generator, digits: np.ndarray, labels: np.ndarray, overlap: float
) -> tuple[np.ndarray, str] | None:
    """A row drawn and found by the reader's own steps (marks.find_ink, number.number_row), so that its
    lines are the ones `read` finds (the marks' own extent, where all its digits touch), its strip the
    row's marks from the first to the last; its text, the marks whose ink is half in the strip at
    least (`row.labels` holds the row's marks only). None where the reader finds no row, or reads the
    drawing at another scale."""
    height = int(rng.integers(*ROW_HEIGHT))
    pen = max(1.2, height * rng.uniform(0.06, 0.16))
    glyphs, text = [], ""
    pattern = ""
    while not pattern:  # a quote or a degree sign is no mark of a number: left out, a row of them drawn again
        pattern = row_pattern(rng).replace("s", "")
    for mark in pattern:
        if mark == "d":
            chosen = int(rng.integers(len(digits)))
            glyphs.append(digit(rng, digits[chosen], height))
            text += str(labels[chosen])
        elif mark == "x":
            glyphs.append(tall_other(rng, height))
            text += "?"
        else:
            glyphs.append(separator(rng, mark, height, pen))
            text += mark
    widths = np.array([ink.shape[1] for ink, _, _ in glyphs])
    overlaps = -np.round(widths * rng.uniform(0, overlap, len(glyphs)))  # each one's overlap of the next
    apart = np.round(height * rng.uniform(0, GAP, len(glyphs)))
    gaps = np.where(rng.random(len(glyphs)) < TOUCHING, overlaps, apart).astype(int)
    picture, marks = laid_out(rng, glyphs, height, gaps)
    try:
        ink = find_ink(picture)
    except NoDigitFound:
        return None
    if ink.frame.scale != 1.0:
        return None
    row = number_row(ink)
    taken = sorted(row.in_row)
    left, right = row.runs[taken[0]][0], row.runs[taken[-1]][2]
    kept = ""
    for (glyph, _, _), (x0, x1, _, y0, y1), character in zip(glyphs, marks, text, strict=True):
        seen = row.labels[y0:y1, x0:x1][glyph > 0.3] > 0
        if seen.size and seen.mean() >= 0.5:  # a mark the reader left out (a speck, a tail below the row) is not read
            kept += character
    if not kept:
        return None
    return strip(row.shades[:, left:right], row.top_line, row.baseline), kept


def _rows(
    digits: np.ndarray, labels: np.ndarray, seed: int | list[int], count: int, overlap: float
) -> list[tuple[np.ndarray, str]]:
    """`count` rows for a seed, drawn in two processes (one core each)."""
    rngs = [np.random.default_rng([*np.atleast_1d(seed), part]) for part in range(2)]
    halves = [(count + 1) // 2, count // 2]
    with ProcessPoolExecutor(2) as pool:
        parts = pool.map(_drawn, rngs, [digits] * 2, [labels] * 2, halves, [overlap] * 2)
        return [row for part in parts for row in part]


def _drawn(
    rng: np.random.Generator, digits: np.ndarray, labels: np.ndarray, count: int, overlap: float
) -> list[tuple[np.ndarray, str]]:
    return [touching_row(rng, digits, labels, overlap) for _ in range(count)]


class RowReader(nn.Module):
    """A strip (batch, 1, STRIP_HEIGHT, width) -> each window's scores for blank and each character."""

    def __init__(self, config: ReaderConfig) -> None:
        super().__init__()
        # a Linear layer over each window is a convolution whose kernel is the window
        self.windows = nn.Conv2d(1, config.window_units, (STRIP_HEIGHT, WINDOW), stride=(1, STRIDE))
        widths = [config.window_units] + [config.neighbour_units] * config.neighbour_layers
        k = config.neighbours
        self.neighbours = nn.ModuleList(nn.Conv1d(a, b, k, padding=k // 2) for a, b in pairwise(widths))
        self.characters = nn.Conv1d(config.neighbour_units, len(ROW_CHARACTERS) + 1, 1)

    def forward(self, strips: torch.Tensor) -> torch.Tensor:
        hidden = functional.relu(self.windows(strips)).squeeze(2)
        for layer in self.neighbours:
            hidden = functional.relu(layer(hidden))
        return self.characters(hidden)  # (batch, classes, windows)


def _batch(rows: list[tuple[np.ndarray, str]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Strips padded with paper to the widest, and CTC's targets and lengths."""
    widest = max(s.shape[1] for s, _ in rows)
    strips = np.zeros((len(rows), 1, STRIP_HEIGHT, widest), np.float32)
    for i, (s, _) in enumerate(rows):
        strips[i, 0, :, : s.shape[1]] = s
    targets = [ROW_CHARACTERS.index(c) + 1 for _, text in rows for c in text]
    lengths = [window_count(s.shape[1]) for s, _ in rows]
    return (
        torch.from_numpy(strips),
        torch.tensor(targets, dtype=torch.long),
        torch.tensor(lengths, dtype=torch.long),
        torch.tensor([len(text) for _, text in rows], dtype=torch.long),
    )


def _loss(net: RowReader, rows: list[tuple[np.ndarray, str]]) -> torch.Tensor:
    strips, targets, lengths, target_lengths = _batch(rows)
    log_probs = functional.log_softmax(net(strips), dim=1).permute(2, 0, 1)  # (windows, batch, classes)
    return functional.ctc_loss(log_probs, targets, lengths, target_lengths, zero_infinity=True)


def _batches(rows: list[tuple[np.ndarray, str]], size: int, rng: np.random.Generator) -> list[list[int]]:
    """Batches of rows of like widths (little padding), in a random order."""
    by_width = sorted(range(len(rows)), key=lambda i: (rows[i][0].shape[1], rng.random()))
    batches = [by_width[i : i + size] for i in range(0, len(by_width), size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def reader_file(net: RowReader, config: RowReaderConfig) -> RowReaderFile:
    """The network's layers as `read.row_reader` runs them."""

    def plain(layer: nn.Module, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        return layer.weight.detach().numpy().reshape(shape).copy(), layer.bias.detach().numpy().copy()

    m = config.model
    return RowReaderFile(
        Path(config.train.output),
        plain(net.windows, (m.window_units, STRIP_HEIGHT * WINDOW)),
        [plain(layer, tuple(layer.weight.shape)) for layer in net.neighbours],
        plain(net.characters, (len(ROW_CHARACTERS) + 1, m.neighbour_units)),
        config_to_toml(asdict(config)),
        config.train.seed,
    )


def exact(reader: RowReaderFile, rows: list[tuple[np.ndarray, str]]) -> float:
    """The share of rows whose text the reader (in numpy, as shipped) writes exactly."""
    right = sum("".join(c.text for c in best_path(probabilities(reader, s))) == text for s, text in rows)
    return right / max(len(rows), 1)


def train_reader(config: RowReaderConfig, report: Callable[[dict], None]) -> Path:
    """Draw the rows, train the reader, report as it goes ({drawn, seconds}, then a row per epoch:
    epoch, train_loss, val_loss, val_accuracy (rows read exactly), seconds), and save its layers
    with the config and seed that made them."""
    torch.manual_seed(config.train.seed)
    rng = np.random.default_rng(config.train.seed)
    started = time.perf_counter()
    split = page_digits(config.rows.source, config.rows.path)
    seed, count, overlap = config.train.seed, config.rows.count, config.rows.overlap
    train = _rows(split.train.images, split.train.labels, 1_000 + seed, count, overlap)
    # judged on the digit model's validation digits, at every overlap the reader is meant for
    val = _rows(split.val.images, split.val.labels, 2_000 + seed, config.rows.val_count, OVERLAP)
    report({"drawn": len(train) + len(val), "what": "rows", "seconds": time.perf_counter() - started})
    report({"network": "every window of a row, beside its neighbours (val acc: rows read exactly)"})
    net = RowReader(config.model)
    t = config.train
    optimizer = torch.optim.AdamW(net.parameters(), lr=t.lr, weight_decay=t.weight_decay)
    steps = t.epochs * math.ceil(len(train) / t.batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * step / steps)))
    history = []
    for epoch in range(1, t.epochs + 1):
        if epoch > 1:  # new rows: with the same ones each epoch, the reader learned them (val loss rose from epoch 9)
            train = _rows(split.train.images, split.train.labels, [1_000 + seed, epoch], count, overlap)
        net.train()
        total = 0.0
        for batch in _batches(train, t.batch_size, rng):
            loss = _loss(net, [train[i] for i in batch])
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 5.0)  # CTC's first steps can be steep
            optimizer.step()
            schedule.step()
            total += float(loss.detach()) * len(batch)
        net.eval()
        with torch.no_grad():
            val_loss = sum(float(_loss(net, [val[i] for i in b])) * len(b) for b in _batches(val, 256, rng)) / len(val)
        row = {"epoch": epoch, "train_loss": total / len(train), "val_loss": val_loss}
        row |= {"val_accuracy": exact(reader_file(net, config), val), "seconds": time.perf_counter() - started}
        history.append(row)
        report(row)
    return save_reader(reader_file(net, config), config, history)


def save_reader(reader: RowReaderFile, config: RowReaderConfig, history: list[dict]) -> Path:
    """The reader's layers as safetensors (windows, neighbours.0 ..., characters; .weight and .bias),
    naming the config and seed that made them."""
    from safetensors.numpy import save_file

    tensors = {}
    named = {"windows": reader.windows, "characters": reader.characters}
    named |= {f"neighbours.{i}": layer for i, layer in enumerate(reader.neighbours)}
    for name, (weight, bias) in named.items():
        tensors[f"{name}.weight"], tensors[f"{name}.bias"] = weight.astype(np.float32), bias.astype(np.float32)
    metadata = {
        "kind": WEIGHTS_KIND,
        "characters": json.dumps(ROW_CHARACTERS),
        "config": config_to_toml(asdict(config)),
        "seed": str(config.train.seed),
        "history": json.dumps(history),
    }
    output = Path(config.train.output)
    with atomic_path(output) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
    return output
