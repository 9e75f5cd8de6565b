"""Run app.py under real ASGI servers: Hypercorn with workers, Uvicorn, Granian.

Each test starts a server in a subprocess on a free 127.0.0.1 port, sends
requests through it (with the headers a reverse proxy would add), and stops
it by its pid. A server that is not installed is skipped.
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
STARTUP_TIMEOUT = 30.0


def free_port() -> int:
    """Return a port that was free on 127.0.0.1 a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """Send one GET request to the server; return the status and body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def wait_until_ready(process: subprocess.Popen[bytes], port: int) -> None:
    """Poll ``/healthz`` until it answers; fail if the server exits first."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode(errors="replace") if process.stdout else ""
            pytest.fail(f"The server exited with {process.returncode}:\n{output}")
        try:
            if get(port, "/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    pytest.fail(f"The server did not answer on port {port} within {STARTUP_TIMEOUT}s.")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server started by this test: SIGTERM to it, as a process
    manager sends, then SIGKILL to its process group, so that no worker
    outlives the test."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if process.poll() is None:
        process.wait(timeout=5)
    if process.stdout is not None:
        process.stdout.close()


def serve(command: list[str], port: int) -> Iterator[int]:
    """Run ``command`` in this folder until the test is done; yield the port."""
    env = dict(os.environ, PROXY_HOPS="1", PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        command, cwd=HERE, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,  # a group of its own, for stop() to end
    )
    try:
        wait_until_ready(process, port)
        yield port
    finally:
        stop(process)


def executable(name: str) -> str | None:
    """Find a console script next to this Python first, then on PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


def check_behind_proxy(port: int) -> dict[str, Any]:
    """The app sees the client and scheme the proxy reports, right-most value only."""
    status, body = get(
        port,
        "/",
        {"X-Forwarded-For": "198.51.100.1, 203.0.113.9", "X-Forwarded-Proto": "https",
         "Host": "example.com"},
    )
    assert status == 200
    data: dict[str, Any] = json.loads(body)
    assert data["remote_addr"] == "203.0.113.9"
    assert data["scheme"] == "https"
    assert data["url"] == "https://example.com/"
    return data


@pytest.fixture
def hypercorn_port() -> Iterator[int]:
    if importlib.util.find_spec("hypercorn") is None:
        pytest.skip("hypercorn is not installed")
    port = free_port()
    yield from serve(
        [sys.executable, "-m", "hypercorn", "--config", "hypercorn.toml",
         "--bind", f"127.0.0.1:{port}", "--workers", "2", "--graceful-timeout", "2",
         "app:app"],
        port,
    )


@pytest.fixture
def uvicorn_port() -> Iterator[int]:
    if importlib.util.find_spec("uvicorn") is None:
        pytest.skip("uvicorn is not installed")
    port = free_port()
    yield from serve(
        [sys.executable, "-m", "uvicorn", "app:app", "--host", "127.0.0.1",
         "--port", str(port), "--no-proxy-headers", "--log-level", "warning"],
        port,
    )


@pytest.fixture
def granian_port() -> Iterator[int]:
    granian = executable("granian")
    if granian is None:
        pytest.skip("granian is not installed")
    port = free_port()
    yield from serve(
        [granian, "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning", "app:app"],
        port,
    )


def test_hypercorn_with_workers(hypercorn_port: int) -> None:
    data = check_behind_proxy(hypercorn_port)
    assert data["pid"] != os.getpid()
    # A client that talks to the server directly cannot pretend to be https
    # through a header it adds *before* the proxy's value.
    status, body = get(hypercorn_port, "/", {"X-Forwarded-Proto": "https, http"})
    assert status == 200 and json.loads(body)["scheme"] == "http"


def test_uvicorn(uvicorn_port: int) -> None:
    check_behind_proxy(uvicorn_port)


def test_granian(granian_port: int) -> None:
    check_behind_proxy(granian_port)
