"""Quart's websocket guide, as a user following it writes it: echo,
explicit accept, rejection and authentication, JSON, concurrent sending and
receiving, disconnection, broadcasting, and testing with the client."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import wraps
from typing import Any

import pytest

from microframe import Blueprint, Microframe, abort, request, session, websocket
from microframe.testing import WebsocketResponseError
from microframe.wrappers import WebsocketDisconnect


async def test_echo(app: Microframe) -> None:
    @app.websocket("/ws")
    async def ws() -> None:
        while True:
            data = await websocket.receive()
            await websocket.send(data)

    async with app.test_client().websocket("/ws") as test_websocket:
        await test_websocket.send("hello")
        assert await test_websocket.receive() == "hello"
        await test_websocket.send(b"\x00bytes")
        assert await test_websocket.receive() == b"\x00bytes"


async def test_explicit_accept_with_headers_and_subprotocol(app: Microframe) -> None:
    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.accept(headers={"X-Greeting": "hi"}, subprotocol="chat")
        await websocket.send(f"protocols {websocket.requested_subprotocols}")

    async with app.test_client().websocket("/ws", subprotocols=["chat", "other"]) as test_websocket:
        assert await test_websocket.receive() == "protocols ['chat', 'other']"
        assert test_websocket.subprotocol == "chat"
        assert test_websocket.headers is not None and test_websocket.headers["X-Greeting"] == "hi"


def _auth_app(app: Microframe) -> Microframe:
    def login_required(func: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(func)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            if session.get("user") is None:
                abort(401)
            return await func(*args, **kwargs)

        return wrapper

    @app.post("/login")
    async def login() -> str:
        session["user"] = (await request.form)["user"]
        return "ok"

    @app.websocket("/ws")
    @login_required
    async def ws() -> None:
        await websocket.send(f"hello {session['user']}")

    @app.websocket("/token")
    async def token() -> None:
        if websocket.args.get("token") != "secret":
            return "no token", 403  # type: ignore[return-value]
        await websocket.send("in")

    return app


async def test_a_websocket_refused_before_accepting(app: Microframe) -> None:
    client = _auth_app(app).test_client()
    with pytest.raises(WebsocketResponseError) as refused:
        async with client.websocket("/ws"):
            pass
    assert refused.value.response.status_code == 401
    with pytest.raises(WebsocketResponseError) as no_token:
        async with client.websocket("/token?token=wrong"):
            pass
    assert no_token.value.response.status_code == 403
    assert await no_token.value.response.get_data() == b"no token"
    async with client.websocket("/token?token=secret") as ws:
        assert await ws.receive() == "in"


async def test_the_session_cookie_authenticates_the_websocket(app: Microframe) -> None:
    client = _auth_app(app).test_client()
    assert (await client.post("/login", data={"user": "ann"})).status_code == 200
    async with client.websocket("/ws") as ws:
        assert await ws.receive() == "hello ann"
    assert (await client.post("/login", data={})).status_code == 400


async def test_json_messages(app: Microframe) -> None:
    @app.websocket("/ws")
    async def ws() -> None:
        data = await websocket.receive_json()
        await websocket.send_json({"sum": sum(data["numbers"])})

    async with app.test_client().websocket("/ws") as test_websocket:
        await test_websocket.send_json({"numbers": [1, 2, 3]})
        assert await test_websocket.receive_json() == {"sum": 6}


async def test_sending_and_receiving_independently(app: Microframe) -> None:
    received: list[str] = []

    async def sending() -> None:
        for n in range(3):
            await websocket.send(f"tick {n}")
            await asyncio.sleep(0)

    async def receiving() -> None:
        while True:
            received.append(str(await websocket.receive()))

    @app.websocket("/ws")
    async def ws() -> None:
        producer = asyncio.create_task(sending())
        consumer = asyncio.create_task(receiving())
        try:
            await asyncio.gather(producer, consumer)
        finally:
            producer.cancel()
            consumer.cancel()

    async with app.test_client().websocket("/ws") as test_websocket:
        await test_websocket.send("from client")
        ticks = [await asyncio.wait_for(test_websocket.receive(), 5) for _ in range(3)]
    assert ticks == ["tick 0", "tick 1", "tick 2"]
    assert received == ["from client"]


async def test_disconnection_is_seen_as_cancellation(app: Microframe) -> None:
    seen: list[str] = []
    done = asyncio.Event()

    @app.websocket("/ws")
    async def ws() -> None:
        try:
            while True:
                data = await websocket.receive()
                await websocket.send(data)
        except asyncio.CancelledError:
            seen.append("disconnected")
            done.set()
            raise

    async with app.test_client().websocket("/ws") as test_websocket:
        await test_websocket.send("x")
        assert await test_websocket.receive() == "x"
    await asyncio.wait_for(done.wait(), 1)
    assert seen == ["disconnected"]


async def test_the_app_closes_with_a_code(app: Microframe) -> None:
    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.accept()
        await websocket.close(4000, "bye")

    async with app.test_client().websocket("/ws") as test_websocket:
        with pytest.raises(WebsocketDisconnect) as closed:
            await test_websocket.receive()
    assert closed.value.code == 4000


async def test_broadcasting_through_queues(app: Microframe) -> None:
    connected_websockets: set[asyncio.Queue[str]] = set()

    def collect_websocket(func: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(func)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            queue: asyncio.Queue[str] = asyncio.Queue()
            connected_websockets.add(queue)
            try:
                return await func(queue, *args, **kwargs)
            finally:
                connected_websockets.remove(queue)

        return wrapper

    async def broadcast(message: str) -> None:
        for queue in connected_websockets:
            await queue.put(message)

    @app.websocket("/ws")
    @collect_websocket
    async def ws(queue: asyncio.Queue[str]) -> None:
        await websocket.accept()
        while True:
            data = await queue.get()
            await websocket.send(data)

    @app.post("/announce")
    async def announce() -> tuple[str, int]:
        await broadcast((await request.get_json())["text"])
        return "", 204

    client = app.test_client()
    async with client.websocket("/ws") as first, client.websocket("/ws") as second:
        for _ in range(100):  # both handlers registered their queues
            if len(connected_websockets) == 2:
                break
            await asyncio.sleep(0.01)
        assert len(connected_websockets) == 2
        assert (await client.post("/announce", json={"text": "hello all"})).status_code == 204
        assert await asyncio.wait_for(first.receive(), 5) == "hello all"
        assert await asyncio.wait_for(second.receive(), 5) == "hello all"
    for _ in range(100):
        if not connected_websockets:
            break
        await asyncio.sleep(0.01)
    assert connected_websockets == set()


async def test_a_blueprint_websocket_and_unknown_paths(app: Microframe) -> None:
    bp = Blueprint("chat", __name__, url_prefix="/chat")

    @bp.websocket("/<room>")
    async def room(room: str) -> None:
        await websocket.send(f"room {room} at {websocket.path}")

    app.register_blueprint(bp)
    client = app.test_client()
    async with client.websocket("/chat/lobby") as ws:
        assert await ws.receive() == "room lobby at /chat/lobby"
    with pytest.raises(WebsocketResponseError) as missing:
        async with client.websocket("/nowhere"):
            pass
    assert missing.value.response.status_code == 404
    # A plain HTTP request to a websocket route is not served as one.
    assert (await client.get("/chat/lobby")).status_code in (400, 404, 405)
