"""End to end: websockets, server-sent events, streamed uploads and background
tasks on a real Hypercorn server, with real clients."""

from __future__ import annotations

import json
import os
import signal
import socket
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_server import LiveServer
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

APP_SOURCE = textwrap.dedent(
    """
    import asyncio
    import os
    import time

    from microframe import Microframe, abort, after_this_websocket, request, session, websocket
    from microframe.sse import ServerSentEvent, sse_response
    from microframe.wrappers import WebsocketDisconnect

    app = Microframe(__name__)
    app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"] = 1.0
    app.secret_key = "e2e"
    STATE = {}
    MARKERS = os.environ["E2E_MARKERS"]


    def note(key, value):
        STATE[key] = value


    @app.get("/state")
    async def state():
        return STATE


    @app.websocket("/echo")
    async def echo():
        while True:
            await websocket.send(await websocket.receive())


    @app.websocket("/json")
    async def json_echo():
        data = await websocket.receive_json()
        await websocket.send_json({"got": data})


    @app.websocket("/proto")
    async def proto():
        await websocket.accept(subprotocol=websocket.requested_subprotocols[-1])
        await websocket.send(websocket.subprotocol)


    @app.websocket("/private")
    async def private():
        if websocket.args.get("token") != "secret":
            abort(403, "Members only")
        await websocket.send("welcome")


    @app.websocket("/once")
    async def once():
        # Refused before accepting: the response carries the session.
        if session.get("refused"):
            await websocket.send("second try")
            return None
        session["refused"] = True
        return "come back", 401


    @app.websocket("/close")
    async def close():
        await websocket.send("closing")
        await websocket.close(4001, "bye now")


    @app.websocket("/fail")
    async def fail():
        await websocket.send("about to fail")
        raise RuntimeError("handler failed")


    @app.websocket("/ticker")
    async def ticker():
        try:
            n = 0
            while True:
                n += 1
                await websocket.send(str(n))
                await asyncio.sleep(0.02)
        finally:
            note("ticker finally", n)


    @app.websocket("/after")
    async def after():
        @after_this_websocket
        def slow_after(response):
            time.sleep(0.3)  # on the worker thread; the client has left meanwhile
            note("after ran", True)
            return response

        await websocket.send("done")


    @app.teardown_websocket
    async def ws_teardown(exc):
        if websocket.path in ("/ticker", "/after"):
            note(f"{websocket.path} teardown", type(exc).__name__)


    @app.get("/events")
    async def events():
        async def stream():
            n = 0
            try:
                while True:
                    n += 1
                    yield ServerSentEvent(f"tick {n}", event="tick", id=str(n))
                    await asyncio.sleep(0.02)
            finally:
                note("sse finally", n)

        return sse_response(stream(), keepalive=1)


    @app.post("/upload")
    async def upload():
        request.max_content_length = 100 * 1024 * 1024
        total = 0
        async for chunk in request.body:
            total += len(chunk)
            note("upload received", total)
        return {"total": total}


    @app.post("/shout")
    async def shout():
        # Quart's streaming echo: the response reads the body as it sends.
        async def chunks():
            async for chunk in request.body:
                yield chunk.upper()

        return chunks()


    @app.teardown_request
    async def http_teardown(exc):
        if request.path == "/upload":
            note("upload teardown", type(exc).__name__)


    async def slow_job(name, seconds):
        try:
            await asyncio.sleep(seconds)
            note(name, "done")
            with open(os.path.join(MARKERS, name), "w") as file:
                file.write("done")
        except asyncio.CancelledError:
            with open(os.path.join(MARKERS, name), "w") as file:
                file.write("cancelled")
            raise


    @app.post("/job/<name>/<float:seconds>")
    async def job(name, seconds):
        app.add_background_task(slow_job, name, seconds)
        return "queued"
    """
)

