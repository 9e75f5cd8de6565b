"""Reading an ASGI scope: what the request and websocket are built from.

Used by the protocol layer (:mod:`microframe.asgi`) as it builds the app's
request or websocket for a connection.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from werkzeug.datastructures import Headers

from .headers import asgi_headers


def scope_path(scope: Any) -> tuple[str, str]:
    """Return ``(root_path, path below it)`` of an HTTP or websocket scope,
    as :func:`read_scope` reads them."""
    root_path, path, *_ = read_scope(scope)
    return root_path, path


#: What :func:`read_scope` returns: the root path, the path below it, the
#: query string, the request headers, and the first value of each header name.
ScopeParts = tuple[str, str, bytes, Headers, dict[bytes, bytes]]


def read_scope(scope: Any) -> ScopeParts:
    """Read what a request or websocket is built from out of an HTTP or
    websocket scope: ``(root_path, path, query_string, headers, picked)``.

    - ``root_path`` and ``path`` below it; an absolute-form target
      (``http://host/path``, as sent to proxies) is routed by its path;
    - ``query_string`` as :func:`scope_query` gives it (ASCII bytes);
    - ``headers``, werkzeug :class:`~werkzeug.datastructures.Headers`
      decoded from the scope's pairs when first needed; an absolute-form
      target's authority replaces the ``Host`` header (RFC 9112, section
      3.2.2);
    - ``picked``, the first value of each header name, as werkzeug's
      ``headers.get(name)`` reads repeated ones: the protocol layer picks
      out the few headers it checks on every request from it at C speed
      (ASGI servers send names lowercased).
    """
    root_path: str = scope.get("root_path", "")
    path: str = scope["path"]
    # A list: the ASGI specification allows any iterable, read more than once here.
    raw = scope["headers"]
    if type(raw) is not list:
        raw = list(raw)
    if "://" in path and path[:1] != "/":
        path, raw = _absolute_form(path, raw)
    if root_path and path.startswith(root_path):
        path = path[len(root_path) :] or "/"
    query: bytes = scope.get("query_string", b"")
    if not query.isascii():
        query = scope_query(scope)
    return root_path, path, query, asgi_headers(raw), dict(reversed(raw))


def _absolute_form(target: str, raw: list[tuple[bytes, bytes]]) -> tuple[str, list[tuple[bytes, bytes]]]:
    # The path of an absolute-form target, and the headers with its
    # authority (without any user:password@) as the Host (RFC 9112, section 3.2.2).
    try:
        parts = urlsplit(target)
        authority = parts.netloc.rpartition("@")[2].encode("latin-1")
    except ValueError:  # malformed ('http://[::1/', a host beyond latin-1): routed as sent, to a 404
        return target, raw
    if authority:
        raw = [(name, value) for name, value in raw if name != b"host"]
        raw.append((b"host", authority))
    return parts.path or "/", raw


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


__all__ = [
    "ScopeParts",
    "read_scope",
    "scope_path",
    "scope_query",
]
