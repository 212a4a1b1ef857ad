"""A training run's history, one record per epoch, and what it says about the fit and its cause.

Underfitting means the model has not learned its training images yet, or is still learning them;
overfitting means it learns them by heart: validation loss stops improving while training loss
keeps falling. A verdict names its cause (`CAUSES`), from evidence that noise cannot fake: a
straight line through the last few epochs' log losses (`Trend`), the first epoch's fall against
the chance loss, and the gap between validation and training loss. The rules, in the order they
are tried, and the battery of runs that checks them are in docs/training.md.
Plain Python, no torch: the CLI and tests read histories without it.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import math
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, get_type_hints

from ..errors import DigitsError, first_line

UNDERFIT_ACCURACY = 0.95  # below this training accuracy (smoothed) a digit model has not learned its images
TREND_EPOCHS = (
    5  # the trend is a line through this many epochs: one epoch's val loss moves ±10% with the batches' order
)
FALLING = 0.10  # val loss still falling this much an epoch (on the trend, less one standard error): more epochs
# would pay. `--epochs 3` on the default config ended falling 27–34% an epoch; hidden.toml 3%, the default 0.4%
RISE_TOLERANCE = 0.05  # validation loss this far (relative) above its best, on the trend, has risen
PATIENCE = 3  # epochs since validation's best before a rise or a plateau counts (one bad epoch is noise)
MEMORIZED_GAP = 30.0  # validation loss this many times the training loss: the training images are known by heart.
# Measured: 1.6–2.7 (default config), 9–12 (hidden.toml); 120–140 (4,096 units on 1,000 images), 330–440 (overfit.toml)
SLOW_START = 0.10  # the first epoch took less than this share off the chance loss: the steps are too small.
# At the default rate it takes 23% (hidden = [1]) to 78%; at a thousandth of it, 0.2%
STEADY = 1 / 3  # ...and the median fall from epoch to epoch is at least this share of the largest: small steps make
# every epoch fall alike (0.8–0.9 at a thousandth of the rate), where a network too small falls once, then levels off.
# A one-unit network stuck for its first epoch (seed 3, unseen when SLOW_START was set) fell 0.24, then 0.03 a median
MOVED = 0.005  # ...and after its first epoch the loss fell by this share of a guess's at least: a network whose one
# unit died (hidden = [1], seeds 12 and 14) stays at a guess (0.1%); a thousandth of the rate moves it 1–12%
LEARNED = 0.5  # a run whose training loss ends above this share of the chance loss has learned next to nothing
BLOWN_UP = 0.5  # the smoothed batch loss this far above its lowest, as a share of its first value: the steps
# overshot. Noise took it to 3.5% (hidden = [1]); a 4,096-unit layer's first steps to 53%, which it recovered from
SMOOTHING = 0.98  # exponential moving average of the batch losses, as fast.ai's lr_find smooths them

# What a verdict can blame, each with the words the summary uses for it
CAUSES = {
    "learning_rate_too_high": "the learning rate is too high",
    "learning_rate_too_low": "the learning rate is too low",
    "too_few_epochs": "too few epochs",
    "too_small": "the network is too small",
    "memorizing": "the network learns its training images by heart",
    "none": "",
}


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

    @property
    def diverged(self) -> bool:
        """A loss became infinite or NaN in this epoch: the steps blew the weights up."""
        return not (math.isfinite(self.train_loss) and math.isfinite(self.val_loss))

    def as_row(self) -> dict[str, Any]:
        """The record as plain values (the fit as its name), for a CSV row or a resume state."""
        return {**dataclasses.asdict(self), "fit": self.fit.value}

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> EpochRecord:
        return cls(**{**row, "fit": Fit(row["fit"])})


@dataclass
class Diagnosis:
    fit: Fit
    cause: str  # one of CAUSES
    advice: str  # one line: what the cause calls for, naming the config keys to change, then the evidence


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


@dataclass(frozen=True)
class Trend:
    """A straight line fitted by least squares to the logs of a loss over the last TREND_EPOCHS epochs.

    `slope` is the loss's relative change per epoch, `error` that slope's standard error from
    the points' scatter about the line (0 for two points, which cannot show their noise), and
    `end` the line's loss at the last epoch: the loss with one epoch's noise smoothed away.
    """

    end: float
    slope: float
    error: float

    @classmethod
    def of(cls, losses: Sequence[float]) -> Trend:
        ys = [math.log(max(loss, 1e-12)) for loss in losses[-TREND_EPOCHS:]]
        n = len(ys)
        if n == 1:
            return cls(losses[-1], 0.0, 0.0)
        middle, mean = (n - 1) / 2, sum(ys) / n
        spread = sum((x - middle) ** 2 for x in range(n))
        slope = sum((x - middle) * (y - mean) for x, y in enumerate(ys)) / spread
        scatter = sum((y - mean - slope * (x - middle)) ** 2 for x, y in enumerate(ys))
        error = math.sqrt(scatter / (n - 2) / spread) if n > 2 else 0.0
        return cls(math.exp(mean + slope * (n - 1 - middle)), slope, error)

    @property
    def falling(self) -> bool:
        """Falling faster than FALLING an epoch, by more than its standard error."""
        return self.slope + self.error < -FALLING

    @property
    def rising(self) -> bool:
        """Rising by more than twice its standard error: a rise that noise would rarely draw."""
        return self.slope - 2 * self.error > 0


@dataclass(frozen=True)
class Evidence:
    """What the history shows as of its last epoch, each figure smoothed over several epochs."""

    val: Trend
    train: Trend
    accuracy: float  # the training accuracy, averaged over the trend's epochs
    best: EpochRecord  # the epoch of lowest validation loss
    since_best: int  # epochs since it
    train_fell: float  # how much (relative) the training loss fell since the best epoch, on the trend
    gap: float  # validation loss over training loss, on the trend
    stopped_early: bool = False  # train.patience ended the run: its own measure of a stall

    @classmethod
    def of(cls, history: Sequence[EpochRecord], stopped_early: bool = False) -> Evidence:
        val, train = Trend.of([r.val_loss for r in history]), Trend.of([r.train_loss for r in history])
        recent = history[-TREND_EPOCHS:]
        best = min(history, key=lambda r: r.val_loss)
        return cls(
            val,
            train,
            sum(r.train_accuracy for r in recent) / len(recent),
            best,
            history[-1].epoch - best.epoch,
            1 - train.end / best.train_loss,
            val.end / train.end,
            stopped_early,
        )

    @property
    def memorizing(self) -> bool:
        """Training loss kept falling while validation did not improve: for as long as train.patience asked, when it
        ended the run; else for PATIENCE epochs, and its trend rose beyond noise, or it sits MEMORIZED_GAP times
        above the training loss."""
        if self.train_fell <= RISE_TOLERANCE:
            return False
        rose = self.val.rising and self.val.end > self.best.val_loss * (1 + RISE_TOLERANCE)
        return self.stopped_early or (self.since_best >= PATIENCE and (rose or self.gap >= MEMORIZED_GAP))

    @property
    def still_learning(self) -> bool:
        return self.val.falling or self.accuracy < UNDERFIT_ACCURACY


def epoch_fit(history: Sequence[EpochRecord]) -> Fit:
    """The fit as of the last epoch in `history`, from the trends: a label changes when they do, not
    with one epoch's noise."""
    if any(r.diverged for r in history):
        return Fit.UNDERFIT
    evidence = Evidence.of(history)
    if evidence.still_learning:
        return Fit.UNDERFIT
    return Fit.OVERFIT if evidence.memorizing else Fit.GOOD


