"""Fixtures made the way a user would make them: real files in a temporary directory."""

from __future__ import annotations

import os

# Under pytest-xdist each core runs a test process, and each starts `digits` processes: with torch's
# and OpenBLAS's default of a thread a core, their threads outnumber the cores and spin waiting for
# one another (the suite took 383 s and 676 s of CPU on 2 cores; 297 s and 493 s with one thread).
if os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") != "1":
    os.environ.setdefault("OMP_NUM_THREADS", "1")

import gzip
import shutil
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from digits.data import TEST_DIR, Digits, load_idx_dir

TRAIN_EPOCHS = 3


def run_digits(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run `python -m digits ARGS` as a user runs it, capturing stdout and stderr apart."""
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
    return subprocess.run(
        [sys.executable, "-m", "digits", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def start_training(output: Path, *flags: str) -> subprocess.Popen:
    """`digits train --output OUTPUT FLAGS` started in the background, as a user starts a long run."""
    return subprocess.Popen(
        [sys.executable, "-m", "digits", "train", "--output", str(output), *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(path: Path, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert path.exists(), f"{path} never appeared"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_serve(port: int, *flags: str) -> subprocess.Popen:
    """`digits serve --port PORT FLAGS` as a person starts it, returned once it answers."""
    import urllib.request

    process = subprocess.Popen(
        [sys.executable, "-m", "digits", "serve", "--port", str(port), *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1)
            return process
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"digits serve never answered on port {port}")


def stop_serve(process: subprocess.Popen) -> tuple[str, str]:
    """Ctrl-C, as a person stops it: its stdout and stderr, which must hold no traceback."""
    import signal

    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    assert "Traceback" not in stderr
    return stdout, stderr


@pytest.fixture(scope="session")
def test_split():
    """The first 1,000 of MNIST's official test digits, bundled with digits: no model here trained on them."""
    digits = load_idx_dir(TEST_DIR, "t10k")
    return Digits(digits.images[:1000], digits.labels[:1000], digits.source)


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> Path:
    """A model trained for a few epochs on the bundled sample by `digits train`, as a user would."""
    workdir = tmp_path_factory.mktemp("trained")
    output = workdir / "model.safetensors"
    result = run_digits("train", "--epochs", str(TRAIN_EPOCHS), "--output", str(output), cwd=workdir)
    assert result.returncode == 0, result.stderr
    (workdir / "train-stdout.txt").write_text(result.stdout)
    return output


@pytest.fixture(scope="session")
def _one_epoch_run(tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("one-epoch") / "m.safetensors"
    result = run_digits("train", "--epochs", "1", "--output", str(output))
    assert result.returncode == 0, result.stderr
    return output


@pytest.fixture
def one_epoch_run(_one_epoch_run, tmp_path) -> Path:
    """A finished one-epoch `digits train --epochs 1` run of one's own: model, state and history."""
    for file in _one_epoch_run.parent.iterdir():
        shutil.copy(file, tmp_path / file.name)
    return tmp_path / _one_epoch_run.name


@pytest.fixture
def quick_config(tmp_path) -> Path:
    """A config that trains in a fraction of a second an epoch: a narrow network, no augmentation."""
    path = tmp_path / "quick.toml"
    path.write_text("[data]\naugment = false\n[model]\nhidden = [32]\n")
    return path


def huge_png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width × height pixels, with no pixel data to speak of."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write `array` (uint8) in LeCun's IDX format; gzipped when the name ends in .gz."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw) if path.suffix == ".gz" else raw)


@pytest.fixture
def idx_dir(tmp_path, test_split) -> Path:
    """An MNIST-format directory holding 300 of the held-out digits, uncompressed."""
    write_idx(tmp_path / "t10k-images-idx3-ubyte", test_split.images[:300])
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", test_split.labels[:300])
    return tmp_path


def ink_on_paper(
    pixels: np.ndarray, canvas: tuple[int, int] = (160, 120), at: tuple[int, int] = (50, 10)
) -> Image.Image:
    """An MNIST digit as a person draws it: dark ink on white paper, larger, off-centre."""
    digit = Image.fromarray(255 - pixels).resize((100, 100), Image.Resampling.BILINEAR)
    page = Image.new("L", canvas, 255)
    page.paste(digit, at)
    return page


def write_image_folder(root: Path, digits, per_class: int) -> Path:
    """Subfolders 0…9 of `root`, each with `per_class` drawings of that digit from `digits`."""
    for digit in range(10):
        (root / str(digit)).mkdir(parents=True)
        for i in np.flatnonzero(digits.labels == digit)[:per_class]:
            ink_on_paper(digits.images[i]).save(root / str(digit) / f"{i}.png")
    return root


@pytest.fixture
def image_folder(tmp_path, test_split) -> Path:
    """An image folder with subfolders 0…9, five drawings of each digit."""
    return write_image_folder(tmp_path / "folder", test_split, 5)
