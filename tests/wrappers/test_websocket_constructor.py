"""Websocket built by hand with Quart's constructor, as Quart's tests and extensions do.

From Quart's documentation of ``quart.wrappers.Websocket``: ``Websocket(path,
query_string, scheme, headers, root_path, http_version, subprotocols, receive,
send, accept, close, scope)``, where ``receive()`` returns the next message's
data, ``send(data)`` sends data, ``accept(headers, subprotocol)`` accepts the
handshake and ``close(code, reason)`` closes the connection.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from werkzeug.datastructures import Headers

from microframe import Microframe, websocket
from microframe.wrappers import Websocket


class Peer:
    """The far side of Quart's callables: what the websocket sent, and what it will receive."""

    def __init__(self) -> None:
        self.incoming: asyncio.Queue[str | bytes] = asyncio.Queue()
        self.events: list[tuple[str, Any]] = []

    async def receive(self) -> str | bytes:
        return await self.incoming.get()

    async def send(self, data: str | bytes) -> None:
        self.events.append(("send", data))

    async def accept(self, headers: Headers, subprotocol: str | None) -> None:
        self.events.append(("accept", (sorted(headers.items()), subprotocol)))

    async def close(self, code: int, reason: str) -> None:
        self.events.append(("close", (code, reason)))


def make(peer: Peer, subprotocols: list[str] | None = None) -> Websocket:
    scope = {"type": "websocket", "server": ("example.com", 443)}
    return Websocket(
        "/ws", b"room=1", "wss", Headers({"Host": "example.com"}), "", "1.1",
        subprotocols or [], peer.receive, peer.send, peer.accept, peer.close, scope,
    )


async def test_the_quart_constructor_builds_a_websocket() -> None:
    ws = make(Peer(), ["chat"])
    assert ws.path == "/ws"
    assert ws.args["room"] == "1"
    assert ws.url == "wss://example.com/ws?room=1"
    assert ws.requested_subprotocols == ["chat"]
    assert ws.scope == {"type": "websocket", "server": ("example.com", 443)}


async def test_send_and_receive_go_through_the_callables() -> None:
    peer = Peer()
    ws = make(peer)
    await peer.incoming.put("hello")
    await peer.incoming.put(b"\x00bin")
    assert await asyncio.wait_for(ws.receive(), 5) == "hello"
    assert await asyncio.wait_for(ws.receive(), 5) == b"\x00bin"
    await ws.send("text")
    await ws.send(b"bytes")
    await ws.send_json({"a": 1})
    # The first receive accepted the handshake, once.
    assert peer.events == [
        ("accept", ([], None)),
        ("send", "text"),
        ("send", b"bytes"),
        ("send", '{"a": 1}'),
    ]


async def test_accept_passes_headers_and_subprotocol() -> None:
    peer = Peer()
    ws = make(peer, ["chat.v1", "chat.v2"])
    await ws.accept(headers={"X-Server": "microframe"}, subprotocol="chat.v2")
    [(event, (headers, subprotocol))] = peer.events
    assert (event, subprotocol) == ("accept", "chat.v2")
    assert dict(headers) == {"x-server": "microframe"}  # header names are case-insensitive
    assert ws.subprotocol == "chat.v2"


async def test_close_calls_close_with_code_and_reason() -> None:
    peer = Peer()
    ws = make(peer)
    await ws.accept()
    await ws.close(1001, "going away")
    assert peer.events[-1] == ("close", (1001, "going away"))
    assert ws.closed


def test_accept_without_close_is_refused() -> None:
    peer = Peer()
    with pytest.raises(TypeError, match="both 'accept' and 'close'"):
        Websocket(
            "/ws", b"", "ws", Headers(), "", "1.1", [], peer.receive, peer.send, peer.accept
        )


async def test_the_asgi_constructor_still_works() -> None:
    # microframe's own form: receive and send speak ASGI messages.
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.receive", "text": "ping"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    ws = Websocket("/", b"", "ws", Headers(), "", "1.1", [], receive, send)
    assert await ws.receive() == "ping"
    await ws.send("pong")
    assert [m["type"] for m in sent] == ["websocket.accept", "websocket.send"]


async def test_a_quart_style_websocket_class_serves_a_handler() -> None:
    # A websocket_class subclass that records what it is built with, as a
    # Quart extension's does, still serves the app's handler.
    built: list[str] = []

    class RecordingWebsocket(Websocket):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            built.append(self.path)

    app = Microframe(__name__)
    app.websocket_class = RecordingWebsocket

    @app.websocket("/ws")
    async def echo() -> None:
        await websocket.send(f"echo {await websocket.receive()}")

    async with app.test_client().websocket("/ws") as connection:
        await connection.send("hi")
        assert await asyncio.wait_for(connection.receive(), 5) == "echo hi"
    assert built == ["/ws"]
