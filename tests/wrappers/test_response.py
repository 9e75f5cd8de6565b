"""The response's life after the view: closing, cookies' size, 304s, and
reading it back from sync code (hooks, signal receivers), as Flask documents."""

from __future__ import annotations

import threading
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from microframe import (
    Microframe,
    Response,
    jsonify,
    redirect,
    request,
    request_finished,
    send_file,
    stream_with_context,
)

# -- closing ------------------------------------------------------------------------------


def test_close_closes_the_body_and_calls_on_close_functions_once() -> None:
    events: list[str] = []

    def gen() -> Iterator[str]:
        try:
            yield "a"
        finally:
            events.append("generator closed")

    response = Response(gen())
    chunks = iter(response.body.iterable)  # type: ignore[attr-defined]
    next(chunks)  # the generator is running, as while being sent

    @response.call_on_close
    def done() -> None:
        events.append("on close")

    assert done.__name__ == "done"  # returned, so usable as a decorator
    response.close()
    response.close()
    assert events == ["generator closed", "on close"]


async def test_close_is_awaited_in_async_code() -> None:
    events: list[str] = []

    async def on_close() -> None:
        events.append("async on close")

    response = Response("x")
    response.call_on_close(on_close)
    response.call_on_close(lambda: events.append("sync on close"))
    await response.close()
    assert events == ["async on close", "sync on close"]


def test_response_as_context_manager() -> None:
    events: list[str] = []
    with Response("x") as response:
        response.call_on_close(lambda: events.append("closed"))
    assert events == ["closed"]


async def test_server_closes_the_response_after_sending(app: Microframe) -> None:
    events: list[tuple[str, str]] = []

    @app.get("/")
    def index() -> Response:
        response = Response("sent")
        # A sync function: run on the request's worker thread, like the view.
        response.call_on_close(lambda: events.append(("closed", threading.current_thread().name)))
        return response

    @app.get("/stream")
    async def stream() -> Response:
        async def gen() -> AsyncIterator[str]:
            yield "a"
            yield "b"

        response = Response(gen())
        response.call_on_close(lambda: events.append(("stream closed", "")))
        return response

    client = app.test_client()
    assert await (await client.get("/")).get_data() == b"sent"
    assert events[0][0] == "closed"
    assert events[0][1] != threading.current_thread().name
    assert await (await client.get("/stream")).get_data() == b"ab"
    assert events[1] == ("stream closed", "")


async def test_on_close_runs_for_head_and_304(app: Microframe) -> None:
    closed: list[str] = []

    @app.get("/")
    async def index() -> Response:
        response = Response("body")
        response.set_etag("v1")
        response.call_on_close(lambda: closed.append(request.method))
        return await response.make_conditional(request)

    client = app.test_client()
    await client.head("/")
    response = await client.get("/", headers={"If-None-Match": '"v1"'})
    assert response.status_code == 304
    assert closed == ["HEAD", "GET"]


async def test_conditional_responses_leave_the_date_to_the_server(
    app: Microframe, tmp_path: Path
) -> None:
    # ASGI servers add a Date of their own to every response; one from the
    # app would be a second (tests/e2e/test_date_header.py, under servers).
    (tmp_path / "hello.txt").write_text("hello")

    @app.get("/file")
    async def file() -> Response:
        return await send_file(str(tmp_path / "hello.txt"))

    client = app.test_client()
    cases = [
        ("/file", {}, 200),
        ("/file", {"Range": "bytes=0-1"}, 206),
        ("/file", {"If-Modified-Since": "Fri, 31 Dec 9999 23:59:59 GMT"}, 304),
        ("/static/style.css", {}, 200),
    ]
    for path, headers, status in cases:
        response = await client.get(path, headers=headers)
        assert response.status_code == status
        assert "Date" not in response.headers


# -- iter_encoded and direct_passthrough ----------------------------------------------------


def test_iter_encoded_in_sync_code() -> None:
    assert list(Response("héllo").iter_encoded()) == ["héllo".encode()]
    assert list(Response(["a", b"b"]).iter_encoded()) == [b"ab"]
    assert list(Response(b"").iter_encoded()) == []


async def test_iter_encoded_of_a_stream_in_async_code_says_what_to_do() -> None:
    async def gen() -> AsyncIterator[bytes]:
        yield b"x"

    assert list(Response(b"mem").iter_encoded()) == [b"mem"]
    response = Response(gen())
    with pytest.raises(RuntimeError, match=r"await response\.get_data"):
        response.iter_encoded()
    await response.close()


