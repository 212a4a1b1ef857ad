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
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import forkserver
from digits.read.datasets import TEST_DIR, Digits, load_idx_dir

TRAIN_EPOCHS = 3


def run_digits(
    *args: str, cwd: Path | None = None, columns: int = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run `python -m digits ARGS` as a user runs it, capturing stdout and stderr apart: a process of its
    own, forked from a fork server that has imported what digits imports (forkserver.py); `env`: variables
    set for it alone."""
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": str(columns), **(env or {})}
    return forkserver.run(list(args), cwd, env, timeout=300)


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
    return serving([sys.executable, "-m", "digits", "serve", "--port", str(port), *flags], port)


def serving(command: list[str], port: int) -> subprocess.Popen:
    """A server started by `command`, returned once it answers on `port`."""
    import urllib.request

    process = subprocess.Popen(command, **_PIPES)
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


# Training runs that tests in several files read, trained once for the whole session: the main pytest
# process (under pytest-xdist, the controller) starts them all in the background as the session starts,
# while the test processes start and collect, and each test process waits for the ones it reads. They
# are `digits train` processes, as a user runs them, each with one torch thread (they share the cores).
SHARED_RUNS = {
    "trained": ({}, ["--epochs", str(TRAIN_EPOCHS)]),  # the default config, a few epochs
    "one-epoch": ({}, ["--epochs", "1"]),
    # for `compare`: a narrow hidden layer, and a linear model without drawn non-digits
    "hidden": ({"hidden.toml": "[data]\naugment = false\n[model]\nhidden = [80]\n"}, ["--epochs", "2", "-q"]),
    "linear": (
        {"linear.toml": "[data]\naugment = false\nnon_digits = 0\n[model]\nhidden = []\n"},
        ["--epochs", "2", "-q"],
    ),
}


class SharedRuns:
    """The shared runs' trainings, started in `folder/NAME/`; when one ends, its stdout, stderr and
    exit status are written beside its model (`exit` last, so that a reader finds the others whole)."""

    def __init__(self, folder: Path) -> None:
        import threading

        self.folder = folder
        env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120", "OMP_NUM_THREADS": "1"}
        self.processes = []
        for name, (files, flags) in SHARED_RUNS.items():
            workdir = folder / name
            workdir.mkdir()
            for file, text in files.items():
                (workdir / file).write_text(text)
            configs = [arg for file in files for arg in ("--config", str(workdir / file))]
            command = [sys.executable, "-m", "digits", "train", "--output", str(workdir / f"{name}.safetensors")]
            process = subprocess.Popen([*command, *configs, *flags], cwd=workdir, env=env, **_PIPES)
            self.processes.append(process)
            threading.Thread(target=self._record, args=(process, workdir), daemon=True).start()

    @staticmethod
    def _record(process: subprocess.Popen, workdir: Path) -> None:
        stdout, stderr = process.communicate()
        (workdir / "stdout.txt").write_text(stdout)
        (workdir / "stderr.txt").write_text(stderr)
        (workdir / "exit.tmp").write_text(str(process.returncode))
        (workdir / "exit.tmp").rename(workdir / "exit")

    def stop(self) -> None:
        for process in self.processes:
            process.kill()
            process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


_PIPES = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}


def pytest_sessionstart(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):  # the main process, not a test process of xdist's
        session.config.shared_runs = SharedRuns(Path(tempfile.mkdtemp(prefix="digits-shared-runs-")))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """pytest-xdist: tell each test process where the shared runs are trained."""
    node.workerinput["shared_runs"] = str(node.config.shared_runs.folder)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if hasattr(session.config, "shared_runs"):
        session.config.shared_runs.stop()


def shared_run(config: pytest.Config, name: str) -> Path:
    """A shared run's model file, once its training has ended well (its folder holds its stdout.txt)."""
    if hasattr(config, "workerinput"):
        folder = Path(config.workerinput["shared_runs"]) / name
    else:
        folder = config.shared_runs.folder / name
    wait_for(folder / "exit", seconds=300)
    assert (folder / "exit").read_text() == "0", (folder / "stderr.txt").read_text()
    return folder / f"{name}.safetensors"


@pytest.fixture(scope="session")
def trained(pytestconfig) -> Path:
    """A model trained for a few epochs on the bundled sample by `digits train`, as a user would; its
    printed output beside it, in stdout.txt. Shared: a test must not change its files."""
    return shared_run(pytestconfig, "trained")


@pytest.fixture(scope="session")
def _one_epoch_run(pytestconfig) -> Path:
    return shared_run(pytestconfig, "one-epoch")


@pytest.fixture
def one_epoch_run(_one_epoch_run, tmp_path) -> Path:
    """A finished one-epoch `digits train --epochs 1` run of one's own: model, state and history."""
    for file in _one_epoch_run.parent.glob(f"{_one_epoch_run.stem}.*"):  # the run's files, not its output
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
    return _png(width, height, 8, zlib.compress(b""))


def png_bomb(side: int) -> bytes:
    """A whole, valid 1-bit PNG of side × side white pixels: tens of KB that decode to side² bytes."""
    row, rows = b"\0" + b"\xff" * ((side + 7) // 8), zlib.compressobj(9)
    return _png(side, side, 1, b"".join(rows.compress(row) for _ in range(side)) + rows.flush())


def _png(width: int, height: int, bit_depth: int, compressed_rows: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, bit_depth, 0, 0, 0, 0)  # grey levels
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", compressed_rows) + chunk(b"IEND", b"")


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
