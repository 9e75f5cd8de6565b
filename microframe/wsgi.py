"""WSGI as seen from ASGI: environs made of scopes and back, and WSGI
middleware around the app.

Flask apps are deployed with WSGI middleware wrapped around
``app.wsgi_app`` (werkzeug's ``ProxyFix`` is in Flask's deployment guide,
``DispatcherMiddleware`` mounts other WSGI apps beside it). microframe speaks
ASGI, but a ported app keeps that line working: once ``app.wsgi_app`` is
replaced, each HTTP request is handed to it as a WSGI environ on a worker
thread, and when the middleware calls the app it wraps (the original
``app.wsgi_app``), the environ as the middleware left it becomes the scope
of the request microframe serves. The response streams back through the
middleware chunk by chunk. Websocket connections do not pass through WSGI
middleware, which cannot handle them.

The test client uses the same translation from environ to scope for the
requests it builds with werkzeug's ``EnvironBuilder``, and
``app.request_context(environ)`` for a request given as an environ, as
Flask's takes one.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
import queue
import sys
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote
from weakref import WeakKeyDictionary

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wsgi import get_input_stream

from .asgi import handle_http, make_request
from .logging import ERRORS_STREAM_KEY
from .sync import loop_result, run_on_loop
from .typing import ASGIMessage, ASGIReceiveCallable, ASGISendCallable
from .wrappers import Request
from .wrappers.body import Body

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from .app import Microframe

#: The environ key that carries the request's ASGI side to the end of a WSGI
#: middleware chain (``app.wsgi_app``).
ASGI_KEY = "microframe.asgi"

#: ``HTTP_`` keys that are not headers: the body's headers are ``CONTENT_*`` in WSGI.
_NOT_HEADERS = frozenset({"HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"})
#: Characters kept as they are when the decoded path is quoted again for ``raw_path``.
_PATH_SAFE = "/:@!$&'()*+,;=~"
#: Put on a response's message queue when the app is done (compared by identity).
_DONE: ASGIMessage = {"type": "microframe.done"}


# -- environ to scope -------------------------------------------------------------


def scope_fields(environ: WSGIEnvironment, type_: str = "http") -> dict[str, Any]:
    """Return the ASGI scope a server would make of a WSGI ``environ`` (no body).

    WSGI strings carry bytes as latin-1 code points (PEP 3333); ASGI paths
    are decoded text and header values bytes. The ``Host`` header,
    ``REMOTE_ADDR`` (the client), ``SERVER_NAME``/``SERVER_PORT`` (the
    server), ``SCRIPT_NAME`` (the root path) and ``wsgi.url_scheme`` (the
    scheme; ``ws``/``wss`` for a websocket) all find their place in the scope.
    """
    script_name = _wsgi_bytes(environ.get("SCRIPT_NAME", ""))
    path_info = _wsgi_bytes(environ.get("PATH_INFO", "")) or b"/"
    scheme = environ.get("wsgi.url_scheme", "http")
    protocol = environ.get("SERVER_PROTOCOL", "HTTP/1.1")
    scope: dict[str, object] = {
        "type": type_,
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": protocol.partition("/")[2] or "1.1",
        "scheme": _websocket_scheme(scheme) if type_ == "websocket" else scheme,
        # ASGI's path includes the root path; raw_path is it as sent, quoted.
        "path": (script_name + path_info).decode(errors="replace"),
        "raw_path": quote(script_name + path_info, safe=_PATH_SAFE).encode("ascii"),
        "query_string": _wsgi_bytes(environ.get("QUERY_STRING", "")),
        "root_path": script_name.decode(errors="replace"),
        "headers": _headers(environ),
        "client": _address(environ.get("REMOTE_ADDR"), environ.get("REMOTE_PORT")),
        "server": _address(environ.get("SERVER_NAME"), environ.get("SERVER_PORT")),
    }
    errors = environ.get("wsgi.errors")
    if errors is not None and errors is not sys.stderr:
        # The request's own error stream, where wsgi_errors_stream logs.
        scope[ERRORS_STREAM_KEY] = errors
    if type_ == "http":
        scope["method"] = str(environ.get("REQUEST_METHOD", "GET")).upper()
    return scope


def _wsgi_bytes(value: str) -> bytes:
    # A WSGI string is bytes as latin-1; a value set by hand may hold other
    # characters (an IDNA host, say), sent as UTF-8 as a browser would.
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode()


def _websocket_scheme(scheme: str) -> str:
    return {"http": "ws", "https": "wss"}.get(scheme, scheme)


def _headers(environ: WSGIEnvironment) -> list[tuple[bytes, bytes]]:
    headers: list[tuple[bytes, bytes]] = []
    for key, value in environ.items():
        if key.startswith("HTTP_") and key not in _NOT_HEADERS:
            name = key[5:]
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            name = key
        else:
            continue
        headers.append((name.replace("_", "-").lower().encode("latin-1"), _wsgi_bytes(str(value))))
    return headers


def _address(host: object, port: str | int | None) -> tuple[str, int] | None:
    if not host:
        return None
    try:
        number = int(port) if port else 0
    except ValueError:
        number = 0
    return str(host), number


def request_from_scope(app: Microframe, scope: dict[str, Any], body: bytes) -> Request:
    """Build the request a server would hand ``app`` for ``scope``, with ``body`` in memory."""
    request = make_request(app, scope, _no_receive)  # type: ignore[arg-type]
    request.body = Body(None, data=body, max_content_length=app.config["MAX_CONTENT_LENGTH"])
    return request


def request_from_environ(app: Microframe, environ: WSGIEnvironment) -> Request:
    """Build the request a WSGI ``environ`` describes, its body read into memory."""
    stream = environ.get("wsgi.input")
    body = stream.read() if stream is not None else b""
    scope = scope_fields(environ)
    scope["extensions"] = {}
    return request_from_scope(app, scope, body)


async def _no_receive() -> dict[str, object]:
    raise RuntimeError("The request's body is in memory; nothing is received.")


# -- scope to environ -------------------------------------------------------------


def environ_from_scope(
    scope: Mapping[str, Any], body: io.RawIOBase | io.BufferedIOBase
) -> WSGIEnvironment:
    """Return the WSGI environ of an HTTP ``scope``, reading the body from ``body``."""
    root_path: str = scope.get("root_path", "")
    path: str = scope["path"]
    if root_path and path.startswith(root_path):
        path = path[len(root_path):]
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client")
    environ: WSGIEnvironment = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": root_path.encode().decode("latin-1"),
        "PATH_INFO": path.encode().decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1] or ""),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": body,
        "wsgi.errors": scope.get(ERRORS_STREAM_KEY, sys.stderr),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if client:
        environ["REMOTE_ADDR"], environ["REMOTE_PORT"] = str(client[0]), str(client[1])
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        key = name if name in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{name}"
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


class _Body(io.RawIOBase):
    """The request body as ``wsgi.input``: read from the ASGI side only if the
    middleware reads it, then given to the app as it was received."""

    def __init__(
        self, receive: ASGIReceiveCallable, max_length: int | None, loop: asyncio.AbstractEventLoop
    ) -> None:
        super().__init__()
        self._receive = receive
        self._max_length = max_length
        self._loop = loop
        self._data: io.BytesIO | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._read_all()
        chunk = data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def _read_all(self) -> io.BytesIO:
        # On the middleware's worker thread: the body comes from the loop.
        if self._data is None:
            future = asyncio.run_coroutine_threadsafe(self._receive_all(), self._loop)
            self._data = io.BytesIO(future.result())
        return self._data

    async def _receive_all(self) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await self._receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if self._max_length is not None and size > self._max_length:
                raise RequestEntityTooLarge()
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def receive_for_app(self) -> ASGIReceiveCallable:
        """The receive callable of the request the app serves."""
        if self._data is None:
            return self._receive
        replay = [{"type": "http.request", "body": self._data.getvalue(), "more_body": False}]
        receive = self._receive

        async def replayed() -> ASGIMessage:
            return replay.pop() if replay else await receive()

        return replayed

    def receive_after_body(self) -> ASGIReceiveCallable:
        """A receive callable for after the body, which the app had from
        elsewhere: the server's body messages not read yet are dropped."""
        receive = self._receive

        async def after_body() -> ASGIMessage:
            for _ in range(1_000_000):  # bounded: a body of at most a million messages
                message = await receive()
                if message["type"] != "http.request":
                    return message
            raise RuntimeError("The request body did not end.")

        return after_body


