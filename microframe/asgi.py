"""The ASGI protocol: HTTP requests, websockets and the lifespan.

Everything that speaks ASGI messages lives here, as the connection classes
the app names (:attr:`~microframe.app.Microframe.asgi_http_class`,
``asgi_websocket_class``, ``asgi_lifespan_class``; Quart's extension
points): one instance serves one connection, building the request or
websocket, pushing its context and calling the app's public request-cycle
methods (``respond``, ``full_dispatch_websocket``, ``startup``, ...). The
app deals only in requests and responses.

No task is created for a plain response; a streamed response gets one
watcher task that notices a client going away and cancels the stream, so
the generator is closed and teardown runs (:mod:`microframe.asgi_stream`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from operator import itemgetter
from typing import TYPE_CHECKING, Any, cast

from .asgi_stream import driven, send_reading_the_rest, send_streamed
from .caches import BoundedCache
from .ctx import RequestContext, WebsocketContext
from .typing import (
    ASGIMessage,
    ASGIReceiveCallable,
    ASGISendCallable,
    HTTPScope,
    Scope,
    WebsocketScope,
)
from .wrappers import Request, Response
from .wrappers.body import ClientDisconnected
from .wrappers.response import correct_location, strip_not_modified
from .wrappers.response_body import DataBody
from .wrappers.scope import read_scope, scope_path, scope_query
from .wrappers.websocket import Websocket, WebsocketDisconnect

if TYPE_CHECKING:
    from .app import Microframe

_NO_BODY_STATUS = frozenset({204, 304})

#: Set in an HTTP scope by a server that answers unhandled errors itself (the
#: development server's interactive debugger, :mod:`microframe.debugger`), as
#: werkzeug's debugger sets ``werkzeug.debug.preserve_context`` in an environ.
#: Its value is called with the request context when an error propagates
#: (debug mode); the error is then re-raised before any response is started.
PRESERVE_CONTEXT_KEY = "microframe.preserve_context"


class ASGIHTTPConnection:
    """Serves one HTTP request: builds the request, pushes its context, asks
    the app for the response (:meth:`~microframe.app.Microframe.respond`),
    sends it, then pops the context (teardown runs once the response is out).

    Subclass it and set :attr:`~microframe.app.Microframe.asgi_http_class`
    to change how requests are made or responses sent.

    :param app: the app.
    :param scope: the connection's ASGI scope.
    """

    __slots__ = ("app", "scope")

    def __init__(self, app: Microframe, scope: HTTPScope) -> None:
        self.app = app
        self.scope = scope

    async def __call__(self, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        app = self.app
        ctx = RequestContext(app, self.create_request(receive, send))
        error: BaseException | None = None
        try:
            await ctx.push_async()
            try:
                try:
                    response = await app.respond(ctx)
                except Exception as exc:
                    # As in Flask, teardown functions are given an unhandled error
                    # even when it is answered with a 500 page.
                    error = exc
                    response = await app.respond_to_error(ctx, exc)
            except ClientDisconnected as exc:
                error = exc
                raise
            except asyncio.CancelledError as exc:
                error = exc
                task = asyncio.current_task()
                if task is not None and not task.cancelling():
                    # A task the view awaited was cancelled, not the request: the view's error.
                    app.log_exception(exc)
                    response = app.response_class("Internal Server Error", 500)
                else:
                    # The server gave up on the request (a shutdown past its graceful
                    # timeout) before any response started: say so with a 503 rather
                    # than leave the server to send an empty 500.
                    await _send_unavailable(send)
                    raise
            except Exception as exc:
                # PROPAGATE_EXCEPTIONS (debug or testing): answer, then re-raise
                # for the caller to see, as Flask does: the test client raises
                # it in the test, a server logs it.
                error = exc
                preserve = cast(dict[str, Any], self.scope).get(PRESERVE_CONTEXT_KEY)
                if preserve is not None:
                    # The debugger answers, with consoles that see this context.
                    preserve(ctx)
                    raise
                if app.debug and not app.testing:
                    response = app.debug_response(exc)
                else:
                    response = app.response_class("Internal Server Error", 500)
                await send_response(response, ctx, send, receive)
                raise
            await send_response(response, ctx, send, receive)
        except ClientDisconnected as exc:
            error = exc
        finally:
            if error is not None and app.should_ignore_error(error):
                error = None
            try:
                await ctx.pop_async(error)
            except Exception as exc:
                app.log_exception(exc)

    def create_request(
        self, receive: ASGIReceiveCallable, send: ASGISendCallable | None = None
    ) -> Request:
        """Build the app's request (of its ``request_class``) for the scope.

        With ``send``, and a server offering the ``http.response.push``
        extension (HTTP/2), ``request.send_push_promise`` pushes through it.
        """
        app, scope = self.app, self.scope
        config = app.config
        root_path, path, query, headers, picked = read_scope(scope)
        request = app.request_class(
            scope["method"],
            scope.get("scheme", "http"),
            path,
            query,
            headers,
            root_path,
            scope.get("http_version", "1.1"),
            # By keyword, as Quart passes them (subclasses read them so).
            scope=scope,
            max_content_length=config["MAX_CONTENT_LENGTH"],
            body_timeout=config["BODY_TIMEOUT"],
        )
        # The other headers are decoded only if the app reads them.
        request.cookie_sent = b"cookie" in picked
        request.sent_host = picked.get(b"host")
        length = picked.get(b"content-length")
        request.body_declared = (length is not None and length != b"0") or (
            b"transfer-encoding" in picked
        )
        request.asgi_send = send
        request.asgi_receive = receive
        return request


async def handle_http(
    app: Microframe, scope: HTTPScope, receive: ASGIReceiveCallable, send: ASGISendCallable
) -> None:
    """Serve one HTTP request with the app's :attr:`~microframe.app.Microframe.asgi_http_class`."""
    await app.asgi_http_class(app, scope)(receive, send)


