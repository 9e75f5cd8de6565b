"""The app's logger, whose default handler never blocks the event loop.

``app.logger`` is the standard :mod:`logging` logger named after the app.
When neither it nor the root logger has a handler for its level, microframe
adds :data:`default_handler`, which writes to :data:`wsgi_errors_stream`:
the current request's error stream when it has one, else ``sys.stderr``.
Lines for ``sys.stderr`` are written by a background thread, so a slow
terminal or pipe cannot stall requests.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import sys
import threading
from typing import TYPE_CHECKING, TextIO, cast

from werkzeug.local import LocalProxy

from .globals import _cv_request

if TYPE_CHECKING:
    from .app import Microframe

#: The ASGI scope key of a request's own error stream (a text file object).
#: WSGI servers give each request one as ``wsgi.errors``; ASGI has no such
#: thing, so only code that builds scopes sets it: the test client's
#: ``errors_stream=`` argument does, to capture what a request logs.
ERRORS_STREAM_KEY = "microframe.errors_stream"


def _errors_stream() -> TextIO:
    ctx = _cv_request.get(None)
    if ctx is not None:
        scope = ctx.request.scope
        if scope:
            stream = scope.get(ERRORS_STREAM_KEY)
            if stream is not None:
                return cast(TextIO, stream)
    return sys.stderr


#: Where errors go: the current request's error stream (see
#: :data:`ERRORS_STREAM_KEY`) during a request that has one, otherwise
#: ``sys.stderr`` (looked up when used, so a replaced ``sys.stderr`` is
#: honoured). Flask's name is kept, although microframe speaks ASGI: give it
#: to a :class:`logging.StreamHandler` of your own, or refer to it as
#: ``ext://microframe.logging.wsgi_errors_stream`` in a logging config.
wsgi_errors_stream: TextIO = cast(TextIO, LocalProxy(_errors_stream))


class _BackgroundWriter:
    """A thread that writes formatted log lines to their streams, in order.

    Started on first use (and again in a forked child, where the parent's
    thread does not exist); flushed when the interpreter exits.
    """

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[TextIO, str] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def write(self, stream: TextIO, text: str) -> None:
        """Queue ``text`` for ``stream``; never waits for the stream."""
        if self._pid != os.getpid():
            self._start()
        self._queue.put((stream, text))

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            self._queue = queue.SimpleQueue()
            self._thread = threading.Thread(
                target=self._run, name="microframe-log-writer", daemon=True
            )
            self._thread.start()
            self._pid = os.getpid()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            stream, text = item
            try:
                stream.write(text)
                stream.flush()
            except (OSError, ValueError):
                # A closed or broken stream: the line is lost, as a
                # StreamHandler would lose it, and the writer carries on.
                pass

    def stop(self) -> None:
        """Write what is queued, then end the thread (at interpreter exit)."""
        thread = self._thread
        if thread is not None and self._pid == os.getpid():
            self._queue.put(None)
            thread.join(timeout=2)


_writer = _BackgroundWriter()
atexit.register(_writer.stop)


class ErrorsStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A :class:`logging.StreamHandler` for :data:`wsgi_errors_stream`.

    A request's own error stream is written at once, so that what a request
    logged is there when its response is; ``sys.stderr`` is written by a
    background thread, so that logging never blocks the event loop.
    """

    def __init__(self) -> None:
        super().__init__(wsgi_errors_stream)

    def emit(self, record: logging.LogRecord) -> None:
        """Format ``record`` here and write it to the current error stream."""
        try:
            text = self.format(record) + self.terminator
            stream = _errors_stream()
            if stream is sys.stderr:
                _writer.write(stream, text)
            else:
                stream.write(text)
                self.flush()
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def flush(self) -> None:
        """Flush the current request's error stream (``sys.stderr`` is flushed by its writer)."""
        stream: object = _errors_stream()
        if stream is not sys.stderr and hasattr(stream, "flush"):
            stream.flush()


#: The handler microframe adds to an app logger that has none for its level:
#: writes ``[%(asctime)s] %(levelname)s in %(module)s: %(message)s`` lines
#: to :data:`wsgi_errors_stream`.
default_handler = ErrorsStreamHandler()
default_handler.setFormatter(
    logging.Formatter("[%(asctime)s] %(levelname)s in %(module)s: %(message)s")
)


def has_level_handler(logger: logging.Logger) -> bool:
    """Return ``True`` if a handler in the logger's hierarchy handles its level."""
    level = logger.getEffectiveLevel()
    current: logging.Logger | None = logger
    while current is not None:
        if any(handler.level <= level for handler in current.handlers):
            return True
        if not current.propagate:
            break
        current = current.parent
    return False


def create_logger(app: Microframe) -> logging.Logger:
    """Return the logger for ``app``, adding :data:`default_handler` if needed.

    The logger is named after the app (:attr:`~microframe.Microframe.name`).
    In debug mode its level is set to ``DEBUG`` unless it has one.
    """
    logger = logging.getLogger(app.name)
    if app.debug and not logger.level:
        logger.setLevel(logging.DEBUG)
    if not has_level_handler(logger):
        logger.addHandler(default_handler)
    return logger


__all__ = [
    "ERRORS_STREAM_KEY",
    "ErrorsStreamHandler",
    "create_logger",
    "default_handler",
    "has_level_handler",
    "wsgi_errors_stream",
]
