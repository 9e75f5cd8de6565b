"""The app's logger, whose default handler never blocks the event loop.

``app.logger`` is the standard :mod:`logging` logger named after the app.
When neither it nor the root logger has a handler, microframe adds
:data:`default_handler`, which puts records on a queue that a background
thread writes to ``stderr``: a slow terminal or pipe cannot stall requests.
"""

from __future__ import annotations

import atexit
import logging
import logging.handlers
import queue
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .app import Microframe

_queue: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
_stream_handler = logging.StreamHandler(sys.stderr)
_stream_handler.setFormatter(
    logging.Formatter("[%(asctime)s] %(levelname)s in %(module)s: %(message)s")
)
_listener: logging.handlers.QueueListener | None = None

#: The handler microframe adds to an app logger that has none configured.
default_handler = logging.handlers.QueueHandler(_queue)


def _start_listener() -> None:
    global _listener
    if _listener is None:
        _listener = logging.handlers.QueueListener(_queue, _stream_handler)
        _listener.start()
        atexit.register(_listener.stop)


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

    In debug mode the logger's level is set to ``DEBUG`` unless it has one.
    """
    logger = logging.getLogger(app.name)
    if app.debug and not logger.level:
        logger.setLevel(logging.DEBUG)
    if not has_level_handler(logger):
        _start_listener()
        logger.addHandler(default_handler)
    return logger


__all__ = ["create_logger", "default_handler", "has_level_handler"]