def make_request(app: Microframe, scope: HTTPScope, receive: ASGIReceiveCallable) -> Request:
    """Build the app's request object for an HTTP scope, as a server's request is built."""
    return app.asgi_http_class(app, scope).create_request(receive)


async def _send_unavailable(send: ASGISendCallable) -> None:
    body = b"Service Unavailable: the server is shutting down.\n"
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", b"1"),
        (b"connection", b"close"),
    ]
    try:
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})
    except Exception:  # the connection may be gone already; nothing to tell
        pass


def encode_headers(response: Response) -> list[tuple[bytes, bytes]]:
    """Return the response headers as ASGI byte pairs."""
    # The responses of a route mostly repeat one header list (the same type,
    # length and hook headers), so the encoded list is remembered per header
    # list rather than per line: one lookup per response. A new list is
    # returned each time: a middleware may append to the list it is sent.
    # iter(): given the Headers themselves, tuple() would first call their
    # __len__ for a size hint.
    lines = tuple(iter(response.headers))
    encoded = _encoded_headers.get(lines)
    if encoded is None:
        encoded = tuple(
            [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in lines]
        )
        # Long values (cookies, signed tokens) are seldom sent twice.
        if not lines or max(map(len, map(_value_of, lines))) < 64:
            _encoded_headers.put(lines, encoded)
    return list(encoded)


_value_of = itemgetter(1)  # of a (name, value) header line

#: Encoded header lists; values are chosen by the app (and by clients, echoed).
_encoded_headers: BoundedCache[tuple[tuple[str, str], ...], tuple[tuple[bytes, bytes], ...]] = (
    BoundedCache(1024)
)


def send_response(
    response: Response, ctx: RequestContext, send: ASGISendCallable, receive: ASGIReceiveCallable
) -> Coroutine[Any, Any, None]:
    """Send ``response``: the start message, then its body; then close it.

    HEAD requests and 1xx/204/304 responses get no body. A streamed body is
    sent under ``RESPONSE_TIMEOUT`` while a watcher task waits for the client
    to disconnect.
    """
    if response._on_close is None:  # nothing to close: no coroutine of our own
        return _send(response, ctx, send, receive)
    return _send_and_close(response, ctx, send, receive)


async def _send_and_close(
    response: Response, ctx: RequestContext, send: ASGISendCallable, receive: ASGIReceiveCallable
) -> None:
    try:
        await _send(response, ctx, send, receive)
    finally:
        # The call_on_close functions: sync code of the request, run on its
        # worker thread once the response is out (or has failed).
        await response.aclose(ctx.lease)


