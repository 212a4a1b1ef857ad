"""Training data on the device: the one place where training images become the model's input.

The split's pixels stay uint8 on the device, a quarter of float32's memory, and become input a
batch at a time: scaled to [0, 1] and standardized with the training pixels' mean and std, as
`data.normalize` does in numpy for evaluate and predict, then (for training batches) randomly
moved and bent as the config says. Everything random comes from one seeded generator.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Literal

import torch
import torch.nn.functional as F

from .config import DataConfig
from .data import Split

Part = Literal["train", "val", "probe"]  # "probe": as many training images as validation ones, to measure the fit on
MEASURE_BATCH = 2048


class TrainingData:
    """A split's images and labels as tensors on `device`, served as standardized (and augmented) batches."""

    def __init__(self, split: Split, config: DataConfig, device: torch.device, generator: torch.Generator) -> None:
        self.split, self.config, self.device, self.generator = split, config, device, generator
        self.mean, self.std = split.mean, split.std
        self.background = -split.mean / split.std  # the standardized value of blank paper
        train, val = split.train, split.val
        probe = torch.randperm(len(train.labels), generator=generator)[: len(val.labels)]
        self.images = {
            "train": torch.from_numpy(train.images.reshape(len(train.labels), -1)).to(device),
            "val": torch.from_numpy(val.images.reshape(len(val.labels), -1)).to(device),
        }
        self.labels = {
            "train": torch.from_numpy(train.labels).to(device),
            "val": torch.from_numpy(val.labels).to(device),
        }
        self.images["probe"] = self.images["train"][probe.to(device)]
        self.labels["probe"] = self.labels["train"][probe.to(device)]

    def __len__(self) -> int:
        return len(self.labels["train"])

    def shuffled_batches(self, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One pass over the training images in a fresh random order: augmented inputs and their labels."""
        order = torch.randperm(len(self), generator=self.generator).to(self.device)
        for start in range(0, len(self), batch_size):
            yield self.batch("train", order[start : start + batch_size], augment=self.config.augment)

    def measuring_batches(self, part: Part) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """A part's images as they are, in large batches, to measure loss and accuracy on."""
        for start in range(0, len(self.labels[part]), MEASURE_BATCH):
            yield self.batch(part, slice(start, start + MEASURE_BATCH), augment=False)

    def batch(self, part: Part, index: torch.Tensor | slice, augment: bool) -> tuple[torch.Tensor, torch.Tensor]:
        inputs = self.standardize(self.images[part][index])
        if augment:
            inputs = self.augment(inputs)
        return inputs, self.labels[part][index]

    def standardize(self, pixels: torch.Tensor) -> torch.Tensor:
        """uint8 pixels (N, size*size) -> the model's input: the same numbers as data.normalize."""
        return pixels.float().div_(255).sub_(self.mean).div_(self.std)

    def augment(self, inputs: torch.Tensor) -> torch.Tensor:
        """Small random rotations (±10°), scalings (±10%), shears and shifts (±2 px) of a batch.

        With `elastic`, also Simard et al.'s elastic distortion: a random displacement field,
        smoothed by a Gaussian, bends each stroke a little as a different hand would.
        """
        n, size = len(inputs), math.isqrt(inputs.shape[1])

        def uniform(low: float, high: float) -> torch.Tensor:
            return torch.rand(n, generator=self.generator).mul(high - low).add(low).to(inputs.device)

        angle = uniform(-10, 10) * math.pi / 180
        scale = uniform(0.9, 1.1)
        shear = uniform(-0.15, 0.15)
        shift_x, shift_y = uniform(-2, 2) * 2 / size, uniform(-2, 2) * 2 / size
        cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
        theta = torch.stack([torch.stack([cos, -sin + shear, shift_x], 1), torch.stack([sin, cos, shift_y], 1)], 1)
        images = inputs.view(n, 1, size, size) - self.background  # blank paper is 0 for the padding
        grid = F.affine_grid(theta, list(images.shape), align_corners=False)
        if self.config.elastic:
            grid = grid + self._elastic_field(n, size).to(inputs.device)
        moved = F.grid_sample(images, grid, align_corners=False, padding_mode="zeros")
        return moved.view(n, -1) + self.background

    def _elastic_field(self, n: int, size: int) -> torch.Tensor:
        sigma, alpha = size / 7, size * 1.2  # Simard et al.: sigma 4 and alpha 34 pixels at 28×28
        radius = math.ceil(2 * sigma)
        taps = torch.exp(-(torch.arange(-radius, radius + 1, dtype=torch.float32) ** 2) / (2 * sigma**2))
        taps /= taps.sum()
        noise = torch.rand(n * 2, 1, size, size, generator=self.generator) * 2 - 1
        noise = F.conv2d(F.pad(noise, (radius, radius, 0, 0), mode="reflect"), taps.view(1, 1, 1, -1))
        noise = F.conv2d(F.pad(noise, (0, 0, radius, radius), mode="reflect"), taps.view(1, 1, -1, 1))
        return (noise * alpha * 2 / size).view(n, 2, size, size).permute(0, 2, 3, 1)  # pixels -> grid units
