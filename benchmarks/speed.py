"""Speed and memory of digits, each against a reference measured in the same run.

    python benchmarks/speed.py [--repeats 5] [--only training startup prediction memory]

1. Training: samples/s of `digits train` with configs/default.toml's and configs/mnist.toml's
   networks, batches and optimizers (on the bundled sample, augmentation and drawn non-digits off)
   against a bare loop over pre-standardized tensors held in memory with the same network and
   torch.optim.SGD; then an epoch of digits' loop taken apart, to show where the rest goes. Also
   against PyTorch's MNIST-example pattern (a torchvision Dataset with ToTensor and Normalize per
   sample, through a DataLoader). Epochs are timed from the end of the first to the end of the
   last, so one-time set-up (import, data loading) is left out; digits' epochs include its
   validation, history and checkpoint writes.
2. Start-up: `digits --help` and every command's `--help`, and `digits predict one.png`,
   against `python -c "import torch"`; with peak memory (max RSS) for predict; and the Python
   API from a cold interpreter, `import digits; digits.load_model().predict(path)`.
3. Batch prediction: per-image cost of predicting 1,000 image files against a bare Pillow
   open-and-convert loop over the same files.
4. Training memory: peak RSS of training on the bundled sample and on 60,000 synthetic digits,
   above that of `python -c "import torch"`.

Figures are medians of --repeats runs. The machine's speed drifts between runs, so each ratio is
the median of ratios of runs made side by side.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from digits.learn.config import Config, load_config
from digits.learn.data import split_train_val
from digits.learn.history import EpochRecord
from digits.learn.model import DigitMLP, training_step
from digits.learn.run_setup import make_optimizer, setup
from digits.learn.sgd import Schedule
from digits.learn.trainer import measure, train
from digits.read.checkpoint import load_model_file
from digits.read.datasets import SAMPLE_DIR, TEST_DIR, load_idx_dir, normalize
from digits.read.files import predict_paths
from digits.read.results import layers_text

ROOT = Path(__file__).resolve().parent.parent

EPOCHS = 6
DATALOADER_HIDDEN = [256, 128]  # the DataLoader pattern's network: as PyTorch's example, small beside its loader
ROWS: list[tuple[str, str, str, str]] = []


def report(what: str, figure: str, reference: str, ratio: str) -> None:
    ROWS.append((what, figure, reference, ratio))
    print(f"  {what}: {figure} (reference {reference}; {ratio})", flush=True)


# --- 1. training throughput -------------------------------------------------------------------


def throughput_config(name: str, workdir: Path) -> Config:
    """configs/NAME.toml's network, batch and optimizer on the bundled sample, as the bare loop trains:
    no augmentation and no drawn non-digits (the loop has the same images), EPOCHS epochs, on the CPU."""
    config = load_config(ROOT / "configs" / f"{name}.toml")
    config.data.source, config.data.path = "sample", ""
    config.data.augment, config.data.non_digits = False, 0
    config.train.epochs, config.train.device = EPOCHS, "cpu"
    config.train.output = str(workdir / f"speed-{name}.safetensors")
    return config


def bare_loop(x: torch.Tensor, y: torch.Tensor, config: Config) -> float:
    """The floor: the same network and torch.optim.SGD with the same settings, a loop over index batches of
    pre-standardized tensors in memory; nothing measured, nothing written."""
    cfg = config.train
    torch.manual_seed(0)
    model = DigitMLP(x.shape[1], config.model.hidden)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov, weight_decay=cfg.weight_decay
    )
    epoch_ends = []
    for _ in range(EPOCHS):
        for index in torch.randperm(len(y)).split(cfg.batch_size):
            loss = torch.nn.functional.cross_entropy(model(x[index]), y[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        epoch_ends.append(time.perf_counter())
    return len(y) * (EPOCHS - 1) / (epoch_ends[-1] - epoch_ends[0])


def dataloader_pattern(images: np.ndarray, labels: np.ndarray, mean: float, std: float) -> float:
    """PyTorch's MNIST example: per-sample PIL image -> ToTensor -> Normalize, via DataLoader."""
    from torchvision import transforms

    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((mean,), (std,))])

    class Digits(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return len(labels)

        def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
            return transform(Image.fromarray(images[i], mode="L")).view(-1), int(labels[i])

    torch.manual_seed(0)
    model = DigitMLP(images[0].size, DATALOADER_HIDDEN)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loader = torch.utils.data.DataLoader(Digits(), batch_size=64, shuffle=True)
    epochs = 3  # slow enough that three epochs say as much as six
    epoch_ends = []
    for _ in range(epochs):
        for inputs, targets in loader:
            loss = torch.nn.functional.cross_entropy(model(inputs), targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        epoch_ends.append(time.perf_counter())
    return len(labels) * (epochs - 1) / (epoch_ends[-1] - epoch_ends[0])


def digits_training(config: Config) -> tuple[float, float]:
    """`digits train`'s samples/s, its epochs' validation, history and checkpoint writes included, and the
    seconds an epoch spends outside its own record (history, resume snapshot, files)."""
    plans, epoch_ends, inside = [], [], []

    def on_epoch(record: EpochRecord) -> None:
        epoch_ends.append(time.perf_counter())
        inside.append(record.seconds)

    result = train(config, on_start=plans.append, on_epoch=on_epoch)
    assert len(result.history) == EPOCHS
    between = [end - start for start, end in itertools.pairwise(epoch_ends)]
    bookkeeping = statistics.median(b - i for b, i in zip(between, inside[1:], strict=True))
    return plans[0].train_samples * (EPOCHS - 1) / (epoch_ends[-1] - epoch_ends[0]), bookkeeping


def where_the_time_goes(config: Config, bookkeeping: float) -> None:
    """An epoch of digits' own loop taken apart: assembling the batches (index, standardize), the SGD steps,
    the learning-rate schedule, measuring loss and accuracy after the epoch, and what the run writes."""
    model, data = setup(config)
    optimizer = make_optimizer(model, config.train.lr, config)
    schedule = Schedule(optimizer, config.train.schedule, 10**9)
    pixels, labels = data.images["train"], data.labels["train"]
    ready = data.standardize(pixels)  # the bare loop's pre-standardized inputs
    batch = config.train.batch_size

    def assembling() -> None:
        for _ in data.shuffled_batches(batch):
            pass

    def stepping() -> None:
        for index in torch.randperm(len(labels)).split(batch):
            training_step(model, ready[index], labels[index], optimizer)

    def scheduling() -> None:
        for _ in range(math.ceil(len(labels) / batch)):
            schedule.step()

    def measuring() -> None:
        measure(model, data, "probe")
        measure(model, data, "val")

    parts = {"SGD steps": stepping, "batches assembled": assembling, "schedule": scheduling, "measuring": measuring}
    times: dict[str, list[float]] = {name: [] for name in parts}
    for _ in range(3):
        for name, part in parts.items():
            started = time.perf_counter()
            part()
            times[name].append(time.perf_counter() - started)
    spent = {name: statistics.median(values) for name, values in times.items()} | {"history and files": bookkeeping}
    whole = sum(spent.values())
    print("    an epoch: " + ", ".join(f"{name} {ms * 1000:.1f} ms ({ms / whole:.1%})" for name, ms in spent.items()))


def training_throughput(repeats: int, workdir: Path) -> None:
    print("training throughput (samples/s)", flush=True)
    split = split_train_val(load_idx_dir(SAMPLE_DIR, "train"), 0.1, 0)
    x = torch.from_numpy(normalize(split.train.images, split.mean, split.std))
    y = torch.from_numpy(split.train.labels)
    for name in ("default", "mnist"):
        config = throughput_config(name, workdir)
        bare, ours, bookkeeping = [], [], []
        for _ in range(repeats):  # interleaved: a slow spell of the machine hits both alike
            bare.append(bare_loop(x, y, config))
            speed, kept = digits_training(config)
            ours.append(speed)
            bookkeeping.append(kept)
        ratio = statistics.median(o / r for o, r in zip(ours, bare, strict=True))
        network = layers_text([784, *config.model.hidden, 10])
        report(
            f"digits train vs bare in-memory loop, configs/{name}.toml's {network}",
            f"{statistics.median(ours):,.0f}/s",
            f"{statistics.median(bare):,.0f}/s",
            f"{ratio:.2f}x",
        )
        where_the_time_goes(config, statistics.median(bookkeeping))
    loader, ours = [], []
    for _ in range(repeats):
        loader.append(dataloader_pattern(split.train.images, split.train.labels, split.mean, split.std))
        config = throughput_config("default", workdir)
        config.model.hidden = DATALOADER_HIDDEN
        ours.append(digits_training(config)[0])
    ratio = statistics.median(o / r for o, r in zip(ours, loader, strict=True))
    report(
        "digits train vs DataLoader pattern, 784-256-128-10",
        f"{statistics.median(ours):,.0f}/s",
        f"{statistics.median(loader):,.0f}/s",
        f"{ratio:.2f}x",
    )


# --- 2. start-up ------------------------------------------------------------------------------


PEAK_MEMORY = """
import os, subprocess, sys
child = subprocess.Popen([sys.executable, *sys.argv[1:]], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
print(usage.ru_maxrss, file=sys.stderr)  # KB, of that child alone, start to exit (teardown included)
"""


def timed_child(args: list[str], repeats: int) -> tuple[float, float]:
    """Median wall seconds of `python ARGS`, and its median peak RSS (MB) in a second run.

    The peak is what the kernel reports for the whole process, as `/usr/bin/time -v` does,
    measured by a small launcher: a child forked straight from this process (torch loaded)
    would count this process's pages as its own until it execs.
    """
    seconds, peaks = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([sys.executable, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        seconds.append(time.perf_counter() - started)
        measured = subprocess.run(
            [sys.executable, "-c", PEAK_MEMORY, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        peaks.append(int(measured.stderr.strip().splitlines()[-1]) / 1024)
    return statistics.median(seconds), statistics.median(peaks)


def start_up(repeats: int, image: Path) -> None:
    print("start-up (seconds)", flush=True)
    torch_seconds, torch_mb = timed_child(["-c", "import torch"], repeats)
    digits = ["-m", "digits"]
    for command in ([], ["train"], ["evaluate"], ["predict"], ["show"], ["lr-find"], ["export"]):
        seconds, _ = timed_child([*digits, *command, "--help"], repeats)
        name = " ".join(["digits", *command, "--help"])
        report(name, f"{seconds:.3f} s", f"import torch {torch_seconds:.3f} s", f"{seconds / torch_seconds:.2f}x")
    seconds, peak = timed_child([*digits, "predict", str(image)], repeats)
    report(
        "digits predict one.png",
        f"{seconds:.3f} s",
        f"import torch {torch_seconds:.3f} s",
        f"{seconds / torch_seconds:.2f}x",
    )
    report("digits predict one.png, peak memory", f"{peak:.0f} MB", f"import torch {torch_mb:.0f} MB", "goal < 150 MB")
    from_python = f"import digits; print(digits.load_model().predict({str(image)!r}).digit)"
    seconds, _ = timed_child(["-c", from_python], repeats)
    report("python: import digits; load_model().predict(one.png)", f"{seconds:.3f} s", "goal ≤ 0.25 s", "")


# --- 3. batch prediction ----------------------------------------------------------------------


def write_drawings(directory: Path, count: int) -> list[Path]:
    """Held-out digits drawn as dark ink on white pages of 60–300 px, off centre, as PNG files."""
    rng = np.random.default_rng(0)
    test = load_idx_dir(TEST_DIR, "t10k")
    paths = []
    for i in range(count):
        width, height = rng.integers(60, 301, size=2)
        side = int(min(width, height) * rng.uniform(0.4, 0.8))
        digit = Image.fromarray(255 - test.images[i % len(test.labels)]).resize((side, side), Image.Resampling.BICUBIC)
        page = Image.new("L", (int(width), int(height)), 255)
        page.paste(digit, (int(rng.integers(0, width - side + 1)), int(rng.integers(0, height - side + 1))))
        paths.append(directory / f"{i:04d}.png")
        page.save(paths[-1])
    return paths


def batch_prediction(repeats: int, paths: list[Path]) -> None:
    print("batch prediction (ms per image)", flush=True)
    model = load_model_file()

    def bare() -> float:
        started = time.perf_counter()
        for path in paths:
            with Image.open(path) as image:
                image.convert("L")
        return (time.perf_counter() - started) / len(paths)

    def ours() -> float:
        started = time.perf_counter()
        predictions = list(predict_paths(model, [paths[0].parent]))
        assert len(predictions) == len(paths) and not any(p.failed for p in predictions)
        return (time.perf_counter() - started) / len(paths)

    bare_times, our_times = [], []
    for _ in range(repeats):  # interleaved
        bare_times.append(bare())
        our_times.append(ours())
    bare_ms, ours_ms = statistics.median(bare_times) * 1000, statistics.median(our_times) * 1000
    ratio = statistics.median(o / b for o, b in zip(our_times, bare_times, strict=True))
    report(
        f"predict {len(paths):,} files", f"{ours_ms:.3f} ms", f"Pillow open+convert {bare_ms:.3f} ms", f"{ratio:.2f}x"
    )


# --- 4. training memory -----------------------------------------------------------------------

TRAIN_CHILD = """
import sys
from digits.learn.config import Config
from digits.learn.trainer import train
config = Config()
config.data.augment = False
config.model.hidden = [256, 128]
config.train.epochs = 1
config.train.output = sys.argv[1]
if len(sys.argv) > 2:
    config.data.source, config.data.path = "mnist", sys.argv[2]
train(config)
"""


def training_memory(repeats: int, workdir: Path) -> None:
    print("training memory (peak RSS, MB)", flush=True)
    _, torch_mb = timed_child(["-c", "import torch"], repeats)
    _, sample_mb = timed_child(["-c", TRAIN_CHILD, str(workdir / "m.safetensors")], repeats)
    report(
        "train on the bundled 8,000-digit sample",
        f"{sample_mb:.0f} MB",
        f"import torch {torch_mb:.0f} MB",
        f"+{sample_mb - torch_mb:.0f} MB (goal ≤ +300)",
    )
    raw = workdir / "synthetic" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    sample, test = load_idx_dir(SAMPLE_DIR, "train"), load_idx_dir(TEST_DIR, "t10k")
    rng = np.random.default_rng(0)
    index = rng.integers(0, len(sample.labels), size=60_000)
    shifted = np.stack([np.roll(sample.images[i], rng.integers(-2, 3, size=2), axis=(0, 1)) for i in index])
    for name, array in (
        ("train-images-idx3-ubyte", shifted),
        ("train-labels-idx1-ubyte", sample.labels[index]),
        ("t10k-images-idx3-ubyte", test.images),
        ("t10k-labels-idx1-ubyte", test.labels),
    ):
        header = bytes([0, 0, 8, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
        (raw / name).write_bytes(header + array.astype(np.uint8).tobytes())
    _, big_mb = timed_child(["-c", TRAIN_CHILD, str(workdir / "big.safetensors"), str(workdir / "synthetic")], repeats)
    report(
        "train on 60,000 synthetic digits",
        f"{big_mb:.0f} MB",
        f"import torch {torch_mb:.0f} MB",
        f"+{big_mb - torch_mb:.0f} MB (goal ≤ +300)",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per figure; medians are reported")
    parts = ("training", "startup", "prediction", "memory")
    parser.add_argument("--only", nargs="+", choices=parts, default=parts, help="measure only these")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads); medians of {args.repeats} runs\n"
    )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        images = workdir / "images"
        images.mkdir()
        paths = write_drawings(images, 1000)
        if "training" in args.only:
            training_throughput(args.repeats, workdir)
        if "startup" in args.only:
            start_up(args.repeats, paths[0])
        if "prediction" in args.only:
            batch_prediction(args.repeats, paths)
        if "memory" in args.only:
            training_memory(max(1, args.repeats // 2), workdir)
    print("\n| what | digits | reference | ratio |\n| --- | --- | --- | --- |")
    for row in ROWS:
        print("| " + " | ".join(row) + " |")
    print(
        f"\n({time.perf_counter() - started:.0f} s in all; peak RSS of this process "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)"
    )


if __name__ == "__main__":
    main()
