"""The dev server's request lines (werkzeug's format and colours) and Hypercorn's loggers."""

from __future__ import annotations

import io
import logging
import pickle
import re
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from hypercorn.config import Config

from microframe.logging import ErrorsStreamHandler
from microframe.server_logging import ACCESS_LOG_FORMAT, AccessLineFormatter, DevServerLogger

DATE = r"\d\d/[A-Z][a-z]{2}/\d{4} \d\d:\d\d:\d\d"


def http_scope(**values: Any) -> dict[str, Any]:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "http_version": "1.1",
        "scheme": "http",
        "headers": [],
        "client": ("127.0.0.1", 51234),
    }
    scope.update(values)
    return scope


@pytest.fixture
def loggers() -> Iterator[None]:
    """Leave Hypercorn's loggers as they were found."""
    saved = {}
    for name in ("hypercorn.access", "hypercorn.error"):
        logger = logging.getLogger(name)
        saved[name] = (list(logger.handlers), logger.level, logger.propagate)
        logger.handlers = []
    yield
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers, logger.level, logger.propagate = handlers, level, propagate


def dev_logger(access: bool = True) -> DevServerLogger:
    config = Config()
    config.accesslog = logging.getLogger("hypercorn.access") if access else None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.access_log_format = ACCESS_LOG_FORMAT
    return DevServerLogger(config)


def line(logger: DevServerLogger, scope: dict[str, Any], response: dict[str, Any] | None) -> str:
    """The request line as the access logger's handler writes it."""
    assert logger.access_logger is not None
    handler = logger.access_logger.handlers[0]
    record = logging.LogRecord(
        "hypercorn.access", logging.INFO, __file__, 0, ACCESS_LOG_FORMAT,
        (logger.atoms(scope, response, 0.01),), None,  # type: ignore[arg-type]
    )
    return handler.format(record)


def test_request_line_in_werkzeug_format(loggers: None) -> None:
    logger = dev_logger()
    response = {"status": 200, "headers": [(b"content-type", b"text/html"), (b"content-length", b"13")]}
    text = line(logger, http_scope(raw_path=b"/hello", query_string=b"a=1&b=2"), response)
    assert re.fullmatch(rf'127\.0\.0\.1 - - \[{DATE}\] "GET /hello\?a=1&b=2 HTTP/1\.1" 200 13', text), text


def test_request_line_without_size_or_response(loggers: None) -> None:
    logger = dev_logger()
    scope = http_scope(method="POST", raw_path=b"/stream", http_version="2")
    assert line(logger, scope, {"status": 200, "headers": []}).endswith('"POST /stream HTTP/2" 200 -')
    # The client left before any response.
    assert line(logger, scope, None).endswith('"POST /stream HTTP/2" - -')
    assert line(logger, http_scope(client=None), None).startswith("- - - [")


def test_request_line_shows_the_path_as_sent_but_readable(loggers: None) -> None:
    logger = dev_logger()
    text = line(logger, http_scope(raw_path=b"/caf%C3%A9/%0d%0a"), {"status": 404, "headers": []})
    # Percent-escapes of text are decoded, as werkzeug shows them; control
    # characters stay escaped and cannot act on the terminal.
    assert '"GET /café/%0d%0a HTTP/1.1" 404 -' in text
    text = line(logger, http_scope(raw_path=b"/a\x1b[31m\\"), {"status": 200, "headers": []})
    assert "\x1b" not in text
    assert '"GET /a\\x1b[31m\\\\ HTTP/1.1"' in text


@pytest.mark.parametrize("target", [b"http://[::1/", b"http://x]/", b"http://x:99999/"])
def test_request_line_of_a_malformed_absolute_target(loggers: None, target: bytes) -> None:
    # werkzeug cannot decode these (a bad IPv6 host, a port out of range):
    # the line shows the target as sent instead of failing after the answer.
    text = line(dev_logger(), http_scope(raw_path=target), {"status": 404, "headers": []})
    assert f'"GET {target.decode()} HTTP/1.1" 404 -' in text


