"""Reading an ASGI scope: what the request and websocket are built from.

Used by the protocol layer (:mod:`microframe.asgi`) as it builds the app's
request or websocket for a connection.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from .base import NOT_NOTED


def scope_path(scope: Any) -> tuple[str, str]:
    """Return ``(root_path, path below it)`` of an HTTP or websocket scope.

    An absolute-form target (``http://host/path``, as sent to proxies) is
    routed by its path.
    """
    root_path: str = scope.get("root_path", "")
    path: str = scope["path"]
    if path[:1] != "/" and "://" in path:
        path = urlsplit(path).path or "/"
    if root_path and path.startswith(root_path):
        path = path[len(root_path) :] or "/"
    return root_path, path


def target_host(target: str) -> bytes | None:
    """The host of an absolute-form target, which replaces the ``Host``
    header (RFC 9112, section 3.2.2); ``None`` for the usual origin form."""
    if target[:1] == "/" or "://" not in target:
        return None
    authority = urlsplit(target).netloc.rpartition("@")[2]  # no user:password@
    return authority.encode("latin-1") if authority else None


def scope_query(scope: Any) -> bytes:
    """Return the query string of an HTTP or websocket scope, as ASCII bytes.

    A URL's query is ASCII; a server that passes other bytes through gets
    them percent-encoded, as a browser would have sent them, so that
    ``request.args`` (which decodes the query as UTF-8) cannot fail on them.
    """
    query: bytes = scope.get("query_string", b"")
    if query.isascii():
        return query
    return b"".join(b"%%%02X" % byte if byte > 0x7F else bytes((byte,)) for byte in query)


def header_pairs(scope: Any) -> list[tuple[bytes, bytes]]:
    """The raw header pairs of an HTTP or websocket scope, as a list (the
    ASGI specification allows any iterable; it is read more than once)."""
    raw = scope["headers"]
    return raw if type(raw) is list else list(raw)


def host_as_sent(raw: list[tuple[bytes, bytes]], picked: dict[bytes, bytes]) -> Any:
    """The ``Host`` header of ``raw`` as sent (``None`` without one), for
    :attr:`~microframe.wrappers.base.RoutedRequest.sent_host`; ``picked`` is
    ``dict(raw)``. When some name is repeated, ``NOT_NOTED``: the dict keeps
    the last of several headers and werkzeug reads the first, so the host is
    left to werkzeug (a remembered URL match must follow werkzeug's host).
    """
    return picked.get(b"host") if len(picked) == len(raw) else NOT_NOTED


__all__ = [
    "header_pairs",
    "host_as_sent",
    "scope_path",
    "scope_query",
    "target_host",
]
