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
import zlib
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from itsdangerous import (
    BadData,
    BadPayload,
    BadSignature,
    SignatureExpired,
    TimestampSigner,
    URLSafeTimedSerializer,
)
from itsdangerous.encoding import base64_decode, base64_encode, bytes_to_int, int_to_bytes
from itsdangerous.signer import HMACAlgorithm
from werkzeug.datastructures import CallbackDict
from werkzeug.http import dump_cookie, http_date
from werkzeug.sansio.response import Response as SansIOResponse

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


class _CookieCodec:
    """Writes and reads the cookies of one :class:`URLSafeTimedSerializer`,
    as it does (but for not compressing short payloads).

    itsdangerous builds a new signer and derives the key again (an HMAC of the
    secret) on every ``dumps`` and ``loads``, through several layers of calls:
    that was most of the cost of a request using the session. Here the derived
    keys are kept, as HMAC objects ready to be copied. A codec is only made
    for a serializer set up as the session interface sets it up (see
    :meth:`fits`); any other goes through itsdangerous.
    """

    __slots__ = ("_macs", "_serializer", "_signer")

    def __init__(self, serializer: URLSafeTimedSerializer) -> None:
        signer = serializer.make_signer()
        assert isinstance(signer, TimestampSigner)
        digest = signer.algorithm.digest_method  # type: ignore[attr-defined]
        #: One HMAC per key, newest (the signing key) first.
        self._macs = [
            hmac.new(signer.derive_key(key), digestmod=digest)
            for key in reversed(serializer.secret_keys)
        ]
        self._serializer: Any = serializer.serializer
        # Its clock is used, so that whatever patches itsdangerous' clock
        # (tests of expiry do) patches this one too.
        self._signer = signer

    @staticmethod
    def fits(serializer: URLSafeTimedSerializer) -> bool:
        """Whether ``serializer`` works exactly as this codec assumes."""
        signer = serializer.make_signer()
        return (
            type(serializer) is URLSafeTimedSerializer
            and serializer.is_text_serializer
            and not serializer.serializer_kwargs
            and not serializer.fallback_signers
            and type(signer) is TimestampSigner
            and type(signer.algorithm) is HMACAlgorithm
            and signer.sep == b"."
        )

    def _sign(self, value: bytes) -> bytes:
        mac = self._macs[0].copy()
        mac.update(value)
        return value + b"." + base64_encode(mac.digest())

    def _verify(self, value: bytes, signature: bytes) -> bool:
        expected = base64_decode(signature)
        for template in self._macs:
            mac = template.copy()
            mac.update(value)
            if hmac.compare_digest(expected, mac.digest()):
                return True
        return False

    def dumps(self, obj: Any) -> str:
        """Serialise, compress if worth it, and sign ``obj``, as itsdangerous does."""
        data = self._serializer.dumps(obj).encode()
        payload = None
        # Setting zlib up costs more than signing; for a short payload it
        # could save a few bytes at best. Left uncompressed, the cookie
        # still loads everywhere (compression is marked in the cookie).
        if len(data) >= _COMPRESS_FROM:
            compressed = zlib.compress(data)
            if len(compressed) < len(data) - 1:
                payload = b"." + base64_encode(compressed)
        if payload is None:
            payload = base64_encode(data)
        stamp = base64_encode(int_to_bytes(self._signer.get_timestamp()))
        return self._sign(payload + b"." + stamp).decode()

    def loads(self, cookie: str, max_age: int) -> Any:
        """Verify ``cookie`` (signed by any key, at most ``max_age`` seconds
        ago) and return its data.

        :raises itsdangerous.BadData: (or :exc:`ValueError`) for a cookie
            itsdangerous would refuse.
        """
        value, sep, signature = cookie.encode().rpartition(b".")
        if not sep or not self._verify(value, signature):
            raise BadSignature("The signature does not match")
        payload, sep, stamp = value.rpartition(b".")
        if not sep:
            raise BadSignature("The timestamp is missing")
        age = self._signer.get_timestamp() - bytes_to_int(base64_decode(stamp))
        if age > max_age or age < 0:
            raise SignatureExpired(f"Signature age {age} is not within 0..{max_age} seconds")
        try:
            compressed = payload[:1] == b"."
            data = zlib.decompress(base64_decode(payload[1:])) if compressed else base64_decode(payload)
            return self._serializer.loads(data.decode())
        except Exception as error:  # as itsdangerous: any failure means a bad payload
            raise BadPayload("Could not load the payload", original_error=error) from error


