"""digits: learn to read handwritten digits with a stack of Linear+ReLU layers, then read yours.

    import digits
    model = digits.load_model()          # numpy only: no torch needed to read digits
    model.predict("photo.jpg").digit

    result = digits.train("configs/default.toml")   # needs the training extra (torch)

Nothing heavy is imported until it is used, so that `import digits` and `digits --help` are quick.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"
__all__ = ["load_model", "train"]

if TYPE_CHECKING:
    from .config import Config
    from .reader import DigitReader
    from .trainer import TrainResult


def load_model(path: str | Path | None = None) -> DigitReader:
    """A model ready to read digits: the file at `path`, else the model shipped with digits."""
    from .reader import load_model as load

    return load(path)


def train(config: Config | str | Path | None = None, **callbacks: Any) -> TrainResult:
    """Train as `digits train` does: `config` is a Config, a TOML file, or None for the default.
    `on_start`, `on_batch` and `on_epoch` callbacks may be given to watch. Needs PyTorch."""
    from .config import Config, load_config
    from .errors import needs_extra

    with needs_extra("digits.train"):
        from .trainer import train as run

    if not isinstance(config, Config):
        config = load_config(None if config is None else Path(config))
    return run(config, **callbacks)


def __dir__() -> list[str]:
    """What `dir(digits)` lists: the API, not the names its modules import (PEP 562)."""
    return sorted([*__all__, "__version__"])
