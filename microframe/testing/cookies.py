"""The test client's cookies: kept from responses, sent with matching requests.

As werkzeug's test client keeps them (since werkzeug 2.3): each cookie is
known by its domain, path and decoded name; it is sent to its own host (or,
when the response named a ``Domain``, to that domain's subdomains too) for
paths under its own. Values are kept and sent as the server wrote them, so
a quoted value stays quoted. Like a browser, the jar drops a cookie once its
``Max-Age`` or ``Expires`` has passed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from werkzeug.http import parse_cookie, parse_date


@dataclass
class Cookie:
    """A cookie in the test client's jar, as :meth:`MicroframeClient.get_cookie
    <microframe.testing.MicroframeClient.get_cookie>` returns it.

    The attributes are those of werkzeug's test client cookie.
    """

    #: The name as the client sees (and sends) it.
    key: str
    #: The value as the client sees (and sends) it, quotes included.
    value: str
    #: The name as the app set it and reads it.
    decoded_key: str
    #: The value as the app set it and reads it.
    decoded_value: str
    #: When the cookie stops being valid (``Expires``), or ``None``.
    expires: datetime | None
    #: Seconds from being set until it stops being valid (``Max-Age``), or ``None``.
    max_age: int | None
    #: The domain it was set for: the ``Domain`` parameter or the request's host.
    domain: str
    #: ``True`` when sent to ``domain`` only (no ``Domain`` parameter was given).
    origin_only: bool
    #: The path it is sent for (and below).
    path: str
    #: The ``Secure`` parameter.
    secure: bool | None
    #: The ``HttpOnly`` parameter.
    http_only: bool | None
    #: The ``SameSite`` parameter.
    same_site: str | None
    #: When the jar took the cookie, the start of ``max_age``.
    received: datetime = field(default_factory=lambda: datetime.now(UTC), repr=False)

    @classmethod
    def from_set_cookie(cls, header: str, host: str, request_path: str) -> Cookie:
        """Parse a ``Set-Cookie`` header received for ``host`` and ``request_path``."""
        pair, _, parameters = header.partition(";")
        key, _, value = pair.partition("=")
        decoded = parse_cookie(pair)
        decoded_key, decoded_value = next(iter(decoded.items()), (key.strip(), value.strip()))
        params: dict[str, str | None] = {}
        for item in parameters.split(";"):
            name, has_value, setting = item.partition("=")
            params[name.strip().lower()] = setting.strip() if has_value else None
        domain = (params.get("domain") or "").lstrip(".").lower()
        return cls(
            key=key.strip(),
            value=value.strip(),
            decoded_key=decoded_key,
            decoded_value=decoded_value,
            expires=parse_date(params.get("expires")),
            max_age=_max_age(params),
            domain=domain or host.lower(),
            origin_only=not domain,
            # RFC 6265 5.1.4: without a Path, the request path's directory.
            path=params.get("path") or request_path.rpartition("/")[0] or "/",
            secure="secure" in params,
            http_only="httponly" in params,
            same_site=params.get("samesite"),
        )

    @property
    def name(self) -> str:
        """The name as the app set it: Quart's client keeps :mod:`http.cookiejar`
        cookies, whose name is ``name`` (werkzeug's is :attr:`decoded_key`)."""
        return self.decoded_key

    @property
    def storage_key(self) -> tuple[str, str, str]:
        """``(domain, path, decoded_key)``: a cookie of the same key replaces this one."""
        return self.domain, self.path, self.decoded_key

    def expired(self, now: datetime | None = None) -> bool:
        """Whether the cookie is no longer valid (``Max-Age`` wins over ``Expires``)."""
        if self.max_age is not None:
            if self.max_age <= 0:
                return True
            now = now or datetime.now(UTC)
            return self.received + timedelta(seconds=self.max_age) <= now
        if self.expires is None:
            return False
        return self.expires <= (now or datetime.now(UTC))

    def matches(self, host: str, path: str) -> bool:
        """Whether the cookie is sent with a request to ``host`` and ``path``."""
        return self._matches_domain(host.lower()) and self._matches_path(path or "/")

    def _matches_domain(self, host: str) -> bool:
        if host == self.domain:
            return True
        return not self.origin_only and host.endswith("." + self.domain)

    def _matches_path(self, path: str) -> bool:
        own = self.path
        if path == own:
            return True
        # RFC 6265 5.1.4: a prefix at a "/" boundary.
        return path.startswith(own) and (own.endswith("/") or path[len(own)] == "/")

    def request_pair(self) -> str:
        """The cookie as it goes in a request's ``Cookie`` header."""
        return f"{self.key}={self.value}"


def _max_age(params: dict[str, str | None]) -> int | None:
    if "max-age" not in params:
        return None
    try:
        return int(params["max-age"] or 0)
    except ValueError:
        return None


def cookie_origin(environ: Mapping[str, Any]) -> tuple[str, str]:
    """Return the host name (no port) and full path a WSGI environ requests.

    The cookies sent with the request are chosen by them, and the cookies of
    its response are kept for them.
    """
    host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME") or "localhost"
    # "[::1]:8080" is an IPv6 address and a port.
    name = host[1 : host.find("]")] if host.startswith("[") else host.partition(":")[0]
    # As the request's URL has it: a relative path ("login") is under the root.
    script, path_info = environ.get("SCRIPT_NAME", ""), environ.get("PATH_INFO", "")
    path = f"{script.rstrip('/')}/{path_info.lstrip('/')}" if script or path_info else ""
    # WSGI strings carry the path's bytes as latin-1.
    return name.lower(), path.encode("latin-1", "replace").decode(errors="replace") or "/"


class CookieJar:
    """The cookies a test client keeps, by :attr:`Cookie.storage_key`.

    Iterating gives the cookies that are still valid.
    """

    def __init__(self) -> None:
        self.cookies: dict[tuple[str, str, str], Cookie] = {}

    def __iter__(self) -> Iterator[Cookie]:
        self._drop_expired()
        return iter(list(self.cookies.values()))

    def __len__(self) -> int:
        self._drop_expired()
        return len(self.cookies)

    def get(self, key: str, domain: str, path: str) -> Cookie | None:
        """Return the valid cookie ``key`` set for ``domain`` and ``path``, or ``None``."""
        cookie = self.cookies.get((domain.lstrip(".").lower(), path, key))
        if cookie is None or cookie.expired():
            return None
        return cookie

    def set(self, cookie: Cookie) -> None:
        """Store ``cookie``, or remove the one it replaces if it has expired."""
        if cookie.expired():
            self.cookies.pop(cookie.storage_key, None)
        else:
            self.cookies[cookie.storage_key] = cookie

    def delete(self, key: str, domain: str, path: str) -> None:
        """Remove the cookie ``key`` set for ``domain`` and ``path``, if any."""
        self.cookies.pop((domain.lstrip(".").lower(), path, key), None)

    def update_from(self, headers: Iterable[str], host: str, path: str) -> None:
        """Store the cookies of a response's ``Set-Cookie`` header values."""
        for header in headers:
            self.set(Cookie.from_set_cookie(header, host, path))

    def header_for(self, host: str, path: str) -> str | None:
        """Return the ``Cookie`` header for a request to ``host`` and ``path``, or ``None``."""
        self._drop_expired()
        host = host.lower()
        pairs = [c.request_pair() for c in self.cookies.values() if c.matches(host, path)]
        return "; ".join(pairs) if pairs else None

    def _drop_expired(self) -> None:
        now = datetime.now(UTC)
        for key in [key for key, cookie in self.cookies.items() if cookie.expired(now)]:
            del self.cookies[key]


def flask_set_cookie_args(
    key: str,
    value: str = "",
    *,
    domain: str = "localhost",
    origin_only: bool = True,
    path: str = "/",
    **kwargs: object,
) -> tuple[str, str, str, dict[str, object], bool]:
    """Flask's ``set_cookie`` arguments: ``(host, key, value, options, origin_only)``."""
    return domain, key, value, {"domain": domain, "path": path, **kwargs}, origin_only


def quart_set_cookie_args(
    server_name: str | None,
    key: str,
    value: str = "",
    max_age: timedelta | int | None = None,
    expires: str | datetime | float | None = None,
    path: str = "/",
    domain: str | None = None,
    secure: bool = False,
    httponly: bool = False,
    samesite: str | None = None,
    charset: str = "utf-8",
) -> tuple[str | None, str, str, dict[str, Any], bool]:
    """Quart's ``set_cookie`` arguments: ``(host, key, value, options, origin_only)``."""
    options = {
        "max_age": max_age, "expires": expires, "path": path, "domain": domain,
        "secure": secure, "httponly": httponly, "samesite": samesite,
    }
    return server_name, key, value, options, domain is None


def flask_delete_cookie_args(
    key: str, *, domain: str = "localhost", path: str = "/"
) -> tuple[str, str, str]:
    """Flask's ``delete_cookie`` arguments: ``(key, domain, path)``."""
    return key, domain, path


def quart_delete_cookie_args(
    server_name: str | None, key: str, path: str = "/", domain: str | None = None, **kwargs: object
) -> tuple[str, str | None, str]:
    """Quart's ``delete_cookie`` arguments: ``(key, domain, path)``."""
    return key, domain or server_name, path


__all__ = [
    "Cookie",
    "CookieJar",
    "cookie_origin",
    "flask_delete_cookie_args",
    "flask_set_cookie_args",
    "quart_delete_cookie_args",
    "quart_set_cookie_args",
]
