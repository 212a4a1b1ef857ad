"""How good a model is on labelled digits: loss, accuracy, per-class precision and recall, the
confusion matrix, and the worst mistakes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DigitsError
from .checkpoint import ModelFile
from .datasets import CLASSES, Digits, load_dataset, load_test_split
from .forward import answers, log_probabilities
from .results import Result

BATCH = 4096  # images through the network at once


@dataclass
class Confusion:
    true: str
    predicted: str
    count: int


@dataclass
class Evaluation(Result):
    checkpoint: Path
    data: str  # where the digits came from
    samples: int
    loss: float  # mean cross-entropy
    accuracy: float
    precision: dict[str, float]  # per class: of those predicted as it, the share that were it
    recall: dict[str, float]  # per class: of those that were it, the share predicted as it
    confusion: np.ndarray  # confusion[true, predicted] counts: a row per digit, a column per answer
    answers: list[str]  # the model's answers: the digits, and "not a digit" where it has it
    most_confused: list[Confusion]  # the commonest mistakes, most frequent first
    skipped: list[str]  # why each image file that could not be read was left out
    missing: list[str]  # the digits an image folder has no subfolder for
    digits: Digits = field(metadata={"json": False})  # the images evaluated, and per image:
    losses: np.ndarray = field(metadata={"json": False})  # its cross-entropy
    predicted: np.ndarray = field(metadata={"json": False})  # the class index read
    confidence: np.ndarray = field(metadata={"json": False})  # the probability of the class read


def load_evaluation_digits(model: ModelFile, data: Path | None = None) -> Digits:
    """The images at `data`, or else the test split of the data the model was trained on."""
    if data is not None:
        return load_dataset(data, model.image_size)
    source = model.config.get("data", {})
    return load_test_split(source.get("source", "sample"), source.get("path", ""), model.image_size)


def evaluate(model: ModelFile, digits: Digits) -> Evaluation:
    """Loss, accuracy, per-class precision and recall and the confusion matrix on `digits`."""
    if digits.images.shape[1:] != (model.image_size, model.image_size):
        raise DigitsError(
            f"{digits.source}: images are {digits.images.shape[1]}×{digits.images.shape[2]}, "
            f"the model reads {model.image_size}×{model.image_size}"
        )
    if len(digits.labels) == 0:
        raise DigitsError(f"{digits.source}: no images to evaluate")
    losses, predicted, confidence = [], [], []
    for start in range(0, len(digits.labels), BATCH):
        labels = digits.labels[start : start + BATCH]
        log_probs = log_probabilities(model, digits.images[start : start + BATCH]).astype(np.float64)
        losses.append(-log_probs[np.arange(len(labels)), labels])
        answered = answers(np.exp(log_probs))
        predicted.append(answered)
        confidence.append(np.exp(log_probs[np.arange(len(labels)), answered]))
    losses, predicted = np.concatenate(losses), np.concatenate(predicted)
    confusion = np.zeros((len(CLASSES), len(model.classes)), dtype=np.int64)
    np.add.at(confusion, (digits.labels, predicted), 1)
    hits = np.diag(confusion).astype(np.float64)  # the square's: "not a digit" is never right here
    read_as, actual = confusion.sum(axis=0)[: len(CLASSES)], confusion.sum(axis=1)
    return Evaluation(
        checkpoint=model.path,
        data=digits.source,
        samples=len(digits.labels),
        loss=float(losses.sum() / len(digits.labels)),
        accuracy=float(hits.sum() / len(digits.labels)),
        precision={c: float(h / p) if p else 0.0 for c, h, p in zip(CLASSES, hits, read_as, strict=True)},
        recall={c: float(h / a) if a else 0.0 for c, h, a in zip(CLASSES, hits, actual, strict=True)},
        confusion=confusion,
        answers=model.classes,
        most_confused=_most_confused(confusion, model.classes),
        skipped=digits.skipped,
        missing=digits.missing,
        digits=digits,
        losses=losses,
        predicted=predicted,
        confidence=np.concatenate(confidence),
    )


def worst_mistakes(result: Evaluation, count: int) -> np.ndarray:
    """Indices of the misread images with the highest loss, highest first, as fast.ai's top_losses."""
    wrong = np.flatnonzero(result.predicted != result.digits.labels)
    return wrong[np.argsort(-result.losses[wrong], kind="stable")][:count]


def _most_confused(confusion: np.ndarray, classes: list[str], top: int = 5) -> list[Confusion]:
    """The commonest mistakes, most frequent first, as fast.ai's most_confused."""
    rows, columns = confusion.shape
    pairs = [(int(confusion[t, p]), t, p) for t in range(rows) for p in range(columns) if t != p]
    pairs = sorted((pair for pair in pairs if pair[0] > 0), key=lambda pair: (-pair[0], pair[1], pair[2]))
    return [Confusion(classes[t], classes[p], count) for count, t, p in pairs[:top]]
