"""What a read costs the page: `POST /api/predict?explain` (the reading, the matrix read, every
layer's activations and the scores), one request at a time as a person draws, against `digits serve`
on this machine, beside the same drawing read without `?explain` in the same go.

The drawing is what the page sends: its 280×280 pad as a PNG, a 7 drawn with the thick pen.
Prints the median and p99 latency of each, and the bytes each answer carries.

    python benchmarks/page.py [--requests 300] [--checkpoint PATH]
"""

from __future__ import annotations

import argparse
import io
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


def drawing() -> bytes:
    pad = Image.new("L", (PAD, PAD), 255)
    ImageDraw.Draw(pad).line([(70, 60), (210, 60), (120, 240)], fill=0, width=PEN, joint="curve")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--checkpoint", type=Path)
    args = parser.parse_args()
    server, port = start_server(args.checkpoint)
    body = drawing()
    try:
        base = f"http://127.0.0.1:{port}/api/predict"
        latencies(base + "?explain", body, 20)  # warm: the first reads fill caches
        rows = [(query, *latencies(base + query, body, args.requests)) for query in ("?explain", "")]
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


if __name__ == "__main__":
    main()
