"""Broadcast channels on the ``memory://`` backend: the API, through the test
client, and on a real server. The Redis backend: tests/test_broadcast_redis.py."""

from __future__ import annotations

import asyncio
import json
import textwrap
from pathlib import Path

import httpx
import pytest
from live_server import LiveServer
from websockets.sync.client import connect

from microframe import Microframe, websocket
from microframe.broadcast import Broadcast, BroadcastError, SubscriberOverflowError


@pytest.fixture
def broadcast(app: Microframe) -> Broadcast:
    return Broadcast(app)


async def test_defaults(app: Microframe, broadcast: Broadcast) -> None:
    assert app.config["BROADCAST_URL"] == "memory://"
    assert app.config["BROADCAST_QUEUE_SIZE"] == 1000
    assert broadcast.redis is None


async def test_messages_reach_every_subscriber_in_order(broadcast: Broadcast) -> None:
    async with (
        broadcast.subscribe("room") as first,
        broadcast.subscribe("room") as second,
        broadcast.subscribe("other") as other,
    ):
        assert broadcast.subscribers("room") == 2
        for n in range(50):
            await broadcast.publish("room", f"m{n}")
        await broadcast.publish("other", "elsewhere")
        expected = [f"m{n}" for n in range(50)]
        assert [await anext(first) for _ in range(50)] == expected
        assert [await anext(second) for _ in range(50)] == expected
        assert await anext(other) == "elsewhere"
        assert first.pending == second.pending == 0
    assert broadcast.subscribers("room") == broadcast.subscribers("other") == 0


async def test_publishing_to_nobody_is_fine(broadcast: Broadcast) -> None:
    await broadcast.publish("empty", "nobody listens")
    async with broadcast.subscribe("empty") as subscriber:
        await broadcast.publish("empty", "now someone does")
        assert await anext(subscriber) == "now someone does"


async def test_messages_are_text(broadcast: Broadcast) -> None:
    with pytest.raises(TypeError, match=r"json\.dumps"):
        await broadcast.publish("room", {"not": "text"})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not bytes"):
        await broadcast.publish("room", b"bytes")  # type: ignore[arg-type]


async def test_slow_subscriber_is_dropped_not_grown(app: Microframe, broadcast: Broadcast) -> None:
    app.config["BROADCAST_QUEUE_SIZE"] = 5
    async with broadcast.subscribe("room") as slow, broadcast.subscribe("room", max_queue=100) as fast:
        for n in range(20):
            await broadcast.publish("room", str(n))
        # The slow one holds no more than its queue, the fast one got everything.
        assert slow.pending == 5
        assert [await anext(fast) for _ in range(20)] == [str(n) for n in range(20)]
        assert [await anext(slow) for _ in range(5)] == ["0", "1", "2", "3", "4"]
        with pytest.raises(SubscriberOverflowError, match="fell more than 5 messages behind"):
            await anext(slow)
        assert isinstance(SubscriberOverflowError("x"), BroadcastError)
        # Dropped for good: later messages do not reach it.
        await broadcast.publish("room", "later")
        assert slow.pending == 0
        assert await anext(fast) == "later"


async def test_queue_size_must_be_positive(broadcast: Broadcast) -> None:
    with pytest.raises(ValueError, match="at least one message"):
        async with broadcast.subscribe("room", max_queue=0):
            pass


async def test_waiting_subscriber_wakes_up_and_cancels_cleanly(broadcast: Broadcast) -> None:
    async with broadcast.subscribe("room") as subscriber:
        waiting = asyncio.create_task(anext(subscriber))
        await asyncio.sleep(0.01)
        await broadcast.publish("room", "hello")
        assert await asyncio.wait_for(waiting, 5) == "hello"
        cancelled = asyncio.create_task(anext(subscriber))
        await asyncio.sleep(0.01)
        cancelled.cancel()
        await asyncio.gather(cancelled, return_exceptions=True)
        await broadcast.publish("room", "not lost")
        assert await anext(subscriber) == "not lost"


async def test_shutdown_ends_live_subscribers(app: Microframe, broadcast: Broadcast) -> None:
    received: list[str] = []

    async def listen() -> str:
        async with app.app_context(), broadcast.subscribe("room") as subscriber:
            async for message in subscriber:
                received.append(message)
        return "ended"

    async with app.test_app():
        listener = asyncio.create_task(listen())
        for _ in range(100):
            if broadcast.subscribers("room"):
                break
            await asyncio.sleep(0.01)
        async with app.app_context():
            await broadcast.publish("room", "before shutdown")
    assert await asyncio.wait_for(listener, 5) == "ended"
    assert received == ["before shutdown"]
    assert broadcast.subscribers("room") == 0


