"""`digits serve`: the API through Starlette's test client, a real server under concurrent load,
its addresses and limits as a client meets them. The page in a browser: test_page.py."""

from __future__ import annotations

import io
import json
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from starlette.testclient import TestClient

from conftest import free_port, huge_png_header, ink_on_paper, png_bomb, run_digits, serving, start_serve, stop_serve
from digits.read.checkpoint import SHIPPED_MODEL
from digits.read.forward import activations
from digits.read.reader import load_model
from digits.serve.limits import Limits
from digits.serve.server import MAX_BODY, SHUTDOWN_GRACE, create_app

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
        (
            "POST",
            "/api/predict",
            b"not an image",
            400,
            "request body: not a picture digits can read (PNG, JPEG, GIF, BMP, TIFF, WebP…)",
        ),
        ("POST", "/api/predict", b"", 400, "no image in the request body"),
        ("POST", "/api/predict", b"x" * (MAX_BODY + 1), 413, "over the limit of 10,485,760 bytes"),
        (
            "POST",
            "/api/predict",
            huge_png_header(50_000, 50_000),
            413,
            "request body: the picture is 50,000×50,000 pixels, over this server's limit of 24,000,000 pixels",
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


def _strings(value) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def test_the_api_names_files_not_this_machines_paths(client):
    model = client.get("/api/model").json()
    assert model["checkpoint"] == SHIPPED_MODEL.name and model["config"]["data"]["path"]
    reading = client.post("/api/predict", content=SEVEN.read_bytes()).json()
    number = client.post("/api/read", content=SEVEN.read_bytes()).json()
    for answer in (model, reading, number):
        paths = [s for s in _strings(answer) if ("/" in s or "\\" in s) and not s.startswith("/api/")]
        assert not paths, paths


def test_explain_lays_the_network_open(client):
    model = load_model(SHIPPED_MODEL)
    answer = client.post("/api/predict?explain", content=SEVEN.read_bytes()).json()
    network = answer["network"]
    assert [layer["units"] for layer in network["layers"]] == model.layer_sizes[1:-1]
    expected = activations(model.model, np.array(answer["pixels"], np.uint8)[None])
    for layer, computed in zip(network["layers"], expected, strict=False):
        assert layer["fired"] == int((computed[0] > 0).sum())
        assert np.allclose(layer["activations"], computed[0], atol=1e-3)
    scores = np.array(network["scores"])
    softmax = np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum()
    assert np.allclose(softmax, answer["probabilities"], atol=1e-3)  # the outputs are the last activations
    first = network["layers"][0]["activations"]
    assert len(network["top_units"]) == 8 and first[network["top_units"][0]] == max(first)


def test_weight_tiles_are_the_first_layers_weights(client):
    described = client.get("/api/model").json()["weight_tiles"]
    tiles = Image.open(io.BytesIO(client.get(described["url"]).content)).convert("RGB")
    weights = load_model(SHIPPED_MODEL).model.weights[0]
    columns, size = described["columns"], described["tile"]
    assert tiles.width == columns * size and tiles.height >= len(weights) // columns * size
    unit = 123
    row, column = divmod(unit, columns)
    for index, blue in ((weights[unit].argmax(), True), (weights[unit].argmin(), False)):
        y, x = divmod(int(index), size)
        r, _, b = tiles.getpixel((column * size + x, row * size + y))
        assert (b > r) == blue  # the strongest positive weight blue, the strongest negative red


def test_api_read_gives_what_digits_read_prints(client):
    price = ROOT / "examples" / "price.png"
    cli = json.loads(run_digits("read", str(price), "--checkpoint", str(SHIPPED_MODEL), "--json").stdout)
    answer = client.post("/api/read", files={"file": ("price.png", price.read_bytes(), "image/png")}).json()
    assert answer["number"] == cli["number"] and answer["path"] == "price.png"
    assert [d["box"] for d in answer["digits"]] == [d["box"] for d in cli["digits"]]


def test_health_model_page_and_assets(client):
    assert client.get("/api/health").json() == {"status": "ok"}
    assert client.get("/favicon.ico").headers["content-type"].startswith("image/svg+xml")
    model = client.get("/api/model").json()
    assert model["layer_sizes"][0] == 784 and model["parameters"] > 0
    page = client.get("/").text
    for element in ('id="pad"', 'id="digit"', 'id="clear"', 'id="file"', "/assets/pad.js", "/assets/pad.css"):
        assert element in page
    assert "http" not in page.replace("http-equiv", "")  # every asset from digits itself, nothing from a CDN
    assert client.get("/assets/pad.js").headers["content-type"].startswith("text/javascript")


@pytest.fixture(scope="module")
def server():
    """`digits serve` as a person starts it, on a free port; stopped with Ctrl-C."""
    port = free_port()
    process = start_serve(port, "--checkpoint", str(SHIPPED_MODEL))
    url = f"http://127.0.0.1:{port}"
    yield url
    stdout, _ = stop_serve(process)
    assert f"digits serve: {url}/, reading with " in stdout and "(Ctrl-C stops it)" in stdout


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
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "digits", "serve", "--host", "0.0.0.0", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    warning = process.stderr.readline()  # printed before the server starts
    ready = process.stdout.readline()
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=30)
    assert warning.startswith("warning: listening on every interface (0.0.0.0)")
    # the addresses to open, this machine's first: never 0.0.0.0, which is no address to open
    assert ready.startswith(f"digits serve: http://127.0.0.1:{port}/") and "0.0.0.0" not in ready


