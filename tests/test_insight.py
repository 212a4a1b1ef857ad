"""What a person sees of the network: info, predict --explain, most-confused pairs, loss sparklines."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from conftest import ink_on_paper, run_digits
from digits.learn.model import DigitMLP
from digits.read.checkpoint import load_model_file

ROOT = Path(__file__).resolve().parent.parent


def test_info_counts_every_parameter(trained):
    result = run_digits("info", str(trained), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    sizes = report["layer_sizes"]
    network = DigitMLP(sizes[0], sizes[1:-1], sizes[-1])
    assert report["parameters"] == sum(p.numel() for p in network.parameters())
    assert [layer["parameters"] for layer in report["layers"]] == [
        layer.weight.numel() + layer.bias.numel() for layer in network.layers
    ]
    assert [layer["activations"] for layer in report["layers"]] == sizes[1:]
    assert report["metrics"]["epoch"] == load_model_file(trained).metrics["epoch"]

    table = run_digits("info", str(trained)).stdout
    assert f"{report['parameters']:,} parameters" in table and "512 × 784" in table and "config:" in table


def test_explain_shows_all_probabilities_and_relus_fired(trained, tmp_path, test_split):
    image = tmp_path / "digit.png"
    ink_on_paper(test_split.images[0]).save(image)
    report = json.loads(run_digits("predict", str(image), "--checkpoint", str(trained), "--explain", "--json").stdout)
    assert len(report["probabilities"]) == 11  # 0–9, then not a digit
    assert abs(sum(report["probabilities"]) - 1) < 1e-5
    assert report["digit"] == int(np.argmax(report["probabilities"]))
    widths = load_model_file(trained).layer_sizes[1:-1]
    assert len(report["relus_fired"]) == len(widths)
    assert all(0 < fired < width for fired, width in zip(report["relus_fired"], widths, strict=True))

    lines = run_digits("predict", str(image), "--checkpoint", str(trained), "--explain").stdout.splitlines()
    bars = [line for line in lines if "│" in line]
    assert [line.split()[0] for line in bars] == [*"0123456789", "✗"]
    assert bars[-1].endswith("%  not a digit")  # the ✗ row says what it is
    assert sum(line.startswith("  hidden layer") for line in lines) == len(widths)


def test_most_confused_pairs_come_from_the_confusion_matrix(trained):
    report = json.loads(run_digits("evaluate", "--checkpoint", str(trained), "--json").stdout)
    confusion = np.array(report["confusion"])
    pairs = report["most_confused"]
    assert pairs, "a few-epoch model makes some mistakes"
    counts = [pair["count"] for pair in pairs]
    assert counts == sorted(counts, reverse=True)
    off_diagonal = confusion.copy()
    np.fill_diagonal(off_diagonal, 0)  # rows: the ten digits; columns: every answer, "not a digit" last
    assert counts[0] == off_diagonal.max()
    for pair in pairs:
        assert confusion[int(pair["true"]), report["answers"].index(pair["predicted"])] == pair["count"]


def test_train_ends_with_loss_sparklines(trained):
    stdout = (trained.parent / "stdout.txt").read_text()
    curves = {
        line.split()[0] + line.split()[1]: line.split()[2] for line in stdout.splitlines() if " loss " in line[:11]
    }
    assert set(curves) == {"trainloss", "valloss"}
    assert all(len(curve) == 3 and set(curve) <= set("▁▂▃▄▅▆▇█") for curve in curves.values())


def test_quiet_prints_only_the_summary_and_one_epoch_reads_as_one(tmp_path, quick_config):
    output = tmp_path / "m.safetensors"
    result = run_digits("train", "--config", str(quick_config), "--epochs", "1", "--output", str(output), "--quiet")
    assert result.returncode == 0, result.stderr
    assert "epoch  train loss" not in result.stdout
    assert "Verdict:" in result.stdout and "Kept epoch" in result.stdout
    assert not any(line.startswith("train loss") for line in result.stdout.splitlines())  # a point is no curve
    assert "train for more than 1 epoch " in result.stdout and "1 epochs" not in result.stdout
    with output.with_suffix(".history.csv").open() as f:
        (row,) = csv.DictReader(f)
    assert float(row["lr"]) > 0.01  # the rate the epoch trained at, not the 0 its schedule ended on


def test_train_draws_its_curves_beside_the_checkpoint(trained):
    stdout = (trained.parent / "stdout.txt").read_text()
    curves = trained.with_suffix(".curves.png")
    assert f"curves: {curves}" in stdout
    with Image.open(curves) as picture:
        assert picture.format == "PNG" and picture.size == (1000, 400)
        pixels = np.asarray(picture.convert("L"))
    assert pixels.std() > 10  # lines and text, not a blank canvas


def test_train_json_is_one_object_with_the_history_and_how_it_stopped(tmp_path, quick_config):
    early = tmp_path / "early.toml"  # a small slice learned by heart: validation stops improving at once
    early.write_text(
        "[data]\ntrain_images = 300\naugment = false\nnon_digits = 0\n[model]\nhidden = [256]\n"
        '[train]\nepochs = 30\npatience = 2\nweight_decay = 0.0\nschedule = "constant"\n'
    )
    output = str(tmp_path / "m.safetensors")
    result = run_digits("train", "--config", str(early), "--output", output, "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    epochs = len(summary["history"])
    assert [row["epoch"] for row in summary["history"]] == list(range(1, epochs + 1)) and epochs < 30
    assert summary["stopped"] == "early" and summary["best_epoch"] == epochs - 2
    assert summary["diagnosis"]["fit"] == "overfit" and summary["diagnosis"]["cause"] == "memorizing"
    assert f"training stopped early at epoch {epochs} (train.patience = 2)" in summary["diagnosis"]["advice"]
    assert summary["saved"] is True
    assert Path(summary["curves"]).is_file() and Path(summary["output"]).is_file()


def test_evaluate_draws_the_worst_mistakes(trained, tmp_path):
    picture_path = tmp_path / "mistakes.png"
    result = run_digits("evaluate", "--checkpoint", str(trained), "--errors", str(picture_path), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    mistakes = report["samples"] - round(report["accuracy"] * report["samples"])
    shown = min(mistakes, 24)
    assert f"The {shown} worst mistakes are drawn in {picture_path}" in result.stderr
    with Image.open(picture_path) as picture:
        assert picture.format == "PNG"
        columns, rows = min(shown, 8), -(-shown // 8)
        assert picture.size == (round(columns * 125), round(rows * 145))


def test_precision_and_recall_come_from_the_confusion_matrix(trained):
    report = json.loads(run_digits("evaluate", "--checkpoint", str(trained), "--json").stdout)
    confusion = np.array(report["confusion"])
    read_as = confusion.sum(axis=0)[:10]  # the last column is "not a digit", never right
    np.testing.assert_allclose(list(report["precision"].values()), np.diag(confusion) / read_as)
    np.testing.assert_allclose(list(report["recall"].values()), np.diag(confusion) / confusion.sum(axis=1))


def test_show_and_lr_find_speak_json():
    shown = json.loads(run_digits("show", "examples/seven.png", "--json", cwd=ROOT).stdout)
    assert np.array(shown["pixels"]).shape == (28, 28) and shown["digit"] == 7
    found = json.loads(run_digits("lr-find", "--steps", "20", "--json", cwd=ROOT).stdout)
    assert 10 <= len(found["learning_rates"]) == len(found["losses"]) <= 20  # it stops when the loss blows up
    assert found["learning_rates"][0] < found["suggestion"] < found["learning_rates"][-1]


def test_plain_when_piped_and_no_colour_with_no_color(trained):
    env = {key: value for key, value in os.environ.items() if key not in ("NO_COLOR", "FORCE_COLOR")}
    command = [sys.executable, "-m", "digits", "evaluate", "--checkpoint", str(trained)]
    piped = subprocess.run(command, env=env, capture_output=True, text=True)
    assert piped.returncode == 0 and "\x1b[" not in piped.stdout
    in_terminal = subprocess.run(command, env={**env, "FORCE_COLOR": "1"}, capture_output=True, text=True)
    assert re.search(r"\x1b\[3\dm", in_terminal.stdout), "a terminal gets colour (the errors in red)"
    no_color = subprocess.run(command, env={**env, "FORCE_COLOR": "1", "NO_COLOR": "1"}, capture_output=True, text=True)
    assert not re.search(r"\x1b\[(3\d|38;)", no_color.stdout)


def test_a_tiny_loss_keeps_its_digits():
    from digits.cli.report_training import _epoch_row
    from digits.learn.history import EpochRecord

    row = _epoch_row(EpochRecord(26, 9.73e-4, 0.5317, 1.0, 0.8812, 0.05, 0.1)).split()
    assert row[1:3] == ["9.73e-04", "0.5317"]
