"""`digits evaluate` on the official MNIST test set, an MNIST-format directory and an image folder."""

from __future__ import annotations

import gzip
import json

import numpy as np

from conftest import run_digits


def _evaluate_json(trained, *args: str) -> dict:
    result = run_digits("evaluate", "--checkpoint", str(trained), "--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # exactly one JSON object, nothing else on stdout


def test_default_data_is_the_official_mnist_test_set(trained):
    report = _evaluate_json(trained)
    assert report["data"] == "the official MNIST test set (10,000 digits)" and report["samples"] == 10_000
    confusion = np.array(report["confusion"])
    assert confusion.sum() == report["samples"]
    assert np.trace(confusion) / report["samples"] == report["accuracy"]
    assert confusion.sum(axis=1).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert 0 < report["loss"] < 1
    assert set(report["precision"]) == set(report["recall"]) == set("0123456789")


def test_mnist_directory_plain_and_gzipped(trained, idx_dir):
    plain = _evaluate_json(trained, "--data", str(idx_dir))
    assert plain["samples"] == 300
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        path = idx_dir / name
        path.with_suffix(".gz").write_bytes(gzip.compress(path.read_bytes()))
        path.unlink()
    zipped = _evaluate_json(trained, "--data", str(idx_dir))
    assert zipped["accuracy"] == plain["accuracy"] and zipped["samples"] == 300


def test_image_folder(trained, image_folder):
    report = _evaluate_json(trained, "--data", str(image_folder))
    assert report["samples"] == 50
    assert np.array(report["confusion"]).sum(axis=1).tolist() == [5] * 10
    assert report["accuracy"] >= 0.8  # drawings of held-out digits, dark on light and off-centre


def test_tables_for_a_person(trained):
    result = run_digits("evaluate", "--checkpoint", str(trained))
    assert result.returncode == 0, result.stderr
    for words in ("samples  10,000", "accuracy", "precision", "recall", "Confusion matrix"):
        assert words in result.stdout


def test_bad_data_is_one_line(trained, tmp_path):
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03" + b"\x00" * 4)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(b"")
    result = run_digits("evaluate", "--checkpoint", str(trained), "--data", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {tmp_path / 't10k-images-idx3-ubyte'}: IDX header is truncated")
    assert len(result.stderr.splitlines()) == 1


def test_missing_checkpoint_is_one_line(tmp_path):
    result = run_digits("evaluate", "--checkpoint", "mine.safetensors", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == "error: mine.safetensors: checkpoint not found (train one with `digits train`)"
