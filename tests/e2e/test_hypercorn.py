"""End to end: a real Hypercorn server in a subprocess, real HTTP requests."""

from __future__ import annotations

import signal
import textwrap
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from live_server import LiveServer

APP_SOURCE = textwrap.dedent(
    """
    from microframe import Microframe, request

    app = Microframe(__name__)


    @app.get("/")
    async def index():
        return "hello from hypercorn"


    @app.post("/form")
    async def form():
        data = await request.form
        return {"name": data["name"], "tags": data.getlist("tag")}


    @app.get("/stream")
    async def stream():
        async def gen():
            for i in range(3):
                yield f"part{i}\\n"

        return gen(), {"Content-Type": "text/plain"}


    @app.get("/sync")
    def sync_view():
        return {"q": request.args.get("q")}
    """
)

class Server(LiveServer):
    """A Hypercorn process serving the app module written into ``directory``."""

    def __init__(self, directory: Path) -> None:
        (directory / "e2e_app.py").write_text(APP_SOURCE)
        super().__init__("e2e_app:app", [directory], log=directory / "server.log")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("e2e_app"))
    try:
        running.wait_until_ready()
        yield running
    finally:
        running.stop()


def test_get(server: Server) -> None:
    response, body = server.request("GET", "/")
    assert response.status == 200
    assert response.getheader("Content-Type") == "text/html; charset=utf-8"
    assert response.getheader("Content-Length") == str(len(body))
    assert body == b"hello from hypercorn"


def test_post_form(server: Server) -> None:
    form = urlencode([("name", "Ada Lovelace"), ("tag", "a"), ("tag", "b")]).encode()
    response, body = server.request(
        "POST", "/form", form, {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status == 200
    assert response.getheader("Content-Type") == "application/json"
    assert body == b'{"name":"Ada Lovelace","tags":["a","b"]}\n'


def test_bad_form_is_400(server: Server) -> None:
    response, _ = server.request(
        "POST", "/form", b"--x\r\ngarbage", {"Content-Type": "multipart/form-data; boundary=x"}
    )
    assert response.status == 400


def test_not_found(server: Server) -> None:
    response, body = server.request("GET", "/missing")
    assert response.status == 404
    assert b"Not Found" in body


def test_streamed_response(server: Server) -> None:
    response, body = server.request("GET", "/stream")
    assert response.status == 200
    assert response.getheader("Transfer-Encoding") == "chunked"
    assert response.getheader("Content-Length") is None
    assert body == b"part0\npart1\npart2\n"


def test_head(server: Server) -> None:
    response, body = server.request("HEAD", "/")
    assert response.status == 200
    assert response.getheader("Content-Length") == "20"
    assert body == b""


def test_sync_view(server: Server) -> None:
    response, body = server.request("GET", "/sync?q=thread")
    assert response.status == 200
    assert body == b'{"q":"thread"}\n'


def test_sigterm_stops_the_server(tmp_path: Path) -> None:
    running = Server(tmp_path)
    try:
        running.wait_until_ready()
        response, _ = running.request("GET", "/")
        assert response.status == 200
        code = running.terminate()
        assert running.process.poll() is not None
        assert code in (0, -signal.SIGTERM)
    finally:
        running.stop()
