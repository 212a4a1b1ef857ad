"""Training configuration: typed defaults, read from TOML, checked, overridden by flags.

Nothing else in digits reads TOML. Every key has a default, so a file names only what it
changes; `configs/default.toml` spells the defaults out.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from ..errors import ConfigError

DEFAULT_CONFIG_PATH = Path("configs/default.toml")
SOURCES = ("sample", "mnist", "folder")
SCHEDULES = ("cosine", "onecycle", "constant")
KEEPS = ("loss", "accuracy")


@dataclass
class DataConfig:
    source: str = "sample"  # "sample" (bundled), "mnist" (torchvision) or "folder" (subfolders 0…9)
    path: str = ""  # root directory, for "mnist" and "folder"
    image_size: int = 28  # each image becomes an image_size × image_size pixel matrix
    val_fraction: float = 0.1  # share of the training images held out for validation
    train_images: int = 0  # learn from only this many of the rest (a small slice overfits); 0: all of them
    augment: bool = True  # small random rotations, scalings and shifts while training
    elastic: bool = True  # with augment, also bend the strokes (elastic distortion)
    non_digits: float = 0.1  # drawn non-digits per digit, learned as an eleventh answer, "not a digit"; 0: none
    # the seed of the split and of the drawn non-digits; -1: train.seed. A committee's members set it,
    # so that each learns from the same digits and is judged on the same held-out ones
    split_seed: int = -1


@dataclass
class ModelConfig:
    hidden: list[int] = field(default_factory=lambda: [512, 256])  # hidden layer widths; [] is a linear classifier
    dropout: float = 0.0  # share of hidden activations zeroed at random while training


@dataclass
class TrainConfig:
    epochs: int = 50
    batch_size: int = 64
    lr: float = 0.05  # the peak learning rate
    schedule: str = "cosine"  # "cosine" lowers lr smoothly to 0; "onecycle" warms up first; or "constant"
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    label_smoothing: float = 0.0  # learn from targets softened by this much
    patience: int = 0  # stop after this many epochs without a better kept model; 0 never stops
    keep: str = "loss"  # the epoch whose model is kept: lowest validation "loss", or highest validation "accuracy"
    seed: int = 0
    device: str = "auto"  # "auto" takes a GPU when there is one: cuda, cuda:N, mps or cpu
    output: str = "checkpoints/default.safetensors"


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        # not fields, so that a config's values name neither: the keys set by a command-line flag, and
        # the file it was read from when one was named ("" otherwise)
        self.flags: set[str] = set()
        self.file = ""

    def describe(self, key: str, value: Any = None) -> str:
        """How a person sets `key` to `value` (default: its value now): `--device cuda` if it came from
        a flag, `train.device = "cuda"` otherwise, so that a message points at where to change it."""
        section, name = key.split(".")
        value = getattr(getattr(self, section), name) if value is None else value
        if key in self.flags:
            return f"--{name.replace('_', '-')} {f'{value:g}' if isinstance(value, float) else value}"
        return f"{key} = {_toml_value(value)}"


# What each key must satisfy beyond its type: (test, what the test asks for).
RULES: dict[str, tuple[Any, str]] = {
    "data.source": (lambda v: v in SOURCES, "one of " + ", ".join(f'"{s}"' for s in SOURCES)),
    "data.image_size": (lambda v: 8 <= v <= 256, "between 8 and 256"),
    "data.val_fraction": (lambda v: 0 < v < 1, "between 0 and 1 (exclusive)"),
    "data.non_digits": (lambda v: 0 <= v <= 1, "between 0 and 1"),
    "data.train_images": (lambda v: v >= 0, "0 (all) or more"),
    "data.split_seed": (lambda v: v >= -1, "-1 (train.seed) or 0 or more"),
    "model.hidden": (lambda v: all(n > 0 for n in v), "a list of positive widths ([] for no hidden layer)"),
    "model.dropout": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "train.label_smoothing": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "train.patience": (lambda v: v >= 0, "0 or more"),
    "train.epochs": (lambda v: v >= 1, "at least 1"),
    "train.batch_size": (lambda v: v >= 1, "at least 1"),
    "train.lr": (lambda v: v > 0, "greater than 0"),
    "train.keep": (lambda v: v in KEEPS, "one of " + ", ".join(f'"{s}"' for s in KEEPS)),
    "train.schedule": (lambda v: v in SCHEDULES, "one of " + ", ".join(f'"{s}"' for s in SCHEDULES)),
    "train.momentum": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "train.weight_decay": (lambda v: v >= 0, "0 or more"),
    "train.seed": (lambda v: v >= 0, "0 or more"),
    "train.device": (
        lambda v: re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", v) is not None,
        '"auto", "cpu", "cuda", "cuda:N" or "mps"',
    ),
    "train.output": (lambda v: v.endswith(".safetensors"), "a path ending in .safetensors"),
}


def load_config(path: Path | None = None, overrides: dict[str, Any] | None = None, kind: type = Config) -> Any:
    """Read `path` (default for a Config: configs/default.toml if present), then apply `overrides`.
    `kind` is the config's class: Config, or another of sections of the same kind (the ink finder's).

    `overrides` maps dotted keys ("train.lr") to values given on the command line; None values
    are ignored. Any problem raises ConfigError naming the file or flag and the key.
    """
    if path is None and kind is Config:
        path = DEFAULT_CONFIG_PATH if DEFAULT_CONFIG_PATH.is_file() else None
    raw: dict[str, Any] = {}
    origin = "built-in defaults"
    if path is not None:
        origin = str(path)
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: config file not found") from None
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"{path}: cannot read config file ({e})") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: invalid TOML: {e}") from None
    config = config_from_dict(raw, origin, kind)
    if isinstance(config, Config) and path is not None and origin != str(DEFAULT_CONFIG_PATH):
        config.file = origin
    for key, value in (overrides or {}).items():
        if value is not None:
            section, name = key.split(".")
            flag = "--" + name.replace("_", "-")
            setattr(getattr(config, section), name, _checked(key, value, flag, config))
            if isinstance(config, Config):  # the ink finder's config says nothing of flags
                config.flags.add(key)
    return config


FLAG_KEYS = {  # the command line's flags, by their names in Python, and the keys they set
    "epochs": "train.epochs",
    "lr": "train.lr",
    "batch_size": "train.batch_size",
    "seed": "train.seed",
    "device": "train.device",
    "output": "train.output",
    "data_path": "data.path",
}


def setting_key(name: str) -> str:
    """The dotted key a Python keyword names: a flag's name (`epochs`, `data_path`) or any key as
    `section_key` (`model_hidden`, `data_augment`)."""
    if name in FLAG_KEYS:
        return FLAG_KEYS[name]
    keys = {
        f"{section}_{key}": f"{section}.{key}"
        for section, values in dataclasses.asdict(Config()).items()
        for key in values
    }
    if name in keys:
        return keys[name]
    raise ConfigError(
        f"{name}: not a setting; name a flag ({', '.join(FLAG_KEYS)}) or a key as section_key{_suggest(name, keys)}"
    )


def config_from_dict(raw: dict[str, Any], origin: str, kind: type = Config) -> Any:
    """Build a config of `kind` from parsed TOML (or a checkpoint's stored config); `origin` names it in errors."""
    config = kind()
    sections = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    for section_name, table in raw.items():
        home = [
            name for name, section in sections.items() if section_name in {f.name for f in dataclasses.fields(section)}
        ]
        if section_name not in sections and home and not isinstance(table, dict):
            raise ConfigError(
                f"{origin}: {section_name} is outside any section; put it under [{home[0]}] (as {home[0]}.{section_name})"
            )
        if section_name not in sections:
            raise ConfigError(f"{origin}: unknown section [{section_name}]{_suggest(section_name, sections)}")
        if not isinstance(table, dict):
            raise ConfigError(f"{origin}: [{section_name}] must be a table")
        section = sections[section_name]
        names = [f.name for f in dataclasses.fields(section)]
        for name, value in table.items():
            key = f"{section_name}.{name}"
            if name not in names:
                raise ConfigError(f"{origin}: unknown key {key}{_suggest(name, names)}")
            setattr(section, name, _checked(key, value, f"{origin}: {key}", config))
    return config


def config_to_toml(config: Config | dict[str, dict[str, Any]]) -> str:
    """A config, or a config as stored in a checkpoint, as a TOML document that load_config reads back.

    Written by hand: tomllib only reads, and these flat tables of numbers, strings and lists
    do not need a TOML-writing dependency.
    """
    sections = dataclasses.asdict(config) if isinstance(config, Config) else config
    lines: list[str] = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{name} = {_toml_value(value)}" for name, value in values.items()]
        lines.append("")
    return "\n".join(lines)


def _checked(key: str, value: Any, where: str, config: Any) -> Any:
    section, name = key.split(".")
    expected = get_type_hints(type(getattr(config, section)))[name]
    value = _coerced(value, expected)
    if value is None:
        raise ConfigError(f"{where} must be {_type_name(expected)}")
    test, wanted = RULES.get(key, (lambda v: True, ""))
    if not test(value):
        raise ConfigError(f"{where} must be {wanted} (got {_toml_value(value)})")
    return value


def _coerced(value: Any, expected: Any) -> Any:
    """`value` as the `expected` type, or None when it is not one. An int is a fine float."""
    if expected is bool:
        return value if isinstance(value, bool) else None
    if expected is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if expected is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return float(value) if ok else None
    if expected is str:
        return value if isinstance(value, str) else None
    if expected in (list[int], list[str]):
        item = expected.__args__[0]
        ok = isinstance(value, list) and all(_coerced(v, item) is not None for v in value)
        return list(value) if ok else None
    raise TypeError(f"no rule for {expected}")


def _type_name(expected: Any) -> str:
    names = {
        bool: "true or false",
        int: "an integer",
        float: "a number",
        str: "a string",
        list[str]: "a list of strings",
    }
    return names.get(expected, "a list of integers")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)


def _suggest(name: str, valid: Any) -> str:
    close = difflib.get_close_matches(name, list(valid), n=1)
    return f" (did you mean {close[0]}?)" if close else f" (valid: {', '.join(valid)})"
