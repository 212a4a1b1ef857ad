"""`digits serve`: a drawing pad in the browser, and a JSON API, over the same reader as the CLI.

A list of routes, each a short function that calls the library and returns JSON; the error
responses in one place, and what it takes on at once in `limits`. Reading an image is numpy and
Pillow work, so it goes to a thread pool, off the event loop, and requests are served
concurrently. No torch.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.resources import files
from pathlib import PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Any

import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from ..errors import DigitsError
from ..read.checkpoint import summarize
from ..read.forward import probabilities
from ..read.images import READ_SIDE, ImageTooLarge, decoded_size
from ..read.reader import DigitReader
from ..read.results import as_json
from .limits import BodyBudget, Limits, Reads, busy
from .network_view import network_activity, tile_columns, unit_trace, weight_tiles

if TYPE_CHECKING:
    import socket

    import uvicorn

MAX_BODY = Limits.max_body
# A body refused (over MAX_BODY, or past the bodies' budget) is still read, and dropped, up to this
# size before the 413 or 503 is sent: a client such as Python's urllib sends its whole body before it
# reads any answer, and a server that closed the connection on unread bytes would reset it, so the
# client saw a reset instead of the answer. Larger declared bodies are refused at once.
DRAIN_UP_TO = 8 * MAX_BODY
EVERY_INTERFACE = ("0.0.0.0", "::", "")
# seconds: on Ctrl-C, requests under way get this long to finish (a read of the largest picture takes
# under 2 s), then the server stops; without a limit, a client stalled mid-upload (a phone losing its
# signal) kept it running for as long as the connection stayed open
SHUTDOWN_GRACE = 5
PAGE = files("digits.serve") / "static"  # the browser page: its HTML, CSS and scripts
ASSETS = {
    "pad.js": "text/javascript",
    "answer.js": "text/javascript",
    "network.js": "text/javascript",
    "server.js": "text/javascript",
    "pad.css": "text/css",
    "icon.svg": "image/svg+xml",
}


def create_app(reader: DigitReader, limits: Limits = Limits()) -> Starlette:  # noqa: B008 (frozen: shared safely)
    """The ASGI app: the page and its assets, and the API under /api, reading with `reader` within `limits`."""
    routes = [
        Route("/", page),
        Route("/assets/{name}", asset),
        Route("/favicon.ico", icon),
        Route("/api/predict", predict, methods=["POST"]),
        Route("/api/read", read, methods=["POST"]),
        Route("/api/trace", trace, methods=["POST"]),
        Route("/api/health", health),
        Route("/api/model", model),
        Route("/api/weights.png", weights),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: error, Exception: error})
    app.state.reader = reader
    app.state.limits = limits
    app.state.bodies = BodyBudget(limits.bodies_in_memory)
    app.state.reads = Reads(limits.reads_at_once, limits.pixels_at_once, limits.reads_waiting)
    app.state.weight_tiles = None  # drawn on the first request for them, then kept
    return app


async def page(request: Request) -> Response:
    return HTMLResponse((PAGE / "index.html").read_text(encoding="utf-8"))


async def asset(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in ASSETS:
        raise HTTPException(404, f"no asset {name}")
    return Response((PAGE / name).read_text(encoding="utf-8"), media_type=ASSETS[name])


async def icon(request: Request) -> Response:
    return Response((PAGE / "icon.svg").read_text(encoding="utf-8"), media_type=ASSETS["icon.svg"])


async def predict(request: Request) -> Response:
    """The image as the request body, or as the "file" field of a multipart upload; `?pixels` adds
    the matrix the model read, `?explain` every layer's activations too (`network`)."""
    reader: DigitReader = request.app.state.reader
    async with _received_image(request) as (name, data):
        prediction = await _reading(request, reader.predict, data, name)
    explain = "explain" in request.query_params
    answer = as_json(prediction, include=("pixels",) if "pixels" in request.query_params or explain else ())
    answer["model"] = reader.path.name
    if explain and prediction.pixels is not None:
        answer["network"] = as_json(network_activity(reader.model, prediction.pixels))
    return JSONResponse(answer)


async def read(request: Request) -> Response:
    """Every digit of a number on the image: the JSON `digits read --json` prints; `?explain` adds, to each
    mark the network read, the matrix it read (`pixels`), its probabilities and every layer's activations."""
    reader: DigitReader = request.app.state.reader
    async with _received_image(request) as (name, data):
        reading = await _reading(request, reader.read, data, name)
    answer = as_json(reading)
    answer["model"] = reader.path.name
    if "explain" in request.query_params:
        for mark, shown in zip(reading.digits, answer["digits"], strict=True):
            if mark.pixels is not None:
                shown["pixels"] = mark.pixels.tolist()
                shown["probabilities"] = probabilities(reader.model, mark.pixels[None])[0].round(4).tolist()
                shown["network"] = as_json(network_activity(reader.model, mark.pixels))
    return JSONResponse(answer)


