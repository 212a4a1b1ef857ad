"""Using a trained model: the forward pass in numpy, evaluation metrics, predictions for files.

A stack of Linear+ReLU layers is a few matrix products; numpy does them in microseconds,
while importing torch takes seconds. So evaluate and predict never import torch.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from itertools import islice
from pathlib import Path

import numpy as np

from .checkpoint import ModelFile
from .data import Digits, load_dataset, load_source, normalize
from .errors import DigitsError
from .images import NoDigitFound, list_images, read_digit_image

BATCH = 4096
CHUNK = 256  # images read ahead and run through the network together


def activations(model: ModelFile, images: np.ndarray) -> list[np.ndarray]:
    """What each layer computes for uint8 pixels (N, size, size): the hidden ReLU outputs, then the
    class scores (N, classes), as DigitMLP computes them."""
    x = normalize(images, model.mean, model.std)
    computed = []
    for i, (weight, bias) in enumerate(zip(model.weights, model.biases, strict=True)):
        x = x @ weight.T + bias
        if i < len(model.weights) - 1:
            x = np.maximum(x, 0)
        computed.append(x)
    return computed


def logits(model: ModelFile, images: np.ndarray) -> np.ndarray:
    """uint8 pixels (N, size, size) -> class scores (N, classes)."""
    return activations(model, images)[-1]


def relus_fired(model: ModelFile, pixels: np.ndarray) -> list[int]:
    """For one image (size, size): how many ReLUs of each hidden layer let something through."""
    return [int((layer > 0).sum()) for layer in activations(model, pixels[None])[:-1]]


def layer_summary(model: ModelFile) -> list[dict]:
    """Each layer's weight shape, bias length, parameter count and activations for one image."""
    return [
        {
            "layer": i,
            "weights": list(weight.shape),
            "biases": len(bias),
            "parameters": int(weight.size + bias.size),
            "activations": len(bias),
            "activation": "ReLU" if i < len(model.weights) else "scores",
        }
        for i, (weight, bias) in enumerate(zip(model.weights, model.biases, strict=True), 1)
    ]


def most_confused(confusion: np.ndarray, classes: list[str], top: int = 5) -> list[tuple[str, str, int]]:
    """The commonest mistakes as (true, predicted, count), most frequent first, as fast.ai's most_confused."""
    pairs = [(int(confusion[t, p]), t, p) for t in range(len(classes)) for p in range(len(classes)) if t != p]
    pairs = sorted((pair for pair in pairs if pair[0] > 0), key=lambda pair: (-pair[0], pair[1], pair[2]))
    return [(classes[t], classes[p], count) for count, t, p in pairs[:top]]


def probabilities(model: ModelFile, images: np.ndarray) -> np.ndarray:
    """Softmax of the scores: each row sums to 1."""
    scores = logits(model, images)
    scores = np.exp(scores - scores.max(axis=1, keepdims=True))
    return scores / scores.sum(axis=1, keepdims=True)


@dataclass
class Evaluation:
    samples: int
    loss: float  # mean cross-entropy
    accuracy: float
    confusion: np.ndarray  # confusion[true, predicted] counts
    precision: list[float]  # per class: of those predicted as it, the share that were it
    recall: list[float]  # per class: of those that were it, the share predicted as it
    source: str
    losses: np.ndarray  # per image: its cross-entropy
    predicted: np.ndarray  # per image: the class index read
    confidence: np.ndarray  # per image: the probability of the class read


def test_digits(model: ModelFile, data: Path | None = None) -> Digits:
    """The images at `data`, or else the test split of the data the model was trained on."""
    if data is not None:
        return load_dataset(data, model.image_size)
    source = model.config.get("data", {})
    return load_source(source.get("source", "sample"), source.get("path", ""), "test", model.image_size)


