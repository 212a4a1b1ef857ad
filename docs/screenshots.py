"""Take the page's pictures in the docs anew: `digits serve` on this version, driven in Chromium.

docs/serve.png is the page at work on a drawn 7 (the README shows it); docs/page-*.png are its
states: reading on a slow network, the server stopped, a file that is not an image, a number on
the wide pad, and a phone.

    python docs/screenshots.py   (needs Chromium: apt-get install -y chromium)
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SEVEN = [(70, 60), (210, 60), (120, 240)]
TWO = [(90, 90), (140, 60), (190, 90), (180, 140), (90, 230), (200, 230)]


def start_serve(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "digits", "serve", "--port", str(port)], stdout=subprocess.DEVNULL
    )
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1)
            return process
        except OSError:
            time.sleep(0.1)
    raise SystemExit("digits serve did not start")


def stroke(page: Page, points: list[tuple[int, int]]) -> None:
    box = page.locator("#pad").bounding_box()
    scale = box["width"] / page.eval_on_selector("#pad", "pad => pad.width")
    page.mouse.move(box["x"] + points[0][0] * scale, box["y"] + points[0][1] * scale)
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(box["x"] + x * scale, box["y"] + y * scale, steps=12)
    page.mouse.up()


def until(page: Page, script: str) -> None:
    page.wait_for_function(script, timeout=15_000)


def pad_and_answer(page: Page, path: Path) -> None:
    """The pad and the answer card, side by side, as one picture."""
    top = page.locator(".input").bounding_box()
    answer = page.locator(".answer").bounding_box()
    right = max(top["x"] + top["width"], answer["x"] + answer["width"])
    bottom = max(top["y"] + top["height"], answer["y"] + answer["height"])
    clip = {"x": top["x"] - 8, "y": top["y"] - 8, "width": right - top["x"] + 16, "height": bottom - top["y"] + 16}
    page.screenshot(path=path, clip=clip)


def main() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    server = start_serve(port)
    args = ["--headless=new", "--disable-gpu", *(["--no-sandbox"] if os.geteuid() == 0 else [])]
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=args)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url)
        until(page, "document.getElementById('model').textContent.includes('parameters')")
        stroke(page, SEVEN)
        until(page, "document.getElementById('units').children.length > 0")
        page.hover("#units button >> nth=1")
        page.screenshot(path=DOCS / "serve.png", full_page=True)
        page.focus(".layers canvas >> nth=1")  # layer 2's unit that fired most, traced
        until(page, "document.querySelectorAll('#feeds li').length > 0")
        page.locator("#network").screenshot(path=DOCS / "page-trace.png")

        page.click("#clear")
        slow = page.context.new_cdp_session(page)
        slow.send(
            "Network.emulateNetworkConditions",
            {"offline": False, "latency": 3000, "downloadThroughput": -1, "uploadThroughput": -1},
        )
        stroke(page, TWO)
        until(page, "document.getElementById('confidence').textContent === 'reading…'")
        pad_and_answer(page, DOCS / "page-reading.png")
        slow.send(
            "Network.emulateNetworkConditions",
            {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        )
        until(page, "document.getElementById('digit').textContent === '2'")

        page.set_input_files("#file", files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"a list"}])
        pad_and_answer(page, DOCS / "page-not-an-image.png")

        server.send_signal(signal.SIGINT)
        server.wait()
        page.click("#clear")
        stroke(page, SEVEN)
        until(page, "document.getElementById('confidence').textContent.includes('not reachable')")
        pad_and_answer(page, DOCS / "page-unreachable.png")
        server = start_serve(port)
        until(page, "document.getElementById('digit').textContent === '7'")

        page.click("#clear")
        page.click("#mode-number")
        page.set_input_files("#file", str(ROOT / "examples" / "price.png"))
        until(page, "document.getElementById('digit').textContent === '12.50'")
        pad_and_answer(page, DOCS / "page-number.png")
        page.click("#marks button >> nth=1")  # the 2 of 12.50, inside the network
        until(page, "document.querySelectorAll('#fed-by li').length > 0")
        page.screenshot(path=DOCS / "page-number-digit.png", full_page=True)

        phone = browser.new_page(viewport={"width": 375, "height": 740}, has_touch=True)
        phone.goto(url)
        until(phone, "document.getElementById('model').textContent.includes('parameters')")
        stroke(phone, SEVEN)
        until(phone, "document.getElementById('digit').textContent === '7'")
        phone.screenshot(path=DOCS / "page-phone.png")
        browser.close()
    server.send_signal(signal.SIGINT)
    server.wait()
    for path in [*sorted(DOCS.glob("page-*.png")), DOCS / "serve.png"]:
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
