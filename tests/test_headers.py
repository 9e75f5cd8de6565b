"""The hot-path header builders rely on werkzeug internals; these tests pin them."""

from __future__ import annotations

from werkzeug.datastructures import Headers

from microframe import Microframe
from microframe.wrappers.headers import content_type_for, status_line, trusted_headers


def test_trusted_headers_behave_like_werkzeug_headers() -> None:
    headers = trusted_headers([("Host", "example.com"), ("X-A", "1"), ("x-a", "2")])
    assert isinstance(headers, Headers)
    assert headers["host"] == "example.com"
    assert headers.getlist("X-A") == ["1", "2"]
    headers["X-B"] = "3"
    assert list(headers.items()) == [
        ("Host", "example.com"), ("X-A", "1"), ("x-a", "2"), ("X-B", "3")
    ]
    assert headers == Headers([("Host", "example.com"), ("X-A", "1"), ("x-a", "2"), ("X-B", "3")])


def test_content_type_and_status_line() -> None:
    assert content_type_for("text/html") == "text/html; charset=utf-8"
    assert content_type_for("application/json") == "application/json"
    assert status_line(404) == "404 NOT FOUND"
    assert status_line(299) == "299 UNKNOWN"


async def test_fast_and_general_responses_agree() -> None:
    app = Microframe(__name__)
    fast = app.response_class("hi", 201)
    general = app.response_class("hi", "201 CREATED", headers={"X-A": "1"})
    assert fast.status == general.status == "201 CREATED"
    assert fast.headers["Content-Type"] == general.headers["Content-Type"]
    assert fast.headers["Content-Length"] == general.headers["Content-Length"] == "2"
    assert await fast.get_data() == b"hi"


async def test_error_page_cache_keeps_custom_descriptions() -> None:
    app = Microframe(__name__)

    @app.get("/gone")
    async def gone() -> str:
        from microframe import abort

        abort(404, description="That page moved away.")

    client = app.test_client()
    custom = await client.get("/gone")
    plain = await client.get("/missing")
    assert custom.status_code == plain.status_code == 404
    assert b"That page moved away." in await custom.get_data()
    assert b"That page moved away." not in await plain.get_data()
