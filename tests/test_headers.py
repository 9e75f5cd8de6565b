"""The hot-path header builders rely on werkzeug internals; these tests pin them."""

from __future__ import annotations

from werkzeug.datastructures import Headers

from microframe import Microframe, request
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


async def test_a_header_dict_gets_each_response_class_its_default_type() -> None:
    # The pairs made for a header dict are remembered with the default
    # mimetype they were made for, and the length is each response's own.
    from microframe import Response

    class PlainResponse(Response):
        default_mimetype = "text/plain"

    html = Response("héllo", 200, {"X-A": "1"})
    plain = PlainResponse("hi", 200, {"X-A": "1"})
    again = Response("hi", 200, {"X-A": "1"})
    assert list(html.headers.items()) == [
        ("X-A", "1"), ("Content-Type", "text/html; charset=utf-8"), ("Content-Length", "6")
    ]
    assert list(plain.headers.items()) == [
        ("X-A", "1"), ("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", "2")
    ]
    assert list(again.headers.items()) == [
        ("X-A", "1"), ("Content-Type", "text/html; charset=utf-8"), ("Content-Length", "2")
    ]
    assert html.status == "200 OK" and await html.get_data() == "héllo".encode()


def test_a_response_class_default_status_is_used_without_a_status() -> None:
    from microframe import Response

    class Created(Response):
        default_status = 201

    made = [Created("x"), Created(b"x"), Created("x", headers={"X-A": "1"}), Created(["x"])]
    assert [(r.status, r.status_code) for r in made] == [("201 CREATED", 201)] * 4
    assert Created("x", 404).status == "404 NOT FOUND"
    assert (Created("x", 200).status, Created("x", 200, {"X-A": "1"}).status_code) == ("200 OK", 200)
    assert Response("x").status == "200 OK"


def test_header_dict_values_equal_as_numbers_stay_distinct() -> None:
    # 1, 1.0 and True are equal (and hash alike) but are sent as werkzeug writes them.
    from microframe import Response

    sent = [Response("x", 200, {"X-N": value}).headers["X-N"] for value in (1, True, 1.0, "1")]
    assert sent == ["1", "True", "1.0", "1"]


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


def test_asgi_headers_decode_on_first_use() -> None:
    from microframe.wrappers.headers import asgi_headers

    raw = [(b"host", b"example.com"), (b"x-name", "Zoë".encode("latin-1")), (b"x-a", b"1")]
    headers = asgi_headers(raw)
    assert isinstance(headers, Headers)
    assert "_list" not in headers.__dict__  # nothing decoded yet
    assert headers["X-Name"] == "Zoë"
    assert headers.getlist("x-a") == ["1"]
    headers["X-B"] = "2"
    assert headers.get("x-b") == "2"
    # Listed as Flask (WSGI environ) and Quart list them.
    assert list(headers.keys()) == ["Host", "X-Name", "X-A", "X-B"]
    assert headers.copy() == headers
    assert raw == [(b"host", b"example.com"), (b"x-name", b"Zo\xeb"), (b"x-a", b"1")]


async def test_request_headers_come_from_the_scope(app: Microframe) -> None:
    from microframe import request

    @app.get("/")
    async def index() -> str:
        return f"{request.headers['X-Token']} {len(request.headers)} {request.host}"

    response = await app.test_client().get("/", headers={"X-Token": "abc"})
    token, count, host = (await response.get_data(as_text=True)).split()
    assert token == "abc"
    assert int(count) >= 2
    assert host == "localhost"


def test_asgi_headers_answer_single_lookups_from_the_raw_pairs() -> None:
    from werkzeug.exceptions import BadRequestKeyError

    from microframe.wrappers.headers import asgi_headers

    headers = asgi_headers([(b"content-type", b"application/json"), (b"X-Upper", b"\xe9")])
    assert headers["Content-Type"] == "application/json"
    assert headers.get("x-upper") == "é"  # a server that sent a capitalised name
    assert "CONTENT-TYPE" in headers
    assert "accept" not in headers
    assert headers.get("Accept", "none") == "none"
    assert headers.get("Zoë") is None
    try:
        headers["Accept"]
    except BadRequestKeyError as error:
        assert error.code == 400
    else:
        raise AssertionError("a missing header must raise BadRequestKeyError")
    assert "_list" not in headers.__dict__  # still nothing decoded
    headers["Accept"] = "*/*"  # a change decodes, then lookups use the list
    assert headers["accept"] == "*/*"
    assert headers["content-type"] == "application/json"


def test_asgi_headers_single_lookups_give_the_first_of_repeated_names() -> None:
    from microframe.wrappers.headers import asgi_headers

    # As werkzeug's headers give them (and its get_host reads the Host).
    raw = [(b"host", b"a.test"), (b"x-n", b"1"), (b"host", b"b.test"), (b"x-n", b"2")]
    headers = asgi_headers(raw)
    assert headers["Host"] == "a.test"
    assert headers.get("x-n", type=int) == 1
    assert "_list" not in headers.__dict__
    assert headers.getlist("X-N") == ["1", "2"]


def test_asgi_headers_getlist_from_the_raw_pairs() -> None:
    from microframe.wrappers.headers import asgi_headers

    raw = [(b"cookie", b"a=1"), (b"accept", b"*/*"), (b"Cookie", b"b=2"), (b"x-n", b"7")]
    headers = asgi_headers(raw)
    assert headers.getlist("Cookie") == ["a=1", "b=2"]
    assert headers.getlist("missing") == []
    assert headers.getlist("Zoë") == []
    assert "_list" not in headers.__dict__
    assert headers.getlist("x-n", type=int) == [7]
    headers.add("Cookie", "c=3")
    assert headers.getlist("cookie") == ["a=1", "b=2", "c=3"]


async def test_request_cookies_from_several_cookie_headers(app: Microframe) -> None:
    from microframe import request

    @app.get("/")
    async def index() -> str:
        return ",".join(f"{k}={v}" for k, v in sorted(request.cookies.items()))

    client = app.test_client()
    response = await client.get("/", headers=[("Cookie", "a=1; b=2"), ("Cookie", "c=3")])
    assert await response.get_data(as_text=True) == "a=1,b=2,c=3"


async def test_header_names_read_as_flask_and_quart_give_them() -> None:
    # Code that iterates the headers into a dict (OpenAPI header models,
    # logging) expects "User-Agent" as Flask's WSGI environ gives it, not
    # the lowercase names ASGI servers send; the test client shows the
    # response's names as an HTTP client does.
    app = Microframe(__name__)

    @app.get("/")
    async def index() -> tuple[dict[str, str], dict[str, str]]:
        return dict(request.headers), {"X-Api-Key": "k"}

    response = await app.test_client().get("/", headers={"X-API-KEY": "s", "user-agent": "ua"})
    sent = await response.get_json()
    assert sent["X-Api-Key"] == "s"
    assert sent["User-Agent"] == "ua"
    assert "user-agent" not in sent
    assert {"Content-Type", "Content-Length", "X-Api-Key"} <= set(response.headers.keys())
    assert response.headers["x-api-key"] == "k"  # lookups ignore case, as always
