"""The interactive debugger under a real ``microframe run`` process (and ``app.run``)."""

from __future__ import annotations

import json
import re
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from live_server import LiveServer

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="process groups")

APP = """
from microframe import Microframe, g

app = Microframe(__name__)

@app.get("/")
async def index():
    return "version {version}"

@app.get("/boom")
async def boom():
    secret_local = 41
    g.thing = "kept on g"
    raise ValueError("kaboom")
"""

SCRIPT = """
import sys

from app import app

if __name__ == "__main__":
    app.run(debug=True, port=int(sys.argv[1]))
"""

PIN_LINE = re.compile(r" \* Debugger PIN: (\d{3}-\d{3}-\d{3})")
SECRET = re.compile(r'SECRET = "([^"]+)"')
FRAME_ID = re.compile(r'<div class="frame" id="frame-(\d+)">')
WAIT_SECONDS = 15.0

#: Starts a server with these arguments (after the interpreter) and waits for it.
Launch = Callable[[list[str]], LiveServer]


def write_app(folder: Path, version: int) -> None:
    (folder / "app.py").write_text(textwrap.dedent(APP.format(version=version)))


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Launch]:
    """Start servers on the app in ``tmp_path``; kill their process groups at the end."""
    started: list[LiveServer] = []

    def launch(args: list[str]) -> LiveServer:
        server = LiveServer("app", [tmp_path], command=args, log=tmp_path / f"server{len(started)}.log")
        started.append(server)
        server.wait_until_ready()
        return server

    write_app(tmp_path, 1)
    try:
        yield launch
    finally:
        for server in started:
            server.stop()


def run_args(*options: str) -> list[str]:
    return ["-m", "microframe", "--app", "app", "run", "--port", "{port}", *options]


def wait_for(server: LiveServer, pattern: re.Pattern[str]) -> re.Match[str]:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        match = pattern.search(server.output())
        if match:
            return match
        time.sleep(0.05)
    pytest.fail(f"no {pattern.pattern!r} in the output:\n{server.output()}")


def debugger_get(
    server: LiveServer, cookie: str | None = None, **args: str | int
) -> tuple[int, str, str | None]:
    """A debugger command on the failing page's URL: status, body, Set-Cookie."""
    query = urlencode({"__debugger__": "yes", **args})
    headers = {"Cookie": cookie} if cookie else {}
    response, body = server.request("GET", f"/boom?{query}", headers=headers)
    return response.status, body.decode(), response.getheader("Set-Cookie")


def fail(server: LiveServer) -> tuple[str, str, int]:
    """Make the view fail: the page, its secret, and the view's frame id."""
    response, body = server.request("GET", "/boom")
    assert response.status == 500
    page = body.decode()
    secret = SECRET.search(page)
    frames = FRAME_ID.findall(page)
    assert secret is not None and frames, page[:1000]
    return page, secret.group(1), int(frames[-1])


def test_run_debug_serves_the_debugger(start: Launch, tmp_path: Path) -> None:
    server = start(run_args("--debug"))
    pin = wait_for(server, PIN_LINE).group(1)
    assert " * Debugger is active!" in server.output()

    page, secret, frame = fail(server)
    assert "ValueError: kaboom" in page and "Werkzeug Debugger" in page
    assert 'raise ValueError(&#34;kaboom&#34;)' in page
    # The error is in the terminal too, with its traceback.
    wait_for(server, re.compile(r"Exception on /boom \[GET\]\nTraceback \(most recent call last\)"))
    assert "ValueError: kaboom" in server.output().split("Exception on /boom [GET]")[1]

    response, css = server.request("GET", "/boom?__debugger__=yes&cmd=resource&f=style.css")
    assert response.status == 200 and response.getheader("Content-Type") == "text/css; charset=utf-8"
    assert b".debugger" in css

    # No PIN cookie: the code is not run.
    marker = tmp_path / "evaluated"
    code = f"open({str(marker)!r}, 'w').close()"
    status, body, _ = debugger_get(server, cmd=code, frm=frame, s=secret)
    assert status == 403 and "The console is locked" in body
    assert not marker.exists()

    status, body, cookie = debugger_get(server, cmd="pinauth", pin=pin, s=secret)
    assert status == 200 and json.loads(body) == {"auth": True, "exhausted": False}
    assert cookie is not None
    cookie = cookie.split(";", 1)[0]

    status, body, _ = debugger_get(server, cookie, cmd="secret_local + 1", frm=frame, s=secret)
    assert status == 200 and '<span class="number">42</span>' in body
    status, body, _ = debugger_get(server, cookie, cmd="g.thing", frm=frame, s=secret)
    assert "&#39;kept on g&#39;" in body
    status, body, _ = debugger_get(server, cookie, cmd=code, frm=frame, s=secret)
    assert status == 200 and marker.exists()

    # A reload: the frames are gone, the PIN (and so the cookie) is the same.
    write_app(tmp_path, 2)
    deadline = time.monotonic() + WAIT_SECONDS
    while server.request("GET", "/")[1] != b"version 2":
        assert time.monotonic() < deadline, server.output()
        time.sleep(0.1)
    status, body, _ = debugger_get(server, cookie, cmd="1", frm=frame, s=secret)
    assert status == 403 and "reload the page" in body
    _, secret, frame = fail(server)
    status, body, _ = debugger_get(server, cookie, cmd="secret_local", frm=frame, s=secret)
    assert status == 200 and '<span class="number">41</span>' in body
    assert len(PIN_LINE.findall(server.output())) == 1


@pytest.mark.parametrize(
    ("options", "note"),
    [
        (["--debug", "--no-debugger"], None),
        (["--no-debug", "--debugger"], " * Debugger not started: it is on in debug mode only (--debug)."),
    ],
)
def test_no_debugger_without_debug_mode_or_with_no_debugger(
    start: Launch, options: list[str], note: str | None
) -> None:
    server = start(run_args(*options))
    wait_for(server, re.compile(r" \* Running on http://"))
    response, body = server.request("GET", "/boom")
    assert response.status == 500
    assert b"Werkzeug Debugger" not in body and b"SECRET" not in body
    response, body = server.request("GET", "/boom?__debugger__=yes&cmd=resource&f=style.css")
    assert response.status == 500 and b".debugger" not in body
    response, _ = server.request("GET", "/console")
    assert response.status == 404
    assert "Debugger PIN" not in server.output()
    if note is not None:
        assert note in server.output()


def test_app_run_in_debug_mode_serves_the_debugger(start: Launch, tmp_path: Path) -> None:
    # app.run(debug=True) serves through the reloader's worker process,
    # which imports the app again: debug mode and the debugger go with it.
    (tmp_path / "script.py").write_text(textwrap.dedent(SCRIPT))
    server = start([str(tmp_path / "script.py"), "{port}"])
    pin = wait_for(server, PIN_LINE).group(1)
    output = server.output()
    assert " * Debug mode: on\n" in output and " * Reloader: on" in output
    page, secret, frame = fail(server)
    assert "Werkzeug Debugger" in page
    status, body, cookie = debugger_get(server, cmd="pinauth", pin=pin, s=secret)
    assert status == 200 and json.loads(body)["auth"] is True and cookie is not None
    status, body, _ = debugger_get(
        server, cookie.split(";", 1)[0], cmd="secret_local", frm=frame, s=secret
    )
    assert status == 200 and '<span class="number">41</span>' in body