async def _send(
    response: Response, ctx: RequestContext, send: ASGISendCallable, receive: ASGIReceiveCallable
) -> None:
    status = response.status_code
    if status != 200:  # the usual status needs no check of its headers
        if status == 304:
            strip_not_modified(response.headers)
        elif status == 204 or status < 200:
            # RFC 9110 8.6: no Content-Length on a 1xx or 204, as werkzeug sends them.
            response.headers.pop("Content-Length", None)
    if response.autocorrect_location_header:
        correct_location(response, ctx.request)
    await send(
        {"type": "http.response.start", "status": status, "headers": encode_headers(response)}
    )
    body = response.body
    request = ctx.request
    if request.method == "HEAD" or status in _NO_BODY_STATUS or status < 200:
        await body.aclose()
        data = b""
    elif isinstance(body, DataBody):
        data = body.data
    else:
        timeout = response.timeout
        if timeout is Ellipsis:
            timeout = ctx.app.config["RESPONSE_TIMEOUT"]
        await send_streamed(ctx, response, send, receive, timeout)
        return
    last = {"type": "http.response.body", "body": data, "more_body": False}
    if request.body_declared and request.body_pending():
        await send_reading_the_rest(last, send, receive)
    else:
        await send(last)


# -- websockets -------------------------------------------------------------------
#
# The handler runs in the connection's own task. When the client goes away
# the handler is cancelled, unless it is waiting in receive() (which then
# raises WebsocketDisconnect), so a handler that only sends is ended at its
# next await and teardown runs.
#
# Noticing the client leave needs someone waiting on the ASGI receive at
# every moment the connection's task is suspended. While that someone is a
# receive() call it reads the ASGI receive itself ("direct" reads). The
# connection's task runs the handler through driven(), which sees each
# moment the task is about to suspend: if no direct read is in flight then,
# the task is waiting elsewhere, and a reader task is started, which from
# then on moves the client's messages into a queue that receive() reads.
# Other tasks (a handler's helper tasks) only run while the connection's
# task is suspended, so, until the reader starts, that task is inside a
# direct read and their receive() calls wait on the queue. A connection
# whose task only ever waits inside receive() thus costs no task, no queue
# hop and no callback.


class _Connection:
    """The client's side of a connection: the receive the websocket reads
    (directly or through the reader's queue) and what the reader task needs
    to know about the handler it may cancel. See the section comment."""

    __slots__ = (
        "_asgi_receive",
        "_reading",
        "finished",
        "in_handler",
        "queue",
        "reader",
        "task",
        "websocket",
    )

    websocket: Websocket

    def __init__(self, receive: ASGIReceiveCallable) -> None:
        self._asgi_receive = receive
        #: The connection's task, noted when it first suspends (a reader,
        #: which may cancel it, is only ever started after that).
        self.task: asyncio.Task[object] | None = None
        self.in_handler = False
        #: Set once the connection's task is done with the connection.
        self.finished = False
        #: The reader's queue; ``None`` while receive() reads directly.
        self.queue: asyncio.Queue[ASGIMessage] | None = None
        self.reader: asyncio.Task[None] | None = None
        self._reading = False  # a direct read is in flight

    async def receive(self) -> ASGIMessage:
        """The receive of the websocket: the next client message."""
        if self.queue is None:
            if not self._reading:
                self._reading = True
                message: ASGIMessage | None = None
                try:
                    message = await self._asgi_receive()
                    return message
                finally:
                    self._reading = False
                    if self.queue is not None and (
                        message is None or message["type"] != "websocket.disconnect"
                    ):
                        # Another receive() switched to the queue during this
                        # read; the ASGI receive is free for the reader now.
                        self._start_reader()
            # A second concurrent receive(): two calls of the ASGI receive
            # must not overlap, so the reader takes over once the direct read
            # in flight is done (the finally above), and the callers share
            # its queue in turn.
            self.queue = asyncio.Queue()
        return await self.queue.get()

    def suspending(self) -> None:
        """Start the reader if the connection's task is about to suspend
        with no direct read in flight: a client leaving now would go
        unnoticed otherwise."""
        if self.task is None:
            self.task = asyncio.current_task()
        if (
            self.queue is None
            and not self._reading
            and not self.finished
            and self.websocket.disconnect is None
        ):
            self.queue = asyncio.Queue()
            self._start_reader()

    def _start_reader(self) -> None:
        if self.reader is None and not self.finished:
            assert self.queue is not None
            self.reader = asyncio.create_task(_read_websocket(self._asgi_receive, self.queue, self))


