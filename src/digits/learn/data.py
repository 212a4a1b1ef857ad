"""The training data: a configured source's training images, split with a seed into the part the model
learns from and the part that judges it, with drawn non-digits added to both. numpy and Pillow:
`training_data` turns a split into tensors on the training device.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DigitsError, first_line
from ..read.datasets import (
    CLASSES,
    SAMPLE_DIR,
    Digits,
    folder_split,
    load_idx_dir,
    load_image_folder,
    resize,
    source_path,
)
from .non_digits import drawn_non_digits


@dataclass
class Split:
    """A training set divided into the part the model learns from and the part that judges it."""

    train: Digits
    val: Digits
    mean: float  # pixel mean of the training part, after scaling to [0, 1]
    std: float
    skipped: list[str] = field(default_factory=list)  # as Digits.skipped, for the images split
    missing: list[str] = field(default_factory=list)  # as Digits.missing


def load_training_split(source: str, path: str, image_size: int) -> Digits:
    """The images a configured data source trains on (and holds out for validation), at image_size ×
    image_size: the bundled sample, MNIST's 60,000 training digits, or a folder's train/ part."""
    if source == "sample":
        digits = load_idx_dir(SAMPLE_DIR, "train")
        digits.source = "the bundled MNIST sample"
        return resize(digits, image_size)
    if source == "mnist":
        return resize(load_mnist(source_path(source, path)), image_size)
    return load_image_folder(folder_split(source_path(source, path), "train"), image_size)


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
