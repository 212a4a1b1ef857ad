"""`digits serve`: the API through Starlette's test client, a real server under concurrent load,
and the page in a real browser (Debian's Chromium, driven by Playwright)."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image
from starlette.testclient import TestClient

from conftest import huge_png_header, run_digits
from digits.checkpoint import SHIPPED_MODEL
from digits.reader import load_model
from digits.server import MAX_BODY, create_app

ROOT = Path(__file__).resolve().parent.parent
SEVEN = ROOT / "examples" / "seven.png"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(load_model(SHIPPED_MODEL))) as test_client:
        yield test_client


def test_predict_gives_what_the_cli_prints(client):
    cli = json.loads(run_digits("predict", str(SEVEN), "--checkpoint", str(SHIPPED_MODEL), "--json").stdout)
    body = client.post("/api/predict", content=SEVEN.read_bytes())
    upload = client.post("/api/predict", files={"file": ("seven.png", SEVEN.read_bytes(), "image/png")})
    for response in (body, upload):
        assert response.status_code == 200
        answer = response.json()
        assert answer["digit"] == cli["digit"] == 7 and answer["confidence"] == pytest.approx(cli["confidence"])
        assert set(answer) == set(cli) and "pixels" not in answer
    assert upload.json()["path"] == "seven.png"
    pixels = client.post("/api/predict?pixels", content=SEVEN.read_bytes()).json()["pixels"]
    assert len(pixels) == 28 and all(len(row) == 28 for row in pixels)


def test_a_blank_page_is_no_digit(client):
    page = io.BytesIO()
    Image.new("L", (200, 200), 255).save(page, "PNG")
    answer = client.post("/api/predict", content=page.getvalue()).json()
    assert answer["digit"] is None and "no digit found" in answer["error"]


@pytest.mark.parametrize(
    "method, path, body, status, message",
    [
        ("POST", "/api/predict", b"not an image", 400, "request body: not an image Pillow can read"),
        ("POST", "/api/predict", b"", 400, "no image in the request body"),
        ("POST", "/api/predict", b"x" * (MAX_BODY + 1), 413, "over the limit of 10,485,760 bytes"),
        (
            "POST",
            "/api/predict",
            huge_png_header(50_000, 50_000),
            413,
            "over the 250,000,000 pixels that fit in memory",
        ),
        ("GET", "/api/predict", None, 405, "Method Not Allowed"),
        ("GET", "/api/nothing", None, 404, "Not Found"),
        ("GET", "/assets/secrets.txt", None, 404, "no asset secrets.txt"),
    ],
)
def test_errors_are_json_with_a_message(client, method, path, body, status, message):
    response = client.request(method, path, content=body)
    assert response.status_code == status
    assert message in response.json()["error"]


def test_health_model_page_and_assets(client):
    assert client.get("/api/health").json() == {"status": "ok"}
    model = client.get("/api/model").json()
    assert model["layer_sizes"][0] == 784 and model["parameters"] > 0
    page = client.get("/").text
    for element in ('id="pad"', 'id="digit"', 'id="clear"', 'id="file"', "/assets/pad.js", "/assets/pad.css"):
        assert element in page
    assert "http" not in page.replace("http-equiv", "")  # every asset from digits itself, nothing from a CDN
    assert client.get("/assets/pad.js").headers["content-type"].startswith("text/javascript")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    """`digits serve` as a person starts it, on a free port; stopped with Ctrl-C."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "digits", "serve", "--port", str(port), "--checkpoint", str(SHIPPED_MODEL)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/health", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    yield url
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    assert f"digits serve: {url}/, reading with " in stdout and "(Ctrl-C stops it)" in stdout
    assert "Traceback" not in stderr


def test_hundreds_of_concurrent_requests_all_answered(server):
    body = SEVEN.read_bytes()

    def ask(_: int) -> int:
        request = urllib.request.Request(f"{server}/api/predict", data=body, method="POST")
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())["digit"]

    with ThreadPoolExecutor(max_workers=16) as pool:
        digits = list(pool.map(ask, range(300)))
    assert digits == [7] * 300


def test_listening_on_every_interface_warns():
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "digits", "serve", "--host", "0.0.0.0", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    warning = process.stderr.readline()  # printed before the server starts
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=30)
    assert warning.startswith("warning: listening on every interface (0.0.0.0)")


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("no Chromium installed (apt-get install -y chromium); .ci/run installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        args = ["--headless=new", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
        if os.geteuid() == 0:
            args.append("--no-sandbox")  # Chromium's sandbox refuses to start as root
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        yield launched
        launched.close()


def _stroke(page, points: list[tuple[int, int]]) -> None:
    box = page.locator("#pad").bounding_box()
    scale = box["width"] / 280
    page.mouse.move(box["x"] + points[0][0] * scale, box["y"] + points[0][1] * scale)
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(box["x"] + x * scale, box["y"] + y * scale, steps=12)
    page.mouse.up()


def test_drawing_a_1_and_a_7_and_dropping_a_photo(server, browser):
    page = browser.new_page(viewport={"width": 1000, "height": 800})
    page.goto(server)
    _stroke(page, [(140, 40), (138, 240)])
    page.wait_for_function("document.getElementById('digit').textContent === '1'", timeout=10_000)
    page.click("#clear")
    assert page.text_content("#digit") == "?"
    _stroke(page, [(70, 60), (210, 60), (120, 240)])
    page.wait_for_function("document.getElementById('digit').textContent === '7'", timeout=10_000)
    page.set_input_files("#file", str(ROOT / "examples" / "two.jpg"))
    page.wait_for_function("document.getElementById('digit').textContent === '2'", timeout=10_000)
    assert page.locator("#bars li").count() == 11  # 0–9, then ✗ for not a digit
    assert "network of Linear+ReLU layers" in page.text_content("#model")
    page.close()


def test_the_page_fits_a_phone(server, browser):
    page = browser.new_page(viewport={"width": 375, "height": 740})
    page.goto(server)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.close()
