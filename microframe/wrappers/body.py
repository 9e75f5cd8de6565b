"""A request's body, streamed from the ASGI server: awaited whole or
iterated in chunks, within the body size and time limits."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from types import CoroutineType, TracebackType
from typing import Any

from werkzeug.exceptions import RequestEntityTooLarge, RequestTimeout

from ..typing import ASGIMessage

ReceiveCallable = Callable[[], Awaitable[ASGIMessage]]


class ClientDisconnected(asyncio.CancelledError):
    """The client went away before the request body was read in full.

    An :class:`asyncio.CancelledError`, as Quart cancels the request's task
    when its client leaves: code written for Quart that handles the client
    leaving in ``except asyncio.CancelledError`` runs, and, as a
    :class:`BaseException`, it is not an error of the app, so ``except
    Exception`` in views and the app's error handling (which would log it and
    answer a 500 to nobody) let it pass; the ASGI layer ends the request and
    runs teardown with it.
    """


class BodyConsumedError(RuntimeError):
    """The body was streamed with ``async for`` and can no longer be read whole."""


class Body:
    """A request body that can be awaited whole or iterated in chunks.

    ``await request.body`` (or ``await request.get_data()``) returns all of it;
    ``async for chunk in request.body`` streams it without keeping it. The
    ``max_content_length`` limit is checked against ``Content-Length`` before
    anything is read and again as the body grows, and the time spent waiting
    for the client is bounded by ``timeout`` seconds; both raise inside the
    application (413 and 408).

    :param receive: the ASGI ``receive`` callable, or ``None`` for a body
        given whole as ``data``.
    """

    # The starting state as class defaults rather than per-body stores: most
    # bodies are read whole, once.
    _data: bytes | None = None
    _streamed = False
    # The first message (or its pending receive) when whole_if_ready()
    # found the body not yet whole; the stream resumes from it.
    _first: ASGIMessage | _Pending | None = None
    # The message after it, when take_at_hand() looked one ahead.
    _second: ASGIMessage | _Pending | None = None
    _feed: asyncio.Queue[ASGIMessage] | None = None
    # Set when the last message (more_body false) has been taken.
    _ended = False

    def __init__(
        self,
        receive: ReceiveCallable | None,
        expected_length: int | None = None,
        *,
        data: bytes | None = None,
        max_content_length: int | None = None,
        timeout: float | None = None,
    ) -> None:
        self._receive = receive
        self._expected = expected_length
        self.max_content_length = max_content_length
        self.timeout = timeout
        if receive is None:  # given whole
            self._data = b"" if data is None else data

    @classmethod
    def fed(
        cls,
        expected_length: int | None,
        max_content_length: int | None = None,
        timeout: float | None = None,
    ) -> Body:
        """A body that code feeds with :meth:`append` and :meth:`set_complete`.

        What a request built by hand (Quart's ``Request(...)``) reads from.
        """
        feed: asyncio.Queue[ASGIMessage] = asyncio.Queue()
        body = cls(feed.get, expected_length, max_content_length=max_content_length, timeout=timeout)
        body._feed = feed
        return body

    def append(self, data: bytes) -> None:
        """Add a chunk to a :meth:`fed` body (Quart's ``Body.append``)."""
        self._fed().put_nowait({"type": "http.request", "body": data, "more_body": True})

    def set_complete(self) -> None:
        """End a :meth:`fed` body (Quart's ``Body.set_complete``)."""
        self._fed().put_nowait({"type": "http.request", "body": b"", "more_body": False})

    def set_result(self, data: bytes) -> None:
        """Give a :meth:`fed` body all of its data at once (Quart's ``Body.set_result``)."""
        self.append(data)
        self.set_complete()

    def _fed(self) -> asyncio.Queue[ASGIMessage]:
        if self._feed is None:
            raise RuntimeError("Only a body made by Body.fed() (a request built by hand) is fed.")
        return self._feed

    @property
    def expected_length(self) -> int | None:
        """The length the client declared (``Content-Length``), if any."""
        return self._expected

    @property
    def is_complete(self) -> bool:
        """``True`` once the whole body is in memory."""
        return self._data is not None

    @property
    def is_received(self) -> bool:
        """``True`` once the client has nothing more to send: the body's last
        message has been taken (read whole or streamed to its end), or the
        body was given whole."""
        return self._ended or self._receive is None

    def set_max_content_length(self, limit: int | None) -> None:
        """Set :attr:`max_content_length`, as a view does for its request.

        A body the server had already handed over whole (read ahead for a
        sync view) is checked against the new limit when the app reads it,
        as one still to come is: over it, the read raises 413 as in Flask.
        """
        self.max_content_length = limit
        data = self._data
        if limit is not None and data is not None and len(data) > limit and self._receive is not None:
            self._data = None
            self._first = {"type": "http.request", "body": data, "more_body": False}

    def read_through(self, receive: ReceiveCallable) -> Awaitable[ASGIMessage] | None:
        """Read what is left of the body through ``receive`` from now on.

        The protocol layer's single reader of the connection, while it also
        watches for the client leaving during a streamed response, hands
        the body's messages on through it. Returns the server's receive
        already under way for the body, if any: its message comes first,
        and the new reader hands it on before any other.
        """
        under_way: _Pending | None = None
        if isinstance(self._second, _Pending):
            under_way, self._second = self._second, _poll(receive)
        elif isinstance(self._first, _Pending):
            under_way, self._first = self._first, _poll(receive)
        self._receive = receive
        return under_way

    def mark_consumed(self) -> None:
        """Note that a parser read the stream: the body now reads as empty."""
        self._data = b""

    def whole_if_ready(self) -> bytes | None:
        """Return the whole body if it is in memory or can be had without waiting.

        That is the usual case for a small body: the server already holds it
        in one message. Otherwise return ``None`` and leave the body to be
        read with :meth:`read` or ``async for`` as usual.
        """
        if self._data is not None:
            return self._data
        if self._first is not None or self._streamed:
            return None
        # Kept until taken whole: if taking it fails (a disconnect, a chunk
        # over the limit), the first read reports it again.
        first = self._first = self._start()
        if not isinstance(first, _Pending):
            chunk, more, _ = self._take(first, 0)
            if not more:
                self._first = None
                self._data = chunk
                return chunk
        return None

    def take_at_hand(self) -> None:
        """Take the body whole if the server already holds it, as
        :meth:`whole_if_ready` does, without raising: whatever is wrong
        with the body (too large, the client gone) is left for the first
        read to report, if the app reads it."""
        try:
            if self.whole_if_ready() is not None:
                return
        except (RequestEntityTooLarge, ClientDisconnected):
            return
        # Hypercorn sends a body as its data, then an empty last message:
        # one more message is looked at, and kept for the stream unless it
        # ends a body within the limit.
        first = self._first
        if first is None or isinstance(first, _Pending):
            return
        assert self._receive is not None
        second = self._second = _poll(self._receive)
        if isinstance(second, _Pending):
            return
        try:
            head, _, received = self._take(first, 0)
            tail, more, _ = self._take(second, received)
        except (RequestEntityTooLarge, ClientDisconnected):
            return  # for the read to report
        if not more:
            self._first = self._second = None
            self._data = head + tail if tail else head

    def _resume(self, consumed_error: str) -> ASGIMessage | _Pending:
        # The first message of the stream, claiming it unless whole_if_ready() did.
        first = self._first
        if first is not None:
            self._first = None
            return first
        if self._streamed:
            raise BodyConsumedError(consumed_error)
        return self._start()

    def _next(self) -> ASGIMessage | _Pending:
        # The next message: the one take_at_hand() looked ahead at, or a new one.
        second = self._second
        if second is not None:
            self._second = None
            return second
        assert self._receive is not None
        return _poll(self._receive)

    def _start(self) -> ASGIMessage | _Pending:
        # Claims the stream and starts receiving its first message; a body
        # declared too large is refused before, leaving the stream unclaimed.
        limit = self.max_content_length
        if limit is not None and self._expected is not None and self._expected > limit:
            raise RequestEntityTooLarge()
        self._streamed = True
        assert self._receive is not None
        return _poll(self._receive)

    def _take(self, message: ASGIMessage, received: int) -> tuple[bytes, bool, int]:
        # A message's (chunk, more_body) and the bytes received with it,
        # within the size limit.
        chunk, more = _unpack(message)
        received += len(chunk)
        limit = self.max_content_length
        if limit is not None and received > limit:
            raise RequestEntityTooLarge()
        if not more:
            self._ended = True
        return chunk, more, received

    async def _chunks(self, first: ASGIMessage | _Pending | None = None) -> AsyncIterator[bytes]:
        """Yield the body's chunks, starting from ``first`` (``None``: claim the stream)."""
        if first is None:
            if self._data is not None:
                if self._data:
                    yield self._data
                return
            first = self._resume("The request body has already been streamed.")
        assert self._receive is not None
        received = 0
        step = first
        # Messages already there when asked for need no timer: a timer costs
        # more than reading a small body, and the client cannot stall them.
        while not isinstance(step, _Pending):
            chunk, more, received = self._take(step, received)
            if chunk:
                yield chunk
            if not more:
                return
            step = self._next()
        # The client keeps us waiting: from here on the wait is bounded.
        async with _deadline(self.timeout):
            message = await step
            while True:
                chunk, more, received = self._take(message, received)
                if chunk:
                    yield chunk
                if not more:
                    return
                # self._receive each time: read_through() may re-point it.
                message = await self._receive()

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def read(self) -> bytes:
        """Read and keep the whole body (once; later calls return the same bytes)."""
        data = self.whole_if_ready()
        if data is not None:
            return data
        step = self._resume(
            "The request body was streamed with 'async for' and cannot be read whole."
        )
        # Collected here rather than from the chunk stream (_chunks), whose
        # async generator costs more than the rest of reading a small body.
        receive = self._receive
        assert receive is not None
        parts: list[bytes] = []
        received = 0
        more = True
        while more and not isinstance(step, _Pending):  # already there: no timer
            chunk, more, received = self._take(step, received)
            parts.append(chunk)
            if more:
                step = self._next()
        if more:
            assert isinstance(step, _Pending)  # the client keeps us waiting
            async with _deadline(self.timeout):
                message = await step
                while more:
                    chunk, more, received = self._take(message, received)
                    parts.append(chunk)
                    if more:
                        message = await receive()
        self._data = b"".join(parts)
        return self._data

    def __await__(self) -> Any:
        return self.read().__await__()


def _unpack(message: ASGIMessage) -> tuple[bytes, bool]:
    """Return a message's ``(chunk, more_body)``; raise on a disconnect."""
    kind = message["type"]
    if kind == "http.request":
        chunk = message.get("body", b"")
        # bytes() for a server that hands over a bytearray or memoryview.
        return chunk if type(chunk) is bytes else bytes(chunk), message.get("more_body", False)
    if kind == "http.disconnect":
        raise ClientDisconnected()
    return b"", True  # not a body message: skip it


def _poll(receive: ReceiveCallable) -> ASGIMessage | _Pending:
    """Call ``receive()`` and run it up to its first suspension.

    Returns the message when it was already there (the common case for a
    small body), and otherwise a :class:`_Pending` to await for it.
    """
    awaitable = receive()
    if type(awaitable) is not CoroutineType:
        # Only a coroutine can be stepped by hand: a server's own awaitable
        # may have no send() (Granian's PyFutureAwaitable), so it is awaited
        # inside one of ours, which asyncio then drives as usual.
        awaitable = _awaited(awaitable)
    # Annotated, not cast(): typing.cast is a function call, on every body read.
    steps: Generator[Any, Any, ASGIMessage] = awaitable.__await__()
    try:
        signal = steps.send(None)
    except StopIteration as stop:
        message: ASGIMessage = stop.value
        return message
    return _Pending(steps, signal)


async def _awaited(awaitable: Awaitable[ASGIMessage]) -> ASGIMessage:
    return await awaitable


class _Pending:
    """A ``receive()`` call suspended at its first wait; awaiting it resumes it.

    The value it yielded (the future it waits for) is handed to the event
    loop first, then the call is driven on as a plain ``await`` would drive
    it: results are sent in and exceptions, such as a cancellation by the
    timeout, are thrown in.
    """

    __slots__ = ("_signal", "_steps")

    def __init__(self, steps: Generator[Any, Any, ASGIMessage], signal: object) -> None:
        self._steps = steps
        self._signal = signal

    def __await__(self) -> Generator[Any, Any, ASGIMessage]:
        steps, signal = self._steps, self._signal
        while True:
            try:
                sent = yield signal
            except GeneratorExit:
                steps.close()
                raise
            except BaseException as error:  # handed on: the receive call decides
                try:
                    signal = steps.throw(error)
                except StopIteration as stop:
                    return stop.value  # type: ignore[no-any-return]
            else:
                try:
                    signal = steps.send(sent)
                except StopIteration as stop:
                    return stop.value  # type: ignore[no-any-return]


class _deadline:
    """``async with _deadline(seconds):`` bounds waiting for the body: when
    the time is up the block is cancelled and :exc:`RequestTimeout` (408)
    raised, as ``asyncio.timeout`` would raise :exc:`TimeoutError`; a
    cancellation from elsewhere stays a cancellation. ``None``: no limit.

    The timer is a plain ``loop.call_at`` scheduled from an empty context:
    asyncio keeps a cancelled timer, and the context it was made in, until it
    is due, and a timer made in the request's context would keep the request
    (its body, session and ``g``) alive for the whole timeout, often a
    minute, after it ended. ``asyncio.timeout`` also costs four times as much
    to set up and tear down (6.3 µs against 1.5 on the benchmark machine),
    paid by every body the app waits for (every body under Granian).
    """

    __slots__ = ("_cancelling", "_expired", "_seconds", "_task", "_timer")

    def __init__(self, seconds: float | None) -> None:
        self._seconds = seconds
        self._timer: asyncio.TimerHandle | None = None
        self._expired = False

    async def __aenter__(self) -> None:
        if self._seconds is None:
            return
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("A request body is read inside a task.")
        self._task = task
        self._cancelling = task.cancelling()
        loop = task.get_loop()
        self._timer = loop.call_at(
            loop.time() + self._seconds, self._expire, context=contextvars.Context()
        )

    def _expire(self) -> None:
        self._expired = True
        self._task.cancel()

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        timer = self._timer
        if timer is None:
            return
        self._timer = None
        timer.cancel()
        # Our cancellation is spent: the wait timed out, unless the task was
        # also cancelled from elsewhere (that one still counts).
        if self._expired and self._task.uncancel() <= self._cancelling and kind is asyncio.CancelledError:
            raise RequestTimeout(
                f"The request body was not received within {self._seconds} seconds."
            ) from None


__all__ = ["Body", "BodyConsumedError", "ClientDisconnected", "ReceiveCallable"]