def test_a_python_client_sending_too_much_gets_the_413(server):
    request = urllib.request.Request(f"{server}/api/predict", data=b"x" * (MAX_BODY + 2**20), method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:  # not a connection reset
        urllib.request.urlopen(request, timeout=60)
    assert refused.value.code == 413
    assert "over the limit of 10,485,760 bytes" in json.loads(refused.value.read())["error"]


def test_ctrl_c_stops_the_server_while_a_client_stalls_mid_upload():
    """A phone that loses its signal halfway through sending a photo: Ctrl-C still stops the server,
    once the request has had SHUTDOWN_GRACE seconds, with one line saying so and no traceback."""
    port = free_port()
    process = start_serve(port, "--checkpoint", str(SHIPPED_MODEL))
    with socket.create_connection(("127.0.0.1", port)) as stalled:
        head = b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n"
        stalled.sendall(head + SEVEN.read_bytes()[:100])
        time.sleep(0.5)  # the server is waiting for the rest of the body
        started = time.monotonic()
        _, stderr = stop_serve(process)
    assert time.monotonic() - started < SHUTDOWN_GRACE + 5
    # uvicorn's own line: "Cancel 1 running task(s), timeout graceful shutdown exceeded"
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "graceful shutdown" in lines[0], stderr


def _peak_memory_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0]) / 1024


def test_a_picture_too_large_is_refused_from_its_header_without_decoding():
    """A 48 KB PNG that decodes to 240 megapixels (a gigabyte): 413 at once, naming the limit and the
    picture's size, and the server never grows to decode it."""
    port = free_port()
    process = start_serve(port, "--checkpoint", str(SHIPPED_MODEL))
    try:
        bomb = png_bomb(15_500)
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/predict", data=bomb, method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=60)
        answer = json.loads(refused.value.read())
        peak = _peak_memory_mb(process.pid)
    finally:
        stop_serve(process)
    assert refused.value.code == 413
    assert answer["max_pixels"] == 24_000_000 and (answer["width"], answer["height"]) == (15_500, 15_500)
    assert "15,500×15,500 pixels, over this server's limit of 24,000,000 pixels" in answer["error"]
    assert peak < 300  # it answers reading about 100 MB; decoding the picture would take over 1,000


