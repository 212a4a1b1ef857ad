"""Pictures of a run, as PNG files: the training curves, and the worst mistakes.

matplotlib's object API with the Agg canvas: no display needed, and no pyplot (whose import
alone costs a third of a second). Imported only by the commands that draw.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

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


def mistakes_grid(
    images: np.ndarray, true: Sequence[str], predicted: Sequence[str], confidence: Sequence[float], path: Path
) -> Path:
    """The given images (0 paper, 255 ink), drawn as ink on paper, each titled true → predicted (confidence)."""
    columns = min(len(images), 8)
    rows = max(1, -(-len(images) // columns))
    figure = Figure(figsize=(columns * 1.25, rows * 1.45), dpi=DPI, layout="constrained")
    grid = np.atleast_2d(figure.subplots(rows, columns, squeeze=False))
    for axes in grid.flat:
        axes.set_axis_off()
    for axes, image, t, p, c in zip(grid.flat, images, true, predicted, confidence, strict=False):
        axes.imshow(image, cmap="gray_r", vmin=0, vmax=255)
        axes.set_title(f"{t} → {p} ({c:.0%})", fontsize=8)
    figure.suptitle("Worst mistakes: true → read as (confidence)", fontsize=9)
    return _save(figure, path)


def _save(figure: Figure, path: Path) -> Path:
    from .checkpoint import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        FigureCanvasAgg(figure).print_png(str(tmp))
    return path