def stopped_early(history: Sequence[EpochRecord], config: Any) -> bool:
    """Whether early stopping (train.patience) ended the run before its last epoch."""
    patience, kept = config.train.patience, kept_epoch(history, config.train.keep)
    return patience > 0 and len(history) < config.train.epochs and history[-1].epoch - kept >= patience


def kept_epoch(history: Sequence[EpochRecord], keep: str = "loss") -> int:
    """The epoch whose model a run keeps: lowest validation loss, or with `keep = "accuracy"` highest validation
    accuracy (of those, the lowest loss); 0 when no epoch ended with finite losses."""
    finite = [r for r in history if not r.diverged]
    if not finite:
        return 0
    if keep == "accuracy":
        return max(finite, key=lambda r: (r.val_accuracy, -r.val_loss)).epoch
    return min(finite, key=lambda r: r.val_loss).epoch


def diagnose(history: Sequence[EpochRecord], config: Any) -> Diagnosis:
    """The verdict on a whole run and its cause, with advice that fits the run's own config (a digits Config).

    The causes are tried in order: a rate too high (the loss diverged, or blew up and the run learned
    next to nothing), a rate too low (the first epoch barely moved the loss, every epoch fell alike,
    and the run learned next to nothing), memorizing, too few epochs (validation still falling fast), too small (training
    accuracy stays low), else none.
    """
    last, lr = history[-1], f"lower the learning rate from {config.describe('train.lr')}"
    chance = math.log(11 if config.data.non_digits > 0 else 10)  # the loss of an even guess over the classes
    diverged = next((r for r in history if r.diverged), None)
    finder = f"`digits lr-find{_config_flag(config)}` suggests one"
    if diverged:
        loss = diverged.train_loss if not math.isfinite(diverged.train_loss) else diverged.val_loss
        return Diagnosis(
            Fit.UNDERFIT,
            "learning_rate_too_high",
            f"{lr}: training diverged in epoch {diverged.epoch} (the loss became {loss}); {finder}",
        )
    learned = 1 - last.train_loss / chance  # how much of a guess's loss the run ended having taken off
    blown = max(history, key=lambda r: r.overshoot)
    if blown.overshoot > BLOWN_UP and learned < LEARNED:
        return Diagnosis(
            Fit.UNDERFIT,
            "learning_rate_too_high",
            f"{lr}: in epoch {blown.epoch} the training loss blew up, {blown.overshoot:.0%} of its first value above its "
            f"lowest, and the run ended having taken only {max(learned, 0):.0%} off the loss of a guess; {finder}",
        )
    first = 1 - history[0].train_loss / chance
    # from epoch to epoch: the first epoch's fall from a guess's loss counts how far from a guess the
    # initial weights began (seed 7 at a thousandth of the rate: 0.028, then 0.010 an epoch)
    falls = sorted(before.train_loss - after.train_loss for before, after in itertools.pairwise(history))
    moved = history[0].train_loss - last.train_loss >= MOVED * chance
    steady = not falls or (moved and falls[len(falls) // 2] >= STEADY * falls[-1])
    if first < SLOW_START and steady and learned < LEARNED:
        return Diagnosis(
            Fit.UNDERFIT,
            "learning_rate_too_low",
            f"raise the learning rate from {config.describe('train.lr')}: the first epoch took only {max(first, 0):.1%} "
            f"off the loss of a guess ({chance:.2f}), and the whole run {learned:.0%}; {finder}",
        )
    early, kept = stopped_early(history, config), kept_epoch(history, config.train.keep)
    evidence = Evidence.of(history, early)
    stop = f"training stopped early at epoch {last.epoch} ({config.describe('train.patience')}); " if early else ""
    if evidence.memorizing:
        how = (
            f"validation loss rose {evidence.val.end / evidence.best.val_loss - 1:.0%} above its best (epoch "
            f"{evidence.best.epoch})"
            if evidence.val.rising
            else f"validation loss has not improved since epoch {evidence.best.epoch}"
        )
        return Diagnosis(
            Fit.OVERFIT,
            "memorizing",
            f"to generalize, try {_either(_regularizers(config))}: {stop}{how} while training loss fell another "
            f"{evidence.train_fell:.0%}; validation loss is now {evidence.gap:.0f}× training loss; epoch {kept}'s model is kept",
        )
    short = len(history) == 1 or (len(history) < TREND_EPOCHS and evidence.accuracy < UNDERFIT_ACCURACY)
    if evidence.val.falling or short:
        # fewer epochs than a trend needs cannot show the loss levelling off: a network too small needs that
        fall = f"{1 - math.exp(evidence.val.slope):.0%} an epoch" if len(history) > 1 else "in its one epoch"
        epochs = config.train.epochs
        more = (  # a run stopped (Ctrl-C) before its last epoch needs its own epochs first
            f"finish the run's {counted(epochs, 'epoch')} (it stopped after {last.epoch}; `--resume` goes on)"
            if last.epoch < epochs and not early
            else f"train for more than {counted(epochs, 'epoch')} ({config.describe('train.epochs')})"
        )
        return Diagnosis(
            Fit.UNDERFIT, "too_few_epochs", f"{more}: validation loss was still falling {fall} when the run ended"
        )
    if evidence.accuracy < UNDERFIT_ACCURACY:
        hidden = config.model.hidden
        wider = f"widen model.hidden beyond {hidden}" if hidden else "add a hidden layer (model.hidden = [128])"
        return Diagnosis(
            Fit.UNDERFIT,
            "too_small",
            f"{wider}: training accuracy levelled off at {evidence.accuracy:.1%}; even the images it learns from are "
            "beyond this network",
        )
    both = "both losses levelled off" if stop else "validation loss levelled off"
    return Diagnosis(Fit.GOOD, "none", f"nothing to change: {stop}{both}; epoch {kept}'s model is kept")


def _config_flag(config: Any) -> str:
    """` --config FILE` for a run that was given one, so that a command pasted from advice trains the same model."""
    return f" --config {shlex.quote(config.file)}" if getattr(config, "file", "") else ""


def _regularizers(config: Any) -> list[str]:
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
    return remedies


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
