"""Websockets through the test client and raw ASGI: handlers, handshake,
hooks, contexts, errors and disconnects."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from werkzeug.exceptions import Forbidden

from microframe import (
    Blueprint,
    Microframe,
    Response,
    abort,
    after_this_websocket,
    copy_current_websocket_context,
    g,
    got_websocket_exception,
    has_request_context,
    has_websocket_context,
    session,
    url_for,
    websocket,
    websocket_finished,
    websocket_started,
    websocket_tearing_down,
)
from microframe.testing import MicroframeClient, WebsocketResponseError
from microframe.wrappers import Websocket, WebsocketDisconnect

# -- messages ------------------------------------------------------------------


async def test_echo_text_and_bytes(app: Microframe, client: MicroframeClient) -> None:
    @app.websocket("/ws")
    async def echo() -> None:
        while True:
            await websocket.send(await websocket.receive())

    async with client.websocket("/ws") as ws:
        await ws.send("hello")
        assert await ws.receive() == "hello"
        await ws.send(b"\x00\x01")
        assert await ws.receive() == b"\x00\x01"


async def test_json_uses_app_provider(app: Microframe, client: MicroframeClient) -> None:
    @app.websocket("/ws")
    async def handler() -> None:
        data = await websocket.receive_json()
        await websocket.send_json({"got": data, "n": 1})
        await websocket.send_json(a=1)

    async with client.websocket("/ws") as ws:
        await ws.send_json([1, "x"])
        assert await ws.receive_json() == {"got": [1, "x"], "n": 1}
        assert await ws.receive_json() == {"a": 1}
        with pytest.raises(WebsocketDisconnect) as info:
            await ws.receive()
        assert info.value.code == 1000


async def test_send_rejects_other_types(app: Microframe, client: MicroframeClient) -> None:
    errors: list[BaseException] = []

    @app.websocket("/ws")
    async def handler() -> None:
        try:
            await websocket.send(123)  # type: ignore[arg-type]
        except TypeError as error:
            errors.append(error)
        await websocket.send("ok")

    async with client.websocket("/ws") as ws:
        assert await ws.receive() == "ok"
    assert "send_json" in str(errors[0])


async def test_request_attributes(app: Microframe, client: MicroframeClient) -> None:
    @app.websocket("/ws/<int:room>")
    async def handler(room: int) -> None:
        await websocket.send_json(
            {
                "room": room,
                "path": websocket.path,
                "args": websocket.args.to_dict(),
                "header": websocket.headers.get("X-Token"),
                "scheme": websocket.scheme,
                "method": websocket.method,
                "endpoint": websocket.endpoint,
                "protocols": websocket.requested_subprotocols,
                "host": websocket.host,
            }
        )

    async with client.websocket(
        "/ws/7?q=x", headers={"X-Token": "t"}, subprotocols=["a", "b"]
    ) as ws:
        assert await ws.receive_json() == {
            "room": 7,
            "path": "/ws/7",
            "args": {"q": "x"},
            "header": "t",
            "scheme": "ws",
            "method": "GET",
            "endpoint": "handler",
            "protocols": ["a", "b"],
            "host": "localhost",
        }


async def test_subprotocol_and_accept_headers(app: Microframe, client: MicroframeClient) -> None:
    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.accept(headers={"X-Chosen": "yes"}, subprotocol="chat.v2")
        await websocket.send(websocket.subprotocol or "")

    async with client.websocket("/ws", subprotocols=["chat.v1", "chat.v2"]) as ws:
        assert ws.subprotocol == "chat.v2"
        assert ws.headers is not None and ws.headers["X-Chosen"] == "yes"
        assert await ws.receive() == "chat.v2"


async def test_unrequested_subprotocol_is_an_error(app: Microframe, client: MicroframeClient) -> None:
    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.accept(subprotocol="nope")

    with pytest.raises(ValueError, match="not requested"):
        async with client.websocket("/ws", subprotocols=["chat"]):
            pass


# -- rejecting the handshake ---------------------------------------------------


async def test_abort_before_accept_rejects_with_response(
    app: Microframe, client: MicroframeClient
) -> None:
    @app.websocket("/ws")
    async def handler() -> None:
        if websocket.args.get("token") != "secret":
            abort(403, "No entry")
        await websocket.send("in")

    with pytest.raises(WebsocketResponseError) as info:
        async with client.websocket("/ws"):
            pass
    response = info.value.response
    assert response.status_code == 403
    assert "No entry" in await response.get_data(as_text=True)
    async with client.websocket("/ws?token=secret") as ws:
        assert await ws.receive() == "in"


async def test_returned_response_rejects(app: Microframe, client: MicroframeClient) -> None:
    @app.websocket("/ws")
    async def handler() -> Any:
        return "Go away", 401, {"X-Why": "auth"}

    with pytest.raises(WebsocketResponseError) as info:
        async with client.websocket("/ws"):
            pass
    assert info.value.response.status_code == 401
    assert info.value.response.headers["X-Why"] == "auth"
    assert await info.value.response.get_data() == b"Go away"


async def test_before_websocket_response_rejects(app: Microframe, client: MicroframeClient) -> None:
    calls: list[str] = []

    @app.before_websocket
    async def check() -> Any:
        calls.append("before")
        return "nope", 403

    @app.websocket("/ws")
    async def handler() -> None:
        calls.append("handler")

    with pytest.raises(WebsocketResponseError) as info:
        async with client.websocket("/ws"):
            pass
    assert info.value.response.status_code == 403
    assert calls == ["before"]


async def test_no_route_is_404(app: Microframe, client: MicroframeClient) -> None:
    with pytest.raises(WebsocketResponseError) as info:
        async with client.websocket("/missing"):
            pass
    assert info.value.response.status_code == 404


async def test_http_route_is_not_a_websocket_route(app: Microframe, client: MicroframeClient) -> None:
    @app.get("/page")
    async def page() -> str:
        return "page"

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.send("x")

    with pytest.raises(WebsocketResponseError) as info:
        async with client.websocket("/page"):
            pass
    assert info.value.response.status_code == 400
    response = await client.get("/ws")
    assert response.status_code == 400


async def test_without_http_response_extension_closes_1008(app: Microframe) -> None:
    @app.websocket("/ws")
    async def handler() -> None:
        abort(403)

    sent = await _raw_websocket(app, "/ws", [], extensions={})
    assert sent == [{"type": "websocket.close", "code": 1008, "reason": ""}]


async def test_error_handler_for_websocket(app: Microframe, client: MicroframeClient) -> None:
    class Denied(Exception):
        pass

    @app.errorhandler(Denied)
    async def denied(error: Denied) -> Any:
        return "denied", 403

    @app.websocket("/ws")
    async def handler() -> None:
        raise Denied()

    with pytest.raises(WebsocketResponseError) as info:
        async with client.websocket("/ws"):
            pass
    assert info.value.response.status_code == 403


# -- errors ------------------------------------------------------------------


async def test_error_after_accept_closes_1011(app: Microframe, client: MicroframeClient) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    seen: list[BaseException | None] = []

    @app.teardown_websocket
    async def teardown(exc: BaseException | None) -> None:
        seen.append(exc)

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.send("first")
        raise ValueError("boom")

    async with client.websocket("/ws") as ws:
        assert await ws.receive() == "first"
        with pytest.raises(WebsocketDisconnect) as info:
            await ws.receive()
        assert info.value.code == 1011
    assert isinstance(seen[0], ValueError)


async def test_error_after_accept_runs_the_500_handler_and_after_websocket(
    app: Microframe, client: MicroframeClient
) -> None:
    # As Quart: the error is answered (a 500 that cannot be sent once the
    # connection is accepted) and after_websocket hooks see that answer.
    app.config["PROPAGATE_EXCEPTIONS"] = False
    seen: list[object] = []

    @app.errorhandler(500)
    async def server_error(error: Exception) -> Any:
        seen.append(("handler", type(getattr(error, "original_exception", None)).__name__))
        return "failed", 500

    @app.after_websocket
    async def after(response: Any) -> Any:
        seen.append(("after", response.status_code if response is not None else None))
        return response

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.accept()
        raise ValueError("boom")

    async with client.websocket("/ws") as ws:
        with pytest.raises(WebsocketDisconnect) as info:
            await ws.receive()
    assert info.value.code == 1011
    assert seen == [("handler", "ValueError"), ("after", 500)]


async def test_error_before_accept_is_500(app: Microframe, client: MicroframeClient) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.websocket("/ws")
    async def handler() -> None:
        raise ValueError("boom")

    with pytest.raises(WebsocketResponseError) as info:
        async with client.websocket("/ws"):
            pass
    assert info.value.response.status_code == 500


async def test_error_propagates_in_testing(app: Microframe, client: MicroframeClient) -> None:
    received: list[Any] = []

    def on_error(sender: Any, exception: BaseException) -> None:
        received.append(exception)

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.send("first")
        raise ValueError("boom")

    with got_websocket_exception.connected_to(on_error, app), pytest.raises(ValueError, match="boom"):
        async with client.websocket("/ws") as ws:
            assert await ws.receive() == "first"
            await ws.receive()
    assert isinstance(received[0], ValueError)


async def test_error_logged(app: Microframe, client: MicroframeClient, caplog: Any) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.accept()
        raise ValueError("logged boom")

    async with client.websocket("/ws") as ws:
        with pytest.raises(WebsocketDisconnect):
            await ws.receive()
    assert "Exception on websocket /ws" in caplog.text


async def test_server_close_code(app: Microframe, client: MicroframeClient) -> None:
    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.send("bye")
        await websocket.close(4001, "done")
        with pytest.raises(RuntimeError, match="closed"):
            await websocket.send("after")

    async with client.websocket("/ws") as ws:
        assert await ws.receive() == "bye"
        with pytest.raises(WebsocketDisconnect) as info:
            await ws.receive()
        assert (info.value.code, info.value.reason) == (4001, "done")


def test_sync_handler_refused(app: Microframe) -> None:
    with pytest.raises(TypeError, match="async def"):

        @app.websocket("/ws")  # type: ignore[type-var]
        def handler() -> None:
            pass

    def plain() -> str:
        return "x"

    with pytest.raises(TypeError, match="coroutine function"):
        app.add_url_rule("/ws2", view_func=plain, websocket=True)


# -- disconnects -------------------------------------------------------------


async def test_client_disconnect_in_receive(app: Microframe, client: MicroframeClient) -> None:
    events: list[Any] = []

    @app.teardown_websocket
    async def teardown(exc: BaseException | None) -> None:
        events.append(("teardown", exc))

    @app.websocket("/ws")
    async def handler() -> None:
        try:
            await websocket.receive()
        except WebsocketDisconnect as gone:
            events.append(("gone", gone.code))
            raise

    async with client.websocket("/ws") as ws:
        await ws.close(4003)
    assert events[0] == ("gone", 4003)
    assert events[1][0] == "teardown"
    assert isinstance(events[1][1], WebsocketDisconnect)


async def test_client_disconnect_while_only_sending(app: Microframe) -> None:
    events: list[Any] = []

    @app.teardown_websocket
    async def teardown(exc: BaseException | None) -> None:
        events.append(("teardown", type(exc).__name__))

    @app.websocket("/ticker")
    async def ticker() -> None:
        try:
            while True:
                await websocket.send("tick")
                await asyncio.sleep(0.01)
        finally:
            events.append("finally")

    before = len(asyncio.all_tasks())
    sent = await _raw_websocket(app, "/ticker", ["wait:0.05", "disconnect"])
    assert sent[0]["type"] == "websocket.accept"
    assert any(m.get("text") == "tick" for m in sent)
    assert events == ["finally", ("teardown", "WebsocketDisconnect")]
    assert len(asyncio.all_tasks()) == before


async def test_disconnect_while_handler_busy_cancels_it(app: Microframe) -> None:
    seen: list[Any] = []

    @app.teardown_websocket
    async def teardown(exc: BaseException | None) -> None:
        assert isinstance(exc, WebsocketDisconnect)
        seen.append(exc.code)

    @app.websocket("/ws")
    async def handler() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    await _raw_websocket(app, "/ws", ["disconnect"])
    assert seen == ["cancelled", 1001]


async def test_disconnect_seen_by_later_receive_and_send(app: Microframe) -> None:
    seen: list[Any] = []

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.accept()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            pass
        for call in (websocket.receive(), websocket.send("x")):
            try:
                await call
            except WebsocketDisconnect as gone:
                seen.append(gone.code)

    sent = await _raw_websocket(app, "/ws", ["wait:0.02", "disconnect"])
    assert seen == [1001, 1001]
    assert sent == [{"type": "websocket.accept", "subprotocol": None}]


# -- hooks, contexts, signals -------------------------------------------------


async def test_hooks_order_and_blueprints(app: Microframe, client: MicroframeClient) -> None:
    calls: list[str] = []
    bp = Blueprint("bp", __name__, url_prefix="/bp")

    @app.before_websocket
    async def app_before() -> None:
        calls.append("app_before")

    @bp.before_websocket
    def bp_before() -> None:
        calls.append("bp_before")

    @app.after_websocket
    async def app_after(response: Any) -> Any:
        calls.append(f"app_after:{response}")
        return response

    @bp.after_websocket
    async def bp_after(response: Any) -> Any:
        calls.append("bp_after")
        return response

    @bp.teardown_websocket
    async def bp_teardown(exc: BaseException | None) -> None:
        calls.append("bp_teardown")

    @app.teardown_websocket
    def app_teardown(exc: BaseException | None) -> None:
        calls.append("app_teardown")

    @app.before_request
    async def not_for_websockets() -> None:
        calls.append("before_request")

    @bp.websocket("/ws")
    async def handler() -> None:
        calls.append(f"handler:{websocket.blueprint}")
        await websocket.send(url_for("bp.handler"))

    app.register_blueprint(bp)
    async with client.websocket("/bp/ws") as ws:
        # werkzeug builds websocket URLs in full, as browsers need them.
        assert await ws.receive() == "ws://localhost/bp/ws"
    assert calls == [
        "app_before",
        "bp_before",
        "handler:bp",
        "bp_after",
        "app_after:None",
        "bp_teardown",
        "app_teardown",
    ]


async def test_after_this_websocket_runs_before_the_hooks(
    app: Microframe, client: MicroframeClient
) -> None:
    # Quart's quart.ctx.after_this_websocket: for this connection only, in
    # the order added, before the after_websocket hooks; the response is
    # None once the websocket was accepted.
    calls: list[str] = []

    @app.after_websocket
    async def app_after(response: Response | None) -> Response | None:
        calls.append(f"app_after:{response}")
        return response

    @app.websocket("/ws")
    async def handler() -> None:
        @after_this_websocket
        async def first(response: Response | None) -> Response | None:
            calls.append(f"first:{response}")
            return response

        @after_this_websocket
        def second(response: Response | None) -> Response | None:  # sync: on the worker thread
            calls.append(f"second:{response}")
            return response

        await websocket.send("hi")

    @app.websocket("/plain")
    async def plain() -> None:
        await websocket.send("plain")

    async with client.websocket("/ws") as ws:
        assert await ws.receive() == "hi"
    assert calls == ["first:None", "second:None", "app_after:None"]
    calls.clear()
    async with client.websocket("/plain") as ws:  # not for other connections
        assert await ws.receive() == "plain"
    assert calls == ["app_after:None"]


async def test_after_this_websocket_sees_a_rejecting_response(
    app: Microframe, client: MicroframeClient
) -> None:
    @app.websocket("/ws")
    async def handler() -> Any:
        @after_this_websocket
        def add_header(response: Response | None) -> Response | None:
            assert response is not None
            response.headers["X-After"] = "yes"
            return response

        return "no entry", 403

    with pytest.raises(WebsocketResponseError) as caught:
        async with client.websocket("/ws") as ws:
            await ws.receive()
    assert caught.value.response.status_code == 403
    assert caught.value.response.headers["X-After"] == "yes"


async def test_after_hooks_finish_when_the_client_leaves_after_the_handler(
    app: Microframe, client: MicroframeClient
) -> None:
    # A sync after_websocket hook runs on the worker thread; the client
    # closing meanwhile (the handler is done) must not cancel it.
    calls: list[str] = []

    @app.after_websocket
    def slow_after(response: Response | None) -> Response | None:
        time.sleep(0.05)
        calls.append("after")
        return response

    @app.teardown_websocket
    def teardown(exc: BaseException | None) -> None:
        calls.append(f"teardown:{exc!r}")

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.send("done")

    for _ in range(3):
        calls.clear()
        async with client.websocket("/ws") as ws:
            assert await ws.receive() == "done"
        assert calls == ["after", "teardown:None"]


def test_after_this_websocket_outside_a_websocket(app: Microframe) -> None:
    with pytest.raises(RuntimeError, match="websocket context"):
        after_this_websocket(lambda response: response)


async def test_add_websocket_registers_without_the_decorator(
    app: Microframe, client: MicroframeClient
) -> None:
    # Quart's add_websocket, on the app and on a blueprint.
    async def chat(room: str) -> None:
        await websocket.send(f"{websocket.endpoint}:{room}")

    async def status() -> None:
        await websocket.send(websocket.blueprint or "")

    def plain() -> None: ...

    with pytest.raises(TypeError, match="async def"):
        app.add_websocket("/plain", view_func=plain)  # type: ignore[arg-type]
    app.add_websocket("/chat/<room>", view_func=chat)
    bp = Blueprint("live", __name__, url_prefix="/live")
    bp.add_websocket("/status", "state", status)
    app.register_blueprint(bp)
    async with client.websocket("/chat/lobby") as ws:
        assert await ws.receive() == "chat:lobby"
    async with client.websocket("/live/status") as ws:
        assert await ws.receive() == "live"
    assert app.url_map.bind("localhost").build("live.state", url_scheme="ws") == "ws://localhost/live/status"
    response = await client.get("/chat/lobby")  # a websocket rule, not an HTTP route
    assert response.status_code == 400  # werkzeug's WebsocketMismatch, as in Quart


async def test_app_websocket_context(app: Microframe) -> None:
    # Quart's app.websocket_context(websocket), as request_context for requests.
    made = app.test_websocket_context("/ws?room=7")
    async with app.websocket_context(made.websocket):
        assert has_websocket_context()
        assert websocket.args["room"] == "7"
    assert not has_websocket_context()


async def test_signals(app: Microframe, client: MicroframeClient) -> None:
    received: list[str] = []

    def started(sender: Any, **extra: Any) -> None:
        received.append("started")

    async def finished(sender: Any, **extra: Any) -> None:
        received.append(f"finished:{extra['response']}")

    def tearing_down(sender: Any, **extra: Any) -> None:
        received.append("tearing_down")

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.send("x")

    with (
        websocket_started.connected_to(started, app),
        websocket_finished.connected_to(finished, app),
        websocket_tearing_down.connected_to(tearing_down, app),
    ):
        async with client.websocket("/ws") as ws:
            await ws.receive()
    assert received == ["started", "finished:None", "tearing_down"]


async def test_session_and_g(app: Microframe, client: MicroframeClient) -> None:
    @app.get("/login")
    async def login() -> str:
        session["user"] = "ada"
        return "ok"

    @app.before_websocket
    async def load() -> None:
        g.user = session.get("user")

    @app.websocket("/ws")
    async def handler() -> None:
        assert has_websocket_context() and not has_request_context()
        await websocket.send(f"{g.user}")

    await client.get("/login")
    async with client.websocket("/ws") as ws:
        assert await ws.receive() == "ada"


async def test_copy_current_websocket_context(app: Microframe, client: MicroframeClient) -> None:
    @app.websocket("/ws")
    async def handler() -> None:
        @copy_current_websocket_context
        async def pump() -> None:
            await websocket.send(f"from task {websocket.path}")

        await asyncio.create_task(pump())

    async with client.websocket("/ws") as ws:
        assert await ws.receive() == "from task /ws"


def test_copy_needs_context() -> None:
    with pytest.raises(RuntimeError, match="websocket context"):
        copy_current_websocket_context(lambda: None)


async def test_test_websocket_context(app: Microframe) -> None:
    @app.websocket("/ws/<name>")
    async def handler(name: str) -> None:
        pass

    assert not has_websocket_context()
    async with app.test_websocket_context("/ws/x?q=1"):
        assert has_websocket_context()
        assert websocket.args["q"] == "1"
        assert websocket.view_args == {"name": "x"}
    assert not has_websocket_context()


def test_websocket_outside_context() -> None:
    with pytest.raises(RuntimeError, match="outside of websocket context"):
        websocket.path  # noqa: B018


def test_types() -> None:
    assert issubclass(WebsocketDisconnect, BaseException)
    assert not issubclass(WebsocketDisconnect, Exception)
    assert "4000" in str(WebsocketDisconnect(4000, "x"))
    assert "403" in str(WebsocketResponseError(Microframe(__name__).response_class("", 403)))
    assert Forbidden.code == 403


async def test_websocket_scheme_from_http_scheme(app: Microframe) -> None:
    async def receive() -> dict[str, Any]:
        return {}

    async def send(message: dict[str, Any]) -> None:
        pass

    from werkzeug.datastructures import Headers

    ws = Websocket("/", b"", "https", Headers(), "", "1.1", [], receive, send)
    assert ws.scheme == "wss"
    assert not ws.accepted and not ws.closed


# -- helpers ------------------------------------------------------------------


async def _raw_websocket(
    app: Microframe,
    path: str,
    script: list[str],
    extensions: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Run one websocket connection as raw ASGI messages.

    ``script`` items: ``"wait:<seconds>"``, ``"disconnect"`` or a text to send.
    """
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "scheme": "ws",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost")],
        "client": ("127.0.0.1", 1234),
        "server": ("localhost", 80),
        "subprotocols": [],
        "extensions": {"websocket.http.response": {}} if extensions is None else extensions,
    }
    sent: list[dict[str, Any]] = []
    steps = iter(["connect", *script])

    async def receive() -> dict[str, Any]:
        for step in steps:
            if step == "connect":
                return {"type": "websocket.connect"}
            if step.startswith("wait:"):
                await asyncio.sleep(float(step[5:]))
                continue
            if step == "disconnect":
                return {"type": "websocket.disconnect", "code": 1001}
            return {"type": "websocket.receive", "text": step}
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await asyncio.wait_for(app(scope, receive, send), timeout=5)  # type: ignore[arg-type]
    return sent
