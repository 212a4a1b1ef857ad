"""A training run's history, one record per epoch, and what it says about the fit.

Overfitting means validation loss has turned up, beyond its noise, while training loss keeps
falling; underfitting means the model has not yet learned its training images. A gap between
training and validation accuracy alone is neither: on a few hundred images it is mostly noise.
Plain Python, no torch: the CLI and tests read histories without it.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

UNDERFIT_ACCURACY = 0.95  # below this training accuracy a digit model has not learned enough
RISE_TOLERANCE = 0.05  # a loss this far (relative) from where it was has risen or fallen...
PATIENCE = 3  # ...when the minimum is at least this many epochs old (one bad epoch is noise)


class Fit(Enum):
    """How well a model fits, as of an epoch or for a whole run."""

    GOOD = "good"
    UNDERFIT = "underfit"
    OVERFIT = "overfit"

    @property
    def verdict(self) -> str:
        return {"good": "good fit", "underfit": "underfitting", "overfit": "overfitting"}[self.value]

    @property
    def colour(self) -> str:
        return {"good": "green", "underfit": "yellow", "overfit": "red"}[self.value]


@dataclass
class EpochRecord:
    epoch: int
    train_loss: float
    val_loss: float
    train_accuracy: float
    val_accuracy: float
    lr: float
    seconds: float
    fit: Fit = Fit.GOOD  # the fit as of this epoch, from this and the earlier records

    def as_row(self) -> dict[str, Any]:
        """The record as plain values (the fit as its name), for a CSV row or a resume state."""
        return {**dataclasses.asdict(self), "fit": self.fit.value}

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> EpochRecord:
        return cls(**{**row, "fit": Fit(row["fit"])})


@dataclass
class Diagnosis:
    fit: Fit
    advice: str  # one line, naming the config keys worth changing for this run


def epoch_fit(history: Sequence[EpochRecord]) -> Fit:
    """The fit as of the last epoch in `history`."""
    last = history[-1]
    best = min(history, key=lambda r: r.val_loss)
    val_rose = last.epoch - best.epoch >= PATIENCE and last.val_loss > best.val_loss * (1 + RISE_TOLERANCE)
    train_fell = last.train_loss < best.train_loss * (1 - RISE_TOLERANCE)
    if last.train_accuracy < UNDERFIT_ACCURACY:  # still learning: a bump in val loss is noise
        return Fit.UNDERFIT
    if val_rose and train_fell:
        return Fit.OVERFIT
    return Fit.GOOD


def diagnose(history: Sequence[EpochRecord], config: Any) -> Diagnosis:
    """The verdict on a whole run, with advice that fits the run's own config (a digits Config)."""
    fit = epoch_fit(history)
    best = min(history, key=lambda r: r.val_loss)
    if fit is Fit.OVERFIT:
        remedies = []
        if not config.data.augment:
            remedies.append("data.augment = true")
        elif not config.data.elastic:
            remedies.append("data.elastic = true")
        remedies.append(f"a higher train.weight_decay than {config.train.weight_decay:g}")
        if config.model.dropout == 0:
            remedies.append("model.dropout = 0.2")
        remedies.append(f"narrower model.hidden than {config.model.hidden}")
        return Diagnosis(
            fit,
            f"validation loss has risen since epoch {best.epoch}, whose model is the one saved; "
            f"to generalize further try {', '.join(remedies[:-1])} or {remedies[-1]}",
        )
    if fit is Fit.UNDERFIT:
        return Diagnosis(
            fit,
            f"training accuracy is {history[-1].train_accuracy:.1%}: train for more than {config.train.epochs} "
            f"epochs, raise train.lr above {config.train.lr:g} or widen model.hidden beyond {config.model.hidden}",
        )
    return Diagnosis(fit, f"training and validation loss fell together; the best model (epoch {best.epoch}) is saved")


def history_csv(history: Sequence[EpochRecord]) -> str:
    """The history as CSV, one row per epoch; floats to 6 significant digits."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=[f.name for f in dataclasses.fields(EpochRecord)], lineterminator="\n")
    writer.writeheader()
    for record in history:
        writer.writerow({k: f"{v:.6g}" if isinstance(v, float) else v for k, v in record.as_row().items()})
    return text.getvalue()