@pytest.fixture(scope="module")
def small_server():
    """`digits serve`'s serve() with small limits the CLI does not set: one read at a time and one in
    line, and a body cut off after 1 s without a byte or 4 s in all."""
    port = free_port()
    limits = "Limits(reads_at_once=1, reads_waiting=1, body_idle_seconds=1, body_seconds=4)"
    code = (
        "from digits.read.reader import load_model\nfrom digits.serve.limits import Limits\n"
        "from digits.serve.server import serve\ntry:\n"
        f"    serve(load_model(), '127.0.0.1', {port}, limits={limits})\nexcept KeyboardInterrupt:\n    pass\n"
    )
    process = serving([sys.executable, "-c", code], port)
    yield f"http://127.0.0.1:{port}", port
    stop_serve(process)


def test_past_the_line_a_request_gets_503_with_retry_after_at_once(small_server):
    url, _ = small_server
    photo = io.BytesIO()
    ink_on_paper(load_model(SHIPPED_MODEL).pixels(SEVEN)).resize((2000, 2000)).save(photo, "PNG")

    def ask(_: int) -> tuple[int, str | None, float]:
        started = time.monotonic()
        request = urllib.request.Request(f"{url}/api/predict", data=photo.getvalue(), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, None, time.monotonic() - started
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Retry-After"), time.monotonic() - started

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(ask, range(8)))
    statuses = sorted(status for status, _, _ in answers)
    assert statuses.count(200) >= 2 and set(statuses) == {200, 503}, statuses
    assert all(retry_after == "1" for status, retry_after, _ in answers if status == 503)
    slowest_read = max(seconds for status, _, seconds in answers if status == 200)
    assert all(seconds < slowest_read for status, _, seconds in answers if status == 503)


def _whole_answer(connection: socket.socket) -> str:
    """What the server sent until it closed the connection."""
    received = b""
    while chunk := connection.recv(4096):
        received += chunk
    return received.decode()


def test_a_body_that_stops_arriving_is_cut_off_with_408(small_server):
    _, port = small_server
    with socket.create_connection(("127.0.0.1", port)) as stalled:
        head = b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n"
        stalled.sendall(head + SEVEN.read_bytes()[:100])
        stalled.settimeout(10)
        started = time.monotonic()
        answer = _whole_answer(stalled)
    assert answer.startswith("HTTP/1.1 408")
    assert "the body arrived too slowly" in answer and time.monotonic() - started < 3
    with socket.create_connection(("127.0.0.1", port)) as trickle:  # a byte every half second: never whole
        trickle.sendall(head)
        trickle.settimeout(10)
        started = time.monotonic()
        for byte in SEVEN.read_bytes()[:20]:
            if select.select([trickle], [], [], 0.5)[0]:  # the server has answered
                break
            trickle.sendall(bytes([byte]))
        answer = _whole_answer(trickle)
    assert answer.startswith("HTTP/1.1 408") and time.monotonic() - started < 7


def test_a_body_past_the_uploads_budget_gets_503_and_the_budget_comes_back_whole():
    limits = Limits(bodies_in_memory=len(SEVEN.read_bytes()) + 100)
    app = create_app(load_model(SHIPPED_MODEL), limits)
    with TestClient(app) as client:
        big = client.post("/api/predict", content=SEVEN.read_bytes() * 2)
        assert big.status_code == 503 and big.headers["Retry-After"] == "1"
        assert "too many uploads under way" in big.json()["error"]
        assert client.post("/api/predict", content=SEVEN.read_bytes()).json()["digit"] == 7  # within it
    assert app.state.bodies.free == limits.bodies_in_memory  # every byte taken was given back, no more


def _browsers() -> list[str]:
    """The browsers Python's webbrowser would open a page in here."""
    import webbrowser

    webbrowser.register_standard_browsers()
    return webbrowser._tryorder or []


@pytest.mark.skipif(bool(_browsers()), reason="this machine has a browser to open the page in")
def test_open_without_a_browser_says_where_to_go():
    port = free_port()
    process = start_serve(port, "--open", "--checkpoint", str(SHIPPED_MODEL))  # no display here: no browser
    _, stderr = stop_serve(process)
    assert f"digits serve: no web browser found here; open http://127.0.0.1:{port}/ in one" in stderr
