"""The command line: the Typer app, its options, thin commands that call `read`, `learn` and `serve`,
and how their results print."""

from .app import main

__all__ = ["main"]
