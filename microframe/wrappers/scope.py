"""Reading an ASGI scope: what the request and websocket are built from.

Used by the protocol layer (:mod:`microframe.asgi`) as it builds the app's
request or websocket for a connection.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit


def scope_path(scope: Any) -> tuple[str, str]:
    """Return ``(root_path, path below it)`` of an HTTP or websocket scope.

    An absolute-form target (``http://host/path``, as sent to proxies) is
    routed by its path.
    """
    root_path: str = scope.get("root_path", "")
    path: str = scope["path"]
    if "://" in path and path[:1] != "/":
        path = urlsplit(path).path or "/"
    if root_path and path.startswith(root_path):
        path = path[len(root_path) :] or "/"
    return root_path, path


def target_host(target: str) -> bytes | None:
    """The host of an absolute-form target, which replaces the ``Host``
    header (RFC 9112, section 3.2.2); ``None`` for the usual origin form."""
    if "://" not in target or target[:1] == "/":
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


def scope_headers(scope: Any) -> tuple[list[tuple[bytes, bytes]], dict[bytes, bytes]]:
    """Return the raw header pairs of an HTTP or websocket scope, as a list
    (the ASGI specification allows any iterable; it is read more than once),
    and the first value of each name.

    The values by name let the protocol layer pick out the few headers it
    checks on every request at C speed (ASGI servers send names lowercased),
    the same as werkzeug's ``headers.get(name)`` reads: the first of
    repeated ones. An absolute-form target's authority replaces the ``Host``
    header (RFC 9112, section 3.2.2).
    """
    raw = scope["headers"]
    if type(raw) is not list:
        raw = list(raw)
    if "://" in scope["path"] and (authority := target_host(scope["path"])) is not None:
        raw = [(name, value) for name, value in raw if name != b"host"]
        raw.append((b"host", authority))
    return raw, dict(reversed(raw))


__all__ = [
    "scope_path",
    "scope_headers",
    "scope_query",
    "target_host",
]
