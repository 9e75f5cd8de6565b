"""Broadcast channels on Redis, against a real ``redis-server``.

Each app below has its own broadcast with its own Redis connections, as two
worker processes would; tests/e2e/test_scale_out.py runs real processes.
Skipped with a reason when ``redis-server`` is missing.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis_server import RedisServer, running_redis

from microframe import Microframe
from microframe.broadcast import Broadcast, BroadcastUnavailableError, SubscriberOverflowError
from microframe.broadcast.redis import describe_url

#: How long a restarted Redis may take to carry messages again, in seconds.
RECOVERY_SECONDS = 10.0


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    yield from running_redis(tmp_path_factory.mktemp("redis"))


class Process:
    """An app with a broadcast on Redis, started: one 'worker process'."""

    def __init__(self, name: str, url: str) -> None:
        self.app = Microframe(name)
        self.app.config.update(TESTING=True, BROADCAST_URL=url)
        self.broadcast = Broadcast(self.app)
        self.log: list[str] = []
        handler = logging.Handler()
        handler.emit = lambda record: self.log.append(record.getMessage())  # type: ignore[method-assign]
        self.app.logger.addHandler(handler)

    async def publish(self, channel: str, message: str) -> None:
        async with self.app.app_context():
            await self.broadcast.publish(channel, message)


@pytest.fixture
async def processes(redis_server: RedisServer) -> AsyncIterator[list[Process]]:
    started = [Process(f"worker{n}", redis_server.url) for n in range(2)]
    for process in started:
        await process.app.startup()
    try:
        yield started
    finally:
        for process in started:
            await process.app.shutdown()


def client_count(redis: RedisServer, kind: str) -> int:
    """How many clients of ``kind`` (``normal``, ``pubsub``) Redis has."""
    reply = redis.command("CLIENT", "LIST", "TYPE", kind).decode()
    return len(re.findall(r"^id=", reply, flags=re.MULTILINE))


def connections(redis: RedisServer) -> tuple[int, int]:
    """How many pub/sub and other connections Redis has (the asking one included)."""
    return client_count(redis, "pubsub"), client_count(redis, "normal")


def numsub(redis: RedisServer, *channels: str) -> list[int]:
    """How many subscribers Redis has for each of ``channels``."""
    reply = redis.command("PUBSUB", "NUMSUB", *channels).decode()
    return [int(count) for count in re.findall(r"^:(\d+)", reply, flags=re.MULTILINE)]


async def wait_for(condition: object, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_two_processes_exchange_messages_in_order(processes: list[Process]) -> None:
    first, second = processes
    async with (
        first.app.app_context(),
        first.broadcast.subscribe("room") as mine,
        second.broadcast.subscribe("room") as theirs,
    ):
        for n in range(500):
            await first.publish("room", f"m{n}")
        expected = [f"m{n}" for n in range(500)]
        assert [await asyncio.wait_for(anext(theirs), 5) for _ in range(500)] == expected
        assert [await asyncio.wait_for(anext(mine), 5) for _ in range(500)] == expected
        await second.publish("room", "back")
        assert await asyncio.wait_for(anext(mine), 5) == "back"
        assert await asyncio.wait_for(anext(theirs), 5) == "back"


async def test_subscribed_when_the_block_is_entered(processes: list[Process]) -> None:
    # Redis confirms the SUBSCRIBE before subscribe() returns, so a message
    # published right after, from another connection, is never missed.
    first, second = processes
    for n in range(20):
        async with first.app.app_context(), first.broadcast.subscribe(f"fresh{n}") as subscriber:
            await second.publish(f"fresh{n}", "hello")
            assert await asyncio.wait_for(anext(subscriber), 5) == "hello"


async def test_one_pubsub_connection_per_process(
    processes: list[Process], redis_server: RedisServer
) -> None:
    first, second = processes
    async with first.app.app_context(), second.app.app_context(), second.broadcast.subscribe("x"):
        subscriptions = [first.broadcast.subscribe(f"channel{n % 5}") for n in range(30)]
        subscribers = [await subscription.__aenter__() for subscription in subscriptions]
        assert client_count(redis_server, "pubsub") == 2  # one per process
        assert numsub(redis_server, "channel0", "channel4") == [1, 1]  # once per process
        for subscription in subscriptions:
            await subscription.__aexit__(None, None, None)
        assert all(subscriber.pending == 0 for subscriber in subscribers)

        await wait_for(lambda: numsub(redis_server, "channel0") == [0])


async def test_slow_subscriber_on_redis(processes: list[Process]) -> None:
    first, second = processes
    async with (
        second.broadcast.subscribe("feed", max_queue=10) as slow,
        second.broadcast.subscribe("feed") as fast,
    ):
        for n in range(100):
            await first.publish("feed", str(n))
        assert [await asyncio.wait_for(anext(fast), 5) for _ in range(100)] == [str(n) for n in range(100)]
        assert slow.pending == 10
        assert [await anext(slow) for _ in range(10)] == [str(n) for n in range(10)]
        with pytest.raises(SubscriberOverflowError):
            await anext(slow)


async def test_the_redis_client_is_shared(processes: list[Process]) -> None:
    first, second = processes
    async with first.app.app_context():
        assert first.broadcast.redis is not None
        await first.broadcast.redis.delete("hits")
        assert await first.broadcast.redis.incr("hits") == 1
    async with second.app.app_context():
        assert second.broadcast.redis is not None
        assert await second.broadcast.redis.incr("hits") == 2


async def test_shutdown_with_live_subscribers(redis_server: RedisServer) -> None:
    process = Process("worker", redis_server.url)
    before = connections(redis_server)
    await process.app.startup()
    ended: list[str] = []

    async def listen(channel: str) -> None:
        async with process.app.app_context(), process.broadcast.subscribe(channel) as subscriber:
            async for message in subscriber:
                ended.append(message)
        ended.append(f"{channel} ended")

    listeners = [asyncio.create_task(listen(f"live{n % 3}")) for n in range(12)]
    await wait_for(lambda: sum(process.broadcast.subscribers(f"live{n}") for n in range(3)) == 12)
    assert connections(redis_server)[0] == before[0] + 1
    await process.app.shutdown()
    await asyncio.wait_for(asyncio.gather(*listeners), 5)
    assert sorted(ended) == sorted(f"live{n % 3} ended" for n in range(12))
    # Its connections are closed.
    await wait_for(lambda: connections(redis_server) == before)
    assert process.log == []


async def test_startup_fails_clearly_without_redis(tmp_path: Path) -> None:
    dead = RedisServer(tmp_path)  # never started: nothing listens on its port
    process = Process("worker", dead.url)
    with pytest.raises(BroadcastUnavailableError, match=rf"Cannot reach Redis at redis://127.0.0.1:{dead.port}/0"):
        await process.app.startup()


def test_passwords_stay_out_of_messages() -> None:
    assert describe_url("redis://user:s3cret@db.example:6380/2") == "redis://db.example:6380/2"
    assert describe_url("rediss://:s3cret@db.example/0") == "rediss://db.example:6379/0"


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    yield from running_redis(tmp_path)


async def test_redis_restarted_mid_stream(own_redis: RedisServer) -> None:
    first, second = Process("worker1", own_redis.url), Process("worker2", own_redis.url)
    await first.app.startup()
    await second.app.startup()
    try:
        async with second.app.app_context(), second.broadcast.subscribe("room") as subscriber:
            await first.publish("room", "before")
            assert await asyncio.wait_for(anext(subscriber), 5) == "before"

            own_redis.stop()
            # Publishing fails with a clear error, quickly; nothing crashes.
            for _ in range(5):
                started = time.monotonic()
                with pytest.raises(BroadcastUnavailableError, match="cannot be reached"):
                    await first.publish("room", "during")
                assert time.monotonic() - started < 3
            await asyncio.sleep(0.5)

            own_redis.start()
            restarted = time.monotonic()
            crossed = None
            while crossed is None and time.monotonic() - restarted < RECOVERY_SECONDS:
                try:
                    await first.publish("room", "after")
                except BroadcastUnavailableError:
                    await asyncio.sleep(0.1)
                    continue
                try:
                    crossed = await asyncio.wait_for(anext(subscriber), 0.3)
                except TimeoutError:
                    pass
            assert crossed == "after", f"no message crossed within {RECOVERY_SECONDS} s of the restart"
            # The same subscriber goes on, in order.
            for n in range(10):
                await first.publish("room", f"n{n}")
            got = [await asyncio.wait_for(anext(subscriber), 5) for _ in range(10)]
            assert [message for message in got if message != "after"][-5:] == [f"n{n}" for n in range(5, 10)]
    finally:
        await first.app.shutdown()
        await second.app.shutdown()
    # The outage is logged once per process, and so is the recovery.
    for process in (first, second):
        lost = [line for line in process.log if line.startswith("Lost the connection to Redis")]
        back = [line for line in process.log if line.startswith("Reconnected to Redis")]
        assert len(lost) == 1 and len(back) == 1, process.log
        assert own_redis.url in lost[0]
