"""Datasets: images as N×N matrices of pixels (0 paper, 255 ink), labels, the seeded split.

Everything here is numpy and Pillow, never torch, so that evaluate and predict never import it:
`training_data` turns a split into tensors on the training device.
"""

from __future__ import annotations

import dataclasses
import gzip
import re
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

import numpy as np
from PIL import Image

from .errors import DigitsError, first_line
from .framing import read_digit_image
from .images import list_images
from .non_digits import drawn_non_digits

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


@dataclass
class Split:
    """A training set divided into the part the model learns from and the part that judges it."""

    train: Digits
    val: Digits
    mean: float  # pixel mean of the training part, after scaling to [0, 1]
    std: float
    skipped: list[str] = field(default_factory=list)  # as Digits.skipped, for the images split
    missing: list[str] = field(default_factory=list)  # as Digits.missing


def load_source(source: str, path: str, split: str, image_size: int) -> Digits:
    """The "train" or "test" split of a configured data source, at image_size × image_size.

    The test split of "sample" and "mnist" is MNIST's official test set, bundled with digits:
    the sample's 8,000 digits are all for training and validation.
    """
    if source in ("sample", "mnist") and split == "test":
        digits = load_idx_dir(TEST_DIR, "t10k")
        digits.source = "the official MNIST test set (10,000 digits)"
        return resize(digits, image_size)
    if source == "sample":
        digits = load_idx_dir(SAMPLE_DIR, "train")
        digits.source = "the bundled MNIST sample"
        return resize(digits, image_size)
    if not path:
        raise DigitsError(f'data.path: source "{source}" reads a directory; set data.path in the config')
    if source == "mnist":
        return resize(load_mnist(Path(path)), image_size)
    if source == "folder":
        return load_image_folder(folder_split(Path(path), split), image_size)
    raise DigitsError(f'data.source: unknown source "{source}"')


def load_mnist(root: Path) -> Digits:
    """MNIST's 60,000 training digits: root's own IDX files, or torchvision's layout root/MNIST/raw,
    where torchvision downloads them if they are missing.

    Once the files are there they are read directly: importing torchvision costs more than a
    second and 160 MB that reading two files does not need.
    """
    for directory in (root, root / "MNIST" / "raw"):
        if any(directory.glob("train-images-idx3-ubyte*")):
            break
    else:
        _download_mnist(root)  # into root/MNIST/raw, the loop's last directory
    digits = load_idx_dir(directory, "train")
    digits.source = f"MNIST under {directory}"
    return digits


def _download_mnist(root: Path) -> None:
    import contextlib
    import sys

    from torchvision.datasets import MNIST

    try:
        with contextlib.redirect_stdout(sys.stderr):  # torchvision reports downloads on stdout
            MNIST(str(root), download=True)
    except Exception as e:  # no network, a proxy, a full disk: all say the same to a person
        raise DigitsError(
            f"{root}: MNIST is not there and could not be downloaded ({why_download_failed(e)}); put "
            f"train-images-idx3-ubyte and train-labels-idx1-ubyte (gzipped or not) in {root}"
        ) from None


def why_download_failed(error: BaseException) -> str:
    """What stopped a download, in a person's words: torchvision folds each mirror's failure into one message."""
    text = str(error)
    if re.search(r"Name or service not known|name resolution|nodename nor servname|getaddrinfo failed", text):
        return "no network: the download servers' names could not be looked up"
    if status := re.search(r"HTTP Error (\d+): ([^\n>]*)", text):
        return f"the server answered HTTP {status[1]} {status[2].strip()}"
    if reason := re.search(r"urlopen error ([^\n>]*)", text):
        return f"the connection failed: {reason[1].strip()}"
    return first_line(error)


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


def split_train_val(digits: Digits, val_fraction: float, seed: int, train_images: int = 0) -> Split:
    """A seeded, stratified split: each digit keeps its share in both parts. With `train_images`,
    the training part is a seeded random slice of that many of the rest; validation stays whole."""
    rng = np.random.default_rng(seed)
    val_index = []
    for label in np.unique(digits.labels):
        members = rng.permutation(np.flatnonzero(digits.labels == label))
        val_index.append(members[: round(len(members) * val_fraction)])
    is_val = np.zeros(len(digits.labels), dtype=bool)
    is_val[np.concatenate(val_index)] = True
    train_index = np.flatnonzero(~is_val)
    if 0 < train_images < len(train_index):
        train_index = np.sort(rng.permutation(train_index)[:train_images])
    train = Digits(digits.images[train_index], digits.labels[train_index], digits.source)
    val = Digits(digits.images[is_val], digits.labels[is_val], digits.source)
    if len(train.labels) == 0 or len(val.labels) == 0:
        raise DigitsError(f"{digits.source}: too few images to hold out a validation share of {val_fraction}")
    # from the histogram of the 256 pixel values: exact, without a float copy of every image
    # (and a chunk at a time, since bincount widens each pixel to 8 bytes)
    flat = train.images.reshape(-1)
    counts = sum(np.bincount(flat[i : i + 2**22], minlength=256) for i in range(0, flat.size, 2**22))
    values = np.arange(256) / 255
    mean = float(counts @ values / counts.sum())
    std = float(np.sqrt(counts @ (values - mean) ** 2 / counts.sum()))
    return Split(train, val, mean, std, digits.skipped, digits.missing)


def with_non_digits(split: Split, share: float, seed: int) -> Split:
    """The split with `share` drawn non-digits per digit added to each part, labelled NOT_A_DIGIT
    (the class after the digits); the pixel mean and std stay the digits' own."""

    def added(part: Digits, part_seed: list[int]) -> Digits:
        drawn = drawn_non_digits(round(share * len(part.labels)), part_seed, part.images.shape[1])
        labels = np.full(len(drawn), len(CLASSES), dtype=np.int64)
        return Digits(np.concatenate([part.images, drawn]), np.concatenate([part.labels, labels]), part.source)

    return dataclasses.replace(split, train=added(split.train, [seed, 0]), val=added(split.val, [seed, 1]))


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
