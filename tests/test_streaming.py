"""Streamed responses, server-sent events and streamed uploads, including
clients that go away mid-stream."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from microframe import Microframe, request, send_file, stream_with_context
from microframe.sse import KEEPALIVE_COMMENT, ServerSentEvent, encode_event, sse_response
from microframe.testing import MicroframeClient
from microframe.wrappers.request import ClientDisconnected

# -- a raw ASGI driver with a client that can go away ------------------------


class Exchange:
    """What the app sent for one raw request."""

    def __init__(self) -> None:
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.chunks: list[bytes] = []
        self.ended = False

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)


async def drive(
    app: Microframe,
    path: str,
    *,
    method: str = "GET",
    body_chunks: list[bytes] | None = None,
    headers: dict[str, str] | None = None,
    disconnect_after_chunks: int | None = None,
    disconnect_after_body: bool = False,
) -> Exchange:
    """Send a request; the client disconnects after ``disconnect_after_chunks``
    response chunks, or after sending its body chunks when
    ``disconnect_after_body`` (a client leaving mid-upload)."""
    raw_headers = [(b"host", b"localhost")]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": raw_headers,
        "client": ("127.0.0.1", 1234),
        "server": ("localhost", 80),
    }
    exchange = Exchange()
    gone = asyncio.Event()
    pending = list(body_chunks or [b""])

    async def receive() -> dict[str, Any]:
        if pending:
            chunk = pending.pop(0)
            more = bool(pending) or disconnect_after_body
            return {"type": "http.request", "body": chunk, "more_body": more}
        if disconnect_after_body:
            return {"type": "http.disconnect"}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            exchange.status = message["status"]
            exchange.headers = {k.decode(): v.decode() for k, v in message["headers"]}
        else:
            if message.get("body"):
                exchange.chunks.append(message["body"])
            if not message.get("more_body", False):
                exchange.ended = True
                gone.set()
            elif disconnect_after_chunks is not None and len(exchange.chunks) >= disconnect_after_chunks:
                gone.set()

    await asyncio.wait_for(app(scope, receive, send), timeout=5)  # type: ignore[arg-type]
    return exchange


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


# -- streamed bodies -----------------------------------------------------------


async def test_async_generator_body(app: Microframe, client: MicroframeClient) -> None:
    @app.get("/")
    async def index() -> Any:
        async def gen() -> AsyncIterator[str]:
            for i in range(3):
                yield f"{i},"

        return gen(), {"Content-Type": "text/csv"}

    response = await client.get("/")
    assert await response.get_data() == b"0,1,2,"
    assert response.headers["Content-Type"] == "text/csv"
    assert "Content-Length" not in response.headers


async def test_sync_generator_body(app: Microframe, client: MicroframeClient) -> None:
    @app.get("/")
    def index() -> Any:
        def gen() -> Iterator[bytes]:
            yield b"a"
            yield b"b"

        return gen()

    response = await client.get("/")
    assert await response.get_data() == b"ab"


async def test_stream_with_context(app: Microframe, client: MicroframeClient) -> None:
    @app.get("/")
    async def index() -> Any:
        @stream_with_context
        async def gen() -> AsyncIterator[str]:
            yield request.args["name"]
            yield "!"

        return gen()

    response = await client.get("/?name=Ada")
    assert await response.get_data() == b"Ada!"


async def test_disconnect_stops_generator(app: Microframe) -> None:
    events: list[str] = []

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        events.append("teardown")

    @app.get("/")
    async def index() -> Any:
        async def gen() -> AsyncIterator[str]:
            try:
                while True:
                    yield "tick\n"
                    await asyncio.sleep(0.005)
            finally:
                events.append("finally")

        return gen()

    before = len(asyncio.all_tasks())
    exchange = await drive(app, "/", disconnect_after_chunks=3)
    assert exchange.status == 200 and len(exchange.chunks) >= 3 and not exchange.ended
    assert events == ["finally", "teardown"]
    assert len(asyncio.all_tasks()) == before


async def test_server_cancelling_a_stream_still_cancels_the_request(app: Microframe) -> None:
    events: list[str] = []

    @app.get("/")
    async def index() -> Any:
        async def gen() -> AsyncIterator[str]:
            try:
                while True:
                    yield "tick\n"
                    await asyncio.sleep(0.005)
            finally:
                events.append("finally")

        return gen()

    task = asyncio.create_task(drive(app, "/"))
    await asyncio.sleep(0.05)
    task.cancel()  # as a server does past its graceful shutdown timeout
    with pytest.raises(asyncio.CancelledError):
        await task
    assert events == ["finally"]


async def test_generator_swallowing_the_disconnect_leaves_no_cancellation(app: Microframe) -> None:
    events: list[str] = []

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        await asyncio.sleep(0.001)  # would raise if a cancellation were left pending
        events.append("teardown")

    @app.get("/")
    async def index() -> Any:
        async def gen() -> AsyncIterator[str]:
            try:
                while True:
                    yield "tick\n"
                    await asyncio.sleep(0.005)
            except asyncio.CancelledError:
                events.append("swallowed")

        return gen()

    exchange = await drive(app, "/", disconnect_after_chunks=2)
    assert exchange.status == 200
    assert events == ["swallowed", "teardown"]
    current = asyncio.current_task()
    assert current is not None and current.cancelling() == 0


async def test_watcher_starts_only_when_the_stream_waits(app: Microframe) -> None:
    counts: list[int] = []

    @app.get("/")
    async def index() -> Any:
        async def gen() -> AsyncIterator[str]:
            counts.append(len(asyncio.all_tasks()))
            yield "ready\n"  # nothing awaited yet: nothing to watch for
            counts.append(len(asyncio.all_tasks()))
            await asyncio.sleep(0)  # the first wait starts the watcher
            counts.append(len(asyncio.all_tasks()))
            yield "after a wait\n"

        return gen()

    exchange = await drive(app, "/")
    assert exchange.body == b"ready\nafter a wait\n" and exchange.ended
    assert counts[0] == counts[1] and counts[2] == counts[1] + 1


async def test_response_timeout_ends_stream(app: Microframe, caplog: Any) -> None:
    app.config["RESPONSE_TIMEOUT"] = 0.05

    @app.get("/")
    async def index() -> Any:
        async def gen() -> AsyncIterator[str]:
            yield "start"
            await asyncio.sleep(10)
            yield "never"

        return gen()

    exchange = await drive(app, "/")
    assert exchange.body == b"start"
    assert "exceeded its timeout" in caplog.text


async def test_disconnect_mid_download_closes_file(app: Microframe, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(64 * 1024 * 40))

    @app.get("/file")
    async def download() -> Any:
        return await send_file(big, as_attachment=True)

    exchange = await drive(app, "/file")
    assert exchange.body == big.read_bytes()
    fds = open_fds()
    before = len(asyncio.all_tasks())
    exchange = await drive(app, "/file", disconnect_after_chunks=2)
    assert not exchange.ended
    await asyncio.sleep(0.05)  # aiofiles closes on its thread
    assert open_fds() <= fds
    assert len(asyncio.all_tasks()) == before


# -- server-sent events ---------------------------------------------------------


def test_event_encoding() -> None:
    assert ServerSentEvent("hi").encode() == b"data: hi\n\n"
    event = ServerSentEvent("a\nb\r\nc", event="update", id="7", retry=1500)
    assert event.encode() == b"event: update\nid: 7\nretry: 1500\ndata: a\ndata: b\ndata: c\n\n"
    assert ServerSentEvent({"n": 1}).encode() == b'data: {"n": 1}\n\n'
    assert ServerSentEvent("").encode() == b"data: \n\n"
    assert encode_event(b": raw\n\n") == b": raw\n\n"
    assert encode_event("x") == b"data: x\n\n"
    with pytest.raises(ValueError, match="line break"):
        ServerSentEvent("x", event="a\nb").encode()


async def test_sse_response(app: Microframe, client: MicroframeClient) -> None:
    @app.get("/events")
    async def events() -> Any:
        async def stream() -> AsyncIterator[Any]:
            yield ServerSentEvent("1", event="count", id="1")
            yield {"n": 2}

        return sse_response(stream())

    response = await client.get("/events")
    assert response.headers["Content-Type"] == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["X-Accel-Buffering"] == "no"
    assert await response.get_data() == b'event: count\nid: 1\ndata: 1\n\ndata: {"n": 2}\n\n'


async def test_sse_keepalive_and_no_timeout(app: Microframe) -> None:
    app.config["RESPONSE_TIMEOUT"] = 0.01

    @app.get("/events")
    async def events() -> Any:
        async def stream() -> AsyncIterator[str]:
            await asyncio.sleep(0.08)
            yield "late"

        response = sse_response(stream(), keepalive=0.02)
        assert response.timeout is None
        return response

    exchange = await drive(app, "/events")
    assert exchange.body.startswith(KEEPALIVE_COMMENT)
    assert exchange.body.endswith(b"data: late\n\n")


async def test_sse_disconnect_runs_finally_and_leaves_no_task(app: Microframe) -> None:
    events: list[str] = []

    @app.get("/events")
    async def stream_events() -> Any:
        async def stream() -> AsyncIterator[ServerSentEvent]:
            n = 0
            try:
                while True:
                    n += 1
                    yield ServerSentEvent(str(n))
                    await asyncio.sleep(0.01)
            finally:
                events.append("finally")

        return sse_response(stream(), keepalive=0.005)

    before = len(asyncio.all_tasks())
    exchange = await drive(app, "/events", disconnect_after_chunks=4)
    assert b"data: 1\n\n" in exchange.body
    assert events == ["finally"]
    assert len(asyncio.all_tasks()) == before


def test_sse_response_outside_app() -> None:
    async def stream() -> AsyncIterator[str]:
        yield "x"

    response = sse_response(stream(), keepalive=None, headers={"X-Extra": "1"})
    assert response.headers["X-Extra"] == "1"
    assert response.get_data() == b"data: x\n\n"


# -- streamed uploads ---------------------------------------------------------------


async def test_large_upload_streams_past_the_limit(app: Microframe) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    chunk = b"x" * (256 * 1024)
    count = 80  # 20 MiB, 20 times the app's limit

    @app.post("/upload")
    async def upload() -> Any:
        request.max_content_length = 64 * 1024 * 1024
        total = 0
        largest = 0
        async for part in request.body:
            total += len(part)
            largest = max(largest, len(part))
        return {"total": total, "largest": largest}

    @app.post("/small")
    async def small() -> Any:
        return {"total": len(await request.get_data())}

    headers = {"Content-Length": str(len(chunk) * count)}
    exchange = await drive(app, "/upload", method="POST", body_chunks=[chunk] * count, headers=headers)
    assert exchange.status == 200
    assert json.loads(exchange.body) == {"total": 20971520, "largest": 262144}
    exchange = await drive(app, "/small", method="POST", body_chunks=[chunk] * count, headers=headers)
    assert exchange.status == 413


async def test_upload_disconnect_reaches_teardown(app: Microframe) -> None:
    seen: list[Any] = []

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        seen.append(exc)

    @app.post("/upload")
    async def upload() -> Any:
        received = 0
        try:
            async for part in request.body:
                received += len(part)
        finally:
            seen.append(received)
        return "done"

    exchange = await drive(
        app, "/upload", method="POST", body_chunks=[b"a" * 1000] * 3,
        headers={"Content-Length": "100000"}, disconnect_after_body=True,
    )
    assert exchange.status is None  # nothing was sent to the client that left
    assert seen[0] == 3000
    assert isinstance(seen[1], ClientDisconnected)


async def test_a_stream_that_never_waits_still_lets_others_run_and_stops(app: Microframe) -> None:
    # An async generator without an await, under a server whose send does
    # not wait: other requests get turns, and a client leaving stops it.
    app.config["RESPONSE_TIMEOUT"] = None
    events: list[str] = []

    @app.get("/")
    async def index() -> Any:
        async def endless() -> AsyncIterator[str]:
            try:
                while True:
                    yield "x" * 100
            finally:
                events.append("finally")

        return endless()

    turns = 0

    async def other_request() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    other = asyncio.create_task(other_request())
    try:
        exchange = await drive(app, "/", disconnect_after_chunks=200)
    finally:
        other.cancel()
    assert exchange.status == 200 and not exchange.ended
    assert len(exchange.chunks) >= 200
    assert events == ["finally"]
    assert turns >= 200 // 16 - 1  # the other task ran while the stream was sent


async def test_response_timeout_ends_a_stream_that_never_waits(app: Microframe, caplog: Any) -> None:
    app.config["RESPONSE_TIMEOUT"] = 0.05

    @app.get("/")
    async def index() -> Any:
        async def endless() -> AsyncIterator[str]:
            while True:
                yield "x"

        return endless()

    exchange = await drive(app, "/")
    assert exchange.status == 200 and not exchange.ended and exchange.chunks
    assert "exceeded its timeout" in caplog.text
