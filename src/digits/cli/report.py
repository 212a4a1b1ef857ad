"""How the commands print: results to stdout, progress, warnings and errors to stderr; JSON; the
few pieces every kind of output shares. report_training and report_reading render the results.

In a terminal the output is coloured; piped, or with NO_COLOR set, it holds no escape codes at all.
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from ..learn.history import counted
from ..read.results import Result, as_json

SHADES = " ░▒▓█"  # paper to full ink, a fifth of 0–255 each


def shade(value: int) -> str:
    """The character for a grey level, 0 (paper) to 255 (ink)."""
    return SHADES[min(len(SHADES) - 1, value * len(SHADES) // 256)]


def working(text: str) -> AbstractContextManager:
    """A spinner saying `text` on stderr while a person waits at a terminal, gone when the work is
    done; nothing where stderr is a file or a pipe."""
    return err.status(text, spinner="line") if err.is_terminal else nullcontext()


def quiet_stdout() -> None:
    """`digits … | head`: the reader has all it wants. Nothing more is written when Python flushes."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """`digits … | head`: the reader has all it wants, which is no failure (rich's own exits 1)."""
        self.quiet = True
        quiet_stdout()
        raise SystemExit(0)


_colour = None if os.environ.get("NO_COLOR") else "auto"  # no-color.org: present and not empty
out = _Console(highlight=False, soft_wrap=True, color_system=_colour)
err = _Console(stderr=True, highlight=False, soft_wrap=True, color_system=_colour)


def json_line(result: Result | object, include: tuple[str, ...] = ()) -> str:
    """A result object as one line of JSON (see results.as_json)."""
    return json.dumps(as_json(result, include))


def error(message: str) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}")


def loss_text(value: float) -> str:
    """Four decimals, or three significant digits where those would round a small loss to 0.0000."""
    return f"{value:.4f}" if value >= 1e-3 else f"{value:.2e}"


def left_out(source: str, skipped: list[str], missing: list[str], missing_means: str) -> None:
    """The image files left out and why, then the digits with no folder and what that means."""
    for message in skipped:
        error(message)
    if skipped:
        verb = "was" if len(skipped) == 1 else "were"
        err.print(f"{counted(len(skipped), 'file')} could not be read and {verb} left out", markup=False)
    if missing:
        folders = ", ".join(f"{digit}/" for digit in missing)
        err.print(f"[yellow]warning:[/] {escape(source)} has no folder {folders}: {missing_means}")


def model_used(path: Path, shipped: bool) -> None:
    """Which model reads, before its readings (on stderr, so that the readings stay the output)."""
    err.print(f"Reading with {path}" + (" (the model shipped with digits)" if shipped else ""), markup=False)
