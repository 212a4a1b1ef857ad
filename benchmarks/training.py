"""How accurate is each shipped config, at what cost, beside the published anchors?

For each config: train it with digits' trainer (as `digits train --config` does), take the best
epoch's validation accuracy (settings are chosen on this), then read MNIST's official test set
once, to report. Also, on the bundled sample: scikit-learn's MLPClassifier (pip install -e
".[bench]") and a plain SGD MLP, as references.

    python benchmarks/training.py [--seeds 3] [--mnist DIR] [--configs default mnist-quick mnist]

DIR holds MNIST's training files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz); the
mnist configs are skipped without it. Figures are medians over seeds, with the range.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from digits.learn.config import Config, load_config
from digits.learn.trainer import train
from digits.read.checkpoint import load_model_file
from digits.read.datasets import SAMPLE_DIR, TEST_DIR, load_idx_dir
from digits.read.metrics import evaluate

ROOT = Path(__file__).resolve().parent.parent
ANCHORS = [
    ("Simard et al. 2003, 784-800-10 + elastic distortions", "99.30%"),
    ("Srivastava et al. 2014, dropout MLP, no augmentation", "99.21%"),
    ("Cireșan et al. 2010, 784-2500-2000-1500-1000-500-10 + distortions, ~800 epochs on a GPU", "99.65%"),
    ("pytorch/examples mnist CNN, 14 epochs, on this kind of machine (as measured for issue 12)", "99.19%"),
]


def run(config: Config, seed: int, workdir: Path) -> tuple[float, float, float, float]:
    """Validation accuracy (best epoch), test accuracy, wall seconds and training samples per second."""
    config.train.seed = seed
    config.train.output = str(workdir / f"model-{seed}.safetensors")
    plans = []
    started = time.perf_counter()
    result = train(config, on_start=plans.append)
    seconds = time.perf_counter() - started
    best = result.history[result.best_epoch - 1]
    per_second = plans[0].train_samples * len(result.history) / sum(r.seconds for r in result.history)
    test = evaluate(load_model_file(result.output), load_idx_dir(TEST_DIR, "t10k")).accuracy
    return best.val_accuracy, test, seconds, per_second


def plain_sgd() -> Config:
    config = Config()
    config.model.hidden = [256, 128]
    config.data.augment = False
    config.train.schedule = "constant"
    config.train.nesterov = False
    config.train.weight_decay = 0.0
    config.train.epochs = 20
    return config


def sklearn_mlp(seed: int) -> tuple[float, float]:
    from sklearn.neural_network import MLPClassifier

    train_split, test_split = load_idx_dir(SAMPLE_DIR, "train"), load_idx_dir(TEST_DIR, "t10k")
    started = time.perf_counter()
    classifier = MLPClassifier(hidden_layer_sizes=(256, 128), max_iter=50, random_state=seed)
    classifier.fit(train_split.images.reshape(len(train_split.labels), -1) / 255, train_split.labels)
    predicted = classifier.predict(test_split.images.reshape(len(test_split.labels), -1) / 255)
    return float(np.mean(predicted == test_split.labels)), time.perf_counter() - started


def spread(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.2%} (1 seed)"
    return f"{statistics.median(values):.2%} ({min(values):.2%}–{max(values):.2%})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="runs per config (median reported)")
    parser.add_argument("--mnist", type=Path, help="folder with MNIST's training files, for the mnist configs")
    parser.add_argument("--configs", nargs="+", default=["default", "mnist-quick", "mnist"], help="configs/NAME.toml")
    parser.add_argument("--references", action="store_true", help="also scikit-learn's MLP and a plain SGD MLP")
    args = parser.parse_args()

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; medians over {args.seeds} seeds (range)\n"
    )
    print("| config | data | validation accuracy | official test accuracy | wall time | samples/s |")
    print("| --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        runs: list[tuple[str, Config]] = []
        for name in args.configs:
            config = load_config(ROOT / "configs" / f"{name}.toml")
            if config.data.source == "mnist":
                if args.mnist is None:
                    print(f"| {name} | skipped: pass --mnist DIR | | | | |")
                    continue
                config.data.path = str(args.mnist)
            runs.append((name, config))
        if args.references:
            runs.append(("plain SGD MLP 784-256-128-10, 20 epochs, no augmentation", plain_sgd()))
        for name, config in runs:
            results = [run(config, seed, Path(tmp)) for seed in range(args.seeds)]
            val, test, seconds, speed = (list(column) for column in zip(*results, strict=True))
            data = "full MNIST (54,001 + 5,999)" if config.data.source == "mnist" else "bundled sample (7,200 + 800)"
            print(
                f"| {name} | {data} | {spread(val)} | {spread(test)} | {statistics.median(seconds) / 60:.1f} min "
                f"| {statistics.median(speed):,.0f} |",
                flush=True,
            )
        if args.references:
            scores = [sklearn_mlp(seed) for seed in range(args.seeds)]
            accuracy, seconds = [s[0] for s in scores], [s[1] for s in scores]
            print(
                f"| scikit-learn MLPClassifier (256, 128), adam, 50 iterations | bundled sample | — | {spread(accuracy)} "
                f"| {statistics.median(seconds) / 60:.1f} min | |"
            )
    print("\n| published anchor | official test accuracy |\n| --- | --- |")
    for name, accuracy in ANCHORS:
        print(f"| {name} | {accuracy} |")


if __name__ == "__main__":
    main()
