"""Tests for the session cookie's codec and headers: itsdangerous' format,
werkzeug's ``Set-Cookie`` and ``Vary``, and cookies shared with Flask."""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import time
import uuid
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st
from itsdangerous import BadData, HMACAlgorithm, NoneAlgorithm, TimestampSigner, URLSafeTimedSerializer
from markupsafe import Markup
from werkzeug.http import dump_cookie

from microframe import Microframe, session
from microframe.json.tag import TaggedJSONSerializer
from microframe.sessions import SecureCookieSessionInterface
from microframe.wrappers import Response

if TYPE_CHECKING:
    from flask import Flask


def _set_cookie(response: Response) -> str | None:
    return response.headers.get("Set-Cookie")


def _session_cookie(client: Any) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return str(cookie.value)


# -- the serializer against itsdangerous ------------------------------------------------


def _reference(keys: list[str], **signer_kwargs: Any) -> URLSafeTimedSerializer:
    """The serializer Flask builds for its session cookie."""
    signer_kwargs = {"key_derivation": "hmac", "digest_method": hashlib.sha1, **signer_kwargs}
    return URLSafeTimedSerializer(
        keys,
        salt="cookie-session",
        serializer=TaggedJSONSerializer(),
        signer_kwargs=signer_kwargs,
    )


_apps: dict[tuple[str, ...], Microframe] = {}


def _ours(keys: list[str], interface: SecureCookieSessionInterface | None = None) -> URLSafeTimedSerializer:
    """The serializer the session interface uses with ``keys`` (the last one signing)."""
    app = _apps.get(tuple(keys))
    if app is None:
        app = _apps[tuple(keys)] = Microframe(__name__)
        app.config.update(SECRET_KEY=keys[-1], SECRET_KEY_FALLBACKS=keys[:-1])
    serializer = (interface or SecureCookieSessionInterface()).get_signing_serializer(app)
    assert serializer is not None
    return serializer


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
def test_cookie_round_trips_with_itsdangerous(data: dict[str, Any]) -> None:
    reference = _reference(["old key", "new key"])
    ours = _ours(["old key", "new key"])
    assert reference.loads(ours.dumps(data)) == data
    assert ours.loads(reference.dumps(data), max_age=3600) == data
    # Signed with the newest key: readable without the fallbacks.
    assert _reference(["new key"]).loads(ours.dumps(data)) == data
    assert ours.loads(_reference(["old key"]).dumps(data), max_age=3600) == data


@given(session_dicts)
def test_cookie_is_what_itsdangerous_writes(data: dict[str, Any]) -> None:
    reference = _reference(["key"])
    ours = _ours(["key"])
    with mock.patch.object(TimestampSigner, "get_timestamp", return_value=1_700_000_000):
        mine, theirs = ours.dumps(data), reference.dumps(data)
    if mine != theirs:
        # Only a short payload differs, being left uncompressed.
        assert theirs.startswith(".") and not mine.startswith(".")
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
def test_cookie_refused_as_itsdangerous_refuses(
    edits: list[tuple[int, str, bool]], large: bool
) -> None:
    reference = _reference(["old key", "new key"])
    ours = _ours(["old key", "new key"])
    cookie = reference.dumps({"n": 1, "text": "ab" * 100 if large else "x"})
    for position, text, insert in edits:
        position %= len(cookie) + 1
        cookie = cookie[:position] + text + cookie[position + (0 if insert else 1) :]
    assert _outcome(lambda: ours.loads(cookie, max_age=3600)) == _outcome(
        lambda: reference.loads(cookie, max_age=3600)
    )


@pytest.mark.parametrize("age", [-5, 0, 99, 100, 101, 10_000])
def test_cookie_expiry_as_itsdangerous(age: int) -> None:
    reference = _reference(["key"])
    ours = _ours(["key"])
    now = int(time.time())
    with mock.patch.object(TimestampSigner, "get_timestamp", return_value=now - age):
        cookie = ours.dumps({"a": 1})
    with mock.patch.object(TimestampSigner, "get_timestamp", return_value=now):
        expected = _outcome(lambda: reference.loads(cookie, max_age=100))
        assert _outcome(lambda: ours.loads(cookie, max_age=100)) == expected
    assert expected[0] == ("ok" if 0 <= age <= 100 else "refused")


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"key_derivation": "hmac", "digest_method": hashlib.sha1},
        {"digest_method": hashlib.sha256},
        {"algorithm": HMACAlgorithm(hashlib.sha512)},  # its own digest, not the signer's
        {"algorithm": NoneAlgorithm()},
    ],
)
def test_session_signer_signs_as_itsdangerous(options: dict[str, Any]) -> None:
    # The signer class the session serializer makes, built with other settings.
    signer_class = type(_ours(["key"]).make_signer())
    ours, reference = signer_class(["old", "new"], **options), TimestampSigner(["old", "new"], **options)
    with mock.patch.object(TimestampSigner, "get_timestamp", return_value=1_700_000_000):
        for value in (b"", b"payload", b"x" * 300):
            assert ours.sign(value) == reference.sign(value)
            assert ours.unsign(reference.sign(value)) == value
            assert ours.unsign(TimestampSigner("old", **options).sign(value)) == value


_LOADS_OPTIONS: list[dict[str, Any]] = [
    {},
    {"return_timestamp": True},
    {"max_age": 60},
    {"max_age": 10**10, "return_timestamp": True},
]