# Payloads shorter than this are not compressed (see _CookieCodec.dumps).
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
    """Keeps the session in a cookie signed with ``SECRET_KEY`` (the default)."""

    salt = "cookie-session"
    digest_method = staticmethod(hashlib.sha1)
    key_derivation = "hmac"
    serializer = session_json_serializer
    session_class = SecureCookieSession

    def __init__(self) -> None:
        self._signing: dict[tuple[Any, ...], tuple[URLSafeTimedSerializer, _CookieCodec | None]] = {}

    def _signing_for(
        self, app: Microframe
    ) -> tuple[URLSafeTimedSerializer, _CookieCodec | None] | None:
        # The serializer (and its codec) are built once per key set and
        # settings: they are immutable, and building them costs more than
        # signing a cookie.
        secret_key = app.secret_key
        if not secret_key:
            return None
        fallbacks = app.config["SECRET_KEY_FALLBACKS"]
        key = (
            secret_key,
            tuple(fallbacks or ()),
            self.salt,
            self.serializer,
            self.key_derivation,
            self.digest_method,
        )
        signing = self._signing.get(key)
        if signing is None:
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
            codec = _CookieCodec(serializer) if _CookieCodec.fits(serializer) else None
            signing = (serializer, codec)
            if len(self._signing) >= 8:
                self._signing.clear()
            self._signing[key] = signing
        return signing

    def get_signing_serializer(self, app: Microframe) -> URLSafeTimedSerializer | None:
        """Return the itsdangerous serializer, or ``None`` without ``SECRET_KEY``."""
        signing = self._signing_for(app)
        return None if signing is None else signing[0]

    def _cookie_signer(self, app: Microframe) -> _CookieCodec | URLSafeTimedSerializer | None:
        # What signs and reads cookies: the fast codec, unless a subclass
        # provides its own serializer (or the settings need itsdangerous).
        if type(self).get_signing_serializer is not _GET_SIGNING_SERIALIZER:
            return self.get_signing_serializer(app)
        signing = self._signing_for(app)
        if signing is None:
            return None
        return signing[1] or signing[0]

    def open_session(self, app: Microframe, request: Request) -> SecureCookieSession | None:
        """Read and verify the cookie; anything invalid gives an empty session."""
        serializer = self._cookie_signer(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            session = self.session_class()
            session.new = True
            return session
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            data = serializer.loads(value, max_age)
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
        serializer = self._cookie_signer(app)
        assert serializer is not None
        value = serializer.dumps(dict(session))
        expires = self.get_expiration_time(app, session)
        if isinstance(serializer, _CookieCodec) and type(response).set_cookie is _SET_COOKIE:
            # The codec's values never need quoting, so the header can be
            # built from a template (see _cookie_header).
            header = _cookie_header(
                name, value, expires, domain, path, secure, httponly, samesite, partitioned,
                response.max_cookie_size,
            )
        else:
            header = None
        if header is not None:
            response.headers.add("Set-Cookie", header)
        else:
            response.set_cookie(
                name,
                value,
                expires=expires,
                httponly=httponly,
                domain=domain,
                path=path,
                secure=secure,
                partitioned=partitioned,
                samesite=samesite,
            )
        if not varied:
            _vary_on_cookie(response)


def _vary_on_cookie(response: Response) -> None:
    # response.vary parses the header into a set and writes it back, which
    # costs more than signing the cookie; without a Vary header yet, adding
    # one gives the same header.
    if response.headers.getlist("Vary"):
        response.vary.add("Cookie")
    else:
        response.headers.add("Vary", "Cookie")


# A stand-in value: dump_cookie builds a template around it once per
# settings, and only the value changes from one response to the next.
_VALUE_MARK = "microframe-session-value"
# (head, tail) around the value by settings; () where dump_cookie must be used.
_cookie_templates: dict[tuple[Any, ...], tuple[str, ...]] = {}


def _cookie_header(
    name: str,
    value: str,
    expires: Any,
    domain: str | None,
    path: str,
    secure: bool,
    httponly: bool,
    samesite: str | None,
    partitioned: bool,
    max_size: int,
) -> str | None:
    """Return the ``Set-Cookie`` header :func:`~werkzeug.http.dump_cookie`
    would build for ``value``, or ``None`` when it must build it itself.

    ``value`` must be one that needs no quoting (URL-safe base64 and dots).
    A header over ``max_size`` bytes (``0``: no limit) is left to
    ``dump_cookie``, which warns that browsers will drop it.
    """
    if expires is not None and not isinstance(expires, str):
        expires = http_date(expires)
    key = (name, expires, domain, path, secure, httponly, samesite, partitioned)
    template = _cookie_templates.get(key)
    if template is None:
        sample = dump_cookie(
            name,
            _VALUE_MARK,
            expires=expires,
            domain=domain,
            path=path,
            secure=secure,
            httponly=httponly,
            samesite=samesite,
            partitioned=partitioned,
        )
        head, _, tail = sample.partition(_VALUE_MARK)
        template = (head, tail) if sample.count(_VALUE_MARK) == 1 else ()
        if len(_cookie_templates) >= 32:  # Expires changes every second
            _cookie_templates.clear()
        _cookie_templates[key] = template
    if not template:
        return None
    head, tail = template
    if max_size and len(head) + len(value) + len(tail) > max_size:
        return None  # dump_cookie warns about it
    return f"{head}{value}{tail}"


_GET_SIGNING_SERIALIZER = SecureCookieSessionInterface.get_signing_serializer
_SET_COOKIE = SansIOResponse.set_cookie

__all__ = [
    "NullSession",
    "SecureCookieSession",
    "SecureCookieSessionInterface",
    "SessionInterface",
    "SessionMixin",
    "session_json_serializer",
]