class Server(LiveServer):
    """A Hypercorn process serving the realtime app written into ``directory``."""

    def __init__(self, directory: Path) -> None:
        (directory / "realtime_app.py").write_text(APP_SOURCE)
        self.markers = directory / "markers"
        self.markers.mkdir()
        super().__init__(
            "realtime_app:app",
            [directory],
            env={"E2E_MARKERS": str(self.markers)},
            log=directory / "server.log",
        )

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def state(self) -> dict[str, Any]:
        response = httpx.get(f"{self.http}/state", timeout=5)
        data: dict[str, Any] = response.json()
        return data

    def wait_for_state(self, check: Callable[[dict[str, Any]], bool], seconds: float = 5) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while True:
            state = self.state()
            if check(state) or time.monotonic() > deadline:
                return state
            time.sleep(0.05)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("realtime_app"))
    try:
        running.wait_until_ready()
        yield running
    finally:
        running.stop()


# -- websockets -------------------------------------------------------------------


def test_echo(server: Server) -> None:
    with connect(f"{server.ws}/echo", open_timeout=5, close_timeout=2) as ws:
        ws.send("hello")
        assert ws.recv(timeout=5) == "hello"
        ws.send(b"\x00\xff")
        assert ws.recv(timeout=5) == b"\x00\xff"


def test_json(server: Server) -> None:
    with connect(f"{server.ws}/json", open_timeout=5, close_timeout=2) as ws:
        ws.send(json.dumps({"a": [1, 2]}))
        assert json.loads(ws.recv(timeout=5)) == {"got": {"a": [1, 2]}}


def test_subprotocol(server: Server) -> None:
    with connect(
        f"{server.ws}/proto", subprotocols=["chat.v1", "chat.v2"],  # type: ignore[list-item]
        open_timeout=5, close_timeout=2,
    ) as ws:
        assert ws.subprotocol == "chat.v2"
        assert ws.recv(timeout=5) == "chat.v2"


def test_rejected_handshake_shows_http_response(server: Server) -> None:
    with pytest.raises(InvalidStatus) as info, connect(f"{server.ws}/private", open_timeout=5):
        pass
    response = info.value.response
    assert response.status_code == 403
    assert b"Members only" in response.body
    with connect(f"{server.ws}/private?token=secret", open_timeout=5, close_timeout=2) as ws:
        assert ws.recv(timeout=5) == "welcome"


def test_session_saved_on_a_refused_handshake(server: Server) -> None:
    with pytest.raises(InvalidStatus) as info, connect(f"{server.ws}/once", open_timeout=5):
        pass
    response = info.value.response
    assert response.status_code == 401
    cookie = response.headers["Set-Cookie"].partition(";")[0]
    assert cookie.startswith("session=")
    with connect(
        f"{server.ws}/once", additional_headers={"Cookie": cookie}, open_timeout=5, close_timeout=2
    ) as ws:
        assert ws.recv(timeout=5) == "second try"


def test_missing_route_is_404(server: Server) -> None:
    with pytest.raises(InvalidStatus) as info, connect(f"{server.ws}/nowhere", open_timeout=5):
        pass
    assert info.value.response.status_code == 404


def test_server_close_code(server: Server) -> None:
    with connect(f"{server.ws}/close", open_timeout=5, close_timeout=2) as ws:
        assert ws.recv(timeout=5) == "closing"
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=5)
    assert info.value.rcvd is not None
    assert (info.value.rcvd.code, info.value.rcvd.reason) == (4001, "bye now")


def test_error_after_accept_is_1011(server: Server) -> None:
    with connect(f"{server.ws}/fail", open_timeout=5, close_timeout=2) as ws:
        assert ws.recv(timeout=5) == "about to fail"
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=5)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1011


def test_client_disconnect_mid_stream(server: Server) -> None:
    with connect(f"{server.ws}/ticker", open_timeout=5, close_timeout=2) as ws:
        assert ws.recv(timeout=5) == "1"
        assert ws.recv(timeout=5) == "2"
    state = server.wait_for_state(lambda s: "/ticker teardown" in s)
    assert state["/ticker teardown"] == "WebsocketDisconnect"
    assert state["ticker finally"] >= 2


