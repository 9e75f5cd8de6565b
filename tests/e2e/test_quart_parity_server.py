"""Quart parity (issue 16) against a real server: Hypercorn in its own process group.

The items written from Quart's documentation, seen by an HTTP client: the
response body classes and ``make_conditional`` (206, 416, 304), ``send_file``
with ``max_age=None`` and ``send_from_directory`` of a missing file, and the
limits Quart's ``Request`` constructor takes (413, 408).
"""

from __future__ import annotations

import socket
import textwrap
import time
from collections.abc import Iterator

import pytest
from live_server import LiveServer, read_until

APP_SOURCE = textwrap.dedent(
    """
    import io
    from pathlib import Path

    from microframe import Microframe, request, send_file, send_from_directory
    from microframe.wrappers import Request
    from microframe.wrappers.response import (
        DataBody, FileBody, IOBody, IterableBody, Response, ResponseBody,
    )

    HERE = Path(__file__).parent
    FILES = HERE / "files"


    class LimitedRequest(Request):
        # A Quart-style request class passing the constructor's limits.
        def __init__(self, *args, **kwargs):
            if kwargs.get("scope", {}).get("path", "").startswith("/limited"):
                kwargs.update(max_content_length=8, body_timeout=0.5)
            super().__init__(*args, **kwargs)


    app = Microframe(__name__)
    app.request_class = LimitedRequest


    @app.get("/body/<kind>")
    async def body(kind):
        make = {
            "data": lambda: DataBody(b"0123456789"),
            "file": lambda: FileBody(FILES / "digits.txt", buffer_size=3),
            "io": lambda: IOBody(io.BytesIO(b"0123456789")),
            "iterable": lambda: IterableBody([b"01234", b"56789"]),
        }[kind]
        response = Response(make(), mimetype="text/plain")
        response.set_etag(f"etag-{kind}")
        return await response.make_conditional(request, accept_ranges=True, complete_length=10)


    @app.get("/send-file")
    async def send_file_view():
        return await send_file(FILES / "digits.txt", max_age=None)


    @app.get("/no-mimetype")
    async def no_mimetype():
        return await send_file(io.BytesIO(b"nameless"))


    @app.get("/files/<path:name>")
    async def files(name):
        return await send_from_directory(FILES, name)


    class LinesBody(ResponseBody):
        # A Quart-style body of its own: the file is opened on entering and
        # closed on leaving, as Quart's FileBody does.
        streamed = True

        def __init__(self, path):
            self.path = path
            self.file = None

        async def __aenter__(self):
            self.file = open(self.path, "rb")
            return self

        async def __aexit__(self, *exc_info):
            self.file.close()
            CLOSED.append(self.path.name)

        def __aiter__(self):
            return self._lines()

        async def _lines(self):
            for line in self.file:
                yield line


    CLOSED = []


    @app.get("/own-body")
    async def own_body():
        return Response(LinesBody(FILES / "lines.txt"), mimetype="text/plain")


    @app.get("/closed")
    async def closed():
        return {"closed": CLOSED}


    @app.post("/limited")
    async def limited():
        return str(len(await request.get_data()))


    @app.post("/unlimited")
    async def unlimited():
        return str(len(await request.get_data()))
    """
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("quart_parity")
    (folder / "parity_app.py").write_text(APP_SOURCE)
    (folder / "files").mkdir()
    (folder / "files" / "digits.txt").write_bytes(b"0123456789")
    (folder / "files" / "lines.txt").write_bytes(b"one\ntwo\nthree\n")
    live = LiveServer("parity_app:app", [folder], log=folder / "server.log")
    try:
        live.wait_until_ready()
        yield live
    finally:
        live.stop()


@pytest.mark.parametrize("kind", ["data", "file", "io", "iterable"])
def test_bodies_are_sent_whole(server: LiveServer, kind: str) -> None:
    response, body = server.request("GET", f"/body/{kind}")
    assert response.status == 200
    assert body == b"0123456789"


@pytest.mark.parametrize("kind", ["data", "file", "io"])
def test_a_satisfiable_range_is_206(server: LiveServer, kind: str) -> None:
    response, body = server.request("GET", f"/body/{kind}", headers={"Range": "bytes=3-6"})
    assert response.status == 206
    assert response.getheader("Content-Range") == "bytes 3-6/10"
    assert response.getheader("Content-Length") == "4"
    assert body == b"3456"


@pytest.mark.parametrize("range_", ["bytes=20-30", "bytes=0-1,4-5"])
def test_an_unsatisfiable_range_is_416(server: LiveServer, range_: str) -> None:
    response, body = server.request("GET", "/body/file", headers={"Range": range_})
    assert response.status == 416
    assert response.getheader("Content-Range") == "bytes */10"
    assert b"Traceback" not in body


def test_if_none_match_is_304(server: LiveServer) -> None:
    response, body = server.request("GET", "/body/io", headers={"If-None-Match": '"etag-io"'})
    assert response.status == 304
    assert body == b""


def test_send_file_with_max_age_none_sends_no_max_age(server: LiveServer) -> None:
    response, body = server.request("GET", "/send-file")
    assert response.status == 200
    assert body == b"0123456789"
    assert response.getheader("Cache-Control") == "no-cache"
    assert response.getheader("Expires") is None


def test_send_from_directory_of_a_missing_file_is_404(server: LiveServer) -> None:
    response, body = server.request("GET", "/files/missing.txt")
    assert response.status == 404
    assert b"Traceback" not in body


def test_a_nameless_file_without_mimetype_is_a_server_error_without_traceback(
    server: LiveServer,
) -> None:
    response, body = server.request("GET", "/no-mimetype")
    assert response.status == 500
    assert b"Traceback" not in body
    assert b"mimetype" not in body  # the message is for the log, not the client


def test_max_content_length_given_to_the_constructor_is_413(server: LiveServer) -> None:
    response, _ = server.request("POST", "/limited", body=b"x" * 20)
    assert response.status == 413
    response, body = server.request("POST", "/limited", body=b"x" * 8)
    assert (response.status, body) == (200, b"8")
    # Other requests keep the app's (unlimited) configuration.
    response, body = server.request("POST", "/unlimited", body=b"x" * 20)
    assert (response.status, body) == (200, b"20")


def test_body_timeout_given_to_the_constructor_is_408(server: LiveServer) -> None:
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            b"POST /limited HTTP/1.1\r\nHost: localhost\r\nContent-Length: 6\r\n\r\nabc"
        )
        # The rest of the body never comes: the app's read times out.
        received = read_until(sock, b"\r\n")
    assert received.startswith(b"HTTP/1.1 408")
    assert time.monotonic() - started < 8


def test_a_body_of_its_own_is_entered_and_left(server: LiveServer) -> None:
    response, body = server.request("GET", "/own-body")
    assert response.status == 200
    assert body == b"one\ntwo\nthree\n"
    response, body = server.request("GET", "/closed")
    assert body == b'{"closed":["lines.txt"]}\n'
