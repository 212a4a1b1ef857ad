"""Does `digits train`'s verdict name the right cause? A battery of runs whose cause is known.

Each run changes one thing in a shipped config so that its cause is not in doubt (a rate 100×
too high, 1,000× too low, 3 epochs of the default's 50, a hidden layer of 1 or 4 units, a wide
layer on few images without augmentation), plus configs that train well. Each is trained on
--seeds seeds with digits' own trainer, on the bundled sample, and its diagnosis's `cause` is
printed against the one expected.

    python benchmarks/verdicts.py [--seeds 3] [--first-seed 0] [--only WORD ...] [--histories DIR]

The thresholds in learn/history.py were set on seeds 0–2 of these runs; seeds from 3 on are runs
they never saw (`--first-seed 3`).

--histories keeps each run's history CSV (NAME-SEED.csv), as the tests' recorded histories were kept.
About 6 minutes for 3 seeds on 2 cores, most of it the default config's 50 epochs.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from digits.learn.config import Config, load_config
from digits.learn.history import EpochRecord
from digits.learn.trainer import train

ROOT = Path(__file__).resolve().parent.parent


def config(name: str, **changes: object) -> Callable[[], Config]:
    """configs/NAME.toml with `section__key=value` changes, as a flag would make them."""

    def make() -> Config:
        made = load_config(ROOT / "configs" / f"{name}.toml")
        for key, value in changes.items():
            section, field = key.split("__")
            setattr(getattr(made, section), field, value)
        return made

    return make


class Stop(KeyboardInterrupt):
    """Raised after an epoch, as Ctrl-C would stop the run there."""


def stop_after(epoch: int) -> Callable[[EpochRecord], None]:
    def on_epoch(record: EpochRecord) -> None:
        if record.epoch == epoch:
            raise Stop

    return on_epoch


DEFAULT_LR = Config().train.lr
STOPPED = "default, stopped (Ctrl-C) after 3 of 50 epochs"
BATTERY: list[tuple[str, str, Callable[[], Config]]] = [  # name, expected cause, config
    ("default, lr ×100", "learning_rate_too_high", config("default", train__lr=DEFAULT_LR * 100)),
    ("default, lr ÷1000", "learning_rate_too_low", config("default", train__lr=DEFAULT_LR / 1000)),
    ("hidden.toml, lr 1e-5", "learning_rate_too_low", config("hidden", train__lr=1e-5)),
    ("default, 3 epochs", "too_few_epochs", config("default", train__epochs=3)),
    (STOPPED, "too_few_epochs", config("default")),
    ("underfit.toml, hidden [1]", "too_small", config("underfit", model__hidden=[1])),
    ("underfit.toml, hidden [1], 5 epochs", "too_small", config("underfit", model__hidden=[1], train__epochs=5)),
    ("underfit.toml (hidden [4])", "too_small", config("underfit")),
    ("overfit.toml", "memorizing", config("overfit")),
    (
        "[4096] on 1,000 images, no augmentation, 20 epochs",
        "memorizing",
        config("default", model__hidden=[4096], data__train_images=1000, data__augment=False, train__epochs=20),
    ),
    ("hidden.toml", "none", config("hidden")),
    ("default.toml", "none", config("default")),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds per run")
    parser.add_argument("--first-seed", type=int, default=0, help="the first of them; the next are 1 apart")
    parser.add_argument("--only", nargs="+", metavar="WORD", help="only the runs whose name holds one of these words")
    parser.add_argument("--histories", type=Path, metavar="DIR", help="keep each run's history CSV here")
    args = parser.parse_args()
    if args.histories:
        args.histories.mkdir(parents=True, exist_ok=True)
    battery = [run for run in BATTERY if not args.only or any(word in run[0] for word in args.only)]
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    print(f"| run | expected cause | {' | '.join(f'seed {s}' for s in seeds)} |")
    print(f"| --- | --- |{' --- |' * args.seeds}")
    right = total = 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for number, (name, expected, make) in enumerate(battery):
            found = []
            for seed in seeds:
                run_config = make()
                run_config.train.seed, run_config.train.device = seed, "cpu"
                run_config.train.output = str(Path(tmp) / f"run-{number}-{seed}.safetensors")
                result = train(run_config, on_epoch=stop_after(3) if name == STOPPED else None)
                cause = result.diagnosis.cause
                right, total = right + (cause == expected), total + 1
                found.append(cause if cause == expected else f"**{cause}**")
                if args.histories:
                    shutil.copy(result.history_file, args.histories / f"{number:02d}-{seed}.csv")
            print(f"| {name} | {expected} | {' | '.join(found)} |", flush=True)
    print(f"\n{right} of {total} right ({right / total:.0%}); {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
