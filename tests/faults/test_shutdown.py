"""Graceful shutdown: SIGTERM while slow requests are in flight.

The server is started the way users start it, ``microframe --app ... run``.
On SIGTERM it stops accepting connections, lets in-flight requests finish
for up to Hypercorn's graceful timeout (3 seconds by default), runs
``after_serving`` and exits 0.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from live_server import LiveServer

HERE = Path(__file__).parent
IN_FLIGHT = 50
GRACEFUL_TIMEOUT = 3.0  # Hypercorn's default, which ``microframe run`` keeps


def start(folder: Path) -> LiveServer:
    server = LiveServer(
        "",
        [HERE],
        env={"FAULTS_DIR": str(folder)},
        command=["-m", "microframe", "--app", "faults_app", "run", "--port", "{port}"],
        log=folder / "server.log",
    )
    server.wait_until_ready()
    return server


def started(server: LiveServer, path: str) -> int:
    _, body = server.request("GET", "/stats")
    count: int = json.loads(body)["counts"].get(f"started {path}", 0)
    return count


def send_slow(server: LiveServer, pool: ThreadPoolExecutor, seconds: float) -> list[Future[Any]]:
    futures = [
        pool.submit(server.request, "GET", f"/slow?t={seconds}", timeout=seconds + 10)
        for _ in range(IN_FLIGHT)
    ]
    deadline = time.monotonic() + 10
    while started(server, "/slow") < IN_FLIGHT and time.monotonic() < deadline:
        time.sleep(0.05)
    assert started(server, "/slow") == IN_FLIGHT
    return futures


def cut_off(future: Future[Any]) -> str:
    """How a request cut off by the shutdown ended, as seen by its client."""
    try:
        response, body = future.result(timeout=15)
    except (OSError, http.client.HTTPException):
        return "closed"
    if response.status == 503 and response.getheader("Retry-After") == "1":
        return "503"
    return f"{response.status} {body!r}"


def test_sigterm_lets_in_flight_requests_finish(tmp_path: Path) -> None:
    server = start(tmp_path)
    try:
        with ThreadPoolExecutor(IN_FLIGHT) as pool:
            futures = send_slow(server, pool, 1.0)
            os.kill(server.pid, signal.SIGTERM)
            results = [future.result(timeout=15) for future in futures]
        assert [(response.status, body) for response, body in results] == [
            (200, b'{"slept":true}\n')
        ] * IN_FLIGHT
        assert server.process.wait(timeout=15) == 0
        marker = (tmp_path / "after_serving.txt").read_text()
        assert marker == f"after_serving ran; slow requests finished: {IN_FLIGHT}\n"
        assert "Traceback" not in server.output()
    finally:
        server.stop()


def test_sigterm_gives_up_on_requests_after_the_graceful_timeout(tmp_path: Path) -> None:
    server = start(tmp_path)
    try:
        with ThreadPoolExecutor(IN_FLIGHT) as pool:
            futures = send_slow(server, pool, 30.0)
            signalled = time.monotonic()
            os.kill(server.pid, signal.SIGTERM)
            assert server.process.wait(timeout=15) == 0
            took = time.monotonic() - signalled
            outcomes = [cut_off(future) for future in futures]
        assert GRACEFUL_TIMEOUT - 0.5 < took < GRACEFUL_TIMEOUT + 5
        # The views are cancelled and answer 503 with Retry-After (not
        # Hypercorn's empty 500), or the connection just closes.
        assert set(outcomes) <= {"503", "closed"}, outcomes
        assert "503" in outcomes, outcomes
        assert (tmp_path / "after_serving.txt").read_text().startswith("after_serving ran")
    finally:
        server.stop()
