"""The training loop: SGD over in-memory tensors, a per-epoch history, and the fit diagnosis.

It reads top to bottom: data, model, optimizer; then per epoch train, validate, record,
keep the best model. It prints nothing: callers pass `on_batch` and `on_epoch` to watch.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from . import checkpoint
from .config import Config
from .data import CLASSES, Split, load_source, normalize, split_train_val
from .errors import DigitsError
from .model import DigitMLP

UNDERFIT_ACCURACY = 0.95  # below this training accuracy a digit model has not learned enough
OVERFIT_GAP = 0.03  # train accuracy this far above validation accuracy is a wide gap
RISE_TOLERANCE = 0.05  # a loss this far (relative) from where it was has risen or fallen...
PATIENCE = 3  # ...when the minimum is at least this many epochs old (one bad epoch is noise)
EVAL_BATCH = 2048
STANDARDIZED_LIMIT = 64 * 2**20  # bytes of float32 images kept ready to use; more are kept as uint8
SAVE_EVERY = 10.0  # seconds between checkpoint writes; a write is a few ms, an epoch can be 0.2 s


RESUME_KEYS = {"config", "model", "optimizer", "schedule", "generator", "torch_rng", "best_epoch", "history"}


@dataclass
class EpochRecord:
    epoch: int
    train_loss: float
    val_loss: float
    train_accuracy: float
    val_accuracy: float
    lr: float
    seconds: float
    flag: str = ""  # "underfit", "overfit" or "good": the fit as of this epoch


@dataclass
class Diagnosis:
    verdict: str  # "underfitting", "overfitting" or "good fit"
    advice: str


@dataclass
class RunInfo:
    """What a run is about to do, once its data and device are ready."""

    layer_sizes: list[int]
    train_samples: int
    val_samples: int
    device: str


@dataclass
class TrainResult:
    history: list[EpochRecord]
    best_epoch: int
    diagnosis: Diagnosis
    output: Path
    history_file: Path


def train(
    config: Config,
    resume: bool = False,
    on_start: Callable[[RunInfo], None] | None = None,
    on_batch: Callable[[int, int], None] | None = None,
    on_epoch: Callable[[EpochRecord], None] | None = None,
) -> TrainResult:
    """Train the configured model; save the best-by-validation-loss weights at config.train.output.

    With `resume`, continue the run whose state lies beside the output: it must have been
    started with the same config, and it ends exactly where the uninterrupted run would have.
    The files are written after the first epoch, then every SAVE_EVERY seconds, at the end, and
    when the run stops early for any reason (Ctrl-C, divergence), so an interrupted run keeps
    its best model and can resume from its last finished epoch.
    """
    cfg = config.train
    output = Path(cfg.output)
    checkpoint.check_writable(output)
    state = _resume_state(output, config) if resume else None
    run = prepare(config)
    model, generator, split, device = run.model, run.generator, run.split, run.device
    optimizer = make_optimizer(model, cfg.lr, config)
    schedule = make_schedule(optimizer, cfg.schedule, cfg.epochs * math.ceil(len(run.y_train) / cfg.batch_size))
    history: list[EpochRecord] = []
    best_epoch = 0
    if state:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        history = [EpochRecord(**row) for row in state["history"]]
        best_epoch = state["best_epoch"]
    if on_start:
        on_start(RunInfo(model.layer_sizes, len(split.train.labels), len(split.val.labels), str(device)))

    snapshot: dict | None = None  # the resume state as of the last finished epoch
    best: tuple[EpochRecord, dict] | None = None  # best record and weights not yet written
    last_write = -math.inf
    try:
        for epoch in range(len(history) + 1, cfg.epochs + 1):
            if cfg.patience and epoch - best_epoch > cfg.patience:
                break  # early stopping: validation loss has not improved for `patience` epochs
            started = time.perf_counter()
            model.train()
            train_epoch(model, run, optimizer, schedule, config, on_batch)
            model.eval()
            # Both measured after the epoch on untouched images, so the two are comparable:
            # the running loss over augmented batches would say more about the augmentation.
            train_loss, train_accuracy = measure(model, run, run.x_train[run.train_probe], run.y_train[run.train_probe])
            val_loss, val_accuracy = measure(model, run, run.x_val, run.y_val)
            if not (math.isfinite(train_loss) and math.isfinite(val_loss)):
                raise DigitsError(
                    f"training diverged at epoch {epoch} (loss is {train_loss}); "
                    f"try a lower learning rate than {cfg.lr}"
                )
            lr = optimizer.param_groups[0]["lr"]
            record = EpochRecord(
                epoch, train_loss, val_loss, train_accuracy, val_accuracy, lr, time.perf_counter() - started
            )
            history.append(record)
            record.flag = epoch_flag(history)
            if best_epoch == 0 or val_loss < history[best_epoch - 1].val_loss:
                best_epoch = epoch
                best = (record, {name: t.detach().cpu().numpy().copy() for name, t in model.state_dict().items()})
            snapshot = copy.deepcopy(
                {
                    "config": dataclasses.asdict(config),
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "schedule": schedule.state_dict(),
                    "generator": generator.get_state(),
                    "torch_rng": torch.get_rng_state(),
                    "best_epoch": best_epoch,
                    "history": [dataclasses.asdict(r) for r in history],
                }
            )
            if time.monotonic() - last_write >= SAVE_EVERY or epoch == cfg.epochs:
                _write_run(output, snapshot, best, split, config)
                snapshot, best, last_write = None, None, time.monotonic()
            if on_epoch:
                on_epoch(record)
    finally:
        if snapshot is not None:  # stopped between writes: keep what the finished epochs earned
            _write_run(output, snapshot, best, split, config)

    return TrainResult(history, best_epoch, fit_diagnosis(history), output, checkpoint.history_path(output))


@dataclass
class Prepared:
    """A run's data on its device, its freshly initialized model and its random generator.

    A set that fits in STANDARDIZED_LIMIT bytes as float32 is stored standardized, ready to
    use; a larger one stays uint8 (N, size*size), a quarter of the memory, and `standardize`
    turns a batch into the model's input when it is used.
    """

    device: torch.device
    split: Split
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    model: DigitMLP
    generator: torch.Generator  # shuffling and augmentation
    train_probe: torch.Tensor  # as many training images as validation ones, to measure the fit on

    def standardize(self, pixels: torch.Tensor) -> torch.Tensor:
        """Stored pixels -> the model's input; on the device, the same as data.normalize."""
        if pixels.dtype != torch.uint8:
            return pixels  # stored standardized already
        return pixels.float().div_(255).sub_(self.split.mean).div_(self.split.std)


