"""A live counter over server-sent events, and a large file download:
``microframe --app examples/sse run``.

Open http://127.0.0.1:5000/ in a few windows: the counter counts up every
second (``COUNTER_TICK``) while someone watches, and "+1" bumps it; every
page sees each new value at once. ``/download`` sends a large file in chunks, never
whole, with Range support (resumable downloads).

New values travel on a broadcast channel (:mod:`microframe.broadcast`).
With ``MICROFRAME_BROADCAST_URL=redis://127.0.0.1:6379/0`` the counter's
value lives in Redis (``INCR``) and every worker process and machine counts
together; without it, it lives in the process (``memory://``).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from microframe import Microframe, render_template, request, send_file
from microframe.broadcast import Broadcast, SubscriberOverflowError
from microframe.sse import ServerSentEvent, sse_response
from microframe.sync import run_sync_in_executor

#: The broadcast channel of new values.
CHANNEL = "counter"
#: The Redis keys of the value, and of the right to make the next tick.
VALUE_KEY = "sse-example:value"
TICK_KEY = "sse-example:tick"


class MemoryCounter:
    """The counter in this process's memory (``memory://``)."""

    def __init__(self) -> None:
        self.value = 0
        self.changed_at = time.monotonic()

    async def get(self) -> int:
        """The current value."""
        return self.value

    async def increment(self) -> int:
        """Add one; return the new value."""
        self.value += 1
        self.changed_at = time.monotonic()
        return self.value

    async def claim_tick(self, tick: float) -> bool:
        """Whether the caller should count up now: unchanged for ``tick`` seconds."""
        return time.monotonic() - self.changed_at >= tick


class RedisCounter:
    """The counter in Redis, shared by every process that uses the same Redis."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis

    async def get(self) -> int:
        """The current value."""
        return int(await self.redis.get(VALUE_KEY) or 0)

    async def increment(self) -> int:
        """Add one (``INCR``: atomic, whichever process asks); return the new value."""
        return int(await self.redis.incr(VALUE_KEY))

    async def claim_tick(self, tick: float) -> bool:
        """Whether the caller won this tick: the first listener of any process
        to ask sets a key that expires shortly before the next tick is due."""
        return bool(await self.redis.set(TICK_KEY, "1", nx=True, px=int(tick * 900)))


app = Microframe(__name__)
app.config["DOWNLOAD_SIZE"] = 256 * 1024 * 1024
app.config["COUNTER_TICK"] = 1.0
app.config.from_prefixed_env()  # MICROFRAME_BROADCAST_URL, MICROFRAME_COUNTER_TICK, ...
broadcast = Broadcast(app)
memory_counter = MemoryCounter()


def counter() -> MemoryCounter | RedisCounter:
    """The counter: in Redis when the broadcast uses Redis, else in memory."""
    redis = broadcast.redis
    return memory_counter if redis is None else RedisCounter(redis)


async def count_up() -> int:
    """Add one and tell every listener, in every process."""
    value = await counter().increment()
    await broadcast.publish(CHANNEL, str(value))
    return value


async def updates(tick: float) -> AsyncGenerator[int, None]:
    """Yield the current value, then each new one.

    When nothing happened for ``tick`` seconds, the first listener to claim
    the tick counts up; the others hear of it like any change. There is no
    ticking task of its own, so nothing runs once nobody listens.
    """
    async with broadcast.subscribe(CHANNEL) as values:
        yield await counter().get()
        while True:
            try:
                yield int(await asyncio.wait_for(anext(values), tick))
            except TimeoutError:
                if await counter().claim_tick(tick):
                    await count_up()
            except (StopAsyncIteration, SubscriberOverflowError):
                return  # shutting down, or too far behind: the browser reconnects


@app.get("/")
async def index() -> str:
    """The page: an EventSource on ``/events`` and a "+1" button."""
    page: str = await render_template("index.html", value=await counter().get())
    return page


@app.post("/increment")
async def increment() -> dict[str, int]:
    """Add one to the counter."""
    return {"value": await count_up()}


@app.get("/events")
async def events() -> Any:
    """The counter's values as server-sent events.

    ``?limit=n`` ends the stream after ``n`` events (for tests and curl).
    """
    limit = request.args.get("limit", type=int)

    async def stream() -> AsyncIterator[ServerSentEvent]:
        sent = 0
        values = updates(float(app.config["COUNTER_TICK"]))
        try:
            async for value in values:
                yield ServerSentEvent(str(value), event="count", id=str(value))
                sent += 1
                if limit is not None and sent >= limit:
                    return
        finally:
            # Runs when the client goes away too: the stream is cancelled at
            # its next await and closed, and so is the subscription.
            await values.aclose()

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
