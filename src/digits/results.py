"""Result objects as plain JSON values: one way for the CLI's --json and the server's API alike."""

from __future__ import annotations

import dataclasses
from enum import Enum
from pathlib import Path
from typing import Any


def as_json(result: Any, include: tuple[str, ...] = ()) -> Any:
    """A result (dataclass) as dicts, lists, numbers and strings: its fields, less those marked
    `metadata={"json": False}` unless named in `include`; enums by value, paths and arrays plain."""
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        return {
            f.name: as_json(getattr(result, f.name), include)
            for f in dataclasses.fields(result)
            if f.metadata.get("json", True) or f.name in include
        }
    if isinstance(result, Enum):
        return result.value
    if isinstance(result, Path):
        return str(result)
    if isinstance(result, dict):
        return {str(k): as_json(v, include) for k, v in result.items()}
    if isinstance(result, list | tuple):
        return [as_json(v, include) for v in result]
    if hasattr(result, "tolist"):  # numpy arrays and scalars
        return result.tolist()
    return result


class Result:
    """A result of digits (a reading, an evaluation, a training run): `to_dict()` gives it as plain
    JSON values, exactly as `--json` prints it."""

    def to_dict(self) -> dict[str, Any]:
        return as_json(self)
