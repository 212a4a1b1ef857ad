"""The command line: parse, call the library, render. Nothing here trains or computes.

Heavy modules (torch, numpy) are imported inside the commands that need them, so
`digits --help` answers at once.
"""

from __future__ import annotations

import dataclasses
import json
import math
import signal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from .errors import DigitsError

WORST_MISTAKES = 24
FLAG_STYLES = {"good": "green", "underfit": "yellow", "overfit": "red"}

ConfigOption = Annotated[
    Path | None,
    typer.Option(help="TOML config file. Default: configs/default.toml when present, else the built-in defaults."),
]
CheckpointOption = Annotated[
    Path | None,
    typer.Option(help="Model file. Default: checkpoints/default.safetensors, else the model shipped with digits."),
]

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class Terminated(BaseException):
    """SIGTERM arrived; a BaseException, like KeyboardInterrupt, so that no `except Exception` hides it."""


class _DigitsGroup(TyperGroup):
    """Turns the library's DigitsError into one line on stderr and an exit status, in one place."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except DigitsError as e:
            err.print(f"[bold red]error:[/] {escape(str(e))}")
            raise typer.Exit(e.exit_code) from None


app = typer.Typer(
    cls=_DigitsGroup,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Learn to read handwritten digits, then read yours. Exit status: 0 done, 1 failed, 2 usage error.",
)


@app.command()
def train(
    config: ConfigOption = None,
    epochs: Annotated[int | None, typer.Option(help="Passes over the training images.")] = None,
    lr: Annotated[float | None, typer.Option(help="Learning rate of SGD.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Images per SGD step.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for the split, initial weights and shuffling.")] = None,
    output: Annotated[
        Path | None,
        typer.Option(help="Where to save the best model (.safetensors); history and resume state go beside it."),
    ] = None,
    device: Annotated[str | None, typer.Option(help="auto, cpu, cuda, cuda:N or mps.")] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume", help="Continue the interrupted run saved at the output, started with the same config and flags."
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
        typer.Option("--json", help="Print one JSON object at the end (history, best epoch, verdict), nothing else."),
    ] = False,
) -> None:
    """Train the network; show training and validation loss every epoch.

    A stack of Linear+ReLU layers learns from the training images by SGD; the validation
    images, held out, show whether it over- or underfits. Flags override the config file.
    The model with the lowest validation loss is saved.
    """
    from .config import config_to_toml, load_config

    overrides = {
        "train.epochs": epochs,
        "train.lr": lr,
        "train.batch_size": batch_size,
        "train.seed": seed,
        "train.output": None if output is None else str(output),
        "train.device": device,
    }
    cfg = load_config(config, overrides)
    if print_config:
        out.print(config_to_toml(cfg), markup=False, end="")
        return

    from .trainer import train as run_training

    quiet = quiet or json_output

    progress = Progress(
        TextColumn("epoch {task.fields[epoch]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )
    task = progress.add_task("train", total=None, epoch=1)

    def on_start(run: Any) -> None:
        sizes = "-".join(str(n) for n in run.layer_sizes)
        err.print(
            f"Training a {sizes} network on {run.train_samples:,} images ({run.val_samples:,} held out "
            f"for validation), {cfg.train.epochs} epochs on {run.device}"
        )
        if not quiet:
            out.print(_epoch_header(), markup=False)
        if err.is_terminal and not quiet:  # a log file gets the epoch rows, not a redrawn bar
            progress.start()

    def on_batch(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    finished: list[int] = []  # epochs finished in this run, for the message if it is stopped

    def on_epoch(record: Any) -> None:
        finished.append(record.epoch)
        if not quiet:
            out.print(_epoch_row(record))
        progress.update(task, completed=0, epoch=min(record.epoch + 1, cfg.train.epochs))

    def on_terminate(signum: int, frame: Any) -> None:
        raise Terminated  # from a scheduler or `kill`: stop as Ctrl-C does, saving the state

    previous_handler = signal.signal(signal.SIGTERM, on_terminate)
    try:
        result = run_training(
            cfg, resume=resume, on_start=on_start, on_batch=on_batch if err.is_terminal else None, on_epoch=on_epoch
        )
    except (KeyboardInterrupt, Terminated) as stop:
        how = "Interrupted" if isinstance(stop, KeyboardInterrupt) else "Terminated"
        if finished or resume:
            err.print(
                f"{how}. The best model so far is at {escape(cfg.train.output)}; "
                "to continue, run the same command with --resume"
            )
        else:
            err.print(f"{how} before the first epoch finished; nothing was saved")
        raise typer.Exit(130 if isinstance(stop, KeyboardInterrupt) else 143) from None
    finally:
        signal.signal(signal.SIGTERM, previous_handler)
        if progress.live.is_started:
            progress.stop()

    from .checkpoint import curves_path
    from .plots import training_curves

    diagnosis = result.diagnosis
    curves = training_curves(
        result.history, result.best_epoch, diagnosis.verdict, diagnosis.advice, curves_path(result.output)
    )
    if json_output:
        summary = {
            "output": str(result.output),
            "history_file": str(result.history_file),
            "curves": str(curves),
            "best_epoch": result.best_epoch,
            "verdict": diagnosis.verdict,
            "advice": diagnosis.advice,
            "history": [dataclasses.asdict(record) for record in result.history],
        }
        print(json.dumps(summary))
        return
    best = result.history[result.best_epoch - 1]
    train_curve, val_curve = _sparklines([r.train_loss for r in result.history], [r.val_loss for r in result.history])
    out.print(f"\ntrain loss {train_curve}\nval loss   {val_curve}", markup=False)
    out.print(f"Best epoch {best.epoch}: val loss {best.val_loss:.4f}, val accuracy {best.val_accuracy:.2%}")
    style = {"good fit": "green", "underfitting": "yellow", "overfitting": "red"}[diagnosis.verdict]
    out.print(f"Verdict: [bold {style}]{diagnosis.verdict}[/] — {diagnosis.advice}")
    out.print(f"Saved {result.output} (history: {result.history_file}, curves: {curves})", markup=False)


@app.command("lr-find")
def lr_find(
    config: ConfigOption = None,
    start: Annotated[float, typer.Option(help="Learning rate of the first batch.")] = 1e-5,
    end: Annotated[float, typer.Option(help="Learning rate of the last batch.")] = 10.0,
    steps: Annotated[int, typer.Option(min=10, help="Batches to sweep over.")] = 200,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of the plot.")] = False,
) -> None:
    """Sweep the learning rate up exponentially over a few hundred batches and suggest one.

    Prints the smoothed training loss against the learning rate: pick a rate where the loss
    still falls steeply, well before it blows up. Nothing is saved.
    """
    from .config import load_config
    from .lr_finder import find_lr

    finding = find_lr(load_config(config), start, end, steps)
    if json_output:
        print(json.dumps(dataclasses.asdict(finding)))
        return
    out.print(_loss_curve(finding.learning_rates, finding.losses), markup=False)
    out.print(f"\nSuggested learning rate: [bold]{finding.suggestion:.3g}[/] (a tenth of where the loss was lowest)")
    out.print(f"Try it: digits train --lr {finding.suggestion:.3g}", markup=False)


def _loss_curve(rates: list[float], losses: list[float], width: int = 64, height: int = 14) -> str:
    """A text plot of loss (up) against log learning rate (right)."""
    low, high = min(losses), min(max(losses), 4 * min(losses))
    first, last = math.log10(rates[0]), math.log10(rates[-1])
    grid = [[" "] * width for _ in range(height)]
    for rate, loss in zip(rates, losses, strict=True):
        column = round((math.log10(rate) - first) / max(last - first, 1e-12) * (width - 1))
        row = round((min(loss, high) - low) / max(high - low, 1e-12) * (height - 1))
        grid[height - 1 - row][column] = "•"
    lines = [f"{high:>7.3f} ┤" + "".join(grid[0])]
    lines += ["        │" + "".join(row) for row in grid[1:-1]]
    lines.append(f"{low:>7.3f} ┤" + "".join(grid[-1]))
    lines.append("        └" + "─" * width)
    lines.append(f"         lr {rates[0]:<.0e}{'learning rate (log scale)':^{width - 16}}{rates[-1]:>.0e}")
    return "loss\n" + "\n".join(lines)


@app.command()
def evaluate(
    checkpoint: CheckpointOption = None,
    data: Annotated[
        Path | None,
        typer.Option(
            help="MNIST-format directory (its t10k-* files when present) or an image folder with subfolders 0…9. Default: the test split of the data the model was trained on."
        ),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")] = False,
    errors: Annotated[
        Path | None, typer.Option(help="Also draw the worst mistakes (highest loss) into this PNG file.")
    ] = None,
) -> None:
    """Measure a trained model and show where it goes wrong.

    Prints the number of images, loss, accuracy, per-digit precision and recall, and the
    confusion matrix.
    """
    from .checkpoint import load_model
    from .inference import evaluate as run_evaluation
    from .inference import most_confused, test_digits, worst_mistakes

    model = load_model(checkpoint)
    digits = test_digits(model, data)
    result = run_evaluation(model, digits)
    if errors is not None:
        from .plots import mistakes_grid

        worst = worst_mistakes(result, digits.labels, WORST_MISTAKES)
        mistakes_grid(
            digits.images[worst],
            [model.classes[i] for i in digits.labels[worst]],
            [model.classes[i] for i in result.predicted[worst]],
            result.confidence[worst].tolist(),
            errors,
        )
        err.print(f"The {len(worst)} worst mistakes are drawn in {escape(str(errors))}")
    if json_output:
        print(
            json.dumps(
                {
                    "checkpoint": str(model.path),
                    "data": result.source,
                    "samples": result.samples,
                    "loss": result.loss,
                    "accuracy": result.accuracy,
                    "precision": dict(zip(model.classes, result.precision, strict=False)),
                    "recall": dict(zip(model.classes, result.recall, strict=False)),
                    "confusion": result.confusion.tolist(),
                    "most_confused": [
                        {"true": t, "predicted": p, "count": n}
                        for t, p, n in most_confused(result.confusion, model.classes)
                    ],
                }
            )
        )
        return

    out.print(f"{model.path} on {result.source}", markup=False)
    out.print(f"samples  {result.samples:,}\nloss     {result.loss:.4f}\naccuracy {result.accuracy:.2%}\n")
    per_class = Table("digit", "precision", "recall", "images", title="Per digit")
    for name, precision, recall, count in zip(
        model.classes, result.precision, result.recall, result.confusion.sum(axis=1), strict=False
    ):
        per_class.add_row(name, f"{precision:.1%}", f"{recall:.1%}", str(count))
    out.print(per_class)
    confusion = Table("true \\ predicted", *model.classes, title="Confusion matrix (rows: true digit)")
    for i, row in enumerate(result.confusion):
        cells = [f"[bold]{n}[/]" if i == j else (f"[red]{n}[/]" if n else "[dim]·[/]") for j, n in enumerate(row)]
        confusion.add_row(model.classes[i], *cells)
    out.print(confusion)
    mistakes = most_confused(result.confusion, model.classes)
    if mistakes:
        out.print("Most confused: " + ", ".join(f"{t} read as {p} ({n}×)" for t, p, n in mistakes))


@app.command()
def predict(
    images: Annotated[
        list[Path],
        # readable=False: an unreadable file is reported by predict itself, and the others still read
        typer.Argument(
            metavar="IMAGE...", help="Image files or directories of them.", show_default=False, readable=False
        ),
    ],
    checkpoint: CheckpointOption = None,
    top_k: Annotated[int, typer.Option(min=1, max=10, help="Also show the K likeliest digits.")] = 1,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object per image, one per line.")] = False,
    explain: Annotated[
        bool, typer.Option("--explain", help="Show all ten probabilities and how many ReLUs fired in each layer.")
    ] = False,
) -> None:
    """Read the digit in each image: a photo, a scan or a drawing.

    Dark ink on light paper or the reverse, any size. A file that cannot be read is reported
    and the others are still read; the exit status is then 1.
    """
    from .checkpoint import load_model
    from .inference import predict_paths, relus_fired

    model = load_model(checkpoint)
    failures = 0
    for prediction in predict_paths(model, images, 10 if explain else top_k):
        failures += prediction.failed
        fired = relus_fired(model, prediction.pixels) if explain and prediction.digit else []
        if json_output:
            result = {
                "path": prediction.path,
                "digit": prediction.digit,
                "confidence": prediction.confidence,
                "top_k": [{"digit": d, "probability": p} for d, p in prediction.top[:top_k]],
                "error": prediction.message,
            }
            if explain and prediction.digit:
                result["probabilities"] = dict(sorted(prediction.top))
                result["relus_fired"] = fired
            print(json.dumps(result), flush=True)
        elif prediction.failed:
            err.print(f"[bold red]error:[/] {escape(prediction.message)}")
        elif prediction.digit is None:
            out.print(prediction.message, markup=False)
        else:
            others = "  ".join(f"{d} {p:.1%}" for d, p in prediction.top[1:top_k])
            out.print(
                f"{escape(prediction.path)}: [bold]{prediction.digit}[/] ({prediction.confidence:.1%})"
                + (f"   then {others}" if others else "")
            )
            if explain:
                for digit, probability in sorted(prediction.top):
                    out.print(f"  {digit} │{'█' * round(probability * 40):<40} {probability:6.1%}", markup=False)
                for i, (count, width) in enumerate(zip(fired, model.layer_sizes[1:-1], strict=True), 1):
                    out.print(f"  hidden layer {i}: {count} of {width} ReLUs fired ({count / width:.0%})", markup=False)
    if failures:
        raise typer.Exit(1)


@app.command()
def info(
    checkpoint: Annotated[
        Path | None,
        typer.Argument(
            metavar="CHECKPOINT",
            help="Model file. Default: checkpoints/default.safetensors, else the model shipped with digits.",
            show_default=False,
        ),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")] = False,
) -> None:
    """Show what a model is made of: its layers, their parameters and activations, how it was trained.

    Parameters are the numbers stored in the weight matrices and bias vectors; activations are
    the numbers each layer computes from them for one image.
    """
    from .checkpoint import load_model
    from .config import config_from_dict, config_to_toml
    from .inference import layer_summary

    model = load_model(checkpoint)
    layers = layer_summary(model)
    total = sum(layer["parameters"] for layer in layers)
    if json_output:
        print(
            json.dumps(
                {
                    "checkpoint": str(model.path),
                    "layer_sizes": model.layer_sizes,
                    "layers": layers,
                    "parameters": total,
                    "image_size": model.image_size,
                    "mean": model.mean,
                    "std": model.std,
                    "classes": model.classes,
                    "metrics": model.metrics,
                    "config": model.config,
                    "versions": model.versions,
                }
            )
        )
        return
    sizes = "-".join(map(str, model.layer_sizes))
    out.print(
        f"{model.path}: a {sizes} network, {total:,} parameters ({total * 4 / 2**20:.1f} MB as float32)\n", markup=False
    )
    table = Table("layer", "weights", "biases", "parameters", "activations (one image)")
    for layer in layers:
        rows, columns = layer["weights"]
        table.add_row(
            str(layer["layer"]),
            f"{rows} × {columns}",
            str(layer["biases"]),
            f"{layer['parameters']:,}",
            f"{layer['activations']} {layer['activation']}",
        )
    table.add_row("total", "", "", f"{total:,}", "")
    out.print(table)
    out.print(
        f"input: {model.image_size}×{model.image_size} pixels → {model.layer_sizes[0]} numbers, "
        f"standardized with mean {model.mean:.4f} and std {model.std:.4f}",
        markup=False,
    )
    metrics = model.metrics
    if metrics:
        out.print(
            f"best epoch {metrics.get('epoch')}: val loss {metrics.get('val_loss', 0):.4f}, "
            f"val accuracy {metrics.get('val_accuracy', 0):.2%}",
            markup=False,
        )
    versions = ", ".join(f"{name} {version}" for name, version in model.versions.items())
    out.print(f"saved with {versions}\n\nconfig:", markup=False)
    out.print(config_to_toml(config_from_dict(model.config, str(model.path))), markup=False, end="")


@app.command()
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
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON object: the matrix and the reading.")
    ] = False,
) -> None:
    """Print the matrix of numbers the model sees for an image: 0 is paper, 255 is ink.

    The image is found, cropped, scaled and centred exactly as predict does, so this is
    what the network's first layer multiplies.
    """
    from .checkpoint import load_model
    from .images import read_digit_image
    from .inference import likeliest

    model = load_model(checkpoint)
    pixels = read_digit_image(image, model.image_size)
    digit, confidence = likeliest(model, pixels)[0]
    if json_output:
        print(json.dumps({"path": str(image), "pixels": pixels.tolist(), "digit": digit, "confidence": confidence}))
        return
    out.print(
        f"{image} as the model sees it: {model.image_size}×{model.image_size} pixels, 0 = paper, 255 = ink\n",
        markup=False,
    )
    out.print(_pixel_matrix(pixels))
    out.print(f"\n{escape(str(model.path))} reads: [bold]{digit}[/] ({confidence:.1%})")


def _pixel_matrix(pixels: Any) -> Text:
    """The pixels as numbers, each cell shaded as the ink it stands for (plain numbers without colour)."""
    text = Text()
    for row in pixels:
        for value in row.tolist():
            paper = 255 - value
            ink_colour = "grey50" if value == 0 else ("white" if value > 110 else "black")
            text.append(f"{value:>4}", style=f"{ink_colour} on rgb({paper},{paper},{paper})")
        text.append("\n")
    return text


def _sparklines(*series: list[float], width: int = 60) -> list[str]:
    """Each series as a line of block characters, on one shared scale so they can be compared."""
    blocks = "▁▂▃▄▅▆▇█"
    low, high = min(min(s) for s in series), max(max(s) for s in series)
    lines = []
    for values in series:
        step = max(1, math.ceil(len(values) / width))  # long runs: every step-th epoch
        picked = values[::step]
        lines.append("".join(blocks[round((v - low) / max(high - low, 1e-12) * (len(blocks) - 1))] for v in picked))
    return lines


def _epoch_header() -> str:
    return f"{'epoch':>5}  {'train loss':>10}  {'val loss':>8}  {'train acc':>9}  {'val acc':>7}  {'lr':>8}  {'time':>6}  fit"


def _epoch_row(r: Any) -> str:
    flag = f"[{FLAG_STYLES[r.flag]}]{r.flag}[/]"
    return (
        f"{r.epoch:>5}  {r.train_loss:>10.4f}  {r.val_loss:>8.4f}  {r.train_accuracy:>9.2%}  "
        f"{r.val_accuracy:>7.2%}  {r.lr:>8.3g}  {r.seconds:>5.1f}s  {flag}"
    )


def main() -> None:
    app()
