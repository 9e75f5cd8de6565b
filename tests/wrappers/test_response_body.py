"""Response bodies and conditional responses as Quart documents them.

From Quart's ``quart.wrappers.response``: ``DataBody``, ``IterableBody``,
``FileBody`` and ``IOBody``, each read as ``async with response.response as
body: async for chunk in body``; and ``await response.make_conditional(request,
accept_ranges=..., complete_length=...)``: a satisfiable single range gives
206 with ``Content-Range``, an unsatisfiable or out-of-bound one raises 416,
no condition leaves the response whole, and ``If-None-Match`` /
``If-Modified-Since`` give 304.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from werkzeug.datastructures import Headers
from werkzeug.exceptions import RequestedRangeNotSatisfiable

from microframe import Microframe
from microframe.testing import no_op_push
from microframe.wrappers import Request
from microframe.wrappers.response import (
    DataBody,
    FileBody,
    IOBody,
    IterableBody,
    Response,
    ResponseBody,
)


def make_request(*headers: tuple[str, str], method: str = "GET") -> Request:
    return Request(
        method, "https", "/", b"", Headers(list(headers)), "", "1.1", {"type": "http"},
        send_push_promise=no_op_push,
    )


async def read(body: ResponseBody) -> list[bytes]:
    async with body as opened:
        return [chunk async for chunk in opened]


# -- the body classes -------------------------------------------------------------------


async def test_data_body() -> None:
    response = Response(DataBody(b"abc"))
    assert await read(response.response) == [b"abc"]
    assert response.headers["Content-Length"] == "3"


@pytest.mark.parametrize("kind", ["list", "generator", "async generator"])
async def test_iterable_body_takes_sync_and_async_iterables(kind: str) -> None:
    def gen() -> Iterator[bytes]:
        yield b"a"
        yield b"b"

    async def agen() -> AsyncIterator[str]:
        yield "a"
        yield "b"

    source = {"list": [b"a", "b"], "generator": gen(), "async generator": agen()}[kind]
    response = Response(IterableBody(source))
    assert await read(response.response) == [b"a", b"b"]
    assert "Content-Length" not in response.headers


async def test_iterable_body_is_closed_by_the_context_manager() -> None:
    closed: list[bool] = []

    async def agen() -> AsyncIterator[bytes]:
        try:
            yield b"first"
            yield b"never read"
        finally:
            closed.append(True)

    body = IterableBody(agen())
    async with body as opened:
        async for chunk in opened:
            assert chunk == b"first"
            break
    # The generator is the iterable: closing the body closed it.
    assert closed == [True]


async def test_file_body_reads_in_buffer_sized_chunks(tmp_path: Path) -> None:
    target = tmp_path / "data.bin"
    target.write_bytes(b"0123456789")
    response = Response(FileBody(target, buffer_size=4))
    assert await read(response.response) == [b"0123", b"4567", b"89"]
    assert response.headers["Content-Length"] == "10"


async def test_io_body_sends_from_the_stream_position() -> None:
    stream = io.BytesIO(b"skip:0123456789")
    stream.seek(5)
    response = Response(IOBody(stream, buffer_size=6))
    assert response.headers["Content-Length"] == "10"
    assert await read(response.response) == [b"012345", b"6789"]
    assert stream.closed  # closed with the body, as Flask closes a file it sent


async def test_response_response_is_the_body_and_replaces_it() -> None:
    response = Response(b"old")
    assert isinstance(response.response, DataBody)
    response.response = DataBody(b"newer")
    assert response.headers["Content-Length"] == "5"
    assert await response.get_data() == b"newer"


def test_the_response_class_names_its_body_classes() -> None:
    assert Response.data_body_class is DataBody
    assert Response.file_body_class is FileBody
    assert Response.io_body_class is IOBody
    assert Response.iterable_body_class is IterableBody


async def test_a_custom_body_class_is_used_by_send_file(tmp_path: Path) -> None:
    from microframe import send_file

    target = tmp_path / "a.txt"
    target.write_bytes(b"file")

    class CountingFileBody(FileBody):
        opened = 0

        async def __aiter__(self) -> AsyncIterator[bytes]:
            CountingFileBody.opened += 1
            async for chunk in super().__aiter__():
                yield chunk

    class CustomResponse(Response):
        file_body_class = CountingFileBody

    app = Microframe(__name__)
    app.response_class = CustomResponse

    @app.get("/")
    async def index() -> Response:
        return await send_file(target)

    response = await app.test_client().get("/")
    assert await response.get_data() == b"file"
    assert CountingFileBody.opened == 1


# -- make_conditional: ranges -------------------------------------------------------------


def make_body(kind: str, path: Path) -> ResponseBody:
    path.write_bytes(b"abcdef")
    if kind == "data":
        return DataBody(b"abcdef")
    if kind == "file":
        return FileBody(path)
    return IOBody(io.BytesIO(b"abcdef"))


@pytest.mark.parametrize("kind", ["data", "file", "io"])
async def test_a_satisfiable_range_gives_206(tmp_path: Path, kind: str) -> None:
    response = Response(make_body(kind, tmp_path / "f.txt"))
    result = await response.make_conditional(
        make_request(("Range", "bytes=0-3")), accept_ranges=True, complete_length=6
    )
    assert result is response
    assert response.status_code == 206
    assert response.accept_ranges == "bytes"
    assert response.content_range is not None
    assert (response.content_range.units, response.content_range.start) == ("bytes", 0)
    assert (response.content_range.stop, response.content_range.length) == (4, 6)
    assert response.headers["Content-Length"] == "4"
    assert await response.get_data() == b"abcd"


async def test_a_suffix_range() -> None:
    response = Response(b"abcdef")
    await response.make_conditional(
        make_request(("Range", "bytes=-2")), accept_ranges=True, complete_length=6
    )
    assert response.status_code == 206
    assert response.headers["Content-Range"] == "bytes 4-5/6"
    assert await response.get_data() == b"ef"


async def test_no_condition_leaves_the_response_whole() -> None:
    response = Response(b"abcdef")
    await response.make_conditional(make_request(), complete_length=6)
    assert response.status_code == 200
    assert await response.get_data() == b"abcdef"


@pytest.mark.parametrize("range_", ["bytes=0-2,3-5", "bytes=8-16", "bytes=10-"])
async def test_an_unsatisfiable_or_out_of_bound_range_is_416(range_: str) -> None:
    response = Response(b"abcdef")
    with pytest.raises(RequestedRangeNotSatisfiable) as raised:
        await response.make_conditional(
            make_request(("Range", range_)), accept_ranges=True, complete_length=6
        )
    assert raised.value.code == 416
    assert response.headers["Content-Range"] == "bytes */6"


async def test_a_range_in_another_unit_is_ignored() -> None:
    # RFC 9110 14.2: a server ignores a Range in a unit it does not serve.
    response = Response(b"abcdef")
    await response.make_conditional(
        make_request(("Range", "seconds=0-3")), accept_ranges=True, complete_length=6
    )
    assert response.status_code == 200
    assert await response.get_data() == b"abcdef"


async def test_ranges_are_not_answered_unless_accepted() -> None:
    response = Response(b"abcdef")
    await response.make_conditional(make_request(("Range", "bytes=0-1")))
    assert response.status_code == 200
    assert await response.get_data() == b"abcdef"


async def test_ranges_apply_to_get_and_head_only() -> None:
    response = Response(b"abcdef")
    await response.make_conditional(
        make_request(("Range", "bytes=0-1"), method="POST"), accept_ranges=True
    )
    assert response.status_code == 200


# -- make_conditional: validators -----------------------------------------------------------


async def test_if_none_match_gives_304() -> None:
    response = Response(b"abcdef")
    response.set_etag("v1")
    await response.make_conditional(make_request(("If-None-Match", '"v1"')))
    assert response.status_code == 304
    assert await response.get_data() == b""
    assert "Content-Length" not in response.headers

    fresh = Response(b"abcdef")
    fresh.set_etag("v2")
    await fresh.make_conditional(make_request(("If-None-Match", '"v1"')))
    assert fresh.status_code == 200


async def test_if_modified_since_gives_304() -> None:
    response = Response(b"abcdef")
    response.headers["Last-Modified"] = "Wed, 21 Oct 2015 07:28:00 GMT"
    await response.make_conditional(
        make_request(("If-Modified-Since", "Wed, 21 Oct 2015 07:28:00 GMT"))
    )
    assert response.status_code == 304

    older = Response(b"abcdef")
    older.headers["Last-Modified"] = "Thu, 22 Oct 2015 07:28:00 GMT"
    await older.make_conditional(
        make_request(("If-Modified-Since", "Wed, 21 Oct 2015 07:28:00 GMT"))
    )
    assert older.status_code == 200
    assert await older.get_data() == b"abcdef"


def test_flask_style_make_conditional_in_sync_code_still_returns_the_response() -> None:
    app = Microframe(__name__)
    with app.test_request_context("/", headers={"Range": "bytes=1-2"}):
        from microframe import request

        response = Response(b"abcdef")
        assert response.make_conditional(request, accept_ranges=True) is response
        assert response.status_code == 206
        assert response.get_data() == b"bc"


# -- through the test client ----------------------------------------------------------------


@pytest.fixture
def conditional_app(tmp_path: Path) -> Microframe:
    app = Microframe(__name__)
    target = tmp_path / "file.txt"
    target.write_bytes(b"0123456789")

    @app.get("/<kind>")
    async def body(kind: str) -> Response:
        from microframe import request

        make = {
            "data": lambda: DataBody(b"0123456789"),
            "file": lambda: FileBody(target),
            "io": lambda: IOBody(io.BytesIO(b"0123456789")),
        }[kind]
        response = Response(make(), mimetype="text/plain")
        response.set_etag(f"etag-{kind}")
        return await response.make_conditional(request, accept_ranges=True, complete_length=10)

    return app


@pytest.mark.parametrize("kind", ["data", "file", "io"])
async def test_bodies_answer_conditions_through_the_client(
    conditional_app: Microframe, kind: str
) -> None:
    client = conditional_app.test_client()
    whole = await client.get(f"/{kind}")
    assert (whole.status_code, await whole.get_data()) == (200, b"0123456789")

    part = await client.get(f"/{kind}", headers={"Range": "bytes=2-4"})
    assert part.status_code == 206
    assert part.headers["Content-Range"] == "bytes 2-4/10"
    assert await part.get_data() == b"234"

    beyond = await client.get(f"/{kind}", headers={"Range": "bytes=20-30"})
    assert beyond.status_code == 416
    assert beyond.headers["Content-Range"] == "bytes */10"

    cached = await client.get(f"/{kind}", headers={"If-None-Match": f'"etag-{kind}"'})
    assert cached.status_code == 304
    assert await cached.get_data() == b""


class _EnteredBody(ResponseBody):
    """A Quart-style body of its own: it has something to give only once entered."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.chunks: list[bytes] | None = None

    async def __aenter__(self) -> _EnteredBody:
        self.events.append("enter")
        self.chunks = [b"a", b"b"]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.events.append("exit")

    def __aiter__(self) -> AsyncIterator[bytes]:
        assert self.chunks is not None, "iterated before it was entered"
        return self._chunks(self.chunks)

    async def _chunks(self, chunks: list[bytes]) -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk


async def test_a_body_of_its_own_is_entered_when_read_and_sent() -> None:
    app = Microframe(__name__)
    bodies: list[_EnteredBody] = []

    @app.get("/")
    async def index() -> Response:
        bodies.append(_EnteredBody())
        return Response(bodies[-1])

    client = app.test_client()
    response = await client.get("/")
    assert response.status_code == 200
    assert await response.get_data() == b"ab"
    assert bodies[0].events == ["enter", "exit"]
    direct = Response(_EnteredBody())
    assert await direct.get_data() == b"ab"
