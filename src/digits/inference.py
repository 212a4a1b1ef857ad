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
from .data import CLASSES, NOT_A_DIGIT, Digits, load_dataset, load_source, normalize
from .errors import DigitsError
from .framing import read_digit_image
from .images import list_images
from .number import number_marks
from .page import NoDigitFound
from .results import Result

BATCH = 4096
CHUNK = 256  # images read ahead and run through the network together
# Below this confidence a reading is marked unsure: on the shipped model's validation digits, the
# readings from 80% to 90% sure were right 86.5% of the time, those below still less often, and those
# from 90% to 95% 97.1% (benchmarks/calibration.py chooses it and measures it).
UNSURE_BELOW = 0.9
# "not a digit" is the answer when the model gives it this much at least, and more than any digit;
# with less, the likeliest digit, marked unsure, is the better answer: on the shipped model's
# validation digits, all 6 it called no digit with less had their own digit likeliest of the ten
NOT_A_DIGIT_FROM = 0.95


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


@dataclass
class Layer:
    layer: int  # 1 for the first
    weights: tuple[int, int]  # the weight matrix's shape: (outputs, inputs)
    biases: int
    parameters: int
    activations: int  # numbers the layer computes for one image
    activation: str  # "ReLU" for a hidden layer, "scores" for the last


@dataclass
class ModelSummary(Result):
    """What a model is made of and how it was trained, as `digits info` shows it."""

    checkpoint: Path
    layer_sizes: list[int]
    layers: list[Layer]
    parameters: int
    image_size: int
    mean: float
    std: float
    classes: list[str]
    metrics: dict
    config: dict
    versions: dict


def summarize(model: ModelFile) -> ModelSummary:
    """Each layer's weight shape, bias length, parameter count and activations, and the totals."""
    layers = [
        Layer(
            i,
            weight.shape,
            len(bias),
            int(weight.size + bias.size),
            len(bias),
            "ReLU" if i < len(model.weights) else "scores",
        )
        for i, (weight, bias) in enumerate(zip(model.weights, model.biases, strict=True), 1)
    ]
    return ModelSummary(
        model.path,
        model.layer_sizes,
        layers,
        sum(layer.parameters for layer in layers),
        model.image_size,
        model.mean,
        model.std,
        model.classes,
        model.metrics,
        model.config,
        model.versions,
    )


def probabilities(model: ModelFile, images: np.ndarray) -> np.ndarray:
    """Softmax of the scores: each row sums to 1."""
    return _softmax(logits(model, images))


def answers(probs: np.ndarray) -> np.ndarray:
    """Each row's answer, a class index: the likeliest digit, or "not a digit" (index 10, where the
    model has it) when that is likelier and has NOT_A_DIGIT_FROM at least."""
    digit = probs[:, : len(CLASSES)].argmax(axis=1)
    if probs.shape[1] == len(CLASSES):
        return digit
    none = probs[:, len(CLASSES)]
    refused = (none >= NOT_A_DIGIT_FROM) & (none > probs[np.arange(len(probs)), digit])
    return np.where(refused, len(CLASSES), digit)


def _softmax(scores: np.ndarray) -> np.ndarray:
    scores = np.exp(scores - scores.max(axis=1, keepdims=True))
    return scores / scores.sum(axis=1, keepdims=True)


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
    losses, predicted, confidence = [], [], []
    for start in range(0, len(digits.labels), BATCH):
        labels = digits.labels[start : start + BATCH]
        scores = logits(model, digits.images[start : start + BATCH]).astype(np.float64)
        shifted = scores - scores.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
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


@dataclass
class Likelihood:
    digit: int | None  # None: not a digit
    probability: float


