"""Tests for the session cookie's codec and headers: itsdangerous' format,
werkzeug's ``Set-Cookie`` and ``Vary``, and cookies shared with Flask."""

from __future__ import annotations

import base64
import hashlib
import os
import time
import uuid
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st
from itsdangerous import BadData, TimestampSigner, URLSafeTimedSerializer
from itsdangerous.signer import NoneAlgorithm
from markupsafe import Markup
from werkzeug.http import dump_cookie

from microframe import Microframe, session
from microframe.json.tag import TaggedJSONSerializer
from microframe.sessions import _cookie_header, _CookieCodec
from microframe.wrappers import Response

if TYPE_CHECKING:
    from flask import Flask


def _set_cookie(response: Response) -> str | None:
    return response.headers.get("Set-Cookie")


def _session_cookie(client: Any) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return str(cookie.value)


# -- the codec against itsdangerous -----------------------------------------------------


def _reference(keys: list[str], **signer_kwargs: Any) -> URLSafeTimedSerializer:
    """The serializer Flask builds for its session cookie."""
    signer_kwargs = {"key_derivation": "hmac", "digest_method": hashlib.sha1, **signer_kwargs}
    return URLSafeTimedSerializer(
        keys,
        salt="cookie-session",
        serializer=TaggedJSONSerializer(),
        signer_kwargs=signer_kwargs,
    )


def _outcome(load: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return ("ok", load())
    except (BadData, ValueError, TypeError, KeyError, OverflowError, RecursionError):
        return ("refused", None)


session_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() | st.binary(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=12,
)
session_dicts = st.dictionaries(st.text(max_size=8), session_values | st.text("ab", min_size=60), max_size=5)


@given(session_dicts)
def test_codec_round_trips_with_itsdangerous(data: dict[str, Any]) -> None:
    reference = _reference(["old key", "new key"])
    codec = _CookieCodec(reference)
    assert reference.loads(codec.dumps(data)) == data
    assert codec.loads(reference.dumps(data), 3600) == data
    # Signed with the newest key: readable without the fallbacks.
    assert _reference(["new key"]).loads(codec.dumps(data)) == data
    assert codec.loads(_reference(["old key"]).dumps(data), 3600) == data


@given(session_dicts)
def test_codec_writes_what_itsdangerous_writes(data: dict[str, Any]) -> None:
    reference = _reference(["key"])
    codec = _CookieCodec(reference)
    with mock.patch.object(TimestampSigner, "get_timestamp", return_value=1_700_000_000):
        ours, theirs = codec.dumps(data), reference.dumps(data)
    if ours != theirs:
        # Only a short payload differs, being left uncompressed.
        assert theirs.startswith(".") and not ours.startswith(".")
        assert len(TaggedJSONSerializer().dumps(data).encode()) < 64


@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=200),
            st.sampled_from(["", "A", "a", "-", "_", ".", "=", "+", "/", "é", " ", "\x00"]),
            st.booleans(),
        ),
        min_size=1,
        max_size=3,
    ),
    st.booleans(),
)
def test_codec_refuses_what_itsdangerous_refuses(
    edits: list[tuple[int, str, bool]], large: bool
) -> None:
    reference = _reference(["old key", "new key"])
    codec = _CookieCodec(reference)
    cookie = reference.dumps({"n": 1, "text": "ab" * 100 if large else "x"})
    for position, text, insert in edits:
        position %= len(cookie) + 1
        cookie = cookie[:position] + text + cookie[position + (0 if insert else 1) :]
    assert _outcome(lambda: codec.loads(cookie, 3600)) == _outcome(
        lambda: reference.loads(cookie, max_age=3600)
    )


@pytest.mark.parametrize("age", [-5, 0, 99, 100, 101, 10_000])
def test_codec_expiry_as_itsdangerous(age: int) -> None:
    reference = _reference(["key"])
    codec = _CookieCodec(reference)
    now = int(time.time())
    with mock.patch.object(TimestampSigner, "get_timestamp", return_value=now - age):
        cookie = codec.dumps({"a": 1})
    with mock.patch.object(TimestampSigner, "get_timestamp", return_value=now):
        expected = _outcome(lambda: reference.loads(cookie, max_age=100))
        assert _outcome(lambda: codec.loads(cookie, 100)) == expected
    assert expected[0] == ("ok" if 0 <= age <= 100 else "refused")


