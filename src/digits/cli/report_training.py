"""What the training commands print: the run's header and a row per epoch, the summary and its
verdict, the learning-rate finder's plot, and runs compared."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from rich import box
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ..learn.history import CAUSES, counted
from ..read.results import layers_text
from .report import err, error, left_out, loss_text, out

if TYPE_CHECKING:
    from ..learn.committee import Committee
    from ..learn.config import Config
    from ..learn.history import EpochRecord
    from ..learn.lr_finder import LrFinding
    from ..learn.runs import Comparison
    from ..learn.trainer import TrainingPlan, TrainResult


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
        # PyTorch's import, the data and the optimizer's own imports take seconds before the first
        # line: a terminal shows what is happening meanwhile, and the line goes when the header comes
        self.starting = err.status("Starting: importing PyTorch, loading the data…", spinner="line")

    def start(self) -> None:
        """Say, in a terminal, that training is starting (until `on_start`)."""
        if self.live:
            self.starting.start()

    @property
    def live(self) -> bool:
        """A bar is drawn only in a terminal: a log file gets the rows, not a redrawn bar."""
        return self.rows and err.is_terminal

    def on_start(self, plan: TrainingPlan) -> None:
        self.starting.stop()
        self.epochs = plan.epochs
        sizes = layers_text(plan.layer_sizes)
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

    def on_epoch(self, record: EpochRecord) -> None:
        if self.rows:
            self._print(_epoch_row(record))
        self.progress.update(self.task, completed=0, epoch=min(record.epoch + 1, self.epochs))

    def stop(self) -> None:
        self.starting.stop()
        if self.progress.live.is_started:
            self.progress.stop()

    def _print(self, text: str, markup: bool = True) -> None:
        # Rows belong on stdout. While the bar is live on the same terminal, they go through the
        # bar's console, which clears the bar, prints the row on its own line and redraws the bar.
        if self.progress.live.is_started and out.is_terminal:
            self.progress.console.print(text, markup=markup)
        else:
            out.print(text, markup=markup)


def training_summary(result: TrainResult, config: Config) -> None:
    best, last = result.history[result.best_epoch - 1], result.history[-1]
    if result.stopped == "early":
        out.print(
            f"Stopped early after epoch {last.epoch}: the kept model has not improved for "
            f"{counted(last.epoch - best.epoch, 'epoch')} (patience {config.train.patience})",
            markup=False,
        )
    if len(result.history) > 1:  # one epoch is a point, not a curve
        train_curve, val_curve = _sparklines(
            [r.train_loss for r in result.history], [r.val_loss for r in result.history]
        )
        out.print(f"\ntrain loss {train_curve}\nval loss   {val_curve}", markup=False)
    by = "highest validation accuracy" if config.train.keep == "accuracy" else "lowest validation loss"
    out.print(
        f"Kept epoch {best.epoch}, by {by}: val loss {loss_text(best.val_loss)}, val accuracy {best.val_accuracy:.2%}"
    )
    later = result.history[best.epoch :]
    most = max(later, key=lambda r: r.val_accuracy, default=best)
    if config.train.keep == "loss" and most.val_accuracy > best.val_accuracy:
        out.print(
            f"  Epoch {most.epoch} was more accurate on the validation images, {most.val_accuracy:.2%} "
            f'(+{(most.val_accuracy - best.val_accuracy) * 100:.2f} points); train.keep = "accuracy" keeps that one',
            markup=False,
        )
    _verdict(result)
    out.print(f"Saved {result.output} (history: {result.history_file}, curves: {result.curves})", markup=False)
    out.print(f"Read with it: digits predict IMAGE --checkpoint {result.output}", markup=False)


def training_diverged(result: TrainResult) -> None:
    """The verdict of a run whose loss became infinite or NaN, as an error, and what it kept."""
    error(result.diagnosis.advice)
    if result.best_epoch:
        err.print(f"The model of epoch {result.best_epoch}, before it diverged, is at {result.output}", markup=False)


def _verdict(result: TrainResult) -> None:
    diagnosis = result.diagnosis
    cause = f" ({CAUSES[diagnosis.cause]})" if CAUSES[diagnosis.cause] else ""
    out.print(
        f"Verdict: [bold {diagnosis.fit.colour}]{diagnosis.fit.verdict}[/]{escape(cause)} — {escape(diagnosis.advice)}"
    )


def ink_epoch(row: dict) -> None:
    """The ink finder's training as it goes: the pages drawn, then a row per epoch."""
    if "drawn" in row:
        out.print(f"Drew {row['drawn']:,} pages in {row['seconds']:.0f}s", markup=False)
        out.print(f"{'epoch':>5}  {'train loss':>10}  {'val loss':>8}  {'time':>6}", markup=False)
        return
    seconds = f"{row['seconds']:.0f}s"
    out.print(f"{row['epoch']:>5}  {loss_text(row['train_loss']):>10}  {loss_text(row['val_loss']):>8}  {seconds:>6}")


def ink_saved(path: object) -> None:
    out.print(f"Saved {path}; read with it: DIGITS_INK_FINDER={path} digits predict IMAGE", markup=False)


