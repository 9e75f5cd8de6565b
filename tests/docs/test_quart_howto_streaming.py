"""Quart's how-to guides on streaming, as a user following them writes them:
streamed responses, server-sent events, streamed request bodies and the
limits on request bodies. Streams are read piece by piece with the test
client's ``client.request()`` connection, as Quart's guides test them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from microframe import Microframe, abort, make_response, request, stream_with_context
from microframe.testing import connection as connection_module
from microframe.testing.connection import HTTPDisconnectError

# -- streaming responses ---------------------------------------------------------------


async def test_an_async_generator_is_streamed_with_status_and_headers(app: Microframe) -> None:
    @app.route("/")
    async def index() -> object:
        async def async_generator() -> AsyncIterator[bytes]:
            for count in range(3):
                yield f"{count}\n".encode()
                await asyncio.sleep(0)

        return async_generator(), 200, {"X-Something": "value"}

    client = app.test_client()
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["X-Something"] == "value"
    assert await response.get_data() == b"0\n1\n2\n"

    async with client.request("/") as connection:
        parts = [await connection.receive() for _ in range(3)]
        with pytest.raises(HTTPDisconnectError):
            await connection.receive()
    assert parts == [b"0\n", b"1\n", b"2\n"]
    assert connection.status_code == 200
    assert connection.headers is not None and connection.headers["X-Something"] == "value"


async def test_stream_with_context_gives_the_request(app: Microframe) -> None:
    @app.route("/")
    async def index() -> object:
        @stream_with_context
        async def async_generator() -> AsyncIterator[bytes]:
            yield request.method.encode()
            yield b" "
            yield request.url.encode()

        return async_generator()

    response = await app.test_client().get("/?x=1")
    assert await response.get_data() == b"GET http://localhost/?x=1"


async def test_response_timeout_ends_a_slow_stream_unless_none(app: Microframe) -> None:
    app.config["RESPONSE_TIMEOUT"] = 0.2

    async def slow() -> AsyncIterator[bytes]:
        yield b"start;"
        await asyncio.sleep(0.5)
        yield b"end"

    @app.route("/limited")
    async def limited() -> object:
        return slow()

    @app.route("/unlimited")
    async def unlimited() -> object:
        response = await make_response(slow())
        response.timeout = None
        return response

    client = app.test_client()
    async with client.request("/limited") as connection:
        assert await connection.receive() == b"start;"
        with pytest.raises(HTTPDisconnectError):
            await asyncio.wait_for(connection.receive(), 5)
    whole = await client.get("/unlimited")
    assert await whole.get_data() == b"start;end"


# -- server-sent events -----------------------------------------------------------------


@dataclass
class ServerSentEvent:
    """The guide's event class."""

    data: str
    event: str | None = None
    id: int | None = None
    retry: int | None = None

    def encode(self) -> bytes:
        message = f"data: {self.data}"
        if self.event is not None:
            message = f"{message}\nevent: {self.event}"
        if self.id is not None:
            message = f"{message}\nid: {self.id}"
        if self.retry is not None:
            message = f"{message}\nretry: {self.retry}"
        message = f"{message}\n\n"
        return message.encode("utf-8")


def _sse_app(app: Microframe, finished: list[str]) -> Microframe:
    @app.get("/sse")
    async def sse() -> object:
        if "text/event-stream" not in request.accept_mimetypes:
            abort(400)

        async def send_events() -> AsyncIterator[bytes]:
            count = 0
            try:
                while count < 10_000:  # endless, as far as a test can tell
                    count += 1
                    event = ServerSentEvent(f"tick {count}", event="tick", id=count)
                    yield event.encode()
                    await asyncio.sleep(0.01)
            finally:
                finished.append("cleaned up")

        response = await make_response(
            send_events(),
            {
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "Transfer-Encoding": "chunked",
            },
        )
        response.timeout = None
        return response

    return app


async def test_server_sent_events_stream_until_the_client_leaves(app: Microframe) -> None:
    finished: list[str] = []
    client = _sse_app(app, finished).test_client()
    async with client.request("/sse", headers={"Accept": "text/event-stream"}) as connection:
        first = await connection.receive()
        second = await connection.receive()
        await connection.disconnect()
    assert first == b"data: tick 1\nevent: tick\nid: 1\n\n"
    assert second.startswith(b"data: tick 2\n")
    assert connection.headers is not None
    assert connection.headers["Content-Type"] == "text/event-stream"
    assert connection.headers["Cache-Control"] == "no-cache"
    assert finished == ["cleaned up"]


