"""How the dev server logs: werkzeug's request lines and Hypercorn's errors on standard error.

:func:`microframe.serving.run_simple` gives Hypercorn :class:`DevServerLogger`
as its logger class, so that ``microframe run`` prints a line per request,
as ``flask run`` does::

    127.0.0.1 - - [06/Dec/2026 10:00:00] "GET / HTTP/1.1" 200 13

and the tracebacks of errors the app lets through to the server (as it does
in debug mode).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import click
from hypercorn.logging import Logger as HypercornLogger
from werkzeug.urls import uri_to_iri

from .logging import ErrorsStreamHandler

if TYPE_CHECKING:
    from hypercorn.config import Config as HypercornConfig
    from hypercorn.typing import ResponseSummary, WWWScope

#: The request lines, in werkzeug's format, from :meth:`DevServerLogger.atoms`:
#: ``127.0.0.1 - - [06/Dec/2026 10:00:00] "GET / HTTP/1.1" 200 13``.
ACCESS_LOG_FORMAT = '%(h)s - - [%(t)s] "%(r)s" %(s)s %(b)s'


class DevServerLogger(HypercornLogger):
    """Hypercorn's logger for the dev server, writing as werkzeug's server does.

    Request lines are in werkzeug's format (:data:`ACCESS_LOG_FORMAT`), the
    request line coloured by status as werkzeug colours it when standard
    error is a terminal; Hypercorn's error log (the tracebacks of errors the
    app lets through to the server, as it does in debug mode) shows warnings
    and errors. Both go to standard error through microframe's handler,
    which never blocks the event loop and keeps them in order with the
    app's own log lines. A Hypercorn logger that was given handlers (by a
    logging configuration) is left as it is.
    """

    def __init__(self, config: HypercornConfig) -> None:
        super().__init__(config)
        self._add_handlers()

    def __setstate__(self, state: dict[str, Any]) -> None:
        # A logger Hypercorn made before the config was pickled for a worker.
        self.__dict__.update(state)
        self._add_handlers()

    def _add_handlers(self) -> None:
        colour = _is_colour_terminal(sys.stderr)
        _add_handler(self.access_logger, AccessLineFormatter(colour), logging.INFO)
        _add_handler(
            self.error_logger,
            logging.Formatter("[%(asctime)s] %(levelname)s in %(name)s: %(message)s"),
            logging.WARNING,
        )

    def atoms(
        self, request: WWWScope, response: ResponseSummary | None, request_time: float
    ) -> Mapping[str, str]:
        """The values of :data:`ACCESS_LOG_FORMAT` for one request.

        ``h`` the client's address, ``t`` the local time, ``r`` the request
        line (the path as sent, percent-escapes decoded, control characters
        escaped), ``s`` the status, ``b`` the body's size from its
        ``Content-Length`` (``-`` when unknown or when no response was sent).
        """
        client = request.get("client")
        target = (request.get("raw_path") or request["path"].encode()).decode("latin-1")
        query = request.get("query_string", b"")
        if query:
            target = f"{target}?{query.decode('latin-1')}"
        method = request["method"] if request["type"] == "http" else "GET"
        try:
            shown = uri_to_iri(target)
        except ValueError:  # a malformed absolute-form target ('http://[::1/'): as sent
            shown = target
        line = f"{method} {shown} HTTP/{request.get('http_version', '1.1')}"
        size = "-"
        for name, value in response.get("headers", ()) if response is not None else ():
            if name.lower() == b"content-length":
                size = value.decode("latin-1")
        return {
            "h": client[0] if client else "-",
            "t": time.strftime("%d/%b/%Y %H:%M:%S"),
            "r": line.translate(_CONTROL_CHARACTERS),
            "s": str(response["status"]) if response is not None else "-",
            "b": size,
        }


# Control characters in a logged path would act on the terminal: escape them.
# A backslash is escaped too, so that an escape in the line is unambiguous.
_CONTROL_CHARACTERS = {code: f"\\x{code:02x}" for code in (*range(0x20), *range(0x7F, 0xA0))}
_CONTROL_CHARACTERS[ord("\\")] = "\\\\"


def _add_handler(logger: logging.Logger | None, formatter: logging.Formatter, level: int) -> None:
    if logger is None or logger.handlers:
        return
    handler = ErrorsStreamHandler()
    handler.setFormatter(formatter)
    logger.addHandler(handler)
    if not logger.level:
        logger.setLevel(level)
    # Printed here only: a root handler (logging.basicConfig) would print
    # each line a second time.
    logger.propagate = False


def _is_colour_terminal(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and "NO_COLOR" not in os.environ


class AccessLineFormatter(logging.Formatter):
    """Formats request lines, colouring the request line by status as werkzeug does.

    1xx bold, 200 plain, 304 cyan, other 3xx green, 404 yellow, other 4xx
    bold red, anything else (5xx) bold magenta.

    :param colour: add the colours (when writing to a terminal).
    """

    def __init__(self, colour: bool) -> None:
        super().__init__("%(message)s")
        self.colour = colour

    def format(self, record: logging.LogRecord) -> str:
        """Format the line, with the request line ``r`` coloured if :attr:`colour`."""
        atoms = record.args
        if self.colour and isinstance(atoms, Mapping) and "r" in atoms:
            record = logging.makeLogRecord(record.__dict__)
            record.args = {**atoms, "r": self.style(str(atoms["r"]), str(atoms.get("s", "-")))}
        return super().format(record)

    @staticmethod
    def style(text: str, status: str) -> str:
        """Return ``text`` in the colour of ``status``."""
        if status.startswith("1"):
            return click.style(text, bold=True)
        if status == "200":
            return text
        if status == "304":
            return click.style(text, fg="cyan")
        if status.startswith("3"):
            return click.style(text, fg="green")
        if status == "404":
            return click.style(text, fg="yellow")
        if status.startswith("4"):
            return click.style(text, fg="red", bold=True)
        return click.style(text, fg="magenta", bold=True)


__all__ = ["ACCESS_LOG_FORMAT", "AccessLineFormatter", "DevServerLogger"]
