"""The websocket object: the handshake request plus the connection's messages."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, cast

from werkzeug.datastructures import Headers

from ..json.provider import JSONProvider
from ..typing import ASGIMessage
from .base import RoutedRequest
from .body import ClientDisconnected

ReceiveCallable = Callable[[], Awaitable[ASGIMessage]]
SendCallable = Callable[[ASGIMessage], Awaitable[None]]
#: Quart's callables: receive the next message's data, send data, accept
#: with headers and a subprotocol, close with a code and a reason.
DataReceiveCallable = Callable[[], Awaitable["str | bytes"]]
DataSendCallable = Callable[["str | bytes"], Awaitable[None]]
AcceptCallable = Callable[[Headers, "str | None"], Awaitable[None]]
CloseCallable = Callable[[int, str], Awaitable[None]]

_SCHEMES = {"http": "ws", "https": "wss"}


class WebsocketDisconnect(ClientDisconnected):
    """The client closed the websocket (or the connection was lost).

    Raised by :meth:`Websocket.receive` and :meth:`Websocket.send` once the
    client is gone. Like :class:`~microframe.wrappers.request.ClientDisconnected`
    it is an :class:`asyncio.CancelledError` (Quart cancels the handler when
    its client leaves, and its guide handles that in ``except
    asyncio.CancelledError``), so ``except Exception`` in handlers lets it
    pass; catch it by name to react to a client leaving::

        try:
            while True:
                await websocket.send(await websocket.receive())
        except WebsocketDisconnect as gone:
            current_app.logger.info("client left with code %s", gone.code)

    :param code: the close code the client sent (1005 when it sent none,
        1006 when the connection was lost).
    :param reason: the close reason the client sent.
    """

    def __init__(self, code: int = 1005, reason: str = "") -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason

    def __str__(self) -> str:
        reason = f": {self.reason}" if self.reason else ""
        return f"The websocket was closed by the client with code {self.code}{reason}"


class _CallbackChannel:
    """Quart's four websocket callables behind the ASGI messages
    :class:`Websocket` speaks, for a websocket built with Quart's constructor
    (as Quart's tests and extensions build them)."""

    __slots__ = ("_accept", "_close", "_receive", "_send")

    def __init__(
        self,
        receive: DataReceiveCallable,
        send: DataSendCallable,
        accept: AcceptCallable,
        close: CloseCallable,
    ) -> None:
        self._receive = receive
        self._send = send
        self._accept = accept
        self._close = close

    async def receive(self) -> ASGIMessage:
        data = await self._receive()
        if isinstance(data, str):
            return {"type": "websocket.receive", "text": data}
        return {"type": "websocket.receive", "bytes": bytes(data)}

    async def send(self, message: ASGIMessage) -> None:
        kind = message["type"]
        if kind == "websocket.send":
            text: str | None = message.get("text")
            await self._send(text if text is not None else message.get("bytes") or b"")
        elif kind == "websocket.accept":
            headers = Headers(
                [(name.decode("latin-1"), value.decode("latin-1"))
                 for name, value in message.get("headers", ())]
            )
            await self._accept(headers, message.get("subprotocol"))
        elif kind == "websocket.close":
            await self._close(message.get("code", 1000), message.get("reason") or "")
        else:
            raise RuntimeError(f"A websocket built with accept/close callables cannot send {kind!r}.")


class Websocket(RoutedRequest):
    """A websocket connection, built on werkzeug's sans-io request.

    The handshake request's ``path``, ``args``, ``headers``, ``cookies``,
    ``host``, ``url`` and so on are available as on
    :class:`~microframe.Request`. The handshake is accepted on the first
    :meth:`send` or :meth:`receive`, or explicitly with :meth:`accept`::

        @app.websocket("/ws")
        async def echo():
            while True:
                message = await websocket.receive()
                await websocket.send(message)

    A handler that returns a response (or aborts) before accepting rejects
    the handshake with that response.

    The constructor is Quart's: ``Websocket(path, query_string, scheme,
    headers, root_path, http_version, subprotocols, receive, send, accept,
    close, scope)``, where ``receive()`` gives the next message's data,
    ``send(data)`` sends data, ``accept(headers, subprotocol)`` and
    ``close(code, reason)`` answer the handshake. Without ``accept`` and
    ``close``, ``receive`` and ``send`` are the ASGI server's callables.
    """

    # The connection's starting state, as class defaults (fewer stores per
    # connection); each is replaced on the instance when it changes.
    _state = "handshake"
    _accepted: asyncio.Event | None = None
    _receivers = 0
    #: The client's disconnect, once the client has gone.
    disconnect: WebsocketDisconnect | None = None
    #: The close code the app sent, once it closed the connection.
    close_code: int | None = None
    #: The subprotocol chosen by :meth:`accept`, if any.
    subprotocol: str | None = None
    #: Set once the handler (or a ``before_websocket`` hook) has returned or
    #: raised: the client leaving no longer cancels the connection's task,
    #: so that ``after_websocket`` functions run to their end.
    handler_done = False

    def __init__(
        self,
        path: str,
        query_string: bytes,
        scheme: str,
        headers: Headers,
        root_path: str,
        http_version: str,
        subprotocols: Iterable[str],
        receive: ReceiveCallable | DataReceiveCallable,
        send: SendCallable | DataSendCallable,
        accept: AcceptCallable | None = None,
        close: CloseCallable | None = None,
        scope: object = None,
        *,
        remote_addr: str | None = None,
        server: tuple[str, int | None] | None = None,
        json_provider: JSONProvider | None = None,
        http_response_supported: bool = False,
    ) -> None:
        if type(scope) is dict:  # the server and client, as Quart takes them
            if server is None:
                server = scope.get("server")
            if remote_addr is None and (client := scope.get("client")):
                remote_addr = client[0]
        # werkzeug matches websocket rules only for the ws schemes.
        scheme = _SCHEMES.get(scheme, scheme)
        super().__init__("GET", scheme, server, root_path, path, query_string, headers, remote_addr)
        self.http_version = http_version
        self.scope = scope
        self._subprotocols = list(subprotocols)
        if accept is not None or close is not None:
            if accept is None or close is None:
                raise TypeError("Pass both 'accept' and 'close' (Quart's constructor), or neither.")
            channel = _CallbackChannel(
                cast("DataReceiveCallable", receive), cast("DataSendCallable", send), accept, close
            )
            receive, send = channel.receive, channel.send
        self._receive = cast("ReceiveCallable", receive)
        self._send = cast("SendCallable", send)
        self._json_provider = json_provider
        #: Whether the server can answer a rejected handshake with an HTTP
        #: response (the ASGI ``websocket.http.response`` extension).
        self.http_response_supported = http_response_supported

    # -- the handshake request ---------------------------------------------------

    @property
    def requested_subprotocols(self) -> list[str]:
        """The subprotocols the client offered, in its order of preference."""
        return list(self._subprotocols)

    # -- connection state ----------------------------------------------------------

    @property
    def accepted(self) -> bool:
        """``True`` once the handshake was accepted (even if closed since)."""
        return self._state in ("accepting", "connected", "closed")

    @property
    def closed(self) -> bool:
        """``True`` once either side closed the connection or it was rejected."""
        return self._state in ("closed", "rejected")

    @property
    def receiving(self) -> bool:
        """``True`` while a :meth:`receive` call is waiting for a message."""
        return self._receivers > 0

    def mark_disconnected(self, code: int, reason: str = "") -> WebsocketDisconnect:
        """Record that the client went away (called by the ASGI layer)."""
        if self.disconnect is None:
            self.disconnect = WebsocketDisconnect(code, reason)
        self._state = "closed"
        return self.disconnect

    def _check_open(self) -> None:
        if self.disconnect is not None:
            raise self.disconnect
        if self._state == "rejected":
            raise RuntimeError("The websocket handshake was rejected; nothing can be sent.")
        if self._state == "closed":
            raise RuntimeError(
                f"The websocket was closed (code {self.close_code}); it cannot be used."
            )

    # -- messages ------------------------------------------------------------------

    async def accept(
        self,
        headers: Headers | dict[str, str] | list[tuple[str, str]] | None = None,
        subprotocol: str | None = None,
    ) -> None:
        """Accept the handshake, with extra response ``headers`` and a ``subprotocol``.

        Called implicitly by the first :meth:`send` or :meth:`receive`;
        call it yourself to choose a subprotocol::

            if "chat.v2" in websocket.requested_subprotocols:
                await websocket.accept(subprotocol="chat.v2")

        :raises RuntimeError: if the handshake was already answered.
        """
        if self._state != "handshake":
            if self._state == "accepting":
                # Another task is sending the accept: wait for it, so that no
                # message goes out before the accept does. The event is made
                # only here, by a waiter: most accepts have none.
                if self._accepted is None:
                    self._accepted = asyncio.Event()
                await self._accepted.wait()
            if self._state == "connected":
                return
            self._check_open()
        if subprotocol is not None and subprotocol not in self._subprotocols:
            raise ValueError(
                f"Subprotocol {subprotocol!r} was not requested by the client"
                f" (it offered {self._subprotocols})."
            )
        message: ASGIMessage = {"type": "websocket.accept", "subprotocol": subprotocol}
        if headers:
            message["headers"] = [
                (name.lower().encode("latin-1"), value.encode("latin-1"))
                for name, value in Headers(headers).items()
            ]
        self._state = "accepting"
        self.subprotocol = subprotocol
        try:
            await self._send(message)
        finally:
            if self._state == "accepting":
                self._state = "connected"
            if self._accepted is not None:
                self._accepted.set()

    async def _open(self) -> None:
        # Before a message goes either way: the implicit accept, or the
        # error of a connection that is over. (A connected websocket has no
        # disconnect: mark_disconnected moves it to "closed".)
        if self._state in ("handshake", "accepting"):
            await self.accept()
        self._check_open()

    async def receive(self) -> str | bytes:
        """Wait for the next message from the client: ``str`` or ``bytes``.

        :raises WebsocketDisconnect: when the client has closed the connection.
        """
        if self._state != "connected":
            await self._open()
        self._receivers += 1
        try:
            message = await self._receive()
        finally:
            self._receivers -= 1
        if message["type"] == "websocket.disconnect":
            raise self.mark_disconnected(message.get("code", 1005), message.get("reason") or "")
        text: str | None = message.get("text")
        if text is not None:
            return text
        data: bytes = message.get("bytes") or b""
        return data

    async def send(self, data: str | bytes) -> None:
        """Send a text (``str``) or binary (``bytes``) message.

        :raises WebsocketDisconnect: when the client has closed the connection.
        """
        if self._state != "connected":
            await self._open()
        if isinstance(data, str):
            await self._send({"type": "websocket.send", "text": data})
        elif isinstance(data, (bytes, bytearray, memoryview)):
            await self._send({"type": "websocket.send", "bytes": bytes(data)})
        else:
            raise TypeError(
                f"websocket.send() takes str or bytes, not {type(data).__name__};"
                " use send_json() for other values."
            )

    def _json(self) -> Any:
        if self._json_provider is not None:
            return self._json_provider
        import json

        return json

    async def receive_json(self) -> Any:
        """Receive a message and parse it as JSON (with the app's JSON provider)."""
        return self._json().loads(await self.receive())

    async def send_json(self, *args: Any, **kwargs: Any) -> None:
        """Send a value as a JSON text message: ``send_json({"a": 1})`` or
        ``send_json(a=1)``, as ``jsonify`` takes its arguments."""
        if args and kwargs:
            raise TypeError("send_json() takes either args or kwargs, not both.")
        if len(args) == 1:
            value: object = args[0]
        else:
            value = list(args) if args else kwargs
        await self.send(self._json().dumps(value))

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection with ``code`` and ``reason``.

        Before the handshake is accepted this rejects it (the server answers
        ``403``). Closing twice, or after the client left, does nothing.
        """
        if self._state in ("closed", "rejected"):
            return
        self._state = "rejected" if self._state == "handshake" else "closed"
        self.close_code = code
        await self._send({"type": "websocket.close", "code": code, "reason": reason})

    async def send_http_response(
        self, status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> None:
        """Reject the handshake with an HTTP response.

        Needs the ASGI ``websocket.http.response`` extension
        (:attr:`http_response_supported`); the app calls this for a handler
        that returned a response or aborted before accepting.
        """
        if self._state != "handshake":
            raise RuntimeError("Only an unanswered handshake can be rejected with a response.")
        self._state = "rejected"
        await self._send(
            {"type": "websocket.http.response.start", "status": status, "headers": headers}
        )
        await self._send({"type": "websocket.http.response.body", "body": body, "more_body": False})


__all__ = ["Websocket", "WebsocketDisconnect"]
