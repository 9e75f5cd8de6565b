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
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from itsdangerous import BadData, URLSafeTimedSerializer
from werkzeug.datastructures import CallbackDict

from .json.tag import TaggedJSONSerializer

if TYPE_CHECKING:
    from .app import Microframe
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


class SecureCookieSessionInterface(SessionInterface):
    """Keeps the session in a cookie signed with ``SECRET_KEY`` (the default)."""

    salt = "cookie-session"
    digest_method = staticmethod(hashlib.sha1)
    key_derivation = "hmac"
    serializer = TaggedJSONSerializer()
    session_class = SecureCookieSession

    def __init__(self) -> None:
        self._serializers: dict[tuple[Any, ...], URLSafeTimedSerializer] = {}

    def get_signing_serializer(self, app: Microframe) -> URLSafeTimedSerializer | None:
        """Return the itsdangerous serializer, or ``None`` without ``SECRET_KEY``."""
        secret_key = app.secret_key
        if not secret_key:
            return None
        fallbacks = app.config["SECRET_KEY_FALLBACKS"]
        # Built once per key set and settings: a serializer is immutable, and
        # building one costs as much as signing a cookie.
        key = (
            secret_key,
            tuple(fallbacks or ()),
            self.salt,
            self.serializer,
            self.key_derivation,
            self.digest_method,
        )
        serializer = self._serializers.get(key)
        if serializer is None:
            keys: list[str | bytes] = [*key[1], secret_key]  # the last key signs
            serializer = URLSafeTimedSerializer(
                keys,  # type: ignore[arg-type]
                salt=self.salt,
                serializer=self.serializer,
                signer_kwargs={
                    "key_derivation": self.key_derivation,
                    "digest_method": self.digest_method,
                },
            )
            if len(self._serializers) >= 8:
                self._serializers.clear()
            self._serializers[key] = serializer
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

    def save_session(self, app: Microframe, session: SessionMixin, response: Response) -> None:
        """Set, refresh or delete the session cookie as the session requires."""
        name = self.get_cookie_name(app)
        domain = self.get_cookie_domain(app)
        path = self.get_cookie_path(app)
        secure = self.get_cookie_secure(app)
        partitioned = self.get_cookie_partitioned(app)
        samesite = self.get_cookie_samesite(app)
        httponly = self.get_cookie_httponly(app)
        # Each response.vary parses the header afresh, so "Cookie" is added
        # once: below only when this did not already add it.
        varied = session.accessed
        if varied:
            response.vary.add("Cookie")
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
                    response.vary.add("Cookie")
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
            response.vary.add("Cookie")


__all__ = [
    "NullSession",
    "SecureCookieSession",
    "SecureCookieSessionInterface",
    "SessionInterface",
    "SessionMixin",
]