def prepare(config: Config) -> Prepared:
    """Seed everything, load and split the data onto the device, build the model."""
    device = resolve_device(config.train.device)
    torch.manual_seed(config.train.seed)
    generator = torch.Generator().manual_seed(config.train.seed)
    size = config.data.image_size
    digits = load_source(config.data.source, config.data.path, "train", size)
    split = split_train_val(digits, config.data.val_fraction, config.train.seed)
    model = DigitMLP(size * size, config.model.hidden, len(CLASSES), config.model.dropout).to(device)
    probe = torch.randperm(len(split.train.labels), generator=generator)[: len(split.val.labels)].to(device)
    return Prepared(
        device, split, *_tensors(split, "train", device), *_tensors(split, "val", device), model, generator, probe
    )


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
        return torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * step / total_steps))
        )
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)


def train_epoch(
    model: DigitMLP,
    run: Prepared,
    optimizer: torch.optim.Optimizer,
    schedule: torch.optim.lr_scheduler.LRScheduler,
    config: Config,
    on_batch: Callable[[int, int], None] | None = None,
) -> None:
    """One pass of SGD over the training images, in a fresh random order, a batch per step.

    Nothing in the loop waits on the device (no `.item()`), and nothing is logged: the
    losses are measured after the epoch.
    """
    x, y, batch_size = run.x_train, run.y_train, config.train.batch_size
    background = -run.split.mean / run.split.std  # the standardized value of blank paper
    smoothing = config.train.label_smoothing
    order = torch.randperm(len(y), generator=run.generator).to(x.device)
    batches = math.ceil(len(y) / batch_size)
    for i in range(batches):
        index = order[i * batch_size : (i + 1) * batch_size]
        inputs = run.standardize(x[index])
        if config.data.augment:
            inputs = augment(inputs, background, run.generator, config.data.elastic)
        loss = F.cross_entropy(model(inputs), y[index], label_smoothing=smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if on_batch:
            on_batch(i + 1, batches)


@torch.no_grad()
def measure(model: DigitMLP, run: Prepared, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of the model on (x, y), in large batches."""
    total_loss, correct = 0.0, 0
    for start in range(0, len(y), EVAL_BATCH):
        logits = model(run.standardize(x[start : start + EVAL_BATCH]))
        targets = y[start : start + EVAL_BATCH]
        total_loss += F.cross_entropy(logits, targets, reduction="sum").item()
        correct += (logits.argmax(dim=1) == targets).sum().item()
    return total_loss / len(y), correct / len(y)


def augment(
    inputs: torch.Tensor, background: float, generator: torch.Generator | None, elastic: bool = False
) -> torch.Tensor:
    """Small random rotations (±10°), scalings (±10%), shears and shifts (±2 px) of a batch.

    With `elastic`, also Simard et al.'s elastic distortion: a random displacement field,
    smoothed by a Gaussian, bends each stroke a little as a different hand would.
    """
    n, size = len(inputs), math.isqrt(inputs.shape[1])

    def uniform(low: float, high: float) -> torch.Tensor:
        return torch.rand(n, generator=generator).mul(high - low).add(low).to(inputs.device)

    angle = uniform(-10, 10) * math.pi / 180
    scale = uniform(0.9, 1.1)
    shear = uniform(-0.15, 0.15)
    shift_x, shift_y = uniform(-2, 2) * 2 / size, uniform(-2, 2) * 2 / size
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin + shear, shift_x], 1), torch.stack([sin, cos, shift_y], 1)], 1)
    images = inputs.view(n, 1, size, size) - background  # blank paper is 0 for the padding
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    if elastic:
        grid = grid + _elastic_field(n, size, generator).to(inputs.device)
    moved = F.grid_sample(images, grid, align_corners=False, padding_mode="zeros")
    return moved.view(n, -1) + background


def _elastic_field(n: int, size: int, generator: torch.Generator | None) -> torch.Tensor:
    sigma, alpha = size / 7, size * 1.2  # Simard et al.: sigma 4 and alpha 34 pixels at 28×28
    radius = math.ceil(2 * sigma)
    taps = torch.exp(-(torch.arange(-radius, radius + 1, dtype=torch.float32) ** 2) / (2 * sigma**2))
    taps /= taps.sum()
    noise = torch.rand(n * 2, 1, size, size, generator=generator) * 2 - 1
    noise = F.conv2d(F.pad(noise, (radius, radius, 0, 0), mode="reflect"), taps.view(1, 1, 1, -1))
    noise = F.conv2d(F.pad(noise, (0, 0, radius, radius), mode="reflect"), taps.view(1, 1, -1, 1))
    return (noise * alpha * 2 / size).view(n, 2, size, size).permute(0, 2, 3, 1)  # pixels -> grid units


def epoch_flag(history: list[EpochRecord]) -> str:
    """The fit as of the last epoch in `history`: "overfit", "underfit" or "good"."""
    last = history[-1]
    best = min(history, key=lambda r: r.val_loss)
    val_rising = last.epoch - best.epoch >= PATIENCE and last.val_loss > best.val_loss * (1 + RISE_TOLERANCE)
    train_falling = last.train_loss < best.train_loss * (1 - RISE_TOLERANCE)
    if last.train_accuracy - last.val_accuracy > OVERFIT_GAP:
        return "overfit"
    if last.train_accuracy < UNDERFIT_ACCURACY:  # still learning: a bump in val loss is noise
        return "underfit"
    if val_rising and train_falling:
        return "overfit"
    return "good"


def fit_diagnosis(history: list[EpochRecord]) -> Diagnosis:
    """The verdict on a whole run, with one line of advice."""
    flag = history[-1].flag
    best = min(history, key=lambda r: r.val_loss)
    if flag == "overfit":
        return Diagnosis(
            "overfitting",
            f"the saved model is from epoch {best.epoch}, where validation loss was lowest; "
            "augmentation, more weight_decay or a smaller network would let it generalize further",
        )
    if flag == "underfit":
        return Diagnosis(
            "underfitting",
            "losses are still high: train for more epochs, raise the learning rate or widen the hidden layers",
        )
    return Diagnosis(
        "good fit",
        f"training and validation loss fell together; the best model (epoch {best.epoch}) is saved",
    )


def history_csv(history: list[EpochRecord]) -> str:
    """The history as CSV, one row per epoch."""
    names = [f.name for f in dataclasses.fields(EpochRecord)]
    rows = [",".join(names)]
    for record in history:
        values = dataclasses.asdict(record)
        rows.append(",".join(f"{v:.6g}" if isinstance(v, float) else str(v) for v in values.values()))
    return "\n".join(rows) + "\n"


def resolve_device(name: str) -> torch.device:
    """ "auto" -> the GPU when there is one, else the CPU; a named device must exist."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DigitsError(f"--device {name}: CUDA is not available on this machine (try --device cpu)")
    if name.startswith("cuda:") and int(name[5:]) >= torch.cuda.device_count():
        raise DigitsError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    if name == "mps" and not torch.backends.mps.is_available():
        raise DigitsError("--device mps: MPS is not available on this machine (try --device cpu)")
    return torch.device(name)


def _resume_state(output: Path, config: Config) -> dict:
    path = checkpoint.resume_path(output)
    state = checkpoint.load_resume_state(path)
    missing = RESUME_KEYS - set(state) if isinstance(state, dict) else RESUME_KEYS
    if missing:
        raise DigitsError(f"{path}: not a digits resume state (no {', '.join(sorted(missing))})")
    stored, current = state["config"], dataclasses.asdict(config)
    changed = [
        f"{section}.{key}"
        for section, values in current.items()
        for key, value in values.items()
        if key not in ("device", "output") and stored.get(section, {}).get(key) != value  # a run may move
    ]
    if changed:
        raise DigitsError(
            f"{path}: this run was started with other settings ({', '.join(changed)}); "
            "resume it with the config and flags it was started with"
        )
    if len(state["history"]) >= config.train.epochs:
        raise DigitsError(f"{path}: this run already finished all {config.train.epochs} epochs")
    return state


def _tensors(split: Split, part: str, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    digits = getattr(split, part)
    labels = torch.from_numpy(digits.labels).to(device)
    if digits.images.size * 4 <= STANDARDIZED_LIMIT:
        return torch.from_numpy(normalize(digits.images, split.mean, split.std)).to(device), labels
    return torch.from_numpy(digits.images.reshape(len(digits.labels), -1)).to(device), labels


def _write_run(
    output: Path, snapshot: dict, best: tuple[EpochRecord, dict] | None, split: Split, config: Config
) -> None:
    """Write the best model (when it changed), the resume state and the history."""
    if best is not None:
        record, weights = best
        metrics = {key: value for key, value in dataclasses.asdict(record).items() if key not in ("seconds", "flag")}
        size = config.data.image_size
        checkpoint.save_model(
            output,
            weights,
            layer_sizes=[size * size, *config.model.hidden, len(CLASSES)],
            image_size=size,
            mean=split.mean,
            std=split.std,
            classes=CLASSES,
            config=dataclasses.asdict(config),
            metrics=metrics,
        )
    checkpoint.save_resume_state(checkpoint.resume_path(output), snapshot)
    history = [EpochRecord(**row) for row in snapshot["history"]]
    checkpoint.write_text(checkpoint.history_path(output), history_csv(history))
