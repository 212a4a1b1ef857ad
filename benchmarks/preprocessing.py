"""How well does the model read digits as people send them? Plain resize vs the digits pipeline.

The first 1,000 of MNIST's official test digits (bundled; no model trained on them) are each drawn the way people's images tend to
look (dark ink on a white page of any size, felt-tip strokes, a transparent PNG, white on black,
a JPEG photo of grey paper), written to a real file, and read back two ways:

- plain resize: what a naive user does, `Image.open(p).convert("L").resize((28, 28))`, pixels
  fed as they are (no inversion, no cropping, alpha simply dropped);
- digits pipeline: `digits.images.read_digit_image`, which `digits predict` uses (polarity,
  paper level, crop to the ink, 20×20 box, centre of mass). A file it refuses counts as wrong.

The last row is those test digits themselves, written as 28×28 PNGs, read back the same two ways.
The drawings come from a seeded generator, so every run (and every --limit prefix) is the same.

    python benchmarks/preprocessing.py [--checkpoint PATH] [--limit N] [--save-failures DIR]

It prints a markdown table that can be pasted into the README as it is.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from digits.checkpoint import ModelFile, load_model
from digits.data import TEST_DIR, load_idx_dir, resize
from digits.errors import DigitsError
from digits.images import read_digit_image
from digits.inference import probabilities

SEED = 0
PAGE_SIDE = (60, 300)  # px, width and height drawn independently
DIGIT_HEIGHT = (0.4, 0.8)  # of the page's height
THICK_FROM = 120  # px of digit height from which the felt-tip is MaxFilter(5), not (3)
INK_RGB = np.array([25, 30, 60], dtype=np.float64)  # blue-black ballpoint
PAPER_GREY = (150, 200)
PAPER_NOISE = 6.0
JPEG_QUALITY = 75
SAVED_FAILURES_PER_KIND = 6


# --- drawing one digit on a page -------------------------------------------------------------


def scaled_ink(ink: np.ndarray, height: int, max_width: int) -> np.ndarray:
    """The digit's ink (255 = ink) cropped to its bounding box, scaled up (bicubic) to `height`."""
    rows, cols = np.nonzero(ink)
    crop = ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    scale = min(height / crop.shape[0], max_width / crop.shape[1])  # keep aspect, and fit the page
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    return np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.BICUBIC))


