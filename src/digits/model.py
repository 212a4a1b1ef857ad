"""The network: matrix multiplications with ReLU, max(x, 0), between them. Nothing else."""

from __future__ import annotations

from itertools import pairwise

import torch
from torch import nn


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
