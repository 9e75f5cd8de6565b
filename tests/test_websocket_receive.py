"""Edge cases of websocket receive: reading directly until a reader task is needed."""

from __future__ import annotations

import asyncio
from typing import Any

from test_websocket import _raw_websocket

from microframe import Microframe, copy_current_websocket_context, websocket
from microframe.wrappers import WebsocketDisconnect


def make_app() -> Microframe:
    app = Microframe(__name__)
    return app


async def test_buffer_while_sleeping() -> None:
    app = make_app()
    got: list[Any] = []

    @app.websocket("/ws")
    async def h() -> None:
        await websocket.accept()
        await asyncio.sleep(0.05)
        for _ in range(3):
            got.append(await websocket.receive())

    sent = await _raw_websocket(app, "/ws", ["a", "b", "c", "wait:0.2", "disconnect"])
    assert got == ["a", "b", "c"]
    assert sent[-1]["type"] == "websocket.close"


async def test_wait_for_timeout_then_receive() -> None:
    app = make_app()
    got: list[Any] = []

    @app.websocket("/ws")
    async def h() -> None:
        try:
            await asyncio.wait_for(websocket.receive(), 0.01)
        except TimeoutError:
            got.append("timeout")
        got.append(await websocket.receive())
        try:
            await websocket.receive()
        except WebsocketDisconnect as e:
            got.append(e.code)
            raise

    await _raw_websocket(app, "/ws", ["wait:0.05", "x", "wait:0.02", "disconnect"])
    assert got == ["timeout", "x", 1001], got


async def test_concurrent_receivers() -> None:
    app = make_app()
    got: list[Any] = []

    @app.websocket("/ws")
    async def h() -> None:
        r = await asyncio.gather(websocket.receive(), websocket.receive())
        got.append(sorted(r))
        got.append(await websocket.receive())

    await _raw_websocket(app, "/ws", ["wait:0.01", "a", "b", "c", "wait:0.05", "disconnect"])
    assert got == [["a", "b"], "c"], got


async def test_background_receiver_handler_sleeps() -> None:
    app = make_app()
    got: list[Any] = []

    @app.websocket("/ws")
    async def h() -> None:
        @copy_current_websocket_context
        async def pump() -> None:
            try:
                while True:
                    got.append(await websocket.receive())
            except WebsocketDisconnect as e:
                got.append(("gone", e.code))

        t = asyncio.create_task(pump())
        await asyncio.sleep(0.1)
        got.append("handler done")
        await t

    await _raw_websocket(app, "/ws", ["a", "wait:0.02", "b", "disconnect"])
    assert got == ["a", "b", ("gone", 1001), "handler done"], got


async def test_receive_then_busy_cancelled() -> None:
    app = make_app()
    got: list[Any] = []

    @app.websocket("/ws")
    async def h() -> None:
        got.append(await websocket.receive())
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            got.append("cancelled")
            raise

    await _raw_websocket(app, "/ws", ["a", "wait:0.02", "disconnect"])
    assert got == ["a", "cancelled"], got


async def test_receive_then_busy_cancelled_no_wait() -> None:
    app = make_app()
    got: list[Any] = []

    @app.websocket("/ws")
    async def h() -> None:
        got.append(await websocket.receive())
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            got.append("cancelled")
            raise

    await _raw_websocket(app, "/ws", ["a", "disconnect"])
    assert got == ["a", "cancelled"], got


async def test_no_leftover_tasks_fast() -> None:
    app = make_app()

    @app.websocket("/ws")
    async def h() -> None:
        while True:
            await websocket.send(await websocket.receive())

    before = len(asyncio.all_tasks())
    sent = await _raw_websocket(app, "/ws", ["a", "b", "disconnect"])
    assert [m.get("text") for m in sent[1:]] == ["a", "b"]
    assert len(asyncio.all_tasks()) == before
