"""A live counter over server-sent events, and a large file download:
``microframe --app examples/sse run``.

Open http://127.0.0.1:5000/ in a few windows: the counter counts up every
second (``COUNTER_TICK``) while someone watches, and "+1" bumps it; every
page sees each new value at once. ``/download`` sends a large file in chunks, never
whole, with Range support (resumable downloads).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from microframe import Microframe, render_template, request, send_file
from microframe.sse import ServerSentEvent, sse_response
from microframe.sync import run_sync_in_executor


class LiveCounter:
    """A shared counter whose changes are pushed to every listener."""

    def __init__(self) -> None:
        self.value = 0
        self.changed_at = time.monotonic()
        self.listeners: set[asyncio.Queue[int]] = set()

    def increment(self) -> int:
        """Add one and tell every listener."""
        self.value += 1
        self.changed_at = time.monotonic()
        for queue in self.listeners:
            queue.put_nowait(self.value)
        return self.value

    async def updates(self, tick: float) -> AsyncGenerator[int, None]:
        """Yield the current value, then each new one.

        When the counter has not changed for ``tick`` seconds, the first
        listener to notice counts up; the others hear of it like any change.
        There is no ticking task of its own, so nothing runs once nobody
        listens.
        """
        queue: asyncio.Queue[int] = asyncio.Queue()
        self.listeners.add(queue)
        try:
            yield self.value
            while True:
                try:
                    yield await asyncio.wait_for(queue.get(), tick)
                except TimeoutError:
                    if time.monotonic() - self.changed_at >= tick:
                        self.increment()
        finally:
            # Runs when the client goes away: the stream is cancelled at its
            # next await and closed.
            self.listeners.discard(queue)


app = Microframe(__name__)
app.config["DOWNLOAD_SIZE"] = 256 * 1024 * 1024
app.config["COUNTER_TICK"] = 1.0
counter = LiveCounter()


@app.get("/")
async def index() -> str:
    """The page: an EventSource on ``/events`` and a "+1" button."""
    page: str = await render_template("index.html", value=counter.value)
    return page


@app.post("/increment")
async def increment() -> dict[str, int]:
    """Add one to the counter."""
    return {"value": counter.increment()}


@app.get("/events")
async def events() -> Any:
    """The counter's values as server-sent events.

    ``?limit=n`` ends the stream after ``n`` events (for tests and curl).
    """
    limit = request.args.get("limit", type=int)

    async def stream() -> AsyncIterator[ServerSentEvent]:
        sent = 0
        updates = counter.updates(float(app.config["COUNTER_TICK"]))
        try:
            async for value in updates:
                yield ServerSentEvent(str(value), event="count", id=str(value))
                sent += 1
                if limit is not None and sent >= limit:
                    return
        finally:
            await updates.aclose()

    return sse_response(stream(), keepalive=15)


def _make_download(path: str, size: int) -> None:
    if os.path.exists(path) and os.path.getsize(path) == size:
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    block = bytes(range(256)) * 4096  # 1 MiB of a recognisable pattern
    with open(path + ".part", "wb") as file:
        written = 0
        while written < size:
            part = block[: size - written]
            file.write(part)
            written += len(part)
    os.replace(path + ".part", path)


@app.get("/download")
async def download() -> Any:
    """A large file, made on first use in the instance folder, sent in chunks."""
    size = int(app.config["DOWNLOAD_SIZE"])
    path = os.path.join(app.instance_path, f"large-{size}.bin")
    await run_sync_in_executor(_make_download, path, size)
    return await send_file(path, as_attachment=True, download_name="large.bin", conditional=True)


if __name__ == "__main__":
    app.run()
