"""What the commands print: tables, rows, text plots and JSON, from the library's result objects.

Results go to stdout and progress, warnings and errors to stderr. In a terminal the output is
coloured; piped, or with NO_COLOR set, it holds no escape codes at all.
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from .history import counted
from .results import as_json


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """`digits … | head`: the reader has all it wants, which is no failure (rich's own exits 1)."""
        self.quiet = True
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more when Python flushes
        raise SystemExit(0)


_colour = None if os.environ.get("NO_COLOR") else "auto"  # no-color.org: present and not empty
out = _Console(highlight=False, soft_wrap=True, color_system=_colour)
err = _Console(stderr=True, highlight=False, soft_wrap=True, color_system=_colour)


def json_line(result: Any, include: tuple[str, ...] = ()) -> str:
    """A result object as one line of JSON (see results.as_json)."""
    return json.dumps(as_json(result, include))


def error(message: str) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}")


# --- train


class TrainingProgress:
    """Prints the run's header, a row per epoch and, in a terminal, a live bar under the rows."""

    def __init__(self, rows: bool) -> None:
        self.rows = rows
        self.progress = Progress(
            TextColumn("epoch {task.fields[epoch]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self.task = self.progress.add_task("train", total=None, epoch=1)
        self.epochs = 0

    @property
    def live(self) -> bool:
        """A bar is drawn only in a terminal: a log file gets the rows, not a redrawn bar."""
        return self.rows and err.is_terminal

    def on_start(self, plan: Any) -> None:
        self.epochs = plan.epochs
        sizes = "-".join(str(n) for n in plan.layer_sizes)
        left_out(plan.source, plan.skipped, plan.missing, "the model will never learn to read those digits")
        if plan.schedule_restarted:
            err.print(
                f"Continuing after epoch {plan.resumed_from}, up to epoch {plan.epochs}: the learning-rate schedule "
                f"starts again from its peak over the {counted(plan.epochs - plan.resumed_from, 'epoch')} left",
                markup=False,
            )
        elif plan.resumed_from:
            err.print(f"Resuming after epoch {plan.resumed_from} of {plan.epochs}", markup=False)
        err.print(
            f"Training a {sizes} network on {plan.train_samples:,} images"
            + (f", {plan.non_digits:,} of them drawn non-digits" if plan.non_digits else "")
            + f" ({plan.val_samples:,} held out "
            f"for validation), {counted(plan.epochs, 'epoch')} on {plan.device}"
        )
        if self.rows:
            self._print(_epoch_header(), markup=False)
        if self.live:
            self.progress.start()

    def on_batch(self, done: int, total: int) -> None:
        self.progress.update(self.task, completed=done, total=total)

    def on_epoch(self, record: Any) -> None:
        if self.rows:
            self._print(_epoch_row(record))
        self.progress.update(self.task, completed=0, epoch=min(record.epoch + 1, self.epochs))

    def stop(self) -> None:
        if self.progress.live.is_started:
            self.progress.stop()

    def _print(self, text: str, markup: bool = True) -> None:
        # Rows belong on stdout. While the bar is live on the same terminal, they go through the
        # bar's console, which clears the bar, prints the row on its own line and redraws the bar.
        if self.progress.live.is_started and out.is_terminal:
            self.progress.console.print(text, markup=markup)
        else:
            out.print(text, markup=markup)


def training_summary(result: Any, patience: int) -> None:
    best, last = result.history[result.best_epoch - 1], result.history[-1]
    if result.stopped == "early":
        out.print(
            f"Stopped early after epoch {last.epoch}: validation loss has not improved for "
            f"{counted(last.epoch - best.epoch, 'epoch')} (patience {patience})",
            markup=False,
        )
    if len(result.history) > 1:  # one epoch is a point, not a curve
        train_curve, val_curve = _sparklines(
            [r.train_loss for r in result.history], [r.val_loss for r in result.history]
        )
        out.print(f"\ntrain loss {train_curve}\nval loss   {val_curve}", markup=False)
    out.print(f"Best epoch {best.epoch}: val loss {_loss(best.val_loss)}, val accuracy {best.val_accuracy:.2%}")
    fit = result.diagnosis.fit
    out.print(f"Verdict: [bold {fit.colour}]{fit.verdict}[/] — {escape(result.diagnosis.advice)}")
    out.print(f"Saved {result.output} (history: {result.history_file}, curves: {result.curves})", markup=False)
    out.print(f"Read with it: digits predict IMAGE --checkpoint {result.output}", markup=False)


def training_stopped(result: Any, command: str) -> None:
    how = result.stopped.capitalize()
    if result.saved:
        err.print(
            f"{how} after epoch {result.history[-1].epoch}. The best model so far is at {escape(str(result.output))}; "
            f"to continue: {escape(command)}"
        )
    else:
        err.print(f"{how} before the first epoch finished; nothing was saved")


def _epoch_header() -> str:
    return f"{'epoch':>5}  {'train loss':>10}  {'val loss':>8}  {'train acc':>9}  {'val acc':>7}  {'lr':>8}  {'time':>6}  fit"


def _epoch_row(r: Any) -> str:
    return (
        f"{r.epoch:>5}  {_loss(r.train_loss):>10}  {_loss(r.val_loss):>8}  {r.train_accuracy:>9.2%}  "
        f"{r.val_accuracy:>7.2%}  {r.lr:>8.3g}  {r.seconds:>5.1f}s  [{r.fit.colour}]{r.fit.value}[/]"
    )


def _loss(value: float) -> str:
    """Four decimals, or three significant digits where those would round a small loss to 0.0000."""
    return f"{value:.4f}" if value >= 1e-3 else f"{value:.2e}"


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


# --- lr-find


def lr_finding(finding: Any) -> None:
    out.print(_loss_curve(finding.learning_rates, finding.losses, finding.suggestion), markup=False)
    if finding.stopped_early:
        out.print(f"\nStopped after {len(finding.losses)} batches: {finding.stopped_early}.", markup=False)
    out.print(f"\nSuggested learning rate: [bold]{finding.suggestion:.3g}[/] (a tenth of where the loss was lowest)")
    out.print(f"Try it: digits train --lr {finding.suggestion:.3g}", markup=False)


def _loss_curve(rates: list[float], losses: list[float], suggestion: float, width: int = 64, height: int = 14) -> str:
    """A text plot of loss (up) against log learning rate (right), the suggested rate marked below.

    The loss axis spans the descent, from the lowest loss up to the highest before it: the
    blow-up after the lowest point is drawn along the top row, so that it cannot flatten the
    part of the curve a person reads.
    """
    lowest = min(range(len(losses)), key=losses.__getitem__)
    low, high = losses[lowest], max(losses[: lowest + 1])
    first, last = math.log10(rates[0]), math.log10(rates[-1])

    def column(rate: float) -> int:
        return round((math.log10(rate) - first) / max(last - first, 1e-12) * (width - 1))

    grid = [[" "] * width for _ in range(height)]
    for rate, loss in zip(rates, losses, strict=True):
        row = round((min(loss, high) - low) / max(high - low, 1e-12) * (height - 1))
        grid[height - 1 - row][column(rate)] = "•"
    lines = [f"{high:>7.3f} ┤" + "".join(grid[0])]
    lines += ["        │" + "".join(row) for row in grid[1:-1]]
    lines.append(f"{low:>7.3f} ┤" + "".join(grid[-1]))
    lines.append("        └" + "─" * width)
    lines.append(" " * (9 + column(suggestion)) + f"▲ {suggestion:.3g}, suggested")
    lines.append(f"         lr {rates[0]:<.0e}{'learning rate (log scale)':^{width - 16}}{rates[-1]:>.0e}")
    return "loss\n" + "\n".join(lines)


# --- evaluate


def evaluation(result: Any) -> None:
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


# --- predict and show


def prediction(p: Any, top_k: int, layer_widths: list[int]) -> None:
    """One image's reading; with `relus_fired` (explain), every probability and each hidden layer's ReLUs."""
    if p.failed:
        error(p.error)
        return
    if p.digit is None and not p.not_a_digit:
        out.print(p.error, markup=False)
        return
    others = "  ".join(f"{_answer(t.digit)} {t.probability:.1%}" for t in p.top_k[1:top_k])
    unsure = ", [yellow]unsure[/]" if p.unsure else ""
    then = f"   then {others}" if others else ""
    out.print(f"{escape(p.path)}: [bold]{_answer(p.digit)}[/] ({p.confidence:.1%}{unsure}){then}")
    if p.relus_fired is not None:
        for digit, probability in enumerate(p.probabilities):
            label = digit if digit < 10 else "✗"  # the eleventh answer: not a digit
            out.print(f"  {label} │{'█' * round(probability * 40):<40} {probability:6.1%}", markup=False)
        for i, (count, width) in enumerate(zip(p.relus_fired, layer_widths, strict=True), 1):
            out.print(f"  hidden layer {i}: {count} of {width} ReLUs fired ({count / width:.0%})", markup=False)


def number_reading(r: Any) -> None:
    """`photo.jpg: 12.50 (1 99.9%, 2 99.1%, ., 5 99.7%, 0 98.0%)`, unsure digits marked, then each
    mark left out and why."""
    if r.failed:
        error(r.error)
        return
    if r.number is None:
        out.print(r.error, markup=False)
    else:
        each = ", ".join(
            escape(d.text)
            if d.kind == "separator"
            else f"{d.digit} {d.confidence:.1%}" + (" [yellow]unsure[/]" if d.unsure else "")
            for d in r.digits
            if d.kind in ("digit", "separator")
        )
        out.print(f"{escape(r.path)}: [bold]{escape(r.number)}[/] ({each})")
    for d in r.digits:
        if d.kind == "left out":
            out.print(f"  left out, the mark at {_box(d.box)}: {d.text}", markup=False)
        elif d.kind == "not a digit":
            out.print(f"  not a digit ({d.confidence:.1%} sure): the mark at {_box(d.box)}", markup=False)


def model_used(path: Path, shipped: bool) -> None:
    """Which model reads, before its readings (on stderr, so that the readings stay the output)."""
    err.print(f"Reading with {path}" + (" (the model shipped with digits)" if shipped else ""), markup=False)


def _answer(digit: int | None) -> str:
    return "not a digit" if digit is None else str(digit)


def _box(box: tuple[int, int, int, int]) -> str:
    left, top, right, bottom = box
    return f"x {left}–{right}, y {top}–{bottom}"


def page_view(r: Any) -> None:
    """The ink `read` found on the page (paper, light and printed lines taken out), as shades, with
    each digit's box drawn round it and labelled with its reading; then the reading itself."""
    import numpy as np
    from PIL import Image

    height, width = r.ink.shape
    cell = max(1, -(-width // max(out.width - 2, 20)))  # pixels a character is wide; twice that tall
    columns, rows = -(-width // cell), -(-height // (2 * cell))
    means = np.asarray(Image.fromarray(r.ink).resize((columns, rows), Image.Resampling.BOX))
    grid = [[" ░▒▓█"[min(4, int(v) * 5 // 256)] for v in row] for row in means.tolist()]
    for d in r.digits:
        left, top, right, bottom = d.ink_box
        # round the box, a character out, where that does not run into the next digit's box
        x0, x1 = left // cell, (right - 1) // cell
        y0, y1 = max(top // (2 * cell) - 1, 0), min((bottom - 1) // (2 * cell) + 1, rows - 1)
        near = {x for o in r.digits if o is not d for x in range(o.ink_box[0] // cell - 1, o.ink_box[2] // cell + 2)}
        if x0 > 0 and x0 - 1 not in near:
            x0 -= 1
        if x1 + 1 < columns and x1 + 1 not in near:
            x1 += 1
        for x in range(x0, x1 + 1):
            grid[y0][x] = grid[y1][x] = "─"
        for y in range(y0, y1 + 1):
            grid[y][x0] = grid[y][x1] = "│"
        grid[y0][x0], grid[y0][x1], grid[y1][x0], grid[y1][x1] = "┌", "┐", "└", "┘"
        grid[y0][min(x0 + 1, x1)] = {"digit": str(d.digit), "separator": d.text, "not a digit": "✗"}.get(d.kind, "?")
    out.print(
        f"{r.path}: the ink read found, {width}×{height} pixels, a character {cell}×{2 * cell} of them\n", markup=False
    )
    lines = ["".join(row).rstrip() for row in grid]
    inked = [i for i, line in enumerate(lines) if line]  # blank paper above and below: one line of it
    if not inked:
        out.print("(no ink at all: the page is paper, once its shading and printed lines are taken out)\n")
    else:
        out.print(Text("\n".join(lines[max(inked[0] - 1, 0) : inked[-1] + 2]) + "\n"))
        if not r.digits:
            out.print("No mark here looks like writing: each is too small, too faint or too thin for a stroke.")
    number_reading(r)


def digit_view(p: Any, image_size: int, checkpoint: Path, numbers: bool) -> None:
    """The matrix the model reads: as numbers when asked or when they fit the terminal, else as shades."""
    as_numbers = numbers or out.width >= 4 * image_size
    out.print(f"{p.path} as the model sees it: {image_size}×{image_size} pixels, 0 = paper, 255 = ink\n", markup=False)
    out.print(_pixel_numbers(p.pixels) if as_numbers else _pixel_shades(p.pixels))
    if not as_numbers:
        out.print("(░ faint to █ full ink, two characters a pixel; --numbers prints the values)", markup=False)
    out.print(f"\n{escape(str(checkpoint))} reads: [bold]{_answer(p.digit)}[/] ({p.confidence:.1%})")


def _pixel_numbers(pixels: Any) -> Text:
    """The pixels as numbers, each cell shaded as the ink it stands for (plain numbers without colour)."""
    text = Text()
    for row in pixels:
        for value in row.tolist():
            paper = 255 - value
            ink_colour = "grey50" if value == 0 else ("white" if value > 110 else "black")
            text.append(f"{value:>4}", style=f"{ink_colour} on rgb({paper},{paper},{paper})")
        text.append("\n")
    return text


def _pixel_shades(pixels: Any) -> Text:
    shades = " ░▒▓█"
    lines = [
        "".join(shades[min(4, (value * 5) // 256) if value else 0] * 2 for value in row.tolist()) for row in pixels
    ]
    return Text("\n".join(lines) + "\n")


# --- info


def model_summary(summary: Any, config_toml: str) -> None:
    sizes = "-".join(map(str, summary.layer_sizes))
    total = summary.parameters
    out.print(
        f"{summary.checkpoint}: a {sizes} network, {total:,} parameters ({total * 4 / 2**20:.1f} MB as float32)\n",
        markup=False,
    )
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
    table.add_row("total", "", "", f"{total:,}", "")
    out.print(table)
    out.print(
        f"input: {summary.image_size}×{summary.image_size} pixels → {summary.layer_sizes[0]} numbers, "
        f"standardized with mean {summary.mean:.4f} and std {summary.std:.4f}",
        markup=False,
    )
    metrics = summary.metrics
    if metrics:
        out.print(
            f"best epoch {metrics.get('epoch')}: val loss {metrics.get('val_loss', 0):.4f}, "
            f"val accuracy {metrics.get('val_accuracy', 0):.2%}",
            markup=False,
        )
    versions = ", ".join(f"{name} {version}" for name, version in summary.versions.items())
    out.print(f"saved with {versions}\n\nconfig:", markup=False)
    out.print(config_toml, markup=False, end="")


# --- compare


def comparison(c: Any) -> None:
    """A column per run (runs.Comparison), a row per setting that differs, then each run's best epoch,
    validation loss and accuracy, verdict and time: runs read across, as a learner compares them."""
    table = Table(title=f"{counted(len(c.runs), 'run')} compared", title_justify="left")
    table.add_column("")
    for run in c.runs:
        table.add_column(escape(run.label), overflow="fold")
    for key in c.differing:
        table.add_row(key, *(escape(_setting(run.settings[key])) for run in c.runs))
    table.add_section()
    table.add_row("best epoch", *(f"{run.best_epoch} of {run.epochs}" for run in c.runs))
    table.add_row("val loss", *(_loss(run.val_loss) for run in c.runs))
    table.add_row("val accuracy", *(f"{run.val_accuracy:.2%}" for run in c.runs))
    table.add_row("verdict", *(f"[{run.fit.colour}]{run.verdict}[/]" for run in c.runs))
    table.add_row("time", *(f"{run.seconds:.1f}s" for run in c.runs))
    out.print(table)
    if any(run.label != run.name for run in c.runs):
        out.print("\n".join(f"{run.label}: {run.name}" for run in c.runs), markup=False)
    if len(c.runs) > 1 and not c.differing:
        out.print("No setting differs between the runs (train.output and train.device aside).", markup=False)


def _setting(value: Any) -> str:
    """A config value as it is written in a config file: true, [512, 256], 0.05."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, float) else str(value)
