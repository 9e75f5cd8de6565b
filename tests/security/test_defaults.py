"""Secure defaults: what an app gets before its author changes anything."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from asgi_driver import Req, run_asgi
from security_app import SECRET, make_site
from werkzeug.exceptions import BadRequest, NotFound

from microframe import Microframe, redirect, request, send_from_directory, session
from microframe.config import DEFAULT_CONFIG


@pytest.fixture
def plain_app(monkeypatch: pytest.MonkeyPatch) -> Microframe:
    """An app exactly as ``Microframe(__name__)`` makes it: no test settings."""
    monkeypatch.delenv("MICROFRAME_DEBUG", raising=False)
    return Microframe(__name__)


def test_debug_and_testing_are_off(plain_app: Microframe) -> None:
    assert plain_app.debug is False
    assert plain_app.testing is False
    assert plain_app.propagate_exceptions is False


def test_documented_limits_are_on_by_default(plain_app: Microframe) -> None:
    config = plain_app.config
    assert config["MAX_CONTENT_LENGTH"] == 16 * 1024 * 1024
    assert config["MAX_FORM_MEMORY_SIZE"] == 500_000
    assert config["MAX_FORM_PARTS"] == 1_000
    assert config["BODY_TIMEOUT"] == 60
    assert config["RESPONSE_TIMEOUT"] == 60
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert DEFAULT_CONFIG["SECRET_KEY"] is None


async def test_default_body_limit_is_enforced(plain_app: Microframe) -> None:
    @plain_app.post("/")
    async def index() -> Any:
        return {"length": len(await request.get_data())}

    too_big = str(16 * 1024 * 1024 + 1).encode()
    result = await run_asgi(plain_app, Req("POST", "/", headers=((b"content-length", too_big),), body=b"x"))
    assert result.status == 413
    fine = await run_asgi(plain_app, Req("POST", "/", body=b"x" * 1000))
    assert (fine.status, fine.body) == (200, b'{"length":1000}\n')


async def test_default_form_limits_are_enforced(plain_app: Microframe) -> None:
    @plain_app.post("/")
    async def index() -> Any:
        return {"fields": len(await request.form)}

    form = ((b"content-type", b"application/x-www-form-urlencoded"),)
    too_many = b"&".join(b"f%d=1" % i for i in range(1_001))
    assert (await run_asgi(plain_app, Req("POST", "/", headers=form, body=too_many))).status == 413
    too_long = b"f=" + b"x" * 500_001
    assert (await run_asgi(plain_app, Req("POST", "/", headers=form, body=too_long))).status == 413
    ok = await run_asgi(
        plain_app, Req("POST", "/", headers=form, body=b"&".join(b"f%d=1" % i for i in range(1_000)))
    )
    assert (ok.status, ok.body) == (200, b'{"fields":1000}\n')


async def test_error_pages_have_no_traceback(plain_app: Microframe, caplog: pytest.LogCaptureFixture) -> None:
    @plain_app.get("/")
    async def index() -> Any:
        raise ValueError("database password is hunter2")

    with caplog.at_level(logging.ERROR):
        result = await run_asgi(plain_app, Req("GET", "/"))
    assert result.status == 500
    assert b"Internal Server Error" in result.body
    for leak in (b"Traceback", b"hunter2", b"ValueError", b"test_defaults.py"):
        assert leak not in result.body
    # The details go to the log instead.
    assert "hunter2" in caplog.text


async def test_session_cookie_is_httponly(plain_app: Microframe) -> None:
    plain_app.secret_key = "k"

    @plain_app.get("/")
    async def index() -> str:
        session["user"] = "ada"
        return "ok"

    result = await run_asgi(plain_app, Req("GET", "/"))
    cookie = result.header(b"set-cookie") or b""
    assert b"HttpOnly" in cookie.split(b"; ")


def test_redirect_refuses_header_splitting() -> None:
    for target in ("/a\r\nSet-Cookie: x=1", "/a\nX: y", "/a\rb", "/a\0b", "http://[::1"):
        with pytest.raises(BadRequest):
            redirect(target)
    assert redirect("/a%0d%0a").headers["Location"] == "/a%0d%0a"


async def test_send_from_directory_stays_inside(tmp_path: Path) -> None:
    make_site(tmp_path)
    app = Microframe(__name__, root_path=str(tmp_path))
    files = str(tmp_path / "files")
    async with app.test_request_context("/"):
        for name in (
            "../secret.txt",
            "..\\secret.txt",
            "/etc/passwd",
            "sub/../../secret.txt",
            "a\0b",
            "x" * 5000,
        ):
            with pytest.raises(NotFound):
                await send_from_directory(files, name)
        response = await send_from_directory(files, "report.txt")
        assert response.status_code == 200
        await response.get_data()


async def test_send_from_directory_follows_symlinks_placed_by_the_owner(tmp_path: Path) -> None:
    # As in Flask: the path from the request cannot leave the folder, but a
    # symlink the folder's owner put inside it is followed wherever it
    # points. Requests cannot create symlinks; keep untrusted uploads out of
    # served folders, or check os.path.realpath yourself. (docs/reliability.md)
    make_site(tmp_path)
    app = Microframe(__name__, root_path=str(tmp_path))
    async with app.test_request_context("/"):
        response = await send_from_directory(str(tmp_path / "files"), "escape-link")
        assert await response.get_data() == SECRET


async def test_secret_key_fallbacks_rotate_keys(plain_app: Microframe) -> None:
    plain_app.config.update(SECRET_KEY="old key")

    @plain_app.route("/", methods=["GET", "POST"])
    async def index() -> Any:
        if request.method == "POST":
            session["n"] = session.get("n", 0) + 1
        return {"n": session.get("n", 0)}

    first = await run_asgi(plain_app, Req("POST", "/"))
    old_cookie = (first.header(b"set-cookie") or b"").split(b";")[0]
    assert old_cookie.startswith(b"session=")

    rotated = Microframe(__name__)
    rotated.config.update(SECRET_KEY="new key", SECRET_KEY_FALLBACKS=["old key"])
    rotated.add_url_rule("/", view_func=index, methods=["GET", "POST"])
    read = await run_asgi(rotated, Req("GET", "/", headers=((b"cookie", old_cookie),)))
    assert read.body == b'{"n":1}\n'
    # A write signs with the new key: an app without the fallback reads it.
    written = await run_asgi(rotated, Req("POST", "/", headers=((b"cookie", old_cookie),)))
    new_cookie = (written.header(b"set-cookie") or b"").split(b";")[0]

    retired = Microframe(__name__)
    retired.config.update(SECRET_KEY="new key")
    retired.add_url_rule("/", view_func=index, methods=["GET", "POST"])
    assert (await run_asgi(retired, Req("GET", "/", headers=((b"cookie", new_cookie),)))).body == b'{"n":2}\n'
    assert (await run_asgi(retired, Req("GET", "/", headers=((b"cookie", old_cookie),)))).body == b'{"n":0}\n'


async def test_response_timeout_ends_a_stalled_stream(
    plain_app: Microframe, caplog: pytest.LogCaptureFixture
) -> None:
    plain_app.config["RESPONSE_TIMEOUT"] = 0.2
    closed = asyncio.Event()

    @plain_app.get("/")
    async def index() -> Any:
        async def forever() -> Any:
            try:
                yield "first\n"
                await asyncio.sleep(3600)
                yield "never\n"
            finally:
                closed.set()

        return forever()

    with caplog.at_level(logging.WARNING):
        result = await run_asgi(plain_app, Req("GET", "/"), timeout=3, allow_cut=True)
    assert result.status == 200
    assert result.body == b"first\n"
    # No final body message: the server closes the connection, so the
    # client sees a cut response rather than one that looks complete.
    assert not result.ended
    assert closed.is_set()
    assert "exceeded its timeout of 0.2s" in caplog.text


async def test_body_timeout_answers_408(plain_app: Microframe) -> None:
    plain_app.config["BODY_TIMEOUT"] = 0.2

    @plain_app.post("/")
    async def index() -> Any:
        return {"n": len(await request.get_data())}

    result = await run_asgi(plain_app, Req("POST", "/", chunks=(b"x",), stall=True), timeout=3)
    assert result.status == 408
