"""Response bodies as small strategy objects.

A :class:`Response` holds one of these: bytes in memory (:class:`DataBody`),
a sync or async iterable (:class:`IterableBody`), a file on disk
(:class:`FileBody`) or an in-memory stream (:class:`IOBody`), as Quart's
bodies. Each yields its content as byte chunks, knows its length when it
can, and can answer a byte range, so Range and conditional logic is written
once on the response. Each is read as Quart reads them::

    async with response.response as body:
        async for chunk in body:
            ...
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Protocol

from ..sync import WorkerLease

if TYPE_CHECKING:
    from typing import Self

    from _typeshed import StrPath


class BinaryFile(Protocol):
    """What :func:`~microframe.send_file` reads: a file object opened in binary mode."""

    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


class ResponseBody:
    """The base of response bodies.

    :attr length: the size in bytes when known before sending, else ``None``.
    :attr streamed: ``True`` when producing the body may take time, so the
        sender watches for a client that goes away meanwhile.
    """

    # No instance dict of its own: a DataBody, made for nearly every
    # response, is then one slot (subclasses without __slots__ get a dict).
    __slots__ = ()

    streamed: bool = False

    @property
    def length(self) -> int | None:
        """The size in bytes when known before sending, else ``None``."""
        return None

    def __aiter__(self) -> AsyncIterator[bytes]:
        raise TypeError(f"{type(self).__name__} cannot be iterated")

    async def aclose(self) -> None:
        """Release what the body holds (generators, files)."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def make_range(self, start: int, stop: int) -> ResponseBody | None:
        """Return a body of bytes ``start`` to ``stop``, or ``None`` if unsupported."""
        return None

    def etag(self) -> str | None:
        """Return a strong ETag for the content when it is cheap to compute."""
        return None


