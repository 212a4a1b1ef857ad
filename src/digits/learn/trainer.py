"""The training loop: SGD over in-memory tensors, a per-epoch history, the run's files.

It reads top to bottom: set up (run_setup), restore a resumed run; then per epoch train, measure,
record, keep the best model (run_files.Progress). The training epoch and the lr-finder take the
same `model.training_step`. It prints nothing: callers pass `on_start`, `on_batch` and `on_epoch`
to watch.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..read.datasets import CLASSES
from ..read.results import Result
from .config import Config
from .history import Diagnosis, EpochRecord, SmoothedLoss, diagnose
from .model import DigitMLP, evaluation_batch, training_step
from .run_files import Progress, RunFiles, checked_resume_state
from .run_setup import classes, make_optimizer, setup
from .sgd import SGD, Schedule
from .training_data import Part, TrainingData


@dataclass
class TrainingPlan:
    """What a training run is about to do, once its data and device are ready."""

    layer_sizes: list[int]
    train_samples: int
    val_samples: int
    epochs: int
    device: str
    non_digits: int = 0  # of train_samples, drawn things that are not digits
    resumed_from: int = 0  # epochs already done, when resuming
    schedule_restarted: bool = False  # resumed for other epochs: the lr schedule starts again over those left
    skipped: list[str] = field(default_factory=list)  # image files left out, and why
    missing: list[str] = field(default_factory=list)  # digits a folder source has no subfolder for
    source: str = ""  # where the images came from


@dataclass
class TrainResult(Result):
    history: list[EpochRecord]
    best_epoch: int  # 0 when no epoch finished
    diagnosis: Diagnosis | None  # None when no epoch finished
    output: Path
    history_file: Path
    curves: Path
    saved: bool  # the run's files are on disk: the best model so far and the state to resume from
    # "early" when train.patience ended it; "diverged" when the loss became infinite or NaN (its epoch is the
    # history's last); "interrupted" (Ctrl-C) or "terminated" (SIGTERM) when it did not finish
    stopped: str | None = None


class Terminated(BaseException):
    """SIGTERM arrived; a BaseException, like KeyboardInterrupt, so that no `except Exception` hides it."""


def train(
    config: Config,
    resume: bool = False,
    on_start: Callable[[TrainingPlan], None] | None = None,
    on_batch: Callable[[int, int], None] | None = None,
    on_epoch: Callable[[EpochRecord], None] | None = None,
) -> TrainResult:
    """Train the configured model; save the best-by-validation-loss weights at config.train.output.

    With `resume`, continue the run whose state lies beside the output: it must have been
    started with the same config, and it ends exactly where the uninterrupted run would have.
    Only train.epochs (and train.patience) may differ: a finished, stopped or interrupted run
    then goes on to the new number of epochs, its schedule started again over the epochs left.
    train.patience ends a run whose validation loss has not improved for that many epochs.
    The files are written after the first epoch, then every SAVE_EVERY seconds, at the end, and
    when the run stops early for any reason, so an interrupted run keeps its best model and can
    resume from its last finished epoch. Ctrl-C (KeyboardInterrupt) and `Terminated` end the run
    with `stopped` set; other failures are raised once the files are written.
    """
    files = RunFiles.beside(config.train.output)
    files.check_writable()
    with files.locked():
        progress = Progress(files, config.train.keep)
        stopped = None
        try:
            stopped = _run_epochs(config, progress, resume, on_start, on_batch, on_epoch)
        except KeyboardInterrupt:
            stopped = "interrupted"
        except Terminated:
            stopped = "terminated"
        finally:
            progress.write()  # stopped between writes: keep what the finished epochs earned
            diagnosis = diagnose(progress.history, config) if progress.history else None
            if progress.saved and diagnosis:
                files.draw_curves(progress.history, progress.best_epoch, diagnosis)
    history, best_epoch = progress.history, progress.best_epoch
    return TrainResult(
        history, best_epoch, diagnosis, files.model, files.history, files.curves, progress.saved, stopped
    )


@dataclass
class Learner:
    """What training changes, and what it learns from: the network, its data, the optimizer, the lr schedule."""

    model: DigitMLP
    data: TrainingData
    optimizer: SGD
    schedule: Schedule

    def state(self) -> dict:
        """All of it that resuming needs, random number generators included."""
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(),
            "generator": self.data.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
        }


def _run_epochs(
    config: Config,
    progress: Progress,
    resume: bool,
    on_start: Callable[[TrainingPlan], None] | None,
    on_batch: Callable[[int, int], None] | None,
    on_epoch: Callable[[EpochRecord], None] | None,
) -> str | None:
    """Epoch after epoch up to train.epochs; "early" when patience runs out first, "diverged" when the loss does."""
    cfg = config.train
    state = checked_resume_state(progress.files.state, config) if resume else None
    model, data = setup(config)
    optimizer = make_optimizer(model, cfg.lr, config)
    learner = Learner(model, data, optimizer, Schedule(optimizer, cfg.schedule, cfg.epochs * _steps(data, config)))
    smoothed = SmoothedLoss()
    restarted = _restore(learner, state, config) if state else False
    done = progress.resume(state, smoothed) if state else 0
    if on_start:
        on_start(_plan(learner, config, done, restarted))
    for epoch in range(done + 1, cfg.epochs + 1):
        # early stopping: validation loss has not improved for `patience` epochs (of this go, when continued)
        if cfg.patience and epoch - max(progress.best_epoch, done if restarted else 0) > cfg.patience:
            return "early"
        record = _epoch(epoch, learner, config, smoothed, on_batch)
        if restarted and epoch == done + 1:  # the restart lifts the loss by design: watch from the next epoch
            smoothed.lowest, record.overshoot = math.inf, 0.0
        progress.add(record, lambda record=record: _model_file(model, record, data, config))
        progress.keep(
            {"config": dataclasses.asdict(config), **learner.state()}, smoothed, epoch == cfg.epochs or record.diverged
        )
        if on_epoch:
            on_epoch(record)
        if record.diverged:
            return "diverged"
    return None


def _steps(data: TrainingData, config: Config) -> int:
    return math.ceil(len(data) / config.train.batch_size)


def _restore(learner: Learner, state: dict, config: Config) -> bool:
    """Put the saved weights, optimizer, schedule and random state back; whether the schedule starts
    again, as it does when the run goes on for another number of epochs."""
    cfg = config.train
    learner.model.load_state_dict(state["model"])
    learner.optimizer.load_state_dict(state["optimizer"])
    restarted = state["config"]["train"]["epochs"] != cfg.epochs
    if restarted:  # continued for other epochs: the schedule starts again, over the epochs left
        learner.optimizer.lr = cfg.lr
        epochs_left = cfg.epochs - len(state["history"])
        learner.schedule = Schedule(learner.optimizer, cfg.schedule, epochs_left * _steps(learner.data, config))
    else:
        learner.schedule.load_state_dict(state["schedule"])
    learner.data.generator.set_state(state["generator"])
    torch.set_rng_state(state["torch_rng"])
    return restarted


def _plan(learner: Learner, config: Config, done: int, restarted: bool) -> TrainingPlan:
    data = learner.data
    return TrainingPlan(
        learner.model.layer_sizes,
        len(data),
        len(data.labels["val"]),
        config.train.epochs,
        str(data.device),
        int((data.labels["train"] == len(CLASSES)).sum()),
        done,
        restarted,
        data.split.skipped,
        data.split.missing,
        data.split.train.source,
    )


def _epoch(
    epoch: int, learner: Learner, config: Config, smoothed: SmoothedLoss, on_batch: Callable[[int, int], None] | None
) -> EpochRecord:
    """One epoch of SGD, then both losses and accuracies measured on untouched images."""
    started = time.perf_counter()
    model, data = learner.model, learner.data
    lr, losses = train_epoch(model, data, learner.optimizer, learner.schedule, config, on_batch)
    # Both measured after the epoch on untouched images, so the two are comparable:
    # the running loss over augmented batches would say more about the augmentation.
    train_loss, train_accuracy = measure(model, data, "probe")
    val_loss, val_accuracy = measure(model, data, "val")
    seconds = time.perf_counter() - started
    record = EpochRecord(epoch, train_loss, val_loss, train_accuracy, val_accuracy, lr, seconds)
    record.overshoot = smoothed.overshoot(losses)
    return record


def train_epoch(
    model: DigitMLP,
    data: TrainingData,
    optimizer: SGD,
    schedule: Schedule,
    config: Config,
    on_batch: Callable[[int, int], None] | None = None,
) -> tuple[float, list[float]]:
    """One pass of SGD over the training images, in a fresh random order, a batch per step.

    Returns the mean learning rate of its steps and each batch's training loss.
    """
    batches = math.ceil(len(data) / config.train.batch_size)
    losses, rates = [], []
    for i, (inputs, targets) in enumerate(data.shuffled_batches(config.train.batch_size), 1):
        rates.append(optimizer.lr)
        loss = training_step(model, inputs, targets, optimizer, config.train.label_smoothing)
        losses.append(loss)
        schedule.step()
        if on_batch:
            on_batch(i, batches)
    return sum(rates) / len(rates), torch.stack(losses).tolist()  # one wait for the device, not one a batch


def measure(model: DigitMLP, data: TrainingData, part: Part) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of the model on a part's untouched images."""
    total_loss, correct = 0.0, 0
    for inputs, targets in data.measuring_batches(part):
        loss, logits = evaluation_batch(model, inputs, targets)
        total_loss += loss.item() * len(targets)
        correct += int((logits.argmax(dim=1) == targets).sum())
    samples = len(data.labels[part])
    return total_loss / samples, correct / samples


def _model_file(model: DigitMLP, record: EpochRecord, data: TrainingData, config: Config) -> dict:
    """checkpoint.save_model's arguments for the model as it is now, the best so far."""
    size = config.data.image_size
    metrics = {key: value for key, value in record.as_row().items() if key not in ("seconds", "fit")}
    return {
        "state": {name: t.detach().cpu().numpy().copy() for name, t in model.state_dict().items()},
        "layer_sizes": [size * size, *config.model.hidden, len(classes(config))],
        "image_size": size,
        "mean": data.mean,
        "std": data.std,
        "classes": classes(config),
        "config": _portable(config),
        "metrics": metrics,
    }


def _portable(config: Config) -> dict:
    """The config as stored in a model file: its data path absolute, so that the file works from anywhere."""
    stored = dataclasses.asdict(config)
    if config.data.path:
        stored["data"]["path"] = str(Path(config.data.path).resolve())
    return stored