@pytest.mark.parametrize("salt", [None, "cookie-session", "another salt"])
@pytest.mark.parametrize("options", _LOADS_OPTIONS)
def test_loads_options_as_itsdangerous(salt: str | None, options: dict[str, Any]) -> None:
    # The serializer's own loads: the signing time when asked for, another
    # salt's signer when given one, expiry and refusals as itsdangerous has them.
    reference = _reference(["old key", "new key"])
    ours = _ours(["old key", "new key"])
    with mock.patch.object(TimestampSigner, "get_timestamp", return_value=1_700_000_000):
        cookie = reference.dumps({"a": [1, "x"]}, salt=salt)
    expected = _outcome(functools.partial(reference.loads, cookie, salt=salt, **options))
    assert _outcome(functools.partial(ours.loads, cookie, salt=salt, **options)) == expected
    assert expected[0] == ("refused" if options.get("max_age") == 60 else "ok")
    if expected[0] == "ok" and options.get("return_timestamp"):
        assert expected[1] == ({"a": [1, "x"]}, datetime.fromtimestamp(1_700_000_000, UTC))
    other_salt = "cookie-session" if salt == "another salt" else "another salt"
    assert _outcome(functools.partial(ours.loads, cookie, salt=other_salt, **options))[0] == "refused"


def test_cookie_compressed_only_when_long() -> None:
    ours = _ours(["key"])
    assert not ours.dumps({"count": 2}).startswith(".")
    assert ours.dumps({"text": "a" * 500}).startswith(".")
    assert not ours.dumps({"random": uuid.uuid4().hex}).startswith(".")


class _Sha256Interface(SecureCookieSessionInterface):
    digest_method = staticmethod(hashlib.sha256)


class _ConcatInterface(SecureCookieSessionInterface):
    key_derivation = "concat"


class _SaltInterface(SecureCookieSessionInterface):
    salt = "other salt"


@pytest.mark.parametrize("interface_class", [_Sha256Interface, _ConcatInterface, _SaltInterface])
def test_kept_derived_keys_never_mix_settings(interface_class: type[SecureCookieSessionInterface]) -> None:
    # Derived keys are kept by key and settings: a cookie signed under one
    # setting never verifies under another, whichever was derived first.
    default, other = _ours(["key"]), _ours(["key"], interface_class())
    for first, second in ((default, other), (other, default)):
        cookie = first.dumps({"a": 1})
        assert first.loads(cookie) == {"a": 1}
        assert _outcome(functools.partial(second.loads, cookie))[0] == "refused"
    assert _outcome(lambda: _ours(["other key"]).loads(default.dumps({"a": 1})))[0] == "refused"


class _OldDigestInterface(SecureCookieSessionInterface):
    """Reads cookies signed with SHA-256 too, through itsdangerous' fallback signers."""

    def get_signing_serializer(self, app: Microframe) -> URLSafeTimedSerializer | None:
        serializer = super().get_signing_serializer(app)
        assert serializer is not None
        return URLSafeTimedSerializer(
            serializer.secret_keys,
            salt=self.salt,
            serializer=self.serializer,
            signer=type(serializer.make_signer()),
            signer_kwargs=serializer.signer_kwargs,
            fallback_signers=[{"key_derivation": "hmac", "digest_method": hashlib.sha256}],
        )


async def test_fallback_signers_keep_working(app: Microframe) -> None:
    app.session_interface = _OldDigestInterface()

    @app.get("/")
    async def read() -> str:
        return str(session.get("user"))

    old = _reference(["test secret key"], digest_method=hashlib.sha256).dumps({"user": "ada"})
    client = app.test_client()
    client.set_cookie("session", old)
    assert await (await client.get("/")).get_data(as_text=True) == "ada"
    client.set_cookie("session", _reference(["test secret key"]).dumps({"user": "bob"}))
    assert await (await client.get("/")).get_data(as_text=True) == "bob"
    client.set_cookie("session", _reference(["another key"]).dumps({"user": "eve"}))
    assert await (await client.get("/")).get_data(as_text=True) == "None"


# -- the Set-Cookie and Vary headers ----------------------------------------------------


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"SESSION_COOKIE_DOMAIN": ".Example.test", "SESSION_COOKIE_PATH": "/a b;c"},
        {"SESSION_COOKIE_SECURE": True, "SESSION_COOKIE_HTTPONLY": False},
        {"SESSION_COOKIE_SAMESITE": "lax", "SESSION_COOKIE_PARTITIONED": True},
        {"SESSION_COOKIE_SAMESITE": "None", "SESSION_COOKIE_SECURE": True},
        {"SESSION_COOKIE_NAME": "naïve"},
    ],
)
@pytest.mark.parametrize("permanent", [False, True])
async def test_set_cookie_as_dump_cookie(
    app: Microframe, settings: dict[str, Any], permanent: bool
) -> None:
    app.config.update(settings)

    @app.post("/")
    async def store() -> str:
        session.permanent = permanent
        session["a"] = 1
        return "ok"

    frozen = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    with mock.patch("microframe.sessions.datetime") as clock:
        clock.now.return_value = frozen
        response = await app.test_client().post("/")
    interface = app.session_interface
    name = interface.get_cookie_name(app)
    header = _set_cookie(response)
    assert header is not None
    value = header.partition(";")[0].partition("=")[2]
    assert _reference(["test secret key"]).loads(value) == {"a": 1, "_permanent": permanent}
    expected = dump_cookie(
        name,
        value,
        expires=frozen + app.permanent_session_lifetime if permanent else None,
        domain=interface.get_cookie_domain(app),
        path=interface.get_cookie_path(app),
        secure=interface.get_cookie_secure(app),
        httponly=interface.get_cookie_httponly(app),
        samesite=interface.get_cookie_samesite(app),
        partitioned=interface.get_cookie_partitioned(app),
    )
    assert header == expected


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