def test_codec_compresses_only_long_payloads() -> None:
    codec = _CookieCodec(_reference(["key"]))
    assert not codec.dumps({"count": 2}).startswith(".")
    assert codec.dumps({"text": "a" * 500}).startswith(".")
    assert not codec.dumps({"random": uuid.uuid4().hex}).startswith(".")


def test_codec_only_for_the_usual_setup() -> None:
    assert _CookieCodec.fits(_reference(["key"]))
    assert _CookieCodec.fits(_reference(["key"], digest_method=hashlib.sha256))
    assert not _CookieCodec.fits(_reference(["key"], algorithm=NoneAlgorithm()))
    bytes_serializer = URLSafeTimedSerializer("key", serializer=SimpleNamespace(
        dumps=lambda obj: b"{}", loads=lambda data: {}
    ))
    assert not _CookieCodec.fits(bytes_serializer)



# -- the Set-Cookie and Vary headers ----------------------------------------------------


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"expires": datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)},
        {"expires": "Wed, 02 Jan 2030 03:04:05 GMT"},
        {"domain": ".Example.test:8000", "path": "/a b;c", "secure": True, "httponly": False},
        {"samesite": "lax", "partitioned": True},
        {"samesite": "None", "secure": True},
    ],
)
@pytest.mark.parametrize("name", ["session", "sid", "microframe-session-value", "naïve"])
def test_cookie_header_as_dump_cookie(settings: dict[str, Any], name: str) -> None:
    options: dict[str, Any] = {
        "expires": None,
        "domain": None,
        "path": "/",
        "secure": False,
        "httponly": True,
        "samesite": None,
        "partitioned": False,
        **settings,
    }
    value = _CookieCodec(_reference(["key"])).dumps({"a": 1})
    header = _cookie_header(name, value, **options, max_size=4093)
    expected = dump_cookie(name, value, **options)
    assert header in (expected, None)
    assert (header is None) == (name == "microframe-session-value")


def test_cookie_header_leaves_large_cookies_to_dump_cookie() -> None:
    assert _cookie_header("s", "a" * 4080, None, None, "/", False, True, None, False, 4093) is None
    assert _cookie_header("s", "a" * 90, None, None, "/", False, True, None, False, 100) is None
    assert _cookie_header("s", "a" * 4080, None, None, "/", False, True, None, False, 0) is not None
    with pytest.raises(ValueError, match="SameSite"):
        _cookie_header("s", "a", None, None, "/", False, True, "Sometimes", False, 4093)


async def test_large_session_warns_as_werkzeug_does(app: Microframe) -> None:
    @app.post("/")
    async def store() -> str:
        session["blob"] = base64.b64encode(os.urandom(4000)).decode()
        return "ok"

    with pytest.warns(UserWarning, match="cookie is too large"):
        response = await app.test_client().post("/")
    assert _set_cookie(response) is not None


async def test_session_cookie_size_limit_is_max_cookie_size(app: Microframe) -> None:
    @app.post("/")
    async def store() -> str:
        session["name"] = os.urandom(100).hex()
        return "ok"

    app.config["MAX_COOKIE_SIZE"] = 100
    with pytest.warns(UserWarning, match="cookie is too large"):
        response = await app.test_client().post("/")
    # Still sent: the warning tells the developer, the browser decides.
    assert _set_cookie(response) is not None

    app.config["MAX_COOKIE_SIZE"] = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        response = await app.test_client().post("/")
    assert _set_cookie(response) is not None


@pytest.mark.parametrize("existing", [None, "Accept-Encoding", "cookie", "Accept, Cookie", "*"])
@pytest.mark.parametrize("path", ["/write", "/read"])
async def test_vary_cookie_as_response_vary_add(
    app: Microframe, existing: str | None, path: str
) -> None:
    headers = {"Vary": existing} if existing else {}
    reference = Response("ok", headers=headers)
    reference.vary.add("Cookie")

    @app.get("/write")
    async def write() -> Response:
        session["a"] = 1
        return Response("ok", headers=headers)

    @app.get("/read")
    async def read() -> Response:
        session.get("a")
        return Response("ok", headers=headers)

    response = await app.test_client().get(path)
    assert response.headers.getlist("Vary") == reference.headers.getlist("Vary")


