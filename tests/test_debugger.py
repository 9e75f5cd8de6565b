"""werkzeug's interactive debugger on ASGI (microframe.debugger), driven as a server would."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from asgi_driver import Req, Result, make_scope, run_asgi
from werkzeug.debug import hash_pin
from werkzeug.middleware.proxy_fix import ProxyFix

from microframe import Microframe, g, websocket
from microframe.debugger import (
    DEBUGGER_ENV,
    DebuggerMiddleware,
    debugged_in_worker,
    serve_with_debugger,
)
from microframe.globals import _cv_request

SECRET_LINE = re.compile(r'SECRET = "([^"]+)"')
FRAME_ID = re.compile(r'<div class="frame" id="frame-(\d+)">')


def make_app() -> Microframe:
    app = Microframe(__name__)
    app.debug = True

    @app.get("/")
    async def index() -> str:
        return "index"

    @app.get("/boom")
    async def boom() -> str:
        secret_local = 41
        g.thing = "kept on g"
        raise ValueError(f"kaboom {secret_local}")

    @app.get("/sync-boom")
    def sync_boom() -> str:
        number = 7
        raise KeyError(number)

    return app


@pytest.fixture
def app() -> Microframe:
    return make_app()


@pytest.fixture
def middleware(app: Microframe) -> Iterator[DebuggerMiddleware]:
    yield DebuggerMiddleware(app)


@pytest.fixture(autouse=True)
def _no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    # werkzeug pauses half a second after a wrong PIN; not in these tests.
    monkeypatch.setattr(time, "sleep", lambda seconds: None)


class Page:
    """A debugger page: its secret and the ids of its frames (innermost last)."""

    def __init__(self, result: Result) -> None:
        self.result = result
        self.html = result.body.decode()
        match = SECRET_LINE.search(self.html)
        assert match is not None, self.html[:500]
        self.secret = match.group(1)
        self.frames = [int(frame) for frame in FRAME_ID.findall(self.html)]


async def fail(middleware: DebuggerMiddleware, path: str = "/boom", **req: Any) -> Page:
    result = await run_asgi(middleware, Req(path=path, **req))
    assert result.status == 500
    return Page(result)


async def command(
    middleware: DebuggerMiddleware, cookie: str | None = None, host: bytes = b"localhost", **args: Any
) -> Result:
    query = urlencode({"__debugger__": "yes", **args}).encode()
    headers = ((b"cookie", cookie.encode()),) if cookie else ()
    return await run_asgi(middleware, Req(path="/boom", query=query, headers=headers, host=host))


async def unlock(middleware: DebuggerMiddleware, page: Page) -> str:
    """Enter the PIN as the page's prompt does; return the cookie it sets."""
    pin = middleware.werkzeug.pin
    assert pin is not None
    result = await command(middleware, cmd="pinauth", pin=pin, s=page.secret)
    assert json.loads(result.body) == {"auth": True, "exhausted": False}
    set_cookie = result.header(b"set-cookie")
    assert set_cookie is not None
    return set_cookie.decode().split(";", 1)[0]


# -- the page -----------------------------------------------------------------------


async def test_an_unhandled_error_is_answered_with_the_debugger_page(
    middleware: DebuggerMiddleware,
) -> None:
    page = await fail(middleware)
    assert page.result.header(b"content-type") == b"text/html; charset=utf-8"
    assert "<title>ValueError: kaboom 41" in page.html
    assert "Werkzeug Debugger" in page.html
    assert "EVALEX = true" in page.html and "EVALEX_TRUSTED = false" in page.html
    # werkzeug's traceback, down to the view's line; the middleware's own
    # frame is left out.
    assert 'raise ValueError(f&#34;kaboom {secret_local}&#34;)' in page.html
    assert "in <code class=\"function\">boom</code>" in page.html
    assert "in <code class=\"function\">_serve</code>" not in page.html
    assert page.frames and set(page.frames) <= set(middleware.werkzeug.frames)


