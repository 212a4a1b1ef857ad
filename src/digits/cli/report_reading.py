"""What the reading commands print: a digit read, a number read, the page and the matrix the model
saw, an evaluation, and what a model is made of."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ..read.results import layers_text
from .report import error, out, shade

if TYPE_CHECKING:
    import numpy as np

    from ..read.checkpoint import ModelSummary
    from ..read.metrics import Evaluation
    from ..read.results import DigitReading, NumberReading, Prediction


def evaluation(result: Evaluation) -> None:
    out.print(f"{result.checkpoint} on {result.data}", markup=False)
    out.print(f"samples  {result.samples:,}\nloss     {result.loss:.4f}\naccuracy {result.accuracy:.2%}\n")
    classes = list(result.precision)
    per_class = Table("digit", "precision", "recall", "images", title="Per digit")
    for name, count in zip(classes, result.confusion.sum(axis=1), strict=True):
        per_class.add_row(name, f"{result.precision[name]:.1%}", f"{result.recall[name]:.1%}", str(count))
    out.print(per_class)
    answers = ["✗" if answer not in classes else answer for answer in result.answers]
    caption = "✗: not a digit" if "✗" in answers else None
    confusion = Table("true \\ predicted", *answers, title="Confusion matrix (rows: true digit)", caption=caption)
    for i, row in enumerate(result.confusion):
        cells = [f"[bold]{n}[/]" if i == j else (f"[red]{n}[/]" if n else "[dim]·[/]") for j, n in enumerate(row)]
        confusion.add_row(classes[i], *cells)
    out.print(confusion)
    if result.most_confused:
        pairs = ", ".join(f"{c.true} read as {c.predicted} ({c.count}×)" for c in result.most_confused)
        out.print(f"Most confused: {pairs}", markup=False)


# --- predict, read and show


def prediction(result: Prediction, top_k: int, layer_widths: list[int], networks: int = 1) -> None:
    """One image's reading; with `relus_fired` (explain), every probability and each hidden layer's ReLUs."""
    if result.failed:
        error(result.error)
        return
    if result.digit is None and not result.not_a_digit:
        out.print(result.error, markup=False)
        return
    others = "  ".join(f"{_answer(t.digit)} {t.probability:.1%}" for t in result.top_k[1:top_k])
    then = f"   then {others}" if others else ""
    if result.not_a_digit and result.unsure:  # the likeliest answer, named as no more than likely
        headline = f"[yellow]unsure[/]: probably [bold]not a digit[/] ({result.confidence:.1%})"
    else:
        unsure = ", [yellow]unsure[/]" if result.unsure else ""
        headline = f"[bold]{_answer(result.digit)}[/] ({result.confidence:.1%}{unsure})"
    out.print(f"{escape(result.path)}: {headline}{then}")
    if result.relus_fired is not None:
        for digit, probability in enumerate(result.probabilities):
            label, legend = (digit, "") if digit < 10 else ("✗", "  not a digit")  # the eleventh answer
            out.print(f"  {label} │{'█' * round(probability * 40):<40} {probability:6.1%}{legend}", markup=False)
        for i, (count, width) in enumerate(zip(result.relus_fired, layer_widths, strict=True), 1):
            first = " (the committee's first network)" if networks > 1 else ""
            out.print(f"  hidden layer {i}: {count} of {width} ReLUs fired ({count / width:.0%}){first}", markup=False)


def number_reading(result: NumberReading) -> None:
    """`photo.jpg: 12.50 (1 99.9%, 2 99.1%, ., 5 99.7%, 0 98.0%)`, unsure digits marked, and where one
    is, the runner-up number: `4262 (or 4282)`; then each mark left out and why."""
    if result.failed:
        error(result.error)
        return
    if result.number is None:
        out.print(result.error, markup=False)
    else:
        each = ", ".join(
            escape(mark.text)
            if mark.kind == "separator"
            else f"{mark.digit} {mark.confidence:.1%}" + (" [yellow]unsure[/]" if mark.unsure else "")
            for mark in result.digits
            if mark.kind in ("digit", "separator")
        )
        runner_up = f" (or {escape(result.runner_up)})" if result.runner_up else ""
        out.print(f"{escape(result.path)}: [bold]{escape(result.number)}[/]{runner_up} ({each})")
    for mark in result.digits:
        if mark.kind == "left out":
            out.print(f"  left out, the mark at {_box(mark.box)}: {mark.text}", markup=False)
        elif mark.kind == "not a digit":
            out.print(f"  not a digit ({mark.confidence:.1%} sure): the mark at {_box(mark.box)}", markup=False)


def _answer(digit: int | None) -> str:
    return "not a digit" if digit is None else str(digit)


def _box(box: tuple[int, int, int, int]) -> str:
    left, top, right, bottom = box
    return f"x {left}–{right}, y {top}–{bottom}"


def page_view(result: NumberReading) -> None:
    """The ink `read` found on the page (the ink finder's map: how likely each pixel is handwriting),
    as shades, with each digit's box drawn round it and labelled with its reading; then the reading itself."""
    height, width = result.ink.shape
    cell = max(1, -(-width // max(out.width - 2, 20)))  # pixels a character is wide; twice that tall
    grid = _shaded(result.ink, cell)
    for mark in result.digits:
        _draw_box(grid, mark, [other.ink_box for other in result.digits if other is not mark], cell)
    out.print(
        f"{result.path}: the ink read found, {width}×{height} pixels, a character {cell}×{2 * cell} of them\n",
        markup=False,
    )
    lines = ["".join(row).rstrip() for row in grid]
    inked = [i for i, line in enumerate(lines) if line]  # blank paper above and below: one line of it
    if not inked:
        out.print("(no ink at all: the ink finder takes all of the page for paper, light and print)\n")
    else:
        out.print(Text("\n".join(lines[max(inked[0] - 1, 0) : inked[-1] + 2]) + "\n"))
        if not result.digits:
            out.print("No mark here is writing: each is too small, or the finder is unsure it is handwriting.")
    number_reading(result)


def _shaded(ink: np.ndarray, cell: int) -> list[list[str]]:
    """The ink as a grid of shade characters, each the mean of cell × 2·cell pixels."""
    import numpy as np
    from PIL import Image

    height, width = ink.shape
    columns, rows = -(-width // cell), -(-height // (2 * cell))
    means = np.asarray(Image.fromarray(ink).resize((columns, rows), Image.Resampling.BOX))
    return [[shade(int(v)) for v in row] for row in means.tolist()]


def _draw_box(grid: list[list[str]], mark: DigitReading, others: list[tuple[int, int, int, int]], cell: int) -> None:
    """A mark's box in the grid, labelled with its reading: a character out from its ink where that
    does not run into another mark's box."""
    rows, columns = len(grid), len(grid[0])
    left, top, right, bottom = mark.ink_box
    x0, x1 = left // cell, (right - 1) // cell
    y0, y1 = max(top // (2 * cell) - 1, 0), min((bottom - 1) // (2 * cell) + 1, rows - 1)
    near = {x for box in others for x in range(box[0] // cell - 1, box[2] // cell + 2)}
    if x0 > 0 and x0 - 1 not in near:
        x0 -= 1
    if x1 + 1 < columns and x1 + 1 not in near:
        x1 += 1
    for x in range(x0, x1 + 1):
        grid[y0][x] = grid[y1][x] = "─"
    for y in range(y0, y1 + 1):
        grid[y][x0] = grid[y][x1] = "│"
    grid[y0][x0], grid[y0][x1], grid[y1][x0], grid[y1][x1] = "┌", "┐", "└", "┘"
    grid[y0][min(x0 + 1, x1)] = {"digit": str(mark.digit), "separator": mark.text, "not a digit": "✗"}.get(
        mark.kind, "?"
    )


def digit_view(result: Prediction, image_size: int, checkpoint: Path, numbers: bool) -> None:
    """The matrix the model reads: as numbers when asked or when they fit the terminal, else as shades."""
    as_numbers = numbers or out.width >= 4 * image_size
    out.print(
        f"{result.path} as the model sees it: {image_size}×{image_size} pixels, 0 = paper, 255 = ink\n", markup=False
    )
    out.print(_pixel_numbers(result.pixels) if as_numbers else _pixel_shades(result.pixels))
    if not as_numbers:
        out.print("(░ faint to █ full ink, two characters a pixel; --numbers prints the values)", markup=False)
    out.print(f"\n{escape(str(checkpoint))} reads: [bold]{_answer(result.digit)}[/] ({result.confidence:.1%})")


def _pixel_numbers(pixels: np.ndarray) -> Text:
    """The pixels as numbers, each cell shaded as the ink it stands for (plain numbers without colour)."""
    text = Text()
    for row in pixels:
        for value in row.tolist():
            paper = 255 - value
            ink_colour = "grey50" if value == 0 else ("white" if value > 110 else "black")
            text.append(f"{value:>4}", style=f"{ink_colour} on rgb({paper},{paper},{paper})")
        text.append("\n")
    return text


def _pixel_shades(pixels: np.ndarray) -> Text:
    lines = ["".join(shade(value) * 2 for value in row.tolist()) for row in pixels]
    return Text("\n".join(lines) + "\n")


# --- info


def model_summary(summary: ModelSummary, config_toml: str) -> None:
    sizes = layers_text(summary.layer_sizes)
    total = summary.parameters
    size = f"{total * 4 / 2**20:.1f} MB" if total * 4 >= 2**20 else f"{total * 4 / 2**10:.1f} KB"
    what = f"a {sizes} network" if summary.networks == 1 else f"a committee of {summary.networks} {sizes} networks"
    out.print(f"{summary.checkpoint}: {what}, {total:,} parameters ({size} as float32)\n", markup=False)
    table = Table("layer", "weights", "biases", "parameters", "activations (one image)")
    for layer in summary.layers:
        rows, columns = layer.weights
        table.add_row(
            str(layer.layer),
            f"{rows} × {columns}",
            str(layer.biases),
            f"{layer.parameters:,}",
            f"{layer.activations} {layer.activation}",
        )
    table.add_row("total" if summary.networks == 1 else f"× {summary.networks} networks", "", "", f"{total:,}", "")
    out.print(table)
    out.print(
        f"input: {summary.image_size}×{summary.image_size} pixels → {summary.layer_sizes[0]} numbers, "
        f"standardized with mean {summary.mean:.4f} and std {summary.std:.4f}",
        markup=False,
    )
    metrics = summary.metrics
    if "networks" in metrics:  # a committee's: judged as one, on the validation images its networks share
        epochs = ", ".join(str(network.get("epoch")) for network in metrics["networks"])
        out.print(
            f"the committee: val loss {metrics['val_loss']:.4f}, val accuracy {metrics['val_accuracy']:.2%} "
            f"({metrics['val_digit_accuracy']:.2%} of the digits); its networks' kept epochs: {epochs}",
            markup=False,
        )
    elif metrics:
        out.print(
            f"kept epoch {metrics.get('epoch')}: val loss {metrics.get('val_loss', 0):.4f}, "
            f"val accuracy {metrics.get('val_accuracy', 0):.2%}",
            markup=False,
        )
    versions = ", ".join(f"{name} {version}" for name, version in summary.versions.items())
    out.print(f"saved with {versions}\n\nconfig:", markup=False)
    out.print(config_toml, markup=False, end="")