async def _read_websocket(
    receive: ASGIReceiveCallable, queue: asyncio.Queue[ASGIMessage], conn: _Connection
) -> None:
    # The queue is unbounded as the server's own limits (message size, flow
    # control) bound what a client can send; blocking here would also stop
    # the disconnect from being seen.
    while True:
        message = await receive()
        kind = message["type"]
        if kind == "websocket.receive":
            queue.put_nowait(message)
        elif kind == "websocket.disconnect":
            websocket = conn.websocket
            if websocket.receiving:
                queue.put_nowait(message)
            else:
                websocket.mark_disconnected(message.get("code", 1005), message.get("reason") or "")
                queue.put_nowait(message)
                if conn.in_handler and not websocket.handler_done and conn.task is not None:
                    conn.task.cancel()
            return


class ASGIWebsocketConnection:
    """Serves one websocket connection: waits for the client's connect
    message, builds the websocket, pushes its context, runs the app's
    :meth:`~microframe.app.Microframe.full_dispatch_websocket`, closes the
    connection (or rejects the handshake) and pops the context.

    Subclass it and set :attr:`~microframe.app.Microframe.asgi_websocket_class`
    to change how websockets are made.

    :param app: the app.
    :param scope: the connection's ASGI scope.
    """

    __slots__ = ("app", "scope")

    def __init__(self, app: Microframe, scope: WebsocketScope) -> None:
        self.app = app
        self.scope = scope

    async def __call__(self, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        conn = _Connection(receive)
        websocket = conn.websocket = self.create_websocket(conn.receive, send)
        try:
            await driven(conn.suspending, self._serve(websocket, conn))
        except asyncio.CancelledError:
            if websocket.disconnect is None:
                raise
            # Our own cancellation, for the client that went away: the
            # connection ended normally as far as the server is concerned.
            task = asyncio.current_task()
            assert task is not None
            task.uncancel()
        finally:
            conn.finished = True
            reader = conn.reader
            if reader is not None:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)
            _break_cycles(conn, websocket)

    def create_websocket(self, receive: ASGIReceiveCallable, send: ASGISendCallable) -> Websocket:
        """Build the app's websocket (of its ``websocket_class``) for the scope."""
        app, scope = self.app, self.scope
        root_path, path, query, headers, picked = read_scope(scope)
        websocket = app.websocket_class(
            path,
            query,
            scope.get("scheme", "ws"),
            headers,
            root_path,
            scope.get("http_version", "1.1"),
            scope.get("subprotocols", ()),
            receive,
            send,
            scope=scope,
            json_provider=app.json,
            http_response_supported="websocket.http.response" in (scope.get("extensions") or {}),
        )
        websocket.sent_host = picked.get(b"host")
        return websocket

    async def _serve(self, websocket: Websocket, conn: _Connection) -> None:
        app = self.app
        ctx = WebsocketContext(app, websocket)
        error: BaseException | None = None
        try:
            await ctx.push_async()
            try:
                conn.in_handler = True
                try:
                    response = await app.full_dispatch_websocket(ctx)
                except WebsocketDisconnect as exc:
                    # The usual end: the client left while the handler was in
                    # receive(). Caught here, where it first arrives, as each
                    # handler an exception passes through costs.
                    error = exc
                    return
                except Exception as exc:
                    error = exc
                    response = await app.handle_websocket_exception(ctx, exc)
                finally:
                    conn.in_handler = False
            except (ClientDisconnected, asyncio.CancelledError) as exc:
                error = websocket.disconnect or exc
                raise
            except Exception as exc:
                error = exc
                if app.testing or not app.debug:
                    # PROPAGATE_EXCEPTIONS: answer and re-raise for the test
                    # client or server to see.
                    app.log_websocket_exception(ctx, exc)
                    failed = app.response_class("Internal Server Error", 500)
                    await end_websocket(app, websocket, failed, True)
                    raise
                await end_websocket(app, websocket, app.debug_response(exc), True)
                return
            await end_websocket(app, websocket, response, error is not None)
        except WebsocketDisconnect as exc:
            error = exc
        finally:
            try:
                await ctx.pop_async(error)
            except Exception as exc:
                app.log_websocket_exception(ctx, exc)


