"""The other data sources and image sizes, end to end: train, evaluate, predict, show."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from conftest import ink_on_paper, run_digits, write_idx, write_image_folder
from digits.read.datasets import SAMPLE_DIR, load_idx_dir

ROOT = Path(__file__).resolve().parent.parent


def _write_config(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _train_then_evaluate(config: Path, model: Path) -> tuple[str, dict]:
    """`digits train --config`, then `digits evaluate --json` on its default test split."""
    trained = run_digits("train", "--config", str(config))
    assert trained.returncode == 0, trained.stderr
    report = run_digits("evaluate", "--checkpoint", str(model), "--json")
    assert report.returncode == 0, report.stderr
    return trained.stderr, json.loads(report.stdout)


def test_mnist_source_reads_torchvision_s_layout_too(tmp_path):
    from digits.learn.data import load_mnist

    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    train = load_idx_dir(SAMPLE_DIR, "train")
    write_idx(raw / "train-images-idx3-ubyte", train.images[:50])
    write_idx(raw / "train-labels-idx1-ubyte", train.labels[:50])
    digits = load_mnist(tmp_path)
    assert len(digits.labels) == 50 and digits.source == f"MNIST under {raw}"


def test_mnist_source_reads_its_files_and_tests_on_the_official_set(tmp_path):
    root = tmp_path / "mnist"
    raw = root
    raw.mkdir(parents=True)
    train = load_idx_dir(SAMPLE_DIR, "train")
    write_idx(raw / "train-images-idx3-ubyte", train.images[:3000])
    write_idx(raw / "train-labels-idx1-ubyte", train.labels[:3000])
    config = _write_config(
        tmp_path / "mnist.toml",
        f'[data]\nsource = "mnist"\npath = "nowhere"\n[model]\nhidden = [64]\n'
        f'[train]\nepochs = 3\noutput = "{tmp_path / "m.safetensors"}"\n',
    )
    trained = run_digits("train", "--config", str(config), "--data-path", str(root))
    assert trained.returncode == 0, trained.stderr
    assert "on 2,970 images, 270 of them drawn non-digits (330 held out for validation)" in trained.stderr
    report = json.loads(run_digits("evaluate", "--checkpoint", str(tmp_path / "m.safetensors"), "--json").stdout)
    assert report["data"] == "the official MNIST test set (10,000 digits)"
    assert report["samples"] == 10_000 and report["accuracy"] > 0.8


def test_folder_source_with_train_and_test(tmp_path, test_split):
    write_image_folder(tmp_path / "digits" / "train", load_idx_dir(SAMPLE_DIR, "train"), 30)
    write_image_folder(tmp_path / "digits" / "test", test_split, 4)
    config = _write_config(
        tmp_path / "folder.toml",
        f'[data]\nsource = "folder"\npath = "{tmp_path / "digits"}"\nval_fraction = 0.2\n'
        f'[train]\nepochs = 15\noutput = "{tmp_path / "f.safetensors"}"\n',
    )
    log, report = _train_then_evaluate(config, tmp_path / "f.safetensors")
    assert "on 264 images, 24 of them drawn non-digits (66 held out for validation)" in log
    assert report["samples"] == 40 and report["accuracy"] > 0.5  # 300 drawings are little to learn from


def test_folder_training_names_what_it_left_out_and_its_model_works_from_anywhere(tmp_path, test_split):
    """An unreadable, a truncated and an empty image, and no 7/: each named, and training goes on; the
    config's relative data.path still leads `evaluate` to the test split from another directory."""
    (tmp_path / "work").mkdir()
    root = write_image_folder(tmp_path / "work" / "tiny" / "train", test_split, 3)
    write_image_folder(tmp_path / "work" / "tiny" / "test", test_split, 2)
    shutil.rmtree(root / "7")
    (root / "1" / "junk.png").write_text("not a picture")
    (root / "2" / "empty.png").write_bytes(b"")
    whole = next((root / "3").iterdir())
    (root / "3" / "cut.png").write_bytes(whole.read_bytes()[:60])
    (tmp_path / "work" / "c.toml").write_text('[data]\nsource = "folder"\npath = "tiny"\nval_fraction = 0.34\n')
    work = tmp_path / "work"
    trained = run_digits("train", "--config", "c.toml", "--epochs", "1", "--output", "t2.safetensors", cwd=work)
    assert trained.returncode == 0, trained.stderr
    lines = trained.stderr.splitlines()
    assert all(line.startswith("error: tiny/train/") for line in lines[:3])
    assert [line.split(": ")[1].rsplit("/", 1)[1] for line in lines[:3]] == ["junk.png", "empty.png", "cut.png"]
    assert lines[3] == "3 files could not be read and were left out"
    assert lines[4] == "warning: tiny/train has no folder 7/: the model will never learn to read those digits"

    elsewhere = run_digits("evaluate", "--checkpoint", "work/t2.safetensors", "--json", cwd=tmp_path)
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert json.loads(elsewhere.stdout)["samples"] == 20


def test_folder_without_test_split_asks_for_data(tmp_path, test_split):
    write_image_folder(tmp_path / "digits", test_split, 3)
    config = _write_config(
        tmp_path / "folder.toml",
        f'[data]\nsource = "folder"\npath = "{tmp_path / "digits"}"\nval_fraction = 0.34\n'
        f'[train]\nepochs = 1\noutput = "{tmp_path / "f.safetensors"}"\n',
    )
    assert run_digits("train", "--config", str(config)).returncode == 0
    result = run_digits("evaluate", "--checkpoint", str(tmp_path / "f.safetensors"))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"error: {tmp_path / 'digits'}: no test split (make train/ and test/ subfolders, or pass --data)"
    )


def test_folder_with_stray_subfolder_is_refused(tmp_path, test_split):
    write_image_folder(tmp_path / "digits", test_split, 1)
    (tmp_path / "digits" / "ten").mkdir()
    config = _write_config(tmp_path / "c.toml", f'[data]\nsource = "folder"\npath = "{tmp_path / "digits"}"\n')
    result = run_digits("train", "--config", str(config), "--output", str(tmp_path / "x.safetensors"))
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {tmp_path / 'digits'}: expected subfolders named 0…9, found ['ten']"


def test_source_that_needs_a_path_says_so(tmp_path):
    config = _write_config(tmp_path / "c.toml", '[data]\nsource = "folder"\n')
    result = run_digits("train", "--config", str(config), "--output", str(tmp_path / "x.safetensors"))
    assert result.returncode == 1
    assert 'data.path: source "folder" reads a directory' in result.stderr


def test_18x18_trains_evaluates_predicts_and_shows(tmp_path, test_split):
    model = tmp_path / "seed.safetensors"
    trained = run_digits(
        "train", "--config", str(ROOT / "configs" / "seed-18x18.toml"), "--epochs", "8", "--output", str(model)
    )
    assert trained.returncode == 0, trained.stderr
    assert "324-128-64-11 network" in trained.stderr
    report = json.loads(run_digits("evaluate", "--checkpoint", str(model), "--json").stdout)
    assert report["samples"] == 10_000 and report["accuracy"] > 0.9

    image = tmp_path / "digit.png"
    ink_on_paper(test_split.images[3]).save(image)
    prediction = json.loads(run_digits("predict", str(image), "--checkpoint", str(model), "--json").stdout)
    assert prediction["digit"] == test_split.labels[3]
    shown = run_digits("show", str(image), "--checkpoint", str(model)).stdout.splitlines()
    assert "18×18 pixels" in shown[0]
    assert all(len(line.split()) == 18 for line in shown[2:20])
