"""The command line: parse, call the library, render with `report`. Nothing here trains or computes.

Heavy modules (torch, numpy, matplotlib) are imported inside the commands that need them, so
`digits --help` answers at once.
"""

from __future__ import annotations

import os
import shlex
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from . import __version__, report
from .errors import DigitsError, needs_extra

WORST_MISTAKES = 24

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


class _DigitsGroup(TyperGroup):
    """Turns the library's DigitsError into one line on stderr and an exit status, in one place."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except DigitsError as e:
            report.error(str(e))
            raise typer.Exit(e.exit_code) from None
        except BrokenPipeError:  # `digits … | head`: the reader has all it wants, which is no error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more when Python flushes
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


@app.command(cls=_Command, short_help="Train the network; see training and validation loss each epoch.")
def train(
    config: ConfigOption = None,
    epochs: Annotated[int | None, typer.Option(metavar="N", help="Passes over the training images.")] = None,
    lr: Annotated[float | None, typer.Option(metavar="RATE", help="Learning rate of SGD.")] = None,
    batch_size: Annotated[int | None, typer.Option(metavar="N", help="Images per SGD step.")] = None,
    seed: Annotated[
        int | None, typer.Option(metavar="N", help="Seed for the split, initial weights and shuffling.")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Where to save the best model (.safetensors); history, curves and resume state go beside it.",
        ),
    ] = None,
    device: Annotated[str | None, typer.Option(metavar="NAME", help="auto, cpu, cuda, cuda:N or mps.")] = None,
    data_path: Annotated[
        Path | None,
        typer.Option(metavar="DIR", help="The data's folder (data.path), for the mnist and folder sources."),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Continue the run saved at the output, with the same config and flags; "
            "with a higher --epochs, a finished one goes on for more.",
        ),
    ] = False,
    print_config: Annotated[
        bool, typer.Option("--print-config", help="Print the effective config (file plus flags) as TOML and exit.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar or per-epoch rows: the summary only.")
    ] = False,
    json_output: Annotated[
        bool,
        typer.Option("--json", help="Print one JSON object at the end (history, best epoch, diagnosis), nothing else."),
    ] = False,
) -> None:
    """Train the network; show training and validation loss every epoch.

    A stack of Linear+ReLU layers learns from the training images by SGD; the validation
    images, held out, show whether it over- or underfits. Flags override the config file.
    The model with the lowest validation loss is saved.
    """
    from .config import config_to_toml, load_config

    flags = {"epochs": epochs, "lr": lr, "batch_size": batch_size, "seed": seed, "device": device}
    flags["output"] = None if output is None else str(output)
    overrides = {f"train.{key}": value for key, value in flags.items()}
    cfg = load_config(config, {**overrides, "data.path": None if data_path is None else str(data_path)})
    if print_config:
        return report.out.print(config_to_toml(cfg), markup=False, end="")

    with needs_extra("training"):
        from .trainer import Terminated, train

    def on_terminate(signum: int, frame: Any) -> None:
        raise Terminated  # from a scheduler or `kill`: stop as Ctrl-C does, saving the state

    progress = report.TrainingProgress(rows=not (quiet or json_output))
    previous_handler = signal.signal(signal.SIGTERM, on_terminate)
    try:
        on_batch = progress.on_batch if progress.live else None
        result = train(cfg, resume, on_start=progress.on_start, on_batch=on_batch, on_epoch=progress.on_epoch)
    finally:
        signal.signal(signal.SIGTERM, previous_handler)
        progress.stop()
    if result.stopped in ("interrupted", "terminated"):
        arguments = sys.argv[1:] if "--resume" in sys.argv else [*sys.argv[1:], "--resume"]
        report.training_stopped(result, shlex.join(["digits", *arguments]))
        raise typer.Exit(130 if result.stopped == "interrupted" else 143)
    if json_output:
        return print(report.json_line(result))
    report.training_summary(result, cfg.train.patience)


@app.command("lr-find", cls=_Command, short_help="Sweep the learning rate over a few hundred batches; suggest one.")
def lr_find(
    config: ConfigOption = None,
    start: Annotated[float, typer.Option(metavar="RATE", help="Learning rate of the first batch.")] = 1e-5,
    end: Annotated[float, typer.Option(metavar="RATE", help="Learning rate of the last batch.")] = 10.0,
    steps: Annotated[int, typer.Option(metavar="N", min=10, help="Batches to sweep over (at least 10).")] = 200,
    json_output: JsonOption = False,
) -> None:
    """Sweep the learning rate up exponentially over a few hundred batches and suggest one.

    Each batch is a training step exactly as `digits train` takes it. Prints the smoothed
    training loss against the learning rate: pick a rate where the loss still falls steeply,
    well before it blows up. Nothing is saved.
    """
    from .config import load_config

    with needs_extra("lr-find"):
        from .lr_finder import find_lr

    finding = find_lr(load_config(config), start, end, steps)
    if json_output:
        return print(report.json_line(finding))
    report.lr_finding(finding)


@app.command(cls=_Command, short_help="Measure a trained model and show where it goes wrong.")
def evaluate(
    checkpoint: CheckpointOption = None,
    data: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            help="MNIST-format directory (its t10k-* files when present) or an image folder with subfolders 0…9. "
            "Default: the test split of the data the model was trained on.",
        ),
    ] = None,
    json_output: JsonOption = False,
    errors: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Also draw the worst mistakes (highest loss) into this picture (.png, .jpg, .svg, .pdf).",
        ),
    ] = None,
) -> None:
    """Measure a trained model and show where it goes wrong.

    Prints the number of images, loss, accuracy, per-digit precision and recall, the confusion
    matrix and the most confused pairs. Image files that cannot be read are reported and left
    out; the exit status is then 1.
    """
    from .checkpoint import load_model
    from .metrics import evaluate, load_evaluation_digits

    model = load_model(checkpoint)
    result = evaluate(model, load_evaluation_digits(model, data))
    if errors is not None:
        with needs_extra("drawing the mistakes"):
            from .plots import draw_mistakes

        drawn = draw_mistakes(result, WORST_MISTAKES, errors)
        report.err.print(
            f"The {drawn} worst mistakes are drawn in {errors}"
            if drawn
            else f"No mistakes to draw: {errors} not written",
            markup=False,
        )
    report.left_out(str(result.data), result.skipped, result.missing, "those digits are not measured")
    if json_output:
        print(report.json_line(result))
    else:
        report.evaluation(result)
    if result.skipped:
        raise typer.Exit(1)


@app.command(cls=_Command, short_help="Read the digit in each image: a photo, a scan or a drawing.")
def predict(
    images: ImagesArgument,
    checkpoint: CheckpointOption = None,
    top_k: Annotated[
        int, typer.Option(metavar="K", min=1, max=10, help="Also show the K likeliest digits (1 to 10).")
    ] = 1,
    json_output: JsonLinesOption = False,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain",
            help="Show every answer's probability (0–9, and ✗ for not a digit) and how many ReLUs fired in each layer.",
        ),
    ] = False,
) -> None:
    """Read the digit in each image: a photo, a scan or a drawing.

    Dark ink on light paper or the reverse, any size. Directories are read with their
    subfolders. A file that cannot be read is reported and the others are still read; the
    exit status is then 1.
    """
    from .reader import load_model

    reader = load_model(checkpoint)
    report.model_used(reader.path, reader.shipped)
    failures = 0
    for prediction in reader.predict_files(images, top_k, explain):
        failures += prediction.failed
        if json_output:
            print(report.json_line(prediction), flush=True)
        else:
            report.prediction(prediction, top_k, reader.layer_sizes[1:-1])
    if failures:
        raise typer.Exit(1)


@app.command(cls=_Command, short_help="Read every digit on each image, left to right, as a number.")
def read(
    images: ImagesArgument,
    checkpoint: CheckpointOption = None,
    json_output: JsonLinesOption = False,
) -> None:
    """Read every digit on each image, left to right, as a number: a date, a house number.

    Digits are found as ink separated by blank columns, each prepared as `predict` prepares a
    lone digit. A file that cannot be read is reported and the others are still read; the exit
    status is then 1.
    """
    from .reader import load_model

    reader = load_model(checkpoint)
    report.model_used(reader.path, reader.shipped)
    failures = 0
    for reading in reader.read_files(images):
        failures += reading.failed
        if json_output:
            print(report.json_line(reading), flush=True)
        else:
            report.number_reading(reading)
    if failures:
        raise typer.Exit(1)


@app.command(cls=_Command, short_help="Show a model's layers, parameters, and how it was trained.")
def info(
    checkpoint: Annotated[
        Path | None,
        typer.Argument(
            metavar="[CHECKPOINT]",
            help="Model file. Default: the model shipped with digits.",
            show_default=False,
        ),
    ] = None,
    json_output: JsonOption = False,
    weights: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Also draw the first layer's weights, one tile per unit, into this picture (.png, .jpg, .svg, .pdf).",
        ),
    ] = None,
) -> None:
    """Show what a model is made of: its layers, their parameters and activations, how it was trained.

    Parameters are the numbers stored in the weight matrices and bias vectors; activations are
    the numbers each layer computes from them for one image. With --weights, each first-layer
    unit's weights are drawn as an image: the pattern of ink it responds to.
    """
    from .checkpoint import load_model, summarize
    from .config import config_to_toml

    model = load_model(checkpoint)
    if weights is not None:
        with needs_extra("drawing the weights"):
            from .plots import first_layer_weights

        drawn = first_layer_weights(model, weights)
        report.err.print(f"The first layer's weights are drawn in {drawn}", markup=False)
    summary = summarize(model)
    if json_output:
        return print(report.json_line(summary))
    report.model_summary(summary, config_to_toml(summary.config))


@app.command(cls=_Command, short_help="Compare training runs: settings that differ, best epochs, curves.")
def compare(
    runs: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="RUN...",
            help="Runs to compare: each a model file (m.safetensors) or its history (m.history.csv).",
            show_default=False,
        ),
    ] = None,
    plot: Annotated[
        Path, typer.Option(metavar="FILE", help="Where to draw the runs' curves (.png, .jpg, .svg, .pdf).")
    ] = Path("compare.png"),
    json_output: JsonOption = False,
) -> None:
    """Compare training runs side by side: the settings that differ, best epoch, verdict and time.

    Each run is read from the files digits train writes: the model file, whose header holds
    the config, and the history beside it. One row per run, and one picture with every run's
    loss and validation accuracy per epoch, the best epochs marked.
    """
    from .runs import compare as compare_runs
    from .runs import load_runs

    loaded = load_runs(runs or [])
    with needs_extra("drawing the comparison"):
        from .plots import compared_curves

    comparison = compare_runs(loaded)
    comparison.plot = compared_curves(loaded, plot)
    report.err.print(f"The runs' curves are drawn in {comparison.plot}", markup=False)
    if json_output:
        return print(report.json_line(comparison))
    report.comparison(comparison)


@app.command(cls=_Command, short_help="Print the matrix of numbers the model sees for an image.")
def show(
    image: Annotated[
        Path,
        typer.Argument(
            metavar="IMAGE",
            help="An image file: a photo, a scan or a drawing of a digit.",
            show_default=False,
            readable=False,
        ),
    ],
    checkpoint: CheckpointOption = None,
    numbers: Annotated[
        bool, typer.Option("--numbers", help="Print the pixel values even where they do not fit the terminal.")
    ] = False,
    as_read: Annotated[
        bool,
        typer.Option("--read", help="Show what `digits read` finds instead: the ink on the page, each digit boxed."),
    ] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON object: the matrix and the reading.")
    ] = False,
) -> None:
    """Print the matrix of numbers the model sees for an image: 0 is paper, 255 is ink.

    The image is found, cropped, scaled and centred exactly as predict does, so this is what
    the network's first layer multiplies. Where the numbers do not fit the terminal, each
    pixel is drawn as a shade instead (--numbers prints them anyway). With --read, or where
    no digit is found, the whole page's ink as the reader measured it, with a box round each
    digit `digits read` found.
    """
    from .reader import load_model

    reader = load_model(checkpoint)
    prediction = None if as_read else reader.predict(image)
    if prediction is None or prediction.pixels is None:  # asked for the page, or no digit on it: show the page
        reading = reader.read(image)
        if reading.ink is None:
            raise DigitsError(reading.error)
        if json_output:
            return print(report.json_line(reading))
        return report.page_view(reading)
    if json_output:
        return print(report.json_line(prediction, include=("pixels",)))
    report.digit_view(prediction, reader.model.image_size, reader.path, numbers)


@app.command(cls=_Command, short_help="Write a model as ONNX, for runtimes other than Python.")
def export(
    output: Annotated[
        Path, typer.Argument(metavar="FILE.onnx", help="Where to write the ONNX model.", show_default=False)
    ],
    checkpoint: CheckpointOption = None,
) -> None:
    """Write a model as ONNX (opset 17): a batch of pixel matrices in, each answer's probability out.

    The input is float32 (N, 28, 28) (the model's image size), 0 = paper and 255 = ink, as
    `digits show` prints it; standardization is inside the graph. Needs the onnx extra.
    """
    from .checkpoint import load_model

    with needs_extra("export", "onnx"):
        from .export import export_onnx

    model = load_model(checkpoint)
    written = export_onnx(model, output)
    report.out.print(f"Wrote {written} ({'-'.join(map(str, model.layer_sizes))}, from {model.path})", markup=False)


@app.command(cls=_Command, short_help="Draw a digit, or drop a photo, in the browser.")
def serve(
    checkpoint: CheckpointOption = None,
    host: Annotated[
        str, typer.Option(metavar="ADDRESS", help="Address to listen on; 0.0.0.0 for every interface.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(metavar="N", min=0, max=65535, help="Port to listen on; 0 picks a free one.")
    ] = 8000,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the page in the web browser.")] = False,
) -> None:
    """Start a local web server: a drawing pad that reads your digit as you draw, and a JSON API.

    POST an image to /api/predict for the JSON that `digits predict --json` prints; GET
    /api/health and /api/model. Ctrl-C stops it.
    """
    from .reader import load_model
    from .server import EVERY_INTERFACE
    from .server import serve as run_server

    reader = load_model(checkpoint)
    if host in EVERY_INTERFACE:
        report.err.print(f"warning: listening on every interface ({host or '*'}): anyone on your network can use it")

    def ready(urls: list[str]) -> None:
        report.out.print(
            f"digits serve: {' or '.join(urls)}, reading with {reader.path} (Ctrl-C stops it)", markup=False
        )
        if open_browser:
            import webbrowser

            webbrowser.open(urls[0])

    run_server(reader, host, port, on_ready=ready)


def main() -> None:
    app()
