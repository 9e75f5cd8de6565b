"""Drive an ASGI app with hand-built scopes and messages, and check the result.

Unlike the test client, nothing here cleans up the request first: bytes go
into the scope as a server could put them, and the messages the app sends
back are checked for the shape the ASGI spec requires.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Req:
    """One hostile request, as an HTTP server would hand it to the app.

    :param chunks: the body in several ``http.request`` messages (``body``
        is ignored then).
    :param stall: after the chunks, send nothing more and never finish (a
        slow client); otherwise the last chunk ends the body.
    :param disconnect: after the chunks, report ``http.disconnect``.
    """

    method: str = "GET"
    path: str = "/"
    query: bytes = b""
    headers: tuple[tuple[bytes, bytes], ...] = ()
    body: bytes = b""
    chunks: tuple[bytes, ...] | None = None
    stall: bool = False
    disconnect: bool = False
    raw_path: bytes | None = None
    host: bytes | None = b"localhost"
    root_path: str = ""


@dataclass
class Result:
    """What the app sent back."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    messages: list[dict[str, Any]] = field(default_factory=list)
    #: ``False`` when the app stopped before the body's final message: the
    #: server then closes the connection, so the client sees a cut response.
    ended: bool = True

    def header(self, name: bytes) -> bytes | None:
        """The first value of header ``name`` (lower case), or ``None``."""
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def header_list(self, name: bytes) -> list[bytes]:
        """Every value of header ``name`` (lower case)."""
        return [value for key, value in self.headers if key == name]


def make_scope(req: Req) -> dict[str, Any]:
    """The ASGI HTTP scope for ``req``."""
    headers = list(req.headers)
    if req.host is not None:
        headers.insert(0, (b"host", req.host))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": req.method,
        "scheme": "http",
        "path": req.path,
        "raw_path": req.raw_path if req.raw_path is not None else req.path.encode(),
        "query_string": req.query,
        "root_path": req.root_path,
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("localhost", 80),
    }


def make_messages(req: Req) -> list[dict[str, Any]]:
    """The ``receive`` messages of ``req``'s body."""
    chunks = req.chunks if req.chunks is not None else (req.body,)
    last = len(chunks) - 1
    messages: list[dict[str, Any]] = [
        {
            "type": "http.request",
            "body": chunk,
            "more_body": i < last or req.stall or req.disconnect,
        }
        for i, chunk in enumerate(chunks)
    ]
    if req.disconnect:
        messages.append({"type": "http.disconnect"})
    return messages


class MalformedResponse(AssertionError):
    """The app sent messages that break the ASGI HTTP response protocol."""


def check_messages(sent: list[dict[str, Any]], allow_cut: bool = False) -> Result:
    """Check ``sent`` is one well-formed response and return it.

    One ``http.response.start`` with an int status and byte-pair headers,
    then body messages with bytes, the last with ``more_body`` false, and
    nothing after it. With ``allow_cut``, the final message may be missing
    (a stream ended early on purpose).
    """
    if not sent:
        raise MalformedResponse("the app sent nothing")
    start = sent[0]
    if start.get("type") != "http.response.start":
        raise MalformedResponse(f"the first message is {start.get('type')!r}")
    status = start.get("status")
    if type(status) is not int or not 100 <= status <= 599:
        raise MalformedResponse(f"bad status {status!r}")
    headers = start.get("headers", [])
    for pair in headers:
        ok = (
            isinstance(pair, (tuple, list))
            and len(pair) == 2
            and all(isinstance(part, bytes) for part in pair)
        )
        if not ok:
            raise MalformedResponse(f"bad header pair {pair!r}")
        if any(c in pair[1] for c in (b"\r", b"\n", b"\0")):
            raise MalformedResponse(f"header {pair[0]!r} splits: {pair[1]!r}")
    body: list[bytes] = []
    ended = False
    for message in sent[1:]:
        if ended:
            raise MalformedResponse(f"a message after the end of the body: {message!r}")
        if message.get("type") != "http.response.body":
            raise MalformedResponse(f"unexpected message {message.get('type')!r}")
        chunk = message.get("body", b"")
        if not isinstance(chunk, bytes):
            raise MalformedResponse(f"a body chunk of type {type(chunk).__name__}")
        body.append(chunk)
        ended = not message.get("more_body", False)
    if not ended and not allow_cut:
        raise MalformedResponse("the body never ended (no more_body=False message)")
    return Result(status, list(headers), b"".join(body), sent, ended)


async def run_asgi(app: Any, req: Req, timeout: float = 10, allow_cut: bool = False) -> Result:
    """Send ``req`` to ``app`` and return its checked response.

    Any exception leaving the app fails, as does taking over ``timeout``
    seconds; a client that stalls or goes away then waits forever, as a
    real one would.
    """
    messages = make_messages(req)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        if req.disconnect:
            return {"type": "http.disconnect"}
        # Wait forever as a server does, on an event rather than a timer (a
        # timer would keep the request's context alive until it is due).
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async with asyncio.timeout(timeout):
        await app(make_scope(req), receive, send)
    if req.disconnect and not sent:
        return Result(0, [], b"", [])
    return check_messages(sent, allow_cut)
