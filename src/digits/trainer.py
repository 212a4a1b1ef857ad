"""The training loop: SGD over in-memory tensors, a per-epoch history, the run's files.

It reads top to bottom: data, model, optimizer; then per epoch train, measure, record, keep
the best model. One `step` serves the training epoch, the measurement and the lr-finder. It
prints nothing: callers pass `on_start`, `on_batch` and `on_epoch` to watch.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F

from . import checkpoint
from .config import Config
from .data import CLASSES, NOT_A_DIGIT, load_source, split_train_val, with_non_digits
from .errors import DigitsError
from .history import Diagnosis, EpochRecord, SmoothedLoss, diagnose, epoch_fit
from .model import DigitMLP
from .results import Result
from .run_files import RunFiles
from .training_data import Part, TrainingData

SAVE_EVERY = 10.0  # seconds between writes of the run's files; a write is a few ms, an epoch can be 0.2 s
RESUME_KEYS = {"config", "model", "optimizer", "schedule", "generator", "torch_rng", "best_epoch", "history"}

Stage = Literal["train", "validate"]


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
    # "early" when train.patience ended it; "interrupted" (Ctrl-C) or "terminated" (SIGTERM) when it did not finish
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
    cfg = config.train
    files = RunFiles.beside(cfg.output)
    files.check_writable()
    with files.locked():
        history: list[EpochRecord] = []
        best_epoch = 0
        snapshot: dict | None = None  # the resume state as of the last finished epoch, not yet written
        best_model: dict | None = None  # the best model's file contents, not yet written
        saved, stopped, last_write = False, None, -math.inf
        try:
            state = _resume_state(files.state, config) if resume else None
            model, data = setup(config)
            optimizer = make_optimizer(model, cfg.lr, config)
            steps = math.ceil(len(data) / cfg.batch_size)
            schedule = make_schedule(optimizer, cfg.schedule, cfg.epochs * steps)
            done, restarted = 0, False
            if state:
                history, best_epoch, saved, done = state["history"], state["best_epoch"], True, len(state["history"])
                restarted = state["config"]["train"]["epochs"] != cfg.epochs
                model.load_state_dict(state["model"])
                optimizer.load_state_dict(state["optimizer"])
                if restarted:  # continued for other epochs: the schedule starts again, over the epochs left
                    for group in optimizer.param_groups:
                        group["lr"] = cfg.lr
                        group.pop("initial_lr", None)
                    schedule = make_schedule(optimizer, cfg.schedule, (cfg.epochs - done) * steps)
                else:
                    schedule.load_state_dict(state["schedule"])
                data.generator.set_state(state["generator"])
                torch.set_rng_state(state["torch_rng"])
            if on_start:
                on_start(
                    TrainingPlan(
                        model.layer_sizes,
                        len(data),
                        len(data.labels["val"]),
                        cfg.epochs,
                        str(data.device),
                        int((data.labels["train"] == len(CLASSES)).sum()),
                        done,
                        restarted,
                        data.split.skipped,
                        data.split.missing,
                        data.split.train.source,
                    )
                )
            smoothed = SmoothedLoss()
            if state and "smoothed_loss" in state:  # states written before it was kept start afresh
                vars(smoothed).update(state["smoothed_loss"])
            for epoch in range(done + 1, cfg.epochs + 1):
                # early stopping: validation loss has not improved for `patience` epochs (of this go, when continued)
                if cfg.patience and epoch - max(best_epoch, done if restarted else 0) > cfg.patience:
                    stopped = "early"
                    break
                started = time.perf_counter()
                lr, losses = train_epoch(model, data, optimizer, schedule, config, on_batch)
                # Both measured after the epoch on untouched images, so the two are comparable:
                # the running loss over augmented batches would say more about the augmentation.
                train_loss, train_accuracy = measure(model, data, "probe")
                val_loss, val_accuracy = measure(model, data, "val")
                if not (math.isfinite(train_loss) and math.isfinite(val_loss)):
                    raise DigitsError(
                        f"training diverged at epoch {epoch} (the loss became {train_loss}): "
                        f"{config.describe('train.lr')} is too high; try a lower one (`digits lr-find` suggests one)"
                    )
                seconds = time.perf_counter() - started
                overshoot = smoothed.overshoot(losses)
                if restarted and epoch == done + 1:  # the restart lifts the loss by design: watch from the next epoch
                    smoothed.lowest, overshoot = math.inf, 0.0
                record = EpochRecord(epoch, train_loss, val_loss, train_accuracy, val_accuracy, lr, seconds)
                record.overshoot = overshoot
                history.append(record)
                record.fit = epoch_fit(history)
                if best_epoch == 0 or val_loss < history[best_epoch - 1].val_loss:
                    best_epoch = epoch
                    best_model = _model_file(model, record, data, config)
                snapshot = copy.deepcopy(
                    {
                        "config": dataclasses.asdict(config),
                        "model": model.state_dict(),
                        "optimizer": optimizer.state_dict(),
                        "schedule": schedule.state_dict(),
                        "generator": data.generator.get_state(),
                        "torch_rng": torch.get_rng_state(),
                        "best_epoch": best_epoch,
                        "history": [r.as_row() for r in history],
                        "smoothed_loss": vars(smoothed),
                    }
                )
                if time.monotonic() - last_write >= SAVE_EVERY or epoch == cfg.epochs:
                    files.write(best_model, snapshot, history)
                    snapshot, best_model, saved, last_write = None, None, True, time.monotonic()
                if on_epoch:
                    on_epoch(record)
        except KeyboardInterrupt:
            stopped = "interrupted"
        except Terminated:
            stopped = "terminated"
        finally:
            if snapshot is not None:  # stopped between writes: keep what the finished epochs earned
                files.write(best_model, snapshot, history)
                saved = True
            diagnosis = diagnose(history, config) if history else None
            if saved and diagnosis:
                files.draw_curves(history, best_epoch, diagnosis)

    return TrainResult(history, best_epoch, diagnosis, files.model, files.history, files.curves, saved, stopped)


def setup(config: Config) -> tuple[DigitMLP, TrainingData]:
    """Seed everything, load and split the data onto the device, build the model."""
    device = resolve_device(config)
    torch.manual_seed(config.train.seed)
    generator = torch.Generator().manual_seed(config.train.seed)
    size = config.data.image_size
    _check_model_fits(config, device)
    digits = load_source(config.data.source, config.data.path, "train", size)
    split = split_train_val(digits, config.data.val_fraction, config.train.seed, config.data.train_images)
    if config.data.non_digits > 0:
        split = with_non_digits(split, config.data.non_digits, config.train.seed)
    model = DigitMLP(size * size, config.model.hidden, len(classes(config)), config.model.dropout).to(device)
    return model, TrainingData(split, config.data, device, generator)


def classes(config: Config) -> list[str]:
    """What the model answers: the ten digits, and "not a digit" when it learns from drawn non-digits."""
    return [*CLASSES, NOT_A_DIGIT] if config.data.non_digits > 0 else CLASSES


def make_optimizer(model: DigitMLP, lr: float, config: Config) -> torch.optim.SGD:
    """SGD with the config's momentum (Nesterov's when asked and possible) and weight decay."""
    cfg = config.train
    nesterov = cfg.nesterov and cfg.momentum > 0
    return torch.optim.SGD(
        model.parameters(), lr=lr, momentum=cfg.momentum, nesterov=nesterov, weight_decay=cfg.weight_decay
    )


def make_schedule(
    optimizer: torch.optim.Optimizer, name: str, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler:
    """The learning rate over the run's steps: "onecycle", "cosine" or "constant"."""
    if name == "onecycle":  # warm up for a quarter of the run, then anneal, as fast.ai's fit_one_cycle
        peak = optimizer.param_groups[0]["lr"]
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=peak, total_steps=total_steps, pct_start=0.25)
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)


