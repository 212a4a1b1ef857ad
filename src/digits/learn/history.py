"""A training run's history, one record per epoch, and what it says about the fit.

Overfitting means validation loss has stopped improving for a few epochs while training loss
keeps falling: the model learns its training images by heart. Underfitting means it has not
learned them yet, or is still learning: a good fit needs validation loss to have levelled off.
A gap between training and validation accuracy alone is neither: on a few hundred images it
is mostly noise. A learning rate is too high when the training loss climbs mid-run.
Plain Python, no torch: the CLI and tests read histories without it.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, get_type_hints

from ..errors import DigitsError, first_line

UNDERFIT_ACCURACY = 0.95  # below this training accuracy a digit model has not learned enough
RISE_TOLERANCE = 0.05  # a loss this far (relative) from where it was has risen or fallen...
PATIENCE = 3  # ...when the minimum is at least this many epochs old (one bad epoch is noise)
LEVELLING_EPOCHS = 2  # validation loss has levelled off when its best improved less than RISE_TOLERANCE over these
SMOOTHING = 0.98  # exponential moving average of the batch losses, as fast.ai's lr_find smooths them
OVERSHOOT = 0.03  # the smoothed batch loss this far above its lowest, as a share of its first value: the
# steps overshoot. Noise alone took it to 2.0% (lr 0.02–0.1, 2 seeds, 4 epochs, configs default and hidden);
# lr 0.3 to 4.5–17.6%.


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
    lr: float  # the mean learning rate of the epoch's steps
    seconds: float
    fit: Fit = Fit.GOOD  # the fit as of this epoch, from this and the earlier records
    overshoot: float = 0.0  # how far the smoothed training loss rose above its lowest this epoch (SmoothedLoss)

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


class SmoothedLoss:
    """The training loss batch by batch, smoothed as fast.ai smooths it, remembering its first and lowest.

    An exponential moving average, corrected for its start at 0. When the smoothed loss climbs
    well above its lowest, the learning rate is too high: each step overshoots the minimum.
    """

    def __init__(self) -> None:
        self.average, self.count, self.first, self.lowest = 0.0, 0, math.nan, math.inf

    def add(self, loss: float) -> float:
        """Take one batch's loss; the smoothed loss as of it."""
        self.count += 1
        self.average = SMOOTHING * self.average + (1 - SMOOTHING) * loss
        smoothed = self.average / (1 - SMOOTHING**self.count)
        self.first = smoothed if self.count == 1 else self.first
        self.lowest = min(self.lowest, smoothed)
        return smoothed

    def overshoot(self, losses: Sequence[float]) -> float:
        """Take an epoch's batch losses; how far the smoothed loss rose above its lowest meanwhile, as a
        share of its first value (a rise near the end of a run is small beside the loss it started at)."""
        return max(((self.add(loss) - self.lowest) / self.first for loss in losses), default=0.0)


def epoch_fit(history: Sequence[EpochRecord], run_ended: bool = False, stopped_early: bool = False) -> Fit:
    """The fit as of the last epoch in `history`.

    Mid-run, overfitting needs validation loss to have risen beyond its noise: a plateau may
    still give way. Once the run has ended (`run_ended`; `stopped_early` when train.patience
    ended it) a plateau is final, and one while training loss kept falling is overfitting too.
    """
    last = history[-1]
    best = min(history, key=lambda r: r.val_loss)
    if last.train_accuracy < UNDERFIT_ACCURACY:  # still learning: a bump in val loss is noise
        return Fit.UNDERFIT
    train_fell = last.train_loss < best.train_loss * (1 - RISE_TOLERANCE)  # learning the images by heart
    stalled = last.epoch - best.epoch >= PATIENCE or stopped_early  # validation no better for a while
    rose = stalled and last.val_loss > best.val_loss * (1 + RISE_TOLERANCE)
    if train_fell and (rose or (stalled and run_ended)):
        return Fit.OVERFIT
    if _still_falling(history) is not None:
        return Fit.UNDERFIT
    return Fit.GOOD


def stopped_early(history: Sequence[EpochRecord], config: Any) -> bool:
    """Whether early stopping (train.patience) ended the run before its last epoch."""
    patience, best = config.train.patience, min(history, key=lambda r: r.val_loss)
    return patience > 0 and len(history) < config.train.epochs and history[-1].epoch - best.epoch >= patience


def diagnose(history: Sequence[EpochRecord], config: Any) -> Diagnosis:
    """The verdict on a whole run, with advice that fits the run's own config (a digits Config)."""
    early = stopped_early(history, config)
    fit = epoch_fit(history, run_ended=True, stopped_early=early)
    last, best = history[-1], min(history, key=lambda r: r.val_loss)
    stop = f"training stopped early at epoch {last.epoch} ({config.describe('train.patience')}): " if early else ""
    if fit is Fit.OVERFIT:
        remedies = [_more_data(config)]
        if not config.data.augment:
            remedies.append("data.augment = true")
        elif not config.data.elastic:
            remedies.append("data.elastic = true")
        remedies.append(f"a higher train.weight_decay than {config.train.weight_decay:g}")
        if config.model.dropout == 0 and config.model.hidden:
            remedies.append("model.dropout = 0.2")
        if config.model.hidden:
            remedies.append(f"narrower model.hidden than {config.model.hidden}")
        how = "risen" if last.val_loss > best.val_loss * (1 + RISE_TOLERANCE) else "not improved"
        fell = 1 - last.train_loss / best.train_loss
        return Diagnosis(
            fit,
            f"{stop}validation loss has {how} since epoch {best.epoch} while training loss fell another {fell:.0%}; "
            f"epoch {best.epoch}'s model is the one saved. To generalize further try {_either(remedies)}",
        )
    if fit is Fit.UNDERFIT:
        return Diagnosis(fit, _underfit_advice(history, config))
    both = "both losses levelled off" if early else "validation loss levelled off"
    return Diagnosis(fit, f"{stop}{both}; the best model (epoch {best.epoch}) is saved")