def test_send_file_is_direct_passthrough(app: Microframe, tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text("<p>hi</p>")
    with app.test_request_context():
        response = send_file(path)
        assert response.direct_passthrough
        assert response.mimetype == "text/html"
        assert response.data == b"<p>hi</p>"  # read all the same
        response.close()
    assert not Response("x").direct_passthrough


async def test_direct_passthrough_is_taken_as_werkzeug_takes_it(app: Microframe) -> None:
    # Flask code builds file responses through the response class with
    # werkzeug's argument: current_app.response_class(chunks, ..., direct_passthrough=True).
    @app.get("/file")
    def file() -> Response:
        chunks = iter([b"part one, ", b"part two"])
        return app.response_class(chunks, mimetype="text/plain", direct_passthrough=True)

    response = await app.test_client().get("/file")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert await response.get_data() == b"part one, part two"
    assert Response(b"x", 201, direct_passthrough=True).direct_passthrough


# -- MAX_COOKIE_SIZE --------------------------------------------------------------------------


def test_max_cookie_size_follows_the_app(app: Microframe) -> None:
    assert Response().max_cookie_size == 4093  # werkzeug's, outside an app
    app.config["MAX_COOKIE_SIZE"] = 100
    with app.app_context():
        assert Response().max_cookie_size == 100


async def test_too_large_cookie_warns_unless_the_limit_is_zero(app: Microframe) -> None:
    @app.get("/")
    async def index() -> Response:
        response = Response("", status=204)
        response.set_cookie("foo", "bar" * 100)
        return response

    app.config["MAX_COOKIE_SIZE"] = 100
    client = app.test_client()
    with pytest.warns(UserWarning, match="cookie is too large"):
        response = await client.get("/")
    assert response.headers["Set-Cookie"].startswith("foo=")  # still sent

    app.config["MAX_COOKIE_SIZE"] = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        await client.get("/")


# -- 304 Not Modified -------------------------------------------------------------------------


async def test_304_carries_no_body_headers(app: Microframe) -> None:
    @app.get("/conditional")
    async def conditional() -> Response:
        response = Response("compressed", headers={"Content-Encoding": "gzip"})
        response.set_etag("v1")
        response.expires = 0  # type: ignore[assignment]
        return await response.make_conditional(request)

    @app.get("/direct")
    async def direct() -> tuple[str, int, dict[str, str]]:
        return "", 304, {"Content-Encoding": "gzip", "Content-Language": "en"}

    client = app.test_client()
    for path, headers in [("/conditional", {"If-None-Match": '"v1"'}), ("/direct", {})]:
        response = await client.get(path, headers=headers)
        assert response.status_code == 304
        for name in ("Content-Encoding", "Content-Type", "Content-Length", "Content-Language"):
            assert name not in response.headers, (path, name)
        assert await response.get_data() == b""
    response = await client.get("/conditional", headers={"If-None-Match": '"v1"'})
    assert response.headers["ETag"] == '"v1"'
    assert "Expires" in response.headers  # kept, as werkzeug keeps it


# -- reading the response from sync code -------------------------------------------------------


async def test_sync_hooks_and_receivers_read_the_body_directly(app: Microframe) -> None:
    seen: list[Any] = []

    @app.get("/")
    async def index() -> str:
        return "stuff"

    @app.after_request
    def after(response: Response) -> Response:
        seen.append(("hook", response.get_data(), response.data, response.text))
        return response

    def finished(sender: Microframe, response: Response) -> None:
        seen.append(("signal", response.data, response.get_json(silent=True)))

    with request_finished.connected_to(finished, app):
        response = await app.test_client().get("/")
    assert await response.get_data() == b"stuff"
    assert seen == [("hook", b"stuff", b"stuff", "stuff"), ("signal", b"stuff", None)]


async def test_sync_receiver_reads_a_streamed_body(app: Microframe) -> None:
    seen: list[bytes] = []

    @app.get("/")
    async def index() -> Response:
        async def gen() -> AsyncIterator[str]:
            yield "a"
            yield "b"

        return Response(gen())

    def finished(sender: Microframe, response: Response) -> None:
        seen.append(response.get_data())

    with request_finished.connected_to(finished, app):
        response = await app.test_client().get("/")
    assert seen == [b"ab"]
    # Read by the receiver, the body is in memory and is still sent.
    assert await response.get_data() == b"ab"


async def test_setting_response_takes_what_werkzeug_takes() -> None:
    # Flask-Compress swaps the body for a generator of compressed chunks in
    # a sync after_request hook; werkzeug takes any iterable there.
    app = Microframe(__name__)

    @app.get("/<kind>")
    async def page(kind: str) -> str:
        return "hello"

    @app.after_request
    def swap(response: Response) -> Response:
        kind = request.view_args["kind"]
        if kind == "generator":
            original = response.get_data()
            threads.append(threading.get_ident())

            def chunks() -> Iterator[bytes]:
                threads.append(threading.get_ident())
                yield original.upper()
                yield b"!"

            response.response = stream_with_context(chunks())
        elif kind == "list":
            response.response = [b"a", "b"]
        elif kind == "text":
            response.response = "text"
        return response

    threads: list[int] = []
    client = app.test_client()
    streamed = await client.get("/generator")
    assert streamed.status_code == 200
    assert await streamed.get_data() == b"HELLO!"
    assert "Content-Length" not in streamed.headers
    assert len(set(threads)) == 1  # the hook and the generator: the request's worker thread
    listed = await client.get("/list")
    assert (listed.status_code, await listed.get_data()) == (200, b"ab")
    text = await client.get("/text")
    assert await text.get_data() == b"text"
    assert text.headers["Content-Length"] == "4"


# -- werkzeug's Response, as Flask's is ------------------------------------------------


async def test_a_response_is_a_werkzeug_response_for_extensions() -> None:
    # Flask-RESTful and flask-smorest pass a view's werkzeug Response
    # through unchanged and serialise anything else.
    from werkzeug.wrappers import Response as WerkzeugResponse

    app = Microframe(__name__)

    def passes_through(view: Any) -> Any:
        async def wrapper() -> Any:
            rv = await view()
            if isinstance(rv, WerkzeugResponse):
                return rv
            return {"data": rv}

        return wrapper

    @app.get("/response", endpoint="response")
    @passes_through
    async def made() -> Any:
        return jsonify(message="made")

    @app.get("/value", endpoint="value")
    @passes_through
    async def value() -> Any:
        return [1, 2]

    client = app.test_client()
    assert await (await client.get("/response")).get_json() == {"message": "made"}
    assert await (await client.get("/value")).get_json() == {"data": [1, 2]}
    assert issubclass(Response, WerkzeugResponse)


def test_werkzeug_response_methods_work_on_microframe_bodies() -> None:
    response = Response("hello")
    assert repr(response) == "<Response 5 bytes [200 OK]>"
    assert response.is_sequence
    assert response.calculate_content_length() == 5
    response.stream.write("!")
    response.stream.writelines([b" and", " more"])
    assert response.get_data() == b"hello! and more"
    assert response.headers["Content-Length"] == "15"

    streamed = Response(iter([b"a", b"b"]))
    assert repr(streamed) == "<Response streamed [200 OK]>"
    assert not streamed.is_sequence
    assert streamed.calculate_content_length() is None
    streamed.freeze()  # read into memory, with a length and an ETag, as werkzeug's
    assert streamed.is_sequence
    assert streamed.get_data() == b"ab"
    assert streamed.headers["Content-Length"] == "2"
    assert "ETag" in streamed.headers
    writer = streamed.stream
    writer.close()
    with pytest.raises(ValueError, match="closed file"):
        writer.write(b"x")


async def test_make_sequence_is_awaited_in_async_code() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"x"
        yield b"y"

    response = Response(chunks())
    with pytest.raises(RuntimeError, match="make_sequence"):
        response.stream.write(b"z")  # would have to read the stream here
    await response.make_sequence()
    assert response.is_sequence
    assert await response.get_data() == b"xy"
    assert response.headers["Content-Length"] == "2"


@pytest.mark.parametrize(
    ("autocorrect", "target", "expected"),
    [
        (False, "/elsewhere", "/elsewhere"),
        (True, "/elsewhere", "http://localhost/elsewhere"),
        (True, "sibling", "http://localhost/a/sibling"),
        (True, "https://example.com/x", "https://example.com/x"),
    ],
)
async def test_autocorrect_location_header(autocorrect: bool, target: str, expected: str) -> None:
    class Corrected(Response):
        autocorrect_location_header = autocorrect

    app = Microframe(__name__)
    app.response_class = Corrected

    @app.get("/a/b")
    async def moved() -> Any:
        return redirect(target)

    response = await app.test_client().get("/a/b?q=1")
    assert response.status_code == 302
    assert response.headers["Location"] == expected
