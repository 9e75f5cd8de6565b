"""Flask-Session's Redis backend on microframe, against a real Redis: server-side
sessions shared by two app instances, and by two server processes.

Flask-Session runs unchanged through the Flask shim (``microframe.flask_compat``);
its sessions live in Redis under ``session:<id>``, the cookie holds the id.
Skipped with a reason when ``redis-server`` is missing.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_server import LiveServer
from redis_server import RedisServer, running_redis

from microframe import Microframe, flask_compat, request, session


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    yield from running_redis(tmp_path_factory.mktemp("redis"))


@pytest.fixture(scope="module")
def session_extension() -> Iterator[Any]:
    with flask_compat.installed(purge=["flask_session"]):
        from flask_session import Session

        yield Session


def make_app(name: str, redis_url: str, session_extension: Any, tmp_path: Path) -> Microframe:
    import redis

    app = Microframe(name, root_path=str(tmp_path))
    app.config.update(
        TESTING=True,
        SECRET_KEY="the same secret on every machine",
        SESSION_TYPE="redis",
        SESSION_REDIS=redis.Redis.from_url(redis_url),
        SESSION_KEY_PREFIX="session:",
    )
    session_extension(app)

    @app.post("/login")
    def login() -> str:  # a plain def view, Flask style
        session["user"] = request.form["name"]
        session["cart"] = [1, 2, 3]
        return "logged in"

    @app.get("/me")
    async def me() -> dict[str, Any]:  # an async view reads the same session
        return {"user": session.get("user"), "cart": session.get("cart"), "app": name}

    @app.post("/logout")
    async def logout() -> str:
        session.clear()
        return "logged out"

    return app


def stored_sessions(redis_server: RedisServer) -> list[str]:
    reply = redis_server.command("KEYS", "session:*").decode()
    return [line for line in reply.split("\r\n") if line.startswith("session:")]


async def test_two_app_instances_share_sessions(
    redis_server: RedisServer, session_extension: Any, tmp_path: Path
) -> None:
    machine_a = make_app("a", redis_server.url, session_extension, tmp_path)
    machine_b = make_app("b", redis_server.url, session_extension, tmp_path)
    redis_server.command("FLUSHDB")

    login = await machine_a.test_client().post("/login", form={"name": "ada"})
    assert login.status_code == 200
    cookie = login.headers["Set-Cookie"]
    assert cookie.startswith("session=") and "HttpOnly" in cookie
    session_id = cookie.split(";")[0].partition("=")[2]
    # Only the id travels; the data is in Redis, with a time to live.
    assert "ada" not in cookie
    assert stored_sessions(redis_server) == [f"session:{session_id}"]
    ttl = int(redis_server.command("TTL", f"session:{session_id}").decode().strip(":\r\n"))
    assert 0 < ttl <= 31 * 24 * 3600

    headers = {"Cookie": cookie.split(";")[0]}
    answer = await machine_b.test_client().get("/me", headers=headers)
    assert await answer.get_json() == {"user": "ada", "cart": [1, 2, 3], "app": "b"}

    # Logging out on one machine ends the session everywhere.
    assert (await machine_b.test_client().post("/logout", headers=headers)).status_code == 200
    assert stored_sessions(redis_server) == []
    answer = await machine_a.test_client().get("/me", headers=headers)
    assert await answer.get_json() == {"user": None, "cart": None, "app": "a"}


async def test_a_forged_session_id_is_a_new_empty_session(
    redis_server: RedisServer, session_extension: Any, tmp_path: Path
) -> None:
    app = make_app("a", redis_server.url, session_extension, tmp_path)
    answer = await app.test_client().get("/me", headers={"Cookie": "session=made-up-id"})
    assert answer.status_code == 200
    assert await answer.get_json() == {"user": None, "cart": None, "app": "a"}


APP_SOURCE = textwrap.dedent(
    """
    import os

    from microframe import flask_compat

    flask_compat.install()

    import redis
    from flask import Flask, request, session
    from flask_session import Session

    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="the same secret on every machine",
        SESSION_TYPE="redis",
        SESSION_REDIS=redis.Redis.from_url(os.environ["SESSIONS_REDIS_URL"]),
    )
    Session(app)


    @app.post("/login")
    def login():
        session["user"] = request.form["name"]
        return "logged in"


    @app.get("/me")
    def me():
        return {"user": session.get("user"), "pid": os.getpid()}
    """
)


def test_two_server_processes_share_sessions(redis_server: RedisServer, tmp_path: Path) -> None:
    (tmp_path / "sessions_app.py").write_text(APP_SOURCE)
    env = {"SESSIONS_REDIS_URL": redis_server.url}
    servers = [
        LiveServer("sessions_app:app", [tmp_path], env=env, log=tmp_path / f"server{n}.log") for n in range(2)
    ]
    try:
        for server in servers:
            server.wait_until_ready()
        first, second = (f"http://127.0.0.1:{server.port}" for server in servers)
        login = httpx.post(f"{first}/login", data={"name": "grace"}, timeout=10)
        assert login.status_code == 200
        cookies = {"session": login.cookies["session"]}
        answers = [httpx.get(f"{base}/me", cookies=cookies, timeout=10).json() for base in (first, second)]
        assert [answer["user"] for answer in answers] == ["grace", "grace"]
        assert answers[0]["pid"] != answers[1]["pid"]
    finally:
        for server in servers:
            server.stop()
    for server in servers:
        assert "Traceback" not in server.output()