def test_after_functions_finish_when_the_client_leaves_after_the_handler(server: Server) -> None:
    # The handler is done; the client closing meanwhile must not cancel its
    # after_this_websocket function, and teardown sees no error.
    with connect(f"{server.ws}/after", open_timeout=5, close_timeout=2) as ws:
        assert ws.recv(timeout=5) == "done"
    state = server.wait_for_state(lambda s: "/after teardown" in s)
    assert state.get("after ran") is True
    assert state["/after teardown"] == "NoneType"


# -- HTTP streaming ------------------------------------------------------------------


def test_sse_read_by_http_client(server: Server) -> None:
    events: list[str] = []
    with httpx.stream("GET", f"{server.http}/events", timeout=5) as response:
        assert response.headers["content-type"] == "text/event-stream"
        assert response.headers["cache-control"] == "no-cache"
        for line in response.iter_lines():
            if line.startswith("data: "):
                events.append(line[6:])
            if len(events) == 3:
                break
    assert events == ["tick 1", "tick 2", "tick 3"]
    state = server.wait_for_state(lambda s: "sse finally" in s)
    assert state["sse finally"] >= 3


def test_large_upload_streams(server: Server) -> None:
    size = 30 * 1024 * 1024
    chunk = b"u" * (1024 * 1024)

    def body() -> Iterator[bytes]:
        for _ in range(size // len(chunk)):
            yield chunk

    response = httpx.post(
        f"{server.http}/upload", content=body(), headers={"Content-Length": str(size)}, timeout=10
    )
    assert response.status_code == 200
    assert response.json() == {"total": size}


@pytest.mark.parametrize("declared", ["chunked", "length"])
def test_a_streamed_response_reads_the_body_as_it_sends(server: Server, declared: str) -> None:
    # The stream's watch for the client leaving reads the connection too: it
    # must hand every body chunk on (it dropped them, and the echo hung).
    parts = [bytes([97 + n % 26]) * 50_000 for n in range(40)]  # 2 MB, in pieces
    headers = {"Content-Length": str(sum(map(len, parts)))} if declared == "length" else {}
    response = httpx.post(f"{server.http}/shout", content=iter(parts), headers=headers, timeout=10)
    assert response.status_code == 200
    assert response.content == b"".join(parts).upper()


def test_client_disconnect_mid_upload(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(
            b"POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10000000\r\n\r\n"
        )
        sock.sendall(b"x" * 200_000)
        deadline = time.monotonic() + 5
        while server.state().get("upload received", 0) < 200_000 and time.monotonic() < deadline:
            time.sleep(0.02)
    state = server.wait_for_state(lambda s: "upload teardown" in s)
    assert state["upload teardown"] == "ClientDisconnected"


# -- background tasks --------------------------------------------------------------------


def test_background_task_completes(server: Server) -> None:
    response = httpx.post(f"{server.http}/job/quick/0.05", timeout=5)
    assert response.text == "queued"
    state = server.wait_for_state(lambda s: "quick" in s)
    assert state["quick"] == "done"


def test_shutdown_waits_then_cancels(tmp_path: Path) -> None:
    running = Server(tmp_path)
    try:
        running.wait_until_ready()
        assert httpx.post(f"{running.http}/job/finishes/0.3", timeout=5).status_code == 200
        assert httpx.post(f"{running.http}/job/stuck/30.0", timeout=5).status_code == 200
        os.kill(running.process.pid, signal.SIGTERM)
        running.process.wait(timeout=10)
        assert (running.markers / "finishes").read_text() == "done"
        assert (running.markers / "stuck").read_text() == "cancelled"
        assert "Cancelled background task slow_job" in running.output()
    finally:
        running.stop()
