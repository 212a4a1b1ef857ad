"""Side by side on the bundled sample: how accurate is the default config, and at what cost?

Trains, on the same 7,000 training digits and tests on the same 1,000 held-out ones:
- scikit-learn's MLPClassifier (when scikit-learn is installed: pip install -e ".[bench]"),
- a plain SGD MLP: the same 784-256-128-10 network, constant learning rate, no momentum
  tricks, no weight decay, no augmentation,
- digits' default config (configs/default.toml),
and prints accuracy and wall time for each, one row each, with the machine it ran on.

    python benchmarks/training.py [--seeds 3]

Accuracy is the median over seeds (the test split has 1,000 digits: one digit is 0.1 point).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from digits.checkpoint import load_model
from digits.config import Config, load_config
from digits.data import SAMPLE_DIR, load_idx_dir
from digits.inference import evaluate
from digits.trainer import train

ROOT = Path(__file__).resolve().parent.parent


def digits_run(config: Config, seed: int, workdir: Path) -> float:
    """Train with digits' trainer; return test accuracy."""
    config.train.seed = seed
    config.train.output = str(workdir / f"model-{seed}.safetensors")
    train(config)
    model = load_model(Path(config.train.output))
    return evaluate(model, load_idx_dir(SAMPLE_DIR, "t10k")).accuracy


def default_config(seed: int, workdir: Path) -> float:
    return digits_run(load_config(ROOT / "configs" / "default.toml"), seed, workdir)


def plain_sgd(seed: int, workdir: Path) -> float:
    config = Config()
    config.data.augment = False
    config.train.schedule = "constant"
    config.train.nesterov = False
    config.train.weight_decay = 0.0
    config.train.epochs = 20
    return digits_run(config, seed, workdir)


def sklearn_mlp(seed: int, workdir: Path) -> float:
    from sklearn.neural_network import MLPClassifier

    train_split, test_split = load_idx_dir(SAMPLE_DIR, "train"), load_idx_dir(SAMPLE_DIR, "t10k")
    classifier = MLPClassifier(hidden_layer_sizes=(256, 128), max_iter=50, random_state=seed)
    classifier.fit(train_split.images.reshape(len(train_split.labels), -1) / 255, train_split.labels)
    predicted = classifier.predict(test_split.images.reshape(len(test_split.labels), -1) / 255)
    return float(np.mean(predicted == test_split.labels))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="runs per method (median reported)")
    args = parser.parse_args()

    methods: list[tuple[str, Callable[[int, Path], float]]] = []
    try:
        import sklearn  # noqa: F401

        methods.append(("scikit-learn MLPClassifier (256, 128), adam, 50 iterations", sklearn_mlp))
    except ImportError:
        print("scikit-learn is not installed: skipping MLPClassifier (pip install -e '.[bench]')")
    methods.append(("plain SGD MLP 784-256-128-10, 20 epochs, no augmentation", plain_sgd))
    methods.append(("digits default config (configs/default.toml)", default_config))

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; median of {args.seeds} seeds\n"
    )
    print("| method | test accuracy | min–max | wall time (s) |")
    print("| --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        for name, method in methods:
            accuracies, seconds = [], []
            for seed in range(args.seeds):
                started = time.perf_counter()
                accuracies.append(method(seed, Path(tmp)))
                seconds.append(time.perf_counter() - started)
            print(
                f"| {name} | {statistics.median(accuracies):.1%} | {min(accuracies):.1%}–{max(accuracies):.1%} "
                f"| {statistics.median(seconds):.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