def _receive_from_stream(
    stream: IO[bytes], rest: ASGIReceiveCallable, loop: asyncio.AbstractEventLoop
) -> ASGIReceiveCallable:
    # The body a middleware put in the environ, read off the loop (it may
    # read the server's body, which the loop delivers, as _Body does).
    finished = False

    async def receive() -> ASGIMessage:
        nonlocal finished
        if finished:
            return await rest()
        chunk = await loop.run_in_executor(None, stream.read, _CHUNK)
        finished = not chunk
        return {"type": "http.request", "body": chunk, "more_body": not finished}

    return receive


#: How much of a body a middleware replaced is read at a time.
_CHUNK = 65536


def _body_for_app(
    environ: WSGIEnvironment, body: _Body, length: str | None, loop: asyncio.AbstractEventLoop
) -> ASGIReceiveCallable:
    """The receive callable that gives the app the body as the middleware
    left it: the server's, or the ``wsgi.input`` and ``CONTENT_LENGTH`` it
    set (a stream that hashes what is read, a method override's empty body)."""
    unchanged: bool = environ.get("wsgi.input") is body and environ.get("CONTENT_LENGTH") == length
    if unchanged:
        return body.receive_for_app()
    # Bodies here are read to their end, as with a chunked request; a
    # CONTENT_LENGTH limits what is read, as werkzeug's server does
    # (werkzeug tests for the input_terminated key, not its value).
    if "CONTENT_LENGTH" not in environ:
        environ = {**environ, "wsgi.input_terminated": True}
    stream = get_input_stream(environ, safe_fallback=False)
    return _receive_from_stream(stream, body.receive_after_body(), loop)


