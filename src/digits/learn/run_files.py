"""The files of a training run, side by side, and the one place that writes them.

For a run saving its model at `m.safetensors`: the best model (`m.safetensors`), the state to
resume from (`m.state.pt`, torch's own format, read back with `torch.load(weights_only=True)`), the per-epoch history (`m.history.csv`), the loss and accuracy
curves (`m.curves.png`), and while it trains, a lock (`m.lock`) so that a second run cannot
write the same files. A finished run and an interrupted one leave the same four files.
`Progress` holds what a run has earned until it is written; `checked_resume_state` reads it back.
"""

from __future__ import annotations

import copy
import dataclasses
import errno
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..atomic import atomic_path, write_text
from ..errors import DigitsError, first_line
from ..read import checkpoint
from .config import Config
from .history import Diagnosis, EpochRecord, SmoothedLoss, epoch_fit, history_csv, kept_epoch

SAVE_EVERY = 10.0  # seconds between writes of the run's files; a write is a few ms, an epoch can be 0.2 s
RESUME_KEYS = {"config", "model", "optimizer", "schedule", "generator", "torch_rng", "best_epoch", "history"}


@dataclass(frozen=True)
class RunFiles:
    model: Path
    state: Path
    history: Path
    curves: Path
    lock: Path

    @classmethod
    def beside(cls, model: Path | str) -> RunFiles:
        model = Path(model)
        return cls(
            model,
            model.with_suffix(".state.pt"),
            model.with_suffix(".history.csv"),
            model.with_suffix(".curves.png"),
            model.with_suffix(".lock"),
        )

    def check_writable(self) -> None:
        """Fail now, not after an hour of training, when the model cannot be written."""
        if self.model.is_dir():
            raise DigitsError(f"{self.model}: output is a directory; give a file name ending in .safetensors")
        try:
            self.model.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.model.parent, prefix=f".{self.model.name}.", suffix=".probe"):
                pass
        except (FileExistsError, NotADirectoryError):
            raise DigitsError(
                f"{self.model}: cannot write the checkpoint here (a parent is a file, not a directory)"
            ) from None
        except OSError as e:
            raise DigitsError(f"{self.model}: cannot write the checkpoint here ({e.strerror or e})") from None

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the run's lock while it trains; a lock left by a process that is gone is taken over."""
        with tempfile.NamedTemporaryFile("w", dir=self.lock.parent, prefix=f".{self.lock.name}.", delete=False) as f:
            f.write(f"{os.getpid()}\n")  # written before the lock exists, so a lock always names its holder
        try:
            while True:
                try:
                    os.link(f.name, self.lock)  # fails if the lock exists: one run gets it, atomically
                    break
                except FileExistsError:
                    holder = _lock_holder(self.lock)
                    if holder is not None and _alive(holder):
                        raise DigitsError(
                            f"{self.model}: another digits train (process {holder}) is writing this output; "
                            f"wait for it to end, or give this run another --output"
                        ) from None
                    self.lock.unlink(missing_ok=True)  # stale: its process ended without releasing it
        finally:
            os.unlink(f.name)
        try:
            yield
        finally:
            self.lock.unlink(missing_ok=True)

    def write(self, model: dict[str, Any] | None, state: dict[str, Any], history: Sequence[EpochRecord]) -> None:
        """Write the best model (when `model`, checkpoint.save_model's arguments, is given), the state and history."""
        if model is not None:
            checkpoint.save_model(self.model, **model)
        save_resume_state(self.state, state)
        write_text(self.history, history_csv(history))

    def draw_curves(self, history: Sequence[EpochRecord], best_epoch: int, diagnosis: Diagnosis) -> None:
        from .plots import training_curves

        training_curves(history, best_epoch, diagnosis.fit.verdict, diagnosis.advice, self.curves)


