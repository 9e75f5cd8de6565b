"""One threading model under the test client and a real server, with the same app.

``threads_app`` keeps an ``sqlite3`` connection on ``g`` (sqlite3 refuses
use from any thread but the one that opened it) and records what its
teardown functions did. Each case runs twice: through the test client, and
through Hypercorn in a process of its own. Both must answer alike and tear
down alike; see "One thread per request" in docs/porting.md.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest
import threads_app
from live_server import LiveServer

HERE = Path(__file__).parent
MICROFRAME = Path(sys.executable).with_name("microframe")
HINT = "One thread per request"


class Transport(Protocol):
    def get(self, path: str, method: str = "GET") -> tuple[int, str, dict[str, str]]: ...

    def server_log(self) -> str: ...


class ClientTransport:
    """Requests through the test client, in this process."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self.client = threads_app.app.test_client()
        self.caplog = caplog

    def get(self, path: str, method: str = "GET") -> tuple[int, str, dict[str, str]]:
        response = self.client.open(path, method=method)
        return response.status_code, response.text, {k.lower(): v for k, v in response.headers}

    def server_log(self) -> str:
        return self.caplog.text


class ServerTransport:
    """Requests to Hypercorn serving ``threads_app:app`` in its own process."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server

    def get(self, path: str, method: str = "GET") -> tuple[int, str, dict[str, str]]:
        response, body = self.server.request(method, path)
        return response.status, body.decode(), {k.lower(): v for k, v in response.getheaders()}

    def server_log(self) -> str:
        return self.server.output()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("threads")
    running = LiveServer("threads_app:app", [HERE], log=folder / "server.log")
    try:
        running.wait_until_ready()
        yield running
    finally:
        running.stop()


@pytest.fixture(params=["client", "server"])
def transport(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> Iterator[Transport]:
    caplog.set_level(logging.ERROR)
    threads_app.EVENTS.clear()
    if request.param == "client":
        yield ClientTransport(caplog)
    else:
        server_transport = ServerTransport(request.getfixturevalue("live"))
        taken_events(server_transport, 0)  # forget what earlier tests left
        yield server_transport


def taken_events(transport: Transport, expected: int) -> list[str]:
    """The teardown events recorded since the last call, waiting (at most
    5 s) for ``expected`` of them: a server tears down after it answers."""
    events: list[str] = []
    deadline = time.monotonic() + 5
    for _ in range(100):
        status, body, _ = transport.get("/events")
        assert status == 200
        events += json.loads(body)
        if len(events) >= expected or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return events


@pytest.mark.parametrize(
    ("path", "method", "closed_by"),
    [
        ("/sync", "GET", "close_db"),  # sync view, sync teardown
        ("/async", "GET", "close_db"),  # async view, sync teardown
        ("/async-teardown", "GET", "close_async_db"),  # async view, async teardown
        ("/hooked/async", "GET", "close_db"),  # sync hooks, async view, sync teardown
        ("/hooked/sync", "GET", "close_db"),  # sync hooks, sync view, sync teardown
        ("/items", "GET", "close_db"),  # class-based view, sync handler
        ("/items", "POST", "close_db"),  # the same class, async handler
    ],
)
def test_connection_on_g_is_used_and_closed_on_one_thread(
    transport: Transport, path: str, method: str, closed_by: str
) -> None:
    for _ in range(3):
        status, body, headers = transport.get(path, method)
        assert (status, body) == (200, "42")
        if path.startswith("/hooked"):
            assert headers["x-hook"] == "ran"
    assert taken_events(transport, 3) == [f"{closed_by} closed"] * 3
    assert "ProgrammingError" not in transport.server_log()


def test_a_sync_hook_that_opens_for_an_async_view_fails_alike_and_says_why(
    transport: Transport,
) -> None:
    # The connection is opened by a sync hook (the worker thread) and used
    # by an async view (the loop's thread): a 500 under both, the error
    # logged with a note naming the rule. Teardown runs where the async view
    # ran, so it cannot close the connection either, and says so.
    status, body, _ = transport.get("/opened-in-hook/async")
    assert status == 500
    assert "Internal Server Error" in body
    deadline = time.monotonic() + 5
    while HINT not in transport.server_log() and time.monotonic() < deadline:
        time.sleep(0.05)
    log = transport.server_log()
    assert "sqlite3.ProgrammingError" in log
    assert HINT in log
    assert "all 'def' or all 'async def'" in log
    assert taken_events(transport, 2) == [
        "check_db failed: ProgrammingError",
        "close_db failed: ProgrammingError",
    ]


# -- contexts pushed by a test, a script, the shell ----------------------------


def test_app_context_block_in_a_test_shares_its_thread_with_async_views() -> None:
    app, get_db = threads_app.app, threads_app.get_db
    threads_app.EVENTS.clear()
    client = app.test_client()
    with app.app_context():
        db = get_db()
        assert threads_app.query(db) == "42"
        # The request shares the block's app context (and g) as under Flask,
        # and its async view runs on this thread.
        assert client.get("/async").text == "42"
        assert get_db() is db
        assert threads_app.query(get_db()) == "42"
        assert threads_app.EVENTS == []  # the block's context is still pushed
    assert threads_app.EVENTS == ["close_db closed"]


async def test_async_with_app_context_tears_down_on_the_loop_thread() -> None:
    app, get_db = threads_app.app, threads_app.get_db
    threads_app.EVENTS.clear()
    async with app.app_context():
        assert threads_app.query(get_db()) == "42"
        assert (await app.test_client().get("/async")).status_code == 200
        assert threads_app.query(get_db()) == "42"
    assert threads_app.EVENTS == ["close_db closed"]


def run_shell(script: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MICROFRAME_", "FLASK_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [str(MICROFRAME), "--app", "threads_app", "shell"],
        input=script,
        capture_output=True,
        text=True,
        cwd=HERE,
        env=env,
        timeout=60,
    )


def test_shell_requests_then_uses_g_and_exits_cleanly() -> None:
    done = run_shell(
        "from threads_app import EVENTS, get_db, query\n"
        "r = app.test_client().get('/async')\n"
        "print('answer', r.status_code, r.text)\n"
        "print('after', query(get_db()))\n"
        "r = app.test_client().get('/async-teardown')\n"
        "print('answer', r.status_code, r.text)\n"
        "print('events', EVENTS)\n"
    )
    assert done.returncode == 0, done.stderr
    assert "answer 200 42" in done.stdout
    assert "after 42" in done.stdout
    # The shell's own context keeps g until it exits; the request of
    # /async-teardown used the same g and its connection is still open.
    assert "events []" in done.stdout
    assert "Traceback" not in done.stderr
    assert "Error" not in done.stderr



def test_app_context_block_in_a_test_shares_its_thread_with_sync_views() -> None:
    # As under Flask: a plain def view of a request made inside the block
    # runs on the block's thread, so the block and the view share g's
    # connection both ways, and the block's teardown closes it.
    app, get_db = threads_app.app, threads_app.get_db
    threads_app.EVENTS.clear()
    client = app.test_client()
    with app.app_context():
        db = get_db()
        assert client.get("/sync").text == "42"
        assert client.get("/hooked/sync").headers["X-Hook"] == "ran"
        assert client.get("/items").text == "42"
        assert client.post("/echo", data={"name": "Ada"}).text == "Ada 42"
        assert get_db() is db
        assert threads_app.query(db) == "42"
    assert threads_app.EVENTS == ["close_db closed"]


def test_shell_with_a_sync_view_exits_cleanly() -> None:
    done = run_shell(
        "from threads_app import get_db, query\n"
        "r = app.test_client().get('/sync')\n"
        "print('answer', r.status_code, r.text)\n"
        "print('after', query(get_db()))\n"
    )
    assert done.returncode == 0, done.stderr
    assert "answer 200 42" in done.stdout
    assert "after 42" in done.stdout
    assert "Traceback" not in done.stderr
