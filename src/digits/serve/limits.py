"""What `digits serve` takes on at once, so that its memory stays bounded whoever reaches it.

A picture's size is read from its header before any pixel is decoded; request bodies held in memory
share a byte budget; reads run a few at a time, a large picture's alone, with a bounded line behind
them; a body must keep arriving, and arrive whole within a time. Past a limit a request gets its
answer at once instead of a place in a queue without end: 413 for a picture or a body too large,
503 with Retry-After when the server is full, 408 for a body too slow.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from starlette.exceptions import HTTPException

from ..read.images import READ_SIDE

RETRY_AFTER = 1  # seconds a client told 503 is asked to wait: a read takes tens of milliseconds


@dataclass(frozen=True)
class Limits:
    # decoded pixels a picture may have: the page shrinks photos to READ_SIDE a side (6.6 megapixels)
    # before sending them; this leaves room for other clients' pictures, and one of this size (in
    # colour) reads alone in about 160 MB
    max_pixels: int = 24_000_000
    max_body: int = 10 * 2**20  # bytes: a phone photo is a few MB
    # bytes of request bodies held at once, each counted from its Content-Length (or as it arrives):
    # four phone photos, or thousands of pad drawings (a drawing is 5-20 KB); a body is copied once or
    # twice on its way to the reader, so this holds the bodies to about 100 MB
    bodies_in_memory: int = 48 * 2**20
    reads_at_once: int = os.cpu_count() or 1  # more only take turns at the GIL, each with its own arrays
    # decoded pixels read at once: a picture of READ_SIDE² (6.6 megapixels, what the page sends at most)
    # takes about 115 MB to read, so two such photos read one after the other, while pad drawings (78,400
    # pixels) read side by side; a larger picture reads alone
    pixels_at_once: int = READ_SIDE**2
    reads_waiting: int = 64  # in line behind those; past it a request gets 503, not a place in line
    body_idle_seconds: float = 10.0  # a body that stops arriving for this long is cut off (408)
    body_seconds: float = 60.0  # and one still arriving after this long: 10 MB at 1.4 Mbit/s
    connections: int = 256  # open at once (uvicorn's limit_concurrency): an idle one holds ~0.1 MB


def busy(what: str) -> HTTPException:
    return HTTPException(503, f"the server is busy ({what}); try again in a moment", {"Retry-After": str(RETRY_AFTER)})


class BodyBudget:
    """The bytes of request bodies held in memory at once, taken before they are read."""

    def __init__(self, total: int) -> None:
        self.free = total

    def take(self, size: int) -> bool:
        if size > self.free:
            return False
        self.free -= size
        return True

    def give(self, size: int) -> None:
        self.free += size


class Reads:
    """The reads under way: at most `count` at once and, together, at most `pixels` decoded pixels,
    though a larger picture reads when it is alone; first come, first served, with at most `waiting`
    requests in line: one more gets 503 at once."""

    def __init__(self, count: int, pixels: int, waiting: int) -> None:
        self.count, self.pixels, self.waiting = count, pixels, waiting
        self.reading: list[int] = []  # the pixels of each read under way
        self.line: deque[tuple[int, asyncio.Future]] = deque()

    @asynccontextmanager
    async def held(self, pixels: int) -> AsyncIterator[None]:
        if self.line or not self._fits(pixels):
            if len(self.line) >= self.waiting:
                raise busy(f"{len(self.line)} reads waiting")
            turn = asyncio.get_running_loop().create_future()
            self.line.append((pixels, turn))
            try:
                await turn
            except asyncio.CancelledError:  # the client went away while it waited
                if turn.done() and not turn.cancelled():
                    self._done(pixels)  # its turn had just come: pass it on
                else:
                    self.line.remove((pixels, turn))
                raise
        else:
            self.reading.append(pixels)
        try:
            yield
        finally:
            self._done(pixels)

    def _fits(self, pixels: int) -> bool:
        return not self.reading or (len(self.reading) < self.count and sum(self.reading) + pixels <= self.pixels)

    def _done(self, pixels: int) -> None:
        self.reading.remove(pixels)
        while self.line and self._fits(self.line[0][0]):
            pixels, turn = self.line.popleft()
            self.reading.append(pixels)
            turn.set_result(None)
