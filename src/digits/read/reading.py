"""What `read` and `predict` answer from the marks number.py finds on a picture: the number, each
digit read by the network; and the one digit, where the number is one digit. One path finds the
marks for both, so they cannot find different digits in one picture.
"""

from __future__ import annotations

import numpy as np

from .checkpoint import ModelFile
from .forward import predictions
from .marks import NoDigitFound
from .number import NumberMark, number_marks, too_small
from .results import DigitReading, NumberReading, Prediction
from .touching import read_touching, runner_up


def read_number(model: ModelFile, name: str, picture: np.ndarray, decoded: float = 1.0) -> NumberReading:
    """Every mark of a number on a picture (grey levels or colours), left to right: each digit
    prepared as a lone digit is, and the separators; boxes in the picture's pixels, the array being
    `decoded` of its size (a large photo is reduced). A mark the model calls no digit between the
    number's digits leaves no number."""
    try:
        ink, marks = number_marks(picture, name, model.image_size)
    except NoDigitFound as e:
        return NumberReading(name, error=str(e), ink=e.ink)
    return read_marks(model, name, ink, marks, decoded)


def read_marks(
    model: ModelFile, name: str, ink: np.ndarray, marks: list[NumberMark], decoded: float = 1.0
) -> NumberReading:
    """The number that `number_marks` found: each digit read, the separators kept."""
    framed = [mark.frame for mark in marks if mark.kind == "digit"]
    # each digit's two likeliest answers: the second makes the runner-up number, where it is unsure
    read = predictions(model, [name] * len(framed), np.stack(framed), 2, False) if framed else []
    number = _number(name, ink, marks, read, decoded)
    if number.number is not None:
        number.runner_up = runner_up(number.digits)
    return number


def _number(
    name: str, ink: np.ndarray, marks: list[NumberMark], read: list[Prediction], decoded: float = 1.0
) -> NumberReading:
    """The number from the marks and the network's reading of each digit-sized one (`read`, in
    order); a mark that holds several digits touching, read by the row reader (touching.py). A mark
    the network calls no digit is left out of the number where it lies past its digits (printed
    text beside a number, a doodle); between them, it leaves no number."""
    if not read:
        return NumberReading(name, error=too_small(name))
    answers = iter(read)
    readings = []
    for mark in marks:
        box = tuple(round(v / decoded) for v in mark.box)
        if mark.kind != "digit":
            readings.append(DigitReading(None, 0.0, False, box, mark.ink_box, mark.kind, mark.text))
            continue
        p = next(answers)
        touching = read_touching(mark, p, decoded)
        if touching is not None:
            readings += touching
            continue
        kind, text = ("not a digit", "") if p.not_a_digit else ("digit", str(p.digit))
        second = p.top_k[1] if len(p.top_k) > 1 and p.top_k[1].digit is not None else None
        readings.append(
            DigitReading(p.digit, p.confidence, p.unsure, box, mark.ink_box, kind, text, mark.frame, second)
        )
    digits = [i for i, r in enumerate(readings) if r.kind == "digit"]
    not_digits = [i for i, r in enumerate(readings) if r.kind == "not a digit"]
    inside = [i for i in not_digits if digits and digits[0] < i < digits[-1]]
    if not digits or inside:
        which = ", ".join(str(i + 1) for i in (inside or not_digits))
        error = f"{name}: no number: mark {which} of {len(readings)} is not a digit"
        return NumberReading(name, None, readings, error=error, ink=ink)
    number = "".join(r.text for r in readings if r.kind in ("digit", "separator"))
    return NumberReading(name, number, readings, ink=ink)


def predict_marks(
    model: ModelFile,
    found: list[tuple[str, tuple[np.ndarray, list[NumberMark]]] | Prediction],
    top_k: int,
    explain: bool,
) -> list[Prediction]:
    """Each picture's Prediction from the marks `number_marks` found on it (or a Prediction already,
    for a picture that could not be read), every digit-sized mark read in one batch. The answer is
    the digit where the number `read` finds is one digit (or the mark's answer, where there is one
    mark and it is not a digit); where it is several, no one digit, and the number, to say why."""
    names, frames = [], []
    for item in found:
        if not isinstance(item, Prediction):
            name, (_, marks) = item
            framed = [mark.frame for mark in marks if mark.kind == "digit"]
            names += [name] * len(framed)
            frames += framed
    read = iter(predictions(model, names, np.stack(frames), top_k, explain) if frames else [])
    results = []
    for item in found:
        if isinstance(item, Prediction):
            results.append(item)
            continue
        name, (ink, marks) = item
        results.append(_one_digit(name, ink, marks, [next(read) for mark in marks if mark.kind == "digit"]))
    return results


def _one_digit(name: str, ink: np.ndarray, marks: list[NumberMark], read: list[Prediction]) -> Prediction:
    """What `predict` answers for a picture, from its marks and the network's reading of each
    digit-sized one: as `read` finds the number there."""
    number = _number(name, ink, marks, read)
    digits = [p for p in read if not p.not_a_digit]
    written = sum(r.kind == "digit" for r in number.digits)  # a mark of touching digits counts each
    if not read:
        return Prediction(name, error=number.error)
    if number.number is not None and written > len(digits):
        return _several(name, written, number.number)
    if len(read) == 1:
        return read[0]
    if not digits:  # several marks, none a digit: the surest of them
        return max(read, key=lambda p: p.confidence)
    if number.number is not None and len(digits) == 1:  # one digit, beside marks that are none
        return digits[0]
    if number.number is None:
        return Prediction(name, error=f"{name}: {len(read)} marks the size of a digit, not one ({number.error})")
    return _several(name, len(digits), number.number)


def _several(name: str, count: int, number: str) -> Prediction:
    """`predict`'s answer for a picture of a number: no one digit, and the number `read` finds."""
    return Prediction(name, error=f"{name}: {count} digits, not one: {number} (read as a number)", number=number)
