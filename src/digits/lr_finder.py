"""The learning-rate finder: raise the learning rate exponentially, batch by batch, and watch the loss.

As fast.ai's `lr_find`: the loss falls slowly at tiny rates, fast at good ones, and blows up
past them. A good rate sits well before the blow-up: a tenth of the rate where the smoothed
loss was lowest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .config import Config
from .errors import DigitsError
from .trainer import augment, make_optimizer, prepare

SMOOTHING = 0.98  # exponential moving average of the loss, as fast.ai smooths it
BLOW_UP = 4.0  # stop once the smoothed loss is this many times its minimum


@dataclass
class LrFinding:
    learning_rates: list[float]
    losses: list[float]  # smoothed training loss at each learning rate
    suggestion: float


def find_lr(config: Config, start: float = 1e-5, end: float = 10.0, steps: int = 200) -> LrFinding:
    """Train from the config's initial weights for up to `steps` batches, lr from `start` to `end`."""
    if not 0 < start < end:
        raise DigitsError(f"--start and --end must satisfy 0 < start < end (got {start} and {end})")
    run = prepare(config)
    optimizer = make_optimizer(run.model, start, config)
    background = -run.split.mean / run.split.std
    factor = (end / start) ** (1 / max(steps - 1, 1))
    batch_size = config.train.batch_size
    order = torch.randperm(len(run.y_train), generator=run.generator).to(run.device)

    rates: list[float] = []
    losses: list[float] = []
    average, best = 0.0, math.inf
    run.model.train()
    for step in range(steps):
        lr = start * factor**step
        for group in optimizer.param_groups:
            group["lr"] = lr
        first = step * batch_size % len(order)
        index = order[first : first + batch_size]
        inputs = run.standardize(run.x_train[index])
        if config.data.augment:
            inputs = augment(inputs, background, run.generator)
        loss = F.cross_entropy(run.model(inputs), run.y_train[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

        average = SMOOTHING * average + (1 - SMOOTHING) * loss.item()
        smoothed = average / (1 - SMOOTHING ** (step + 1))  # without the bias toward the 0 it started at
        if not math.isfinite(smoothed):
            break
        rates.append(lr)
        losses.append(smoothed)
        best = min(best, smoothed)
        if smoothed > BLOW_UP * best:
            break
    if len(rates) < 10:
        raise DigitsError(f"the loss blew up within {len(rates)} batches; try a lower --start than {start}")
    lowest = min(range(len(losses)), key=losses.__getitem__)
    return LrFinding(rates, losses, suggestion=rates[lowest] / 10)
