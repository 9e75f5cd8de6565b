"""Broadcast fan-out: one publisher, 1,000 subscribers, memory and Redis side by side.

* ``memory://``: the 1,000 subscribers and the publisher in one process (the
  memory backend never leaves its process).
* ``redis://``: the 1,000 subscribers spread over two worker processes (500
  each, one Redis pub/sub connection each), the publisher in a third; Redis
  is Debian's ``redis-server``, started on a free port on 127.0.0.1 with no
  persistence and stopped by its pid.

Each subscriber is a task iterating ``broadcast.subscribe(...)``, as a
websocket handler would. Each message carries the ``time.monotonic_ns()``
of its publishing (one clock for every process on the machine), so every
delivery's latency is measured where it arrives. Two phases per backend:

1. *burst*: ``--messages`` published as fast as the publisher can; the
   figure is messages (and deliveries) per second until the last subscriber
   has the last message;
2. *paced*: ``--paced`` messages at ``--rate`` per second (100: 100,000
   deliveries a second), the same for both backends; the figure is the
   delivery latency, p50 and p99 (for Redis, the worse of the two processes).

::

    python -m benchmarks.broadcast                 # about half a minute
    python -m benchmarks.broadcast --smoke         # a few seconds, small numbers (CI)
    python -m benchmarks.broadcast --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from microframe import Microframe
from microframe.broadcast import Broadcast

CHANNEL = "fanout"
#: The repository's root, where ``python -m benchmarks.broadcast`` runs.
ROOT = Path(__file__).resolve().parent.parent
#: How long any one phase may take before the run gives up, in seconds.
PHASE_TIMEOUT = 120.0


@dataclass
class Result:
    """One phase of one backend."""

    backend: str
    phase: str
    subscribers: int
    processes: int
    messages: int
    seconds: float
    messages_per_second: float
    deliveries_per_second: float
    p50_ms: float
    p99_ms: float


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` percentile of the sorted ``values`` (nearest rank)."""
    if not values:
        return 0.0
    index = min(len(values) - 1, max(0, round(fraction * len(values)) - 1))
    return values[index]


def make_app(url: str, queue: int) -> tuple[Microframe, Broadcast]:
    app = Microframe("broadcast_benchmark")
    app.config.update(BROADCAST_URL=url, BROADCAST_QUEUE_SIZE=queue)
    return app, Broadcast(app)


class Subscribers:
    """``count`` subscriber tasks in this process, recording latencies."""

    def __init__(self, broadcast: Broadcast, count: int, expected: int) -> None:
        self.broadcast = broadcast
        self.count = count
        self.expected = expected
        self.latencies_ns: list[int] = []
        self.finished = 0
        self.last_ns = 0
        self.all_done = asyncio.Event()
        self.ready = asyncio.Event()
        self._joined = 0

    async def run_one(self) -> None:
        received = 0
        async with self.broadcast.subscribe(CHANNEL) as subscriber:
            self._joined += 1
            if self._joined == self.count:
                self.ready.set()
            async for message in subscriber:
                now = time.monotonic_ns()
                self.latencies_ns.append(now - int(message.partition(" ")[0]))
                received += 1
                if received == self.expected:
                    break
        self.finished += 1
        self.last_ns = max(self.last_ns, time.monotonic_ns())
        if self.finished == self.count:
            self.all_done.set()

    def start(self) -> list[asyncio.Task[None]]:
        return [asyncio.create_task(self.run_one()) for _ in range(self.count)]

    def summary(self) -> dict[str, Any]:
        latencies = sorted(self.latencies_ns)
        return {
            "deliveries": len(latencies),
            "last_ns": self.last_ns,
            "p50_ms": percentile(latencies, 0.50) / 1e6,
            "p99_ms": percentile(latencies, 0.99) / 1e6,
        }


async def publish(broadcast: Broadcast, messages: int, rate: float | None) -> int:
    """Publish ``messages``; at ``rate`` per second, or flat out. Return the start (ns)."""
    started = time.monotonic_ns()
    for n in range(messages):
        if rate is not None:
            due = started + int(n * 1e9 / rate)
            delay = (due - time.monotonic_ns()) / 1e9
            if delay > 0:
                await asyncio.sleep(delay)
        await broadcast.publish(CHANNEL, f"{time.monotonic_ns()} {n}")
        if rate is None and n % 64 == 0:
            await asyncio.sleep(0)  # let the memory backend's subscribers run now and then
    return started


# -- memory -----------------------------------------------------------------------


async def memory_phase(subscribers: int, messages: int, rate: float | None, phase: str) -> Result:
    app, broadcast = make_app("memory://", messages + 10)
    async with app.app_context():
        group = Subscribers(broadcast, subscribers, messages)
        tasks = group.start()
        await asyncio.wait_for(group.ready.wait(), PHASE_TIMEOUT)
        started = await publish(broadcast, messages, rate)
        await asyncio.wait_for(group.all_done.wait(), PHASE_TIMEOUT)
        await asyncio.gather(*tasks)
    summary = group.summary()
    return _result("memory", phase, subscribers, 1, messages, started, summary["last_ns"], [summary])


