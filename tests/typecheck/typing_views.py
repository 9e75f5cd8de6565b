"""Typing regression file: every kind of value a view may return, from sync
and async views, class-based views included.

Checked by ``mypy --strict`` in tests/test_typing.py, which also serves each
route and checks the answer, so that what type-checks also runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from http import HTTPStatus
from typing import Any, TypedDict

from werkzeug.datastructures import Headers
from werkzeug.wrappers import Response as WerkzeugResponse

from microframe import Microframe, Response, abort, jsonify, make_response, redirect, url_for
from microframe.typing import ResponseReturnValue
from microframe.views import MethodView, View

app = Microframe(__name__)


@app.route("/str")
def sync_str() -> str:
    return "text"


@app.route("/async-str")
async def async_str() -> str:
    return "text"


@app.route("/bytes")
def sync_bytes() -> bytes:
    return b"bytes"


@app.route("/dict")
async def async_dict() -> dict[str, Any]:
    return {"answer": 42}


@app.route("/list")
def sync_list() -> list[Any]:
    return [1, "two"]


class Status(TypedDict):
    status: str


@app.route("/typed-dict")
async def typed_dict() -> Status:
    return {"status": "ok"}


@app.route("/jsonify")
def sync_jsonify() -> Response:
    return jsonify(message="hi")


@app.route("/werkzeug")
def werkzeug_response() -> WerkzeugResponse:
    return WerkzeugResponse("from werkzeug", 201)


@app.route("/generator")
def sync_generator() -> Iterator[str]:
    def generate() -> Iterator[str]:
        yield "a"
        yield "b"

    return generate()


@app.route("/bytes-generator")
def sync_bytes_generator() -> Iterator[bytes]:
    return (chunk for chunk in (b"a", b"b"))


@app.route("/async-generator")
async def async_generator() -> AsyncIterator[str]:
    async def generate() -> AsyncIterator[str]:
        yield "a"
        yield "b"

    return generate()


@app.route("/status")
def with_status() -> tuple[str, int]:
    return "created", 201


@app.route("/status-enum")
async def with_status_enum() -> tuple[str, HTTPStatus]:
    return "accepted", HTTPStatus.ACCEPTED


@app.route("/headers-dict")
def with_headers_dict() -> tuple[str, dict[str, str]]:
    return "text", {"X-Answer": "42"}


@app.route("/headers-list")
async def with_headers_list() -> tuple[str, list[tuple[str, str]]]:
    return "text", [("X-Answer", "42")]


@app.route("/headers-object")
def with_headers_object() -> tuple[str, Headers]:
    return "text", Headers({"X-Answer": "42"})


@app.route("/status-headers")
async def with_status_headers() -> tuple[str, int, dict[str, str]]:
    return "text", 202, {"Content-Type": "text/plain"}


@app.route("/dict-status")
def dict_with_status() -> tuple[dict[str, str], int]:
    return {"error": "nope"}, 400


@app.route("/response-status")
async def response_with_status() -> tuple[Response, int]:
    return jsonify(error="gone"), 410


@app.route("/alias")
async def any_value() -> ResponseReturnValue:
    return "declared with the alias"


@app.route("/make-response")
def sync_make_response() -> Response:
    response = make_response("made", 201)
    response.headers["X-Made"] = "sync"
    return response


@app.route("/async-make-response")
async def async_make_response() -> Response:
    response = await make_response("made", 201)
    response.headers["X-Made"] = "async"
    return response


@app.route("/redirect")
def sync_redirect() -> Response:
    return redirect(url_for("sync_str"))


@app.route("/abort")
async def aborts() -> str:
    abort(404)


@app.route("/with-arg/<int:number>")
async def with_arg(number: int) -> str:
    return f"number {number}"


class Hello(View):
    methods = ["GET"]

    def dispatch_request(self, **kwargs: Any) -> ResponseReturnValue:
        return "hello from a view"


class AsyncHello(View):
    async def dispatch_request(self, **kwargs: Any) -> ResponseReturnValue:
        return "hello from an async view"


class Items(MethodView):
    def get(self) -> list[int]:
        return [1, 2]

    async def post(self) -> tuple[str, int]:
        return "added", 201


app.add_url_rule("/class", view_func=Hello.as_view("hello"))
app.add_url_rule("/async-class", view_func=AsyncHello.as_view("async_hello"))
app.add_url_rule("/items", view_func=Items.as_view("items"))

#: (path, method, status, body or None for any) of each route, served by the test.
EXPECTED: list[tuple[str, str, int, bytes | None]] = [
    ("/str", "GET", 200, b"text"),
    ("/async-str", "GET", 200, b"text"),
    ("/bytes", "GET", 200, b"bytes"),
    ("/dict", "GET", 200, b'{"answer":42}\n'),
    ("/list", "GET", 200, b'[1,"two"]\n'),
    ("/typed-dict", "GET", 200, b'{"status":"ok"}\n'),
    ("/jsonify", "GET", 200, b'{"message":"hi"}\n'),
    ("/werkzeug", "GET", 201, b"from werkzeug"),
    ("/generator", "GET", 200, b"ab"),
    ("/bytes-generator", "GET", 200, b"ab"),
    ("/async-generator", "GET", 200, b"ab"),
    ("/status", "GET", 201, b"created"),
    ("/status-enum", "GET", 202, b"accepted"),
    ("/headers-dict", "GET", 200, b"text"),
    ("/headers-list", "GET", 200, b"text"),
    ("/headers-object", "GET", 200, b"text"),
    ("/status-headers", "GET", 202, b"text"),
    ("/dict-status", "GET", 400, b'{"error":"nope"}\n'),
    ("/response-status", "GET", 410, b'{"error":"gone"}\n'),
    ("/alias", "GET", 200, b"declared with the alias"),
    ("/make-response", "GET", 201, b"made"),
    ("/async-make-response", "GET", 201, b"made"),
    ("/redirect", "GET", 302, None),
    ("/abort", "GET", 404, None),
    ("/with-arg/7", "GET", 200, b"number 7"),
    ("/class", "GET", 200, b"hello from a view"),
    ("/async-class", "GET", 200, b"hello from an async view"),
    ("/items", "GET", 200, b"[1,2]\n"),
    ("/items", "POST", 201, b"added"),
]
