"""Everything a training run needs before its first step: the device, the seed, the data split
and on the device, the network, its optimizer and learning-rate schedule. The trainer and the
learning-rate finder start the same way, so both call these."""

from __future__ import annotations

import math
import os
from itertools import pairwise

import torch

from ..errors import ConfigError, DigitsError
from ..read.datasets import CLASSES, NOT_A_DIGIT
from ..read.results import layers_text
from .config import Config
from .data import load_training_split, split_train_val, with_non_digits
from .model import DigitMLP
from .sgd import SGD
from .training_data import TrainingData

COPIES_IN_TRAINING = 6  # weights, gradients, momentum, the best weights, and the resume snapshot's two


def setup(config: Config) -> tuple[DigitMLP, TrainingData]:
    """Seed everything, load and split the data onto the device, build the model."""
    device = resolve_device(config)
    torch.manual_seed(config.train.seed)
    generator = torch.Generator().manual_seed(config.train.seed)
    size = config.data.image_size
    check_model_fits(config, device)
    digits = load_training_split(config.data.source, config.data.path, size)
    split_seed = config.train.seed if config.data.split_seed == -1 else config.data.split_seed
    split = split_train_val(digits, config.data.val_fraction, split_seed, config.data.train_images)
    if config.data.non_digits > 0:
        split = with_non_digits(split, config.data.non_digits, split_seed)
    model = DigitMLP(size * size, config.model.hidden, len(classes(config)), config.model.dropout).to(device)
    return model, TrainingData(split, config.data, device, generator)


def classes(config: Config) -> list[str]:
    """What the model answers: the ten digits, and "not a digit" when it learns from drawn non-digits."""
    return [*CLASSES, NOT_A_DIGIT] if config.data.non_digits > 0 else CLASSES


def make_optimizer(model: DigitMLP, lr: float, config: Config) -> SGD:
    """SGD with the config's momentum (Nesterov's when asked and possible) and weight decay."""
    cfg = config.train
    nesterov = cfg.nesterov and cfg.momentum > 0
    return SGD(model.parameters(), lr=lr, momentum=cfg.momentum, nesterov=nesterov, weight_decay=cfg.weight_decay)


def resolve_device(config: Config) -> torch.device:
    """train.device: "auto" -> the GPU when there is one, else the CPU; a named device must exist."""
    name, setting, cpu = config.train.device, config.describe("train.device"), config.describe("train.device", "cpu")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"{setting}: CUDA is not available on this machine (try {cpu})")
    if name.startswith("cuda:") and int(name[5:]) >= torch.cuda.device_count():
        raise ConfigError(f"{setting}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    if name == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"{setting}: MPS is not available on this machine (try {cpu})")
    return torch.device(name)


def check_model_fits(config: Config, device: torch.device) -> None:
    """Refuse, before allocating, a network that would not fit: one line, not the allocator's own."""
    sizes = [config.data.image_size**2, *config.model.hidden, len(classes(config))]
    parameters = sum(n_in * n_out + n_out for n_in, n_out in pairwise(sizes))
    needed = parameters * 4 * COPIES_IN_TRAINING
    if device.type == "cuda":
        available = torch.cuda.mem_get_info(device)[0]
    else:
        available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    if needed > available:
        raise DigitsError(
            f"{config.describe('model.hidden')}: a {layers_text(sizes)} network has {parameters:,} "
            f"parameters, and training it needs about {_bytes(needed)}; {device.type} has {_bytes(available)} free"
        )


def _bytes(n: float) -> str:
    power = min(int(math.log10(max(n, 1)) // 3), 4)
    return f"{n / 1000**power:,.1f} {('bytes', 'KB', 'MB', 'GB', 'TB')[power]}"