# -- the bridge -------------------------------------------------------------------


async def serve_app_through_wsgi(
    app: Microframe,
    middleware: WSGIApplication,
    scope: dict[str, object],
    receive: ASGIReceiveCallable,
    send: ASGISendCallable,
) -> None:
    """Serve one HTTP request of ``app`` through ``middleware``, the WSGI
    middleware that replaced ``app.wsgi_app``, on the app's WSGI threads."""
    executor = _executors.get(app)
    if executor is None:
        executor = _executors[app] = ThreadPoolExecutor(
            int(app.config["SYNC_WORKERS"]), thread_name_prefix="microframe-wsgi"
        )
    await serve_through_wsgi(
        middleware, scope, receive, send, executor, app.config["MAX_CONTENT_LENGTH"]
    )


#: Each app's threads for WSGI middleware (made on its first such request).
_executors: WeakKeyDictionary[Microframe, ThreadPoolExecutor] = WeakKeyDictionary()


async def serve_through_wsgi(
    middleware: WSGIApplication,
    scope: dict[str, object],
    receive: ASGIReceiveCallable,
    send: ASGISendCallable,
    executor: Executor,
    max_body: int | None,
) -> None:
    """Serve one HTTP request through the WSGI ``middleware``.

    The request is served by the app whose ``wsgi_app`` the middleware
    calls: usually the app it wraps, or another app it mounts
    (``DispatcherMiddleware(app.wsgi_app, {"/backend": backend.wsgi_app})``).

    :param executor: the threads WSGI code runs on. Not the ones that run the
        app's sync views: a middleware thread waits for the request it passed
        on, which may need such a thread.
    :param max_body: the most body bytes the middleware may read.
    """
    loop = asyncio.get_running_loop()
    body = _Body(receive, max_body, loop)
    environ = environ_from_scope(scope, body)
    environ[ASGI_KEY] = (scope, body, loop, environ.get("CONTENT_LENGTH"))
    await loop.run_in_executor(executor, _run_middleware, middleware, environ, send, loop)


