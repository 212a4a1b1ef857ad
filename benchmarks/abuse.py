"""`digits serve` under abuse, while 8 ordinary clients read pad drawings: does its memory stay bounded,
and do the ordinary clients still get their answers?

The battery, all at once against a real `digits serve` on loopback, each part bounded in requests:
- compressed bombs: PNGs of 1 bit (grey, and palette) and a GIF of 15,500 × 15,500 pixels (240
  megapixels, a gigabyte decoded, tens of KB sent) and a TIFF of 12,000 × 12,000 (Group 4), each
  sent 10 times to /api/predict and 10 times as an upload to /api/read;
- large bodies at once: 2 rounds of 60 concurrent 9 MB bodies of random bytes;
- slow senders: 30 connections that declare 1 MB and send 1 KB every half second, and 10 that send
  half of their body and then nothing;
- malformed multipart: a wrong field name, a boundary that never comes, no boundary, a cut-off part
  (40 requests each).

It prints the server's peak resident memory (VmHWM, start to end, and the highest VmRSS sampled
during the battery), the ordinary clients' p50 and p99 and how their requests ended, the status
codes each part got, and whether the server still answers at the end.

    python benchmarks/abuse.py [--checkpoint PATH]
"""

from __future__ import annotations

import argparse
import collections
import io
import os
import select
import socket
import statistics
import threading
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
from page import drawing  # benchmarks/page.py: a pad drawing as the page sends it
from PIL import Image
from serve import rss_mb, start_server  # benchmarks/serve.py

SIDE = 15_500  # 240 megapixels: a gigabyte as grey levels
GOAL_MB, GOAL_P99, GOAL_ANSWERED = 400, 1.0, 0.95


def png_bomb(palette: bool) -> bytes:
    """A whole, valid 1-bit PNG of SIDE × SIDE white pixels (grey levels, or a two-colour palette)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    row, rows = b"\0" + b"\xff" * ((SIDE + 7) // 8), zlib.compressobj(9)
    data = b"".join(rows.compress(row) for _ in range(SIDE)) + rows.flush()
    header = SIDE.to_bytes(4, "big") * 2 + bytes([1, 3 if palette else 0, 0, 0, 0])
    colours = chunk(b"PLTE", b"\0\0\0\xff\xff\xff") if palette else b""
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + colours + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def gif_bomb() -> bytes:
    """A valid GIF whose canvas is SIDE × SIDE, painted by one 1 × 1 frame: decoders fill the canvas."""
    frame = io.BytesIO()
    Image.new("P", (1, 1)).save(frame, "GIF")
    gif = bytearray(frame.getvalue())
    gif[6:10] = SIDE.to_bytes(2, "little") * 2  # the logical screen's width and height
    return bytes(gif)


def tiff_bomb() -> bytes:
    """A Group 4 TIFF of 12,000 × 12,000 white pixels (144 megapixels), a few KB."""
    out = io.BytesIO()
    Image.new("1", (12_000, 12_000), 1).save(out, "TIFF", compression="group4")
    return out.getvalue()


def multipart(field: str, data: bytes, boundary: str = "b0undary") -> tuple[bytes, str]:
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="x.png"\r\n'
            f"Content-Type: image/png\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


class Tally:
    """Status codes (or how a request failed) per part of the battery, and the ordinary latencies."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.codes: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        self.latencies: list[float] = []

        self.bomb_seconds: list[float] = []

    def add(self, part: str, outcome: str, seconds: float | None = None) -> None:
        with self.lock:
            self.codes[part][outcome] += 1
            if seconds is not None:
                (self.latencies if part == "ordinary" else self.bomb_seconds).append(seconds)


def post(url: str, body: bytes, content_type: str = "image/png", timeout: float = 120) -> str:
    """POST the body; its status code, or how it failed ("reset", "timeout", …)."""
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
            return str(response.status)
    except urllib.error.HTTPError as e:
        e.read()
        return str(e.code) + ("" if e.code != 503 or e.headers.get("Retry-After") else " without Retry-After")
    except (ConnectionResetError, BrokenPipeError, urllib.error.URLError) as e:
        reason = getattr(e, "reason", e)
        return "reset" if isinstance(reason, ConnectionResetError | BrokenPipeError) else f"failed: {reason}"
    except TimeoutError:
        return "timeout"


def ordinary_client(url: str, body: bytes, tally: Tally, stop: threading.Event) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        outcome = post(f"{url}/api/predict", body, timeout=30)
        tally.add("ordinary", outcome, time.perf_counter() - started if outcome == "200" else None)


def slow_sender(port: int, tally: Tally, send_all: bool) -> None:
    """Declare 1 MB; send 1 KB every half second (or half of it, then nothing); record the answer."""
    head = (
        b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\nContent-Length: 1048576\r\n\r\n"
    )
    part = "slow senders" if send_all else "stalled senders"
    with socket.create_connection(("127.0.0.1", port), timeout=90) as connection:
        connection.sendall(head + (b"\0" * 2**19 if not send_all else b""))
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if select.select([connection], [], [], 0.5)[0]:
                break
            if send_all:
                try:
                    connection.sendall(b"\0" * 1024)
                except OSError:
                    break
        try:
            answer = connection.recv(64).decode(errors="replace")
            tally.add(part, answer.split(" ")[1] if answer.startswith("HTTP/") else "closed")
        except OSError:
            tally.add(part, "reset")


