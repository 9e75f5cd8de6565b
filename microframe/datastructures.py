"""Data structures for request data: multi-value dicts, headers and uploads.

Werkzeug's structures are re-exported unchanged so that an application needs
only one import path:

- :class:`MultiDict`: a dict that keeps every value given for a key, as in a
  query string or a form (``request.args``, ``request.form``).
- :class:`ImmutableMultiDict`: a read-only :class:`MultiDict`, the type Flask
  gives ``request.args`` and ``request.form``.
- :class:`CombinedMultiDict`: a read-only view over several multi-dicts
  (``request.values``).
- :class:`Headers`: an ordered, case-insensitive multi-dict of HTTP headers.
- :class:`FileMultiDict`: a :class:`MultiDict` with ``add_file``, handy for
  building test requests.

:class:`DualMultiDict` and :class:`DualCombinedMultiDict` are the types of
``request.form``, ``request.files`` and ``request.values`` for type checkers:
the value in sync code, awaitable in async code (see :mod:`microframe.sync`).

:class:`FileStorage` is microframe's own: an uploaded file whose
:meth:`~FileStorage.save` does not block the event loop.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import IO, Any, TypeVar

import aiofiles
from werkzeug.datastructures import CombinedMultiDict as CombinedMultiDict
from werkzeug.datastructures import FileMultiDict as FileMultiDict
from werkzeug.datastructures import FileStorage as _WerkzeugFileStorage
from werkzeug.datastructures import Headers as Headers
from werkzeug.datastructures import ImmutableMultiDict as ImmutableMultiDict
from werkzeug.datastructures import MultiDict as MultiDict

from .sync import in_sync_code

K = TypeVar("K")
V = TypeVar("V")

__all__ = [
    "CombinedMultiDict",
    "DualCombinedMultiDict",
    "DualMultiDict",
    "FileMultiDict",
    "FileStorage",
    "Headers",
    "ImmutableMultiDict",
    "MultiDict",
]


class DualMultiDict(MultiDict[K, V]):
    """A :class:`MultiDict` from a dual API: the value in sync code, ``await``
    it in async code.

    The type of ``request.form`` and ``request.files``, so that ``form =
    request.form`` in a ``def`` view and ``form = await request.form`` in an
    ``async def`` view both give a ``MultiDict[str, str]``.
    """

    def __await__(self) -> Generator[None, None, MultiDict[K, V]]:
        return self
        yield  # a generator that finishes at once


class DualCombinedMultiDict(CombinedMultiDict[K, V]):
    """A :class:`CombinedMultiDict` from a dual API (``request.values``): the
    value in sync code, ``await`` it in async code."""

    def __await__(self) -> Generator[None, None, CombinedMultiDict[K, V]]:
        return self
        yield  # a generator that finishes at once


class FileStorage(_WerkzeugFileStorage):
    """A file uploaded in a ``multipart/form-data`` request.

    The object found in ``request.files``. It behaves as Werkzeug's
    :class:`~werkzeug.datastructures.FileStorage` (``filename``, ``name``,
    ``content_type``, ``mimetype``, ``headers``, and the file methods of the
    wrapped ``stream`` such as ``read``), except that :meth:`save` is
    awaitable in async code.

    ``filename`` is exactly what the client sent. Never use it as a path
    without passing it through :func:`werkzeug.utils.secure_filename`.

    Example::

        @app.post("/upload")
        async def upload():
            file = (await request.files)["document"]
            await file.save(UPLOADS / secure_filename(file.filename))
            return "", 204
    """

    def save(
        self,
        destination: str | os.PathLike[str] | IO[bytes],
        buffer_size: int = 16384,
    ) -> Any:
        # Any: werkzeug's save returns None, and only Any is both compatible
        # with that and awaitable (``await file.save(...)`` in async code).
        """Copy the file's contents to ``destination``.

        In async code this returns an awaitable that writes a path through
        :mod:`aiofiles`, ``buffer_size`` bytes at a time, so a slow disk does
        not stall other requests. In sync code (a plain ``def`` view, which
        runs on a worker thread) it writes at once and returns ``None``, as
        Flask's does, so Flask code runs unchanged.

        Copying starts at the stream's current position, as Werkzeug's does.

        :param destination: a path, or a file object opened for binary
            writing. A file object is written synchronously and left open;
            the caller closes it.
        :param buffer_size: how many bytes to hold in memory at once while
            copying.
        """
        if in_sync_code():
            super().save(destination, buffer_size)
            return None
        return self._save_async(destination, buffer_size)

    async def _save_async(
        self, destination: str | os.PathLike[str] | IO[bytes], buffer_size: int
    ) -> None:
        # The source is the spooled temporary file the form parser made: in
        # memory, or a local file whose pages are almost always still cached,
        # so reading it in the loop is cheap; the destination may be a slow
        # or network disk, so only the writes go through aiofiles' threads.
        if isinstance(destination, (str, os.PathLike)):
            async with aiofiles.open(destination, "wb") as target:
                while chunk := self.stream.read(buffer_size):
                    await target.write(chunk)
        else:
            while chunk := self.stream.read(buffer_size):
                destination.write(chunk)
