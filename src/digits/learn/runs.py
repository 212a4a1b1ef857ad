"""Finished training runs read back from their files, and what sets them apart, for `digits compare`.

A run is its model file (`m.safetensors`, whose header holds the config) and the history beside
it (`m.history.csv`); either names the run. Plain Python and numpy, no torch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, DigitsError
from ..read import checkpoint
from ..read.results import Result
from .config import Config, config_from_dict
from .history import EpochRecord, Fit, diagnose, kept_epoch, read_history
from .run_files import RunFiles

HISTORY_SUFFIX = ".history.csv"
UNCOMPARED = ("train.output", "train.device")  # where a run was saved and ran: not what it learned with


@dataclass
class Run:
    name: str  # the model file's path, as given (or as found beside the history given)
    history: list[EpochRecord]
    config: Config

    @property
    def best(self) -> EpochRecord:
        """The epoch whose model was kept (train.keep): lowest validation loss, or highest accuracy."""
        return self.history[kept_epoch(self.history, self.config.train.keep) - 1]

    @property
    def seconds(self) -> float:
        return sum(r.seconds for r in self.history)


@dataclass
class RunSummary:
    name: str
    label: str  # what the table and the picture call it: its file's stem, or its path where stems clash
    settings: dict[str, Any]  # the settings whose values differ between the compared runs
    epochs: int
    best_epoch: int
    val_loss: float  # of the best epoch
    val_accuracy: float  # of the best epoch
    fit: Fit
    verdict: str
    cause: str  # one of history.CAUSES
    advice: str
    seconds: float  # training time, all epochs
    history: list[EpochRecord]


@dataclass
class Comparison(Result):
    runs: list[RunSummary]
    differing: list[str]  # dotted config keys, in the config's order
    plot: Path | None = None  # where the picture was drawn


def load_run(path: Path | str) -> Run:
    """A run from its model file or its history file; DigitsError naming the file when either is missing or bad."""
    path = Path(path)
    if not path.exists():
        raise DigitsError(f"{path}: no such file (give a model file, m.safetensors, or its history, m.history.csv)")
    if path.name.endswith(HISTORY_SUFFIX):
        model_path = path.with_name(path.name.removesuffix(HISTORY_SUFFIX) + ".safetensors")
        if not model_path.is_file():
            raise DigitsError(
                f"{path}: no model file beside it ({model_path.name}); the run's config is read from there"
            )
    else:
        model_path = path
    model = checkpoint.load_model_file(model_path)
    history_path = RunFiles.beside(model_path).history
    if not history_path.is_file():
        raise DigitsError(
            f"{model_path}: no history file beside it ({history_path.name}); was it written by digits train?"
        )
    try:
        config = config_from_dict(model.config, str(model_path))
    except ConfigError as e:  # a damaged header is bad input (status 1), not a usage error
        raise DigitsError(f"{model_path}: its stored config is not one this digits reads ({e})") from None
    return Run(str(model_path), read_history(history_path), config)


def load_runs(paths: Sequence[Path | str]) -> list[Run]:
    if not paths:
        raise ConfigError("no runs to compare; give one or more model files (m.safetensors) or histories")
    return [load_run(path) for path in paths]


def settings(config: Config) -> dict[str, Any]:
    """A config as dotted keys (`train.lr`, `model.hidden`) and their values, in the config's order."""
    return {
        f"{section}.{name}": value
        for section, values in dataclasses.asdict(config).items()
        for name, value in values.items()
    }


def compare(runs: Sequence[Run]) -> Comparison:
    """Each run's best epoch, verdict and time, with the settings that set the runs apart."""
    each = [settings(run.config) for run in runs]
    differing = [key for key in each[0] if key not in UNCOMPARED and any(s[key] != each[0][key] for s in each)]
    summaries = []
    for run, label, values in zip(runs, labels(runs), each, strict=True):
        best, diagnosis = run.best, diagnose(run.history, run.config)
        summaries.append(
            RunSummary(
                run.name,
                label,
                {key: values[key] for key in differing},
                len(run.history),
                best.epoch,
                best.val_loss,
                best.val_accuracy,
                diagnosis.fit,
                diagnosis.fit.verdict,
                diagnosis.cause,
                diagnosis.advice,
                run.seconds,
                run.history,
            )
        )
    return Comparison(summaries, differing)


def labels(runs: Sequence[Run]) -> list[str]:
    """Short names for runs side by side: each model file's stem, or its path where two stems clash."""
    stems = [Path(run.name).name.removesuffix(".safetensors") for run in runs]
    return stems if len(set(stems)) == len(stems) else [run.name for run in runs]
