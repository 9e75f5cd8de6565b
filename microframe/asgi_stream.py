"""Sending a streamed response over ASGI, for :mod:`microframe.asgi`.

A streamed response (a generator, a file) is sent by the request's own
task, which a watch stops when the client goes away or the response's
timeout (``RESPONSE_TIMEOUT``) passes: the generator is closed at its next
await and teardown runs. The watch's task is the one reader of the
connection meanwhile; a request body still coming is handed on to the
request (the stream may read it as it sends, an echo), and one the app left
unread is read to its end, as the server may wait on it.
"""

from __future__ import annotations

import asyncio
import contextvars
import types
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import TYPE_CHECKING, Any

from .typing import ASGIMessage, ASGIReceiveCallable, ASGISendCallable

if TYPE_CHECKING:
    from .ctx import RequestContext
    from .wrappers import Response


async def send_reading_the_rest(
    message: ASGIMessage, send: ASGISendCallable, receive: ASGIReceiveCallable
) -> None:
    """Send ``message``, the response's last, reading the request body
    the app left unread meanwhile."""
    # The app answered without reading the whole body. Hypercorn queues at
    # most ten body messages for the app and, as the response ends, waits
    # for room to tell it the request is over: with the queue full, this send
    # would never return. A task reads and drops the rest meanwhile.
    reader = asyncio.create_task(_read_until_gone(receive))
    try:
        await send(message)
    finally:
        reader.cancel()


@types.coroutine
def driven(
    suspending: Callable[[], None], coro: Coroutine[object, object, None]
) -> Generator[object, object, None]:
    """Run ``coro`` as ``await coro`` would, calling ``suspending()`` each
    time the task is about to suspend (how the stream's watch, and a
    websocket's reader, start only once the connection's task waits)."""
    value: object = None
    error: BaseException | None = None
    while True:
        try:
            yielded = coro.send(value) if error is None else coro.throw(error)
        except StopIteration:
            return
        finally:
            error = None  # not kept alive by this frame, if in a traceback
        suspending()
        value = None
        try:
            value = yield yielded
        except GeneratorExit:
            coro.close()
            raise
        except BaseException as exc:  # cancellation: passed on, as 'await' does
            error = exc


#: A stream gives the event loop a turn after this many chunks.
CHUNKS_BETWEEN_TURNS = 16


async def _stream(response: Response, send: ASGISendCallable) -> None:
    # Entered as Quart's bodies are (a body may open its file in
    # __aenter__), and left (closed) before the final message, so that once
    # the client has the whole response nothing of the stream still runs.
    async with response.body as body:
        sent = 0
        async for chunk in body:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            sent += 1
            if sent % CHUNKS_BETWEEN_TURNS == 0:
                # A generator that never awaits, sent by a server whose send
                # does not wait either (Hypercorn's, below its buffer limit or
                # once the client is gone), would hold the loop for as long
                # as it yields: every other request waits, and the watch
                # (which starts at the stream's first wait) never sees the
                # client leave nor the timeout pass.
                await asyncio.sleep(0)
    await send({"type": "http.response.body", "body": b"", "more_body": False})


class _Watch:
    """Watches a streamed response: stops it (cancels the task sending it)
    when the client goes away or its timeout passes.

    Both can only matter while the stream waits for something, so the
    watcher task and the timer are started when the sending task first
    suspends: a stream that never waits (one that only yields what it has)
    is sent without either.
    """

    __slots__ = (
        "_deadline", "_feed", "_receive", "_timer", "_watcher", "disconnected", "done", "task", "timed_out",
    )

    def __init__(
        self,
        task: asyncio.Task[object],
        receive: ASGIReceiveCallable,
        deadline: float | None,
        feed: _BodyFeed | None = None,
    ) -> None:
        self.task = task
        self._receive = receive
        self._deadline = deadline
        # The request body's messages go on through this, while the stream
        # may still read them (see _BodyFeed); without it they are dropped.
        self._feed = feed
        self._watcher: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self.done = False
        self.disconnected = False
        self.timed_out = False

    def suspending(self) -> None:
        """Start watching, if not yet: the sending task is about to wait."""
        if self._watcher is not None or self.done:
            return
        self._watcher = asyncio.create_task(_watch_disconnect(self._receive, self, self._feed))
        if self._deadline is not None:
            # Scheduled in an empty context: asyncio keeps a cancelled timer,
            # and its context, until it is due; it must not keep the request.
            self._timer = self.task.get_loop().call_at(
                self._deadline, self.time_out, context=contextvars.Context()
            )

    def stop(self) -> None:
        """The stream is over: stop watching."""
        self.done = True
        if self._watcher is not None:
            self._watcher.cancel()
        if self._timer is not None:
            self._timer.cancel()

    def time_out(self) -> None:
        """Stop the stream: its timeout has passed (the timer calls this)."""
        if not self.done:
            self.timed_out = True
            self.task.cancel()

    def disconnect(self) -> None:
        """Stop the stream: the client went away."""
        if not self.done:
            self.disconnected = True
            self.task.cancel()


