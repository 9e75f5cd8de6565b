"""Server-sent events: an event encoder and a streaming response for them.

::

    from microframe.sse import ServerSentEvent, sse_response

    @app.get("/events")
    async def events():
        async def stream():
            n = 0
            while True:
                n += 1
                yield ServerSentEvent(str(n), event="count", id=str(n))
                await asyncio.sleep(1)

        return sse_response(stream())

When the client goes away the stream is cancelled at its next ``await`` (its
``finally`` blocks run) and closed; nothing of it is left running.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from . import json
from .globals import _cv_app
from .wrappers import Response

KEEPALIVE_COMMENT = b": keep-alive\n\n"


def _check_field(name: str, value: str) -> str:
    if "\n" in value or "\r" in value:
        raise ValueError(f"A server-sent event's {name} may not contain a line break.")
    return value


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One event of a ``text/event-stream``.

    :param data: the event's data; line breaks become several ``data:``
        lines, which the browser joins back with ``\\n``. Other values than
        ``str`` are sent as JSON, dumped by the app's JSON provider.
    :param event: the event type (``addEventListener(type, ...)`` in JS).
    :param id: the event id, sent back by a reconnecting browser as
        ``Last-Event-ID``.
    :param retry: the reconnection delay the browser should use, in
        milliseconds.
    """

    data: Any
    event: str | None = None
    id: str | None = None
    retry: int | None = None

    def encode(self) -> bytes:
        """Return the event in the wire format, ending with the blank line."""
        data = self.data
        if not isinstance(data, str):

            data = json.dumps(data)
        lines: list[str] = []
        if self.event is not None:
            lines.append(f"event: {_check_field('event', self.event)}")
        if self.id is not None:
            lines.append(f"id: {_check_field('id', self.id)}")
        if self.retry is not None:
            lines.append(f"retry: {int(self.retry)}")
        text = data.replace("\r\n", "\n").replace("\r", "\n")
        lines.extend(f"data: {line}" for line in text.split("\n"))
        return ("\n".join(lines) + "\n\n").encode()


def encode_event(item: ServerSentEvent | str | bytes | object) -> bytes:
    """Encode what an event stream yielded: an event, data, or bytes sent as is."""
    if isinstance(item, ServerSentEvent):
        return item.encode()
    if isinstance(item, bytes):
        return item
    return ServerSentEvent(item).encode()


async def _with_keepalive(source: AsyncIterable[object], keepalive: float | None) -> AsyncIterator[bytes]:
    iterator = aiter(source)
    if keepalive is None:
        try:
            async for item in iterator:
                yield encode_event(item)
        finally:
            await _aclose(iterator)
        return
    # The next item is awaited in a task of its own so that waiting for it
    # can time out (to send a keep-alive comment) without cancelling the
    # source, which would end it.
    pending: asyncio.Task[object] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(iterator))
            done, _ = await asyncio.wait({pending}, timeout=keepalive)
            if not done:
                yield KEEPALIVE_COMMENT
                continue
            task, pending = pending, None
            try:
                item = task.result()
            except StopAsyncIteration:
                return
            yield encode_event(item)
    finally:
        if pending is not None:
            pending.cancel()
            await asyncio.gather(pending, return_exceptions=True)
        await _aclose(iterator)


async def _aclose(iterator: object) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()


def sse_response(
    source: AsyncIterable[ServerSentEvent | str | bytes | object],
    keepalive: float | None = 15,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Return a ``text/event-stream`` response streaming the events of ``source``.

    ``source`` yields :class:`ServerSentEvent` objects, data (``str``, or
    other values sent as JSON) or ready-encoded ``bytes``. The response is
    not cached nor buffered by proxies (``Cache-Control: no-cache``,
    ``X-Accel-Buffering: no``), has no ``RESPONSE_TIMEOUT``, and sends a
    comment every ``keepalive`` seconds without an event so that proxies
    keep the connection open (``None`` to send none).
    """

    app_ctx = _cv_app.get(None)
    response_class = app_ctx.app.response_class if app_ctx is not None else Response
    response = response_class(
        _with_keepalive(source, keepalive),
        status,
        {
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
            **(headers or {}),
        },
    )
    response.timeout = None
    return response


__all__ = ["KEEPALIVE_COMMENT", "ServerSentEvent", "encode_event", "sse_response"]
