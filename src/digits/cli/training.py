"""The commands that train and measure: train, lr-find, evaluate, compare. Each parses its
options, calls the library and renders with report_training (or report_reading for evaluate)."""

from __future__ import annotations

import shlex
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import needs_extra
from . import report, report_reading, report_training
from .options import CheckpointOption, ConfigOption, JsonOption

WORST_MISTAKES = 24  # drawn by evaluate --errors: four rows of six fit a page


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
        typer.Option(
            "--json",
            help="Print one JSON object at the end (history, kept epoch, diagnosis and its cause), nothing else.",
        ),
    ] = False,
) -> None:
    """Train the network; show training and validation loss every epoch.

    A stack of Linear+ReLU layers learns from the training images by SGD; the validation
    images, held out, show whether it over- or underfits. Flags override the config file.
    The model with the lowest validation loss is saved.
    """
    from ..learn.config import config_to_toml, load_config

    flags = {"epochs": epochs, "lr": lr, "batch_size": batch_size, "seed": seed, "device": device}
    flags["output"] = None if output is None else str(output)
    overrides = {f"train.{key}": value for key, value in flags.items()}
    cfg = load_config(config, {**overrides, "data.path": None if data_path is None else str(data_path)})
    if print_config:
        report.out.print(config_to_toml(cfg), markup=False, end="")
        return

    progress = report_training.TrainingProgress(rows=not (quiet or json_output))
    progress.start()
    previous_handler = signal.getsignal(signal.SIGTERM)
    try:
        with needs_extra("training"):
            from ..learn.trainer import Terminated, train

        def on_terminate(signum: int, frame: Any) -> None:
            raise Terminated  # from a scheduler or `kill`: stop as Ctrl-C does, saving the state

        signal.signal(signal.SIGTERM, on_terminate)
        on_batch = progress.on_batch if progress.live else None
        result = train(cfg, resume, on_start=progress.on_start, on_batch=on_batch, on_epoch=progress.on_epoch)
    finally:
        signal.signal(signal.SIGTERM, previous_handler)
        progress.stop()
    if result.stopped in ("interrupted", "terminated"):
        arguments = sys.argv[1:] if "--resume" in sys.argv else [*sys.argv[1:], "--resume"]
        report_training.training_stopped(result, shlex.join(["digits", *arguments]))
        raise typer.Exit(130 if result.stopped == "interrupted" else 143)
    if json_output:
        print(report.json_line(result))
    elif result.stopped == "diverged":
        report_training.training_diverged(result)
    else:
        report_training.training_summary(result, cfg)
    if result.stopped == "diverged":
        raise typer.Exit(1)


