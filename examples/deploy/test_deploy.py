"""Run app.py with each command the deployment guide recommends.

Granian, Uvicorn (uvloop + httptools, from the ``[uvicorn]`` extra) and
Hypercorn, each with two workers, and Hypercorn serving HTTP/2 over TLS
and HTTP/3 over QUIC.
Each test starts the server in a subprocess on a free 127.0.0.1 port, in a
process group of its own, sends requests through it (with the headers a
reverse proxy would add, a JSON body, a websocket conversation), and stops
the group. A server that is not installed is skipped.
"""

from __future__ import annotations

import asyncio
import http.client
import importlib.util
import json
import os
import shutil
import signal
import socket
import ssl
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


def get(
    port: int,
    path: str,
    headers: dict[str, str] | None = None,
    *,
    method: str = "GET",
    body: bytes = b"",
    tls: ssl.SSLContext | None = None,
) -> tuple[int, bytes]:
    """Send one request to the server; return the status and body."""
    connection = (
        http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=tls)
        if tls is not None
        else http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    )
    try:
        connection.request(method, path, body=body or None, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def wait_until_ready(process: subprocess.Popen[bytes], port: int, tls: ssl.SSLContext | None = None) -> None:
    """Poll ``/healthz`` until it answers; fail if the server exits first."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode(errors="replace") if process.stdout else ""
            pytest.fail(f"The server exited with {process.returncode}:\n{output}")
        try:
            if get(port, "/healthz", tls=tls)[0] == 200:
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


def serve(command: list[str], port: int, tls: ssl.SSLContext | None = None) -> Iterator[int]:
    """Run ``command`` in this folder until the test is done; yield the port."""
    env = dict(os.environ, PROXY_HOPS="1", PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        command,
        cwd=HERE,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # a group of its own, for stop() to end
    )
    try:
        wait_until_ready(process, port, tls)
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
        {"X-Forwarded-For": "198.51.100.1, 203.0.113.9", "X-Forwarded-Proto": "https", "Host": "example.com"},
    )
    assert status == 200
    data: dict[str, Any] = json.loads(body)
    assert data["remote_addr"] == "203.0.113.9"
    assert data["scheme"] == "https"
    assert data["url"] == "https://example.com/"
    return data


def check_json_body(port: int) -> None:
    """A JSON request body reaches the app through the server and comes back."""
    document = {"items": [1, 2, 3], "text": "caf\u00e9"}
    status, body = get(
        port, "/echo", {"Content-Type": "application/json"}, method="POST", body=json.dumps(document).encode()
    )
    assert status == 200, body
    assert json.loads(body) == document
    # Malformed JSON is the client's mistake: a 400, not a 500.
    status, _ = get(port, "/echo", {"Content-Type": "application/json"}, method="POST", body=b"{not json")
    assert status == 400


def check_websocket(port: int) -> None:
    """A websocket conversation through the server: text and bytes come back as sent."""
    from websockets.sync.client import connect

    with connect(f"ws://127.0.0.1:{port}/ws", open_timeout=10, close_timeout=5) as ws:
        for message in ("hello", "caf\u00e9", b"\x00\x01binary"):
            ws.send(message)
            assert ws.recv(timeout=10) == message


def check_all(port: int) -> dict[str, Any]:
    """Everything the deployment example must do under a production server."""
    data = check_behind_proxy(port)
    assert data["pid"] != os.getpid()
    check_json_body(port)
    check_websocket(port)
    return data


def _granian(port: int) -> list[str] | None:
    granian = executable("granian")
    return granian and [
        granian, "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port), "--workers", "2",
        "--log-level", "warning", "app:app",
    ]  # fmt: skip


def _uvicorn(port: int) -> list[str] | None:
    uvicorn = executable("uvicorn")
    # With the [uvicorn] extra (uvicorn[standard]) installed, Uvicorn picks
    # uvloop and httptools by itself: the command names neither.
    if uvicorn is None or not all(importlib.util.find_spec(m) for m in ("uvloop", "httptools")):
        return None
    return [
        uvicorn, "app:app", "--host", "127.0.0.1", "--port", str(port), "--workers", "2",
        "--no-proxy-headers", "--log-level", "warning",
    ]  # fmt: skip


def _hypercorn(port: int) -> list[str] | None:
    hypercorn = executable("hypercorn")
    return hypercorn and [
        hypercorn, "--config", "hypercorn.toml", "--bind", f"127.0.0.1:{port}", "--workers", "2",
        "--graceful-timeout", "2", "app:app",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(_granian, id="granian"),
        pytest.param(_uvicorn, id="uvicorn"),
        pytest.param(_hypercorn, id="hypercorn"),
    ],
)
def test_recommended_command(command: Any) -> None:
    port = free_port()
    argv = command(port)
    if argv is None:
        pytest.skip("the server is not installed (pip install -e '.[granian,uvicorn]')")
    for _ in serve(argv, port):
        check_all(port)


def test_hypercorn_refuses_a_spoofed_scheme() -> None:
    port = free_port()
    argv = _hypercorn(port)
    assert argv is not None
    for _ in serve(argv, port):
        # A client that talks to the server directly cannot pretend to be
        # https through a header it adds *before* the proxy's value.
        status, body = get(port, "/", {"X-Forwarded-Proto": "https, http"})
        assert status == 200 and json.loads(body)["scheme"] == "http"


def test_hypercorn_http2_over_tls(tmp_path: Path) -> None:
    """The guide's HTTP/2 command: Hypercorn with a certificate negotiates h2 through ALPN."""
    import httpx
    from werkzeug.serving import make_ssl_devcert

    certificate, key = make_ssl_devcert(str(tmp_path / "dev"), host="localhost")
    port = free_port()
    hypercorn = executable("hypercorn")
    assert hypercorn is not None
    argv = [hypercorn, "--certfile", certificate, "--keyfile", key, "--bind", f"127.0.0.1:{port}", "app:app"]
    tls = ssl.create_default_context(cafile=certificate)
    tls.check_hostname = False
    for _ in serve(argv, port, tls):
        with httpx.Client(http2=True, verify=tls, timeout=10) as client:
            response = client.get(f"https://127.0.0.1:{port}/", headers={"X-Forwarded-Proto": "https"})
        assert response.http_version == "HTTP/2"
        assert response.status_code == 200
        assert response.json()["scheme"] == "https"


def test_hypercorn_http3_over_quic(tmp_path: Path) -> None:
    """The guide's HTTP/3 command: Hypercorn with ``--quic-bind`` (aioquic
    installed, ``hypercorn[h3]``) serves the app over QUIC, and tells
    HTTPS clients so with an ``Alt-Svc`` header."""
    pytest.importorskip("aioquic", reason="HTTP/3 needs aioquic (pip install 'hypercorn[h3]')")
    import httpx
    from werkzeug.serving import make_ssl_devcert

    certificate, key = make_ssl_devcert(str(tmp_path / "dev"), host="localhost")
    port = free_port()
    hypercorn = executable("hypercorn")
    assert hypercorn is not None
    argv = [
        hypercorn, "--certfile", certificate, "--keyfile", key,
        "--bind", f"127.0.0.1:{port}", "--quic-bind", f"127.0.0.1:{port}", "app:app",
    ]
    tls = ssl.create_default_context(cafile=certificate)
    tls.check_hostname = False
    for _ in serve(argv, port, tls):
        with httpx.Client(verify=tls, timeout=10) as client:
            advertised = client.get(f"https://127.0.0.1:{port}/").headers.get("alt-svc", "")
        assert f'h3=":{port}"' in advertised
        status, headers, body = asyncio.run(asyncio.wait_for(_http3_get(port, "/"), 20))
        assert status == 200
        assert headers.get("content-type") == "application/json"
        assert json.loads(body)["scheme"] == "https"
        status, _, body = asyncio.run(asyncio.wait_for(_http3_get(port, "/missing"), 20))
        assert status == 404


async def _http3_get(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/3 GET over QUIC with aioquic's client; the status, headers and body."""
    from aioquic.asyncio.client import connect
    from aioquic.asyncio.protocol import QuicConnectionProtocol
    from aioquic.h3.connection import H3_ALPN, H3Connection
    from aioquic.h3.events import DataReceived, H3Event, HeadersReceived
    from aioquic.quic.configuration import QuicConfiguration
    from aioquic.quic.events import QuicEvent

    class Client(QuicConnectionProtocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.http = H3Connection(self._quic)
            self.events: list[H3Event] = []
            self.done = asyncio.get_running_loop().create_future()

        def quic_event_received(self, event: QuicEvent) -> None:
            for h3_event in self.http.handle_event(event):
                self.events.append(h3_event)
                if getattr(h3_event, "stream_ended", False) and not self.done.done():
                    self.done.set_result(None)

    # Not verified: werkzeug's development certificate also names
    # "*.localhost", a wildcard service_identity (aioquic's check) refuses.
    # The TLS handshake itself still runs; HTTPS above is verified.
    configuration = QuicConfiguration(
        is_client=True, alpn_protocols=H3_ALPN, server_name="localhost", verify_mode=ssl.CERT_NONE
    )
    async with connect("127.0.0.1", port, configuration=configuration, create_protocol=Client) as client:
        assert isinstance(client, Client)
        stream = client._quic.get_next_available_stream_id()
        client.http.send_headers(
            stream,
            [
                (b":method", b"GET"),
                (b":scheme", b"https"),
                (b":authority", b"localhost"),
                (b":path", path.encode()),
            ],
            end_stream=True,
        )
        client.transmit()
        await client.done
    headers: dict[str, str] = {}
    body = b""
    for h3_event in client.events:
        if isinstance(h3_event, HeadersReceived):
            headers.update((name.decode(), value.decode()) for name, value in h3_event.headers)
        elif isinstance(h3_event, DataReceived):
            body += h3_event.data
    return int(headers.pop(":status")), headers, body