def _underfit_advice(history: Sequence[EpochRecord], config: Any) -> str:
    last = history[-1]
    epochs, hidden = config.train.epochs, config.model.hidden
    longer = f"train for more than {counted(epochs, 'epoch')}"
    wider = f"widen model.hidden beyond {hidden}" if hidden else "add a hidden layer (model.hidden = [128])"
    overshot = next((r for r in history if r.overshoot > OVERSHOOT), None)
    if overshot is not None:  # a higher rate would overshoot further: never advise one
        lr = (
            f"lower the learning rate from {config.describe('train.lr')}: in epoch {overshot.epoch} the training loss "
            f"rose again, by {overshot.overshoot:.0%} of its first value, so the steps overshoot (`digits lr-find` "
            "suggests a rate)"
        )
    else:
        lr = "choose train.lr with `digits lr-find`"
    if last.train_accuracy < UNDERFIT_ACCURACY:
        why = f"training accuracy is {last.train_accuracy:.1%}"
        remedies = [lr] if overshot else [wider, longer, lr]  # overshooting steps learn nothing, at any width
    elif len(history) <= LEVELLING_EPOCHS:
        why = f"{counted(len(history), 'epoch')} cannot show the validation loss levelling off"
        remedies = [longer]
    else:
        why = f"validation loss still improved {_still_falling(history):.0%} over the last {LEVELLING_EPOCHS} epochs"
        remedies = [longer, lr] if overshot else [longer]
    return f"{why}: {_either(remedies)}"


def _still_falling(history: Sequence[EpochRecord]) -> float | None:
    """How much (relative) the best validation loss improved over the last LEVELLING_EPOCHS epochs, when
    that is more than RISE_TOLERANCE, or when there are too few epochs to tell (then 1.0); else None.
    Bests, not single epochs: a spike up and back down is noise, not learning."""
    if len(history) <= LEVELLING_EPOCHS:
        return 1.0
    recent = min(r.val_loss for r in history[-LEVELLING_EPOCHS:])
    fell = 1 - recent / min(r.val_loss for r in history[:-LEVELLING_EPOCHS])
    return fell if fell > RISE_TOLERANCE else None


def _more_data(config: Any) -> str:
    slice_ = config.data.train_images
    return (
        f"more training images (data.train_images above {slice_:,}, or 0 for all)" if slice_ else "more training images"
    )


def _either(options: list[str]) -> str:
    return options[0] if len(options) == 1 else f"{', '.join(options[:-1])} or {options[-1]}"


def counted(n: int, noun: str) -> str:
    """`1 epoch`, `2 epochs`, `1,000 files`."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def history_csv(history: Sequence[EpochRecord]) -> str:
    """The history as CSV, one row per epoch; floats to 6 significant digits."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=[f.name for f in dataclasses.fields(EpochRecord)], lineterminator="\n")
    writer.writeheader()
    for record in history:
        writer.writerow({k: f"{v:.6g}" if isinstance(v, float) else v for k, v in record.as_row().items()})
    return text.getvalue()


def read_history(path: Path) -> list[EpochRecord]:
    """The records of a history CSV written by digits train, each value converted to its field's type."""
    types = get_type_hints(EpochRecord)
    required = [f.name for f in dataclasses.fields(EpochRecord) if f.default is dataclasses.MISSING]
    history = []
    try:
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            columns = reader.fieldnames or []
            missing = [name for name in required if name not in columns]
            unknown = [name for name in columns if name not in types]
            if missing or unknown:
                wrong = f"no {missing[0]} column" if missing else f"a column digits does not write, {unknown[0]!r}"
                raise DigitsError(f"{path}: not a history written by digits train ({wrong})")
            for line, row in enumerate(reader, 2):  # the header is line 1
                try:
                    if None in row:  # csv's key for the cells beyond the header's
                        raise ValueError("too many values")
                    values = {name: _typed(value, types[name]) for name, value in row.items()}
                    history.append(EpochRecord.from_row(values))
                except (KeyError, TypeError, ValueError) as e:
                    raise DigitsError(f"{path}: line {line} is not an epoch's record ({first_line(e)})") from None
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DigitsError(f"{path}: cannot read the history ({first_line(e)})") from None
    if not history:
        raise DigitsError(f"{path}: the history holds no epochs")
    return history


def _typed(value: str | None, kind: Any) -> Any:
    """A CSV cell as its field's type: numbers converted, the fit left for EpochRecord.from_row."""
    if value is None:  # a short row
        raise ValueError("too few values")
    return kind(value) if kind in (int, float) else value
