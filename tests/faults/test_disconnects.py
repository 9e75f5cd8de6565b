"""Clients that vanish mid-request, against a real Hypercorn server.

Each kind of disconnect happens 200 times. Every request must be torn
down, and nothing may be left behind: no file descriptor, no asyncio task,
no request object, no unbounded memory. The server answers normally after.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from live_server import LiveServer

HERE = Path(__file__).parent
ROUNDS = 200
CONCURRENCY = 20


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("faults")
    running = LiveServer(
        "faults_app:app",
        [HERE],
        env={"FAULTS_DIR": str(folder)},
        log=folder / "server.log",
        # Hypercorn lets a closed connection's tasks linger for the
        # keep-alive timeout (5 s by default); 1 s keeps the test short.
        command=["-m", "hypercorn", "faults_app:app", "--bind", "127.0.0.1:{port}", "--keep-alive", "1"],
    )
    try:
        running.wait_until_ready()
        yield running
    finally:
        running.stop()


class Stats:
    """Reads ``/stats`` over one kept-alive connection.

    Hypercorn keeps a closed connection's tasks (and the request they
    served) for up to its keep-alive timeout; polling on new connections
    would keep creating such leftovers, so the poller reuses one. The server
    closes it when it has been idle for that timeout (1 s here, longer than
    a round of disconnects may take on a loaded machine): then the poller
    connects again and asks once more.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        #: How often the server had closed the idle connection.
        self.reconnects = 0

    async def get(self) -> dict[str, Any]:
        try:
            return await self._ask()
        except (asyncio.IncompleteReadError, ConnectionError) as error:
            if isinstance(error, asyncio.IncompleteReadError) and error.partial:
                raise  # an answer cut short: a real failure, not an idle close
            await self.close()
            self.reconnects += 1
            return await self._ask()

    async def _ask(self) -> dict[str, Any]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write(b"GET /stats HTTP/1.1\r\nHost: x\r\n\r\n")
        async with asyncio.timeout(5):
            await self.writer.drain()
            head = await self.reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200"), head
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            body = await self.reader.readexactly(length)
        result: dict[str, Any] = json.loads(body)
        return result

    async def close(self) -> None:
        writer, self.writer, self.reader = self.writer, None, None
        if writer is not None:
            writer.close()
            try:
                await writer.wait_closed()
            except ConnectionError:  # the server closed it first
                pass


async def get_ok(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = await asyncio.wait_for(reader.read(), 5)
    finally:
        writer.close()
        await writer.wait_closed()
    assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"ok"), data[:200]


async def mid_body(port: int) -> None:
    """Send the headers and part of a declared body, then vanish."""
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 5000)
    await writer.drain()
    await asyncio.sleep(0.02)
    writer.close()
    await writer.wait_closed()


async def read_then_vanish(port: int, path: bytes, wanted: int) -> None:
    """Ask for ``path``, read ``wanted`` bytes of the answer, then vanish."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    got = 0
    async with asyncio.timeout(5):
        while got < wanted:
            chunk = await reader.read(65536)
            assert chunk, "the server closed before sending enough"
            got += len(chunk)
    writer.close()
    await writer.wait_closed()


async def mid_stream(port: int) -> None:
    await read_then_vanish(port, b"/stream", 4096)


async def mid_download(port: int) -> None:
    await read_then_vanish(port, b"/download", 256 * 1024)


WEBSOCKET_HANDSHAKE = (
    b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)
# A masked text frame "hi", as a client sends it.
WEBSOCKET_FRAME = bytes([0x81, 0x82]) + b"abcd" + bytes(c ^ k for c, k in zip(b"hi", b"ab", strict=True))


async def mid_websocket(port: int) -> None:
    """Open a websocket, get one echo, then drop the TCP connection (no close frame)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(WEBSOCKET_HANDSHAKE)
    async with asyncio.timeout(5):
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        writer.write(WEBSOCKET_FRAME)
        data = b""
        while not data.endswith(b"\x81\x02hi"):
            chunk = await reader.read(4096)
            assert chunk, data
            data += chunk
    writer.transport.abort()


async def repeat(action: Callable[[int], Awaitable[None]], port: int, times: int) -> None:
    for start in range(0, times, CONCURRENCY):
        batch = min(CONCURRENCY, times - start)
        await asyncio.gather(*(action(port) for _ in range(batch)))


async def settled(stats: Stats, path: str, expected: int, tasks: int | None = None) -> dict[str, Any]:
    """Wait (bounded) until ``expected`` requests to ``path`` were torn down,
    and their request objects and tasks are gone (at most ``tasks`` run).
    """
    deadline = time.monotonic() + 8
    while True:
        current = await stats.get()
        done = current["counts"].get(f"teardown {path}", 0)
        quiet = not current["requests"] and (tasks is None or current["tasks"] <= tasks)
        if (done >= expected and quiet) or time.monotonic() > deadline:
            return current
        await asyncio.sleep(0.05)


#: kind -> (what the client does, the path, the error teardown receives)
CASES: dict[str, tuple[Callable[[int], Awaitable[None]], str, str | None]] = {
    "mid-request-body": (mid_body, "/upload", "ClientDisconnected"),
    "mid-streamed-response": (mid_stream, "/stream", None),
    "mid-file-download": (mid_download, "/download", None),
    "mid-websocket": (mid_websocket, "/ws", "WebsocketDisconnect"),
}


@pytest.mark.parametrize("kind", list(CASES))
async def test_disconnects_leave_nothing_behind(server: LiveServer, kind: str) -> None:
    action, path, error = CASES[kind]
    port = server.port
    stats = Stats(port)
    try:
        # Warm up: thread pools, caches and lazily created objects exist after.
        await repeat(action, port, 10)
        before = await settled(stats, path, 10)
        base = before["counts"].get(f"teardown {path}", 0)
        await repeat(action, port, ROUNDS)
        after = await settled(stats, path, base + ROUNDS, tasks=before["tasks"])
    finally:
        await stats.close()

    counts = after["counts"]
    started = counts[f"started {path}"] - before["counts"][f"started {path}"]
    torn_down = counts[f"teardown {path}"] - base
    assert started == ROUNDS
    assert torn_down == ROUNDS, after
    if error is not None:
        # A body read cut short reaches teardown as the error, as in Flask.
        gone = after["errors"][f"{path} {error}"] - before["errors"].get(f"{path} {error}", 0)
        assert gone == ROUNDS, after
    assert after["fds"] <= before["fds"] + 2, (before, after)
    assert after["tasks"] <= before["tasks"], (before, after)
    assert after["requests"] == [], after
    assert after["rss_kib"] - before["rss_kib"] < 32 * 1024, (before, after)
    await get_ok(port)
    assert "Traceback" not in server.output(), server.output()[-3000:]


async def test_stats_poller_reconnects_after_the_keep_alive_timeout(server: LiveServer) -> None:
    # The server closes the poller's idle connection after 1 s; the next
    # poll connects again instead of failing with IncompleteReadError.
    stats = Stats(server.port)
    try:
        assert "counts" in await stats.get()
        await asyncio.sleep(1.5)
        assert "counts" in await stats.get()
        assert stats.reconnects == 1
        assert "counts" in await stats.get()
        assert stats.reconnects == 1
    finally:
        await stats.close()
