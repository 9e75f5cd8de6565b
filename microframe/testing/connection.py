"""The test client's streaming HTTP connection (Quart's ``client.request``).

::

    async with client.request("/upload", method="POST") as connection:
        await connection.send(b"part one, ")
        await connection.send(b"part two")
        await connection.send_complete()
    response = await connection.as_response()

    async with client.request("/events", headers={"Accept": "text/event-stream"}) as connection:
        first = await connection.receive()  # the first chunk the app sent
        await connection.disconnect()       # the client goes away

The app runs in a task of its own, as under a server: the body is fed to it
as it is sent, and its response is read chunk by chunk as it is produced,
so endless streams (server-sent events) and streamed uploads can be tested.
An exception the app raises (with ``PROPAGATE_EXCEPTIONS``, on when testing)
is re-raised by the next call, or when the block ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from werkzeug.datastructures import Headers

from ..app import Microframe
from ..typing import ASGIMessage
from .response import TestResponse, make_test_response

T = TypeVar("T")

#: How long the end of the block waits for the app to finish before
#: cancelling it (a stream that never ends and was not disconnected).
FINISH_SECONDS = 5.0


class AppEnded:
    """What :func:`next_from_app` gives when the app ended first."""


APP_ENDED = AppEnded()


async def next_from_app(queue: asyncio.Queue[T], task: asyncio.Task[Any]) -> T | AppEnded:
    """The next item the app's ``task`` puts on ``queue``, waiting until it
    does or the task ends (then :data:`APP_ENDED`, if the queue is empty)."""
    if queue.empty() and not task.done():
        getter = asyncio.ensure_future(queue.get())
        try:
            await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not getter.done():
                getter.cancel()
        if getter.done() and not getter.cancelled():
            return getter.result()
    if not queue.empty():
        return queue.get_nowait()
    return APP_ENDED


class HTTPDisconnectError(Exception):
    """Raised by :meth:`TestHTTPConnection.receive` once the response is over."""


class TestHTTPConnection:
    """An HTTP request of the test client, sent and answered piece by piece;
    see the module docstring."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        app: Microframe,
        scope: dict[str, Any],
        on_response: Callable[[TestResponse], None] | None = None,
    ) -> None:
        self.app = app
        self.scope = scope
        self._on_response = on_response
        self._to_app: asyncio.Queue[ASGIMessage] = asyncio.Queue()
        self._chunks: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._body: list[bytes] = []
        self._task: asyncio.Task[None] | None = None
        #: The response status, once the app started its response.
        self.status_code: int | None = None
        #: The response headers, once the app started its response.
        self.headers: Headers | None = None

    async def __aenter__(self) -> TestHTTPConnection:
        self._task = asyncio.create_task(
            self.app(self.scope, self._receive, self._send),  # type: ignore[arg-type]
            name=f"test request {self.scope['path']}",
        )
        return self

    async def __aexit__(
        self, exc_type: type | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        task = self._task
        if task is None:
            return
        if not task.done():
            done, _ = await asyncio.wait({task}, timeout=FINISH_SECONDS)
            if not done:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                if exc_type is None:
                    raise RuntimeError(
                        "The app was still answering when the 'async with' block ended:"
                        " call send_complete() after sending the body, or disconnect()"
                        " to leave an endless stream."
                    )
        if exc_type is None:
            self._raise_app_error()

    async def _receive(self) -> ASGIMessage:
        return await self._to_app.get()

    async def _send(self, message: ASGIMessage) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self.status_code = message["status"]
            self.headers = Headers(
                [(k.decode("latin-1"), v.decode("latin-1")) for k, v in message.get("headers", ())]
            )
        elif kind == "http.response.body":
            chunk = bytes(message.get("body", b""))
            if chunk:
                self._body.append(chunk)
                await self._chunks.put(chunk)
            if not message.get("more_body", False):
                await self._chunks.put(None)

    def _raise_app_error(self) -> None:
        task = self._task
        if task is not None and task.done() and not task.cancelled():
            error = task.exception()
            if error is not None:
                raise error

    async def send(self, data: bytes) -> None:
        """Send ``data`` as the next part of the request body."""
        await self._to_app.put({"type": "http.request", "body": bytes(data), "more_body": True})

    async def send_complete(self) -> None:
        """End the request body."""
        await self._to_app.put({"type": "http.request", "body": b"", "more_body": False})

    async def disconnect(self) -> None:
        """Leave, as a client that closes the connection: the app's stream is
        cancelled, as under a server."""
        await self._to_app.put({"type": "http.disconnect"})

    async def receive(self) -> bytes:
        """Wait for the next part of the response body.

        :raises HTTPDisconnectError: when the response is over (or the app
            ended without finishing it).
        """
        task = self._task
        assert task is not None, "use 'async with client.request(...)'"
        chunk = await next_from_app(self._chunks, task)
        if not isinstance(chunk, AppEnded):
            return self._chunk_or_end(chunk)
        self._raise_app_error()
        raise HTTPDisconnectError()

    def _chunk_or_end(self, chunk: bytes | None) -> bytes:
        if chunk is None:
            self._chunks.put_nowait(None)  # every later call ends too
            raise HTTPDisconnectError()
        return chunk

    async def as_response(self) -> TestResponse:
        """The whole response, once the app has finished it: all of its body,
        including the parts :meth:`receive` gave."""
        task = self._task
        assert task is not None, "use 'async with client.request(...)'"
        await asyncio.wait({task}, timeout=FINISH_SECONDS)
        if not task.done():
            raise RuntimeError("The app has not finished its response.")
        self._raise_app_error()
        if self.status_code is None or self.headers is None:
            raise RuntimeError("The app sent no response.")
        response = make_test_response(
            self.app, self.app.response_class, self.status_code, self.headers,
            b"".join(self._body), len(self._body) > 1,
        )
        if self._on_response is not None:
            self._on_response(response)
        return response


__all__ = ["HTTPDisconnectError", "TestHTTPConnection"]
