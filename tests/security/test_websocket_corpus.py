"""Bad WebSocket handshakes and frames, as raw bytes to a real Hypercorn server.

Hypercorn validates handshakes and frames itself (a frame that breaks the
protocol ends the connection); the app refuses handshakes it has no route
for. No case may get a 500 or a traceback, the handler's teardown must run,
and the server must still serve a normal websocket and HTTP request after.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from live_server import LiveServer, status_of

HERE = Path(__file__).parent
KEY = b"dGhlIHNhbXBsZSBub25jZQ=="


def handshake(
    path: bytes = b"/ws", key: bytes | None = KEY, version: bytes = b"13", extra: bytes = b""
) -> bytes:
    lines = [b"GET " + path + b" HTTP/1.1", b"Host: 127.0.0.1", b"Upgrade: websocket", b"Connection: Upgrade"]
    if key is not None:
        lines.append(b"Sec-WebSocket-Key: " + key)
    lines.append(b"Sec-WebSocket-Version: " + version)
    return b"\r\n".join(lines) + b"\r\n" + extra + b"\r\n"


def frame(
    opcode: int, payload: bytes, mask: bool = True, fin: bool = True, length: int | None = None
) -> bytes:
    """One frame; ``length`` overrides the declared payload length."""
    first = (0x80 if fin else 0) | opcode
    size = len(payload) if length is None else length
    mask_bit = 0x80 if mask else 0
    if size < 126:
        header = bytes([first, mask_bit | size])
    elif size < 65536:
        header = bytes([first, mask_bit | 126]) + struct.pack(">H", size)
    else:
        header = bytes([first, mask_bit | 127]) + struct.pack(">Q", size)
    if mask:
        key = b"abcd"
        payload = bytes(byte ^ key[i % 4] for i, byte in enumerate(payload))
        header += key
    return header + payload


ECHO = frame(1, b"hi", mask=False)  # what the server sends back for "hi"


@dataclass(frozen=True)
class WsCase:
    id: str
    handshake: bytes
    status: int
    frames: bytes = b""
    echoed: bool = False


CASES = [
    WsCase("echo", handshake(), 101, frame(1, b"hi"), echoed=True),
    WsCase("no-key", handshake(key=None), 400),
    WsCase("bad-version", handshake(version=b"99"), 400),
    WsCase("garbage-key", handshake(key=b"\xff\xfe not base64"), 101),
    WsCase("unknown-path", handshake(path=b"/nope"), 404),
    WsCase("http-only-route", handshake(path=b"/"), 400),
    WsCase("traversal-path", handshake(path=b"/ws/../files/..%2fsecret.txt"), 404),
    WsCase(
        "huge-subprotocol-list", handshake(extra=b"Sec-WebSocket-Protocol: " + b"a," * 2000 + b"\r\n"), 101
    ),
    WsCase("unmasked-frame", handshake(), 101, frame(1, b"hi", mask=False)),
    WsCase("invalid-utf8-text", handshake(), 101, frame(1, b"\xff\xfe")),
    WsCase("reserved-opcode", handshake(), 101, frame(3, b"x")),
    WsCase("close-with-bad-code", handshake(), 101, frame(8, struct.pack(">H", 999))),
    WsCase("continuation-without-start", handshake(), 101, frame(0, b"x")),
    WsCase("ping-too-long", handshake(), 101, frame(9, b"x" * 200)),
    WsCase("declared-exabyte-frame", handshake(), 101, frame(2, b"", length=2**62)),
    WsCase("truncated-frame", handshake(), 101, frame(1, b"hello")[:4]),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    site = tmp_path_factory.mktemp("site")
    running = LiveServer(
        "security_app:app", [HERE], env={"SECURITY_SITE": str(site)}, log=site / "server.log"
    )
    try:
        running.wait_until_ready()
        yield running
    finally:
        running.stop()
    assert "Traceback" not in running.output(), running.output()[-3000:]


def exchange(server: LiveServer, case: WsCase) -> bytes:
    """Handshake, wait for the answer's head, send the frames, read for a moment."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=2) as sock:
        sock.sendall(case.handshake)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return data
            data += chunk
        if case.frames:
            sock.sendall(case.frames)
        deadline = time.monotonic() + 0.3
        sock.settimeout(0.05)
        while time.monotonic() < deadline and not (case.echoed and ECHO in data):
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
        return data


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_websocket(server: LiveServer, case: WsCase) -> None:
    answer = exchange(server, case)
    assert status_of(answer) == case.status, answer[:300]
    assert b"Traceback" not in answer
    body = answer.partition(b"\r\n\r\n")[2]
    assert (ECHO in body) is case.echoed, body[:100]
    # The server still serves a websocket and plain HTTP.
    assert ECHO in exchange(server, CASES[0])
    response, ok = server.request("GET", "/")
    assert (response.status, ok) == (200, b"ok")
