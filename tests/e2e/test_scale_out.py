"""Scaled out: the chat and SSE examples in two server processes sharing one
real Redis, as two workers or two machines would.

Each server is ``microframe --app examples/NAME run`` with
``MICROFRAME_BROADCAST_URL`` pointing at a ``redis-server`` the test starts
on a free port. Skipped with a reason when ``redis-server`` is missing.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from live_server import LiveServer
from redis_server import RedisServer, running_redis
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as connect_sync

ROOT = Path(__file__).resolve().parents[2]
CLIENTS_PER_SERVER = 20
SENDERS = 10
MESSAGES_EACH = 10
#: How long a restarted Redis may take to carry messages again, in seconds.
RECOVERY_SECONDS = 10.0
#: Enough 500-character messages to fill a reader's socket buffers.
SLOW_MESSAGES = 8000


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    yield from running_redis(tmp_path)


def start_example(name: str, redis_url: str, log: Path, **config: str) -> LiveServer:
    env = {"MICROFRAME_SKIP_DOTENV": "1", "MICROFRAME_BROADCAST_URL": redis_url}
    env.update({f"MICROFRAME_{key}": value for key, value in config.items()})
    server = LiveServer(
        "",
        [],
        env=env,
        command=["-m", "microframe", "--app", str(ROOT / "examples" / name), "run", "--port", "{port}"],
        log=log,
    )
    server.wait_until_ready()
    return server


@pytest.fixture
def start_servers(redis_server: RedisServer, tmp_path: Path) -> Iterator[Any]:
    """``start_servers(name, **config)`` starts two servers of an example on the
    test's Redis; they are stopped after the test."""
    started: list[LiveServer] = []

    def start(name: str, **config: str) -> list[LiveServer]:
        for _ in range(2):
            log = tmp_path / f"{name}{len(started)}.log"
            started.append(start_example(name, redis_server.url, log, **config))
        return started[-2:]

    try:
        yield start
    finally:
        still_running = [server for server in started if server.process.poll() is None]
        for server in started:
            server.stop()
    for server in still_running:  # a server a test stopped is checked by that test
        assert "Traceback" not in server.output(), server.output()


@pytest.fixture
def servers(start_servers: Any) -> list[LiveServer]:
    """Two chat servers sharing the test's Redis."""
    servers: list[LiveServer] = start_servers("chat")
    return servers


class Member:
    """A chat member: one websocket client."""

    def __init__(self, port: int, name: str) -> None:
        self.port = port
        self.name = name
        self.ws: Any = None
        self.seen: list[dict[str, Any]] = []

    async def join(self) -> None:
        # max_queue=None: unread notices never stop the client from reading
        # its socket (which would stall the closing handshake).
        self.ws = await websockets.connect(
            f"ws://127.0.0.1:{self.port}/ws?name={self.name}",
            open_timeout=10,
            close_timeout=2,
            max_queue=None,
        )
        assert json.loads(await self.ws.recv()) == {"type": "welcome", "name": self.name}

    async def read_until(self, done: Any, seconds: float) -> bool:
        """Read messages into :attr:`seen` until ``done(self)`` or ``seconds`` pass."""
        deadline = time.monotonic() + seconds
        while not done(self):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                self.seen.append(json.loads(await asyncio.wait_for(self.ws.recv(), left)))
            except TimeoutError:
                return False
        return True

    def texts(self) -> list[str]:
        return [message["text"] for message in self.seen if message["type"] == "message"]

    def joined(self) -> set[str]:
        return {message["name"] for message in self.seen if message["type"] == "join"}