def step(
    model: DigitMLP,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    stage: Stage,
    optimizer: torch.optim.Optimizer | None = None,
    label_smoothing: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One batch: forward and loss, and in the "train" stage backward and an update too.

    Training optimizes the config's objective (label smoothing included); validation measures
    plain cross-entropy. Returns the batch's mean loss and the scores (logits), still on the
    device, so that nothing waits on them.
    """
    training = stage == "train"
    if model.training != training:
        model.train(training)  # dropout on or off
    with torch.set_grad_enabled(training):
        logits = model(inputs)
        loss = F.cross_entropy(logits, targets, label_smoothing=label_smoothing if training else 0.0)
    if training:
        assert optimizer is not None, "the train stage updates the weights"
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return loss.detach(), logits.detach()


def train_epoch(
    model: DigitMLP,
    data: TrainingData,
    optimizer: torch.optim.Optimizer,
    schedule: torch.optim.lr_scheduler.LRScheduler,
    config: Config,
    on_batch: Callable[[int, int], None] | None = None,
) -> tuple[float, list[float]]:
    """One pass of SGD over the training images, in a fresh random order, a batch per step.

    Returns the mean learning rate of its steps and each batch's training loss.
    """
    batches = math.ceil(len(data) / config.train.batch_size)
    losses, rates = [], []
    for i, (inputs, targets) in enumerate(data.shuffled_batches(config.train.batch_size), 1):
        rates.append(optimizer.param_groups[0]["lr"])
        loss, _ = step(model, inputs, targets, "train", optimizer, config.train.label_smoothing)
        losses.append(loss)
        schedule.step()
        if on_batch:
            on_batch(i, batches)
    return sum(rates) / len(rates), torch.stack(losses).tolist()  # one wait for the device, not one a batch


def measure(model: DigitMLP, data: TrainingData, part: Part) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of the model on a part's untouched images."""
    total_loss, correct = 0.0, 0
    for inputs, targets in data.measuring_batches(part):
        loss, logits = step(model, inputs, targets, "validate")
        total_loss += loss.item() * len(targets)
        correct += int((logits.argmax(dim=1) == targets).sum())
    samples = len(data.labels[part])
    return total_loss / samples, correct / samples


def resolve_device(config: Config) -> torch.device:
    """train.device: "auto" -> the GPU when there is one, else the CPU; a named device must exist."""
    name, setting, cpu = config.train.device, config.describe("train.device"), config.describe("train.device", "cpu")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DigitsError(f"{setting}: CUDA is not available on this machine (try {cpu})")
    if name.startswith("cuda:") and int(name[5:]) >= torch.cuda.device_count():
        raise DigitsError(f"{setting}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    if name == "mps" and not torch.backends.mps.is_available():
        raise DigitsError(f"{setting}: MPS is not available on this machine (try {cpu})")
    return torch.device(name)


def _resume_state(path: Path, config: Config) -> dict:
    """The state saved at `path` by a run of the same config, its history as EpochRecords."""
    state = checkpoint.load_resume_state(path)
    missing = RESUME_KEYS - set(state) if isinstance(state, dict) else RESUME_KEYS
    if missing:
        raise DigitsError(f"{path}: not a digits resume state (no {', '.join(sorted(missing))})")
    try:
        state["history"] = [EpochRecord.from_row(row) for row in state["history"]]
    except (TypeError, ValueError, KeyError):
        raise DigitsError(f"{path}: its history is not one this digits wrote; start the run afresh") from None
    stored, current = state["config"], dataclasses.asdict(config)
    changed = [
        f"{section}.{key}"
        for section, values in current.items()
        for key, value in values.items()
        # a run may move, and may go on for other epochs, with another patience
        if key not in ("device", "output", "epochs", "patience") and stored.get(section, {}).get(key) != value
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


COPIES_IN_TRAINING = 6  # weights, gradients, momentum, the best weights, and the resume snapshot's two


def _check_model_fits(config: Config, device: torch.device) -> None:
    """Refuse, before allocating, a network that would not fit: one line, not the allocator's own."""
    sizes = [config.data.image_size**2, *config.model.hidden, len(classes(config))]
    parameters = sum(n_in * n_out + n_out for n_in, n_out in pairwise(sizes))
    needed = parameters * 4 * COPIES_IN_TRAINING
    if device.type == "cuda":
        available = torch.cuda.mem_get_info(device)[0]
    else:
        available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    if needed > available:
        raise DigitsError(
            f"{config.describe('model.hidden')}: a {'-'.join(map(str, sizes))} network has {parameters:,} "
            f"parameters, and training it needs about {_bytes(needed)}; {device.type} has {_bytes(available)} free"
        )


def _bytes(n: float) -> str:
    power = min(int(math.log10(max(n, 1)) // 3), 4)
    return f"{n / 1000**power:,.1f} {('bytes', 'KB', 'MB', 'GB', 'TB')[power]}"


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