@dataclass
class Prediction(Result):
    path: str
    digit: int | None = None  # None when the image holds no digit, is not a digit, or could not be read
    confidence: float = 0.0  # of the digit read, or that it is not a digit
    unsure: bool = False  # confidence below UNSURE_BELOW: such readings are often wrong
    top_k: list[Likelihood] = field(default_factory=list, repr=False)  # the k likeliest, likeliest first
    error: str | None = None  # why there is no digit, for a person
    failed: bool = False  # the file could not be read (a blank page is not a failure)
    not_a_digit: bool = False  # there is writing, and the model answers that it is none of 0–9
    probabilities: list[float] | None = field(default=None, repr=False)  # of 0 to 9, then "not a digit" if it has one
    relus_fired: list[int] | None = field(default=None, repr=False)  # with explain: ReLUs that let something through
    model: str = ""  # the model file that read it
    pixels: np.ndarray | None = field(default=None, repr=False, metadata={"json": False})  # the matrix the model read


@dataclass
class DigitReading:
    """One mark of a number: a digit, a separator (. , - / :), not a digit, or a mark left out."""

    digit: int | None  # None for any mark but a digit
    confidence: float  # of the digit, or that the mark is not a digit; 0 for the others
    unsure: bool
    box: tuple[int, int, int, int]  # (left, top, right, bottom) in the image's pixels
    ink_box: tuple[int, int, int, int] = field(
        repr=False, metadata={"json": False}
    )  # the same box in NumberReading.ink
    kind: str = "digit"  # "digit", "separator", "not a digit" or "left out"
    text: str = ""  # what it adds to the number: the digit or the separator; for a mark left out, why


@dataclass
class NumberReading(Result):
    path: str
    number: str | None = None  # digits and separators left to right, as a string so that leading zeros stay
    digits: list[DigitReading] = field(default_factory=list)  # every mark, left to right
    error: str | None = None  # why there is no number, for a person
    failed: bool = False  # the file could not be read (a blank page is not a failure)
    model: str = ""  # the model file that read it
    # the ink found, 0–255 (uint8), as the reader saw the page: at most page.WORK_SIDE a side, turned upright
    ink: np.ndarray | None = field(default=None, repr=False, metadata={"json": False})


def read_number(model: ModelFile, name: str, gray: np.ndarray, decoded: float = 1.0) -> NumberReading:
    """Every mark of a number on a page of grey levels, left to right: each digit prepared as a lone
    digit is, and the separators; boxes in the picture's pixels, the grey levels being `decoded` of
    its size (a large photo is reduced). A mark the model calls no digit leaves no number."""
    try:
        ink, marks = number_marks(gray, name, model.image_size)
    except NoDigitFound as e:
        return NumberReading(name, error=str(e), ink=e.ink)
    framed = [mark for mark in marks if mark.kind == "digit"]
    if not framed:
        return NumberReading(name, error=f"{name}: no digit found, only marks too small for one")
    predictions = iter(_predictions(model, [name] * len(framed), np.stack([m.frame for m in framed]), 1, False))
    readings = []
    for mark in marks:
        box = tuple(round(v / decoded) for v in mark.box)
        if mark.kind != "digit":
            readings.append(DigitReading(None, 0.0, False, box, mark.ink_box, mark.kind, mark.text))
            continue
        p = next(predictions)
        kind, text = ("not a digit", "") if p.not_a_digit else ("digit", str(p.digit))
        readings.append(DigitReading(p.digit, p.confidence, p.unsure, box, mark.ink_box, kind, text))
    not_digits = [i for i, r in enumerate(readings, 1) if r.kind == "not a digit"]
    if not_digits:
        which = ", ".join(map(str, not_digits))
        error = f"{name}: no number: mark {which} of {len(readings)} is not a digit"
        return NumberReading(name, None, readings, error=error, ink=ink)
    number = "".join(r.text for r in readings if r.kind in ("digit", "separator"))
    return NumberReading(name, number, readings, ink=ink)


