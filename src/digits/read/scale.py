"""Reading more images than one machine can: the files spread over a Dask cluster.

Each partition of the file list goes to a worker, which loads the model once (through
`digits.load_model`, cached for the worker's life) and reads its files exactly as
`digits predict` does, a batch through the network at a time. Each partition's readings are
written as one JSON Lines file, `part-00000.jsonl` and on, in the order of the files given, each
line what `digits predict --json` prints for that file. Nothing is gathered on the client but
the names of the files written, so a million scans cost the client no memory.

    from dask.distributed import Client
    from digits.read.scale import read_files

    with Client("scheduler:8786"):                       # or Client() for this machine's cores
        read_files(["scans/"], "readings/")

Needs the scale extra: pip install "digits[scale]".
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from pathlib import Path

from .images import list_images
from .reader import DigitReader, load_model

# Seconds of reading a part, long beside the scheduler's ~1 ms a task; a multiple of the 256 images
# that go through the network together, so that a part's batches are the ones `digits predict` makes.
FILES_PER_PART = 2_048


def read_files(
    paths: Iterable[str | Path],
    output: str | Path,
    checkpoint: str | Path | None = None,
    files_per_part: int = FILES_PER_PART,
) -> list[Path]:
    """Read every image file under `paths` (files, or directories read with their subfolders) on the
    current Dask client's cluster; write the readings into `output` as JSON Lines, a file a part.

    `checkpoint` is a model file every worker can open (default: the model shipped with digits).
    Returns the files written, in order. A file that cannot be read gives its line with `failed`
    set, as `digits predict --json` does.
    """
    import dask.bag

    files = [str(file) for path in paths for file in (list_images(Path(path)) or [Path(path)])]
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    parts = max(1, -(-len(files) // files_per_part))
    model = None if checkpoint is None else str(checkpoint)
    bag = dask.bag.from_sequence(files, npartitions=parts)
    lines = bag.map_partitions(_read_part, model)
    names = lines.to_textfiles(str(output / "part-*.jsonl"), name_function=lambda i: f"{i:05d}", last_endline=True)
    return [Path(name) for name in names]


def _read_part(files: list[str], checkpoint: str | None) -> list[str]:
    """On a worker: one part's files read, each as a line of JSON."""
    reader = _reader(checkpoint)
    # in this process: a cluster's worker is its own process, and may not start children
    return [json.dumps(prediction.to_dict()) for prediction in reader.predict_files(files, processes=False)]


@functools.cache
def _reader(checkpoint: str | None) -> DigitReader:
    """The model, loaded once per worker process and kept for its every task."""
    return load_model(checkpoint)