async def trace(request: Request) -> Response:
    """One unit of the network laid open for a drawing (network_view.unit_trace): the JSON body holds the
    matrix the model read (`pixels`, as `?explain` gave it), the `layer` (1 is the first hidden one) and the
    `unit`."""
    reader: DigitReader = request.app.state.reader
    size = reader.model.image_size
    async with _received_image(request, holds="JSON") as (_, body):  # within the bodies' budget, as an image is
        try:
            asked = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise HTTPException(400, f"trace: the body is not JSON ({e})") from None
    try:
        pixels = np.asarray(asked["pixels"], dtype=np.float64)
        layer, unit = asked["layer"], asked["unit"]
        if pixels.shape != (size, size) or not ((pixels >= 0) & (pixels <= 255)).all():
            raise ValueError(f"pixels must be a {size}×{size} matrix of 0 to 255")
        if not (isinstance(layer, int) and isinstance(unit, int)):
            raise ValueError("layer and unit must be whole numbers")
        traced = await run_in_threadpool(unit_trace, reader.model, pixels.astype(np.uint8), layer, unit)
    except (KeyError, TypeError, ValueError) as e:
        what = f"no {e} in the request" if isinstance(e, KeyError) else str(e)
        raise HTTPException(400, f"trace: {what}") from None
    return JSONResponse(as_json(traced))


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def model(request: Request) -> Response:
    """`digits info --json`, less the paths of this machine, and where the weight tiles are."""
    reader: DigitReader = request.app.state.reader
    summary = as_json(summarize(reader.model))
    summary["checkpoint"] = reader.path.name
    summary["config"] = _file_names(summary["config"])
    columns = tile_columns(len(reader.model.weights[0]))
    summary["weight_tiles"] = {"url": "/api/weights.png", "columns": columns, "tile": reader.model.image_size}
    # what the page shrinks a photo to before sending it: no larger than the server reads
    limits: Limits = request.app.state.limits
    summary["limits"] = {"body_bytes": limits.max_body, "read_side": READ_SIDE, "max_pixels": limits.max_pixels}
    return JSONResponse(summary)


async def weights(request: Request) -> Response:
    """The first layer's weights as tiles (network_view.weight_tiles), one PNG."""
    state = request.app.state
    if state.weight_tiles is None:
        state.weight_tiles = await run_in_threadpool(weight_tiles, state.reader.model)
    return Response(state.weight_tiles, media_type="image/png", headers={"Cache-Control": "max-age=3600"})


async def error(request: Request, exc: Exception) -> Response:
    """Every error as JSON, `{"error": "…"}`, with its status (and its headers: a 503's Retry-After)."""
    if isinstance(exc, HTTPException):
        answer = {"error": exc.detail, **getattr(exc, "fields", {})}
        return JSONResponse(answer, status_code=exc.status_code, headers=exc.headers)
    return JSONResponse({"error": "internal error"}, status_code=500)


async def _reading(request: Request, read: Any, data: bytes, name: str) -> Any:
    """A reader's method run off the event loop once a read slot is free, on a picture whose size its
    header gives within the server's limit; a file it cannot read is a 400 naming it, a picture too
    large a 413 naming the limit and the picture's size."""
    limits: Limits = request.app.state.limits
    try:
        width, height = decoded_size(io.BytesIO(data), name, limits.max_pixels)
        async with request.app.state.reads.held(width * height):
            return await run_in_threadpool(read, data, name=name)
    except ImageTooLarge as e:
        too_large = HTTPException(
            413,
            f"{name}: the picture is {e.width:,}×{e.height:,} pixels, over this server's limit of "
            f"{e.limit:,} pixels (digits serve --max-pixels); shrink it",
        )
        too_large.fields = {"max_pixels": e.limit, "width": e.width, "height": e.height}
        raise too_large from None
    except DigitsError as e:
        raise HTTPException(400, str(e)) from None


def _file_names(config: Any) -> Any:
    """The config with each absolute path cut to its file name: nothing about the serving machine."""
    if isinstance(config, dict):
        return {key: _file_names(value) for key, value in config.items()}
    if isinstance(config, str) and (PurePosixPath(config).is_absolute() or PureWindowsPath(config).is_absolute()):
        return PureWindowsPath(config).name  # which splits at either kind of slash
    return config


@asynccontextmanager
async def _received_image(request: Request, holds: str = "image") -> AsyncIterator[tuple[str, bytes]]:
    """What to call the image, and its bytes (or a body that `holds` something else: JSON), held within the
    bodies' budget until the request is done."""
    limits: Limits = request.app.state.limits
    declared = request.headers.get("content-length", "")
    declared = int(declared) if declared.isdigit() else 0
    too_large = HTTPException(413, f"the body is over the limit of {limits.max_body:,} bytes")
    if declared > DRAIN_UP_TO:
        raise too_large  # not worth reading: the connection is closed on it
    budget: BodyBudget = request.app.state.bodies
    full, refusal = busy("too many uploads under way"), None
    held = min(declared, limits.max_body + 1)  # bytes taken from the budget, given back when the request is done
    if not budget.take(held):
        held, refusal = 0, full
    try:
        chunks, received = [], 0
        async for chunk in _arriving(request, limits):
            received += len(chunk)
            if refusal is None and received > limits.max_body:
                refusal, chunks = too_large, []
            elif refusal is None and received > held:  # a body with no Content-Length, or more than it said
                if not budget.take(received - held):
                    refusal, chunks = full, []
                else:
                    held = received
            if refusal is None:
                chunks.append(chunk)
            if received > DRAIN_UP_TO:
                break
        if refusal is not None:
            raise refusal
        data = b"".join(chunks)
        del chunks
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            yield await _uploaded_file(request, data)
        elif not data:
            raise HTTPException(400, f"no {holds} in the request body")
        else:
            yield "request body", data
    finally:
        budget.give(held)


