"""What earned its place in the default config: each setting changed alone, judged on validation.

Trains the bundled-sample default (configs/default.toml) and, for each of its choices, the same
config with that one choice undone, over a few seeds, and prints the validation accuracy of each
run's saved model (the epoch with the lowest validation loss; 800 validation digits, so one digit
is 0.125 points). The official test set is not read here: settings are chosen on validation only.

    python benchmarks/choices.py [--seeds 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path

from digits.learn.config import Config, load_config
from digits.learn.trainer import train

ROOT = Path(__file__).resolve().parent.parent


def _set(section: str, key: str, value: object) -> Callable[[Config], None]:
    return lambda config: setattr(getattr(config, section), key, value)


CHANGES: list[tuple[str, Callable[[Config], None]]] = [
    ("none: the default", lambda config: None),
    ("no elastic distortion (affine only)", _set("data", "elastic", False)),
    ("no augmentation at all", _set("data", "augment", False)),
    ("constant learning rate instead of cosine", _set("train", "schedule", "constant")),
    ("plain momentum instead of Nesterov", _set("train", "nesterov", False)),
    ("hidden [256, 128] instead of [512, 256]", _set("model", "hidden", [256, 128])),
    ("30 epochs instead of 50", _set("train", "epochs", 30)),
    ("weight decay 1e-4 instead of 5e-4", _set("train", "weight_decay", 1e-4)),
    ("label smoothing 0.1 (off by default)", _set("train", "label_smoothing", 0.1)),
    ("dropout 0.2 (off by default)", _set("model", "dropout", 0.2)),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2, help="runs per change")
    args = parser.parse_args()
    print(f"| change from the default | validation accuracy, seeds 0–{args.seeds - 1} | median |")
    print("| --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        for name, change in CHANGES:
            accuracies = []
            for seed in range(args.seeds):
                config = load_config(ROOT / "configs" / "default.toml")
                change(config)
                config.train.seed = seed
                config.train.output = str(Path(tmp) / "model.safetensors")
                result = train(config)
                accuracies.append(result.history[result.best_epoch - 1].val_accuracy)
            runs = ", ".join(f"{a:.2%}" for a in accuracies)
            print(f"| {name} | {runs} | {statistics.median(accuracies):.2%} |", flush=True)


if __name__ == "__main__":
    main()
