"""Predictions for image files and directories of them: read a chunk at a time, by a process per
core when there are many, each chunk through the network in one batch."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from itertools import islice
from pathlib import Path

import numpy as np

from ..errors import DigitsError
from .checkpoint import ModelFile
from .images import list_images, open_colours
from .marks import NoDigitFound
from .number import NumberMark, number_marks
from .reading import predict_marks
from .results import Prediction

CHUNK = 256  # images read ahead and run through the network together


def predict_paths(
    model: ModelFile, paths: Iterable[Path], top_k: int = 1, explain: bool = False, processes: bool = True
) -> Iterator[Prediction]:
    """Predictions for image files and directories of them, in order; bad files yield an error.

    A stream: files are read and normalized a chunk at a time, by a process per core once
    there are more than a chunk's worth (reading is Python and numpy work that threads would
    serialize on the GIL; `processes=False` reads in this process, as a cluster's worker must),
    and each chunk goes through the network in one batch.
    """
    files = _files(paths)
    chunk = list(islice(files, CHUNK))
    if len(chunk) < CHUNK or not processes:  # a handful of files: not worth starting workers
        while chunk:
            yield from _predict_chunk(model, chunk, top_k, explain, map)
            chunk = list(islice(files, CHUNK))
        return
    # Ctrl-C is the parent's to handle: workers that caught it too would each print a traceback
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1, initializer=_ignore_interrupts) as pool:
        while chunk:
            yield from _predict_chunk(model, chunk, top_k, explain, partial(pool.map, chunksize=16))
            chunk = list(islice(files, CHUNK))


def _files(paths: Iterable[Path]) -> Iterator[Path | Prediction]:
    """Each file, in order, with directories opened; a directory with no images is a failure."""
    for path in map(Path, paths):
        if path.is_dir():
            files = list_images(path)
            if not files:
                yield Prediction(str(path), error=f"{path}: no images in this directory", failed=True)
            yield from files
        else:
            yield path


def _predict_chunk(
    model: ModelFile, chunk: list[Path | Prediction], top_k: int, explain: bool, mapper: Callable
) -> Iterator[Prediction]:
    paths = [item for item in chunk if isinstance(item, Path)]
    read = iter(mapper(partial(_read, image_size=model.image_size), paths))
    found = [item if isinstance(item, Prediction) else next(read) for item in chunk]
    yield from predict_marks(model, found, top_k, explain)


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _read(path: Path, image_size: int) -> tuple[str, tuple[np.ndarray, list[NumberMark]]] | Prediction:
    """A file's marks, as `predict` and `read` find them; or why there are none."""
    try:
        return str(path), number_marks(open_colours(path), str(path), image_size)
    except NoDigitFound as e:
        return Prediction(str(path), error=str(e))
    except DigitsError as e:
        return Prediction(str(path), error=str(e), failed=True)
