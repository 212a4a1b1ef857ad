"""What a read costs the page: `POST /api/predict?explain` (the reading, the matrix read, every
layer's activations and the scores), one request at a time as a person draws, against `digits serve`
on this machine, beside the same drawing read without `?explain` in the same go.

The drawing is what the page sends: its 280×280 pad as a PNG, a 7 drawn with the thick pen.
Prints the median and p99 latency of each, and the bytes each answer carries. Then, in Chromium
(where it is installed; `--strokes 0` skips it), the page itself as a person uses it: a 7 drawn
with the mouse, and the time from the pen lifting to the answer on the page, its 150 ms pause
before it reads included; then `POST /api/trace` for one unit, as pointing at it asks.

    python benchmarks/page.py [--requests 300] [--strokes 30] [--checkpoint PATH]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import time
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from serve import start_server  # benchmarks/serve.py: a script's own folder is on sys.path

PAD = 280  # px a side: the page's pad
PEN = PAD // 14  # the thick pen: a fourteenth of the pad's height
GOAL_MS = 50
PAGE_GOAL_MS = 250  # from the pen lifting to the answer on the page
SEVEN = [(70, 60), (210, 60), (120, 240)]


def drawing() -> bytes:
    pad = Image.new("L", (PAD, PAD), 255)
    ImageDraw.Draw(pad).line(SEVEN, fill=0, width=PEN, joint="curve")
    png = io.BytesIO()
    pad.save(png, "PNG")
    return png.getvalue()


def latencies(url: str, body: bytes, count: int) -> tuple[list[float], int]:
    """Seconds per request, one after another, and the answer's size."""
    times, size = [], 0
    for _ in range(count):
        started = time.perf_counter()
        with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=60) as response:
            size = len(response.read())
        times.append(time.perf_counter() - started)
    return times, size


def pen_to_answer(url: str, strokes: int) -> list[float] | None:
    """Seconds from the pen lifting to the answer on the page, for `strokes` 7s drawn one after another
    in Chromium with the mouse (Clear between them); None where there is no Chromium."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None or strokes == 0:
        return None
    from playwright.sync_api import sync_playwright

    args = ["--headless=new", "--disable-gpu", *(["--no-sandbox"] if os.geteuid() == 0 else [])]
    times = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=args)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url)
        page.wait_for_function("document.getElementById('model').textContent.includes('parameters')")
        box = page.locator("#pad").bounding_box()
        scale = box["width"] / PAD
        for _ in range(strokes + 2):  # the first two warm the page and the server
            page.click("#clear")
            page.mouse.move(box["x"] + SEVEN[0][0] * scale, box["y"] + SEVEN[0][1] * scale)
            page.mouse.down()
            for x, y in SEVEN[1:]:
                page.mouse.move(box["x"] + x * scale, box["y"] + y * scale, steps=8)
            page.evaluate("window.lifted = performance.now()")
            page.mouse.up()
            page.wait_for_function("document.getElementById('digit').textContent === '7'")
            times.append(page.evaluate("performance.now() - window.lifted") / 1000)
        browser.close()
    return times[2:]


def trace_times(base: str, count: int) -> list[float]:
    """Seconds per `POST /api/trace` of one unit of layer 2 for the drawing, one after another."""
    answer = json.loads(urllib.request.urlopen(urllib.request.Request(base + "/api/predict?explain", drawing())).read())
    body = json.dumps({"pixels": answer["pixels"], "layer": 2, "unit": 0}).encode()
    times = []
    for _ in range(count):
        started = time.perf_counter()
        urllib.request.urlopen(urllib.request.Request(base + "/api/trace", body)).read()
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--strokes", type=int, default=30, help="7s drawn on the page in Chromium (0: none)")
    parser.add_argument("--checkpoint", type=Path)
    args = parser.parse_args()
    server, port = start_server(args.checkpoint)
    body = drawing()
    try:
        base = f"http://127.0.0.1:{port}/api/predict"
        latencies(base + "?explain", body, 20)  # warm: the first reads fill caches
        rows = [(query, *latencies(base + query, body, args.requests)) for query in ("?explain", "")]
        traced = trace_times(f"http://127.0.0.1:{port}", args.requests)
        on_page = pen_to_answer(f"http://127.0.0.1:{port}", args.strokes)
    finally:
        server.terminate()
        server.wait()
    print(f"{args.requests} reads, one at a time, of a {PAD}×{PAD} pad drawing ({len(body):,} bytes)\n")
    print("| request | median | p99 | answer | goal |")
    print("| --- | --- | --- | --- | --- |")
    for query, times, size in rows:
        goal = f"≤ {GOAL_MS} ms" if query else ""
        median, p99 = statistics.median(times) * 1000, np.percentile(times, 99) * 1000
        print(f"| `/api/predict{query}` | {median:.1f} ms | {p99:.1f} ms | {size:,} bytes | {goal} |")
    median, p99 = statistics.median(traced) * 1000, np.percentile(traced, 99) * 1000
    print(f"| `/api/trace`, one unit | {median:.1f} ms | {p99:.1f} ms | | |")
    if on_page:
        median, p99 = statistics.median(on_page) * 1000, np.percentile(on_page, 99) * 1000
        print(
            f"| the page: pen lifted to answer shown ({len(on_page)} strokes) | {median:.0f} ms | {p99:.0f} ms | "
            f"| ≤ {PAGE_GOAL_MS} ms |"
        )


if __name__ == "__main__":
    main()
