"""Response bodies as small strategy objects.

A :class:`Response` holds one of these: bytes in memory, a sync iterable, an
async iterable, or a file. Each yields its content as byte chunks, knows its
length when it can, and can answer a byte range, so Range and conditional
logic is written once on the response.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import TYPE_CHECKING, Protocol

from ..sync import WorkerLease

if TYPE_CHECKING:
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

    streamed: bool = False

    @property
    def length(self) -> int | None:
        """The size in bytes when known before sending, else ``None``."""
        return None

    def __aiter__(self) -> AsyncIterator[bytes]:
        raise TypeError(f"{type(self).__name__} cannot be iterated")

    async def aclose(self) -> None:
        """Release what the body holds (generators, files)."""

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
    """A body from a sync iterable of ``str`` or ``bytes``.

    Generators may block, so each step of one runs on the request's worker
    thread (``lease``), the same thread as the request's other sync code;
    lists and tuples are read directly.
    """

    streamed = True

    def __init__(self, iterable: Iterable[object], lease: WorkerLease | None = None) -> None:
        self.iterable = iterable
        self.lease = lease

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if isinstance(self.iterable, (list, tuple)):
            for chunk in self.iterable:
                yield _encode(chunk)
            return
        iterator: Iterator[object] = iter(self.iterable)
        lease = self.lease or WorkerLease(None)
        while True:
            chunk = await lease.run(next, iterator, _STOP)
            if chunk is _STOP:
                return
            yield _encode(chunk)

    async def aclose(self) -> None:
        close = getattr(self.iterable, "close", None)
        if close is not None:
            await (self.lease or WorkerLease(None)).run(close)


class AsyncIterableBody(ResponseBody):
    """A body from an async iterable (an async generator, typically)."""

    streamed = True

    def __init__(self, iterable: AsyncIterable[object]) -> None:
        self.iterable = iterable

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.iterable:
            yield _encode(chunk)

    async def aclose(self) -> None:
        aclose = getattr(self.iterable, "aclose", None)
        if aclose is not None:
            await aclose()


class FileBody(ResponseBody):
    """A file on disk, read in chunks through aiofiles, never whole.

    :param path: the file to send.
    :param start: the first byte to send.
    :param stop: one past the last byte to send; the file size by default.
    """

    streamed = True
    chunk_size = 64 * 1024

    def __init__(
        self, path: StrPath, start: int = 0, stop: int | None = None, *, size: int | None = None
    ) -> None:
        self.path = os.fspath(path)
        if size is None:
            size = os.stat(self.path).st_size
        self.size = size
        self.start = start
        self.stop = size if stop is None else stop

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
        return FileBody(self.path, self.start + start, self.start + stop, size=self.size)


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
    if hasattr(value, "__aiter__"):
        return AsyncIterableBody(value)
    if isinstance(value, Iterable):
        return IterableBody(value, lease)
    raise TypeError(f"Cannot use {type(value).__name__} as a response body.")


__all__ = [
    "AsyncIterableBody",
    "BinaryFile",
    "DataBody",
    "FileBody",
    "FileObjectBody",
    "IterableBody",
    "ResponseBody",
    "body_from",
]