def _run_middleware(
    middleware: WSGIApplication,
    environ: WSGIEnvironment,
    send: ASGISendCallable,
    loop: asyncio.AbstractEventLoop,
) -> None:
    # On a worker thread: run the WSGI side and send what it answers.
    status: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(
        line: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
    ) -> Callable[[bytes], object]:
        if exc_info is not None and status and exc_info[1] is not None:
            raise exc_info[1].with_traceback(exc_info[2])
        status[:] = [(line, headers)]
        return lambda data: None  # the legacy write(); unused by middleware of today

    def forward(message: ASGIMessage) -> None:
        asyncio.run_coroutine_threadsafe(send(message), loop).result()  # type: ignore[arg-type]

    result = middleware(environ, start_response)
    started = False
    try:
        for chunk in result:
            if not chunk:
                continue
            if not started:
                forward(_start_message(status))
                started = True
            forward({"type": "http.response.body", "body": bytes(chunk), "more_body": True})
        if not started:
            forward(_start_message(status))
        forward({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()


def _start_message(status: list[tuple[str, list[tuple[str, str]]]]) -> ASGIMessage:
    if not status:
        raise RuntimeError("The WSGI middleware returned a body without calling start_response().")
    ((line, headers),) = status
    return {
        "type": "http.response.start",
        "status": int(line.split(" ", 1)[0]),
        "headers": [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers],
    }


def serve_wsgi_environ(
    app: Microframe, environ: WSGIEnvironment, start_response: StartResponse
) -> Iterator[bytes]:
    """The WSGI app at the end of a middleware chain: serve ``environ`` as
    ``app``'s request and stream its response back (on the middleware's
    worker thread)."""
    try:
        scope, body, loop, length = environ[ASGI_KEY]
    except KeyError:
        raise RuntimeError(
            "app.wsgi_app runs only inside the app's ASGI handling, for WSGI"
            " middleware wrapped around it: serve the app with an ASGI server."
        ) from None
    # The scope as the middleware left the environ; the rest (extensions,
    # state) is the server's.
    served = {**scope, **scope_fields(environ)}
    messages: queue.SimpleQueue[ASGIMessage] = queue.SimpleQueue()

    async def capture(message: ASGIMessage) -> None:
        messages.put(message)

    future = run_on_loop(
        handle_http(app, served, _body_for_app(environ, body, length, loop), capture),  # type: ignore[arg-type]
        loop,
    )
    future.add_done_callback(lambda _: messages.put(_DONE))
    first = messages.get()
    if first is _DONE:
        loop_result(future)  # raises what the app raised
        raise RuntimeError("The app sent no response.")
    code = first["status"]
    start_response(
        f"{code} {HTTP_STATUS_CODES.get(code, 'UNKNOWN').upper()}",
        [(name.decode("latin-1"), value.decode("latin-1")) for name, value in first["headers"]],
    )
    return _body_chunks(messages, future)


def _body_chunks(
    messages: queue.SimpleQueue[ASGIMessage], future: concurrent.futures.Future[None]
) -> Iterator[bytes]:
    while True:
        message = messages.get()
        if message is _DONE:
            loop_result(future)  # raises what the app raised after answering
            return
        if message.get("type") == "http.response.body":
            chunk = message.get("body", b"")
            if chunk:
                yield chunk


__all__ = [
    "ASGI_KEY",
    "environ_from_scope",
    "request_from_environ",
    "request_from_scope",
    "scope_fields",
    "serve_app_through_wsgi",
    "serve_through_wsgi",
    "serve_wsgi_environ",
]
