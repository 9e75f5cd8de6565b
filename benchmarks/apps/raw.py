"""The benchmark app as a bare ASGI callable: the floor every framework is measured against.

It does what each endpoint needs and nothing more: a dict of routes, the
standard library's parsers, Jinja2 templates compiled once at import, and a
session cookie signed with HMAC-SHA256.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, parse_qsl

import jinja2

from . import (
    COOKIE_BODY,
    HOOK_VALUE,
    JSON_DOC,
    LINK_IDS,
    LINKS_NAME,
    PAGE_SOURCE,
    SECRET_KEY,
    STREAM_CHUNKS,
    TEMPLATE_FOLDER,
    TEMPLATE_NAME,
    TEXT,
    page_context,
)

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Handler = Callable[[dict[str, Any], Receive, Send], Awaitable[None]]

_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATE_FOLDER), autoescape=True, auto_reload=False
)
_page = _environment.get_template(TEMPLATE_NAME)
_page_from_string = _environment.from_string(PAGE_SOURCE)
_links = _environment.get_template(LINKS_NAME)
_key = SECRET_KEY.encode()
_TEXT_PLAIN = b"text/plain; charset=utf-8"
_TEXT_HTML = b"text/html; charset=utf-8"
_JSON = b"application/json"


async def _respond(
    send: Send, status: int, body: bytes, content_type: bytes, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    if extra:
        headers.extend(extra)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive) -> bytes:
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionError("client disconnected")
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts)


def _header(scope: dict[str, Any], name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _query_name(scope: dict[str, Any]) -> str:
    values = parse_qs(scope["query_string"].decode("latin-1")).get("name")
    return values[0] if values else ""


def _sign(data: dict[str, Any]) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()
    signature = hmac.new(_key, payload.encode(), hashlib.sha256).hexdigest()
    return f"{payload}.{signature}"


def _unsign(value: str) -> dict[str, Any]:
    payload, _, signature = value.rpartition(".")
    expected = hmac.new(_key, payload.encode(), hashlib.sha256).hexdigest()
    if not payload or not hmac.compare_digest(signature, expected):
        return {}
    try:
        data = json.loads(base64.urlsafe_b64decode(payload))
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


async def text(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """Plain text."""
    await _respond(send, 200, TEXT.encode(), _TEXT_PLAIN)


async def json_doc(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """A small JSON document."""
    await _respond(send, 200, json.dumps(JSON_DOC).encode(), _JSON)


async def template(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """A template file, with a loop and an escaped query value."""
    body = _page.render(page_context(_query_name(scope))).encode()
    await _respond(send, 200, body, _TEXT_HTML)


async def template_string(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """The same template, compiled from the string at import."""
    body = _page_from_string.render(page_context(_query_name(scope))).encode()
    await _respond(send, 200, body, _TEXT_HTML)


async def form(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """A urlencoded form."""
    data = dict(parse_qsl((await _read_body(receive)).decode()))
    await _respond(send, 200, f"{data['name']} {data['count']}".encode(), _TEXT_PLAIN)


async def echo(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """The JSON body, echoed."""
    data = json.loads(await _read_body(receive))
    await _respond(send, 200, json.dumps(data).encode(), _JSON)


async def hooked(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """The before hook's value, with the after hook's header."""
    state = {"hook_value": HOOK_VALUE}
    await _respond(send, 200, state["hook_value"].encode(), _TEXT_PLAIN, [(b"x-hooked", b"yes")])


async def session_count(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """Read and write the signed cookie session."""
    session: dict[str, Any] = {}
    cookie_header = _header(scope, b"cookie")
    if cookie_header:
        morsel = SimpleCookie(cookie_header.decode("latin-1")).get("session")
        if morsel is not None:
            session = _unsign(morsel.value)
    count = int(session.get("count", 0)) + 1
    session["count"] = count
    cookie = f"session={_sign(session)}; Path=/; HttpOnly; SameSite=Lax".encode()
    await _respond(
        send, 200, f"count {count}".encode(), _TEXT_PLAIN, [(b"set-cookie", cookie), (b"vary", b"Cookie")]
    )


async def stream(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """Ten chunks, streamed."""
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", _TEXT_HTML)]})
    for chunk in STREAM_CHUNKS:
        await send({"type": "http.response.body", "body": chunk.encode(), "more_body": True})
    await send({"type": "http.response.body", "body": b""})


def _url_for(name: str, **params: Any) -> str:
    if name == "user":
        return f"/users/{params['user_id']}"
    raise LookupError(name)


async def tuple_headers(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """A body, a status and a header."""
    await _respond(send, 200, TEXT.encode(), b"text/plain")


async def jsonify_doc(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """A JSON object built from values."""
    await _respond(send, 200, json.dumps({"message": TEXT}).encode(), _JSON)


async def cookie(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """A response that sets a cookie."""
    await _respond(send, 200, COOKIE_BODY.encode(), _TEXT_PLAIN, [(b"set-cookie", b"seen=yes; Path=/")])


async def links(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """A template that builds ten URL paths."""
    await _respond(send, 200, _links.render(ids=LINK_IDS, url_for=_url_for).encode(), _TEXT_HTML)


async def go_to_text(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """A redirect to a built URL."""
    await _respond(send, 302, b"", _TEXT_HTML, [(b"location", b"/text")])


async def upload(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """A multipart form with a file, split on its boundary (no validation: the floor)."""
    content_type = _header(scope, b"content-type") or b""
    boundary = b"--" + content_type.partition(b"boundary=")[2]
    fields, filename, size = 0, "", 0
    for part in (await _read_body(receive)).split(boundary)[1:-1]:
        head, _, payload = part.partition(b"\r\n\r\n")
        name_start = head.find(b'filename="')
        if name_start < 0:
            fields += 1
        else:
            filename = head[name_start + 10 : head.index(b'"', name_start + 10)].decode()
            size = len(payload) - 2  # the CRLF before the next boundary
    await _respond(send, 200, f"{fields} fields, file {filename} {size} bytes".encode(), _TEXT_PLAIN)


async def ws_echo(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """Echo text messages until the client leaves."""
    while True:
        message = await receive()
        kind = message["type"]
        if kind == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif kind == "websocket.receive":
            await send({"type": "websocket.send", "text": message.get("text")})
        else:
            return


ROUTES: dict[tuple[str, str], Handler] = {
    ("GET", "/text"): text,
    ("GET", "/json"): json_doc,
    ("GET", "/template"): template,
    ("GET", "/template-string"): template_string,
    ("POST", "/form"): form,
    ("POST", "/echo"): echo,
    ("GET", "/hooks/"): hooked,
    ("GET", "/session"): session_count,
    ("GET", "/stream"): stream,
    ("GET", "/tuple"): tuple_headers,
    ("GET", "/jsonify"): jsonify_doc,
    ("GET", "/cookie"): cookie,
    ("GET", "/links"): links,
    ("GET", "/redirect"): go_to_text,
    ("POST", "/upload"): upload,
}


async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """Serve the benchmark endpoints."""
    kind = scope["type"]
    if kind == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    path = scope["path"]
    if kind == "websocket":
        if path == "/ws":
            await ws_echo(scope, receive, send)
        else:
            await receive()
            await send({"type": "websocket.close", "code": 1000})
        return
    handler = ROUTES.get((scope["method"], path))
    if handler is not None:
        await handler(scope, receive, send)
        return
    if scope["method"] == "GET" and path.startswith("/users/"):
        user_id = path[len("/users/") :]
        if user_id.isdigit():
            await _respond(send, 200, json.dumps({"id": int(user_id)}).encode(), _JSON)
            return
    await _respond(send, 404, b"Not Found", _TEXT_PLAIN)
