"""digits: learn to read handwritten digits with a stack of Linear+ReLU layers, then read yours.

    import digits
    model = digits.load_model()          # numpy only: no torch needed to read digits
    model.predict("photo.jpg").digit

    result = digits.train("configs/default.toml", epochs=3)   # needs the training extra (torch)

Nothing heavy is imported until it is used, so that `import digits` and `digits --help` are quick.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"
__all__ = ["load_model", "train"]

if TYPE_CHECKING:
    from .learn.config import Config
    from .learn.trainer import TrainResult
    from .read.reader import DigitReader


def load_model(path: str | Path | None = None) -> DigitReader:
    """A model ready to read digits: the file at `path`, else the model shipped with digits."""
    from .read.reader import load_model as load

    return load(path)


def train(
    config: Config | str | Path | dict[str, Any] | None = None,
    *,
    resume: bool = False,
    on_start: Callable[[Any], None] | None = None,
    on_batch: Callable[[int, int], None] | None = None,
    on_epoch: Callable[[Any], None] | None = None,
    **settings: Any,
) -> TrainResult:
    """Train as `digits train` does, and return the run (history, kept epoch, verdict and its cause, files).

    `config`: a Config, a TOML file, a dict of sections as the TOML file holds them
    (`{"model": {"hidden": [64]}}`), or None for configs/default.toml when present, else the
    defaults. `settings` change any key on top, named as a flag (`epochs=3`, `lr=0.1`,
    `batch_size`, `seed`, `device`, `output`, `data_path`) or as `section_key`
    (`model_hidden=[64]`, `data_augment=False`). `on_start`, `on_batch` and `on_epoch` watch
    the run; `resume` continues it. Needs PyTorch (the training extra).
    """
    from .errors import needs_extra
    from .learn.config import Config, config_from_dict, load_config, setting_key

    with needs_extra("digits.train"):
        from .learn.trainer import train as run

    overrides = {setting_key(name): value for name, value in settings.items()}
    if isinstance(config, dict):
        config = config_from_dict(config, "the config given")
    if isinstance(config, Config):
        for key, value in overrides.items():
            section, name = key.split(".")
            setattr(getattr(config, section), name, value)
        config = config_from_dict(dataclasses.asdict(config), "the config given")  # checked as a file's would be
    else:
        config = load_config(None if config is None else Path(config), overrides)
    return run(config, resume, on_start=on_start, on_batch=on_batch, on_epoch=on_epoch)


def __dir__() -> list[str]:
    """What `dir(digits)` lists: the API, not the names its modules import (PEP 562)."""
    return sorted([*__all__, "__version__"])
