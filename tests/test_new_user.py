"""What a new user hit, trying digits from a fresh clone: each test is a command they ran."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.error
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import ink_on_paper, run_digits, start_training, wait_for, write_image_folder
from digits.learn.data import why_download_failed
from digits.learn.run_files import RunFiles
from digits.read.checkpoint import SHIPPED_MODEL

ROOT = Path(__file__).resolve().parent.parent


def _readable_digits(test_split, count: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """`count` held-out digits, one of each class, that the shipped model reads right when drawn on paper."""
    from digits.read.checkpoint import SHIPPED_MODEL, load_model_file
    from digits.read.forward import probabilities
    from digits.read.number import normalize_digit

    model = load_model_file(SHIPPED_MODEL)
    chosen = []
    for digit in range(count):
        for i in np.flatnonzero(test_split.labels == digit):
            drawn = normalize_digit(np.asarray(ink_on_paper(test_split.images[i])))
            if probabilities(model, drawn[None])[0].argmax() == digit:
                chosen.append(i)
                break
    return test_split.images[chosen], test_split.labels[chosen]


def test_evaluate_with_no_mistakes_prints_results_and_draws_nothing(tmp_path, test_split):
    images, labels = _readable_digits(test_split)
    for image, label in zip(images, labels, strict=True):
        (tmp_path / "pen" / str(label)).mkdir(parents=True)
        ink_on_paper(image).save(tmp_path / "pen" / str(label) / "a.png")
    picture = tmp_path / "out.png"
    result = run_digits("evaluate", "--data", str(tmp_path / "pen"), "--errors", str(picture))
    assert result.returncode == 0, result.stderr
    assert "accuracy 100.00%" in result.stdout
    assert f"No mistakes to draw: {picture} not written" in result.stderr
    assert not picture.exists()


def test_evaluate_skips_an_unreadable_file_and_says_so(tmp_path, test_split):
    folder = write_image_folder(tmp_path / "folder", test_split, 4)
    broken = folder / "4" / "broken.png"
    broken.write_bytes(b"")
    result = run_digits("evaluate", "--data", str(folder))
    assert result.returncode == 1
    assert f"error: {broken}: empty file (0 bytes)" in result.stderr
    assert "1 file could not be read and was left out" in result.stderr
    assert "samples  40" in result.stdout and "accuracy" in result.stdout
    report = json.loads(run_digits("evaluate", "--data", str(folder), "--json").stdout)
    assert report["samples"] == 40 and report["skipped"] == [f"{broken}: empty file (0 bytes)"]


def test_no_color_means_no_escape_codes_at_all(one_epoch_run):
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    command = [sys.executable, "-m", "digits", "evaluate", "--checkpoint", str(one_epoch_run)]
    coloured = subprocess.run(command, env={**env, "FORCE_COLOR": "1"}, capture_output=True, text=True)
    assert "\x1b[1m" in coloured.stdout  # a terminal gets bold and colour...
    plain = subprocess.run(command, env={**env, "FORCE_COLOR": "1", "NO_COLOR": "1"}, capture_output=True, text=True)
    assert plain.returncode == 0 and "\x1b[" not in plain.stdout + plain.stderr  # ...NO_COLOR none of it


def test_show_fits_80_columns_and_prints_numbers_when_asked():
    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1"}
    command = [sys.executable, "-m", "digits", "show", "examples/seven.png"]
    narrow = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    assert narrow.returncode == 0, narrow.stderr
    assert max(len(line) for line in narrow.stdout.splitlines() if "safetensors" not in line) <= 80
    picture = narrow.stdout.split("\n\n")[1].splitlines()  # between the title and the note
    assert len(picture) == 28 and all(len(line) == 56 for line in picture)
    assert sum("█" in line for line in picture) >= 10
    numbers = subprocess.run([*command, "--numbers"], env=env, cwd=ROOT, capture_output=True, text=True)
    rows = [line.split() for line in numbers.stdout.splitlines() if line.startswith("   0")]
    assert len(rows) == 28 and all(len(row) == 28 for row in rows)


def test_help_is_whole_and_plain():
    top = " ".join(run_digits("--help").stdout.split())
    assert "130 interrupted" in top and "143 terminated" in top
    assert "Train the network; see training and validation loss each epoch." in top
    for command in ("train", "lr-find", "evaluate", "predict", "info", "compare", "show", "export", "serve"):
        text = run_digits(command, "--help").stdout
        assert "{" not in text.splitlines()[0] and "<int" not in text and "<float" not in text and "<path" not in text
    version = run_digits("--version")
    assert version.returncode == 0 and version.stdout.startswith("digits 0.")


def test_predict_json_is_json_lines_with_numbers(tmp_path):
    result = run_digits("predict", str(ROOT / "examples"), "--json", "--top-k", "2")
    lines = {Path(line["path"]).name: line for line in map(json.loads, result.stdout.splitlines())}
    names = ["2026.png", "date.png", "four.png", "price.png", "scribble.png", "seven.png"]
    names += ["touching-date.png", "touching.png", "two.jpg"]
    assert list(lines) == names  # sorted
    assert [lines[name]["digit"] for name in ("four.png", "seven.png", "two.jpg")] == [4, 7, 2]
    assert lines["scribble.png"]["not_a_digit"] or lines["scribble.png"]["unsure"]  # never a confident digit
    assert lines["touching.png"]["number"] == "4262"  # touching digits: no one digit, and the number
    # each of the two likeliest answers: a digit as a number, or null for "not a digit"
    assert all(k["digit"] is None or isinstance(k["digit"], int) for line in lines.values() for k in line["top_k"])


def test_predict_reads_a_folder_of_class_subfolders(tmp_path, test_split):
    folder = write_image_folder(tmp_path / "folder", test_split, 2)
    result = run_digits("predict", str(folder), "--json")
    paths = [json.loads(line)["path"] for line in result.stdout.splitlines()]
    assert result.returncode == 0 and len(paths) == 20
    assert paths == sorted(paths) and Path(paths[0]).parent.name == "0" and Path(paths[-1]).parent.name == "9"


def test_a_second_run_on_the_same_output_is_refused(tmp_path, quick_config):
    output = tmp_path / "m.safetensors"
    first = start_training(output, "--config", str(quick_config), "--epochs", "300")
    try:
        wait_for(RunFiles.beside(output).lock)
        second = run_digits("train", "--epochs", "1", "--output", str(output))
        assert second.returncode == 1
        assert second.stderr.strip() == (
            f"error: {output}: another digits train (process {first.pid}) is writing this output; "
            "wait for it to end, or give this run another --output"
        )
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=60)
    assert not RunFiles.beside(output).lock.exists(), "the lock goes when the run stops"


def test_a_stale_lock_is_taken_over(tmp_path, quick_config):
    output = tmp_path / "m.safetensors"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    RunFiles.beside(output).lock.write_text(dead.stdout)
    result = run_digits("train", "--config", str(quick_config), "--epochs", "1", "--output", str(output), "--quiet")
    assert result.returncode == 0, result.stderr
    assert "Training a 784-32-11 network" in result.stderr and ", 1 epoch on " in result.stderr
    assert output.exists() and not RunFiles.beside(output).lock.exists()


def test_a_network_too_big_for_memory_is_refused_before_allocating(tmp_path):
    config = tmp_path / "huge.toml"
    config.write_text("[model]\nhidden = [100000000000]\n")
    result = run_digits("train", "--config", str(config), "--output", str(tmp_path / "m.safetensors"))
    assert result.returncode == 1
    assert result.stderr.startswith(
        "error: model.hidden = [100000000000]: a 784-100000000000-11 network has 79,600,000,000,011 parameters"
    )
    assert "free" in result.stderr and "allocate" not in result.stderr and len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    "error, reason",
    [
        (
            RuntimeError(
                "Error downloading train-images-idx3-ubyte.gz:\nTried https://a.example/mnist/, got:\n"
                "<urlopen error [Errno -3] Temporary failure in name resolution>\n"
            ),
            "no network: the download servers' names could not be looked up",
        ),
        (
            RuntimeError(
                "Error downloading t10k-labels-idx1-ubyte.gz:\nTried https://a.example/, got:\n"
                f"{urllib.error.HTTPError('https://a.example/', 404, 'Not Found', {}, None)}\n"
            ),
            "the server answered HTTP 404 Not Found",
        ),
        (
            RuntimeError("Error downloading x:\nTried y, got:\n<urlopen error [Errno 111] Connection refused>\n"),
            "the connection failed: [Errno 111] Connection refused",
        ),
    ],
)
def test_a_failed_download_says_why_in_words(error, reason):
    assert why_download_failed(error) == reason


def test_mistakes_are_drawn_in_the_format_the_name_asks_for(one_epoch_run, tmp_path):
    for name, format_ in (("e.jpg", "JPEG"), ("e.png", "PNG")):
        result = run_digits("evaluate", "--checkpoint", str(one_epoch_run), "--errors", str(tmp_path / name))
        assert result.returncode == 0, result.stderr
        with Image.open(tmp_path / name) as picture:
            assert picture.format == format_
    refused = run_digits("evaluate", "--checkpoint", str(one_epoch_run), "--errors", str(tmp_path / "e.txt"))
    assert refused.returncode == 1 and "name it .png, .jpg, .svg or .pdf" in refused.stderr


def test_lr_find_says_why_it_stopped_early(quick_config):
    result = run_digits("lr-find", "--config", str(quick_config), "--steps", "200", "--end", "1000")
    assert result.returncode == 0, result.stderr
    assert "Stopped after " in result.stdout and "the loss blew up" in result.stdout
    # the command to paste trains the config that was swept, not the default one
    assert f"Try it: digits train --config {quick_config} --lr " in result.stdout


def test_a_closed_pipe_is_not_an_error():
    result = subprocess.run(
        f"{sys.executable} -m digits evaluate | head -1; exit ${{PIPESTATUS[0]}}",
        shell=True,
        executable="/bin/bash",
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.count("\n") == 1


def test_a_48_megapixel_phone_photo_is_read(tmp_path, test_split):
    """A phone's photo of a page with a digit on it, at the size phones take them (JPEG, reduced as it is decoded)."""
    page = Image.new("L", (8000, 6000), 225)
    digit = Image.fromarray(255 - test_split.images[0]).resize((1200, 1200), Image.Resampling.BICUBIC)
    page.paste(digit.point(lambda v: 40 + v * 185 // 255), (3400, 2400))
    path = tmp_path / "phone.jpg"
    page.save(path, quality=90)
    result = run_digits("predict", "--json", str(path))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["digit"] == int(test_split.labels[0])
    (digit,) = json.loads(run_digits("read", "--json", str(path)).stdout)["digits"]
    left, top, right, bottom = digit["box"]  # in the photo's own pixels, though it was decoded at an eighth
    assert 3400 <= left < right <= 4600 and 2400 <= top < bottom <= 3600


def test_training_your_own_model_changes_no_tracked_file():
    tracked = subprocess.run(["git", "ls-files", "checkpoints"], cwd=ROOT, capture_output=True, text=True).stdout
    assert tracked.split() == ["checkpoints/README.md"]
    for name in ("default.safetensors", "default.state.pt", "default.history.csv", "default.curves.png"):
        ignored = subprocess.run(["git", "check-ignore", "-q", f"checkpoints/{name}"], cwd=ROOT)
        assert ignored.returncode == 0, f"checkpoints/{name} would show up in git status"


def test_a_photo_with_a_corrupt_exif_tag_is_read_without_pillow_s_warnings(tmp_path, test_split):
    photo = tmp_path / "phone.jpg"
    corrupt = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00"  # a tag cut short
    ink_on_paper(test_split.images[0]).convert("RGB").save(photo, "JPEG", exif=corrupt)
    result = run_digits("predict", str(photo))
    assert result.returncode == 0 and result.stderr == f"Reading with {SHIPPED_MODEL} (the model shipped with digits)\n"
    assert result.stdout.startswith(f"{photo}: {test_split.labels[0]} (")


def test_a_model_you_train_answers_only_where_you_name_it(trained, tmp_path):
    """After `digits train`, checkpoints/default.safetensors sits in the working directory; the shipped
    model still answers unless --checkpoint names another, and every reading says which model it was."""
    (tmp_path / "checkpoints").mkdir()
    shutil.copy(trained, tmp_path / "checkpoints" / "default.safetensors")
    seven = str(ROOT / "examples" / "seven.png")
    shipped = run_digits("predict", seven, "--json", cwd=tmp_path)
    assert json.loads(shipped.stdout)["model"] == str(SHIPPED_MODEL)
    assert shipped.stderr == f"Reading with {SHIPPED_MODEL} (the model shipped with digits)\n"
    mine = run_digits("read", seven, "--json", "--checkpoint", "checkpoints/default.safetensors", cwd=tmp_path)
    assert json.loads(mine.stdout)["model"] == "checkpoints/default.safetensors"
    assert mine.stderr == "Reading with checkpoints/default.safetensors\n"
    import digits

    assert digits.load_model().predict(seven).model == str(SHIPPED_MODEL)
    assert f"Read with it: digits predict IMAGE --checkpoint {trained}" in (trained.parent / "stdout.txt").read_text()
