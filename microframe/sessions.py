"""Sessions: the ``session`` global's storage, pluggable through
:attr:`Microframe.session_interface <microframe.app.Microframe.session_interface>`.

The default keeps the session in a cookie signed with ``SECRET_KEY``
(itsdangerous), serialised as tagged JSON so tuples, bytes, datetimes, UUIDs
and Markup round-trip. A tampered, expired or foreign cookie gives an empty
session, never an error. Old keys in ``SECRET_KEY_FALLBACKS`` are still
accepted, so keys can be rotated.

A server-side store plugs in by subclassing :class:`SessionInterface`;
``open_session`` and ``save_session`` may be coroutine functions.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Coroutine, Generator, MutableMapping
from datetime import UTC, datetime
from inspect import isawaitable
from typing import TYPE_CHECKING, Any, cast

from itsdangerous import (
    BadData,
    HMACAlgorithm,
    Serializer,
    TimestampSigner,
    URLSafeTimedSerializer,
    want_bytes,
)
from itsdangerous.encoding import base64_encode
from werkzeug.datastructures import CallbackDict

from .json.tag import TaggedJSONSerializer
from .sync import ReadyValue, in_sync_code, run_async

if TYPE_CHECKING:
    from .app import Microframe
    from .ctx import RequestContext, WebsocketContext
    from .wrappers import Request, Response


class SessionMixin(MutableMapping[str, Any]):
    """What every session object offers on top of a mutable mapping."""

    #: Whether the session is new (no valid cookie came with the request).
    new = False
    #: Whether the session changed; the interface saves it only then.
    modified = True
    #: Whether the session was read; adds ``Vary: Cookie`` to the response.
    accessed = True

    @property
    def permanent(self) -> bool:
        """Whether the cookie outlives the browser session (``PERMANENT_SESSION_LIFETIME``)."""
        return bool(self.get("_permanent", False))

    @permanent.setter
    def permanent(self, value: bool) -> None:
        self["_permanent"] = bool(value)


class SecureCookieSession(CallbackDict[str, Any], SessionMixin):
    """The session of :class:`SecureCookieSessionInterface`: a dict that notes changes."""

    modified = False
    accessed = False

    def __init__(self, initial: Any = None) -> None:
        def on_update(session: SecureCookieSession) -> None:
            session.modified = True
            session.accessed = True

        super().__init__(initial, on_update)

    def __getitem__(self, key: str) -> Any:
        self.accessed = True
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        """Return ``session[key]`` or ``default``, noting the access."""
        self.accessed = True
        return super().get(key, default)

    def setdefault(self, key: str, default: Any = None) -> Any:
        """Return ``session[key]``, setting it to ``default`` first if missing."""
        self.accessed = True
        return super().setdefault(key, default)

    def __await__(self) -> Generator[None, None, SecureCookieSession]:
        """Awaiting the session gives the session: the stock interface's
        ``open_session`` is Flask's (a plain call) and Quart's (``await``) at once."""
        return self
        yield  # a generator that finishes at once


class NullSession(SecureCookieSession):
    """The session used when none can be opened (no ``SECRET_KEY``).

    Reading works and finds nothing; writing raises a clear error.
    """

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(
            "The session is unavailable because no secret key was set. Set the"
            " secret_key on the application to something unique and secret."
        )

    __setitem__ = __delitem__ = clear = pop = popitem = update = setdefault = _fail


class _KeyedHMACAlgorithm(HMACAlgorithm):
    """itsdangerous' :class:`~itsdangerous.signer.HMACAlgorithm`, keeping an
    HMAC already keyed for each key it signs with.

    ``hmac.new`` sets the key up for every signature (with OpenSSL 3 it also
    looks the digest up again); copying an HMAC keyed once gives the same
    signature for less (about 1.4 µs against 2-4 µs for ``hmac.new`` on the
    benchmark machine).
    """

    def __init__(self, digest_method: Any = None) -> None:
        super().__init__(digest_method)
        self._keyed: dict[bytes, hmac.HMAC] = {}

    def get_signature(self, key: bytes, value: bytes) -> bytes:
        """Return the HMAC of ``value`` under ``key``."""
        keyed = self._keyed.get(key)
        if keyed is None:
            # At most one entry per key of the signer that owns this algorithm.
            keyed = self._keyed[key] = hmac.new(key, digestmod=self.digest_method)
        mac = keyed.copy()
        mac.update(value)
        return mac.digest()


class _KeyCachingSigner(TimestampSigner):
    """itsdangerous' :class:`~itsdangerous.TimestampSigner`, keeping its derived keys.

    Every ``sign`` and ``unsign`` derives the key again from the secret and
    the salt (an HMAC, with Flask's ``key_derivation="hmac"``); the signer's
    settings never change, so each key is derived once per signer instead,
    and signs through a :class:`_KeyedHMACAlgorithm` unless given another
    algorithm. Signing, verifying and the cookie format stay itsdangerous' own.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._derived: dict[bytes, bytes] = {}
        if type(self.algorithm) is HMACAlgorithm:  # itsdangerous' own, given or by default
            self.algorithm = _KeyedHMACAlgorithm(self.algorithm.digest_method)

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        """Return the key derived from ``secret_key`` (default: the newest), once per key."""
        secret = self.secret_keys[-1] if secret_key is None else want_bytes(secret_key)
        derived = self._derived.get(secret)
        if derived is None:
            # At most one entry per key: the keys are fixed with the signer.
            derived = self._derived[secret] = super().derive_key(secret)
        return derived


class _SessionSerializer(URLSafeTimedSerializer):
    """itsdangerous' :class:`~itsdangerous.URLSafeTimedSerializer`, with one
    signer kept and short payloads left uncompressed.

    The serializer makes a new signer for every ``dumps`` and ``loads``
    (about 2 µs, and it would forget its derived keys); a signer holds only
    its settings, so the one for the serializer's own salt is made once.

    itsdangerous tries zlib on every payload, and setting zlib up (it
    allocates and touches some 256 kB) costs more than the rest of a request
    (about 70 µs, against 1-2 µs to encode a short payload); below
    :data:`_COMPRESS_FROM` bytes it could save a few bytes at best. An
    uncompressed payload is one itsdangerous itself writes when compression
    does not pay, so the cookie loads in itsdangerous and in Flask as before.
    """

    _signer: TimestampSigner | None = None

    def make_signer(self, salt: str | bytes | None = None) -> TimestampSigner:
        """Return the signer for ``salt``: for the serializer's own, always the same one."""
        if salt is not None and want_bytes(salt) != self.salt:
            return cast("TimestampSigner", super().make_signer(salt))
        signer = self._signer
        if signer is None:
            signer = self._signer = cast("TimestampSigner", super().make_signer())
        return signer

    def loads(  # type: ignore[override]  # itsdangerous' own signature
        self,
        s: str | bytes,
        max_age: int | None = None,
        return_timestamp: bool = False,
        salt: str | bytes | None = None,
    ) -> Any:
        """Verify ``s`` (and its age, with ``max_age``) and return its payload,
        with the signing time if ``return_timestamp`` is true.

        itsdangerous' ``loads`` tries each fallback signer in turn and always
        builds the signing time as a datetime. This serializer has no
        fallback signers (older keys are its signer's own), so there is one
        signer to try, and the time is built only when asked for.
        """
        signer = self.make_signer(salt)
        if return_timestamp:
            value, timestamp = signer.unsign(s, max_age, return_timestamp=True)
            return self.load_payload(value), timestamp
        return self.load_payload(signer.unsign(s, max_age))

    def dump_payload(self, obj: Any) -> bytes:
        """Serialise ``obj`` and encode it, compressed only when long enough to gain."""
        data = Serializer.dump_payload(self, obj)  # serialised, not yet encoded
        if len(data) < _COMPRESS_FROM:
            return base64_encode(data)
        # itsdangerous' own compress-if-smaller (it serialises once more:
        # a few µs beside zlib's cost).
        return super().dump_payload(obj)


# Payloads shorter than this are not compressed (see _SessionSerializer).
_COMPRESS_FROM = 64


class SessionInterface:
    """The interface the app uses to open and save sessions.

    Subclass it and set ``app.session_interface`` to store sessions
    elsewhere. ``open_session`` returns a session object (or ``None`` for a
    null session); ``save_session`` writes it to the response. Both may be
    ``async def``.
    """

    null_session_class: type[SessionMixin] = NullSession
    pickle_based = False

    def make_null_session(self, app: Microframe) -> SessionMixin:
        """Return the session used when a real one cannot be opened."""
        return self.null_session_class()

    def is_null_session(self, obj: object) -> bool:
        """Return ``True`` if ``obj`` is a null session."""
        return isinstance(obj, self.null_session_class)

    def get_cookie_name(self, app: Microframe) -> str:
        """``SESSION_COOKIE_NAME``."""
        return str(app.config["SESSION_COOKIE_NAME"])

    def get_cookie_domain(self, app: Microframe) -> str | None:
        """``SESSION_COOKIE_DOMAIN``, or ``None`` for the request's host only."""
        return app.config["SESSION_COOKIE_DOMAIN"] or None

    def get_cookie_path(self, app: Microframe) -> str:
        """``SESSION_COOKIE_PATH``, else ``APPLICATION_ROOT``."""
        return str(app.config["SESSION_COOKIE_PATH"] or app.config["APPLICATION_ROOT"])

    def get_cookie_httponly(self, app: Microframe) -> bool:
        """``SESSION_COOKIE_HTTPONLY``."""
        return bool(app.config["SESSION_COOKIE_HTTPONLY"])

    def get_cookie_secure(self, app: Microframe) -> bool:
        """``SESSION_COOKIE_SECURE``."""
        return bool(app.config["SESSION_COOKIE_SECURE"])

    def get_cookie_samesite(self, app: Microframe) -> str | None:
        """``SESSION_COOKIE_SAMESITE``."""
        value = app.config["SESSION_COOKIE_SAMESITE"]
        return str(value) if value else None

    def get_cookie_partitioned(self, app: Microframe) -> bool:
        """``SESSION_COOKIE_PARTITIONED``."""
        return bool(app.config["SESSION_COOKIE_PARTITIONED"])

    def get_expiration_time(self, app: Microframe, session: SessionMixin) -> datetime | None:
        """When a permanent session's cookie expires; ``None`` for a browser session."""
        if session.permanent:
            return datetime.now(UTC) + app.permanent_session_lifetime
        return None

    def should_set_cookie(self, app: Microframe, session: SessionMixin) -> bool:
        """Whether to send the cookie: when modified, or refreshed when permanent."""
        return session.modified or (
            session.permanent and bool(app.config["SESSION_REFRESH_EACH_REQUEST"])
        )

    def open_session(self, app: Microframe, request: Request) -> SessionMixin | None:
        """Load the session for ``request``; override in a subclass."""
        return None

    def save_session(self, app: Microframe, session: SessionMixin, response: Response) -> None:
        """Write ``session`` to ``response``; override in a subclass."""


#: The serializer of session cookies: JSON with tags for the types JSON lacks
#: (tuples, bytes, datetimes, UUIDs, Markup).
session_json_serializer = TaggedJSONSerializer()


class SecureCookieSessionInterface(SessionInterface):
    """Keeps the session in a cookie signed with ``SECRET_KEY`` (the default).

    The cookie is itsdangerous' :class:`~itsdangerous.URLSafeTimedSerializer`
    format with Flask's settings (salt ``"cookie-session"``, HMAC key
    derivation, SHA-1), so Flask and microframe apps sharing a secret key
    read each other's session cookies. Keys in ``SECRET_KEY_FALLBACKS`` are
    accepted as well; the newest key signs.
    """

    salt = "cookie-session"
    digest_method = staticmethod(hashlib.sha1)
    key_derivation = "hmac"
    serializer = session_json_serializer
    session_class = SecureCookieSession

    def __init__(self) -> None:
        self._serializers: dict[tuple[Any, ...], URLSafeTimedSerializer] = {}

    def get_signing_serializer(self, app: Microframe) -> URLSafeTimedSerializer | None:
        """Return the itsdangerous serializer, or ``None`` without ``SECRET_KEY``."""
        secret_key = app.secret_key
        if not secret_key:
            return None
        # Serializers are kept by key set and settings: they are immutable,
        # and building one costs about as much as signing a cookie.
        fallbacks = app.config["SECRET_KEY_FALLBACKS"]
        settings = (
            secret_key,
            tuple(fallbacks) if fallbacks else (),
            self.salt,
            self.serializer,
            self.key_derivation,
            self.digest_method,
        )
        serializer = self._serializers.get(settings)
        if serializer is None:
            serializer = _SessionSerializer(
                [want_bytes(key) for key in (*settings[1], secret_key)],  # the last key signs
                salt=self.salt,
                serializer=self.serializer,
                signer=_KeyCachingSigner,
                signer_kwargs={
                    "key_derivation": self.key_derivation,
                    "digest_method": self.digest_method,
                },
            )
            if len(self._serializers) >= 8:
                self._serializers.clear()
            self._serializers[settings] = serializer
        return serializer

    def open_session(self, app: Microframe, request: Request) -> SecureCookieSession | None:
        """Read and verify the cookie; anything invalid gives an empty session."""
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            session = self.session_class()
            session.new = True
            return session
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            data = serializer.loads(value, max_age=max_age)
        except (BadData, ValueError, TypeError, KeyError, OverflowError, RecursionError):
            # The cookie comes from the client: whatever is wrong with it
            # (tampered, expired, another app's, cut short) it is ignored.
            return self.session_class()
        if not isinstance(data, dict):
            return self.session_class()
        return self.session_class(data)

    def save_session(self, app: Microframe, session: SessionMixin, response: Response) -> Any:
        """Set, refresh or delete the session cookie as the session requires.

        The cookie goes through ``response.set_cookie``, so werkzeug warns
        when it is larger than ``MAX_COOKIE_SIZE`` (browsers drop such cookies).
        Returns ``None``, which async code may ``await`` as Quart's.
        """
        self._save(app, session, response)
        return None if in_sync_code() else _SAVED

    def _save(self, app: Microframe, session: SessionMixin, response: Response) -> None:
        name = self.get_cookie_name(app)
        domain = self.get_cookie_domain(app)
        path = self.get_cookie_path(app)
        secure = self.get_cookie_secure(app)
        partitioned = self.get_cookie_partitioned(app)
        samesite = self.get_cookie_samesite(app)
        httponly = self.get_cookie_httponly(app)
        # "Cookie" is added to Vary once: first if the session was read,
        # else below when the cookie is set or deleted.
        varied = session.accessed
        if varied:
            _vary_on_cookie(response)
        if not session:
            if session.modified:
                response.delete_cookie(
                    name,
                    domain=domain,
                    path=path,
                    secure=secure,
                    partitioned=partitioned,
                    samesite=samesite,
                    httponly=httponly,
                )
                if not varied:
                    _vary_on_cookie(response)
            return
        if not self.should_set_cookie(app, session):
            return
        serializer = self.get_signing_serializer(app)
        assert serializer is not None
        response.set_cookie(
            name,
            serializer.dumps(dict(session)),
            expires=self.get_expiration_time(app, session),
            httponly=httponly,
            domain=domain,
            path=path,
            secure=secure,
            partitioned=partitioned,
            samesite=samesite,
        )
        if not varied:
            _vary_on_cookie(response)


# What save_session returns in async code: awaiting a ReadyValue holds no
# state, so one serves every call.
_SAVED: ReadyValue[None] = ReadyValue(None)


def _vary_on_cookie(response: Response) -> None:
    # response.vary parses the header into a set and writes it back, which
    # costs more than signing the cookie; without a Vary header yet, adding
    # one gives the same header.
    if response.headers.getlist("Vary"):
        response.vary.add("Cookie")
    else:
        response.headers.add("Vary", "Cookie")


# -- opening and saving around a request (called by the app) ------------------------


def open_session_sync(app: Microframe, request: Request) -> SessionMixin:
    """Open the session of ``request`` through ``app.session_interface``, from
    sync code; a null session when the interface opens none.

    An ``async def`` ``open_session`` is run to completion here (on the
    request's loop when called from a worker thread).
    """
    interface = app.session_interface
    session: Any = interface.open_session(app, request)
    if isinstance(session, Coroutine):  # an async def open_session
        session = run_async(session)
    if session is None:
        return interface.make_null_session(app)
    opened: SessionMixin = session
    return opened


async def open_session(app: Microframe, request: Request) -> SessionMixin:
    """Open the session of ``request`` through ``app.session_interface``,
    awaiting an ``async def`` ``open_session``; a null session when it opens none."""
    interface = app.session_interface
    session: Any = interface.open_session(app, request)
    if isinstance(session, Coroutine):  # an async def open_session
        session = await session
    if session is None:
        return interface.make_null_session(app)
    opened: SessionMixin = session
    return opened


async def save_request_session(ctx: RequestContext, response: Response) -> None:
    """Save the session of the request of ``ctx`` to ``response`` through
    ``app.session_interface`` (after the ``after_request`` hooks, as Flask does).

    The session is opened lazily, on first use; one never opened is saved
    only when the request carries the session cookie and
    ``SESSION_REFRESH_EACH_REQUEST`` is set: Flask re-sends a permanent
    session's cookie on every request so that its expiry keeps sliding
    forward, so the session is opened here to decide. A null session is
    never saved.
    """
    app = ctx.app
    if not ctx.session_opened and not (
        app.config["SESSION_REFRESH_EACH_REQUEST"] and carries_session_cookie(app, ctx.request)
    ):
        return
    session = ctx.opened_session()
    interface = app.session_interface
    if interface.is_null_session(session):
        return
    await _save(app, session, response)


async def save_websocket_session(ctx: WebsocketContext, response: Response | None) -> None:
    """Save a websocket's session to the response a handler answered the
    handshake with, as Quart does. An accepted websocket has no response to
    carry a cookie: changes to a cookie session are then lost, and logged."""
    if not ctx.session_opened:
        return
    session = ctx.session
    app = ctx.app
    interface = app.session_interface
    if interface.is_null_session(session):
        return
    if response is None:
        if session.modified and isinstance(session, SecureCookieSession):
            app.logger.warning(
                "The session was changed during a websocket connection; the"
                " change is lost, as a cookie cannot be set once it is accepted."
            )
        return
    await _save(app, session, response)


async def _save(app: Microframe, session: SessionMixin, response: Response) -> None:
    # Typed as returning None, but a subclass may define it with async def
    # (and the stock one returns an awaitable None in async code).
    save: Callable[[Microframe, SessionMixin, Response], object] = app.session_interface.save_session
    result = save(app, session, response)
    # The stock interface's (None, or its ready value in async code) first:
    # isawaitable() goes through the Awaitable ABC, on every saved session.
    if result is not None and result is not _SAVED and isawaitable(result):
        await result


def carries_session_cookie(app: Microframe, request: Request) -> bool:
    """Whether ``request`` carries a cookie named as the session cookie."""
    # A scan of the raw header pairs first: werkzeug's Headers.get builds an
    # exception for a missing header, and parsing cookies for every request
    # would cost more than the rest of a small request.
    cookie_sent = getattr(request, "cookie_sent", None)
    if cookie_sent is not None:
        if not cookie_sent:
            return False
    elif (scope := request.scope) is not None:
        if not any(name == b"cookie" for name, _ in scope["headers"]):
            return False
    elif "Cookie" not in request.headers:
        return False
    name = app.session_interface.get_cookie_name(app)
    return name in request.headers.get("Cookie", "") and name in request.cookies


__all__ = [
    "NullSession",
    "SecureCookieSession",
    "SecureCookieSessionInterface",
    "SessionInterface",
    "SessionMixin",
    "session_json_serializer",
]
