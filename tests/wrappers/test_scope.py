"""Reading an ASGI scope: what requests and websockets are built from."""

from __future__ import annotations

from typing import Any

import pytest

from microframe import Microframe
from microframe.asgi import make_request, make_websocket
from microframe.wrappers.scope import read_scope


def _scope(path: str = "/", **extra: Any) -> dict[str, Any]:
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"example.com")],
    }
    scope.update(extra)
    return scope


def test_the_parts_of_a_plain_scope() -> None:
    root_path, path, query, headers, picked = read_scope(
        _scope("/a/b", query_string=b"x=1", headers=[(b"host", b"h"), (b"x-one", b"1")])
    )
    assert (root_path, path, query) == ("", "/a/b", b"x=1")
    assert headers["X-One"] == "1"
    assert picked == {b"host": b"h", b"x-one": b"1"}


def test_the_root_path_is_taken_off_the_path() -> None:
    root_path, path, *_ = read_scope(_scope("/app/hello", root_path="/app"))
    assert (root_path, path) == ("/app", "/hello")
    assert read_scope(_scope("/app", root_path="/app"))[1] == "/"


def test_a_repeated_header_picks_its_first_value_and_keeps_them_all() -> None:
    *_, headers, picked = read_scope(_scope(headers=[(b"x-a", b"1"), (b"x-a", b"2")]))
    assert picked[b"x-a"] == b"1"
    assert headers.get("X-A") == "1"
    assert headers.getlist("X-A") == ["1", "2"]


def test_headers_given_as_any_iterable_are_read_more_than_once() -> None:
    pairs = ((b"host", b"h"), (b"cookie", b"a=1"))
    *_, headers, picked = read_scope(_scope(headers=iter(pairs)))
    assert picked == {b"host": b"h", b"cookie": b"a=1"}
    assert list(headers.items()) == [("Host", "h"), ("Cookie", "a=1")]


def test_an_absolute_form_target_is_routed_by_its_path_and_gives_the_host() -> None:
    _, path, _, headers, picked = read_scope(
        _scope("http://user:pw@other.test:8080/p/q", headers=[(b"host", b"example.com")])
    )
    assert path == "/p/q"
    assert picked[b"host"] == b"other.test:8080"
    assert headers.getlist("Host") == ["other.test:8080"]


@pytest.mark.parametrize("target", ["http://[::1/", "http://x]/", "http://[zz]/p", "http://\u20ac/p"])
def test_a_malformed_absolute_form_target_is_routed_as_sent(target: str) -> None:
    # urlsplit refuses it; the request routes to a 404 rather than a 500.
    _, path, _, headers, picked = read_scope(_scope(target))
    assert path == target
    assert picked[b"host"] == b"example.com"
    assert headers["Host"] == "example.com"


def test_a_query_with_raw_bytes_is_percent_encoded() -> None:
    query = read_scope(_scope(query_string=b"a=\xe9&b=ok"))[2]
    assert query == b"a=%E9&b=ok"


@pytest.mark.parametrize("kind", ["http", "websocket"])
def test_requests_and_websockets_read_the_scope_alike(kind: str) -> None:
    app = Microframe(__name__)
    scope = _scope("/prefix/x", root_path="/prefix", query_string=b"q=\xff", type=kind)
    if kind == "http":
        built: Any = make_request(app, scope, _never)  # type: ignore[arg-type]
    else:
        built = make_websocket(app, scope, _never, _never)  # type: ignore[arg-type]
    assert (built.root_path, built.path, built.query_string) == ("/prefix", "/x", b"q=%FF")
    assert built.args["q"] == "%FF"  # an undecodable byte stays percent-encoded (werkzeug)
    assert built.host == "example.com"


async def _never(*args: Any) -> Any:
    raise AssertionError("not called")
