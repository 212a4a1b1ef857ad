"""The options and arguments several commands share, annotated once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        metavar="FILE", help="TOML config file. Default: configs/default.toml when present, else the built-in defaults."
    ),
]
CheckpointOption = Annotated[
    Path | None,
    typer.Option(
        metavar="FILE", help="Model file. Default: the model shipped with digits (a model you train answers only here)."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")]
JsonLinesOption = Annotated[
    bool, typer.Option("--json", help="Print JSON Lines: one JSON object per image, one per line.")
]
ImagesArgument = Annotated[
    list[Path],
    # readable=False: an unreadable file is reported by the command itself, and the others still read
    typer.Argument(metavar="IMAGE...", help="Image files or directories of them.", show_default=False, readable=False),
]