async def _read_until_gone(receive: ASGIReceiveCallable) -> bool:
    """Read the connection's messages, dropping request body chunks, until
    the client is gone (``True``) or the server's receive fails."""
    try:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return True
    except Exception:  # the server's receive failed: nothing left to read
        return False


# HTTP versions whose requests declare a body in their headers (Content-Length,
# Transfer-Encoding); over HTTP/2 and 3 a body may come without either.
_FRAMED_BY_HEADERS = frozenset({"1.0", "1.1"})


class _BodyFeed:
    """The request body's messages, handed on by the one task reading the
    connection while a streamed response is sent and the body is still
    coming: the stream may read the body as it sends (an echo) while the
    client leaving must be seen. Kept up to the body's size limit (what the
    app could read of it); past that the body fails with 413 anyway, and
    the rest is dropped."""

    __slots__ = ("_limit", "_queue", "_received", "under_way")

    def __init__(self, limit: int | None) -> None:
        self._queue: asyncio.Queue[ASGIMessage] = asyncio.Queue()
        self._limit = limit
        self._received = 0
        #: The server's receive the body had under way, handed on first.
        self.under_way: Awaitable[ASGIMessage] | None = None

    def get(self) -> Coroutine[Any, Any, ASGIMessage]:
        """The body's receive: the next message handed on."""
        return self._queue.get()

    def put(self, message: ASGIMessage) -> None:
        """Hand ``message`` on to the body, unless past its size limit."""
        limit = self._limit
        if limit is not None:
            if self._received > limit:
                return
            self._received += len(message.get("body", b""))
        self._queue.put_nowait(message)


async def _watch_disconnect(receive: ASGIReceiveCallable, watch: _Watch, feed: _BodyFeed | None) -> None:
    if feed is None:
        gone = await _read_until_gone(receive)
    else:
        gone = await _read_handing_on(receive, feed)
    if gone:
        watch.disconnect()


async def _read_handing_on(receive: ASGIReceiveCallable, feed: _BodyFeed) -> bool:
    # _read_until_gone, handing the body's messages (and the disconnect, for
    # a body read under way to end with it) on to the body.
    try:
        under_way, feed.under_way = feed.under_way, None
        while True:
            message = await (receive() if under_way is None else under_way)
            under_way = None
            kind = message["type"]
            if kind == "http.request":
                feed.put(message)
            elif kind == "http.disconnect":
                feed.put(message)
                return True
    except Exception:  # the server's receive failed: nothing left to read
        return False


async def send_streamed(
    ctx: RequestContext,
    response: Response,
    send: ASGISendCallable,
    receive: ASGIReceiveCallable,
    timeout: float | None,
) -> None:
    """Send the streamed body of ``response``, stopped when the client goes
    away or ``timeout`` seconds pass (a warning is logged then)."""
    # The body is streamed by this task; the watch cancels it (the stream
    # stops at its next await), as asyncio.timeout does for a deadline.
    task = asyncio.current_task()
    assert task is not None
    deadline = None if timeout is None else task.get_loop().time() + timeout
    request = ctx.request
    pending = request.body_declared and request.body_pending()
    feed = None
    if pending or (not request.body_declared and request.http_version not in _FRAMED_BY_HEADERS):
        # The watcher reads the connection while the stream is sent: it hands
        # the body's messages on to the body, which the stream may still read.
        feed = _BodyFeed(request.body.max_content_length)
        feed.under_way = request.read_body_through(feed.get)
    watch = _Watch(task, receive, deadline, feed)
    if pending:
        # From the start, as the end of a response must not wait on an
        # unread body (see send_reading_the_rest).
        watch.suspending()
    error: Exception | None = None
    try:
        await driven(watch.suspending, _stream(response, send))
    except asyncio.CancelledError:
        if not (watch.disconnected or watch.timed_out):
            raise
    except Exception as exc:
        error = exc
    finally:
        watch.stop()
    if watch.disconnected or watch.timed_out:
        # Our cancellations are spent; one requested by the server still counts.
        for _ in range(watch.disconnected + watch.timed_out):
            if task.uncancel() > 0:
                raise asyncio.CancelledError()
        if watch.timed_out:
            ctx.app.logger.warning(
                f"Response to {ctx.request.path} exceeded its timeout of {timeout}s and was ended."
            )
        return
    if error is not None:
        ctx.app.log_exception(error)


__all__ = ["CHUNKS_BETWEEN_TURNS", "driven", "send_reading_the_rest", "send_streamed"]
