"""The network: matrix multiplications with ReLU, max(x, 0), between them; and the two things done
with a batch of images: a training step, and an evaluation batch that measures it."""

from __future__ import annotations

from itertools import pairwise
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

if TYPE_CHECKING:
    from .sgd import SGD


class DigitMLP(nn.Module):
    """A stack of Linear layers with ReLU between them: pixels in, one score per class out.

    The parameters are the numbers in each layer's weight matrix and bias vector; the
    activations are the numbers each layer computes from them for one image.
    """

    def __init__(self, input_size: int, hidden: list[int], classes: int = 10, dropout: float = 0.0) -> None:
        super().__init__()
        self.layer_sizes = [input_size, *hidden, classes]
        self.layers = nn.ModuleList(nn.Linear(n_in, n_out) for n_in, n_out in pairwise(self.layer_sizes))
        # zeroes random activations while training only; Identity costs nothing when there is none
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (batch, input_size) normalized pixels -> (batch, classes) scores (logits)
        for layer in self.layers[:-1]:
            x = self.dropout(torch.relu(layer(x)))
        return self.layers[-1](x)


def training_step(
    model: DigitMLP,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    optimizer: SGD,
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """One step of SGD on a batch: forward, the config's objective (label smoothing included),
    backward, an update. The batch's mean loss, still on the device, so that nothing waits on it."""
    model.train()  # dropout on
    loss = F.cross_entropy(model(inputs), targets, label_smoothing=label_smoothing)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.detach()


@torch.no_grad()
def evaluation_batch(model: DigitMLP, inputs: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch measured, weights untouched: its mean plain cross-entropy and the scores (logits)."""
    model.eval()  # dropout off
    logits = model(inputs)
    return F.cross_entropy(logits, targets), logits