async def test_server_sent_events_need_the_accept_header(app: Microframe) -> None:
    client = _sse_app(app, []).test_client()
    assert (await client.get("/sse")).status_code == 400
    assert (await client.get("/sse", headers={"Accept": "text/html"})).status_code == 400
    assert (await client.post("/sse", headers={"Accept": "text/event-stream"})).status_code == 405


# -- streaming request bodies -------------------------------------------------------------


def _body_app(app: Microframe) -> Microframe:
    @app.route("/", methods=["POST"])
    async def index() -> object:
        parts = []
        async for data in request.body:
            parts.append(data)
        return {"parts": [p.decode() for p in parts], "total": sum(map(len, parts))}

    @app.route("/echo", methods=["POST"])
    async def echo() -> object:
        async def stream() -> AsyncIterator[bytes]:
            async for data in request.body:
                yield data.upper()

        return stream()

    return app


async def test_a_request_body_streamed_in_parts(app: Microframe) -> None:
    client = _body_app(app).test_client()
    async with client.request("/", method="POST") as connection:
        await connection.send(b"abc")
        await connection.send(b"de")
        await connection.send_complete()
    response = await connection.as_response()
    assert response.status_code == 200
    payload = await response.get_json()
    assert "".join(payload["parts"]) == "abcde"
    assert payload["total"] == 5
    # The whole body at once, from the plain client, reads the same.
    plain = await client.post("/", data=b"abcde")
    assert (await plain.get_json())["total"] == 5


async def test_a_streamed_body_echoed_as_it_arrives(
    app: Microframe, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connection_module, "FINISH_SECONDS", 0.5)
    client = _body_app(app).test_client()
    async with client.request("/echo", method="POST") as connection:
        await connection.send(b"one ")
        assert await asyncio.wait_for(connection.receive(), 5) == b"ONE "
        await connection.send(b"two")
        assert await asyncio.wait_for(connection.receive(), 5) == b"TWO"
        await connection.send_complete()
    response = await connection.as_response()
    assert await response.get_data() == b"ONE TWO"


async def test_the_block_ends_in_an_error_if_the_body_was_never_completed(
    app: Microframe, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connection_module, "FINISH_SECONDS", 0.2)
    client = _body_app(app).test_client()
    with pytest.raises(RuntimeError, match="send_complete"):
        async with client.request("/", method="POST") as connection:
            await connection.send(b"half")


# -- request body limits ----------------------------------------------------------------


async def test_max_content_length_refuses_a_large_body(app: Microframe) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 10
    _body_app(app)

    @app.post("/form")
    async def form() -> object:
        return dict(await request.form)

    client = app.test_client()
    assert (await client.post("/", data=b"x" * 10)).status_code == 200
    assert (await client.post("/", data=b"x" * 11)).status_code == 413
    assert (await client.post("/form", data={"a": "x" * 20})).status_code == 413
    # A streamed body without a length is refused once it grows past the limit.
    async with client.request("/", method="POST") as connection:
        for _ in range(3):
            await connection.send(b"12345")
        await connection.send_complete()
    assert (await connection.as_response()).status_code == 413


async def test_max_content_length_per_request(app: Microframe) -> None:
    # Flask 3.1: request.max_content_length may be set for one view.
    @app.post("/small")
    async def small() -> object:
        request.max_content_length = 4
        return await request.get_data()

    @app.post("/large")
    async def large() -> object:
        return await request.get_data()

    client = app.test_client()
    assert (await client.post("/small", data=b"1234")).status_code == 200
    assert (await client.post("/small", data=b"12345")).status_code == 413
    assert (await client.post("/large", data=b"x" * 1000)).status_code == 200


async def test_body_timeout_answers_408(app: Microframe) -> None:
    app.config["BODY_TIMEOUT"] = 0.2
    _body_app(app)
    client = app.test_client()
    async with client.request("/", method="POST") as connection:
        await connection.send(b"slow")
        response = await connection.as_response()
    assert response.status_code == 408


async def test_a_client_leaving_mid_body_cancels_the_view(app: Microframe) -> None:
    # As under Quart, whose request task is cancelled: 'except CancelledError' runs.
    seen: list[str] = []

    @app.post("/upload")
    async def upload() -> str:
        try:
            async for _ in request.body:
                seen.append("chunk")
        except asyncio.CancelledError:
            seen.append("client left")
            raise
        return "done"

    async with app.test_client().request("/upload", method="POST") as connection:
        await connection.send(b"part")
        await connection.disconnect()
    assert seen == ["chunk", "client left"]
    assert connection.status_code is None  # nothing was answered
