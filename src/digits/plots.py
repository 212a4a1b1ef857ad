"""Pictures of a run: the training curves, and the worst mistakes (PNG, JPEG, SVG or PDF, by the file's suffix).

matplotlib's object API with the Agg canvas: no display needed, and no pyplot (whose import
alone costs a third of a second). Imported only by the commands that draw.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .errors import DigitsError

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
        axes.axvline(best_epoch, color="grey", linestyle="--", linewidth=1, label=f"best epoch ({best_epoch})")
        axes.set_xlabel("epoch")
        axes.set_title(name)
        axes.grid(alpha=0.3)
        axes.legend()
    loss.set_yscale("log")
    figure.suptitle(f"{verdict}: {advice}", fontsize=9, wrap=True)
    return _save(figure, path)


def draw_mistakes(result: Any, count: int, path: Path) -> int:
    """The `count` worst mistakes of an evaluation (inference.Evaluation), each titled true → read as
    (confidence), drawn as ink on paper into `path`; how many were drawn. No mistakes: nothing is written."""
    from .inference import worst_mistakes

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
    from .checkpoint import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        FigureCanvasAgg(figure)
        figure.savefig(tmp, format=picture_format(path))
    return path
