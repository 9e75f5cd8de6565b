"""The app's logger, its default handler and the error stream it writes to."""

from __future__ import annotations

import io
import logging
import sys
import time
from collections.abc import Iterator

import pytest

from microframe import Microframe
from microframe.logging import (
    ERRORS_STREAM_KEY,
    create_logger,
    default_handler,
    has_level_handler,
    wsgi_errors_stream,
)


@pytest.fixture(autouse=True)
def bare_logging(pytestconfig: pytest.Config) -> Iterator[None]:
    """No handlers on the root logger during the test: pytest's capture of
    log records (which adds one for each test phase) is switched off."""
    plugin = pytestconfig.pluginmanager.unregister(name="logging-plugin")
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers = []
    yield
    root.handlers = saved
    if plugin is not None:
        pytestconfig.pluginmanager.register(plugin, "logging-plugin")


@pytest.fixture
def app() -> Microframe:
    app = Microframe("logging_test_app")
    logger = logging.getLogger(app.name)
    logger.handlers = []
    logger.setLevel(logging.NOTSET)
    return app


def test_logger_gets_the_default_handler(app: Microframe) -> None:
    assert app.logger.name == "logging_test_app"
    assert app.logger.level == logging.NOTSET
    assert app.logger.handlers == [default_handler]


def test_debug_sets_the_level(app: Microframe) -> None:
    app.debug = True
    assert app.logger.level == logging.DEBUG


def test_an_existing_handler_is_kept(app: Microframe) -> None:
    logging.getLogger().addHandler(logging.NullHandler())
    assert create_logger(app).handlers == []


def test_has_level_handler() -> None:
    logger = logging.getLogger("logging_test_levels")
    assert not has_level_handler(logger)
    handler = logging.StreamHandler(io.StringIO())
    logging.getLogger().addHandler(handler)
    assert has_level_handler(logger)
    logger.propagate = False
    assert not has_level_handler(logger)
    logger.propagate = True
    handler.setLevel(logging.ERROR)
    assert not has_level_handler(logger)


def test_errors_stream_is_stderr_outside_requests(app: Microframe) -> None:
    assert wsgi_errors_stream._get_current_object() is sys.stderr  # type: ignore[attr-defined]
    with app.test_request_context():
        assert wsgi_errors_stream._get_current_object() is sys.stderr  # type: ignore[attr-defined]


async def test_a_request_with_its_own_stream_logs_there(app: Microframe) -> None:
    stream = io.StringIO()

    @app.get("/")
    def index() -> str:
        app.logger.error("test")
        return ""

    @app.get("/fail")
    def fail() -> str:
        raise Exception("boom")

    app.testing = False
    client = app.test_client()
    await client.get("/", scope_base={ERRORS_STREAM_KEY: stream})
    # Written before the response is back: no background thread in between.
    assert "ERROR in test_logging: test" in stream.getvalue()
    response = await client.get("/fail", scope_base={ERRORS_STREAM_KEY: stream})
    assert response.status_code == 500
    assert "Exception on /fail [GET]" in stream.getvalue()
    assert "Exception: boom" in stream.getvalue()


def test_stderr_is_written_by_a_background_thread(
    app: Microframe, capsys: pytest.CaptureFixture[str]
) -> None:
    app.logger.error("to stderr")
    # The line is queued, not written by the caller; it arrives shortly.
    deadline = time.monotonic() + 5
    captured = ""
    while "to stderr" not in captured and time.monotonic() < deadline:
        time.sleep(0.01)
        captured += capsys.readouterr().err
    assert "ERROR in test_logging: to stderr" in captured
