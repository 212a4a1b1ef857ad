"""The command line: the app, its commands in the order `digits --help` lists them, and the one place
that turns an error into a line on stderr. The commands themselves, thin (parse, call the library,
render with report_*), live in `training` and `reading`.

Heavy modules (torch, numpy, matplotlib) are imported inside the commands that need them, so
`digits --help` answers at once.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from .. import __version__
from ..errors import DigitsError
from . import reading, report, training


class _DigitsGroup(TyperGroup):
    """Turns the library's DigitsError into one line on stderr and an exit status, in one place."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except DigitsError as e:
            report.error(str(e))
            raise typer.Exit(e.exit_code) from None
        except BrokenPipeError:  # `digits … | head`: the reader has all it wants, which is no error
            report.quiet_stdout()
            raise typer.Exit(0) from None


class _Command(TyperCommand):
    """Usage lines as people write them: `IMAGE...`, not typer's `{IMAGE...}`."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return [piece.removeprefix("{").removesuffix("}") for piece in super().collect_usage_pieces(ctx)]


app = typer.Typer(
    cls=_DigitsGroup,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Learn to read handwritten digits, then read yours.\n\n"
    "Exit status: 0 done, 1 failed (on some input), 2 usage error, 130 interrupted (Ctrl-C), 143 terminated.",
)


def _print_version(value: bool) -> None:
    if value:
        print(f"digits {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool, typer.Option("--version", is_eager=True, callback=_print_version, help="Print the version and exit.")
    ] = False,
) -> None:
    pass


# Each command with its name where it is not the function's, and its line in `digits --help`, in that order.
COMMANDS = [
    (training.train, None, "Train the network; see training and validation loss each epoch."),
    (training.train_ink, "train-ink", "Train the ink finder on pages drawn at random."),
    (training.train_marks, "train-marks", "Train the mark classifier on rows drawn at random."),
    (training.train_rows, "train-rows", "Train the row reader, which reads digits that touch."),
    (training.committee, None, "Join networks trained apart into a committee, and judge it."),
    (training.lr_find, "lr-find", "Sweep the learning rate over a few hundred batches; suggest one."),
    (training.evaluate, None, "Measure a trained model and show where it goes wrong."),
    (reading.predict, None, "Read the digit in each image: a photo, a scan or a drawing."),
    (reading.read, None, "Read every digit on each image, left to right, as a number."),
    (reading.info, None, "Show a model's layers, parameters, and how it was trained."),
    (training.compare, None, "Compare training runs: settings that differ, kept epochs, causes, curves."),
    (reading.show, None, "Print the matrix of numbers the model sees for an image."),
    (reading.export, None, "Write a model as ONNX, for runtimes other than Python."),
    (reading.serve, None, "Draw a digit, or drop a photo, in the browser."),
]
for function, name, short_help in COMMANDS:
    app.command(name, cls=_Command, short_help=short_help)(function)


def main() -> None:
    app()