async def test_app_factory_style(tmp_path: Path) -> None:
    broadcast = Broadcast()
    apps = [Microframe(f"app{n}", root_path=str(tmp_path)) for n in range(2)]
    for app in apps:
        broadcast.init_app(app)
    # Each app has its own channels (memory:// is per app and process).
    async with apps[0].app_context(), broadcast.subscribe("room") as subscriber:
        async with apps[1].app_context():
            await broadcast.publish("room", "other app")
        await broadcast.publish("room", "same app")
        assert await anext(subscriber) == "same app"


async def test_not_set_up_is_a_clear_error(app: Microframe) -> None:
    async with app.app_context():
        with pytest.raises(RuntimeError, match=r"broadcast\.init_app\(app\)"):
            await Broadcast().publish("room", "x")


async def test_unknown_scheme_fails_startup(app: Microframe, broadcast: Broadcast) -> None:
    app.config["BROADCAST_URL"] = "amqp://localhost/"
    with pytest.raises(ValueError, match=r"unknown scheme; use memory:// or redis://"):
        await app.startup()


async def test_startup_uses_the_url_configured_last(app: Microframe, broadcast: Broadcast) -> None:
    async with broadcast.subscribe("room") as early:  # memory://, made on first use
        pass
    app.config["BROADCAST_URL"] = "memory://other"
    async with app.test_app():
        async with app.app_context(), broadcast.subscribe("room") as subscriber:
            await broadcast.publish("room", "configured")
            assert await anext(subscriber) == "configured"
        with pytest.raises(StopAsyncIteration):
            await anext(early)
    app.config["BROADCAST_URL"] = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    with pytest.raises(BroadcastError, match=r"Cannot reach Redis at redis://127\.0\.0\.1:1/0"):
        await app.startup()


async def test_redis_before_startup_is_a_clear_error(app: Microframe, broadcast: Broadcast) -> None:
    app.config["BROADCAST_URL"] = "redis://127.0.0.1:1/0"
    with pytest.raises(RuntimeError, match=r"async with app\.test_app\(\)"):
        await broadcast.publish("room", "x")


async def test_through_the_test_client(app: Microframe, broadcast: Broadcast) -> None:
    @app.websocket("/ws")
    async def ws() -> None:
        async with broadcast.subscribe("news") as subscriber:
            await websocket.send("subscribed")
            async for message in subscriber:
                await websocket.send(message)

    @app.post("/news")
    async def post_news() -> tuple[str, int]:
        await broadcast.publish("news", "async view")
        return "", 204

    @app.post("/sync-news")
    def post_sync_news() -> tuple[str, int]:
        broadcast.publish("news", "sync view")  # a plain def view: no await
        return "", 204

    client = app.test_client()
    async with client.websocket("/ws") as first, client.websocket("/ws") as second:
        assert await first.receive() == await second.receive() == "subscribed"
        assert (await client.post("/news")).status_code == 204
        assert (await client.post("/sync-news")).status_code == 204
        for ws in (first, second):
            assert [await ws.receive(), await ws.receive()] == ["async view", "sync view"]


APP_SOURCE = textwrap.dedent(
    """
    from microframe import Microframe, request, websocket
    from microframe.broadcast import Broadcast

    app = Microframe(__name__)
    broadcast = Broadcast(app)

    @app.websocket("/ws")
    async def ws():
        async with broadcast.subscribe("news") as subscriber:
            await websocket.send("subscribed")
            async for message in subscriber:
                await websocket.send(message)

    @app.post("/news")
    async def news():
        await broadcast.publish("news", await request.get_data(as_text=True))
        return {"subscribers": broadcast.subscribers("news")}
    """
)


def test_on_a_real_server(tmp_path: Path) -> None:
    (tmp_path / "broadcast_app.py").write_text(APP_SOURCE)
    server = LiveServer("broadcast_app:app", [tmp_path], log=tmp_path / "server.log")
    try:
        server.wait_until_ready()
        url = f"ws://127.0.0.1:{server.port}/ws"
        with connect(url, open_timeout=10) as first, connect(url, open_timeout=10) as second:
            assert first.recv(timeout=10) == second.recv(timeout=10) == "subscribed"
            for n in range(20):
                answer = httpx.post(f"http://127.0.0.1:{server.port}/news", content=f"n{n}", timeout=10)
                assert json.loads(answer.text) == {"subscribers": 2}
            for ws in (first, second):
                assert [ws.recv(timeout=10) for _ in range(20)] == [f"n{n}" for n in range(20)]
    finally:
        server.stop()
    assert "Traceback" not in server.output()
