"""Config files and flags: defaults, overrides, --print-config and every kind of mistake."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from conftest import run_digits
from digits.errors import ConfigError
from digits.learn.config import Config, config_to_toml, load_config

ROOT = Path(__file__).resolve().parent.parent


def test_default_file_spells_out_the_built_in_defaults():
    assert load_config(ROOT / "configs" / "default.toml") == Config()


def test_flags_override_the_file(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text("[train]\nepochs = 7\nlr = 0.2\n[model]\nhidden = [32]\n")
    config = load_config(path, {"train.lr": 0.01, "train.seed": None})
    assert (config.train.epochs, config.train.lr, config.train.seed) == (7, 0.01, 0)
    assert config.model.hidden == [32]


def test_print_config_prints_file_plus_flags_as_toml(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text("[model]\nhidden = [64, 32]\n")
    result = run_digits("train", "--config", str(path), "--epochs", "3", "--lr", "0.1", "--print-config", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    printed = tomllib.loads(result.stdout)
    assert printed["model"]["hidden"] == [64, 32]
    assert (printed["train"]["epochs"], printed["train"]["lr"]) == (3, 0.1)
    assert not (tmp_path / "checkpoints").exists()
    reread = tmp_path / "printed.toml"
    reread.write_text(result.stdout)
    assert load_config(reread) == load_config(path, {"train.epochs": 3, "train.lr": 0.1})


def test_to_toml_round_trips_every_value(tmp_path):
    config = Config()
    config.data.val_fraction = 0.25
    config.train.output = 'out/"quoted".safetensors'
    path = tmp_path / "c.toml"
    path.write_text(config_to_toml(config))
    assert load_config(path) == config


BAD_CONFIGS = [
    ("[train]\nlrr = 0.1\n", "unknown key train.lrr (did you mean lr?)"),
    ("[trian]\nlr = 0.1\n", "unknown section [trian] (did you mean train?)"),
    ("[train]\nepochs = 'ten'\n", "train.epochs must be an integer"),
    ("[train]\nlr = true\n", "train.lr must be a number"),
    ("[train]\nlr = 0\n", "train.lr must be greater than 0 (got 0.0)"),
    ("[train]\nlr = -1\n", "train.lr must be greater than 0"),
    ("[train]\nepochs = 0\n", "train.epochs must be at least 1"),
    ("[model]\nhidden = [128, 0]\n", "model.hidden must be a list of positive widths ([] for no hidden layer)"),
    ("[model]\nhidden = [128.5]\n", "model.hidden must be a list of integers"),
    ("[data]\nval_fraction = 1.0\n", "data.val_fraction must be between 0 and 1"),
    ("[data]\nsource = 'imagenet'\n", 'data.source must be one of "sample"'),
    ("[train]\ndevice = 'gpu'\n", "train.device must be"),
    ("[train]\noutput = 'model.pt'\n", "train.output must be a path ending in .safetensors"),
    ("[train\nlr = 0.1\n", "invalid TOML"),
    ("train = 3\n", "[train] must be a table"),
    ("lr = 0.1\n", "lr is outside any section; put it under [train] (as train.lr)"),
    ("[data]\ntrain_images = -5\n", "data.train_images must be 0 (all) or more"),
]


@pytest.mark.parametrize("text, message", BAD_CONFIGS)
def test_bad_config_is_one_line_naming_file_and_key(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_cli_reports_config_error_with_exit_status_2(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[train]\nepochs = 0\n")
    result = run_digits("train", "--config", str(path))
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {path}: train.epochs must be at least 1 (got 0)"
    assert "Traceback" not in result.stderr + result.stdout


def test_invalid_toml_names_line_and_column(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[train]\nlr = = 1\n")
    result = run_digits("train", "--config", str(path))
    assert result.returncode == 2
    assert "(at line 2, column" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_config_file(tmp_path):
    result = run_digits("train", "--config", str(tmp_path / "nope.toml"))
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {tmp_path / 'nope.toml'}: config file not found"


def test_bad_flag_value_names_the_flag():
    result = run_digits("train", "--lr", "-0.5", "--print-config")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: --lr must be greater than 0 (got -0.5)"
