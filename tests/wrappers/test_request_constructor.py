"""Request built by hand with Quart's constructor, as Quart's tests and extensions do.

From Quart's documentation of ``quart.wrappers.Request``: ``Request(method,
scheme, path, query_string, headers, root_path, http_version, scope, *,
max_content_length=None, body_timeout=None, send_push_promise=...)``, the
body fed with ``request.body.append()``/``set_complete()`` or ``set_result()``.
"""

from __future__ import annotations

import asyncio

import pytest
from werkzeug.datastructures import Headers
from werkzeug.exceptions import RequestEntityTooLarge, RequestTimeout

from microframe.testing import no_op_push
from microframe.wrappers import Request


def make(headers: Headers | None = None, **kwargs: object) -> Request:
    return Request(
        "POST", "http", "/echo", b"a=1", headers or Headers(), "", "1.1",
        {"type": "http"}, send_push_promise=no_op_push, **kwargs,  # type: ignore[arg-type]
    )


async def test_the_quart_constructor_builds_a_request() -> None:
    request = make(Headers({"Host": "example.com", "Content-Type": "application/json"}))
    assert request.method == "POST"
    assert request.path == "/echo"
    assert request.args["a"] == "1"
    assert request.url == "http://example.com/echo?a=1"
    assert request.scope == {"type": "http"}
    request.body.set_result(b'{"x": 1}')
    assert await request.get_json() == {"x": 1}


async def test_await_body_gives_the_whole_body_fed_in_chunks() -> None:
    request = make()

    async def feed() -> None:
        for chunk in (b"ab", b"cd", b"ef"):
            request.body.append(chunk)
            await asyncio.sleep(0)
        request.body.set_complete()

    task = asyncio.create_task(feed())
    assert await asyncio.wait_for(request.body, 5) == b"abcdef"
    await task
    assert await request.get_data() == b"abcdef"


async def test_max_content_length_given_is_enforced() -> None:
    request = make(max_content_length=4)
    request.body.set_result(b"too long")
    with pytest.raises(RequestEntityTooLarge) as raised:
        await request.get_data()
    assert raised.value.code == 413


async def test_max_content_length_checks_content_length_before_reading() -> None:
    request = make(Headers({"Content-Length": "100"}), max_content_length=10)
    with pytest.raises(RequestEntityTooLarge):
        await request.body


async def test_body_timeout_given_is_enforced() -> None:
    request = make(body_timeout=0.05)
    request.body.append(b"partial")  # and the client never finishes
    with pytest.raises(RequestTimeout) as raised:
        await asyncio.wait_for(request.get_data(), 5)
    assert raised.value.code == 408


async def test_send_push_promise_calls_the_sender_with_the_headers_to_copy() -> None:
    pushed: list[tuple[str, Headers]] = []

    async def sender(path: str, headers: Headers) -> None:
        pushed.append((path, headers))

    request = Request(
        "GET", "https", "/", b"", Headers({"Accept": "text/css", "Cookie": "a=b", "User-Agent": "UA"}),
        "", "2", {"type": "http"}, send_push_promise=sender,
    )
    await request.send_push_promise("/style.css")
    assert [(path, sorted(headers.items())) for path, headers in pushed] == [
        ("/style.css", [("accept", "text/css"), ("user-agent", "UA")])
    ]


async def test_send_push_promise_without_a_sender_does_nothing() -> None:
    request = Request("GET", "http", "/", b"", Headers(), "", "1.1", {"type": "http"})
    await request.send_push_promise("/style.css")  # no error, nothing sent


def test_feeding_a_body_read_from_a_server_is_an_error() -> None:
    from microframe.wrappers.request import Body

    body = Body(None, data=b"whole")
    with pytest.raises(RuntimeError, match="fed"):
        body.append(b"more")


def test_server_and_client_come_from_the_scope_unless_given() -> None:
    scope = {"type": "http", "server": ("example.com", 8000), "client": ("10.0.0.2", 5000)}
    request = Request("GET", "http", "/", b"", Headers(), "", "1.1", scope)
    assert request.server == ("example.com", 8000)
    assert request.remote_addr == "10.0.0.2"
    given = Request(
        "GET", "http", "/", b"", Headers(), "", "1.1", scope,
        server=("other.test", 80), remote_addr="10.0.0.9",
    )
    assert given.server == ("other.test", 80)
    assert given.remote_addr == "10.0.0.9"
    bare = Request("GET", "http", "/", b"", Headers(), "", "1.1", {"type": "http", "client": None})
    assert bare.server is None
    assert bare.remote_addr is None
    assert Request("GET", "http", "/", b"", Headers(), "", "1.1").server is None


async def test_a_body_given_to_the_constructor_takes_the_limits_given_with_it() -> None:
    from microframe.wrappers.request import Body

    body = Body.fed(None, max_content_length=100, timeout=5)
    request = Request(
        "POST", "http", "/", b"", Headers(), "", "1.1", {"type": "http"},
        body=body, max_content_length=4,
    )
    assert request.body is body
    assert body.max_content_length == 4
    assert body.timeout == 5  # not given: its own stays
    body.set_result(b"0123456789")
    with pytest.raises(RequestEntityTooLarge):
        await request.get_data()
