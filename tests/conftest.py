"""Shared fixtures: an app, its test client, a guard against leaked contexts,
and a session-end check that no process the tests started is still alive."""

from __future__ import annotations

import ctypes
import functools
import inspect
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from microframe import Microframe
from microframe.globals import _cv_app, _cv_request
from microframe.testing import MicroframeClient


@pytest.fixture
def app() -> Microframe:
    """A fresh app in testing mode with a secret key."""
    # root_path is explicit: "conftest" may name another folder's conftest.
    app = Microframe(__name__, root_path=os.path.dirname(os.path.abspath(__file__)))
    app.config.update(TESTING=True, SECRET_KEY="test secret key")
    return app


@pytest.fixture
def client(app: Microframe) -> MicroframeClient:
    """A test client for :func:`app`."""
    return app.test_client()


def _leaked() -> list[str]:
    leaked = []
    if _cv_request.get(None) is not None:
        leaked.append("request")
    if _cv_app.get(None) is not None:
        leaked.append("app")
    return leaked


def _pop_leaked() -> None:
    # Pop what a sync test left behind, so the following tests start clean.
    for var in (_cv_request, _cv_app):
        for _ in range(10):
            ctx: Any = var.get(None)
            if ctx is None:
                break
            try:
                ctx.pop()
            except Exception:
                break


def _fail_leak(leaked: list[str]) -> None:
    pytest.fail(
        f"The test left an {' and '.join(leaked)} context pushed; pop it"
        " (use 'with'/'async with' around contexts you push).",
        pytrace=False,
    )


def _check_async(test: Callable[..., Any]) -> Callable[..., Any]:
    # pytest-asyncio runs an async test in a copy of the contextvars, so the
    # check must run inside the test's own context, right after its body.
    @functools.wraps(test)
    async def checked(*args: Any, **kwargs: Any) -> None:
        await test(*args, **kwargs)
        leaked = _leaked()
        if leaked:
            _fail_leak(leaked)

    return checked


@pytest.fixture(autouse=True)
def _no_leaked_contexts(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that leaves an app or request context pushed."""
    item: Any = request.node
    original = getattr(item, "obj", None)
    wrapped = (
        original is not None
        and inspect.iscoroutinefunction(original)
        and not hasattr(original, "hypothesis")
    )
    if wrapped:
        item.obj = _check_async(original)
    try:
        yield
    finally:
        if wrapped:
            item.obj = original
    leaked = _leaked()
    if leaked:
        _pop_leaked()
        _fail_leak(leaked)


class RawResponse:
    """What an app sent for one request through raw ASGI messages."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


async def _raw_request(
    app: Microframe,
    method: str = "GET",
    path: str = "/",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    query_string: bytes = b"",
) -> RawResponse:
    """Send one request to ``app`` as ASGI messages, bypassing the test client."""
    raw_headers = [(b"host", b"localhost")]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query_string,
        "root_path": "",
        "headers": raw_headers,
        "client": ("127.0.0.1", 1234),
        "server": ("localhost", 80),
    }
    sent: list[dict[str, Any]] = []
    received = False

    async def receive() -> dict[str, Any]:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": body, "more_body": False}
        import asyncio

        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)  # type: ignore[arg-type]
    start = sent[0]
    assert start["type"] == "http.response.start"
    out_headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in start["headers"]}
    data = b"".join(m.get("body", b"") for m in sent[1:])
    return RawResponse(start["status"], out_headers, data)


@pytest.fixture
def raw_request() -> Callable[..., Any]:
    """Send a request as raw ASGI messages: ``await raw_request(app, "HEAD", "/")``."""
    return _raw_request


# -- no process outlives the tests ------------------------------------------------------
#
# Servers started by tests run in process groups of their own, and each test
# ends its whole group (tests/live_server.py). The check below fails the
# suite when that discipline slips: at the end of the session, any process
# that descends from pytest, or belongs to a process group a test created,
# is reported, killed by its pid, and the exit status set to failure.
# pytest becomes a "child subreaper" (Linux), so a server's workers orphaned
# by a killed parent are re-parented to pytest instead of init, and seen.

_PR_SET_CHILD_SUBREAPER = 36
_created_groups: set[int] = set()
_popen_init = subprocess.Popen.__init__


def _recording_init(self: subprocess.Popen[Any], *args: Any, **kwargs: Any) -> None:
    _popen_init(self, *args, **kwargs)
    try:
        group = os.getpgid(self.pid)
    except ProcessLookupError:  # already gone
        return
    if group != os.getpgrp():
        _created_groups.add(group)


def pytest_sessionstart(session: pytest.Session) -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    subprocess.Popen.__init__ = _recording_init  # type: ignore[method-assign]


def _processes() -> dict[int, tuple[int, int, str]]:
    """Every process as ``pid: (parent pid, process group, state)``, from /proc."""
    found: dict[int, tuple[int, int, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # exited meanwhile
            continue
        # "pid (command) state ppid pgrp ...": the command may hold spaces.
        fields = stat[stat.rindex(")") + 2 :].split()
        found[int(entry.name)] = (int(fields[1]), int(fields[2]), fields[0])
    return found


def _command_line(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()[:200]


def _left_behind() -> list[int]:
    """Live processes the tests started: pytest's descendants and members of
    the process groups they created. Zombies of ours are reaped, not listed."""
    me = os.getpid()
    table = _processes()
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in table.items():
        children.setdefault(parent, []).append(pid)
    ours: set[int] = set()
    todo = list(children.get(me, ()))
    while todo and len(ours) < 10_000:
        pid = todo.pop()
        if pid not in ours:
            ours.add(pid)
            todo.extend(children.get(pid, ()))
    ours.update(pid for pid, (_, group, _) in table.items() if group in _created_groups)
    ours.discard(me)
    alive = []
    for pid in sorted(ours):
        if table[pid][2] == "Z":
            if table[pid][0] == me:
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:  # a Popen object reaped it
                    pass
            continue
        alive.append(pid)
    return alive


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    subprocess.Popen.__init__ = _popen_init  # type: ignore[method-assign]
    if not Path("/proc").is_dir():
        return
    # A group just killed with SIGKILL takes a moment to die: wait (at most
    # 5 s) before calling what is still running a leftover.
    deadline = time.monotonic() + 5
    for _ in range(100):
        left = _left_behind()
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    leftovers = {pid: _command_line(pid) for pid in left}
    if not leftovers:
        return
    for pid in leftovers:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    reporter: Any = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_sep("=", "processes the tests left running (now killed)", red=True)
        for pid, command in leftovers.items():
            reporter.write_line(f"{pid}: {command}")
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
