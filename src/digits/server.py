"""`digits serve`: a drawing pad in the browser, and a JSON API, over the same reader as the CLI.

A list of routes, each a short function that calls the library and returns JSON; the limits and
the error responses in one place. Reading an image is numpy and Pillow work, so it goes to a
thread pool, off the event loop, and requests are served concurrently. No torch.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from .errors import DigitsError
from .images import ImageTooLarge
from .inference import summarize
from .reader import DigitReader
from .results import as_json

MAX_BODY = 10 * 2**20  # bytes: a phone photo is a few MB
PAGE = files("digits") / "page"
ASSETS = {"pad.js": "text/javascript", "pad.css": "text/css"}


def create_app(reader: DigitReader) -> Starlette:
    """The ASGI app: the page and its assets, and the API under /api."""

    async def page(request: Request) -> Response:
        return HTMLResponse((PAGE / "index.html").read_text(encoding="utf-8"))

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ASSETS:
            raise HTTPException(404, f"no asset {name}")
        return Response((PAGE / name).read_text(encoding="utf-8"), media_type=ASSETS[name])

    async def predict(request: Request) -> Response:
        """The image as the request body, or as the "file" field of a multipart upload."""
        name, data = await _image_bytes(request)
        try:
            prediction = await run_in_threadpool(reader.predict, data, 1, name)
        except ImageTooLarge as e:
            raise HTTPException(413, str(e)) from None
        except DigitsError as e:
            raise HTTPException(400, str(e)) from None
        return JSONResponse(as_json(prediction, include=("pixels",) if "pixels" in request.query_params else ()))

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def model(request: Request) -> Response:
        return JSONResponse(as_json(summarize(reader.model)))

    async def error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        detail = exc.detail if isinstance(exc, HTTPException) else "internal error"
        return JSONResponse({"error": detail}, status_code=status)

    routes = [
        Route("/", page),
        Route("/assets/{name}", asset),
        Route("/api/predict", predict, methods=["POST"]),
        Route("/api/health", health),
        Route("/api/model", model),
    ]
    return Starlette(routes=routes, exception_handlers={HTTPException: error, Exception: error})


async def _image_bytes(request: Request) -> tuple[str, bytes]:
    """What to call the image, and its bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY:
        raise HTTPException(413, f"the body is over the limit of {MAX_BODY:,} bytes")
    data = bytearray()
    async for chunk in request.stream():  # counted as it comes, whatever the header said
        data += chunk
        if len(data) > MAX_BODY:
            raise HTTPException(413, f"the body is over the limit of {MAX_BODY:,} bytes")
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        return await _uploaded_file(request, bytes(data))
    if not data:
        raise HTTPException(400, "no image in the request body")
    return "request body", bytes(data)


async def _uploaded_file(request: Request, body: bytes) -> tuple[str, bytes]:
    from starlette.datastructures import UploadFile

    async def replay() -> Any:
        return {"type": "http.request", "body": body, "more_body": False}

    form = await Request(request.scope, replay).form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise HTTPException(400, 'a multipart upload needs the image in a field named "file"')
    return upload.filename or "uploaded file", await upload.read()


def serve(reader: DigitReader, host: str, port: int, on_ready: Any = None) -> None:
    """Run the server until Ctrl-C; `on_ready(url)` once it has its address."""
    import socket

    import uvicorn

    # The socket is bound here, not by uvicorn, so that a taken port is one line, not a log record.
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as e:
        listener.close()
        raise DigitsError(f"{host}:{port}: cannot listen here ({e.strerror or e}); try another --port") from None
    if on_ready:
        on_ready(f"http://{'[' + host + ']' if ':' in host else host}:{listener.getsockname()[1]}/")
    config = uvicorn.Config(create_app(reader), log_level="warning", lifespan="off")
    uvicorn.Server(config).run(sockets=[listener])