async def exchange(ports: list[int]) -> list[Member]:
    watcher = Member(ports[0], "c0-0")
    await watcher.join()
    assert await watcher.read_until(lambda m: "c0-0" in m.joined(), 10)
    others = [
        Member(port, f"c{index}-{n}")
        for index, port in enumerate(ports)
        for n in range(CLIENTS_PER_SERVER)
        if (index, n) != (0, 0)
    ]
    await asyncio.gather(*(member.join() for member in others))
    members = [watcher, *others]
    names = {member.name for member in members}
    # Each member subscribes before announcing itself, so once the first one
    # heard every join, every member, on both servers, is subscribed.
    assert await watcher.read_until(lambda m: m.joined() >= names, 20), sorted(names - watcher.joined())
    senders = [m for m in members if int(m.name.split("-")[1]) < SENDERS // len(ports)]
    assert len(senders) == SENDERS

    async def send(member: Member) -> None:
        for n in range(MESSAGES_EACH):
            await member.ws.send(f"{member.name} says {n}")

    await asyncio.gather(*(send(sender) for sender in senders))
    total = SENDERS * MESSAGES_EACH
    await asyncio.gather(*(m.read_until(lambda m: len(m.texts()) >= total, 30) for m in members))
    await asyncio.gather(*(member.ws.close() for member in members))
    return members


def test_two_servers_one_room(servers: list[LiveServer]) -> None:
    members = asyncio.run(exchange([server.port for server in servers]))
    assert len(members) == 2 * CLIENTS_PER_SERVER
    senders = sorted({text.split(" says ")[0] for text in members[0].texts()})
    expected = {f"{sender} says {n}" for sender in senders for n in range(MESSAGES_EACH)}
    assert len(expected) == SENDERS * MESSAGES_EACH
    for member in members:
        texts = member.texts()
        assert len(texts) == len(set(texts)) == SENDERS * MESSAGES_EACH, member.name
        assert set(texts) == expected, member.name
        for sender in senders:  # each sender's messages in the order sent
            own = [text for text in texts if text.startswith(f"{sender} says ")]
            assert own == [f"{sender} says {n}" for n in range(MESSAGES_EACH)], member.name


async def restart_scenario(ports: list[int], redis: RedisServer) -> dict[str, Any]:
    ada, bob = Member(ports[0], "ada"), Member(ports[1], "bob")
    await ada.join()
    await bob.join()
    assert await ada.read_until(lambda m: "bob" in m.joined(), 10)
    await ada.ws.send("before")
    assert await bob.read_until(lambda m: "before" in m.texts(), 10)

    redis.stop()
    await ada.ws.send("during")
    # The sender is told; the servers stay up and serve pages.
    assert await ada.read_until(lambda m: any(x["type"] == "error" for x in m.seen), 10), ada.seen
    async with httpx.AsyncClient() as client:
        for port in ports:
            assert (await client.get(f"http://127.0.0.1:{port}/", timeout=10)).status_code == 200

    redis.start()
    restarted = time.monotonic()
    crossed_after = None
    attempt = 0
    while crossed_after is None and time.monotonic() - restarted < RECOVERY_SECONDS:
        attempt += 1
        await ada.ws.send(f"after {attempt}")
        if await bob.read_until(lambda m: any(t.startswith("after ") for t in m.texts()), 0.25):
            crossed_after = time.monotonic() - restarted
    # The same connections go on, without reconnecting.
    await bob.ws.send("and back")
    back = await ada.read_until(lambda m: "and back" in m.texts(), 10)
    await ada.ws.close()
    await bob.ws.close()
    return {"crossed_after": crossed_after, "back": back, "bob": bob.texts()}


def test_redis_restart(servers: list[LiveServer], redis_server: RedisServer) -> None:
    result = asyncio.run(restart_scenario([server.port for server in servers], redis_server))
    logs = "\n".join(f"--- server on {server.port}:\n{server.output()}" for server in servers)
    assert result["crossed_after"] is not None, f"nothing crossed within {RECOVERY_SECONDS} s\n{logs}"
    assert result["back"]
    assert "during" not in result["bob"]
    print(f"\nmessages crossed again {result['crossed_after']:.2f} s after Redis restarted")
    for server in servers:
        assert server.process.poll() is None, "a server died"
        log = server.output()
        assert log.count("Lost the connection to Redis") == 1, log
        assert log.count("Reconnected to Redis") == 1, log


def redis_clients(redis: RedisServer) -> int:
    reply = redis.command("CLIENT", "LIST").decode()
    return sum(1 for line in reply.splitlines() if "id=" in line) - 1  # not the asking one


def test_shutdown_with_live_subscribers(servers: list[LiveServer], redis_server: RedisServer) -> None:
    first, second = servers
    baseline = None

    async def connect_members() -> list[Member]:
        members = [Member(first.port, f"m{n}") for n in range(10)]
        await asyncio.gather(*(member.join() for member in members))
        return members

    async def main() -> tuple[int, float]:
        nonlocal baseline
        members = await connect_members()
        watcher = Member(second.port, "watcher")
        await watcher.join()
        baseline = redis_clients(redis_server)
        started = time.monotonic()
        first.process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(first.process.wait, 20)
        stopped = time.monotonic() - started
        for member in members:  # their connections are closed, not left hanging
            with pytest.raises(ConnectionClosed):
                for _ in range(100):
                    await asyncio.wait_for(member.ws.recv(), 10)
        await watcher.ws.close()
        return code, stopped

    code, stopped = asyncio.run(main())
    assert code == 0
    assert stopped < 10  # Hypercorn's graceful timeout (3 s) and the shutdown
    log = first.output()
    assert "Shutdown failed" not in log and "Lost the connection" not in log, log
    # Hypercorn cancels the connections still open when its graceful timeout
    # ends, and on Python 3.11 asyncio logs each cancelled connection task
    # with a traceback of Hypercorn's and asyncio's frames (also without a
    # broadcast); none may come from microframe.
    assert f"{os.sep}microframe{os.sep}" not in log, log
    # The stopped server's Redis connections are gone; the other's remain.
    deadline = time.monotonic() + 5
    while redis_clients(redis_server) >= (baseline or 0) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert 0 < redis_clients(redis_server) < (baseline or 0)


def test_a_slow_member_is_disconnected_not_waited_for(redis_server: RedisServer, tmp_path: Path) -> None:
    server = start_example("chat", redis_server.url, tmp_path / "server.log", BROADCAST_QUEUE_SIZE="100")
    try:
        # A member that reads nothing after the handshake, through a small
        # receive buffer (set before connecting, so the window stays small).
        slow = socket.socket()
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.settimeout(10)
        slow.connect(("127.0.0.1", server.port))
        key = base64.b64encode(os.urandom(16)).decode()
        slow.sendall(
            f"GET /ws?name=slow HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        with slow:
            assert slow.recv(12) == b"HTTP/1.1 101"
            # The sender reads all the time (a thread of the client library,
            # into an unbounded queue), as a browser does.
            url = f"ws://127.0.0.1:{server.port}/ws?name=sender"
            with connect_sync(url, max_queue=None, open_timeout=10) as sender:
                for n in range(SLOW_MESSAGES):
                    sender.send(f"{n:05} " + "x" * 490)
                received = []
                while len(received) < SLOW_MESSAGES:
                    message = json.loads(sender.recv(timeout=20))
                    if message["type"] == "message":
                        received.append(message["text"][:5])
                assert received == [f"{n:05}" for n in range(SLOW_MESSAGES)]
            # The slow member gets what fit in the buffers, then a close
            # frame: 1013, "try again later".
            data = b""
            close_frame = b"\x88\x10\x03\xf5too far behind"  # code 1013 and its reason
            for _ in range(10_000):
                chunk = slow.recv(1 << 20)
                data += chunk
                if not chunk or data.endswith(close_frame):
                    break
    finally:
        server.stop()
    delivered = data.count(b'xxx"}')
    print(f"\nthe slow member got {delivered} of {SLOW_MESSAGES} messages, then was closed")
    assert 0 < delivered < SLOW_MESSAGES
    assert data.endswith(close_frame)
    assert "Traceback" not in server.output()


def test_two_sse_servers_count_together(start_servers: Any) -> None:
    servers = start_servers("sse", COUNTER_TICK="3600")

    async def main() -> tuple[list[str], list[str], list[int]]:
        async with httpx.AsyncClient(timeout=20) as client:

            async def listen(port: int, ready: asyncio.Event) -> list[str]:
                values: list[str] = []
                url = f"http://127.0.0.1:{port}/events?limit=4"
                async with client.stream("GET", url) as response:
                    async for line in response.aiter_lines():
                        if line.startswith("data: "):
                            values.append(line[6:])
                            ready.set()
                return values

            ready = [asyncio.Event(), asyncio.Event()]
            listeners = [asyncio.create_task(listen(s.port, r)) for s, r in zip(servers, ready, strict=True)]
            await asyncio.wait_for(asyncio.gather(*(r.wait() for r in ready)), 20)
            posted = []
            for server in [servers[0], servers[1], servers[0]]:
                answer = await client.post(f"http://127.0.0.1:{server.port}/increment")
                posted.append(answer.json()["value"])
            first, second = await asyncio.wait_for(asyncio.gather(*listeners), 20)
            return first, second, posted

    first, second, posted = asyncio.run(main())
    assert posted == [1, 2, 3]
    assert first == second == ["0", "1", "2", "3"]
