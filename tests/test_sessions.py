"""Tests for sessions: the signed cookie, its settings and pluggable interfaces."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from markupsafe import Markup
from werkzeug.http import parse_date

from microframe import Microframe, get_flashed_messages, session
from microframe.sessions import (
    NullSession,
    SecureCookieSession,
    SecureCookieSessionInterface,
    SessionInterface,
    SessionMixin,
)
from microframe.testing import MicroframeClient
from microframe.wrappers import Request, Response


@pytest.fixture
def session_app(app: Microframe) -> Microframe:
    @app.post("/set")
    async def set_value() -> str:
        session["value"] = "42"
        return "set"

    @app.get("/get")
    async def get_value() -> str:
        return str(session.get("value"))

    @app.get("/untouched")
    async def untouched() -> str:
        return "nothing"

    @app.post("/permanent")
    async def permanent() -> str:
        session.permanent = True
        session["value"] = "p"
        return "ok"

    @app.post("/clear")
    async def clear() -> str:
        session.clear()
        return "cleared"

    @app.post("/sync-set")
    def sync_set() -> str:
        session["sync"] = [1, 2]
        return "ok"

    @app.get("/sync-get")
    def sync_get() -> str:
        return repr(session.get("sync"))

    return app


def _set_cookie(response: Response) -> str | None:
    return response.headers.get("Set-Cookie")


def _session_cookie(client: MicroframeClient, name: str = "session") -> str:
    cookie = client.get_cookie(name)
    assert cookie is not None
    return cookie.value


async def test_round_trip(session_app: Microframe) -> None:
    client = session_app.test_client()
    response = await client.post("/set")
    cookie = _set_cookie(response)
    assert cookie is not None
    assert cookie.startswith("session=")
    assert "HttpOnly" in cookie
    assert "Path=/" in cookie
    assert "Expires" not in cookie
    assert "Cookie" in response.vary
    response = await client.get("/get")
    assert await response.get_data(as_text=True) == "42"
    assert "Cookie" in response.vary
    assert _set_cookie(response) is None


async def test_sync_views(session_app: Microframe) -> None:
    client = session_app.test_client()
    await client.post("/sync-set")
    response = await client.get("/sync-get")
    assert await response.get_data(as_text=True) == "[1, 2]"


async def test_untouched_session_sends_nothing(session_app: Microframe) -> None:
    client = session_app.test_client()
    response = await client.get("/untouched")
    assert _set_cookie(response) is None
    assert "Vary" not in response.headers
    await client.post("/set")
    response = await client.get("/untouched")
    assert _set_cookie(response) is None
    assert "Vary" not in response.headers


@pytest.mark.parametrize(
    "use",
    [
        lambda: "user" in session,
        lambda: len(session),
        lambda: list(session),
        lambda: bool(session),
        lambda: get_flashed_messages(),
    ],
)
async def test_keys_only_uses_of_the_session_vary_on_cookie(use: Callable[[], object]) -> None:
    # As in Flask 3.1.3 (GHSA-68rp-wp8r-4726): the response depends on the
    # cookie even when no value was read, so a cache must key on it.
    app = Microframe(__name__)
    app.secret_key = "key"

    @app.get("/")
    def index() -> str:
        return str(use())

    @app.get("/untouched")
    def untouched() -> str:
        return "x"

    client = app.test_client()
    assert (await client.get("/")).headers.get("Vary") == "Cookie"
    assert "Vary" not in (await client.get("/untouched")).headers


async def test_tagged_types_round_trip(app: Microframe) -> None:
    now = datetime(2024, 5, 17, 12, 30, 15, tzinfo=UTC)
    ident = uuid.uuid4()
    values: dict[str, Any] = {
        "bytes": b"\x00\xffdata",
        "tuple": (1, "two", (3,)),
        "datetime": now,
        "uuid": ident,
        "markup": Markup("<b>bold</b>"),
        "nested": {"list": [b"x", (1, 2)], " t": "a tag-like key"},
        "unicode": "héllo ☃",
        "none": None,
    }

    @app.post("/")
    async def store() -> str:
        session.update(values)
        return "ok"

    @app.get("/")
    async def load() -> str:
        for key, value in values.items():
            assert session[key] == value, key
            assert type(session[key]) is type(value), key
        return "ok"

    client = app.test_client()
    await client.post("/")
    response = await client.get("/")
    assert response.status_code == 200


async def test_permanent_session(session_app: Microframe) -> None:
    session_app.permanent_session_lifetime = timedelta(days=2)
    client = session_app.test_client()
    response = await client.post("/permanent")
    cookie = _set_cookie(response)
    assert cookie is not None
    expires = parse_date(cookie.split("Expires=")[1].split(";")[0])
    assert expires is not None
    expected = datetime.now(UTC) + timedelta(days=2)
    assert abs((expires - expected).total_seconds()) < 10
    # Refreshed on each request, even when the view does not use the session.
    response = await client.get("/untouched")
    assert _set_cookie(response) is not None
    response = await client.get("/get")
    assert _set_cookie(response) is not None
    assert await response.get_data(as_text=True) == "p"


async def test_permanent_session_no_refresh(session_app: Microframe) -> None:
    session_app.config["SESSION_REFRESH_EACH_REQUEST"] = False
    client = session_app.test_client()
    assert _set_cookie(await client.post("/permanent")) is not None
    assert _set_cookie(await client.get("/untouched")) is None
    assert _set_cookie(await client.get("/get")) is None


async def test_non_permanent_session_not_refreshed(session_app: Microframe) -> None:
    client = session_app.test_client()
    await client.post("/set")
    assert _set_cookie(await client.get("/untouched")) is None


async def test_clear_deletes_cookie(session_app: Microframe) -> None:
    client = session_app.test_client()
    await client.post("/set")
    response = await client.post("/clear")
    cookie = _set_cookie(response)
    assert cookie is not None
    assert cookie.startswith("session=;")
    assert "Cookie" in response.vary
    assert client.get_cookie("session") is None
    assert await (await client.get("/get")).get_data(as_text=True) == "None"


async def test_cookie_settings(session_app: Microframe) -> None:
    session_app.config.update(
        SESSION_COOKIE_NAME="sid",
        SESSION_COOKIE_DOMAIN="example.test",
        SESSION_COOKIE_PATH="/app",
        SESSION_COOKIE_HTTPONLY=False,
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PARTITIONED=True,
    )
    response = await session_app.test_client().post("/set")
    cookie = _set_cookie(response)
    assert cookie is not None
    assert cookie.startswith("sid=")
    assert "Domain=example.test" in cookie
    assert "Path=/app" in cookie
    assert "HttpOnly" not in cookie
    assert "Secure" in cookie
    assert "SameSite=Lax" in cookie
    assert "Partitioned" in cookie


async def test_cookie_path_defaults_to_application_root(session_app: Microframe) -> None:
    session_app.config["APPLICATION_ROOT"] = "/root"
    cookie = _set_cookie(await session_app.test_client().post("/set"))
    assert cookie is not None and "Path=/root" in cookie


async def test_new_flag(app: Microframe) -> None:
    @app.get("/")
    async def index() -> str:
        flag = session.new
        session["seen"] = True
        return str(flag)

    client = app.test_client()
    assert await (await client.get("/")).get_data(as_text=True) == "True"
    assert await (await client.get("/")).get_data(as_text=True) == "False"


# -- keys and bad cookies -------------------------------------------------------------


async def test_key_rotation_with_fallbacks(session_app: Microframe) -> None:
    client = session_app.test_client()
    await client.post("/set")
    old_cookie = _session_cookie(client)
    session_app.config.update(SECRET_KEY="new key", SECRET_KEY_FALLBACKS=["test secret key"])
    response = await client.get("/get")
    assert await response.get_data(as_text=True) == "42"
    # Writing signs with the current key; the old key alone then cannot read it.
    await client.post("/set")
    new_cookie = _session_cookie(client)
    assert new_cookie != old_cookie
    session_app.config.update(SECRET_KEY="new key", SECRET_KEY_FALLBACKS=[])
    assert await (await client.get("/get")).get_data(as_text=True) == "42"
    client.set_cookie("session", old_cookie)
    assert await (await client.get("/get")).get_data(as_text=True) == "None"


async def test_changed_key_gives_empty_session(session_app: Microframe) -> None:
    client = session_app.test_client()
    await client.post("/set")
    session_app.config["SECRET_KEY"] = "another key"
    response = await client.get("/get")
    assert response.status_code == 200
    assert await response.get_data(as_text=True) == "None"


def _tamper(value: str) -> str:
    position = len(value) // 2
    replacement = "A" if value[position] != "A" else "B"
    return value[:position] + replacement + value[position + 1 :]


@pytest.mark.parametrize(
    "mangle",
    [
        _tamper,
        lambda value: value[: len(value) // 2],
        lambda value: value[:-1],
        lambda value: value.rsplit(".", 1)[0],
        lambda value: "." + value,
        lambda value: "garbage",
        lambda value: "a.b.c.d",
        lambda value: "....",
        lambda value: "x" * 20_000,
        lambda value: value + "x" * 5000,
        lambda value: '"' + value,
        lambda value: "%00%ff",
        lambda value: "",
    ],
)
async def test_bad_cookies_give_empty_session(session_app: Microframe, mangle: Any) -> None:
    session_app.config["PROPAGATE_EXCEPTIONS"] = False
    client = session_app.test_client()
    await client.post("/set")
    bad = mangle(_session_cookie(client))
    # Sent by hand: the cookie jar would refuse some of these values.
    response = await session_app.test_client().get("/get", headers={"Cookie": f"session={bad}"})
    assert response.status_code == 200
    assert await response.get_data(as_text=True) == "None"


async def test_foreign_signed_payload(app: Microframe) -> None:
    """A cookie signed with the right key but not holding a dict is ignored."""
    interface = SecureCookieSessionInterface()
    serializer = interface.get_signing_serializer(app)
    assert serializer is not None

    @app.get("/")
    async def index() -> str:
        return repr(dict(session))

    client = app.test_client()
    for payload in ([1, 2], "text", 3):
        client.set_cookie("session", serializer.dumps(payload))
        assert await (await client.get("/")).get_data(as_text=True) == "{}"


async def test_expired_cookie(session_app: Microframe, monkeypatch: pytest.MonkeyPatch) -> None:
    session_app.permanent_session_lifetime = timedelta(seconds=100)
    client = session_app.test_client()
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 1000)
    await client.post("/set")
    monkeypatch.undo()
    response = await client.get("/get")
    assert await response.get_data(as_text=True) == "None"


async def test_no_secret_key(app: Microframe) -> None:
    app.config["SECRET_KEY"] = None

    @app.get("/read")
    async def read() -> str:
        return repr((session.get("x"), isinstance(session._get_current_object(), NullSession)))  # type: ignore[attr-defined]

    @app.get("/write")
    async def write() -> str:
        session["x"] = 1
        return "ok"

    client = app.test_client()
    response = await client.get("/read")
    assert await response.get_data(as_text=True) == "(None, True)"
    assert _set_cookie(response) is None
    with pytest.raises(RuntimeError, match="secret key was set"):
        await client.get("/write")
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = await client.get("/write")
    assert response.status_code == 500


def test_null_session_refuses_writes() -> None:
    null = NullSession()
    assert null.get("x") is None
    actions: list[Callable[[], Any]] = [
        lambda: null.__setitem__("x", 1),
        lambda: null.update(x=1),
        lambda: null.setdefault("x", 1),
        lambda: null.pop("x"),
        null.clear,
    ]
    for action in actions:
        with pytest.raises(RuntimeError, match="secret key"):
            action()


def test_session_tracks_access_and_changes() -> None:
    value = SecureCookieSession({"a": 1})
    assert not value.accessed and not value.modified
    assert value["a"] == 1
    assert value.accessed and not value.modified
    value["b"] = 2
    assert value.modified
    value = SecureCookieSession()
    value.permanent = True
    assert value.permanent and value.modified


# -- custom interfaces ----------------------------------------------------------------


class _MemorySession(dict[str, Any], SessionMixin):
    pass


class AsyncMemoryInterface(SessionInterface):
    """A server-side store with coroutine methods, keyed by a cookie."""

    def __init__(self) -> None:
        self.store: dict[str, dict[str, Any]] = {}

    async def open_session(self, app: Microframe, request: Request) -> _MemorySession:  # type: ignore[override]
        sid = request.cookies.get("sid", "")
        value = _MemorySession(self.store.get(sid, {}))
        value.sid = sid or uuid.uuid4().hex  # type: ignore[attr-defined]
        return value

    async def save_session(  # type: ignore[override]
        self, app: Microframe, session: SessionMixin, response: Response
    ) -> None:
        sid = session.sid  # type: ignore[attr-defined]
        self.store[sid] = dict(session)
        response.set_cookie("sid", sid)


class SyncMemoryInterface(SessionInterface):
    def __init__(self) -> None:
        self.store: dict[str, dict[str, Any]] = {}

    def open_session(self, app: Microframe, request: Request) -> _MemorySession:
        sid = request.cookies.get("sid", "")
        value = _MemorySession(self.store.get(sid, {}))
        value.sid = sid or uuid.uuid4().hex  # type: ignore[attr-defined]
        return value

    def save_session(self, app: Microframe, session: SessionMixin, response: Response) -> None:
        sid = session.sid  # type: ignore[attr-defined]
        self.store[sid] = dict(session)
        response.set_cookie("sid", sid)


@pytest.mark.parametrize("interface_class", [AsyncMemoryInterface, SyncMemoryInterface])
async def test_custom_interface(session_app: Microframe, interface_class: Any) -> None:
    interface = interface_class()
    session_app.session_interface = interface
    client = session_app.test_client()
    await client.post("/set")
    assert list(interface.store.values()) == [{"value": "42"}]
    assert await (await client.get("/get")).get_data(as_text=True) == "42"
    await client.post("/sync-set")
    assert await (await client.get("/sync-get")).get_data(as_text=True) == "[1, 2]"
    async with client.session_transaction() as sess:
        assert sess["value"] == "42"
        sess["value"] = "changed"
    assert await (await client.get("/get")).get_data(as_text=True) == "changed"


# -- session_transaction ---------------------------------------------------------------


async def test_session_transaction_async(session_app: Microframe) -> None:
    client = session_app.test_client()
    async with client.session_transaction() as sess:
        assert dict(sess) == {}
        sess["value"] = "from test"
    assert await (await client.get("/get")).get_data(as_text=True) == "from test"
    await client.post("/set")
    async with client.session_transaction() as sess:
        assert sess["value"] == "42"


def test_session_transaction_sync(session_app: Microframe) -> None:
    client = session_app.test_client()
    with client.session_transaction() as sess:
        sess["value"] = "sync test"
    assert client.get("/get").get_data(as_text=True) == "sync test"
    client.post("/set")
    with client.session_transaction() as sess:
        assert sess["value"] == "42"


async def test_session_transaction_with_cookie_settings(session_app: Microframe) -> None:
    session_app.config.update(SESSION_COOKIE_NAME="sid", SESSION_COOKIE_PATH="/")
    client = session_app.test_client()
    async with client.session_transaction() as sess:
        sess["value"] = "named"
    assert client.get_cookie("sid") is not None
    assert await (await client.get("/get")).get_data(as_text=True) == "named"


async def test_session_transaction_error_discards(session_app: Microframe) -> None:
    client = session_app.test_client()
    with pytest.raises(KeyError):
        async with client.session_transaction() as sess:
            sess["value"] = "lost"
            raise KeyError("boom")
    assert client.get_cookie("session") is None


async def test_session_transaction_requires_cookies_and_key(session_app: Microframe) -> None:
    with pytest.raises(TypeError, match="use_cookies"):
        session_app.test_client(use_cookies=False).session_transaction()
    session_app.config["SECRET_KEY"] = None
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        async with session_app.test_client().session_transaction():
            pass


async def test_session_transaction_sync_form_in_async_code(session_app: Microframe) -> None:
    with pytest.raises(RuntimeError, match="async with"), session_app.test_client().session_transaction():
        pass


# -- the cookie's clock and signing settings -------------------------------------------


async def test_cookie_from_the_future_gives_empty_session(session_app: Microframe) -> None:
    client = session_app.test_client()
    with mock.patch.object(TimestampSigner, "get_timestamp", return_value=int(time.time()) + 60):
        await client.post("/set")
    assert await (await client.get("/get")).get_data(as_text=True) == "None"




class Sha256Interface(SecureCookieSessionInterface):
    salt = "other-salt"
    digest_method = staticmethod(hashlib.sha256)
    key_derivation = "concat"


class OwnSerializerInterface(SecureCookieSessionInterface):
    def get_signing_serializer(self, app: Microframe) -> URLSafeTimedSerializer | None:
        return URLSafeTimedSerializer(str(app.secret_key), salt="own")


async def test_interface_settings_are_used(session_app: Microframe) -> None:
    session_app.session_interface = Sha256Interface()
    client = session_app.test_client()
    await client.post("/set")
    cookie = _session_cookie(client)
    reference = URLSafeTimedSerializer(
        "test secret key",
        salt="other-salt",
        serializer=Sha256Interface.serializer,
        signer_kwargs={"key_derivation": "concat", "digest_method": hashlib.sha256},
    )
    assert reference.loads(cookie) == {"value": "42"}
    assert await (await client.get("/get")).get_data(as_text=True) == "42"


async def test_overridden_signing_serializer_is_used(session_app: Microframe) -> None:
    session_app.session_interface = OwnSerializerInterface()
    client = session_app.test_client()
    await client.post("/set")
    assert URLSafeTimedSerializer("test secret key", salt="own").loads(
        _session_cookie(client)
    ) == {"value": "42"}
    assert await (await client.get("/get")).get_data(as_text=True) == "42"
