"""Nothing lost, nothing run, nothing cryptic: kills, signals, planted pickles, bad data, fuzzing."""

from __future__ import annotations

import io
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from conftest import ink_on_paper, run_digits, start_training, wait_for, write_idx, write_image_folder
from digits.errors import DigitsError
from digits.learn.run_files import RunFiles, load_resume_state
from digits.read.checkpoint import load_model_file
from digits.read.datasets import load_dataset, read_idx
from digits.read.number import normalize_digit, read_digit_image


def test_sigterm_saves_the_state_and_resume_finishes_the_run(tmp_path):
    output = tmp_path / "m.safetensors"
    small = tmp_path / "small.toml"  # quick epochs, many of them: the signal lands mid-run
    small.write_text("[data]\naugment = false\n[model]\nhidden = [32]\n[train]\nepochs = 15\n")
    process = start_training(output, "--config", str(small))
    wait_for(RunFiles.beside(output).history)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stderr
    assert "Terminated after epoch " in stderr and "The best model so far is at" in stderr and "Traceback" not in stderr
    stopped_at = len(load_resume_state(RunFiles.beside(output).state)["history"])
    assert 1 <= stopped_at < 15

    resumed = run_digits("train", "--config", str(small), "--output", str(output), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stderr.startswith(f"Resuming after epoch {stopped_at} of 15\n")
    assert len(load_resume_state(RunFiles.beside(output).state)["history"]) == 15
    assert len(RunFiles.beside(output).history.read_text().splitlines()) == 1 + 15


SAVE_FOREVER = """
import sys
import numpy as np
from digits.read.checkpoint import save_model
weights = np.zeros((2000, 784), dtype=np.float32)  # 6 MB: each save takes a while
version = 0
while True:
    version += 1
    weights[0, 0] = version
    state = {"layers.0.weight": weights, "layers.0.bias": np.zeros(2000, dtype=np.float32),
             "layers.1.weight": np.zeros((10, 2000), dtype=np.float32), "layers.1.bias": np.zeros(10, dtype=np.float32)}
    save_model(sys.argv[1], state, layer_sizes=[784, 2000, 10], image_size=28, mean=0.1, std=0.3,
               classes=list("0123456789"), config={}, metrics={"version": version})
    print(version, flush=True)
"""


def test_a_kill_mid_save_leaves_the_previous_checkpoint_whole(tmp_path):
    path = tmp_path / "m.safetensors"
    for delay in (0.3, 0.45, 0.6, 0.75):
        process = subprocess.Popen([sys.executable, "-c", SAVE_FOREVER, str(path)], stdout=subprocess.PIPE, text=True)
        assert process.stdout.readline().strip() == "1" or path.exists()  # one save finished
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        model = load_model_file(path)  # whole, whatever moment the kill came at
        assert model.metrics["version"] == model.weights[0][0, 0] >= 1


class _Plant:
    """A pickle that, when loaded by an unsafe loader, creates a file: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_planted_pickle_as_model_file_never_runs(tmp_path, test_split):
    marker = tmp_path / "code-ran"
    evil = tmp_path / "evil.safetensors"
    evil.write_bytes(pickle.dumps(_Plant(marker)))
    pickle.loads(evil.read_bytes())  # the plant is live: an unsafe loader would run it
    assert marker.exists()
    marker.unlink()

    image = tmp_path / "digit.png"
    ink_on_paper(test_split.images[0]).save(image)
    for command in (["evaluate"], ["predict", str(image)], ["show", str(image)]):
        result = run_digits(*command, "--checkpoint", str(evil))
        assert result.returncode == 1
        assert result.stderr.startswith(f"error: {evil}: not a digits checkpoint, or damaged")
        assert not marker.exists()


def test_planted_pickle_as_resume_state_never_runs(one_epoch_run, tmp_path):
    output = one_epoch_run
    marker = tmp_path / "code-ran"
    torch.save({"history": [], "model": _Plant(marker)}, RunFiles.beside(output).state)
    torch.load(RunFiles.beside(output).state, weights_only=False)  # the plant is live
    assert marker.exists()
    marker.unlink()

    result = run_digits("train", "--epochs", "1", "--output", str(output), "--resume")
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {RunFiles.beside(output).state}: not a resume state, or unsafe to load")
    assert not marker.exists()


def test_resume_with_another_architecture_is_refused(one_epoch_run, tmp_path):
    output = one_epoch_run
    config = tmp_path / "wide.toml"
    config.write_text("[model]\nhidden = [64]\n")
    result = run_digits("train", "--config", str(config), "--epochs", "2", "--output", str(output), "--resume")
    assert result.returncode == 1
    assert "this run was started with other settings (model.hidden)" in result.stderr


def test_ctrl_c_during_predict_exits_130_without_a_traceback(tmp_path):
    stuck = tmp_path / "photo.png"
    os.mkfifo(stuck)  # opening it waits forever, as a slow network drive might
    process = subprocess.Popen(
        [sys.executable, "-m", "digits", "predict", str(stuck)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    time.sleep(2)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130
    assert b"Traceback" not in stderr


def test_images_and_labels_of_different_counts(tmp_path, test_split):
    write_idx(tmp_path / "t10k-images-idx3-ubyte", test_split.images[:30])
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", test_split.labels[:29])
    with pytest.raises(DigitsError, match="30 images but 29 labels"):
        load_dataset(tmp_path, 28)


def test_class_folder_without_images(tmp_path, test_split):
    root = write_image_folder(tmp_path / "digits", test_split, 1)
    for image in (root / "7").iterdir():
        image.unlink()
    with pytest.raises(DigitsError, match=f"{root / '7'}: no images in this class folder"):
        load_dataset(root, 28)


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(
    height=st.integers(1, 2500),
    width=st.integers(1, 2500),
    seed=st.integers(0, 2**32 - 1),
    kind=st.sampled_from(["noise", "blank", "blob", "stripes"]),
)
def test_normalize_digit_returns_a_digit_or_says_why(height, width, seed, kind):
    rng = np.random.default_rng(seed)
    if kind == "noise":
        gray = rng.integers(0, 256, size=(height, width), dtype=np.uint8)
    elif kind == "blank":
        gray = np.full((height, width), rng.integers(0, 256), dtype=np.uint8)
    elif kind == "stripes":
        gray = np.where(np.arange(width) % rng.integers(1, 9) == 0, 0, 255).astype(np.uint8)[None].repeat(height, 0)
    else:
        gray = np.full((height, width), 255, dtype=np.uint8)
        top, left = rng.integers(0, height), rng.integers(0, width)
        gray[top : top + rng.integers(1, height + 1), left : left + rng.integers(1, width + 1)] = 0
    try:
        pixels = normalize_digit(gray, image_size=int(rng.choice([8, 18, 28])))
    except DigitsError:
        return
    assert pixels.dtype == np.uint8 and pixels.shape[0] == pixels.shape[1] in (8, 18, 28)


@FUZZ
@given(
    mode=st.sampled_from(["1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I", "I;16", "F"]),
    fmt=st.sampled_from(["PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP"]),
    size=st.tuples(st.integers(1, 400), st.integers(1, 400)),
    seed=st.integers(0, 2**32 - 1),
    cut=st.one_of(st.none(), st.integers(0, 5000)),
)
def test_any_image_file_gives_a_digit_or_the_projects_error(tmp_path_factory, mode, fmt, size, seed, cut):
    rng = np.random.default_rng(seed)
    image = Image.fromarray(rng.integers(0, 256, size=size[::-1], dtype=np.uint8)).convert(mode)
    buffer = io.BytesIO()
    try:
        image.save(buffer, fmt)
    except (OSError, ValueError, KeyError):
        return  # a mode this format cannot hold: nothing to read back
    data = buffer.getvalue() if cut is None else buffer.getvalue()[:cut]
    path = tmp_path_factory.mktemp("fuzz") / f"image.{fmt.lower()}"
    path.write_bytes(data)
    try:
        pixels = read_digit_image(path)
    except DigitsError:
        return
    assert pixels.shape == (28, 28) and pixels.dtype == np.uint8


@FUZZ
@given(data=st.binary(max_size=3000), suffix=st.sampled_from(["", ".gz"]))
def test_idx_reader_returns_an_array_or_the_projects_error(tmp_path_factory, data, suffix):
    path = tmp_path_factory.mktemp("idx") / f"t10k-images-idx3-ubyte{suffix}"
    path.write_bytes(data)
    try:
        array = read_idx(path)
    except DigitsError:
        return
    assert isinstance(array, np.ndarray)


@FUZZ
@given(shape=st.lists(st.integers(0, 30), min_size=1, max_size=4), extra=st.integers(-3, 3))
def test_idx_header_and_data_lengths_are_checked(tmp_path_factory, shape, extra):
    assume(int(np.prod(shape)) + extra >= 0)
    header = bytes([0, 0, 8, len(shape)]) + b"".join(n.to_bytes(4, "big") for n in shape)
    path = tmp_path_factory.mktemp("idx") / "x-idx"
    path.write_bytes(header + b"\x01" * (int(np.prod(shape)) + extra))
    try:
        array = read_idx(path)
    except DigitsError as e:
        assert extra != 0 or "promises" in str(e)
        return
    assert array.shape == tuple(shape) and extra == 0


def test_a_foreign_resume_state_is_refused(one_epoch_run):
    torch.save({"weights": torch.zeros(3)}, RunFiles.beside(one_epoch_run).state)
    result = run_digits("train", "--epochs", "2", "--output", str(one_epoch_run), "--resume")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"error: {RunFiles.beside(one_epoch_run).state}: not a digits resume state "
        "(no best_epoch, config, generator, history, model, optimizer, schedule, torch_rng)"
    )
