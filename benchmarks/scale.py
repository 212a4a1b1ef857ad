"""Files read per second: one process, `digits predict`'s own processes, and a Dask cluster.

The same image files (MNIST's official test digits as ink on paper, one PNG each) are read
three ways, each `--repeats` times, and the median of each is printed with its ratio to one
process:

- one process: `DigitReader.predict_files(..., processes=False)`;
- `predict`'s processes: `DigitReader.predict_files(...)`, a process per core, as the CLI reads;
- a local Dask cluster of `--workers` single-threaded worker processes: `digits.read.scale.read_files`,
  writing JSON Lines, with the cluster's start-up timed apart.

    python benchmarks/scale.py [--files 2000] [--workers 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from digits.read.datasets import TEST_DIR, load_idx_dir
from digits.read.reader import load_model
from digits.read.scale import read_files


def timed(run: Callable[[], object], repeats: int) -> float:
    """The median seconds of `repeats` calls of `run`."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    from dask.distributed import Client, LocalCluster

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    digits = load_idx_dir(TEST_DIR, "t10k")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "scans"
        folder.mkdir()
        for i in range(args.files):
            Image.fromarray(255 - digits.images[i % len(digits.images)]).save(folder / f"{i:06d}.png")
        reader = load_model()
        one = timed(lambda: list(reader.predict_files([folder], processes=False)), args.repeats)
        pool = timed(lambda: list(reader.predict_files([folder])), args.repeats)
        started = time.perf_counter()
        with (
            LocalCluster(n_workers=args.workers, threads_per_worker=1, dashboard_address=None) as cluster,
            Client(cluster),
        ):
            start_up = time.perf_counter() - started
            part = -(-args.files // (2 * args.workers))  # two parts a worker: one waiting while one is read
            dask = timed(lambda: read_files([folder], Path(scratch) / "out", files_per_part=part), args.repeats)

    print(f"{args.files:,} PNG files, median of {args.repeats} runs each\n")
    print("| how | files per second | over one process |")
    print("| --- | --- | --- |")
    for name, seconds in (
        ("one process", one),
        ("`predict`'s processes (one per core)", pool),
        (f"Dask, {args.workers} worker processes (JSON Lines written)", dask),
    ):
        print(f"| {name} | {args.files / seconds:,.0f} | {one / seconds:.2f}x |")
    print(f"\nThe cluster took {start_up:.1f} s to start, not counted above.")


if __name__ == "__main__":
    main()
