"""The forward pass in numpy: pixels -> each layer's activations -> scores -> probabilities -> an
answer, and the Prediction a person reads.

A stack of Linear+ReLU layers is a few matrix products; numpy does them in microseconds, while
importing torch takes seconds. So evaluate, predict and the server never import torch.
"""

from __future__ import annotations

import numpy as np

from .checkpoint import ModelFile
from .datasets import NOT_A_DIGIT, normalize
from .results import Likelihood, Prediction

# Below this confidence a reading is marked unsure: on the shipped model's validation digits, the
# readings from 80% to 90% sure were right 86.5% of the time, those below still less often, and those
# from 90% to 95% 97.1% (benchmarks/calibration.py chooses it and measures it).
UNSURE_BELOW = 0.9


def activations(model: ModelFile, images: np.ndarray, network: int = 0) -> list[np.ndarray]:
    """What each layer of one network (a committee's first, by default) computes for uint8 pixels
    (N, size, size): the hidden ReLU outputs, then the class scores (N, classes), as DigitMLP
    computes them."""
    x = normalize(images, model.mean, model.std)
    computed = []
    layers = model.networks[network]
    for i, (weight, bias) in enumerate(zip(layers.weights, layers.biases, strict=True)):
        x = x @ weight.T + bias
        if i < len(layers.weights) - 1:
            x = np.maximum(x, 0)
        computed.append(x)
    return computed


def log_probabilities(model: ModelFile, images: np.ndarray) -> np.ndarray:
    """log(softmax) of the scores; a committee's, the log of its networks' probabilities averaged
    (taken as a log-sum-exp, so that none underflows)."""
    each = np.stack([log_softmax(activations(model, images, k)[-1]) for k in range(len(model.networks))])
    if len(each) == 1:
        return each[0]
    top = each.max(axis=0)
    return top + np.log(np.exp(each - top).mean(axis=0))


def probabilities(model: ModelFile, images: np.ndarray) -> np.ndarray:
    """Each answer's probability, each row summing to 1; a committee's, the average of its networks'."""
    return np.exp(log_probabilities(model, images))


def answers(probs: np.ndarray) -> np.ndarray:
    """Each row's answer, a class index: the likeliest of all, "not a digit" (index 10, where the model
    has it) as much as a digit. One rule everywhere, so that what a reading names is what its bars
    show, and an ONNX graph's argmax (its "answer" output) is evaluate's answer."""
    return probs.argmax(axis=1)


def not_a_digit_text(confidence: float, unsure: bool) -> str:
    """How a "not a digit" answer reads: "not a digit (97% sure it is none of 0–9)", or where the model
    is unsure, "unsure: probably not a digit (88%)"."""
    if unsure:
        return f"unsure: probably not a digit ({confidence:.0%})"
    return f"not a digit ({confidence:.0%} sure it is none of 0–9)"


def log_softmax(scores: np.ndarray) -> np.ndarray:
    """log(softmax) of each row, shifted by its largest score first, so that exp cannot overflow."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def predictions(model: ModelFile, paths: list[str], pixels: np.ndarray, top_k: int, explain: bool) -> list[Prediction]:
    """Each digit's Prediction from its pixels (N, size, size), named by `paths`; with `explain`, the
    ReLUs that fired in each hidden layer (a committee's first network's)."""
    computed = activations(model, pixels) if explain else []
    probs = probabilities(model, pixels)
    named = [None if name == NOT_A_DIGIT else int(name) for name in model.classes]
    predictions = []
    for i, (path, row, answer) in enumerate(zip(paths, probs, answers(probs), strict=True)):
        order = [answer, *(j for j in np.argsort(-row, kind="stable") if j != answer)][:top_k]
        top = [Likelihood(named[j], float(row[j])) for j in order]
        fired = [int((layer[i] > 0).sum()) for layer in computed[:-1]] if explain else None
        confidence = top[0].probability
        none = top[0].digit is None
        unsure = confidence < UNSURE_BELOW
        predictions.append(
            Prediction(
                path,
                digit=top[0].digit,
                confidence=confidence,
                unsure=unsure,
                top_k=top,
                error=f"{path}: {not_a_digit_text(confidence, unsure)}" if none else None,
                not_a_digit=none,
                probabilities=row.tolist(),
                relus_fired=fired,
                pixels=pixels[i],
            )
        )
    return predictions
