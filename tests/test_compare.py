"""Runs compared side by side, and a model's first-layer weights drawn: real runs, the real CLI."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import run_digits, shared_run


@pytest.fixture(scope="module")
def runs(pytestconfig, tmp_path_factory) -> Path:
    """A folder of this module's own with two finished two-epoch runs (conftest's SHARED_RUNS):
    hidden.safetensors (784-80-11) and linear.safetensors (784-10, no drawn non-digits), with their
    configs hidden.toml and linear.toml."""
    folder = tmp_path_factory.mktemp("runs")
    for name in ("hidden", "linear"):
        model = shared_run(pytestconfig, name)
        for file in model.parent.glob(f"{name}.*"):
            shutil.copy(file, folder / file.name)
    return folder


def best_epoch(history: Path) -> dict[str, str]:
    with history.open() as f:
        return min(csv.DictReader(f), key=lambda row: float(row["val_loss"]))


def test_compare_tabulates_the_settings_that_differ_and_draws_the_curves(runs):
    result = run_digits("compare", "hidden.safetensors", "linear.safetensors", cwd=runs)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "The runs' curves are drawn in compare.png"
    lines = result.stdout.splitlines()
    header = next(line for line in lines if "hidden" in line and "linear" in line)  # a column per run, by its file
    starts = [header.index("hidden"), header.index("linear")]
    cells = {
        line[: starts[0]].strip(): [line[starts[0] : starts[1]].strip(), line[starts[1] :].strip()]
        for line in lines
        if line.strip() and not line.strip().startswith("─") and line[: starts[0]].strip() and ": " not in line
    }
    settings = [key for key in cells if "." in key]
    assert settings == ["data.non_digits", "model.hidden"]  # train.output differs too: not a setting to compare
    assert cells["data.non_digits"] == ["0.1", "0"] and cells["model.hidden"] == ["[80]", "[]"]
    for column, name in enumerate(("hidden", "linear")):
        best = best_epoch(runs / f"{name}.history.csv")
        assert cells["kept epoch"][column] == f"{best['epoch']} of 2"
        assert cells["val loss"][column] == f"{float(best['val_loss']):.4f}"
        assert cells["val accuracy"][column] == f"{float(best['val_accuracy']):.2%}"
        assert cells["fit"][column] in ("good", "underfit", "overfit")
        assert cells["time"][column].endswith("s")
    assert lines[-2:] == ["hidden: hidden.safetensors", "linear: linear.safetensors"]

    with Image.open(runs / "compare.png") as picture:
        assert picture.format == "PNG" and picture.size == (1000, 400)
        pixels = np.asarray(picture.convert("RGB")).astype(int)
    assert pixels.std() > 10  # lines, dots and text, not a blank canvas
    colourful = (pixels.max(axis=2) - pixels.min(axis=2)) > 100
    assert colourful.sum() > 500  # each run drawn in its own colour


def test_six_runs_fit_80_columns_with_whole_words(runs, tmp_path):
    for name in ("hidden", "linear"):
        for copy in range(3):
            for file in runs.glob(f"{name}.*"):
                shutil.copy(file, tmp_path / f"{name}{copy}{''.join(file.suffixes)}")
    models = sorted(path.name for path in tmp_path.glob("*.safetensors"))
    result = run_digits("compare", *models, cwd=tmp_path, columns=80)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    fit = next(line for line in lines if line.startswith("fit")).split()
    assert len(fit) == 7 and all(word in ("good", "underfit", "overfit") for word in fit[1:])  # no word broken
    assert any(line.startswith("model.hidden ") for line in lines)  # a setting's name whole


def test_compare_json_has_one_entry_per_run(runs):
    result = run_digits("compare", "hidden.history.csv", "linear.safetensors", "--json", "--plot", "runs.svg", cwd=runs)
    assert result.returncode == 0, result.stderr
    comparison = json.loads(result.stdout)
    assert comparison["differing"] == ["data.non_digits", "model.hidden"]
    assert [run["name"] for run in comparison["runs"]] == ["hidden.safetensors", "linear.safetensors"]
    assert [run["settings"] for run in comparison["runs"]] == [
        {"data.non_digits": 0.1, "model.hidden": [80]},
        {"data.non_digits": 0.0, "model.hidden": []},
    ]
    for run in comparison["runs"]:
        history = runs / run["name"].replace(".safetensors", ".history.csv")
        assert run["best_epoch"] == int(best_epoch(history)["epoch"])
        assert [row["epoch"] for row in run["history"]] == [1, 2]
        assert run["seconds"] == pytest.approx(sum(row["seconds"] for row in run["history"]))
        assert run["fit"] in ("good", "underfit", "overfit") and run["advice"]
    assert comparison["plot"] == "runs.svg" and "<svg" in (runs / "runs.svg").read_text()


def test_compare_says_when_no_setting_differs(runs):
    result = run_digits("compare", "hidden.safetensors", "hidden.history.csv", "--plot", "same.png", cwd=runs)
    assert result.returncode == 0, result.stderr
    assert "No setting differs between the runs" in result.stdout


def damaged_history(folder: Path) -> list[str]:
    shutil.copy(folder / "hidden.safetensors", folder / "damaged.safetensors")
    (folder / "damaged.history.csv").write_text("epoch,train_loss,val_loss\n1,0.5,zero\n")
    return ["damaged.safetensors"]


def cut_short(folder: Path) -> list[str]:
    with (folder / "hidden.history.csv").open("a") as f:
        f.write("3,0.1\n")  # a third epoch's row, cut off after its train loss
    return ["hidden.history.csv"]


def without_history(folder: Path) -> list[str]:
    shutil.copy(folder / "hidden.safetensors", folder / "lone.safetensors")
    return ["hidden.safetensors", "lone.safetensors"]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda folder: ["hidden.safetensors", "missing.safetensors"], "missing.safetensors: no such file"),
        (
            without_history,
            "lone.safetensors: no history file beside it (lone.history.csv); was it written by digits train?",
        ),
        (damaged_history, "damaged.history.csv: not a history written by digits train (no train_accuracy column)"),
        (cut_short, "hidden.history.csv: line 4 is not an epoch's record (too few values)"),
        (lambda folder: [], "no runs to compare"),
    ],
    ids=["missing", "no history", "damaged history", "row cut short", "no runs"],
)
def test_compare_refuses_bad_input_in_one_line(runs, tmp_path, make, message):
    for file in runs.glob("hidden.*"):
        shutil.copy(file, tmp_path / file.name)
    result = run_digits("compare", *make(tmp_path), cwd=tmp_path)
    assert result.returncode == (2 if message == "no runs to compare" else 1)  # none given: a usage error
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith(f"error: {message}")
    assert not (tmp_path / "compare.png").exists()


def tiles(picture: Path) -> tuple[tuple[int, int], np.ndarray]:
    with Image.open(picture) as image:
        assert image.format == "PNG"
        return image.size, np.asarray(image.convert("RGB")).astype(int)


def test_info_draws_a_linear_models_ten_digit_templates(runs):
    result = run_digits("info", "linear.safetensors", "--weights", "templates.png", cwd=runs)
    assert result.returncode == 0, result.stderr
    assert "linear.safetensors: a 784-10 network, 7,850 parameters (30.7 KB as float32)" in result.stdout
    assert result.stderr.strip() == "The first layer's weights are drawn in templates.png"
    (width, height), pixels = tiles(runs / "templates.png")
    assert width == 5 * 125 and width > height  # ten tiles, two rows of five
    red, blue = pixels[..., 0] - pixels[..., 2] > 80, pixels[..., 2] - pixels[..., 0] > 80
    assert red.sum() > 200 and blue.sum() > 200  # negative weights red, positive blue


def test_info_draws_the_64_hidden_units_that_matter_most(runs):
    result = run_digits("info", "hidden.safetensors", "--weights", "units.png", "--json", cwd=runs)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["layer_sizes"] == [784, 80, 11]  # --json: still one object on stdout
    assert result.stderr.strip() == "The first layer's weights are drawn in units.png"
    (width, height), pixels = tiles(runs / "units.png")
    assert width == 8 * 125 and 1 < height / width < 1.3  # 64 of the 80 units: eight rows of eight tiles
    red, blue = pixels[..., 0] - pixels[..., 2] > 80, pixels[..., 2] - pixels[..., 0] > 80
    assert red.sum() > 1000 and blue.sum() > 1000