class DataBody(ResponseBody):
    """A body held in memory."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    @property
    def length(self) -> int:
        return len(self.data)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self.data:
            yield self.data

    def make_range(self, start: int, stop: int) -> ResponseBody:
        return DataBody(self.data[start:stop])

    def etag(self) -> str:
        return hashlib.sha1(self.data, usedforsecurity=False).hexdigest()


def _encode(chunk: object) -> bytes:
    if isinstance(chunk, bytes):
        return chunk
    if isinstance(chunk, str):
        return chunk.encode()
    if isinstance(chunk, (bytearray, memoryview)):
        return bytes(chunk)
    raise TypeError(
        f"A response body iterable yielded {type(chunk).__name__}; yield str or bytes."
    )


_STOP = object()


class IterableBody(ResponseBody):
    """A body from an iterable or async iterable of ``str`` or ``bytes``.

    Steps of a sync generator may block, so each runs on the request's worker
    thread (``lease``), the same thread as the request's other sync code;
    lists and tuples are read directly, async iterables on the event loop.
    """

    streamed = True

    def __init__(
        self, iterable: Iterable[object] | AsyncIterable[object], lease: WorkerLease | None = None
    ) -> None:
        self.iterable = iterable
        self.lease = lease

    async def __aiter__(self) -> AsyncIterator[bytes]:
        iterable = self.iterable
        if isinstance(iterable, (list, tuple)):
            for chunk in iterable:
                yield _encode(chunk)
        elif isinstance(iterable, AsyncIterable):
            async for chunk in iterable:
                yield _encode(chunk)
        else:
            iterator: Iterator[object] = iter(iterable)
            lease = self.lease or WorkerLease(None)
            while True:
                chunk = await lease.run(next, iterator, _STOP)
                if chunk is _STOP:
                    return
                yield _encode(chunk)

    async def aclose(self) -> None:
        aclose = getattr(self.iterable, "aclose", None)
        if aclose is not None:
            await aclose()
            return
        close = getattr(self.iterable, "close", None)
        if close is not None:
            await (self.lease or WorkerLease(None)).run(close)


class FileBody(ResponseBody):
    """A file on disk, read in chunks through aiofiles, never whole.

    :param path: the file to send.
    :param start: the first byte to send.
    :param stop: one past the last byte to send; the file size by default.
    :param size: the file's size, when the caller has already asked the OS.
    :param buffer_size: bytes read per chunk (Quart's name); :attr:`chunk_size` by default.
    """

    streamed = True
    chunk_size = 64 * 1024

    def __init__(
        self,
        path: StrPath,
        start: int = 0,
        stop: int | None = None,
        *,
        size: int | None = None,
        buffer_size: int | None = None,
    ) -> None:
        self.path = os.fspath(path)
        if size is None:
            size = os.stat(self.path).st_size
        self.size = size
        self.start = start
        self.stop = size if stop is None else stop
        if buffer_size is not None:
            self.chunk_size = buffer_size

    @property
    def length(self) -> int:
        return self.stop - self.start

    async def __aiter__(self) -> AsyncIterator[bytes]:
        import aiofiles

        remaining = self.stop - self.start
        async with aiofiles.open(self.path, "rb") as file:
            await file.seek(self.start)
            while remaining > 0:
                chunk = await file.read(min(self.chunk_size, remaining))
                if not chunk:
                    return
                remaining -= len(chunk)
                yield chunk

    def make_range(self, start: int, stop: int) -> ResponseBody:
        return FileBody(
            self.path, self.start + start, self.start + stop,
            size=self.size, buffer_size=self.chunk_size,
        )


class IOBody(ResponseBody):
    """An in-memory binary stream (:class:`io.BytesIO`), sent from its current position.

    Reading memory does not block, so chunks are read on the event loop;
    the stream is closed with the body, as Flask closes a file it sent.

    :param io_stream: the stream to send.
    :param buffer_size: bytes read per chunk (Quart's name); :attr:`chunk_size` by default.
    :param start: the first byte to send; the stream's position by default.
    :param stop: one past the last byte to send; the stream's size by default.
    """

    chunk_size = 64 * 1024

    def __init__(
        self,
        io_stream: io.BytesIO,
        *,
        buffer_size: int | None = None,
        start: int | None = None,
        stop: int | None = None,
    ) -> None:
        self.io_stream = io_stream
        self.start = io_stream.tell() if start is None else start
        self.stop = io_stream.getbuffer().nbytes if stop is None else stop
        if buffer_size is not None:
            self.chunk_size = buffer_size

    @property
    def length(self) -> int:
        return max(self.stop - self.start, 0)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        position = self.start
        while position < self.stop:
            # Seek before each read: another body over the same stream (a
            # range of it) may have moved the position meanwhile.
            self.io_stream.seek(position)
            chunk = self.io_stream.read(min(self.chunk_size, self.stop - position))
            if not chunk:
                return
            position += len(chunk)
            yield chunk

    async def aclose(self) -> None:
        self.io_stream.close()

    def make_range(self, start: int, stop: int) -> ResponseBody:
        return IOBody(
            self.io_stream, buffer_size=self.chunk_size,
            start=self.start + start, stop=self.start + stop,
        )


class FileObjectBody(ResponseBody):
    """An open binary file object, read in chunks on the worker thread."""

    streamed = True
    chunk_size = 64 * 1024

    def __init__(self, file: BinaryFile, lease: WorkerLease | None = None) -> None:
        self.file = file
        self.lease = lease

    async def __aiter__(self) -> AsyncIterator[bytes]:
        lease = self.lease or WorkerLease(None)
        while True:
            chunk = await lease.run(self.file.read, self.chunk_size)
            if not chunk:
                return
            yield _encode(chunk)

    async def aclose(self) -> None:
        self.file.close()


def body_from(value: object, lease: WorkerLease | None = None) -> ResponseBody:
    """Pick the body strategy for what a view returned as a body."""
    if type(value) is str:  # the most common body, ahead of the general checks
        return DataBody(value.encode())
    if isinstance(value, ResponseBody):
        return value
    if value is None:
        return DataBody(b"")
    if isinstance(value, (bytes, str, bytearray, memoryview)):
        return DataBody(_encode(value))
    if isinstance(value, (Iterable, AsyncIterable)):
        return IterableBody(value, lease)
    raise TypeError(f"Cannot use {type(value).__name__} as a response body.")


__all__ = [
    "BinaryFile",
    "DataBody",
    "FileBody",
    "FileObjectBody",
    "IOBody",
    "IterableBody",
    "ResponseBody",
    "body_from",
]