def in_threads(count: int, work: Callable[[], None]) -> list[threading.Thread]:
    threads = [threading.Thread(target=work, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    return threads


def battery(url: str, port: int, tally: Tally) -> None:
    """Every part at once; returns when all have ended."""
    bombs = {"PNG 1-bit": png_bomb(False), "PNG palette": png_bomb(True), "GIF": gif_bomb(), "TIFF G4": tiff_bomb()}
    rng = np.random.default_rng(0)
    large = rng.integers(0, 256, 9 * 2**20, dtype=np.uint8).tobytes()

    def bomb(name: str, data: bytes) -> Callable[[], None]:
        def send() -> None:
            for _ in range(10):
                started = time.perf_counter()
                outcome = post(f"{url}/api/predict", data)
                tally.add(f"bomb {name}", outcome, time.perf_counter() - started)
                tally.add(f"bomb {name} (upload)", post(f"{url}/api/read", *multipart("file", data)))

        return send

    def large_body() -> None:
        tally.add("9 MB bodies", post(f"{url}/api/predict", large, "application/octet-stream"))

    seven = drawing()
    malformed = {
        "wrong field": multipart("photo", seven),
        "no closing boundary": (multipart("file", seven)[0][:-12], multipart("file", seven)[1]),
        "no boundary": (multipart("file", seven)[0], "multipart/form-data"),
        "cut-off part": (multipart("file", seven)[0][:60], multipart("file", seven)[1]),
    }

    def malformed_uploads() -> None:
        for _ in range(40):
            for name, (body, content_type) in malformed.items():
                tally.add(f"multipart: {name}", post(f"{url}/api/predict", body, content_type))

    threads = [*(in_threads(1, bomb(name, data))[0] for name, data in bombs.items())]
    threads += in_threads(1, malformed_uploads)
    threads += in_threads(30, lambda: slow_sender(port, tally, send_all=True))
    threads += in_threads(10, lambda: slow_sender(port, tally, send_all=False))
    for _ in range(2):
        for thread in in_threads(60, large_body):
            thread.join()
    for thread in threads:
        thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path)
    args = parser.parse_args()
    server, port = start_server(args.checkpoint)
    url, tally, stop = f"http://127.0.0.1:{port}", Tally(), threading.Event()
    idle = rss_mb(server.pid, "VmRSS")
    highest = [idle]

    def watch() -> None:
        while not stop.is_set():
            highest[0] = max(highest[0], rss_mb(server.pid, "VmRSS"))
            time.sleep(0.02)

    bomb = png_bomb(False)
    alone = []
    for _ in range(5):
        started = time.perf_counter()
        assert post(f"{url}/api/predict", bomb) == "413"
        alone.append(time.perf_counter() - started)
    watcher = in_threads(1, watch)
    clients = in_threads(8, lambda: ordinary_client(url, drawing(), tally, stop))
    started = time.monotonic()
    time.sleep(2)  # the ordinary clients first, on their own
    battery(url, port, tally)
    time.sleep(1)
    stop.set()
    for thread in clients + watcher:
        thread.join()
    seconds = time.monotonic() - started
    alive = post(f"{url}/api/predict", drawing(), timeout=10) == "200"
    peak = rss_mb(server.pid, "VmHWM")
    server.terminate()
    server.wait()

    ordinary = tally.codes["ordinary"]
    answered = ordinary["200"] / sum(ordinary.values())
    p50, p99 = (statistics.quantiles(tally.latencies, n=100)[i] for i in (49, 98))
    print(f"digits serve under abuse for {seconds:.0f} s (pid {os.getpid()} the clients, the server on port {port})")
    print("| measure | figure | goal |\n| --- | --- | --- |")
    print(f"| server's peak resident memory (VmHWM) | {peak:.0f} MB (idle {idle:.0f} MB) | ≤ {GOAL_MB} MB |")
    print(f"| highest VmRSS sampled during the battery | {highest[0]:.0f} MB | |")
    print(
        f"| ordinary clients' p50 / p99 | {p50 * 1000:.0f} ms / {p99 * 1000:.0f} ms | p99 ≤ {GOAL_P99 * 1000:.0f} ms |"
    )
    print(f"| ordinary requests answered | {answered:.1%} of {sum(ordinary.values())} | ≥ {GOAL_ANSWERED:.0%} |")
    print(
        f"| a {len(bomb) // 1000} KB PNG of {SIDE**2 / 1e6:.0f} megapixels refused | "
        f"{statistics.median(alone) * 1000:.0f} ms alone, {statistics.median(tally.bomb_seconds) * 1000:.0f} ms "
        f"(slowest {max(tally.bomb_seconds) * 1000:.0f} ms) during the battery | 413 in ≤ 50 ms |"
    )
    print(f"| server alive and answering afterwards | {'yes' if alive else 'no'} | yes |")
    print("\n| part | requests | how they ended |\n| --- | --- | --- |")
    for part, codes in tally.codes.items():
        ends = ", ".join(f"{code}: {count}" for code, count in codes.most_common())
        print(f"| {part} | {sum(codes.values())} | {ends} |")


if __name__ == "__main__":
    main()
