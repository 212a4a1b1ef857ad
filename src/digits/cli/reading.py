"""The commands that read: predict, read, show, info, export, serve. Each parses its options,
calls the library and renders with report_reading. None imports torch."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import DigitsError, needs_extra
from ..read.results import layers_text
from . import report, report_reading
from .options import CheckpointOption, ImagesArgument, JsonLinesOption, JsonOption


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
    subfolders. A picture of several digits is answered with the number `digits read` finds
    there, as no one digit. A file that cannot be read is reported and the others are still
    read. The exit status is 1 where a file could not be read or held several digits.
    """
    from ..read.reader import load_model

    reader = load_model(checkpoint)
    report.model_used(reader.path, reader.shipped)
    failures = 0
    for prediction in reader.predict_files(images, top_k, explain):
        failures += prediction.failed or prediction.number is not None  # several digits are not one
        if json_output:
            print(report.json_line(prediction), flush=True)
        else:
            report_reading.prediction(prediction, top_k, reader.layer_sizes[1:-1], len(reader.model.networks))
    if failures:
        raise typer.Exit(1)


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
    from ..read.reader import load_model

    reader = load_model(checkpoint)
    report.model_used(reader.path, reader.shipped)
    failures = 0
    for reading in reader.read_files(images):
        failures += reading.failed
        if json_output:
            print(report.json_line(reading), flush=True)
        else:
            report_reading.number_reading(reading)
    if failures:
        raise typer.Exit(1)


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
    from ..learn.config import config_to_toml
    from ..read.checkpoint import load_model_file, summarize

    model = load_model_file(checkpoint)
    if weights is not None:
        with needs_extra("drawing the weights"):
            from ..learn.plots import first_layer_weights

        drawn = first_layer_weights(model, weights)
        report.err.print(f"The first layer's weights are drawn in {drawn}", markup=False)
    summary = summarize(model)
    if json_output:
        print(report.json_line(summary))
        return
    report_reading.model_summary(summary, config_to_toml(summary.config))


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
    from ..read.reader import load_model

    reader = load_model(checkpoint)
    prediction = None if as_read else reader.predict(image)
    if prediction is None or prediction.pixels is None:  # asked for the page, or no digit on it: show the page
        reading = reader.read(image)
        if reading.ink is None:
            raise DigitsError(reading.error)
        if json_output:
            print(report.json_line(reading))
            return
        return report_reading.page_view(reading)
    if json_output:
        print(report.json_line(prediction, include=("pixels",)))
        return
    report_reading.digit_view(prediction, reader.model.image_size, reader.path, numbers)


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
    from ..read.checkpoint import load_model_file

    with needs_extra("export", "onnx"):
        from ..learn.export import export_onnx

    model = load_model_file(checkpoint)
    written = export_onnx(model, output)
    report.out.print(f"Wrote {written} ({layers_text(model.layer_sizes)}, from {model.path})", markup=False)


def serve(
    checkpoint: CheckpointOption = None,
    host: Annotated[
        str, typer.Option(metavar="ADDRESS", help="Address to listen on; 0.0.0.0 for every interface.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(metavar="N", min=0, max=65535, help="Port to listen on; 0 picks a free one.")
    ] = 8000,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the page in the web browser.")] = False,
    max_pixels: Annotated[
        int | None,
        typer.Option(
            metavar="N",
            min=1,
            show_default=False,
            help="Refuse (413) a picture that decodes to more than N pixels, seen from its header. "
            "Default: 24,000,000.",
        ),
    ] = None,
) -> None:
    """Start a local web server: a drawing pad that reads your digit as you draw, and a JSON API.

    POST an image to /api/predict for the JSON that `digits predict --json` prints (?explain
    adds every layer's activations), or to /api/read for what `digits read --json` prints; GET
    /api/health and /api/model. Ctrl-C stops it. It has no authentication: beyond your own
    network, put it behind a proxy that has some (docs/serve.md says what it refuses).
    """
    from ..read.reader import load_model
    from ..serve.limits import Limits
    from ..serve.server import EVERY_INTERFACE
    from ..serve.server import serve as run_server

    reader = load_model(checkpoint)
    if host in EVERY_INTERFACE:
        report.err.print(f"warning: listening on every interface ({host or '*'}): anyone on your network can use it")

    def ready(urls: list[str]) -> None:
        report.out.print(
            f"digits serve: {' or '.join(urls)}, reading with {reader.path} (Ctrl-C stops it)", markup=False
        )
        if open_browser:
            import webbrowser

            if not webbrowser.open(urls[0]):
                report.err.print(f"digits serve: no web browser found here; open {urls[0]} in one", markup=False)

    limits = Limits() if max_pixels is None else Limits(max_pixels=max_pixels)
    run_server(reader, host, port, on_ready=ready, limits=limits)