def test_websocket_line(loggers: None) -> None:
    logger = dev_logger()
    scope = http_scope(type="websocket", raw_path=b"/ws", scheme="ws")
    del scope["method"]
    assert line(logger, scope, {"status": 101, "headers": []}).endswith('"GET /ws HTTP/1.1" 101 -')


@pytest.mark.parametrize(
    ("status", "styled"),
    [
        ("101", "\x1b[1mGET / HTTP/1.1\x1b[0m"),
        ("200", "GET / HTTP/1.1"),
        ("304", "\x1b[36mGET / HTTP/1.1\x1b[0m"),
        ("302", "\x1b[32mGET / HTTP/1.1\x1b[0m"),
        ("404", "\x1b[33mGET / HTTP/1.1\x1b[0m"),
        ("400", "\x1b[31m\x1b[1mGET / HTTP/1.1\x1b[0m"),
        ("500", "\x1b[35m\x1b[1mGET / HTTP/1.1\x1b[0m"),
        ("-", "\x1b[35m\x1b[1mGET / HTTP/1.1\x1b[0m"),
    ],
)
def test_colours_follow_werkzeug(status: str, styled: str) -> None:
    atoms = {"h": "127.0.0.1", "t": "06/Dec/2026 10:00:00", "r": "GET / HTTP/1.1", "s": status, "b": "-"}
    record = logging.LogRecord(
        "hypercorn.access", logging.INFO, __file__, 0, ACCESS_LOG_FORMAT, (atoms,), None
    )
    coloured = AccessLineFormatter(colour=True).format(record)
    assert coloured == f'127.0.0.1 - - [06/Dec/2026 10:00:00] "{styled}" {status} -'
    plain = AccessLineFormatter(colour=False).format(record)
    assert plain == f'127.0.0.1 - - [06/Dec/2026 10:00:00] "GET / HTTP/1.1" {status} -'


def test_loggers_get_one_handler_each_and_do_not_propagate(loggers: None) -> None:
    logger = dev_logger()
    access, error = logging.getLogger("hypercorn.access"), logging.getLogger("hypercorn.error")
    assert logger.access_logger is access and logger.error_logger is error
    for hypercorn_logger, level in ((access, logging.INFO), (error, logging.WARNING)):
        assert [type(h) for h in hypercorn_logger.handlers] == [ErrorsStreamHandler]
        assert hypercorn_logger.level == level
        assert hypercorn_logger.propagate is False
    # Another worker's logger in the same process adds nothing.
    dev_logger()
    assert len(access.handlers) == len(error.handlers) == 1
    assert dev_logger(access=False).access_logger is None


def test_configured_loggers_are_left_alone(loggers: None) -> None:
    mine = logging.NullHandler()
    logging.getLogger("hypercorn.error").addHandler(mine)
    dev_logger()
    assert logging.getLogger("hypercorn.error").handlers == [mine]


def test_a_pickled_logger_has_handlers_in_the_new_process(loggers: None) -> None:
    # Hypercorn may make its logger before the config is pickled for a
    # spawned worker, where the named loggers have no handlers yet.
    logger = dev_logger()
    logging.getLogger("hypercorn.access").handlers = []
    copy = pickle.loads(pickle.dumps(logger))
    assert copy.access_logger is logging.getLogger("hypercorn.access")
    assert len(logging.getLogger("hypercorn.access").handlers) == 1


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_colours_only_on_a_terminal(loggers: None, monkeypatch: pytest.MonkeyPatch) -> None:
    import pty

    def colour() -> bool:
        logging.getLogger("hypercorn.access").handlers = []
        formatter = dev_logger().access_logger.handlers[0].formatter  # type: ignore[union-attr]
        assert isinstance(formatter, AccessLineFormatter)
        return formatter.colour

    main, secondary = pty.openpty()
    with open(main, "rb", buffering=0), open(secondary, "w") as terminal:
        monkeypatch.delenv("NO_COLOR", raising=False)
        monkeypatch.setattr(sys, "stderr", terminal)
        assert colour() is True
        monkeypatch.setenv("NO_COLOR", "1")
        assert colour() is False
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    monkeypatch.delenv("NO_COLOR")
    assert colour() is False
