"""The test client's websocket connection: a handler driven through ASGI.

::

    async with client.websocket("/ws", subprotocols=["chat"]) as ws:
        await ws.send("hello")
        assert await ws.receive() == "hello"

The app runs in a task of its own, as under a server. Entering the block
waits for the handshake: a rejected handshake raises
:class:`WebsocketResponseError` with the response. An exception the app
raises (with ``PROPAGATE_EXCEPTIONS``, on when testing) is re-raised by the
connection's next call, or when the block ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from werkzeug.datastructures import Headers

from ..app import Microframe
from ..asgi import make_websocket
from ..typing import ASGIMessage
from ..wrappers import Response, Websocket
from ..wrappers.websocket import WebsocketDisconnect
from .builder import ScopeBase, build_environ, scope_from_environ
from .connection import AppEnded, next_from_app

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment


class WebsocketResponseError(Exception):
    """The app rejected the websocket handshake with an HTTP response.

    :attr response: the response, as the app's ``response_class``.
    """

    def __init__(self, response: Response) -> None:
        super().__init__(response)
        self.response = response

    def __str__(self) -> str:
        return f"The websocket handshake was rejected with {self.response.status}"


class WebsocketDisconnectError(WebsocketDisconnect, Exception):
    """The app closed the websocket: raised by the test connection's
    :meth:`~TestWebsocketConnection.receive`.

    Quart's test client raises its ``WebsocketDisconnectError``, an
    :class:`Exception`, which tests catch as such; it is also a
    :class:`~microframe.wrappers.websocket.WebsocketDisconnect`, with the
    app's close ``code`` and ``reason``.
    """

    def __str__(self) -> str:
        reason = f": {self.reason}" if self.reason else ""
        return f"The app closed the websocket with code {self.code}{reason}"


def make_websocket_scope(
    app: Microframe,
    path: str = "/",
    *,
    subprotocols: Iterable[str] | None = None,
    **kwargs: object,
) -> dict[str, Any]:
    """Return an ASGI websocket scope for a test connection to ``path``.

    :param subprotocols: the subprotocols the client offers.
    :param kwargs: the arguments of :class:`~microframe.testing.EnvironBuilder`
        that make sense for a handshake (``headers``, ``query_string``,
        ``base_url``, ``subdomain``, ``auth``, ``environ_overrides``, ...) and
        Quart's ``scheme`` (``ws`` or ``wss``), ``root_path``,
        ``http_version`` and ``scope_base``.
    """
    environ, scope_base = websocket_environ(app, path, kwargs)
    return websocket_scope(environ, scope_base, subprotocols)


def websocket_environ(
    app: Microframe,
    path: str,
    kwargs: Mapping[str, Any],
    environ_base: Mapping[str, object] | None = None,
) -> tuple[WSGIEnvironment, ScopeBase]:
    """Return the WSGI environ of a websocket handshake (see :func:`make_websocket_scope`)."""
    options = dict(kwargs)
    scheme = options.get("scheme")
    if scheme is not None:
        options["scheme"] = _HTTP_SCHEMES.get(scheme, scheme)
    return build_environ(app, (path,), options, environ_base)


def websocket_scope(
    environ: WSGIEnvironment,
    scope_base: ScopeBase,
    subprotocols: Iterable[str] | None,
) -> dict[str, Any]:
    """Return the ASGI scope of a websocket handshake described by ``environ``."""
    scope, _ = scope_from_environ(environ, "websocket", scope_base)
    if subprotocols is not None:
        scope["subprotocols"] = list(subprotocols)
    return scope


#: The HTTP scheme of a handshake for a websocket scheme.
_HTTP_SCHEMES = {"ws": "http", "wss": "https"}


def make_test_websocket(app: Microframe, path: str = "/", **kwargs: Any) -> Websocket:
    """Build a websocket for ``app`` that receives nothing and drops what is sent."""
    scope = make_websocket_scope(app, path, **kwargs)

    async def receive() -> ASGIMessage:
        return {"type": "websocket.disconnect", "code": 1000}

    async def send(message: ASGIMessage) -> None:
        pass

    return make_websocket(app, scope, receive, send)  # type: ignore[arg-type]


class TestWebsocketConnection:
    """A websocket connection of the test client; see the module docstring."""

    __test__ = False  # not a pytest test class

    def __init__(self, app: Microframe, scope: dict[str, Any], cookie_host: str | None = None) -> None:
        self.app = app
        self.scope = scope
        self._to_app: asyncio.Queue[ASGIMessage] = asyncio.Queue()
        self._from_app: asyncio.Queue[ASGIMessage] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._raised = False
        #: The response headers of the accepted handshake.
        self.headers: Headers | None = None
        #: The subprotocol the app accepted, if any.
        self.subprotocol: str | None = None
        #: The close code the app sent, once it closed the connection.
        self.close_code: int | None = None

    async def _receive(self) -> ASGIMessage:
        return await self._to_app.get()

    async def _send(self, message: ASGIMessage) -> None:
        await self._from_app.put(message)

    async def _next(self) -> ASGIMessage:
        """The next message from the app; the app's error if it raised instead."""
        task = self._task
        assert task is not None, "use 'async with client.websocket(...)'"
        message = await next_from_app(self._from_app, task)
        if not isinstance(message, AppEnded):
            return message
        await self._raise_app_error()
        raise RuntimeError("The websocket handler ended without closing the connection.")

    async def _raise_app_error(self) -> None:
        task = self._task
        if task is None:
            return
        if not task.done():
            # The app has answered; give it the moment it needs to finish
            # (teardown) so that its error, if any, is the one reported.
            await asyncio.wait({task}, timeout=5)
        if task.done() and not task.cancelled() and task.exception() is not None:
            self._raised = True
            error = task.exception()
            assert error is not None
            raise error

    async def __aenter__(self) -> TestWebsocketConnection:
        self._task = asyncio.create_task(
            self.app(self.scope, self._receive, self._send),  # type: ignore[arg-type]
            name=f"test websocket {self.scope['path']}",
        )
        await self._to_app.put({"type": "websocket.connect"})
        try:
            message = await self._next()
            kind = message["type"]
            if kind == "websocket.accept":
                self.subprotocol = message.get("subprotocol")
                self.headers = Headers(
                    [(k.decode("latin-1"), v.decode("latin-1")) for k, v in message.get("headers", ())]
                )
                return self
            if kind == "websocket.http.response.start":
                body = b""
                while True:
                    part = await self._next()
                    body += part.get("body", b"")
                    if not part.get("more_body", False):
                        break
                response = self.app.response_class(body, message["status"])
                response.headers = Headers(
                    [(k.decode("latin-1"), v.decode("latin-1")) for k, v in message["headers"]]
                )
            elif kind == "websocket.close":
                response = self.app.response_class("Forbidden", 403)
            else:
                raise RuntimeError(f"Unexpected ASGI message {kind!r} during the handshake.")
            await self._raise_app_error()
            raise WebsocketResponseError(response)
        except BaseException:
            await self._finish()
            raise

    async def __aexit__(
        self, exc_type: type | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._finish()
        if exc_type is None and not self._raised:
            await self._raise_app_error()

    async def _finish(self) -> None:
        task = self._task
        if task is None or task.done():
            return
        await self._to_app.put({"type": "websocket.disconnect", "code": 1000})
        done, _ = await asyncio.wait({task}, timeout=5)
        if not done:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def send(self, data: str | bytes) -> None:
        """Send a text (``str``) or binary (``bytes``) message to the app."""
        if isinstance(data, str):
            await self._to_app.put({"type": "websocket.receive", "text": data})
        else:
            await self._to_app.put({"type": "websocket.receive", "bytes": bytes(data)})

    async def send_json(self, value: Any) -> None:
        """Send ``value`` as JSON text, dumped with the app's JSON provider."""
        await self.send(self.app.json.dumps(value))

    async def receive(self) -> str | bytes:
        """Wait for the app's next message.

        :raises WebsocketDisconnectError: when the app closed the connection
            (``.code`` is its close code).
        """
        message = await self._next()
        if message["type"] == "websocket.send":
            text: str | None = message.get("text")
            if text is not None:
                return text
            data: bytes = message.get("bytes") or b""
            return data
        if message["type"] == "websocket.close":
            self.close_code = message.get("code", 1000)
            await self._raise_app_error()
            raise WebsocketDisconnectError(self.close_code or 1000, message.get("reason") or "")
        raise RuntimeError(f"Unexpected ASGI message {message['type']!r}.")

    async def receive_json(self) -> Any:
        """Receive a message and parse it with the app's JSON provider."""
        return self.app.json.loads(await self.receive())

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection from the client side with ``code``."""
        await self._to_app.put({"type": "websocket.disconnect", "code": code, "reason": reason})
        task = self._task
        if task is not None:
            await asyncio.wait({task}, timeout=5)


__all__ = [
    "TestWebsocketConnection",
    "WebsocketDisconnectError",
    "WebsocketResponseError",
    "make_test_websocket",
    "make_websocket_scope",
    "websocket_environ",
    "websocket_scope",
]