def train_ink(
    config: Annotated[
        Path, typer.Option(metavar="FILE", help="TOML config of the pages, the network and its training.")
    ] = Path("configs/ink.toml"),
    epochs: Annotated[int | None, typer.Option(metavar="N", help="Passes over the drawn pages.")] = None,
    seed: Annotated[int | None, typer.Option(metavar="N", help="Seed for the pages and the initial weights.")] = None,
    off: Annotated[
        list[str] | None,
        typer.Option(metavar="GROUP", help="Leave a factor group out of the pages (repeatable), to test on it."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option(metavar="FILE", help="Where to save the weights (.safetensors).")
    ] = None,
    data_path: Annotated[
        Path | None, typer.Option(metavar="DIR", help="MNIST's folder (pages.path), whose training digits are written.")
    ] = None,
) -> None:
    """Train the ink finder on pages drawn at random; see training and validation loss each epoch.

    A small convolutional network learns which pixels are handwritten ink, on pages whose paper,
    light, print, ink, pose and camera are drawn at random. `digits predict` and `read` use the
    finder shipped with digits; this retrains it from its config (configs/ink.toml).
    """
    with needs_extra("training"):
        from ..learn.ink_finder import load_ink_config, train_finder

    overrides = _reader_overrides("pages", epochs, seed, output, data_path) | {"pages.off": off}
    cfg = load_ink_config(config, overrides)
    saved = train_finder(cfg, report_training.ink_epoch)
    report_training.ink_saved(saved)


def train_marks(
    config: Annotated[
        Path, typer.Option(metavar="FILE", help="TOML config of the rows, the network and its training.")
    ] = Path("configs/marks.toml"),
    epochs: Annotated[
        int | None, typer.Option(metavar="N", help="The first network's passes over the drawn marks.")
    ] = None,
    seed: Annotated[int | None, typer.Option(metavar="N", help="Seed for the rows and the initial weights.")] = None,
    output: Annotated[
        Path | None, typer.Option(metavar="FILE", help="Where to save the weights (.safetensors).")
    ] = None,
    data_path: Annotated[
        Path | None, typer.Option(metavar="DIR", help="MNIST's folder (rows.path), whose training digits are written.")
    ] = None,
) -> None:
    """Train the mark classifier on rows drawn at random; see training and validation loss each epoch.

    Two small Linear+ReLU networks learn what each mark of a number is (a digit, a point, a comma,
    a dash, a slash, a colon, or not a digit): the first from the mark in its row's frame (its
    shape, its size and its place in the row), the second from the first one's answers for the mark
    and its neighbours. `digits read` and `predict` use the classifier shipped with digits; this
    retrains it from its config (configs/marks.toml).
    """
    with needs_extra("training"):
        from ..learn.mark_classifier import load_marks_config, train_classifier

    cfg = load_marks_config(config, _reader_overrides("rows", epochs, seed, output, data_path))
    saved = train_classifier(cfg, report_training.learned_epoch)
    report_training.learned_saved(saved, "DIGITS_MARK_CLASSIFIER")


def train_rows(
    config: Annotated[
        Path, typer.Option(metavar="FILE", help="TOML config of the rows, the network and its training.")
    ] = Path("configs/rows.toml"),
    epochs: Annotated[int | None, typer.Option(metavar="N", help="Passes over the drawn rows.")] = None,
    seed: Annotated[int | None, typer.Option(metavar="N", help="Seed for the rows and the initial weights.")] = None,
    output: Annotated[
        Path | None, typer.Option(metavar="FILE", help="Where to save the weights (.safetensors).")
    ] = None,
    data_path: Annotated[
        Path | None, typer.Option(metavar="DIR", help="MNIST's folder (rows.path), whose training digits are written.")
    ] = None,
) -> None:
    """Train the row reader on rows drawn at random; see training and validation loss each epoch.

    Digits written in a hurry touch, and make one piece of ink that the digit model calls no digit.
    The row reader reads such a piece with no cuts: one Linear+ReLU layer at every window along it,
    more over neighbouring windows, trained with CTC on rows of MNIST digits drawn close and
    overlapping. `digits read` and `predict` use the reader shipped with digits; this retrains it
    from its config (configs/rows.toml).
    """
    with needs_extra("training"):
        from ..learn.row_reader import load_reader_config, train_reader

    cfg = load_reader_config(config, _reader_overrides("rows", epochs, seed, output, data_path))
    saved = train_reader(cfg, report_training.learned_epoch)
    report_training.learned_saved(saved, "DIGITS_ROW_READER")


def _reader_overrides(
    data: str, epochs: int | None, seed: int | None, output: Path | None, data_path: Path | None
) -> dict:
    """The config keys a learned reader's training flags set (None: the config's own), its digits'
    folder under the `data` section."""
    return {
        "train.epochs": epochs,
        "train.seed": seed,
        "train.output": None if output is None else str(output),
        f"{data}.path": None if data_path is None else str(data_path),
    }


def committee(
    models: Annotated[
        list[Path],
        typer.Argument(
            metavar="MODEL...",
            help="Model files trained apart with the same split (data.split_seed).",
            show_default=False,
        ),
    ],
    output: Annotated[Path, typer.Option(metavar="FILE", help="Where to save the committee (.safetensors).")],
    data_path: Annotated[
        Path | None,
        typer.Option(metavar="DIR", help="The data's folder, where it has moved since training (data.path)."),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Join networks trained apart into a committee whose probabilities are averaged.

    Each network, and the committee, is judged on the validation images they all held out: the
    committee is usually right more often than any one of them. predict, read, evaluate, serve
    and export read a committee file as they read one network's.
    """
    from ..learn.committee import join_committee

    with report.working(f"Judging {len(models)} networks and their committee on the validation images…"):
        result = join_committee(models, output, None if data_path is None else str(data_path))
    if json_output:
        print(report.json_line(result))
        return
    report_training.committee(result)


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
    from ..learn.config import load_config

    cfg = load_config(config)
    with report.working(f"Sweeping the learning rate from {start:g} to {end:g} over {steps} batches…"):
        with needs_extra("lr-find"):
            from ..learn.lr_finder import find_lr

        finding = find_lr(cfg, start, end, steps)
    if json_output:
        print(report.json_line(finding))
        return
    report_training.lr_finding(finding, config)


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
    from ..read.checkpoint import load_model_file
    from ..read.metrics import evaluate, load_evaluation_digits

    model = load_model_file(checkpoint)
    result = evaluate(model, load_evaluation_digits(model, data))
    if errors is not None:
        with needs_extra("drawing the mistakes"):
            from ..learn.plots import draw_mistakes

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
        report_reading.evaluation(result)
    if result.skipped:
        raise typer.Exit(1)


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
    """Compare training runs side by side: the settings that differ, kept epoch, verdict, cause and time.

    Each run is read from the files digits train writes: the model file, whose header holds
    the config, and the history beside it. One row per run, and one picture with every run's
    loss and validation accuracy per epoch, the kept epochs marked.
    """
    from ..learn.runs import compare as compare_runs
    from ..learn.runs import load_runs

    loaded = load_runs(runs or [])
    with needs_extra("drawing the comparison"):
        from ..learn.plots import compared_curves

    comparison = compare_runs(loaded)
    comparison.plot = compared_curves(comparison.runs, plot)
    report.err.print(f"The runs' curves are drawn in {comparison.plot}", markup=False)
    if json_output:
        print(report.json_line(comparison))
        return
    report_training.comparison(comparison)