def coverage(rng: np.random.Generator, ink: np.ndarray, thicken: bool = False) -> np.ndarray:
    """A random page (60–300 px a side) as ink coverage in [0, 1]: the digit, 40–80% of the
    page's height, at a random spot fully inside it; `thicken` adds a felt-tip's stroke width."""
    page_h, page_w = rng.integers(PAGE_SIDE[0], PAGE_SIDE[1] + 1, size=2)
    height = round(rng.uniform(*DIGIT_HEIGHT) * page_h)
    glyph = scaled_ink(ink, height, max_width=int(page_w * 0.9))
    if thicken:
        size = 5 if height >= THICK_FROM else 3
        padded = np.pad(glyph, size // 2)  # room for the strokes to grow at the edges
        glyph = np.asarray(Image.fromarray(padded).filter(ImageFilter.MaxFilter(size)))
    top = rng.integers(0, page_h - glyph.shape[0] + 1)
    left = rng.integers(0, page_w - glyph.shape[1] + 1)
    page = np.zeros((page_h, page_w))
    page[top : top + glyph.shape[0], left : left + glyph.shape[1]] = glyph / 255
    return page


# --- the renderings: one function each, (digit, generator, file stem) -> the file written -----


def dark_on_white(ink: np.ndarray, rng: np.random.Generator, stem: Path) -> Path:
    """Dark ink on a white page: a scan or a drawing app's export. PNG, grayscale."""
    page = 255 * (1 - coverage(rng, ink))
    return save(Image.fromarray(np.round(page).astype(np.uint8)), stem.with_suffix(".png"))


def thick_strokes(ink: np.ndarray, rng: np.random.Generator, stem: Path) -> Path:
    """As dark_on_white, written with a felt-tip: strokes dilated by MaxFilter(3) or (5)."""
    page = 255 * (1 - coverage(rng, ink, thicken=True))
    return save(Image.fromarray(np.round(page).astype(np.uint8)), stem.with_suffix(".png"))


def transparent(ink: np.ndarray, rng: np.random.Generator, stem: Path) -> Path:
    """Black ink whose alpha is the ink, on a fully transparent page. PNG, RGBA."""
    alpha = np.round(255 * coverage(rng, ink)).astype(np.uint8)
    rgba = np.zeros((*alpha.shape, 4), dtype=np.uint8)
    rgba[..., 3] = alpha
    return save(Image.fromarray(rgba, mode="RGBA"), stem.with_suffix(".png"))


def white_on_black(ink: np.ndarray, rng: np.random.Generator, stem: Path) -> Path:
    """Light ink on a black page, like MNIST itself but any size and off-centre. PNG, grayscale."""
    page = 255 * coverage(rng, ink)
    return save(Image.fromarray(np.round(page).astype(np.uint8)), stem.with_suffix(".png"))


def jpeg_on_grey_paper(ink: np.ndarray, rng: np.random.Generator, stem: Path) -> Path:
    """A phone photo: blue-black ink on grey, noisy paper (level 150–200), JPEG quality 75."""
    alpha = coverage(rng, ink)[..., None]
    paper = rng.integers(PAPER_GREY[0], PAPER_GREY[1] + 1) + rng.normal(0, PAPER_NOISE, (*alpha.shape[:2], 3))
    page = paper * (1 - alpha) + INK_RGB * alpha
    image = Image.fromarray(np.clip(np.round(page), 0, 255).astype(np.uint8), mode="RGB")
    return save(image, stem.with_suffix(".jpg"), quality=JPEG_QUALITY)


def mnist_png(ink: np.ndarray, rng: np.random.Generator, stem: Path) -> Path:
    """The MNIST digit itself, 28×28, white on black: the format the model was trained on."""
    return save(Image.fromarray(ink), stem.with_suffix(".png"))


def save(image: Image.Image, path: Path, **options: int) -> Path:
    image.save(path, **options)
    return path


Render = Callable[[np.ndarray, np.random.Generator, Path], Path]
KINDS: list[tuple[str, Render]] = [
    ("dark ink on white, 60–300 px", dark_on_white),
    ("thick strokes", thick_strokes),
    ("transparent background", transparent),
    ("white on black", white_on_black),
    ("JPEG on grey paper", jpeg_on_grey_paper),
]
MNIST_KIND = ("MNIST test digits (28×28 PNG)", mnist_png)


# --- reading the files back -----------------------------------------------------------------


def plain_resize(path: Path, size: int) -> np.ndarray:
    """What a naive user does: grayscale, bilinear resize, pixels as they are."""
    with Image.open(path) as image:
        return np.asarray(image.convert("L").resize((size, size), Image.Resampling.BILINEAR))


def pipeline(path: Path, size: int) -> np.ndarray | None:
    """What `digits predict` does; None when it refuses the file (a blank or unreadable image)."""
    try:
        return read_digit_image(path, size)
    except DigitsError:
        return None


def accuracy_of(model: ModelFile, matrices: list[np.ndarray | None], labels: np.ndarray) -> np.ndarray:
    """Per image, whether the model's likeliest digit is the label (a refused image is wrong)."""
    size = model.image_size
    read = np.stack([m if m is not None else np.zeros((size, size), np.uint8) for m in matrices])
    correct = probabilities(model, read).argmax(axis=1) == labels
    return correct & np.array([m is not None for m in matrices])


def run_kind(
    model: ModelFile,
    images: np.ndarray,
    labels: np.ndarray,
    render: Render,
    rng: np.random.Generator,
    workdir: Path,
    failures: Path | None,
    readable: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Render every digit to a file, read each back both ways: (plain correct, pipeline correct, refused)."""
    paths = [render(ink, rng, workdir / f"{render.__name__}-{i:04d}") for i, ink in enumerate(images)]
    plain = accuracy_of(model, [plain_resize(p, model.image_size) for p in paths], labels)
    seen = [pipeline(p, model.image_size) for p in paths]
    ours = accuracy_of(model, seen, labels)
    if failures is not None:
        save_failures(model, paths, seen, labels, ours, readable, failures)
    return plain, ours, sum(m is None for m in seen)


def save_failures(
    model: ModelFile,
    paths: list[Path],
    seen: list[np.ndarray | None],
    labels: np.ndarray,
    correct: np.ndarray,
    readable: np.ndarray,
    folder: Path,
) -> None:
    """Keep the first few images the pipeline got wrong: the file, and what the model saw (×8).
    First those whose MNIST original the model reads right: they tell about the pipeline."""
    folder.mkdir(parents=True, exist_ok=True)
    wrong = np.flatnonzero(~correct)
    for i in np.concatenate([wrong[readable[wrong]], wrong[~readable[wrong]]])[:SAVED_FAILURES_PER_KIND]:
        path, matrix = paths[i], seen[i]
        guess = "refused" if matrix is None else str(probabilities(model, matrix[None])[0].argmax())
        name = f"{path.stem}-label{labels[i]}-read{guess}"
        shutil.copy(path, folder / f"{name}{path.suffix}")
        if matrix is not None:
            big = Image.fromarray(matrix).resize((matrix.shape[1] * 8, matrix.shape[0] * 8), Image.Resampling.NEAREST)
            big.save(folder / f"{name}-seen.png")


# --- the report -----------------------------------------------------------------------------


def table(rows: list[tuple[str, int, float, float]]) -> str:
    """A markdown pipe table, columns padded so it also reads well as plain text."""
    cells = [("kind", "images", "plain resize", "digits pipeline")]
    cells += [(kind, str(n), f"{plain:.1%}", f"{ours:.1%}") for kind, n, plain, ours in rows]
    widths = [max(len(row[c]) for row in cells) for c in range(4)]
    lines = []
    for r, row in enumerate(cells):
        padded = [row[0].ljust(widths[0])] + [
            cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("| " + " | ".join(padded) + " |")
        if r == 0:
            lines.append("|" + "|".join(["-" * (widths[0] + 2)] + ["-" * (w + 1) + ":" for w in widths[1:]]) + "|")
    return "\n".join(lines)


def machine() -> str:
    processor, arch = platform.processor(), platform.machine()
    name = arch if not processor or processor == arch else f"{processor} ({arch})"
    return f"{name}, {os.cpu_count()} CPUs"


def main(argv: list[str] | None = None) -> int:
    start = time.perf_counter()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--checkpoint",
        type=Path,
        help="model file (default: the one predict uses: checkpoints/default.safetensors, else the shipped one)",
    )
    parser.add_argument("--limit", type=positive, default=1000, help="the first N test digits (default: %(default)s)")
    parser.add_argument("--save-failures", type=Path, metavar="DIR", help="keep a few pipeline misreads per kind here")
    args = parser.parse_args(argv)

    try:
        model = load_model(args.checkpoint)
    except DigitsError as e:
        print(e, file=sys.stderr)
        return 1
    held_out = load_idx_dir(TEST_DIR, "t10k")
    images, labels = held_out.images[: args.limit], held_out.labels[: args.limit]
    # what the model reads in the digits as they are: a misread of one it reads right is new
    as_they_are = resize(held_out, model.image_size).images[: args.limit]
    readable = probabilities(model, as_they_are).argmax(axis=1) == labels

    print(f"checkpoint: {model.path} ({model.image_size}×{model.image_size})")
    print(f"machine: {machine()}")
    print()
    generators = [np.random.default_rng(s) for s in np.random.SeedSequence(SEED).spawn(len(KINDS) + 1)]
    results = {}  # kind -> (plain resize correct, pipeline correct, files refused)
    with tempfile.TemporaryDirectory(prefix="digits-bench-") as tmp:
        for (kind, render), rng in zip([*KINDS, MNIST_KIND], generators, strict=True):
            results[kind] = run_kind(model, images, labels, render, rng, Path(tmp), args.save_failures, readable)

    rows = [(kind, len(plain), plain.mean(), ours.mean()) for kind, (plain, ours, _) in results.items()]
    plain_all = np.concatenate([results[kind][0] for kind, _ in KINDS])
    ours_all = np.concatenate([results[kind][1] for kind, _ in KINDS])
    rows.insert(len(KINDS), ("overall", len(plain_all), plain_all.mean(), ours_all.mean()))
    print(table(rows))
    print()
    new = [f"{kind} {(readable & ~ours).sum()}" for kind, (_, ours, _) in results.items() if (readable & ~ours).any()]
    print(f"pipeline misreads of digits the model reads right as they are: {', '.join(new) or 'none'}")
    refused = [f"{kind} {n}" for kind, (_, _, n) in results.items() if n]
    if refused:
        print(f"files the pipeline refused (counted wrong): {', '.join(refused)}")
    if args.save_failures is not None:
        print(f"pipeline misreads saved in {args.save_failures}")
    print(f"elapsed: {time.perf_counter() - start:.1f} s")
    return 0


def positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of digits, 1 or more; got {text!r}")
    return int(text)


if __name__ == "__main__":
    sys.exit(main())
