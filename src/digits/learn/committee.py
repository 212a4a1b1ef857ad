"""A committee: several networks of one shape, trained apart on the same split with different
seeds, whose probabilities are averaged. Their mistakes differ more than their right answers do,
so the average is right more often than any one of them (the MNIST records of the 2010s were
committees). `digits committee` joins trained model files into one, and judges each network and
the committee on the validation images they all held out.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DigitsError
from ..read.checkpoint import ModelFile, load_model_file, network_prefixes, save_model
from ..read.datasets import CLASSES
from ..read.forward import answers, log_probabilities
from ..read.results import Result
from .config import DataConfig
from .data import load_training_split, split_train_val, with_non_digits

# what the networks must share to be averaged: their input, answers and the data they were split from
SHARED = ("layer_sizes", "image_size", "mean", "std", "classes")
SHARED_DATA = ("source", "image_size", "val_fraction", "train_images", "non_digits")
# A committee's weights are stored as float16, half the size: the shipped committee's loss and
# accuracy on its 6,599 validation images are the same as in float32 to four places, and its file
# keeps the reader's install under 320 MB. They are read, and run, as float32.
STORED = np.float16


@dataclass
class Judged:
    """A network's, or the committee's, loss and accuracy on the validation images (with their drawn
    non-digits, as training judged it), and its accuracy on their digits alone."""

    name: str
    val_loss: float
    val_accuracy: float
    val_digit_accuracy: float


@dataclass
class Committee(Result):
    path: Path
    networks: list[Judged] = field(default_factory=list)
    committee: Judged | None = None
    val_images: int = 0


def join_committee(paths: list[Path], output: Path, data_path: str | None = None) -> Committee:
    """The model files at `paths` joined into one committee file at `output`, each network and the
    committee judged on the validation split they share (MNIST read from `data_path`, or from where
    the first one's config says)."""
    if len(paths) < 2:
        raise DigitsError("a committee needs two model files at least")
    models = [load_model_file(path) for path in paths]
    for model in models:
        if len(model.networks) > 1:
            raise DigitsError(f"{model.path}: a committee already; join the networks it was made from")
    first = models[0]
    for model in models[1:]:
        if _split_of(model) != _split_of(first):
            raise DigitsError(
                f"{model.path}: it was split from other data than {first.path} (set data.split_seed to train "
                "networks that hold out the same validation images)"
            )
        for key in SHARED:
            if getattr(model, key) != getattr(first, key):
                raise DigitsError(
                    f"{model.path}: its {key} differs from {first.path}'s; a committee's networks share it"
                )
    val = _validation(first, data_path)
    joined = dataclasses.replace(first, path=Path(output), networks=[m.networks[0] for m in models])
    judged = [_judged(m, str(m.path), val) for m in models]
    result = Committee(output, judged, _judged(joined, "committee", val), len(val.labels))
    state = {
        f"{prefix}layers.{i}.{kind}": tensor.astype(STORED)
        for prefix, network in zip(network_prefixes(len(models)), joined.networks, strict=True)
        for i, (weight, bias) in enumerate(zip(network.weights, network.biases, strict=True))
        for kind, tensor in (("weight", weight), ("bias", bias))
    }
    metrics = {key: getattr(result.committee, key) for key in ("val_loss", "val_accuracy", "val_digit_accuracy")}
    metrics["networks"] = [{"file": m.path.name, **m.metrics} for m in models]
    save_model(
        Path(output),
        state,
        layer_sizes=first.layer_sizes,
        image_size=first.image_size,
        mean=first.mean,
        std=first.std,
        classes=first.classes,
        config=first.config,
        metrics=metrics,
        members=len(models),
    )
    return result


def _data(model: ModelFile) -> dict:
    """The model's data config, with the defaults of keys added since it was written."""
    return {**dataclasses.asdict(DataConfig()), **model.config["data"]}


def _split_of(model: ModelFile) -> tuple:
    data = _data(model)
    seed = model.config["train"]["seed"] if data["split_seed"] == -1 else data["split_seed"]
    return (*(data[key] for key in SHARED_DATA), seed)


def _validation(model: ModelFile, data_path: str | None):
    """The validation images the model's training held out, with their drawn non-digits."""
    data = _data(model)
    digits = load_training_split(data["source"], data_path or data["path"], model.image_size)
    seed = _split_of(model)[-1]
    split = split_train_val(digits, data["val_fraction"], seed, data["train_images"])
    if data["non_digits"] > 0:
        split = with_non_digits(split, data["non_digits"], seed)
    return split.val


def _judged(model: ModelFile, name: str, val) -> Judged:
    log_probs = np.concatenate(
        [log_probabilities(model, val.images[i : i + 2048]) for i in range(0, len(val.labels), 2048)]
    ).astype(np.float64)
    answered = answers(log_probs)
    digits = val.labels < len(CLASSES)
    right = answered == val.labels
    loss = float(-log_probs[np.arange(len(val.labels)), val.labels].mean())
    return Judged(name, loss, float(right.mean()), float(right[digits].mean()))
