"""What a person sees of the network: info, predict --explain, most-confused pairs, loss sparklines."""

from __future__ import annotations

import json

import numpy as np

from conftest import ink_on_paper, run_digits
from digits.checkpoint import load_model
from digits.model import DigitMLP


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
    assert report["metrics"]["epoch"] == load_model(trained).metrics["epoch"]

    table = run_digits("info", str(trained)).stdout
    assert f"{report['parameters']:,} parameters" in table and "512 × 784" in table and "config:" in table


def test_explain_shows_all_probabilities_and_relus_fired(trained, tmp_path, test_split):
    image = tmp_path / "digit.png"
    ink_on_paper(test_split.images[0]).save(image)
    report = json.loads(run_digits("predict", str(image), "--checkpoint", str(trained), "--explain", "--json").stdout)
    assert list(report["probabilities"]) == list("0123456789")
    assert abs(sum(report["probabilities"].values()) - 1) < 1e-5
    assert report["digit"] == max(report["probabilities"], key=report["probabilities"].get)
    widths = load_model(trained).layer_sizes[1:-1]
    assert len(report["relus_fired"]) == len(widths)
    assert all(0 < fired < width for fired, width in zip(report["relus_fired"], widths, strict=True))

    lines = run_digits("predict", str(image), "--checkpoint", str(trained), "--explain").stdout.splitlines()
    bars = [line for line in lines if "│" in line]
    assert [line.split()[0] for line in bars] == list("0123456789")
    assert sum(line.startswith("  hidden layer") for line in lines) == len(widths)


def test_most_confused_pairs_come_from_the_confusion_matrix(trained):
    report = json.loads(run_digits("evaluate", "--checkpoint", str(trained), "--json").stdout)
    confusion = np.array(report["confusion"])
    pairs = report["most_confused"]
    assert pairs, "a few-epoch model makes some mistakes"
    counts = [pair["count"] for pair in pairs]
    assert counts == sorted(counts, reverse=True)
    off_diagonal = confusion - np.diag(np.diag(confusion))
    assert counts[0] == off_diagonal.max()
    for pair in pairs:
        assert confusion[int(pair["true"]), int(pair["predicted"])] == pair["count"]


def test_train_ends_with_loss_sparklines(trained):
    stdout = (trained.parent / "train-stdout.txt").read_text()
    curves = {
        line.split()[0] + line.split()[1]: line.split()[2] for line in stdout.splitlines() if " loss " in line[:11]
    }
    assert set(curves) == {"trainloss", "valloss"}
    assert all(len(curve) == 3 and set(curve) <= set("▁▂▃▄▅▆▇█") for curve in curves.values())


def test_quiet_prints_only_the_summary(tmp_path):
    result = run_digits("train", "--epochs", "1", "--output", str(tmp_path / "m.safetensors"), "--quiet")
    assert result.returncode == 0, result.stderr
    assert "epoch  train loss" not in result.stdout
    assert "Verdict:" in result.stdout and "Best epoch" in result.stdout
