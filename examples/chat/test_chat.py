"""Tests for the chat example, through the test client."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from microframe import Microframe
from microframe.testing import MicroframeClient


def _load_example() -> ModuleType:
    # Loaded under a name of its own: other examples have an 'app' module too.
    name = "chat_example_app"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("app.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


example = _load_example()


@pytest.fixture
def client() -> MicroframeClient:
    app: Microframe = example.app
    app.config["TESTING"] = True
    return app.test_client()


async def test_page_connects_to_ws(client: MicroframeClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    page = await response.get_data(as_text=True)
    assert 'data-ws-url="ws://localhost/ws"' in page
    script = await client.get("/static/chat.js")
    assert "new WebSocket(" in await script.get_data(as_text=True)


async def test_messages_reach_everyone(client: MicroframeClient) -> None:
    async with client.websocket("/ws?name=Ada") as ada:
        assert await ada.receive_json() == {"type": "welcome", "name": "Ada"}
        assert await ada.receive_json() == {"type": "join", "name": "Ada"}
        async with client.websocket("/ws?name=Bob") as bob:
            assert await bob.receive_json() == {"type": "welcome", "name": "Bob"}
            assert await bob.receive_json() == {"type": "join", "name": "Bob"}
            assert await ada.receive_json() == {"type": "join", "name": "Bob"}
            await bob.send("  hello room  ")
            expected = {"type": "message", "name": "Bob", "text": "hello room"}
            assert await ada.receive_json() == expected
            assert await bob.receive_json() == expected
            await ada.send(b"bytes too")
            assert (await bob.receive_json())["text"] == "bytes too"
            assert (await ada.receive_json())["text"] == "bytes too"
        assert await ada.receive_json() == {"type": "leave", "name": "Bob"}
    assert example.broadcast.subscribers(example.ROOM) == 0


async def test_the_room_is_a_broadcast_channel(client: MicroframeClient) -> None:
    # What anything else publishes on the channel (another process, through
    # Redis) reaches the members as it is.
    async with client.websocket("/ws?name=Ada") as ada:
        await ada.receive_json()
        await ada.receive_json()
        message = {"type": "message", "name": "x", "text": "y"}
        async with example.app.app_context():
            await example.broadcast.publish(example.ROOM, json.dumps(message))
        assert await ada.receive_json() == message


async def test_long_text_and_names_are_cut(client: MicroframeClient) -> None:
    async with client.websocket("/ws?name=" + "n" * 100) as ws:
        await ws.receive_json()
        joined = await ws.receive_json()
        assert joined["name"] == "n" * example.MAX_NAME
        await ws.send("x" * 1000)
        message = await ws.receive_json()
        assert len(message["text"]) == example.MAX_TEXT


async def test_blank_messages_are_ignored(client: MicroframeClient) -> None:
    async with client.websocket("/ws") as ws:
        welcome = await ws.receive_json()
        assert welcome["type"] == "welcome" and welcome["name"].startswith("guest-")
        assert (await ws.receive_json())["name"] == welcome["name"]
        await ws.send("   ")
        await ws.send("real")
        assert (await ws.receive_json())["text"] == "real"


async def test_page_joins_with_its_name(client: MicroframeClient) -> None:
    page = await (await client.get("/?name=Ada")).get_data(as_text=True)
    assert 'data-ws-url="ws://localhost/ws?name=Ada"' in page
    async with client.websocket("/ws?name=Ada") as ws:
        assert await ws.receive_json() == {"type": "welcome", "name": "Ada"}


async def test_page_name_is_escaped_and_cut(client: MicroframeClient) -> None:
    page = await (await client.get('/?name="><script>x</script>')).get_data(as_text=True)
    assert "<script>x" not in page
    assert 'data-ws-url="ws://localhost/ws?name=%22%3E%3Cscript%3Ex%3C/script%3E"' in page
    long_page = await (await client.get("/?name=" + "n" * 100)).get_data(as_text=True)
    assert f'data-ws-url="ws://localhost/ws?name={"n" * example.MAX_NAME}"' in long_page
    blank_page = await (await client.get("/?name=%20%20")).get_data(as_text=True)
    assert 'data-ws-url="ws://localhost/ws"' in blank_page
