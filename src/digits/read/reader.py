"""Reading digits from Python: load a model, then predict. numpy and Pillow only, never torch.

    import digits
    model = digits.load_model()            # the model shipped with digits
    result = model.predict("photo.jpg")    # a path, a PIL image or a numpy array
    print(result.digit, result.confidence)

The same preparation and the same forward pass as `digits predict`, so the same answers.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypeVar

import numpy as np
from PIL import Image

from ..errors import DigitsError
from .checkpoint import SHIPPED_MODEL, ModelFile, load_model_file
from .files import predict_paths
from .images import colours, list_images, open_colours
from .marks import NoDigitFound
from .number import normalize_digit, number_marks
from .reading import predict_marks, read_number
from .results import NumberReading, Prediction, layers_text

ImageLike = str | Path | bytes | Image.Image | np.ndarray
Reading = TypeVar("Reading", Prediction, NumberReading)


class DigitReader:
    """A trained model, ready to read digits in images of any size and polarity."""

    def __init__(self, model: ModelFile) -> None:
        self.model = model

    def __repr__(self) -> str:
        return f"DigitReader({str(self.model.path)!r}, {layers_text(self.model.layer_sizes)})"

    @property
    def path(self) -> Path:
        return self.model.path

    @property
    def shipped(self) -> bool:
        """Whether this is the model shipped with digits."""
        return self.model.path == SHIPPED_MODEL

    @property
    def layer_sizes(self) -> list[int]:
        return self.model.layer_sizes

    def _signed(self, reading: Reading) -> Reading:
        """The reading, naming the model file that made it."""
        reading.model = str(self.model.path)
        return reading

    def predict(self, image: ImageLike, top_k: int = 1, name: str | None = None) -> Prediction:
        """The digit in one image: a file path, a file's bytes, a PIL image, or a numpy array of grey
        levels (height, width) or colours (height, width, 3 or 4), 0–255 or 0–1.

        A blank image gives a Prediction whose `digit` is None and whose `error` says so; a file
        that cannot be read raises DigitsError.
        """
        name = _name(image) if name is None else name
        try:
            found = (name, number_marks(self.colours(image, name), name, self.model.image_size))
        except NoDigitFound as e:
            return self._signed(Prediction(name, error=str(e)))
        return self._signed(predict_marks(self.model, [found], top_k, False)[0])

    def predict_many(self, images: Iterable[ImageLike], top_k: int = 1) -> list[Prediction]:
        """Predictions for many images, in order. Files (and directories of them) are read as
        `digits predict` reads them, by a process per core; a file that cannot be read gives a
        Prediction with `failed` set and `error` saying why, and the others are still read."""
        images = list(images)
        if all(isinstance(image, str | Path) for image in images):
            return list(self.predict_files(images, top_k))
        return [self.predict(image, top_k) for image in images]

    def predict_files(
        self, paths: Iterable[str | Path], top_k: int = 1, explain: bool = False, processes: bool = True
    ) -> Iterator[Prediction]:
        """A stream of predictions for image files and directories of them (with their subfolders),
        as `digits predict` prints them; with `explain`, how many ReLUs fired in each hidden layer too.
        Many files are read by a process per core; `processes=False` reads them in this process."""
        files = [Path(p) for p in paths]
        return (self._signed(p) for p in predict_paths(self.model, files, top_k, explain, processes))

    def read(self, image: ImageLike, name: str | None = None) -> NumberReading:
        """Every digit on the image, left to right, as a number (a string: leading zeros stay), with
        each digit's confidence and box. A blank image gives `number` None and `error` saying so."""
        name = _name(image) if name is None else name
        picture = self.colours(image, name)
        return self._signed(read_number(self.model, name, picture, _decoded_share(image, picture)))

    def read_files(self, paths: Iterable[str | Path]) -> Iterator[NumberReading]:
        """The number on each image file (directories opened, with their subfolders), in order; a
        file that cannot be read gives a reading with `failed` set and `error` saying why."""
        for path in paths:
            for file in list_images(Path(path)) or [Path(path)]:
                try:
                    yield self.read(file)
                except DigitsError as e:
                    yield self._signed(NumberReading(str(file), error=str(e), failed=True))

    def pixels(self, image: ImageLike, name: str | None = None) -> np.ndarray:
        """The image_size × image_size matrix (0 paper, 255 ink) the model reads for an image."""
        name = _name(image) if name is None else name
        return normalize_digit(self.colours(image, name), self.model.image_size, name)

    def colours(self, image: ImageLike, name: str = "image") -> np.ndarray:
        """The image as uint8 colours (H, W, 3), at its own size (a large photo's file decoded reduced)."""
        if isinstance(image, str | Path):
            return open_colours(Path(image))
        if isinstance(image, bytes):
            return open_colours(io.BytesIO(image), name)
        if isinstance(image, Image.Image):
            return colours(image)
        if isinstance(image, np.ndarray):
            return _colours(image)
        raise DigitsError(f"cannot read a {type(image).__name__}: give a path, bytes, a PIL image or a numpy array")


def load_model(path: str | Path | None = None) -> DigitReader:
    """A digits model file, ready to read digits; without a path, the model shipped with digits."""
    return DigitReader(load_model_file(None if path is None else Path(path)))


def _decoded_share(image: ImageLike, decoded: np.ndarray) -> float:
    """The decoded colours' size over the picture's: a large photo's file is decoded reduced."""
    if not isinstance(image, str | Path | bytes):
        return 1.0
    with Image.open(io.BytesIO(image) if isinstance(image, bytes) else image) as picture:
        return max(decoded.shape[:2]) / max(picture.size)  # the longer side: a turn by the EXIF tag swaps them


def _name(image: ImageLike) -> str:
    """What results and messages call an image."""
    return str(image) if isinstance(image, str | Path) else f"<{type(image).__name__}>"


def _colours(array: np.ndarray) -> np.ndarray:
    if array.ndim == 3 and array.shape[2] in (3, 4) and array.size:
        return colours(Image.fromarray(array if array.dtype == np.uint8 else _bytes(array)))
    if array.ndim != 2 or array.size == 0:
        raise DigitsError(f"an image array must be (height, width) or (height, width, 3 or 4), not {array.shape}")
    return np.repeat(_bytes(array)[..., None], 3, axis=2)


def _bytes(array: np.ndarray) -> np.ndarray:
    """0–255 grey levels as uint8; floats that stay within 0–1 are taken as 0–1."""
    values = array.astype(np.float64)
    if array.dtype.kind == "f" and values.max() <= 1.0:
        values = values * 255
    return np.clip(np.round(values), 0, 255).astype(np.uint8)
