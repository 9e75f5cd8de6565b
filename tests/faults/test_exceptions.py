"""Exceptions everywhere an app can raise one, against a real Hypercorn server.

Each is answered (or, once the response is on its way, logged) as Flask
would: a 500 page without details, the traceback in the log, and the
server unharmed for the next request.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from live_server import LiveServer, status_of

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Failure:
    path: str
    status: int
    logged: str
    body: bytes = b""
    #: Logged with the request line, as Flask's "Exception on /path [GET]".
    with_request_line: bool = True


FAILURES = [
    Failure("/boom", 500, "ValueError: the view failed"),
    Failure("/hook-boom", 500, "RuntimeError: before_request failed"),
    Failure("/after-boom", 500, "RuntimeError: after_request failed"),
    # The response is complete before teardown runs; its failure is logged.
    Failure("/teardown-boom", 200, "RuntimeError: teardown failed", b"sent before teardown fails", False),
    Failure("/template-boom", 500, "ZeroDivisionError"),
    Failure("/template-syntax", 500, "TemplateSyntaxError"),
    Failure("/handler-boom", 500, "RuntimeError: the error handler failed"),
    # Headers and the first part are sent; the connection is then closed
    # without the final chunk, so the client knows the body is cut short.
    Failure("/stream-boom", 200, "ValueError: the stream failed", b"first part", False),
    Failure("/background-boom", 200, "ValueError: the background task failed", b"scheduled", False),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("exceptions")
    running = LiveServer("faults_app:app", [HERE], env={"FAULTS_DIR": str(folder)}, log=folder / "server.log")
    try:
        running.wait_until_ready()
        yield running
    finally:
        running.stop()


def wait_for_log(server: LiveServer, text: str) -> str:
    # The app logs through a queue listener thread: allow it a moment.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        output = server.output()
        if text in output:
            return output
        time.sleep(0.05)
    return server.output()


@pytest.mark.parametrize("failure", FAILURES, ids=[f.path for f in FAILURES])
def test_exception_is_answered_and_logged(server: LiveServer, failure: Failure) -> None:
    answer = server.raw(f"GET {failure.path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    body = answer.partition(b"\r\n\r\n")[2]
    assert status_of(answer) == failure.status, answer[:300]
    assert b"Traceback" not in answer
    if failure.status == 500:
        assert b"Internal Server Error" in body
        assert failure.logged.encode() not in body
    assert failure.body in body
    if failure.path == "/stream-boom":
        assert not body.endswith(b"0\r\n\r\n"), "a failed stream must not look complete"
    output = wait_for_log(server, failure.logged)
    assert failure.logged in output
    if failure.with_request_line:
        assert f"Exception on {failure.path} [GET]" in output
    response, ok = server.request("GET", "/ok")
    assert (response.status, ok) == (200, b"ok")
    assert server.process.poll() is None
