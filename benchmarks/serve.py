"""`digits serve` under load: 8 concurrent clients × 500 requests of a 300×300 PNG.

Prints requests per second, p50 and p99 latency and errors, beside the same image read by
`predict` in this process one at a time (the ratio: the server's throughput over in-process
throughput), the CPU time each request cost the server and the clients, and the server's memory
(RSS) idle and at its peak under that load.

The clients are threads of this process with urllib, a new connection per request, on the same
cores as the server: their CPU time is printed so that it can be seen not to be what limits the
server (under a millisecond a request, against the tens of milliseconds of a read). The in-process
reads are taken half before the load and half after it, so that a machine that slows down or
speeds up during the run weighs on both sides of the ratio alike.

    python benchmarks/serve.py [--clients 8] [--requests 500] [--checkpoint PATH]
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from digits.read.datasets import TEST_DIR, load_idx_dir
from digits.read.reader import load_model


def page_png() -> bytes:
    """A held-out digit drawn as dark ink on a 300×300 page."""
    digit = load_idx_dir(TEST_DIR, "t10k").images[0]
    page = Image.new("L", (300, 300), 250)
    page.paste(Image.fromarray(255 - digit).resize((180, 180)), (60, 60))
    out = io.BytesIO()
    page.save(out, "PNG")
    return out.getvalue()


def cpu_seconds(pid: int) -> float:
    """The user and system CPU time a process has used so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    user, system = int(fields[11]), int(fields[12])  # utime and stime, the 14th and 15th fields
    return (user + system) / os.sysconf("SC_CLK_TCK")


def in_process_seconds(reader, body: bytes, count: int) -> float:
    """How long `predict` takes to read the image `count` times, one after another."""
    started = time.perf_counter()
    for _ in range(count):
        reader.predict(body)
    return time.perf_counter() - started


def rss_mb(pid: int, field: str) -> float:
    with open(f"/proc/{pid}/status") as status:
        return int(next(line for line in status if line.startswith(field)).split()[1]) / 1024


def start_server(checkpoint: Path | None) -> tuple[subprocess.Popen, int]:
    """`digits serve` on a free port, returned once it answers, with its port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "digits", "serve", "--port", str(port)]
    server = subprocess.Popen(
        command + (["--checkpoint", str(checkpoint)] if checkpoint else []), stdout=subprocess.DEVNULL
    )
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    return server, port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=500, help="per client")
    parser.add_argument("--checkpoint", type=Path)
    args = parser.parse_args()
    body = page_png()
    reader = load_model(args.checkpoint)
    reads = 500  # in process, half before the load and half after: about 12 s at 40 a second
    reading = in_process_seconds(reader, body, reads // 2)
    server, port = start_server(args.checkpoint)
    url = f"http://127.0.0.1:{port}/api/predict"
    try:
        idle = rss_mb(server.pid, "VmRSS:")

        def client(_: int) -> tuple[list[float], int]:
            latencies, errors = [], 0
            for _ in range(args.requests):
                started = time.perf_counter()
                try:
                    with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=60) as response:
                        errors += response.status != 200
                        response.read()
                except OSError:
                    errors += 1
                latencies.append(time.perf_counter() - started)
            return latencies, errors

        started = time.perf_counter()
        server_cpu, clients_cpu = cpu_seconds(server.pid), time.process_time()
        with ThreadPoolExecutor(args.clients) as pool:
            results = list(pool.map(client, range(args.clients)))
        wall = time.perf_counter() - started
        peak = rss_mb(server.pid, "VmHWM:")
        server_cpu = cpu_seconds(server.pid) - server_cpu
        clients_cpu = time.process_time() - clients_cpu
    finally:
        server.terminate()
        server.wait()
    latencies = sorted(t for result in results for t in result[0])
    errors = sum(result[1] for result in results)
    served = len(latencies) / wall

    reading += in_process_seconds(reader, body, reads - reads // 2)
    in_process = reads / reading

    print(f"{args.clients} clients × {args.requests} requests of a 300×300 PNG ({len(body):,} bytes)\n")
    print("| measure | value | goal |")
    print("| --- | --- | --- |")
    print(f"| requests per second | {served:,.0f} | |")
    print(
        f"| latency p50 / p99 | {statistics.median(latencies) * 1000:.0f} ms / {np.percentile(latencies, 99) * 1000:.0f} ms | |"
    )
    print(f"| errors | {errors} | 0 |")
    print(f"| in-process `predict`, one at a time | {in_process:,.0f} per second | |")
    print(f"| server over in-process throughput | {served / in_process:.2f}x | ≥ 0.7x |")
    per_request = 1000 / len(latencies)  # ms
    print(
        f"| CPU per request, server / clients | {server_cpu * per_request:.1f} ms / {clients_cpu * per_request:.1f} ms | |"
    )
    print(f"| server memory, idle / peak under load | {idle:.0f} MB / {peak:.0f} MB | ≤ 150 MB |")


if __name__ == "__main__":
    main()
