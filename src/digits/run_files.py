"""The files of a training run, side by side, and the one place that writes them.

For a run saving its model at `m.safetensors`: the best model (`m.safetensors`), the state to
resume from (`m.state.pt`), the per-epoch history (`m.history.csv`), the loss and accuracy
curves (`m.curves.png`), and while it trains, a lock (`m.lock`) so that a second run cannot
write the same files. A finished run and an interrupted one leave the same four files.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import checkpoint
from .errors import DigitsError
from .history import Diagnosis, EpochRecord, history_csv


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
        checkpoint.save_resume_state(self.state, state)
        checkpoint.write_text(self.history, history_csv(history))

    def draw_curves(self, history: Sequence[EpochRecord], best_epoch: int, diagnosis: Diagnosis) -> None:
        from .plots import training_curves

        training_curves(history, best_epoch, diagnosis.fit.verdict, diagnosis.advice, self.curves)


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
