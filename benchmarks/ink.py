"""The ink finder: how well the reader reads generated pages, whether the finder generalizes to a
factor it never saw (leave one out), and how fast it reads.

    python benchmarks/ink.py pages [--finder FILE] [--count N] [--on GROUP]
    python benchmarks/ink.py leave-one-out --mnist DIR [--runs DIR] [--count N] [--epochs N]
    python benchmarks/ink.py speed

- `pages` draws test pages (benchmarks' seed, not training's) each holding one of the digit model's
  *validation* digits, which neither network trained on, or nothing (a fifth of them), saves each
  as a JPEG or PNG file, and reads it as `digits predict` does. With `--on GROUP` every page has
  that factor group.
- `leave-one-out` trains a finder on pages with everything, and one without each factor group
  (`digits train-ink --off GROUP`, the same budget each), then reads pages that all have the group
  with both: a finder that generalizes reads them nearly as well without having seen them.
- `speed` times the reader against decoding the picture (medians of repeated reads): a 300×300
  drawing, a 12-megapixel JPEG photo, and generated 800-px JPEG photos.

Choose on these generated pages; `../shared/pictures` is a test, read at the end.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from digits.learn.ink_finder import page_digits
from digits.learn.ink_pages import FACTOR_GROUPS, draw_page
from digits.read.ink import FINDER_VARIABLE
from digits.read.reader import load_model

SEED = 7  # the benchmark's pages; training draws with seeds 1000 and 2000 on
BLANK = 0.2  # share of test pages with nothing written


def test_pages(digits: np.ndarray, labels: np.ndarray, count: int, on: frozenset[str], folder: Path) -> list:
    """Draw and save `count` pages, 224 to 640 px, a fifth blank: [(path, label or None)]."""
    rng = np.random.default_rng(SEED)
    pages = []
    for i in range(count):
        blank = bool(rng.random() < BLANK)
        index = int(rng.integers(len(digits)))
        size = int(rng.integers(224, 641))
        picture, _ = draw_page(rng, digits[index : index + 1], size, on=on, blank=blank)
        path = folder / f"{i:04d}.{'png' if rng.random() < 0.3 else 'jpg'}"
        Image.fromarray(picture).save(path, quality=90)
        pages.append((path, None if blank else int(labels[index])))
    return pages


def read_pages(pages: list, finder: Path | None) -> tuple[float, int, int]:
    """The share of written pages read right, and how many blank pages were read as a digit, of how many."""
    if finder is not None:
        os.environ[FINDER_VARIABLE] = str(finder)
    reader = load_model()
    right = written = blanks_read = blanks = 0
    for path, label in pages:
        p = reader.predict(path)
        if label is None:
            blanks += 1
            blanks_read += p.digit is not None
        else:
            written += 1
            right += p.digit == label
    return right / max(written, 1), blanks_read, blanks


def validation_digits(mnist: str) -> tuple[np.ndarray, np.ndarray]:
    split = page_digits("mnist" if mnist else "sample", mnist)
    return split.val.images, split.val.labels


def pages(args: argparse.Namespace) -> None:
    digits, labels = validation_digits(args.mnist)
    on = frozenset(args.on or [])
    with tempfile.TemporaryDirectory() as folder:
        drawn = test_pages(digits, labels, args.count, on, Path(folder))
        share, read, blanks = read_pages(drawn, args.finder)
    print(
        f"{args.count} pages{' with ' + ', '.join(on) if on else ''}: {share:.1%} read right, "
        f"{read} of {blanks} blank pages read as a digit"
    )


def leave_one_out(args: argparse.Namespace) -> None:
    runs = Path(args.runs)
    runs.mkdir(parents=True, exist_ok=True)
    finders = {}
    for left_out in (None, *FACTOR_GROUPS):
        name = left_out or "everything"
        output = runs / f"ink-{name}.safetensors"
        if not output.exists():
            command = ["digits", "train-ink", "--output", str(output), "--epochs", str(args.epochs)]
            command += ["--config", args.config, "--data-path", args.mnist] + (["--off", left_out] if left_out else [])
            print("$", " ".join(command), flush=True)
            subprocess.run(command, check=True)
        finders[name] = output
    digits, labels = validation_digits(args.mnist)
    print(
        "\n| factor group left out | pages with it: read by the finder without it | by the finder with everything | blanks read (without / with) |"
    )
    print("| --- | --- | --- | --- |")
    for group in FACTOR_GROUPS:
        with tempfile.TemporaryDirectory() as folder:
            drawn = test_pages(digits, labels, args.count, frozenset([group]), Path(folder))
            without, without_blanks, blanks = read_pages(drawn, finders[group])
            with_it, with_blanks, _ = read_pages(drawn, finders["everything"])
        print(
            f"| {group} | {without:.1%} | {with_it:.1%} | {without_blanks}/{blanks} / {with_blanks}/{blanks} |",
            flush=True,
        )


def _median_seconds(action, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def speed(args: argparse.Namespace) -> None:
    reader = load_model()
    digits, _ = validation_digits(args.mnist)
    drawing = Image.new("L", (300, 300), 255)
    ink = Image.fromarray(255 - digits[0]).resize((200, 200), Image.Resampling.BICUBIC)
    drawing.paste(ink, (50, 50))
    rng = np.random.default_rng(SEED)
    photo_page, _ = draw_page(rng, digits[1:2], 640, blank=False)
    photo = Image.fromarray(photo_page).resize((4000, 3000), Image.Resampling.BICUBIC)
    files = {
        "a 300×300 drawing (PNG)": _encoded(drawing, "PNG"),
        "a 12-megapixel photo (JPEG)": _encoded(photo, "JPEG"),
    }
    for i in range(args.photos):
        page, _ = draw_page(rng, digits[i : i + 1], 800, blank=False)
        files[f"photo {i}"] = _encoded(Image.fromarray(page), "JPEG")
    print("| picture | decode (Pillow) | read (digits) | read over decode |")
    print("| --- | --- | --- | --- |")
    ratios = []
    for name, data in files.items():
        decode = _median_seconds(lambda d=data: Image.open(io.BytesIO(d)).convert("RGB"), args.repeats)
        read = _median_seconds(lambda d=data: reader.predict(d), args.repeats)
        if name.startswith("photo"):
            ratios.append(read / decode)
            continue
        print(f"| {name} | {decode * 1000:.2f} ms | {read * 1000:.1f} ms | {read / decode:.1f}× |")
    if ratios:
        print(f"| {len(ratios)} generated 800-px photos (JPEG), median | | | {statistics.median(ratios):.1f}× |")


def _encoded(image: Image.Image, kind: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, kind, quality=90)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--mnist", default="", help="MNIST's folder: its validation digits are written (default: the sample's)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("pages")
    one.add_argument("--finder", type=Path)
    one.add_argument("--count", type=int, default=300)
    one.add_argument("--on", action="append", choices=FACTOR_GROUPS)
    out = commands.add_parser("leave-one-out")
    out.add_argument("--runs", default="runs/ink")
    out.add_argument("--config", default="configs/ink-leave-one-out.toml")
    out.add_argument("--count", type=int, default=300)
    out.add_argument("--epochs", type=int, default=3)
    fast = commands.add_parser("speed")
    fast.add_argument("--repeats", type=int, default=15)
    fast.add_argument("--photos", type=int, default=10)
    args = parser.parse_args()
    {"pages": pages, "leave-one-out": leave_one_out, "speed": speed}[args.command](args)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