async def test_the_error_is_logged_with_its_request_line(
    middleware: DebuggerMiddleware, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        await fail(middleware)
    [record] = [r for r in caplog.records if r.name == middleware.app.logger.name]
    assert record.getMessage() == "Exception on /boom [GET]"
    assert record.exc_info is not None and str(record.exc_info[1]) == "kaboom 41"


async def test_a_host_werkzeug_does_not_trust_gets_no_console(
    middleware: DebuggerMiddleware,
) -> None:
    page = await fail(middleware, host=b"debug.example.com")
    assert "EVALEX = false" in page.html
    cookie = await unlock(middleware, page)
    result = await command(
        middleware, cookie, host=b"debug.example.com", cmd="1+1", frm=page.frames[-1], s=page.secret
    )
    assert result.status == 400  # werkzeug's SecurityError
    assert b"<span" not in result.body


async def test_an_error_after_the_response_started_is_left_to_the_server(app: Microframe) -> None:
    async def half_answer(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise RuntimeError("mid-stream")

    app.asgi_app = half_answer  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="mid-stream"):
        await run_asgi(DebuggerMiddleware(app), Req(path="/"))


async def test_wsgi_middleware_errors_reach_the_debugger(app: Microframe) -> None:
    app.wsgi_app = ProxyFix(app.wsgi_app)  # type: ignore[method-assign]
    page = await fail(DebuggerMiddleware(app))
    assert "ValueError: kaboom 41" in page.html


async def test_plain_requests_and_websockets_pass_through(middleware: DebuggerMiddleware) -> None:
    @middleware.app.websocket("/ws")
    async def ws() -> None:
        await websocket.accept()
        await websocket.send("hello")

    result = await run_asgi(middleware, Req(path="/"))
    assert (result.status, result.body) == (200, b"index")

    incoming = [{"type": "websocket.connect"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "websocket.disconnect", "code": 1000}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {**make_scope(Req(path="/ws")), "type": "websocket", "scheme": "ws", "subprotocols": []}
    await middleware(scope, receive, send)
    assert [m["type"] for m in sent] == ["websocket.accept", "websocket.send", "websocket.close"]
    assert sent[1]["text"] == "hello"


async def test_nothing_is_served_while_debug_mode_is_off(middleware: DebuggerMiddleware) -> None:
    middleware.app.debug = False
    result = await run_asgi(middleware, Req(path="/boom"))
    assert result.status == 500
    assert b"Werkzeug" not in result.body and b"kaboom" not in result.body
    result = await run_asgi(
        middleware, Req(path="/", query=b"__debugger__=yes&cmd=resource&f=style.css")
    )
    assert (result.status, result.body) == (200, b"index")
    result = await run_asgi(middleware, Req(path="/console"))
    assert result.status == 404


# -- commands -----------------------------------------------------------------------


async def test_resources(middleware: DebuggerMiddleware) -> None:
    result = await command(middleware, cmd="resource", f="style.css")
    assert result.status == 200
    assert result.header(b"content-type") == b"text/css; charset=utf-8"
    assert b".debugger" in result.body
    result = await command(middleware, cmd="resource", f="debugger.js")
    assert result.status == 200 and b"makeDebugURL" in result.body
    result = await command(middleware, cmd="resource", f="../__init__.py")
    assert result.status == 404


async def test_the_console_is_locked_until_the_pin_is_entered(
    middleware: DebuggerMiddleware, tmp_path: Path
) -> None:
    page = await fail(middleware)
    marker = tmp_path / "evaluated"
    code = f"open({str(marker)!r}, 'w').close()"
    result = await command(middleware, cmd=code, frm=page.frames[-1], s=page.secret)
    assert result.status == 403
    assert b"The console is locked" in result.body
    # A forged cookie (a wrong PIN's hash) is no better.
    forged = f"{middleware.werkzeug.pin_cookie_name}={int(time.time())}|{hash_pin('000-000-000')}"
    result = await command(middleware, forged, cmd=code, frm=page.frames[-1], s=page.secret)
    assert result.status == 403
    assert not marker.exists()

    result = await command(middleware, cmd="pinauth", pin="000-000-000", s=page.secret)
    assert json.loads(result.body) == {"auth": False, "exhausted": False}
    assert result.header(b"set-cookie") is None

    cookie = await unlock(middleware, page)
    result = await command(middleware, cookie, cmd=code, frm=page.frames[-1], s=page.secret)
    assert result.status == 200
    assert marker.exists()


async def test_ten_wrong_pins_lock_the_console(middleware: DebuggerMiddleware) -> None:
    page = await fail(middleware)
    for _ in range(10):
        await command(middleware, cmd="pinauth", pin="1", s=page.secret)
    result = await command(middleware, cmd="pinauth", pin=middleware.werkzeug.pin, s=page.secret)
    assert json.loads(result.body) == {"auth": False, "exhausted": True}


async def test_the_console_evaluates_in_the_frame_and_the_request(
    middleware: DebuggerMiddleware,
) -> None:
    page = await fail(middleware)
    cookie = await unlock(middleware, page)
    frame = page.frames[-1]  # the view's
    answers = []
    path = "__import__('microframe').request.path"
    for code in ("secret_local + 1", path, "g.thing", "print('printed')"):
        result = await command(middleware, cookie, cmd=code, frm=frame, s=page.secret)
        assert result.status == 200
        answers.append(result.body.decode())
    assert '<span class="number">42</span>' in answers[0]
    assert "&#39;/boom&#39;" in answers[1]
    assert "&#39;kept on g&#39;" in answers[2]
    assert "printed" in answers[3]
    # The context is current only while the console evaluates.
    assert _cv_request.get(None) is None


async def test_a_sync_view_fails_into_the_debugger_too(middleware: DebuggerMiddleware) -> None:
    page = await fail(middleware, path="/sync-boom")
    assert "<title>KeyError: 7" in page.html
    cookie = await unlock(middleware, page)
    code = "number, __import__('microframe').request.method"
    result = await command(middleware, cookie, cmd=code, frm=page.frames[-1], s=page.secret)
    assert '<span class="number">7</span>' in result.body.decode()
    assert "&#39;GET&#39;" in result.body.decode()


async def test_refusals_say_why(middleware: DebuggerMiddleware) -> None:
    page = await fail(middleware)
    cookie = await unlock(middleware, page)
    result = await command(middleware, cookie, cmd="1", frm=page.frames[-1], s="another-server")
    assert result.status == 403 and b"earlier run of the server" in result.body
    result = await command(middleware, cookie, cmd="1", frm=12345, s=page.secret)
    assert result.status == 404 and b"not known to this server process" in result.body
    result = await command(middleware, cmd="pinauth", s=page.secret)
    assert result.status == 400  # no pin argument


async def test_errors_at_once_each_get_their_page_and_frames(middleware: DebuggerMiddleware) -> None:
    # The pages are rendered on several threads at once.
    pages = await asyncio.gather(*(fail(middleware) for _ in range(6)))
    frames = [frame for page in pages for frame in page.frames]
    assert len(set(frames)) == len(frames) == 6 * len(pages[0].frames)
    assert set(frames) <= set(middleware.werkzeug.frames)
    assert set(middleware.werkzeug.frames) == set(middleware.werkzeug.frame_contexts)


async def test_the_standalone_console(middleware: DebuggerMiddleware) -> None:
    result = await run_asgi(middleware, Req(path="/console"))
    assert result.status == 200
    html = result.body.decode()
    assert "Interactive Console" in html and "CONSOLE_MODE = true" in html
    secret = SECRET_LINE.search(html)
    assert secret is not None
    page = await fail(middleware)
    cookie = await unlock(middleware, page)
    code = "app.name, __import__('microframe').current_app.name"
    query = urlencode({"__debugger__": "yes", "cmd": code, "frm": 0, "s": secret.group(1)}).encode()
    headers = ((b"cookie", cookie.encode()),)
    result = await run_asgi(middleware, Req(path="/console", query=query, headers=headers))
    assert result.status == 200
    assert result.body.decode().count("&#39;test_debugger&#39;") == 2


def test_the_test_client_never_gets_the_debugger(app: Microframe) -> None:
    client = app.test_client()
    with pytest.raises(ValueError, match="kaboom"):
        client.get("/boom")
    response = client.get("/?__debugger__=yes&cmd=resource&f=style.css")
    assert response.get_data() == b"index"
    assert client.get("/console").status_code == 404


# -- the development server's side --------------------------------------------------


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv(DEBUGGER_ENV, raising=False)
    monkeypatch.delenv("WERKZEUG_DEBUG_PIN", raising=False)
    return monkeypatch


def test_the_server_prints_the_pin_and_serves_the_debugger(
    app: Microframe, env: pytest.MonkeyPatch
) -> None:
    said: list[str] = []
    served = serve_with_debugger(app, True, said.append)
    assert isinstance(served, DebuggerMiddleware)
    pin = served.werkzeug.pin
    assert pin is not None and re.fullmatch(r"\d{3}-\d{3}-\d{3}", pin)
    assert said == [" * Debugger is active!", f" * Debugger PIN: {pin}"]
    # Worker processes load the app again, and wrap it the same way, with
    # the same PIN.
    again = debugged_in_worker(make_app())
    assert isinstance(again, DebuggerMiddleware) and again.werkzeug.pin == pin


def test_the_pin_can_be_chosen_or_turned_off(app: Microframe, env: pytest.MonkeyPatch) -> None:
    said: list[str] = []
    env.setenv("WERKZEUG_DEBUG_PIN", "123456789")
    serve_with_debugger(app, True, said.append)
    assert said[-1] == " * Debugger PIN: 123-456-789"
    env.setenv("WERKZEUG_DEBUG_PIN", "off")
    serve_with_debugger(app, True, said.append)
    assert said[-1] == " * Debugger PIN disabled. DEBUGGER UNSECURED!"


def test_no_debugger_without_debug_mode_or_when_turned_off(
    app: Microframe, env: pytest.MonkeyPatch
) -> None:
    said: list[str] = []
    serve_with_debugger(app, True, said.append)  # an earlier run, with the debugger
    said.clear()
    assert serve_with_debugger(app, False, said.append) is app
    assert said == []
    assert debugged_in_worker(make_app()) is not None
    assert not isinstance(debugged_in_worker(make_app()), DebuggerMiddleware)
    app.debug = False
    assert serve_with_debugger(app, True, said.append) is app
    assert said == [" * Debugger not started: it is on in debug mode only (--debug)."]
    assert not isinstance(debugged_in_worker(make_app()), DebuggerMiddleware)
