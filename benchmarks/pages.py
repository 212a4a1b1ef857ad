"""Printed lines turned off level, and phone photos of any size: does the page reader hold?

Digits the model never trained on are written on ruled paper, squared paper, in a form's box and
over an underline, each drawn twice from the same random draw (line spacing, width, shade and
colour, the digit's size and place, the pen): once level, once with the lines turned 2–10° either
way. Each is saved as a real file and read back as `digits predict` reads it. Then a page with a
digit is photographed at 3 to 100 megapixels (JPEG), and the time to read it is measured against a
small photo's, median of three reads each.

    python benchmarks/pages.py [--checkpoint PATH] [--digits test|validation] [--mnist DIR] [--limit N]

Choose on `--digits validation --mnist DIR` (the model's own validation digits); report on the
official test digits (the default), read once.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from preprocessing import mnist_digits  # benchmarks/preprocessing.py: a script's own folder is on sys.path

from digits.read.checkpoint import load_model_file
from digits.read.forward import answers, probabilities
from digits.read.number import read_digit_image
from digits.read.reader import DigitReader

SEED = 0
KINDS = ("ruled", "squared", "box", "underline")
SIDE = 400  # px


def draw(kind: str, digit: np.ndarray, angle: float, rng: np.random.Generator) -> Image.Image:
    """A digit on a page with printed lines of `kind` turned by `angle`; rng gives everything else."""
    big = Image.new("L", (SIDE * 2, SIDE * 2), 0)
    pen = ImageDraw.Draw(big)
    spacing, width = int(rng.uniform(20, 45)), int(rng.integers(1, 4))
    shade = rng.uniform(0.35, 1.0)
    if kind in ("ruled", "squared"):
        for y in range(int(rng.integers(spacing)), SIDE * 2, spacing):
            pen.line([(0, y), (SIDE * 2, y)], fill=255, width=width)
    if kind == "squared":
        for x in range(int(rng.integers(spacing)), SIDE * 2, spacing):
            pen.line([(x, 0), (x, SIDE * 2)], fill=255, width=width)
    margin = int(rng.uniform(20, 60))
    if kind == "box":
        pen.rectangle(
            [SIDE // 2 + margin, SIDE // 2 + margin, SIDE * 3 // 2 - margin, SIDE * 3 // 2 - margin],
            outline=255,
            width=width + 1,
        )
    if kind == "underline":
        y = SIDE * 3 // 2 - margin - 40
        pen.line([(SIDE // 2 + margin, y), (SIDE * 3 // 2 - margin, y)], fill=255, width=width + 1)
    lines = (
        np.asarray(
            big.rotate(angle, Image.Resampling.BICUBIC).crop((SIDE // 2, SIDE // 2, SIDE * 3 // 2, SIDE * 3 // 2)),
            dtype=np.float64,
        )
        / 255
    )
    colour = np.array(
        [(90, 90, 90), (120, 150, 210), (210, 120, 120), (110, 180, 140)][rng.integers(4)], dtype=np.float64
    )
    page = (
        np.full((SIDE, SIDE, 3), rng.uniform(225, 250)) * (1 - shade * lines[..., None])
        + colour * shade * lines[..., None]
    )
    size = int(rng.uniform(0.4, 0.6) * SIDE)
    ink = np.asarray(Image.fromarray(digit).resize((size, size), Image.Resampling.BICUBIC), dtype=np.float64) / 255
    top, left = (int(rng.uniform(0.2, 0.75) * (SIDE - size)) for _ in range(2))
    region = page[top : top + size, left : left + size]
    region[:] = region * (1 - ink[..., None]) + np.array([25, 30, 70]) * ink[..., None]
    return Image.fromarray(page.astype(np.uint8)).filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0)))


def read_right(model, image: Image.Image, label: int, path: Path) -> bool:
    image.save(path, quality=85)
    return DigitReader(model).predict(path).digit == label  # a refusal counts as wrong


def timed_read(path: Path) -> float:
    times = []
    for _ in range(3):
        start = time.perf_counter()
        read_digit_image(path)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path)
    parser.add_argument("--digits", choices=["test", "validation"], default="test")
    parser.add_argument("--mnist", type=Path)
    parser.add_argument("--limit", type=int, default=200)
    args = parser.parse_args(argv)
    model = load_model_file(args.checkpoint)
    digits = mnist_digits(model, args.digits, args.mnist)
    images, labels = digits.images[: args.limit], digits.labels[: args.limit]
    print(f"{len(labels)} MNIST {args.digits} digits, each kind drawn level and turned 2–10° from one random draw")
    print("\n| lines | level | turned 2–10° |\n| --- | ---: | ---: |")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "page.jpg"
        for kind in KINDS:
            level = turned = 0
            for i, (digit, label) in enumerate(zip(images, labels, strict=True)):
                angle = float(
                    np.random.default_rng([SEED, i]).uniform(2, 10)
                    * np.random.default_rng([SEED, i, 1]).choice([-1, 1])
                )
                level += read_right(model, draw(kind, digit, 0.0, np.random.default_rng([SEED, i])), int(label), path)
                turned += read_right(
                    model, draw(kind, digit, angle, np.random.default_rng([SEED, i])), int(label), path
                )
            print(f"| {kind} | {level / len(labels):.1%} | {turned / len(labels):.1%} |")
        print(
            "\n| photo | megapixels | read | median of 3 | against the small photo |\n| --- | ---: | --- | ---: | ---: |"
        )
        page = draw("ruled", images[0], 3.0, np.random.default_rng(SEED))
        small = None
        for width, height in ((640, 480), (2000, 1500), (4000, 3000), (8000, 6000), (12000, 9000)):
            photo = Path(folder) / f"{width}.jpg"
            page.convert("RGB").resize((height, height)).crop(
                (-(width - height) // 2, 0, (width + height) // 2, height)
            ).save(photo, quality=90)
            seconds = timed_read(photo)
            small = small or seconds
            right = int(answers(probabilities(model, read_digit_image(photo)[None]))[0]) == int(labels[0])
            print(
                f"| {width}×{height} | {width * height / 1e6:.1f} | {'right' if right else 'wrong'} | {seconds:.2f} s | {seconds / small:.1f}× |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