async def _arriving(request: Request, limits: Limits) -> AsyncIterator[bytes]:
    """The body's chunks as they come, as long as they keep coming (408 otherwise)."""
    chunks, clock = request.stream(), asyncio.get_running_loop().time
    deadline = clock() + limits.body_seconds
    while True:
        try:
            yield await asyncio.wait_for(anext(chunks), min(limits.body_idle_seconds, deadline - clock()))
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise HTTPException(
                408,
                f"the body arrived too slowly: nothing for {limits.body_idle_seconds:g} s, or not all of it "
                f"in {limits.body_seconds:g} s",
                {"Connection": "close"},  # the rest of the body may still come: the connection cannot serve again
            ) from None


async def _uploaded_file(request: Request, body: bytes) -> tuple[str, bytes]:
    from starlette.datastructures import UploadFile

    async def replay() -> Any:
        return {"type": "http.request", "body": body, "more_body": False}

    form = await Request(request.scope, replay).form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise HTTPException(400, 'a multipart upload needs the image in a field named "file"')
    return upload.filename or "uploaded file", await upload.read()


def addresses(host: str, port: int) -> list[str]:
    """The addresses to open the page at: for every interface (0.0.0.0, ::), this machine's own
    (127.0.0.1) and the one other machines reach it by; otherwise the host listened on."""
    import socket

    if host not in EVERY_INTERFACE:
        return [f"http://{'[' + host + ']' if ':' in host else host}:{port}/"]
    found = ["127.0.0.1"]
    # A datagram socket "connected" to an outside address sends nothing, but learns which of this
    # machine's addresses faces the network; any address outside this machine serves as the probe.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.254.254.254", 9))
            found.append(probe.getsockname()[0])
        except OSError:  # no route out: this machine alone can reach the page
            pass
    return [f"http://{address}:{port}/" for address in dict.fromkeys(found)]


def serve(reader: DigitReader, host: str, port: int, on_ready: Any = None, limits: Limits = Limits()) -> None:  # noqa: B008
    """Run the server until Ctrl-C; `on_ready(urls)` once it listens, with the addresses to open."""
    import asyncio
    import socket

    import uvicorn
    from threadpoolctl import threadpool_limits

    # The socket is bound here, not by uvicorn, so that a taken port is one line, not a log record.
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as e:
        listener.close()
        raise DigitsError(f"{host}:{port}: cannot listen here ({e.strerror or e}); try another --port") from None
    if on_ready:
        on_ready(addresses(host, listener.getsockname()[1]))
    config = uvicorn.Config(
        create_app(reader, limits),
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=SHUTDOWN_GRACE,
        limit_concurrency=limits.connections,
    )
    logging.getLogger("uvicorn.error").addFilter(_not_a_cut_off_request)
    server = uvicorn.Server(config)
    # Each read gets one BLAS thread: the reads already run side by side, one per core, and OpenBLAS's
    # own threads (one per core by default) spin waiting for work, taking the core the other read needs:
    # two reads at once went from 40 to 65 a second on 2 cores with this, one alone read as fast.
    blas_threads_per_read = 1
    with threadpool_limits(limits=blas_threads_per_read, user_api="blas"):
        asyncio.run(_serving(server, listener, limits))


def _not_a_cut_off_request(record: logging.LogRecord) -> bool:
    """uvicorn logs a request cut off at shutdown (after SHUTDOWN_GRACE) as a failure, with its
    traceback; its own line before it already says the server cancelled it."""
    import asyncio

    return not (record.exc_info and isinstance(record.exc_info[1], asyncio.CancelledError))


async def _serving(server: uvicorn.Server, listener: socket.socket, limits: Limits) -> None:
    """uvicorn serving on the bound socket, reading at most one image per core at a time.

    A read holds the GIL for part of its numpy and scipy work, so threads beyond the cores only take
    turns at it: anyio's default of 40 threads served 30 reads a second on 2 cores where 2 threads
    served 50, and with every request's read under way at once, each with its own arrays, the peak
    memory was 125 MB against 100 MB. Requests beyond the limit wait on the event loop, which keeps
    accepting them."""
    from anyio import to_thread

    to_thread.current_default_thread_limiter().total_tokens = limits.reads_at_once
    await server.serve(sockets=[listener])
