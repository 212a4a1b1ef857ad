"""What reading gives back (a Prediction for a digit, a NumberReading for a number), and every result
as plain JSON values: one way for the CLI's --json, the Python API and the server alike."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


def as_json(result: Any, include: tuple[str, ...] = ()) -> Any:
    """A result (dataclass) as dicts, lists, numbers and strings: its fields, less those marked
    `metadata={"json": False}` unless named in `include`; enums by value, paths and arrays plain."""
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        return {
            f.name: as_json(getattr(result, f.name), include)
            for f in dataclasses.fields(result)
            if f.metadata.get("json", True) or f.name in include
        }
    if isinstance(result, Enum):
        return result.value
    if isinstance(result, Path):
        return str(result)
    if isinstance(result, dict):
        return {str(k): as_json(v, include) for k, v in result.items()}
    if isinstance(result, list | tuple):
        return [as_json(v, include) for v in result]
    if hasattr(result, "tolist"):  # numpy arrays and scalars
        return result.tolist()
    if isinstance(result, float) and not math.isfinite(result):
        return None  # JSON has no NaN or infinity: a diverged loss is null
    return result


def layers_text(sizes: list[int]) -> str:
    """A network's layer sizes as people write them: 784-512-256-10."""
    return "-".join(map(str, sizes))


class Result:
    """A result of digits (a reading, an evaluation, a training run): `to_dict()` gives it as plain
    JSON values, exactly as `--json` prints it."""

    def to_dict(self) -> dict[str, Any]:
        return as_json(self)


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
    number: str | None = None  # where the picture holds several digits, not one: the number `read` finds
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
    # a digit-sized mark's matrix as the network read it (image_size × image_size, 0 = paper), for the page
    pixels: np.ndarray | None = field(default=None, repr=False, metadata={"json": False})
    # a digit's next likeliest answer: where the digit is unsure, it makes the number's runner-up
    second: Likelihood | None = field(default=None, repr=False, metadata={"json": False})


@dataclass
class NumberReading(Result):
    path: str
    number: str | None = None  # digits and separators left to right, as a string so that leading zeros stay
    digits: list[DigitReading] = field(default_factory=list)  # every mark, left to right
    error: str | None = None  # why there is no number, for a person
    failed: bool = False  # the file could not be read (a blank page is not a failure)
    model: str = ""  # the model file that read it
    runner_up: str | None = None  # where a digit is unsure: the number with its next likeliest answer
    # the ink found, 0–255 (uint8), as the reader saw the page: at most marks.WORK_SIDE a side
    ink: np.ndarray | None = field(default=None, repr=False, metadata={"json": False})