# -- Flask's own cookies ------------------------------------------------------------------

FLASK_VALUES: dict[str, Any] = {
    "text": "héllo",
    "tuple": (1, "two"),
    "bytes": b"\x00\xff",
    "when": datetime(2024, 5, 17, 12, 30, 15, tzinfo=UTC),
    "uuid": uuid.UUID("12345678123456781234567812345678"),
    "markup": Markup("<b>x</b>"),
    "long": "ab" * 200,  # compressed
}


def _flask_app(secret_key: str, fallbacks: list[str] | None = None) -> Flask:
    flask = pytest.importorskip("flask")
    flask_app: Flask = flask.Flask(__name__)
    flask_app.config.update(SECRET_KEY=secret_key, SECRET_KEY_FALLBACKS=fallbacks or [])

    @flask_app.post("/")
    def store() -> str:
        flask.session.update(FLASK_VALUES)
        return "ok"

    @flask_app.get("/")
    def load() -> str:
        return "same" if dict(flask.session) == FLASK_VALUES else repr(dict(flask.session))

    return flask_app


def _values_app(app: Microframe) -> Microframe:
    @app.post("/")
    async def store() -> str:
        session.update(FLASK_VALUES)
        return "ok"

    @app.get("/")
    async def load() -> str:
        return "same" if dict(session) == FLASK_VALUES else repr(dict(session))

    return app


async def test_flask_cookie_loads(app: Microframe) -> None:
    flask_client = _flask_app("test secret key").test_client()
    flask_client.post("/")
    cookie = flask_client.get_cookie("session")
    assert cookie is not None
    client = _values_app(app).test_client()
    client.set_cookie("session", cookie.value)
    assert await (await client.get("/")).get_data(as_text=True) == "same"


async def test_cookie_loads_in_flask(app: Microframe) -> None:
    client = _values_app(app).test_client()
    await client.post("/")
    flask_client = _flask_app("test secret key").test_client()
    flask_client.set_cookie("session", _session_cookie(client))
    assert flask_client.get("/").get_data(as_text=True) == "same"


async def test_flask_cookie_loads_with_fallback_key(app: Microframe) -> None:
    flask_client = _flask_app("old key").test_client()
    flask_client.post("/")
    cookie = flask_client.get_cookie("session")
    assert cookie is not None
    app.config.update(SECRET_KEY="new key", SECRET_KEY_FALLBACKS=["old key"])
    client = _values_app(app).test_client()
    client.set_cookie("session", cookie.value)
    assert await (await client.get("/")).get_data(as_text=True) == "same"
    # And a cookie signed with the new key loads in a Flask app that keeps
    # the old one only as a fallback.
    await client.post("/")
    flask_client = _flask_app("new key", ["old key"]).test_client()
    flask_client.set_cookie("session", _session_cookie(client))
    assert flask_client.get("/").get_data(as_text=True) == "same"


async def test_flask_permanent_cookie_loads(app: Microframe) -> None:
    flask = pytest.importorskip("flask")
    flask_app = _flask_app("test secret key")

    @flask_app.post("/permanent")
    def permanent() -> str:
        flask.session.permanent = True
        flask.session["value"] = "p"
        return "ok"

    flask_client = flask_app.test_client()
    flask_client.post("/permanent")
    cookie = flask_client.get_cookie("session")
    assert cookie is not None and cookie.expires is not None

    @app.get("/value")
    async def value() -> str:
        return f"{session.permanent} {session.get('value')}"

    client = app.test_client()
    client.set_cookie("session", cookie.value)
    response = await client.get("/value")
    assert await response.get_data(as_text=True) == "True p"
    # Refreshed, as Flask does: a new cookie with a later expiry.
    refreshed = _set_cookie(response)
    assert refreshed is not None and "Expires=" in refreshed