def learned_epoch(row: dict) -> None:
    """The mark classifier's or the row reader's training as it goes: the marks or rows drawn, then
    each network's rows, one per epoch."""
    if "drawn" in row:
        out.print(f"Drew {row['drawn']:,} {row.get('what', 'marks')} in {row['seconds']:.0f}s", markup=False)
        return
    if "network" in row:
        out.print(f"The network that reads {row['network']}:", markup=False)
        out.print(f"{'epoch':>5}  {'train loss':>10}  {'val loss':>8}  {'val acc':>7}  {'time':>6}", markup=False)
        return
    seconds = f"{row['seconds']:.0f}s"
    out.print(
        f"{row['epoch']:>5}  {loss_text(row['train_loss']):>10}  {loss_text(row['val_loss']):>8}"
        f"  {row['val_accuracy']:>7.2%}  {seconds:>6}",
        markup=False,
    )


def learned_saved(path: object, variable: str) -> None:
    """Where a reader's weights went, and how to read with them."""
    out.print(f"Saved {path}; read with it: {variable}={path} digits read IMAGE", markup=False)


def committee(result: Committee) -> None:
    """Each network's, and the committee's, validation loss and accuracy, and where it was saved."""
    out.print(f"On the {result.val_images:,} validation images all of them held out:", markup=False)
    out.print(f"  {'':<40} {'val loss':>8}  {'val acc':>7}  {'of digits':>9}", markup=False)
    for judged in [*result.networks, result.committee]:
        name = judged.name if len(judged.name) <= 40 else "…" + judged.name[-39:]
        out.print(
            f"  {name:<40} {judged.val_loss:8.4f}  {judged.val_accuracy:7.2%}  {judged.val_digit_accuracy:9.2%}",
            markup=False,
        )
    out.print(f"Saved the committee of {len(result.networks)} networks to {result.path}", markup=False)


def training_stopped(result: TrainResult, command: str) -> None:
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


def _epoch_row(record: EpochRecord) -> str:
    r = record
    return (
        f"{r.epoch:>5}  {loss_text(r.train_loss):>10}  {loss_text(r.val_loss):>8}  {r.train_accuracy:>9.2%}  "
        f"{r.val_accuracy:>7.2%}  {r.lr:>8.3g}  {r.seconds:>5.1f}s  [{r.fit.colour}]{r.fit.value}[/]"
    )


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


# The verdict's cause in a compare column: a few words, which six runs fit 80 columns with
SHORT_CAUSES = {
    "learning_rate_too_high": "lr too high",
    "learning_rate_too_low": "lr too low",
    "too_few_epochs": "few epochs",
    "too_small": "too small",
    "memorizing": "memorizing",
    "none": "none",
}


# --- lr-find


def lr_finding(finding: LrFinding, config: object = None) -> None:
    """The sweep's curve, the suggested rate, and the command that trains with it (the same config)."""
    out.print(_loss_curve(finding.learning_rates, finding.losses, finding.suggestion), markup=False)
    if finding.stopped_early:
        out.print(f"\nStopped after {len(finding.losses)} batches: {finding.stopped_early}.", markup=False)
    out.print(f"\nSuggested learning rate: [bold]{finding.suggestion:.3g}[/] (a tenth of where the loss was lowest)")
    with_config = "" if config is None else f" --config {config}"
    out.print(f"Try it: digits train{with_config} --lr {finding.suggestion:.3g}", markup=False)


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


# --- compare


def comparison(compared: Comparison) -> None:
    """A column per run (runs.Comparison), a row per setting that differs, then each run's kept epoch,
    validation loss and accuracy, verdict and time: runs read across, as a learner compares them."""
    c = compared
    # no lines between the columns, and a setting's name kept whole: six runs fit 80 columns
    table = Table(
        title=f"{counted(len(c.runs), 'run')} compared",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=(0, 1, 0, 0),
    )
    table.add_column("", no_wrap=True)
    for run in c.runs:
        table.add_column(escape(run.label), overflow="fold", min_width=len("underfit"))
    for key in c.differing:
        table.add_row(key, *(escape(_setting(key, run.settings[key])) for run in c.runs))
    table.add_section()
    table.add_row("kept epoch", *(f"{run.best_epoch} of {run.epochs}" for run in c.runs))
    table.add_row("val loss", *(loss_text(run.val_loss) for run in c.runs))
    table.add_row("val accuracy", *(f"{run.val_accuracy:.2%}" for run in c.runs))
    table.add_row(
        "fit", *(f"[{run.fit.colour}]{run.fit.value}[/]" for run in c.runs)
    )  # the word the epochs' fit column uses
    table.add_row("cause", *(SHORT_CAUSES[run.cause] for run in c.runs))
    table.add_row("time", *(f"{run.seconds:.1f}s" for run in c.runs))
    out.print(table)
    if any(run.label != run.name for run in c.runs):
        out.print("\n".join(f"{run.label}: {run.name}" for run in c.runs), markup=False)
    if len(c.runs) > 1 and not c.differing:
        out.print("No setting differs between the runs (train.output and train.device aside).", markup=False)


def _setting(key: str, value: object) -> str:
    """A config value as it is written in a config file: true, [512, 256], 0.05; 0 training images
    as what it means, all of them."""
    if key == "data.train_images" and value == 0:
        return "all"
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, float) else str(value)