class Progress:
    """What a training run has earned so far, and what of it is not yet on disk: the history, the best
    epoch and its model, and the state to resume from. Written after the first epoch, then every
    SAVE_EVERY seconds, after the last, and whenever the run stops."""

    def __init__(self, files: RunFiles, keep: str) -> None:
        self.files, self.keep_by = files, keep  # train.keep: by which the best epoch is chosen
        self.history: list[EpochRecord] = []
        self.best_epoch = 0  # 0 until an epoch finishes with finite losses
        self.saved = False  # the run's files are on disk
        self._model: dict[str, Any] | None = None  # the best model's file, once it is newer than the one on disk
        self._state: dict[str, Any] | None = None  # the resume state as of the last finished epoch, not yet written
        self._written = -math.inf  # time.monotonic() of the last write

    def resume(self, state: dict[str, Any], smoothed: SmoothedLoss) -> int:
        """Take up a saved run's history, best epoch and smoothed loss; how many epochs it had done."""
        self.history, self.best_epoch, self.saved = state["history"], state["best_epoch"], True
        if "smoothed_loss" in state:  # states written before it was kept start afresh
            vars(smoothed).update(state["smoothed_loss"])
        return len(self.history)

    def add(self, record: EpochRecord, model_file: Callable[[], dict[str, Any]]) -> None:
        """An epoch's record; `model_file()` gives checkpoint.save_model's arguments, kept if it is the best."""
        self.history.append(record)
        record.fit = epoch_fit(self.history)
        if kept_epoch(self.history, self.keep_by) == record.epoch:
            self.best_epoch = record.epoch
            self._model = model_file()

    def keep(self, learner_state: dict[str, Any], smoothed: SmoothedLoss, final: bool) -> None:
        """The state to resume from after this epoch, written when due: a copy, as training goes on."""
        self._state = copy.deepcopy(
            {
                **learner_state,
                "best_epoch": self.best_epoch,
                "history": [r.as_row() for r in self.history],
                "smoothed_loss": vars(smoothed),
            }
        )
        if final or time.monotonic() - self._written >= SAVE_EVERY:
            self.write()
            self._written = time.monotonic()

    def write(self) -> None:
        """Write what is not yet on disk, if anything."""
        if self._state is None:
            return
        self.files.write(self._model, self._state, self.history)
        self._model, self._state, self.saved = None, None, True


def checked_resume_state(path: Path, config: Config) -> dict:
    """The state saved at `path` by a run of the same config, its history as EpochRecords."""
    state = load_resume_state(path)
    missing = RESUME_KEYS - set(state) if isinstance(state, dict) else RESUME_KEYS
    if missing:
        raise DigitsError(f"{path}: not a digits resume state (no {', '.join(sorted(missing))})")
    try:
        state["history"] = [EpochRecord.from_row(row) for row in state["history"]]
    except (TypeError, ValueError, KeyError):
        raise DigitsError(f"{path}: its history is not one this digits wrote; start the run afresh") from None
    stored, current, defaults = state["config"], dataclasses.asdict(config), dataclasses.asdict(Config())
    changed = [
        f"{section}.{key}"
        for section, values in current.items()
        for key, value in values.items()
        # a run may move, and may go on for other epochs, with another patience; a key newer than the
        # run's digits had its default then
        if key not in ("device", "output", "epochs", "patience")
        and stored.get(section, {}).get(key, defaults[section][key]) != value
    ]
    if changed:
        raise DigitsError(
            f"{path}: this run was started with other settings ({', '.join(changed)}); "
            "resume it with the config and flags it was started with"
        )
    done, epochs = len(state["history"]), config.train.epochs
    if done >= epochs:
        what = "finished all its" if done == state["config"]["train"]["epochs"] else "has done"
        raise DigitsError(
            f"{path}: this run {what} {done} epochs; to continue it, ask for more (--epochs {done + 10} for 10 more)"
        )
    return state


def save_resume_state(path: Path, state: dict[str, Any]) -> None:
    """Write the optimizer, random state, epoch and history (tensors and plain values only)."""
    import torch

    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_resume_state(path: Path) -> dict[str, Any]:
    """Read a resume file; `weights_only=True` refuses anything that would run code."""
    import pickle

    import torch

    if not Path(path).is_file():
        raise DigitsError(f"{path}: no resume state here (was the run started with this --output?)")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as e:
        raise DigitsError(f"{path}: not a resume state, or unsafe to load ({first_line(e)})") from None


def _lock_holder(lock: Path) -> int | None:
    try:
        return int(lock.read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError as e:
        return e.errno == errno.EPERM  # it exists, owned by someone else
    return True
