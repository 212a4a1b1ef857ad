"""Stochastic gradient descent and its learning-rate schedules, written out.

An SGD step is a few lines of tensor arithmetic: the gradient (plus weight decay times the weight),
folded into a running momentum, and a step against it. torch.optim does the same, but its wrapper
imports `torch._dynamo` on the first step, 2 s of a short training run's start, for nothing this
loop needs. The arithmetic here is torch.optim.SGD's, operation for operation, and so are the
schedules' rates; both read and write torch.optim's state dicts, so resume files written with
torch.optim load.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch

# "onecycle", as fast.ai's fit_one_cycle (and torch's OneCycleLR): the rate warms up from a 25th of its
# peak over the first quarter, then anneals to a 10,000th of that; momentum moves the other way
ONECYCLE_WARMUP = 0.25
ONECYCLE_START_DIVISOR = 25.0
ONECYCLE_END_DIVISOR = 1e4
ONECYCLE_MOMENTUM = (0.95, 0.85)  # at the ends of the cycle, and at the peak rate


class SGD:
    """SGD with momentum (Nesterov's when asked) and weight decay, over a network's parameters."""

    def __init__(
        self,
        parameters: Iterable[torch.nn.Parameter],
        lr: float,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        self.parameters = list(parameters)
        self.lr, self.momentum, self.nesterov, self.weight_decay = lr, momentum, nesterov, weight_decay
        self.velocity: list[torch.Tensor | None] = [None] * len(self.parameters)  # the momentum buffers

    def zero_grad(self) -> None:
        for parameter in self.parameters:
            parameter.grad = None

    @torch.no_grad()
    def step(self) -> None:
        for i, parameter in enumerate(self.parameters):
            if parameter.grad is None:
                continue
            step = parameter.grad
            if self.weight_decay:
                step = step.add(parameter, alpha=self.weight_decay)
            if self.momentum:
                if self.velocity[i] is None:
                    self.velocity[i] = step.clone()
                else:
                    self.velocity[i].mul_(self.momentum).add_(step)
                step = step.add(self.velocity[i], alpha=self.momentum) if self.nesterov else self.velocity[i]
            parameter.add_(step, alpha=-self.lr)

    def state_dict(self) -> dict[str, Any]:
        """As torch.optim.SGD's: the momentum buffers by parameter index, and the settings."""
        settings = {"lr": self.lr, "momentum": self.momentum, "nesterov": self.nesterov}
        return {
            "state": {i: {"momentum_buffer": v} for i, v in enumerate(self.velocity) if v is not None},
            "param_groups": [
                {**settings, "weight_decay": self.weight_decay, "params": list(range(len(self.velocity)))}
            ],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        group = state["param_groups"][0]
        self.lr, self.momentum = group["lr"], group["momentum"]
        for i, saved in state["state"].items():
            self.velocity[int(i)] = saved["momentum_buffer"].to(self.parameters[int(i)].device, copy=True)


class Schedule:
    """The learning rate over a run's steps: `step()` after each batch sets the optimizer's next rate.

    "cosine" falls from the peak to 0 along half a cosine; "onecycle" warms up first (see above);
    "constant" keeps the peak.
    """

    def __init__(self, optimizer: SGD, name: str, total_steps: int) -> None:
        self.optimizer, self.name, self.total_steps = optimizer, name, total_steps
        self.peak = optimizer.lr
        self.steps_done = 0
        self._apply()

    def step(self) -> None:
        self.steps_done += 1
        self._apply()

    def _apply(self) -> None:
        t, total = self.steps_done, self.total_steps
        if self.name == "cosine":
            self.optimizer.lr = self.peak * (1 + math.cos(math.pi * t / total)) / 2
        elif self.name == "onecycle":
            start, end = self.peak / ONECYCLE_START_DIVISOR, self.peak / ONECYCLE_START_DIVISOR / ONECYCLE_END_DIVISOR
            outer, inner = ONECYCLE_MOMENTUM
            turn = ONECYCLE_WARMUP * total - 1
            if t <= turn:
                share = t / turn
                self.optimizer.lr, self.optimizer.momentum = (
                    _cosine(start, self.peak, share),
                    _cosine(outer, inner, share),
                )
            else:
                share = (t - turn) / (total - 1 - turn)
                self.optimizer.lr, self.optimizer.momentum = (
                    _cosine(self.peak, end, share),
                    _cosine(inner, outer, share),
                )

    def state_dict(self) -> dict[str, Any]:
        """As torch.optim.lr_scheduler's: the steps done are its `last_epoch` (the peak is the config's)."""
        return {"last_epoch": self.steps_done}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.steps_done = state["last_epoch"]
        self._apply()


def _cosine(start: float, end: float, share: float) -> float:
    """From start to end as `share` goes from 0 to 1, along half a cosine."""
    return end + (start - end) / 2 * (math.cos(math.pi * share) + 1)
