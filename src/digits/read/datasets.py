"""Labelled digits: images as N×N matrices of pixels (0 paper, 255 ink) and their labels, from MNIST's
IDX files or a folder of images with a subfolder per digit; numpy and Pillow.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import DigitsError
from .images import list_images
from .number import read_digit_image

SAMPLE_DIR = Path(str(files("digits") / "mnist_sample"))  # 8,000 MNIST training digits
TEST_DIR = Path(str(files("digits") / "mnist_test"))  # MNIST's official 10,000 test digits
CLASSES = [str(digit) for digit in range(10)]
NOT_A_DIGIT = "not a digit"  # the eleventh class, of a model trained with data.non_digits


@dataclass
class Digits:
    """Images as uint8 (N, size, size), 0 = paper and 255 = ink; labels as int64 (N,)."""

    images: np.ndarray
    labels: np.ndarray
    source: str  # where they came from, for messages
    skipped: list[str] = field(default_factory=list)  # why each image file that could not be read was left out
    missing: list[str] = field(default_factory=list)  # the digits an image folder has no subfolder for


def load_test_split(source: str, path: str, image_size: int) -> Digits:
    """The digits a configured data source (a model file's [data]) is tested on, at image_size × image_size.

    For "sample" and "mnist" that is MNIST's official test set, bundled with digits: the sample's
    8,000 digits are all for training and validation. A "folder" source's is its test/ subfolder.
    """
    if source in ("sample", "mnist"):
        digits = load_idx_dir(TEST_DIR, "t10k")
        digits.source = "the official MNIST test set (10,000 digits)"
        return resize(digits, image_size)
    return load_image_folder(folder_split(source_path(source, path), "test"), image_size)


def source_path(source: str, path: str) -> Path:
    """data.path, for the sources that read a directory ("mnist" to train, "folder"; the config checks
    data.source is one of them)."""
    if not path:
        raise DigitsError(f'data.path: source "{source}" reads a directory; set data.path in the config')
    return Path(path)


def folder_split(root: Path, split: str) -> Path:
    """A folder source's split: root/train and root/test when both exist, else root for training."""
    if (root / "train").is_dir() and (root / "test").is_dir():
        return root / split
    if split == "train":
        return root
    raise DigitsError(f"{root}: no test split (make train/ and test/ subfolders, or pass --data)")


def load_dataset(path: Path, image_size: int) -> Digits:
    """An MNIST-format directory (its t10k files when present) or an image folder with 0…9."""
    path = Path(path)
    if not path.is_dir():
        raise DigitsError(f"{path}: not a directory (expected MNIST IDX files or subfolders 0…9)")
    if any(path.glob("t10k-*")) or any(path.glob("train-*")):
        prefix = "t10k" if any(path.glob("t10k-*")) else "train"
        return resize(load_idx_dir(path, prefix), image_size)
    return load_image_folder(path, image_size)


def load_idx_dir(directory: Path, prefix: str) -> Digits:
    """Read `{prefix}-images-idx3-ubyte` and `{prefix}-labels-idx1-ubyte`, gzipped or not."""
    images = read_idx(_find_idx(directory, f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(_find_idx(directory, f"{prefix}-labels-idx1-ubyte"))
    name = f"{directory}/{prefix}-*"
    if images.ndim != 3 or labels.ndim != 1:
        raise DigitsError(f"{name}: expected 3-d images and 1-d labels, got {images.ndim}-d and {labels.ndim}-d")
    if len(images) != len(labels):
        raise DigitsError(f"{name}: {len(images)} images but {len(labels)} labels")
    if labels.size and labels.max() > 9:
        raise DigitsError(f"{name}: label {int(labels.max())} is not a digit")
    return Digits(images.astype(np.uint8), labels.astype(np.int64), name)


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (LeCun's MNIST format) as a numpy array; gzipped when the name ends in .gz."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise DigitsError(f"{path}: cannot read ({e})") from None
    if len(raw) < 4 or raw[0:2] != b"\0\0" or raw[2] != 0x08:
        raise DigitsError(f"{path}: not an IDX file of unsigned bytes (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise DigitsError(f"{path}: IDX header is truncated")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if len(raw) - header != int(np.prod(shape)):
        raise DigitsError(f"{path}: IDX header promises {shape} bytes of data, file has {len(raw) - header}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def load_image_folder(root: Path, image_size: int) -> Digits:
    """A folder with one subfolder per digit, 0…9, every image normalized as predict does.

    An image that cannot be read (or holds no digit) is left out, and `skipped` says why.
    """
    if not root.is_dir():
        raise DigitsError(f"{root}: not a directory")
    subfolders = sorted(p for p in root.iterdir() if p.is_dir())
    strays = [p.name for p in subfolders if p.name not in CLASSES]
    if strays or not subfolders:
        raise DigitsError(f"{root}: expected subfolders named 0…9, found {strays or 'none'}")
    images, labels, skipped = [], [], []
    for folder in subfolders:
        paths = list_images(folder)
        if not paths:
            raise DigitsError(f"{folder}: no images in this class folder")
        for path in paths:
            try:
                images.append(read_digit_image(path, image_size))
                labels.append(int(folder.name))
            except DigitsError as e:
                skipped.append(str(e))
    if not images:
        raise DigitsError(f"{root}: none of its {len(skipped)} images could be read ({skipped[0]})")
    missing = [digit for digit in CLASSES if not (root / digit).is_dir()]
    return Digits(np.stack(images), np.array(labels, dtype=np.int64), str(root), skipped, missing)


def normalize(images: np.ndarray, mean: float, std: float) -> np.ndarray:
    """uint8 pixels (N, size, size) -> float32 rows (N, size*size): scaled to [0, 1], standardized."""
    flat = images.reshape(len(images), -1).astype(np.float32) / 255
    return (flat - np.float32(mean)) / np.float32(std)


def resize(digits: Digits, image_size: int) -> Digits:
    """The same digits at image_size × image_size (anti-aliased), when that is not their size."""
    if digits.images.shape[1:] == (image_size, image_size):
        return digits
    size = (image_size, image_size)
    resized = [np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS)) for image in digits.images]
    return Digits(np.stack(resized), digits.labels, digits.source)


def _find_idx(directory: Path, stem: str) -> Path:
    for candidate in (directory / stem, directory / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    raise DigitsError(f"{directory}: missing {stem} (or {stem}.gz)")
