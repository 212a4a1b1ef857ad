"""Pictures: training curves, runs compared, first-layer weights, worst mistakes (PNG, JPEG, SVG or PDF).

matplotlib's object API with the Agg canvas: no display needed, and no pyplot (whose import
alone costs a third of a second). Imported only by the commands that draw.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..errors import DigitsError

FORMATS = ("png", "jpg", "jpeg", "svg", "pdf")
CURVES_SIZE = (10, 4)  # inches, at 100 dpi: 1000 × 400 pixels
DPI = 100


def training_curves(history: Sequence, best_epoch: int, verdict: str, advice: str, path: Path) -> Path:
    """Train and validation loss and accuracy per epoch, the best epoch marked, the verdict written on."""
    epochs = [r.epoch for r in history]
    figure = Figure(figsize=CURVES_SIZE, dpi=DPI, layout="constrained")
    loss, accuracy = figure.subplots(1, 2)
    for axes, (train, val), name in (
        (loss, ([r.train_loss for r in history], [r.val_loss for r in history]), "loss (cross-entropy)"),
        (accuracy, ([r.train_accuracy for r in history], [r.val_accuracy for r in history]), "accuracy"),
    ):
        axes.plot(epochs, train, marker=".", label="training")
        axes.plot(epochs, val, marker=".", label="validation")
        if best_epoch:  # 0 when no epoch ended with finite losses
            axes.axvline(best_epoch, color="grey", linestyle="--", linewidth=1, label=f"kept epoch ({best_epoch})")
        axes.set_xlabel("epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))  # epochs are whole: no 0.96, 1.04
        axes.set_xlim(0.5, epochs[-1] + 0.5)
        axes.set_title(name)
        axes.grid(alpha=0.3)
        axes.legend()
    loss.set_yscale("log")
    # a margin of their own scale round the curves: one epoch's two points must not fill the axes
    # (a diverged epoch's infinite or NaN loss is left out: it has no place on the axes)
    losses = [value for r in history for value in (r.train_loss, r.val_loss) if math.isfinite(value)] or [1.0]
    loss.set_ylim(min(losses) / 1.5, max(losses) * 1.5)
    accuracy.set_ylim(min(min(r.train_accuracy, r.val_accuracy) for r in history) - 0.02, 1.0)
    figure.suptitle(f"{verdict}: {advice}", fontsize=9, wrap=True)
    return _save(figure, path)


def compared_curves(runs: Sequence, path: Path) -> Path:
    """Several runs (a Comparison's RunSummary) side by side: loss (validation solid, training dashed, log scale) and
    validation accuracy per epoch, one colour per run, each run's best epoch marked with a dot."""
    picture_format(path)  # a name it cannot write is refused before any drawing
    figure = Figure(figsize=CURVES_SIZE, dpi=DPI, layout="constrained")
    loss, accuracy = figure.subplots(1, 2)
    for i, run in enumerate(runs):  # named as the table names them
        colour, epochs = f"C{i % 10}", [r.epoch for r in run.history]
        loss.plot(epochs, [r.val_loss for r in run.history], color=colour, label=run.label)
        loss.plot(epochs, [r.train_loss for r in run.history], color=colour, linestyle="--")
        loss.plot(run.best_epoch, run.val_loss, "o", color=colour)
        accuracy.plot(epochs, [r.val_accuracy for r in run.history], color=colour, label=run.label)
        accuracy.plot(run.best_epoch, run.val_accuracy, "o", color=colour)
    # the line styles, once, in grey: the colours are the runs
    loss.plot([], [], color="grey", label="validation")
    loss.plot([], [], color="grey", linestyle="--", label="training")
    loss.plot([], [], "o", color="grey", label="best epoch")
    loss.set_yscale("log")
    loss.set_title("loss (cross-entropy)")
    accuracy.set_title("validation accuracy")
    for axes in (loss, accuracy):
        axes.set_xlabel("epoch")
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    figure.suptitle(f"{len(runs)} runs compared", fontsize=9)
    return _save(figure, path)


def first_layer_weights(model: Any, path: Path, most: int = 64) -> Path:
    """Each unit's incoming weights from the first layer (checkpoint.ModelFile), as an image_size × image_size
    tile, red negative and blue positive, each tile on its own scale. Hidden units are ordered by the L2
    norm of their outgoing weights (the `most` first are drawn); a linear model's tiles are its classes."""
    picture_format(path)
    first = model.weights[0]  # (n_out, image_size**2)
    if len(model.layer_sizes) == 2:  # a linear classifier: one template per class, in class order
        units = list(range(len(first)))
        titles = ["✗" if name == "not a digit" else name for name in model.classes]
        heading = f"First layer: the {len(units)} class templates"
    else:
        importance = np.linalg.norm(model.weights[1], axis=0)  # each hidden unit's outgoing weights
        units = [int(u) for u in np.argsort(-importance, kind="stable")[:most]]
        titles = [f"unit {u}" for u in units]
        heading = (
            f"First layer: {len(units)} of {len(first)} hidden units, "
            "ordered by the L2 norm of their outgoing weights, largest first"
        )
    rows = -(-len(units) // 8)
    columns = -(-len(units) // rows)  # rows evenly filled, at most 8 tiles each
    figure = Figure(figsize=(columns * 1.25, rows * 1.4 + 0.4), dpi=DPI, layout="constrained")
    for axes in figure.subplots(rows, columns, squeeze=False).flat:
        axes.set_axis_off()
    size = model.image_size
    for axes, unit, title in zip(figure.axes, units, titles, strict=False):
        tile = first[unit].reshape(size, size)
        scale = float(np.abs(tile).max()) or 1.0  # its own symmetric scale, so that its pattern shows
        axes.imshow(tile, cmap="RdBu", vmin=-scale, vmax=scale)
        axes.set_title(title, fontsize=8)
    figure.suptitle(f"{heading}\n(red negative, blue positive, each tile on its own scale)", fontsize=9)
    return _save(figure, path)


def draw_mistakes(result: Any, count: int, path: Path) -> int:
    """The `count` worst mistakes of an evaluation (metrics.Evaluation), each titled true → read as
    (confidence), drawn as ink on paper into `path`; how many were drawn. No mistakes: nothing is written."""
    from ..read.metrics import worst_mistakes

    picture_format(path)  # a name it cannot write is refused before any drawing
    worst = worst_mistakes(result, count)
    if len(worst) == 0:
        return 0
    columns = min(len(worst), 8)
    rows = -(-len(worst) // columns)
    figure = Figure(figsize=(columns * 1.25, rows * 1.45), dpi=DPI, layout="constrained")
    for axes in figure.subplots(rows, columns, squeeze=False).flat:
        axes.set_axis_off()
    for axes, i in zip(figure.axes[: len(worst)], worst, strict=True):  # the grid's last row may have spare cells
        axes.imshow(result.digits.images[i], cmap="gray_r", vmin=0, vmax=255)
        true, read_as = result.answers[result.digits.labels[i]], result.answers[result.predicted[i]]
        axes.set_title(f"{true} → {read_as} ({result.confidence[i]:.0%})", fontsize=8)
    figure.suptitle("Worst mistakes: true → read as (confidence)", fontsize=9)
    _save(figure, path)
    return len(worst)


def picture_format(path: Path) -> str:
    """The picture format a file name asks for (its suffix), if matplotlib can write it."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise DigitsError(
            f"{path}: cannot draw a picture as {suffix or 'a file with no suffix'}; name it .png, .jpg, .svg or .pdf"
        )
    return suffix


def _save(figure: Figure, path: Path) -> Path:
    from ..atomic import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        FigureCanvasAgg(figure)
        figure.savefig(tmp, format=picture_format(path))
    return path