def _break_cycles(conn: _Connection, websocket: Websocket) -> None:
    # The connection and its websocket refer to each other, and the client's
    # disconnect to the frames it was raised through, which refer to the
    # websocket: without these links the connection's objects are freed at
    # once, not left for the cyclic garbage collector (which would cost the
    # server more than the rest of a short connection).
    del conn.websocket
    disconnect = websocket.disconnect
    if disconnect is not None:
        disconnect.__traceback__ = None


async def handle_websocket(
    app: Microframe, scope: WebsocketScope, receive: ASGIReceiveCallable, send: ASGISendCallable
) -> None:
    """Serve one websocket connection with the app's
    :attr:`~microframe.app.Microframe.asgi_websocket_class`."""
    await app.asgi_websocket_class(app, scope)(receive, send)


def make_websocket(
    app: Microframe, scope: WebsocketScope, receive: ASGIReceiveCallable, send: ASGISendCallable
) -> Websocket:
    """Build the app's websocket object for a websocket scope."""
    return app.asgi_websocket_class(app, scope).create_websocket(receive, send)


async def end_websocket(
    app: Microframe, websocket: Websocket, response: Response | None, failed: bool
) -> None:
    """End a connection once its handler is done.

    An unanswered handshake is rejected with ``response`` (an HTTP response
    where the server supports it, else close code 1008); an accepted
    connection is closed with 1000, or 1011 after an unhandled error.
    """
    if websocket.disconnect is not None or websocket.closed:
        return
    if websocket.accepted:
        await websocket.close(1011 if failed else 1000)
    elif response is None:
        await websocket.close(1000)
    elif websocket.http_response_supported:
        try:
            body: bytes = await response.get_data()
            await websocket.send_http_response(response.status_code, encode_headers(response), body)
        finally:
            await response.aclose()
    else:
        await response.aclose()
        await websocket.close(1008)


# -- the lifespan -----------------------------------------------------------------


class ASGILifespan:
    """Serves the ASGI lifespan: the app's :meth:`~microframe.app.Microframe.startup`
    (then :meth:`~microframe.app.Microframe.freeze_gc`) and
    :meth:`~microframe.app.Microframe.shutdown`, reporting failures to the
    server.

    :param app: the app.
    :param scope: the lifespan's ASGI scope.
    """

    __slots__ = ("app", "scope")

    def __init__(self, app: Microframe, scope: Scope) -> None:
        self.app = app
        self.scope = scope

    async def __call__(self, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        app = self.app
        while True:
            message = await receive()
            kind = message["type"]
            if kind == "lifespan.startup":
                try:
                    await app.startup()
                except Exception as error:
                    app.logger.exception("Startup failed")
                    await send({"type": "lifespan.startup.failed", "message": _describe(error)})
                    return
                app.freeze_gc()
                await send({"type": "lifespan.startup.complete"})
            elif kind == "lifespan.shutdown":
                try:
                    await app.shutdown()
                except Exception as error:
                    app.logger.exception("Shutdown failed")
                    await send({"type": "lifespan.shutdown.failed", "message": _describe(error)})
                    return
                await send({"type": "lifespan.shutdown.complete"})
                return


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


async def handle_scope(
    app: Microframe, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
) -> None:
    """Serve an ASGI connection of any type, as the app does (``app.asgi_app``)."""
    await app.asgi_app(scope, receive, send)


__all__ = [
    "PRESERVE_CONTEXT_KEY",
    "ASGIHTTPConnection",
    "ASGILifespan",
    "ASGIWebsocketConnection",
    "encode_headers",
    "end_websocket",
    "handle_http",
    "handle_scope",
    "handle_websocket",
    "make_request",
    "make_websocket",
    "scope_path",
    "scope_query",
    "send_response",
]
