"""Quart's test request helpers (``microframe.testing.utils``), written from Quart's
documentation of ``quart.testing.utils``: ``make_test_body_with_headers`` encodes
``data``, ``json``, ``form`` and ``files`` (multipart with Quart's boundary,
``----QuartBoundary``), and ``make_test_scope`` gives the scope's keys.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from werkzeug.datastructures import FileStorage, Headers

from microframe import Microframe, request
from microframe.testing import make_test_body_with_headers, make_test_scope
from microframe.testing.utils import MULTIPART_BOUNDARY


def test_data_is_sent_as_is() -> None:
    assert make_test_body_with_headers(data="héllo") == ("héllo".encode(), Headers())
    assert make_test_body_with_headers(data=b"\x00raw") == (b"\x00raw", Headers())
    assert make_test_body_with_headers() == (b"", Headers())


def test_json_is_dumped_with_its_content_type() -> None:
    body, headers = make_test_body_with_headers(json={"a": [1, None]})
    assert body == b'{"a": [1, null]}'
    assert headers["Content-Type"] == "application/json"


def test_json_uses_the_app_provider() -> None:
    app = Microframe(__name__)
    app.json.sort_keys = True  # type: ignore[attr-defined]
    body, _ = make_test_body_with_headers(json={"b": 1, "a": 2}, app=app)
    assert body == b'{"a": 2, "b": 1}'


def test_form_alone_is_urlencoded() -> None:
    body, headers = make_test_body_with_headers(form={"name": "ada lovelace", "x": "&"})
    assert body == b"name=ada+lovelace&x=%26"
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_files_and_form_are_multipart_with_quarts_boundary() -> None:
    body, headers = make_test_body_with_headers(
        form={"name": "ada"},
        files={"file": FileStorage(io.BytesIO(b"abc"), filename="a.txt", content_type="text/plain")},
    )
    assert MULTIPART_BOUNDARY == "----QuartBoundary"
    assert headers["Content-Type"] == "multipart/form-data; boundary=----QuartBoundary"
    # Byte for byte what Quart's helper sends: files first, then fields.
    assert body == (
        b"\r\n------QuartBoundary\r\n"
        b'Content-Disposition: form-data; name="file"; filename="a.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\nabc"
        b"\r\n------QuartBoundary\r\n"
        b'Content-Disposition: form-data; name="name"\r\n\r\nada'
        b"\r\n------QuartBoundary--\r\n"
    )


async def test_a_multipart_body_is_read_back_by_the_app() -> None:
    app = Microframe(__name__)

    @app.post("/upload")
    async def upload() -> dict[str, Any]:
        files = await request.files
        form = await request.form
        return {"file": files["doc"].read().decode(), "name": files["doc"].filename, "k": form["k"]}

    body, headers = make_test_body_with_headers(
        form={"k": "v"}, files={"doc": (io.BytesIO(b"contents"), "doc.txt")}
    )
    response = await app.test_client().post("/upload", data=body, headers=headers)
    assert response.status_code == 200
    assert await response.get_json() == {"file": "contents", "name": "doc.txt", "k": "v"}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"json": {}, "data": b"x"},
        {"json": {}, "form": {"a": "1"}},
        {"json": {}, "files": {}},
        {"data": b"x", "form": {"a": "1"}},
        {"data": b"x", "files": {}},
    ],
)
def test_two_bodies_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="mutually exclusive"):
        make_test_body_with_headers(**kwargs)


# -- make_test_scope ------------------------------------------------------------------------

QUART_KEYS = {
    "type", "http_version", "asgi", "method", "scheme", "path", "raw_path", "query_string",
    "root_path", "headers", "extensions",
}


def test_an_http_scope_has_quarts_keys() -> None:
    headers = Headers({"Host": "localhost", "X-A": "b"})
    scope = make_test_scope("http", "/p q/é", "POST", headers, b"a=1", "https", "/root", "1.1", None)
    assert set(scope) >= QUART_KEYS
    assert scope["type"] == "http"
    assert scope["method"] == "POST"
    assert scope["path"] == "/p q/é"  # given unquoted, kept so
    assert scope["raw_path"] == b"/p%20q/%C3%A9"
    assert (scope["query_string"], scope["root_path"], scope["scheme"]) == (b"a=1", "/root", "https")
    assert (b"x-a", b"b") in scope["headers"]
    assert scope["extensions"] == {}


@pytest.mark.parametrize("version", ["2", "3"])
def test_http_2_and_3_scopes_offer_server_push(version: str) -> None:
    scope = make_test_scope("http", "/", "GET", Headers(), b"", "https", "", version, None)
    assert scope["extensions"] == {"http.response.push": {}}


def test_a_websocket_scope_has_quarts_keys_and_extension() -> None:
    scope = make_test_scope("websocket", "/ws", "GET", Headers(), b"", "wss", "", "1.1", None)
    assert set(scope) >= QUART_KEYS
    assert scope["method"] == "GET"
    assert scope["extensions"] == {"websocket.http.response": {}}
    assert scope["subprotocols"] == []


def test_scope_base_is_laid_over_the_scope() -> None:
    scope = make_test_scope(
        "http", "/", "GET", Headers(), b"", "http", "", "1.1", {"client": ("10.0.0.9", 1234)}
    )
    assert scope["client"] == ("10.0.0.9", 1234)


async def test_a_made_scope_is_served_by_the_app() -> None:
    app = Microframe(__name__)

    @app.get("/hello world")
    async def hello() -> str:
        return f"{request.path}?{request.query_string.decode()}"

    scope = make_test_scope(
        "http", "/hello world", "GET", Headers({"Host": "localhost"}), b"x=1", "http", "", "1.1",
        None,
    )
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)  # type: ignore[arg-type]
    assert sent[0]["status"] == 200
    assert sent[1]["body"] == b"/hello world?x=1"
