"""The learning-rate finder: raise the learning rate exponentially, batch by batch, and watch the loss.

As fast.ai's `lr_find`: the loss falls slowly at tiny rates, fast at good ones, and blows up
past them. A good rate sits well before the blow-up: a tenth of the rate where the smoothed
loss was lowest. Each batch is the training run's own step on the training run's own batches
(augmentation and label smoothing included), so the sweep tunes what `digits train` optimizes.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from ..errors import DigitsError
from ..read.results import Result
from .config import Config
from .history import SmoothedLoss
from .model import training_step
from .run_setup import make_optimizer, setup
from .training_data import TrainingData

BLOW_UP = 4.0  # stop once the smoothed loss is this many times its minimum


@dataclass
class LrFinding(Result):
    learning_rates: list[float]
    losses: list[float]  # smoothed training loss at each learning rate
    suggestion: float
    stopped_early: str | None = None  # why the sweep ended before its last batch, if it did


def find_lr(config: Config, start: float = 1e-5, end: float = 10.0, steps: int = 200) -> LrFinding:
    """Train from the config's initial weights for up to `steps` batches, lr from `start` to `end`."""
    if not 0 < start < end:
        raise DigitsError(f"--start and --end must satisfy 0 < start < end (got {start} and {end})")
    model, data = setup(config)
    optimizer = make_optimizer(model, start, config)
    factor = (end / start) ** (1 / max(steps - 1, 1))
    rates: list[float] = []
    losses: list[float] = []
    watch, stopped_early = SmoothedLoss(), None
    for number, (inputs, targets) in enumerate(_endless_batches(data, config.train.batch_size)):
        if number == steps:
            break
        lr = start * factor**number
        optimizer.lr = lr
        loss = training_step(model, inputs, targets, optimizer, config.train.label_smoothing)
        smoothed = watch.add(loss.item())
        if not math.isfinite(smoothed):
            stopped_early = f"the loss became {smoothed} at lr {lr:.3g}"
            break
        rates.append(lr)
        losses.append(smoothed)
        if smoothed > BLOW_UP * watch.lowest:
            stopped_early = f"the loss blew up past {BLOW_UP:g}× its lowest at lr {lr:.3g}"
            break
    if len(rates) < 10:
        raise DigitsError(f"the loss blew up within {len(rates)} batches; try a lower --start than {start}")
    lowest = min(range(len(losses)), key=losses.__getitem__)
    return LrFinding(rates, losses, rates[lowest] / 10, stopped_early)


def _endless_batches(data: TrainingData, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    while True:  # epoch after epoch, as training would go on
        yield from data.shuffled_batches(batch_size)
