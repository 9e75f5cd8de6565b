"""Honour the ``X-Forwarded-*`` headers set by trusted reverse proxies.

Behind a reverse proxy (nginx, a load balancer, a CDN) the ASGI server sees
the proxy as its client: the scope's ``client`` is the proxy's address, its
``scheme`` is what the proxy spoke to the server (often plain ``http``), and
its ``Host`` header may be an internal name. The proxy reports the original
values in ``X-Forwarded-For``, ``-Proto``, ``-Host``, ``-Port`` and
``-Prefix``. :class:`ProxyFixMiddleware` rewrites the scope from them, so
``request.remote_addr``, ``request.scheme``, ``request.host``,
``url_for(..., _external=True)`` and redirects show what the client used::

    from microframe import Microframe
    from microframe.middleware.proxy_fix import ProxyFixMiddleware

    app = Microframe(__name__)
    # One proxy (say nginx) in front, which sets X-Forwarded-For and -Proto.
    app.asgi_app = ProxyFixMiddleware(app.asgi_app, x_for=1, x_proto=1)

These headers are only as trustworthy as the proxies that set them: anybody
can send ``X-Forwarded-For: 1.2.3.4``. Each proxy *appends* to a header, so
of its comma-separated values only the right-most ones come from your
proxies; the rest came from the client. Each argument is the number of
proxies in front of the app that set that header, and the middleware uses the
value that many places from the right. A header with fewer values than that
is ignored (it cannot have come through all the trusted proxies), and a
value further left is never used. Only enable the headers your proxies
actually set (and overwrite or append to): the defaults trust
``X-Forwarded-For`` from one proxy and nothing else.

The original values are kept in the scope under
``"microframe.proxy_fix.orig"``.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from typing import Any

from ..typing import ASGIApp, ASGIReceiveCallable, ASGISendCallable

ORIG_KEY = "microframe.proxy_fix.orig"

_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}
_WEBSOCKET_SCHEMES = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}
_HTTP_SCHEMES = {"http": "http", "https": "https", "ws": "http", "wss": "https"}


class ProxyFixMiddleware:
    """Rewrite the ASGI scope from ``X-Forwarded-*`` headers of trusted proxies.

    Each ``x_*`` argument is how many proxies in front of the app set (or
    append to) that header; ``0`` ignores the header. The value used is the
    one that many places from the right of the header's comma-separated
    values, and a header with fewer values is ignored.

    :param app: the ASGI app to wrap, usually ``app.asgi_app``.
    :param x_for: proxies setting ``X-Forwarded-For``; rewrites
        ``scope["client"]`` (``request.remote_addr``).
    :param x_proto: proxies setting ``X-Forwarded-Proto``; rewrites
        ``scope["scheme"]`` (``request.scheme``, ``request.is_secure``).
        Only ``http`` and ``https`` (or ``ws``/``wss``) are accepted; a
        websocket scope gets ``ws``/``wss``.
    :param x_host: proxies setting ``X-Forwarded-Host``; rewrites the
        ``Host`` header and ``scope["server"]`` (``request.host``).
    :param x_port: proxies setting ``X-Forwarded-Port``; rewrites the port of
        the ``Host`` header and of ``scope["server"]``.
    :param x_prefix: proxies setting ``X-Forwarded-Prefix``; the path the
        proxy serves the app under (``/blog``), prepended to
        ``scope["root_path"]`` (and to ``path``, which includes it), so that
        ``url_for`` builds URLs below it.

    Scopes other than ``http`` and ``websocket`` (``lifespan``) pass through
    untouched.
    """

    def __init__(
        self,
        app: ASGIApp,
        x_for: int = 1,
        x_proto: int = 0,
        x_host: int = 0,
        x_port: int = 0,
        x_prefix: int = 0,
    ) -> None:
        for name, value in (
            ("x_for", x_for),
            ("x_proto", x_proto),
            ("x_host", x_host),
            ("x_port", x_port),
            ("x_prefix", x_prefix),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a number of proxies (0 or more), not {value!r}.")
        self.app = app
        self.x_for = x_for
        self.x_proto = x_proto
        self.x_host = x_host
        self.x_port = x_port
        self.x_prefix = x_prefix

    async def __call__(
        self, scope: Any, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        if scope.get("type") in ("http", "websocket"):
            scope = self.fix_scope(scope)
        await self.app(scope, receive, send)

    def fix_scope(self, scope: MutableMapping[str, Any]) -> dict[str, Any]:
        """Return a copy of ``scope`` rewritten from the trusted headers.

        The given scope is not changed, so middleware further out still sees
        what the server sent.
        """
        fixed = dict(scope)
        headers: list[tuple[bytes, bytes]] = list(scope.get("headers", ()))
        fixed[ORIG_KEY] = {
            "client": scope.get("client"),
            "scheme": scope.get("scheme"),
            "server": scope.get("server"),
            "root_path": scope.get("root_path", ""),
            "host": _header(headers, b"host"),
        }
        is_websocket = scope.get("type") == "websocket"

        client = _trusted(headers, b"x-forwarded-for", self.x_for)
        if client is not None:
            client = _strip_brackets(client)
            if client:
                fixed["client"] = (client, 0)

        proto = _trusted(headers, b"x-forwarded-proto", self.x_proto)
        if proto is not None:
            schemes = _WEBSOCKET_SCHEMES if is_websocket else _HTTP_SCHEMES
            scheme = schemes.get(proto.lower())
            if scheme is not None:
                fixed["scheme"] = scheme

        host = _trusted(headers, b"x-forwarded-host", self.x_host)
        port_value = _trusted(headers, b"x-forwarded-port", self.x_port)
        port = _parse_port(port_value) if port_value is not None else None
        if host is not None and not _valid_host(host):
            host = None
        if host is not None or port is not None:
            self._fix_host(fixed, headers, host, port)

        prefix = _trusted(headers, b"x-forwarded-prefix", self.x_prefix)
        if prefix is not None:
            prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
            if prefix:
                fixed["root_path"] = prefix + scope.get("root_path", "")
                fixed["path"] = prefix + scope["path"]
                if scope.get("raw_path") is not None:
                    fixed["raw_path"] = prefix.encode("latin-1") + scope["raw_path"]
        return fixed

    def _fix_host(
        self,
        fixed: dict[str, Any],
        headers: list[tuple[bytes, bytes]],
        host: str | None,
        port: int | None,
    ) -> None:
        if host is None:
            host = _header(headers, b"host")
            if host is None:
                server = fixed.get("server")
                if not server:
                    return
                host = str(server[0])
        name, port_in_host = _split_host(host)
        if port is None:
            port = port_in_host
        scheme = fixed.get("scheme", "http")
        default_port = _DEFAULT_PORTS.get(scheme)
        host_value = name if port is None or port == default_port else f"{name}:{port}"
        fixed["headers"] = [(k, v) for k, v in headers if k != b"host"] + [
            (b"host", host_value.encode("latin-1"))
        ]
        fixed["server"] = (name.strip("[]"), port if port is not None else default_port)


def _header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str | None:
    """Return the values of header ``name`` joined with commas, or ``None``."""
    values = [value.decode("latin-1") for key, value in headers if key.lower() == name]
    return ",".join(values) if values else None


def _trusted(headers: Iterable[tuple[bytes, bytes]], name: bytes, trusted: int) -> str | None:
    """Return the value ``trusted`` places from the right of header ``name``.

    ``None`` when the header is not trusted at all, missing, or has fewer
    values than trusted proxies (so a client could have set all of them).
    """
    if trusted <= 0:
        return None
    raw = _header(headers, name)
    if raw is None:
        return None
    values = [value.strip() for value in raw.split(",")]
    if len(values) < trusted:
        return None
    value = values[-trusted]
    return value or None


def _strip_brackets(address: str) -> str:
    """Return an IPv6 address without the brackets some proxies add."""
    if address.startswith("[") and "]" in address:
        return address[1 : address.index("]")]
    return address


def _parse_port(value: str) -> int | None:
    if value.isascii() and value.isdigit() and 0 < int(value) < 65536:
        return int(value)
    return None


def _split_host(host: str) -> tuple[str, int | None]:
    """Split ``host[:port]`` (``[v6]:port`` too) into the name and port."""
    if host.startswith("["):
        end = host.find("]")
        name, rest = host[: end + 1], host[end + 1 :]
        return name, _parse_port(rest[1:]) if rest.startswith(":") else None
    name, sep, port = host.rpartition(":")
    if not sep:
        return host, None
    return name, _parse_port(port)


def _valid_host(host: str) -> bool:
    """Whether ``host`` looks like a host name: no spaces, slashes or control bytes."""
    return bool(host) and host.isprintable() and not any(c in host for c in " /\\@?#")


__all__ = ["ASGIApp", "ProxyFixMiddleware"]