def evaluate(model: ModelFile, digits: Digits) -> Evaluation:
    """Loss, accuracy, per-class precision and recall and the confusion matrix on `digits`."""
    if digits.images.shape[1:] != (model.image_size, model.image_size):
        raise DigitsError(
            f"{digits.source}: images are {digits.images.shape[1]}×{digits.images.shape[2]}, "
            f"the model reads {model.image_size}×{model.image_size}"
        )
    if len(digits.labels) == 0:
        raise DigitsError(f"{digits.source}: no images to evaluate")
    classes = len(model.classes)
    losses, predicted, confidence = [], [], []
    for start in range(0, len(digits.labels), BATCH):
        labels = digits.labels[start : start + BATCH]
        scores = logits(model, digits.images[start : start + BATCH]).astype(np.float64)
        shifted = scores - scores.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        losses.append(-log_probs[np.arange(len(labels)), labels])
        predicted.append(log_probs.argmax(axis=1))
        confidence.append(np.exp(log_probs.max(axis=1)))
    losses, predicted = np.concatenate(losses), np.concatenate(predicted)
    confusion = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(confusion, (digits.labels, predicted), 1)
    total_loss = losses.sum()
    hits = np.diag(confusion).astype(np.float64)
    read_as, actual = confusion.sum(axis=0), confusion.sum(axis=1)
    return Evaluation(
        samples=len(digits.labels),
        loss=total_loss / len(digits.labels),
        accuracy=float(hits.sum() / len(digits.labels)),
        confusion=confusion,
        precision=[float(h / p) if p else 0.0 for h, p in zip(hits, read_as, strict=True)],
        recall=[float(h / a) if a else 0.0 for h, a in zip(hits, actual, strict=False)],
        source=digits.source,
        losses=losses,
        predicted=predicted,
        confidence=np.concatenate(confidence),
    )


def worst_mistakes(result: Evaluation, labels: np.ndarray, count: int) -> np.ndarray:
    """Indices of the misread images with the highest loss, highest first, as fast.ai's top_losses."""
    wrong = np.flatnonzero(result.predicted != labels)
    return wrong[np.argsort(-result.losses[wrong], kind="stable")][:count]


@dataclass
class Prediction:
    path: str
    digit: str | None = None  # None when the image holds no digit or could not be read
    confidence: float = 0.0
    top: list[tuple[str, float]] = field(default_factory=list)  # the k likeliest, with probabilities
    message: str | None = None  # why there is no digit, for a person
    failed: bool = False  # the file could not be read (a blank page is not a failure)
    pixels: np.ndarray | None = None  # the matrix the model read


def predict_paths(model: ModelFile, paths: Iterable[Path], top_k: int = 1) -> Iterator[Prediction]:
    """Predictions for image files and directories of them, in order; bad files yield an error.

    A stream: files are read and normalized a chunk at a time, by a process per core once
    there are more than a chunk's worth (reading is Python and numpy work that threads would
    serialize on the GIL), and each chunk goes through the network in one batch.
    """
    files = _files(paths)
    chunk = list(islice(files, CHUNK))
    if len(chunk) < CHUNK:  # a handful of files: not worth starting workers
        yield from _predict_chunk(model, chunk, top_k, map)
        return
    # Ctrl-C is the parent's to handle: workers that caught it too would each print a traceback
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1, initializer=_ignore_interrupts) as pool:
        while chunk:
            yield from _predict_chunk(model, chunk, top_k, partial(pool.map, chunksize=16))
            chunk = list(islice(files, CHUNK))


def likeliest(model: ModelFile, pixels: np.ndarray, k: int = 1) -> list[tuple[str, float]]:
    """The k likeliest classes for one image (size, size), with their probabilities, likeliest first."""
    return _top(model, probabilities(model, pixels[None])[0], k)


def _files(paths: Iterable[Path]) -> Iterator[Path | Prediction]:
    """Each file, in order, with directories opened; a directory with no images is a failure."""
    for path in map(Path, paths):
        if path.is_dir():
            files = list_images(path)
            if not files:
                yield Prediction(str(path), message=f"{path}: no images in this directory", failed=True)
            yield from files
        else:
            yield path


def _predict_chunk(
    model: ModelFile, chunk: list[Path | Prediction], top_k: int, mapper: Callable
) -> Iterator[Prediction]:
    paths = [item for item in chunk if isinstance(item, Path)]
    read = iter(mapper(partial(_read, image_size=model.image_size), paths))
    results = [item if isinstance(item, Prediction) else next(read) for item in chunk]
    ready = [i for i, item in enumerate(results) if isinstance(item, np.ndarray)]
    if ready:
        probs = probabilities(model, np.stack([results[i] for i in ready]))
        for i, row in zip(ready, probs, strict=True):
            top = _top(model, row, top_k)
            results[i] = Prediction(str(chunk[i]), digit=top[0][0], confidence=top[0][1], top=top, pixels=results[i])
    yield from results


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _read(path: Path, image_size: int) -> np.ndarray | Prediction:
    try:
        return read_digit_image(path, image_size)
    except NoDigitFound as e:
        return Prediction(str(path), message=str(e))
    except DigitsError as e:
        return Prediction(str(path), message=str(e), failed=True)


def _top(model: ModelFile, probs: np.ndarray, k: int) -> list[tuple[str, float]]:
    return [(model.classes[i], float(probs[i])) for i in np.argsort(-probs, kind="stable")[:k]]