def predict_paths(
    model: ModelFile, paths: Iterable[Path], top_k: int = 1, explain: bool = False, processes: bool = True
) -> Iterator[Prediction]:
    """Predictions for image files and directories of them, in order; bad files yield an error.

    A stream: files are read and normalized a chunk at a time, by a process per core once
    there are more than a chunk's worth (reading is Python and numpy work that threads would
    serialize on the GIL; `processes=False` reads in this process, as a cluster's worker must),
    and each chunk goes through the network in one batch.
    """
    files = _files(paths)
    chunk = list(islice(files, CHUNK))
    if len(chunk) < CHUNK or not processes:  # a handful of files: not worth starting workers
        while chunk:
            yield from _predict_chunk(model, chunk, top_k, explain, map)
            chunk = list(islice(files, CHUNK))
        return
    # Ctrl-C is the parent's to handle: workers that caught it too would each print a traceback
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1, initializer=_ignore_interrupts) as pool:
        while chunk:
            yield from _predict_chunk(model, chunk, top_k, explain, partial(pool.map, chunksize=16))
            chunk = list(islice(files, CHUNK))


def predict_pixels(
    model: ModelFile, path: str, pixels: np.ndarray, top_k: int = 1, explain: bool = False
) -> Prediction:
    """The prediction for one digit already read into pixels (size, size)."""
    return _predictions(model, [path], pixels[None], top_k, explain)[0]


def _predictions(model: ModelFile, paths: list[str], pixels: np.ndarray, top_k: int, explain: bool) -> list[Prediction]:
    computed = activations(model, pixels)
    probs = _softmax(computed[-1])
    named = [None if name == NOT_A_DIGIT else int(name) for name in model.classes]
    predictions = []
    for i, (path, row, answer) in enumerate(zip(paths, probs, answers(probs), strict=True)):
        order = [answer, *(j for j in np.argsort(-row, kind="stable") if j != answer)][:top_k]
        top = [Likelihood(named[j], float(row[j])) for j in order]
        fired = [int((layer[i] > 0).sum()) for layer in computed[:-1]] if explain else None
        confidence = top[0].probability
        none = top[0].digit is None
        predictions.append(
            Prediction(
                path,
                digit=top[0].digit,
                confidence=confidence,
                unsure=confidence < UNSURE_BELOW,
                top_k=top,
                error=f"{path}: not a digit ({confidence:.0%} sure it is none of 0–9)" if none else None,
                not_a_digit=none,
                probabilities=row.tolist(),
                relus_fired=fired,
                pixels=pixels[i],
            )
        )
    return predictions


def _files(paths: Iterable[Path]) -> Iterator[Path | Prediction]:
    """Each file, in order, with directories opened; a directory with no images is a failure."""
    for path in map(Path, paths):
        if path.is_dir():
            files = list_images(path)
            if not files:
                yield Prediction(str(path), error=f"{path}: no images in this directory", failed=True)
            yield from files
        else:
            yield path


def _predict_chunk(
    model: ModelFile, chunk: list[Path | Prediction], top_k: int, explain: bool, mapper: Callable
) -> Iterator[Prediction]:
    paths = [item for item in chunk if isinstance(item, Path)]
    read = iter(mapper(partial(_read, image_size=model.image_size), paths))
    results = [item if isinstance(item, Prediction) else next(read) for item in chunk]
    ready = [i for i, item in enumerate(results) if isinstance(item, np.ndarray)]
    if ready:
        pixels = np.stack([results[i] for i in ready])
        for i, prediction in zip(
            ready, _predictions(model, [str(chunk[i]) for i in ready], pixels, top_k, explain), strict=True
        ):
            results[i] = prediction
    yield from results


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _read(path: Path, image_size: int) -> np.ndarray | Prediction:
    try:
        return read_digit_image(path, image_size)
    except NoDigitFound as e:
        return Prediction(str(path), error=str(e))
    except DigitsError as e:
        return Prediction(str(path), error=str(e), failed=True)
