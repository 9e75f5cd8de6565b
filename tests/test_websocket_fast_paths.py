"""What the websocket fast paths must keep: the remembered host, the skipped
hooks and coroutines, the reader started only when needed, and connection
objects freed without the cyclic garbage collector."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator
from typing import Any

import pytest
from test_websocket import _raw_websocket
from werkzeug.sansio.utils import get_host

from microframe import (
    Microframe,
    appcontext_popped,
    appcontext_pushed,
    copy_current_websocket_context,
    websocket,
)
from microframe.asgi import make_websocket
from microframe.ctx import WebsocketContext
from microframe.wrappers import Websocket, WebsocketDisconnect


def _scope(host: bytes | None, scheme: str = "ws") -> dict[str, Any]:
    headers = [(b"host", host)] if host is not None else []
    return {
        "type": "websocket",
        "scheme": scheme,
        "path": "/ws",
        "query_string": b"",
        "root_path": "",
        "headers": [*headers, (b"user-agent", b"test")],
        "server": ("server.test", 8000),
        "subprotocols": [],
    }


async def _nothing(*args: Any) -> Any:
    return None


# -- the host ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "scheme"),
    [
        (b"example.test", "ws"),
        (b"example.test:80", "ws"),
        (b"example.test:443", "wss"),
        (b"example.test:8080", "wss"),
        (b"Example.TEST:80", "http"),
        (b"[::1]:443", "https"),
        (b"bad host!", "ws"),
        (None, "ws"),
    ],
)
def test_remembered_host_is_werkzeugs(app: Microframe, host: bytes | None, scheme: str) -> None:
    # Asked twice: the second websocket gets the remembered value.
    for _ in range(2):
        ws = make_websocket(app, _scope(host, scheme), _nothing, _nothing)  # type: ignore[arg-type]
        header = host.decode("latin-1") if host is not None else None
        assert ws.host == get_host(ws.scheme, header, ws.server)
        assert ws.headers.get("Host") == header
        assert ws.headers["User-Agent"] == "test"


def test_host_property_of_a_subclass_is_used(app: Microframe) -> None:
    class Pinned(Websocket):
        @property
        def host(self) -> str:
            return "pinned.test"

    app.websocket_class = Pinned
    for _ in range(2):
        ws = make_websocket(app, _scope(b"example.test"), _nothing, _nothing)  # type: ignore[arg-type]
        assert ws.host == "pinned.test"


async def test_trusted_hosts_of_a_subclass_are_checked(app: Microframe) -> None:
    class Trusting(Websocket):
        trusted_hosts = ["good.test"]

    app.websocket_class = Trusting

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.send("in")

    # A good host is served (and remembered) and a bad one is still refused.
    for host, status in ((b"good.test", None), (b"bad.test", 400), (b"bad.test", 400)):
        sent = await _raw_websocket_with_host(app, host)
        if status is None:
            assert sent[1]["text"] == "in"
        else:
            assert sent[0]["status"] == status


async def _raw_websocket_with_host(app: Microframe, host: bytes) -> list[dict[str, Any]]:
    scope = {**_scope(host), "asgi": {"version": "3.0"}, "extensions": {"websocket.http.response": {}}}
    messages: Iterator[dict[str, Any]] = iter(
        [{"type": "websocket.connect"}, {"type": "websocket.disconnect", "code": 1000}]
    )
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)  # type: ignore[arg-type]
    return sent


# -- hooks and methods the fast paths skip ---------------------------------------


async def test_overridden_dispatch_methods_are_still_called() -> None:
    calls: list[str] = []

    class App(Microframe):
        async def preprocess_websocket(self, ctx: WebsocketContext) -> Any:
            calls.append("preprocess")
            return await super().preprocess_websocket(ctx)

        async def dispatch_websocket(self, ctx: WebsocketContext) -> Any:
            calls.append("dispatch")
            return await super().dispatch_websocket(ctx)

        async def do_teardown_websocket(self, exc: BaseException | None = None) -> None:
            calls.append(f"teardown {type(exc).__name__}")
            await super().do_teardown_websocket(exc)

    app = App(__name__)

    @app.websocket("/ws")
    async def handler() -> None:
        calls.append("handler")
        await websocket.receive()

    await _raw_websocket(app, "/ws", ["disconnect"])
    assert calls == ["preprocess", "dispatch", "handler", "teardown WebsocketDisconnect"]


async def test_context_signals_and_teardown_still_run(app: Microframe) -> None:
    events: list[str] = []

    def pushed(sender: Microframe) -> None:
        events.append("pushed")

    def popped(sender: Microframe) -> None:
        events.append("popped")

    @app.teardown_appcontext
    def teardown_app(exc: BaseException | None) -> None:
        events.append(f"teardown app {type(exc).__name__}")

    @app.websocket("/ws")
    async def handler() -> None:
        while True:
            await websocket.send(await websocket.receive())

    with appcontext_pushed.connected_to(pushed, app), appcontext_popped.connected_to(popped, app):
        # The sync receivers run on the worker thread, so pushing waits for
        # them: the client speaks once the handler is there to answer.
        sent = await _raw_websocket(app, "/ws", ["wait:0.05", "a", "disconnect"])
    assert [m.get("text") for m in sent] == [None, "a"]
    assert events == ["pushed", "teardown app WebsocketDisconnect", "popped"]


# -- the reader task -------------------------------------------------------------


async def test_no_reader_task_while_only_receiving(app: Microframe) -> None:
    counts: list[int] = []

    @app.websocket("/ws")
    async def handler() -> None:
        counts.append(len(asyncio.all_tasks()))
        while True:
            await websocket.receive()
            counts.append(len(asyncio.all_tasks()))

    await _raw_websocket(app, "/ws", ["wait:0.01", "a", "wait:0.01", "b", "disconnect"])
    assert counts == [counts[0]] * 3


async def test_receive_from_another_task_during_a_direct_read(app: Microframe) -> None:
    got: list[Any] = []

    @app.websocket("/ws")
    async def handler() -> None:
        @copy_current_websocket_context
        async def helper() -> Any:
            return await websocket.receive()

        task = asyncio.create_task(helper())
        # The handler's own read is in flight when the helper asks: the
        # helper waits for the reader, started once that read is done.
        got.append(await websocket.receive())
        got.append(await task)

    await _raw_websocket(app, "/ws", ["wait:0.01", "a", "b", "disconnect"])
    assert got == ["a", "b"]


async def test_waiting_elsewhere_after_receiving_is_cancelled_on_leaving(app: Microframe) -> None:
    events: list[Any] = []

    @app.teardown_websocket
    def teardown(exc: BaseException | None) -> None:
        events.append(type(exc).__name__)

    @app.websocket("/ws")
    async def handler() -> None:
        events.append(await websocket.receive())
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            events.append("cancelled")
            raise

    await _raw_websocket(app, "/ws", ["a", "wait:0.01", "disconnect"])
    assert events == ["a", "cancelled", "WebsocketDisconnect"]


async def test_server_cancelling_the_connection_reaches_the_handler(app: Microframe) -> None:
    events: list[Any] = []
    waiting = asyncio.Event()

    @app.teardown_websocket
    def teardown(exc: BaseException | None) -> None:
        events.append(("teardown", type(exc).__name__))

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.accept()
        waiting.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            events.append("cancelled")
            raise

    connection = asyncio.create_task(_raw_websocket(app, "/ws", ["wait:10"]))
    await waiting.wait()
    connection.cancel()
    with pytest.raises(asyncio.CancelledError):
        await connection
    assert events == ["cancelled", ("teardown", "CancelledError")]


# -- freeing a connection ----------------------------------------------------------


@pytest.fixture
def no_gc() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@pytest.mark.parametrize("catch", [False, True])
async def test_connection_is_freed_without_the_garbage_collector(
    app: Microframe, no_gc: None, catch: bool
) -> None:
    refs: list[weakref.ref[Any]] = []

    @app.websocket("/ws")
    async def handler() -> None:
        refs.append(weakref.ref(websocket._get_current_object()))  # type: ignore[attr-defined]
        try:
            while True:
                await websocket.send(await websocket.receive())
        except WebsocketDisconnect as gone:
            refs.append(weakref.ref(gone))
            if not catch:
                raise

    sent = await _raw_websocket(app, "/ws", ["a", "disconnect"])
    assert sent[1]["text"] == "a"
    assert len(refs) == 2
    assert [ref() for ref in refs] == [None, None]


def test_disconnect_keeps_its_traceback_during_teardown(app: Microframe) -> None:
    seen: list[Any] = []

    @app.teardown_websocket
    def teardown(exc: BaseException | None) -> None:
        seen.append(exc is not None and exc.__traceback__ is not None)

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.receive()

    asyncio.run(_raw_websocket(app, "/ws", ["disconnect"]))
    assert seen == [True]