def _result(
    backend: str, phase: str, subscribers: int, processes: int, messages: int,
    started: int, last_ns: int, summaries: list[dict[str, Any]],
) -> Result:
    seconds = (last_ns - started) / 1e9
    deliveries = sum(summary["deliveries"] for summary in summaries)
    if deliveries != subscribers * messages:
        raise SystemExit(f"{backend}: {deliveries} deliveries, expected {subscribers * messages}")
    return Result(
        backend=backend,
        phase=phase,
        subscribers=subscribers,
        processes=processes,
        messages=messages,
        seconds=round(seconds, 3),
        messages_per_second=round(messages / seconds),
        deliveries_per_second=round(deliveries / seconds),
        p50_ms=round(max(summary["p50_ms"] for summary in summaries), 2),
        p99_ms=round(max(summary["p99_ms"] for summary in summaries), 2),
    )


# -- Redis ------------------------------------------------------------------------


class RedisProcess:
    """``redis-server`` on a free port, no persistence, in its own process group."""

    def __init__(self, folder: Path) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            raise FileNotFoundError("redis-server is missing; run '.ci/system-deps'")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.process = subprocess.Popen(
            [executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not start")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)


async def worker(url: str, subscribers: int, messages: int) -> None:
    """A subscriber process: subscribe, say ``ready``, then print a summary as JSON."""
    app, broadcast = make_app(url, messages + 10)
    await app.startup()
    try:
        async with app.app_context():
            group = Subscribers(broadcast, subscribers, messages)
            tasks = group.start()
            await asyncio.wait_for(group.ready.wait(), PHASE_TIMEOUT)
            print("ready", flush=True)
            await asyncio.wait_for(group.all_done.wait(), PHASE_TIMEOUT)
            await asyncio.gather(*tasks)
        print(json.dumps(group.summary()), flush=True)
    finally:
        await app.shutdown()


async def redis_phase(
    url: str, subscribers: int, processes: int, messages: int, rate: float | None, phase: str
) -> Result:
    each = subscribers // processes
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "benchmarks.broadcast", "--worker", url,
            "--subscribers", str(each), "--messages", str(messages),
            stdout=asyncio.subprocess.PIPE, cwd=ROOT, start_new_session=True,
        )
        for _ in range(processes)
    ]
    try:
        for process in workers:
            assert process.stdout is not None
            line = await asyncio.wait_for(process.stdout.readline(), PHASE_TIMEOUT)
            if line.strip() != b"ready":
                raise SystemExit(f"a worker failed to start: {line!r}")
        app, broadcast = make_app(url, 10)
        await app.startup()
        try:
            async with app.app_context():
                started = await publish(broadcast, messages, rate)
        finally:
            await app.shutdown()
        summaries = []
        for process in workers:
            assert process.stdout is not None
            summaries.append(json.loads(await asyncio.wait_for(process.stdout.readline(), PHASE_TIMEOUT)))
            await asyncio.wait_for(process.wait(), PHASE_TIMEOUT)
    finally:
        for process in workers:
            if process.returncode is None:
                os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
    last = max(summary["last_ns"] for summary in summaries)
    return _result("redis", phase, each * processes, processes, messages, started, last, summaries)


# -- the run ----------------------------------------------------------------------


async def run(
    subscribers: int, processes: int, messages: int, paced: int, rate: float, redis: bool
) -> list[Result]:
    """Both phases for memory, then for Redis (when ``redis``)."""
    results = [
        await memory_phase(subscribers, messages, None, "burst"),
        await memory_phase(subscribers, paced, rate, f"{rate:g}/s"),
    ]
    if redis:
        with tempfile.TemporaryDirectory() as folder:
            server = RedisProcess(Path(folder))
            try:
                results.append(await redis_phase(server.url, subscribers, processes, messages, None, "burst"))
                results.append(
                    await redis_phase(server.url, subscribers, processes, paced, rate, f"{rate:g}/s")
                )
            finally:
                server.stop()
    return results


def table(results: list[Result]) -> str:
    """The results as a Markdown table."""
    lines = [
        "| backend | phase | subscribers (processes) | messages | messages/s | deliveries/s"
        " | p50 ms | p99 ms |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r.backend} | {r.phase} | {r.subscribers} ({r.processes}) | {r.messages}"
            f" | {r.messages_per_second:,} | {r.deliveries_per_second:,} | {r.p50_ms} | {r.p99_ms} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """The command line: ``python -m benchmarks.broadcast [--smoke]``."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.broadcast", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=2, help="Redis subscriber processes")
    parser.add_argument("--messages", type=int, default=1000, help="messages of the burst")
    parser.add_argument("--paced", type=int, default=500, help="messages of the paced phase")
    parser.add_argument("--rate", type=float, default=100, help="messages per second when paced")
    parser.add_argument("--smoke", action="store_true", help="tiny numbers, to check that it runs")
    parser.add_argument("--no-redis", action="store_true", help="the memory backend only")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--worker", metavar="URL", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.worker:
        asyncio.run(worker(options.worker, options.subscribers, options.messages))
        return
    if options.smoke:
        options.subscribers, options.messages, options.paced, options.rate = 20, 50, 20, 200
    redis = not options.no_redis and shutil.which("redis-server") is not None
    if not redis and not options.no_redis:
        print("redis-server is missing ('.ci/system-deps' installs it): the memory backend only")
    results = asyncio.run(
        run(options.subscribers, options.processes, options.messages, options.paced, options.rate, redis)
    )
    print(table(results))
    if options.json:
        options.json.write_text(json.dumps([asdict(result) for result in results], indent=2))


if __name__ == "__main__":
    main()
