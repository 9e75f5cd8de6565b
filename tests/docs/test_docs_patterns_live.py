"""The patterns and guides whose behaviour depends on the server, checked
against a real Hypercorn server: streaming, server-sent events, streamed
uploads, limits, WSGI middleware (method overrides, request checksums, a
mounted app), websockets, background tasks and startup. The test client
gives the same answers (the other modules of this folder)."""

from __future__ import annotations

import hashlib
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_server import LiveServer
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

APP_SOURCE = textwrap.dedent(
    '''
    import asyncio
    import hashlib

    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    from microframe import Microframe, abort, make_response, request, stream_with_context, websocket

    app = Microframe(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 1000
    STATE = {}


    @app.before_serving
    async def startup():
        STATE["started"] = True


    @app.get("/state")
    async def state():
        return STATE


    @app.get("/stream")
    def stream():
        @stream_with_context
        def generate():
            for n in range(3):
                yield f"{request.args['word']} {n}\\n"

        return generate(), {"Content-Type": "text/plain"}


    @app.get("/sse")
    async def sse():
        if "text/event-stream" not in request.accept_mimetypes:
            abort(400)

        async def send_events():
            n = 0
            try:
                while n < 10_000:
                    n += 1
                    yield f"data: tick {n}\\nid: {n}\\n\\n".encode()
                    await asyncio.sleep(0.02)
            finally:
                STATE["sse_closed"] = n

        response = await make_response(
            send_events(),
            {"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
             "Transfer-Encoding": "chunked"},
        )
        response.timeout = None
        return response


    @app.post("/upload")
    async def upload():
        total = 0
        async for data in request.body:
            total += len(data)
        return {"total": total}


    @app.post("/file")
    async def file():
        files = await request.files
        if "file" not in files:
            abort(400)
        return {"size": len(files["file"].read())}


    @app.route("/item", methods=["POST", "PATCH", "DELETE"])
    async def item():
        return {"method": request.method, "body": (await request.get_data()).decode()}


    @app.post("/special-api")
    def special_api():
        files = request.files
        return {"file": files["f"].read().decode(), "hash": HASHES[-1].hexdigest()}


    async def job(name):
        await asyncio.sleep(0.05)
        STATE["job"] = name


    @app.post("/jobs/")
    async def create_job():
        app.add_background_task(job, (await request.get_json())["name"])
        return "Job created", 202


    @app.websocket("/ws")
    async def ws():
        while True:
            await websocket.send(await websocket.receive())


    @app.websocket("/private")
    async def private():
        if websocket.headers.get("X-Token") != "secret":
            abort(401)
        await websocket.send("welcome")


    backend = Microframe("backend")


    @backend.get("/")
    def backend_index():
        from microframe import url_for
        return f"backend {url_for('backend_index')}"


    class MethodOverride:
        def __init__(self, app):
            self.app = app

        def __call__(self, environ, start_response):
            method = environ.get("HTTP_X_HTTP_METHOD_OVERRIDE", "").upper()
            if method in {"PATCH", "DELETE"}:
                environ["REQUEST_METHOD"] = method
            if method == "DELETE":
                environ["CONTENT_LENGTH"] = "0"
            return self.app(environ, start_response)


    class ChecksumCalcStream:
        def __init__(self, stream):
            self._stream = stream
            self._hash = hashlib.sha1()

        def read(self, size=-1):
            rv = self._stream.read(size)
            self._hash.update(rv)
            return rv

        def readline(self, size_hint=-1):
            rv = self._stream.readline(size_hint)
            self._hash.update(rv)
            return rv


    def checksums(wsgi_app):
        def middleware(environ, start_response):
            stream = ChecksumCalcStream(environ["wsgi.input"])
            environ["wsgi.input"] = stream
            HASHES.append(stream._hash)
            return wsgi_app(environ, start_response)
        return middleware


    HASHES = []
    mounted = DispatcherMiddleware(app.wsgi_app, {"/backend": backend.wsgi_app})
    app.wsgi_app = MethodOverride(checksums(mounted))
    '''
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    directory: Path = tmp_path_factory.mktemp("docs_live_app")
    (directory / "docs_live_app.py").write_text(APP_SOURCE)
    running = LiveServer("docs_live_app:app", [directory], log=directory / "server.log")
    try:
        running.wait_until_ready()
        yield running
    finally:
        running.stop()


def _url(server: LiveServer, path: str) -> str:
    return f"http://127.0.0.1:{server.port}{path}"


def _state(server: LiveServer, key: str, seconds: float = 5) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        state = httpx.get(_url(server, "/state"), timeout=5).json()
        if key in state or time.monotonic() > deadline:
            return state.get(key)
        time.sleep(0.05)


def test_startup_ran_before_the_first_request(server: LiveServer) -> None:
    assert _state(server, "started") is True


def test_a_streamed_response_with_context(server: LiveServer) -> None:
    with httpx.stream("GET", _url(server, "/stream?word=hi"), timeout=5) as response:
        assert response.headers["Content-Type"] == "text/plain"
        assert "".join(response.iter_text()) == "hi 0\nhi 1\nhi 2\n"


def test_server_sent_events_end_when_the_client_leaves(server: LiveServer) -> None:
    headers = {"Accept": "text/event-stream"}
    with httpx.stream("GET", _url(server, "/sse"), headers=headers, timeout=5) as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "text/event-stream"
        lines = response.iter_lines()
        assert next(lines) == "data: tick 1"
        assert next(lines) == "id: 1"
    assert 0 < _state(server, "sse_closed") < 10_000
    refused = httpx.get(_url(server, "/sse"), headers={"Accept": "text/html"}, timeout=5)
    assert refused.status_code == 400


def test_a_chunked_upload_streamed_into_the_view(server: LiveServer) -> None:
    def body() -> Iterator[bytes]:
        for _ in range(4):
            yield b"x" * 100

    response = httpx.post(_url(server, "/upload"), content=body(), timeout=5)
    assert response.json() == {"total": 400}
    too_big = httpx.post(_url(server, "/upload"), content=(b"y" * 600 for _ in range(2)), timeout=5)
    assert too_big.status_code == 413


def test_upload_limits_and_missing_parts(server: LiveServer) -> None:
    ok = httpx.post(_url(server, "/file"), files={"file": ("a.txt", b"a" * 100)}, timeout=5)
    assert ok.json() == {"size": 100}
    big = httpx.post(_url(server, "/file"), files={"file": ("a.txt", b"a" * 2000)}, timeout=5)
    assert big.status_code == 413
    assert httpx.post(_url(server, "/file"), data={"x": "1"}, timeout=5).status_code == 400
    assert httpx.get(_url(server, "/file"), timeout=5).status_code == 405
    assert httpx.get(_url(server, "/nothing-here"), timeout=5).status_code == 404


def test_wsgi_middleware_method_override(server: LiveServer) -> None:
    patch = httpx.post(
        _url(server, "/item"), content=b"a=1", headers={"X-HTTP-Method-Override": "PATCH"}, timeout=5
    )
    assert patch.json() == {"method": "PATCH", "body": "a=1"}
    delete = httpx.post(
        _url(server, "/item"), content=b"gone", headers={"X-HTTP-Method-Override": "DELETE"}, timeout=5
    )
    assert delete.json() == {"method": "DELETE", "body": ""}


def test_wsgi_middleware_request_checksum(server: LiveServer) -> None:
    request = httpx.Request("POST", _url(server, "/special-api"), files={"f": ("f.txt", b"payload")})
    sent = request.read()
    with httpx.Client(timeout=5) as client:
        response = client.send(request)
    assert response.status_code == 200
    assert response.json() == {"file": "payload", "hash": hashlib.sha1(sent).hexdigest()}


def test_an_app_mounted_by_werkzeugs_dispatcher(server: LiveServer) -> None:
    assert httpx.get(_url(server, "/backend/"), timeout=5).text == "backend /backend/"


def test_websockets_echo_and_refusal(server: LiveServer) -> None:
    with connect(f"ws://127.0.0.1:{server.port}/ws", open_timeout=5) as ws:
        ws.send("hello")
        assert ws.recv(timeout=5) == "hello"
    with (
        pytest.raises(InvalidStatus) as refused,
        connect(f"ws://127.0.0.1:{server.port}/private", open_timeout=5),
    ):
        pass
    assert refused.value.response.status_code == 401
    with connect(
        f"ws://127.0.0.1:{server.port}/private", additional_headers={"X-Token": "secret"}, open_timeout=5
    ) as ws:
        assert ws.recv(timeout=5) == "welcome"


def test_a_background_task_runs_after_the_response(server: LiveServer) -> None:
    response = httpx.post(_url(server, "/jobs/"), json={"name": "nightly"}, timeout=5)
    assert (response.status_code, response.text) == (202, "Job created")
    assert _state(server, "job") == "nightly"
