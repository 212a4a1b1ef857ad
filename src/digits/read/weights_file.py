"""A learned reader's weights, as safetensors with a "kind" in their header: one way to open them,
for the ink finder and the mark classifier alike, with one clear line when they cannot be read."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DigitsError


def read_weights(path: Path, kind: str, what: str) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The tensors and header of a weights file of this `kind` ("digits ink finder"), named `what`
    ("ink finder") in errors."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), "numpy") as f:
            metadata = f.metadata() or {}
            if metadata.get("kind") != kind:
                raise DigitsError(f"{path}: not {what} weights (no '{kind}' in its header)")
            return {name: f.get_tensor(name) for name in f.keys()}, metadata  # noqa: SIM118 (safe_open is no dict)
    except FileNotFoundError:
        raise DigitsError(f"{path}: {what} weights not found") from None
    except (SafetensorError, OSError) as e:
        raise DigitsError(f"{path}: cannot read {what} weights ({e})") from None
