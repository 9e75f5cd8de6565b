"""Building test requests: scopes, headers, query strings and bodies.

These are Quart's helper names, for extensions and tests that build
requests by hand.
"""

from __future__ import annotations

import json as _json
from base64 import b64encode
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlencode, urlsplit

from werkzeug.datastructures import FileStorage, Headers, MultiDict
from werkzeug.test import encode_multipart

if TYPE_CHECKING:
    from ..app import Microframe

sentinel: Any = object()


def _is_file(value: Any) -> bool:
    return isinstance(value, (FileStorage, tuple)) or hasattr(value, "read")


def _items(mapping: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Return the ``(key, value)`` pairs of ``mapping``, as werkzeug's test builder does.

    Only a list stands for several values: a tuple is one value, a
    ``(file, filename[, content_type])`` file, so it must not be split.
    """
    if isinstance(mapping, MultiDict):
        return list(mapping.items(multi=True))
    pairs: list[tuple[str, Any]] = []
    for key, value in mapping.items():
        if isinstance(value, list):
            pairs.extend((key, item) for item in value)
        else:
            pairs.append((key, value))
    return pairs


def _to_file_storage(value: Any) -> FileStorage:
    if isinstance(value, FileStorage):
        return value
    if isinstance(value, tuple):
        stream, filename, *rest = value
        content_type = rest[0] if rest else None
        return FileStorage(stream, filename=filename, content_type=content_type)
    return FileStorage(value, filename=getattr(value, "name", None))


def make_test_body_with_headers(
    *,
    data: Any = None,
    form: Mapping[str, Any] | None = None,
    files: Mapping[str, Any] | None = None,
    json: Any = sentinel,
    app: Microframe | None = None,
) -> tuple[bytes, Headers]:
    """Encode a test request body and return it with its content headers.

    ``data`` may be bytes or str (sent as is) or a dict (sent as a form, with
    file values as files, as Flask's test client does); ``form`` and
    ``files`` build a urlencoded or multipart body; ``json`` is dumped with
    the app's JSON provider.
    """
    given = sum(item is not None for item in (data, form or files)) + (json is not sentinel)
    if given > 1:
        raise ValueError("Only one of data, form/files or json may be given.")
    headers = Headers()
    if isinstance(data, Mapping):
        pairs = _items(data)
        file_items = MultiDict([(k, v) for k, v in pairs if _is_file(v)])
        form = MultiDict([(k, v) for k, v in pairs if not _is_file(v)])
        files = file_items or None
        data = None
    if json is not sentinel:
        dumped = app.json.dumps(json) if app is not None else _json.dumps(json)
        headers["Content-Type"] = "application/json"
        return dumped.encode(), headers
    if files:
        values: MultiDict[str, Any] = MultiDict(_items(form or {}))
        for key, value in _items(files):
            values.add(key, _to_file_storage(value))
        boundary, body = encode_multipart(values)
        headers["Content-Type"] = f'multipart/form-data; boundary="{boundary}"'
        return body, headers
    if form is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        return urlencode(_items(form)).encode(), headers
    if data is None:
        return b"", headers
    return (data.encode() if isinstance(data, str) else bytes(data)), headers


def make_test_headers_path_and_query_string(
    app: Microframe,
    path: str,
    headers: Mapping[str, Any] | Headers | None = None,
    query_string: Mapping[str, Any] | str | bytes | None = None,
    auth: tuple[str, str] | None = None,
    subdomain: str | None = None,
) -> tuple[Headers, str, bytes]:
    """Return the headers, path and query string bytes of a test request."""
    headers = Headers(headers)
    if "?" in path and query_string is not None:
        raise ValueError("Query string is defined in the path and as an argument")
    path, _, path_query = path.partition("?")
    if query_string is None:
        query_bytes = path_query.encode()
    elif isinstance(query_string, bytes):
        query_bytes = query_string
    elif isinstance(query_string, str):
        query_bytes = query_string.encode()
    else:
        query_bytes = urlencode(list(MultiDict(query_string).items(multi=True))).encode()
    server_name = app.config["SERVER_NAME"] or "localhost"
    host = f"{subdomain}.{server_name}" if subdomain else server_name
    headers.setdefault("Host", host)
    headers.setdefault("User-Agent", "microframe")
    if auth is not None:
        token = b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        headers.setdefault("Authorization", f"Basic {token}")
    return headers, path or "/", query_bytes


def make_test_request_parts(
    app: Microframe,
    path: str,
    *,
    headers: Mapping[str, Any] | Headers | None = None,
    query_string: Mapping[str, Any] | str | bytes | None = None,
    data: Any = None,
    form: Mapping[str, Any] | None = None,
    files: Mapping[str, Any] | None = None,
    json: Any = sentinel,
    auth: tuple[str, str] | None = None,
    subdomain: str | None = None,
    base_url: str | None = None,
    scheme: str = "http",
    root_path: str = "",
) -> tuple[Headers, str, bytes, bytes, str, str]:
    """Return ``(headers, path, query, body, scheme, root_path)`` of a test request.

    ``base_url`` (``"https://example.com/prefix"``) sets the scheme, the
    ``Host`` header and the root path at once, as in Flask's test tools.
    """
    if base_url is not None:
        parts = urlsplit(base_url)
        scheme = parts.scheme or scheme
        root_path = parts.path.rstrip("/")
        if parts.netloc:
            headers = Headers(headers)
            headers.setdefault("Host", parts.netloc)
    request_headers, path, query = make_test_headers_path_and_query_string(
        app, path, headers, query_string, auth, subdomain
    )
    body, body_headers = make_test_body_with_headers(
        data=data, form=form, files=files, json=json, app=app
    )
    request_headers.update(body_headers)
    return request_headers, path, query, body, scheme, root_path


def make_test_scope(
    type_: str,
    path: str,
    method: str,
    headers: Headers,
    query_string: bytes,
    scheme: str,
    root_path: str,
    http_version: str,
    scope_base: dict[str, Any] | None,
    *,
    _preserve_context: bool = False,
) -> dict[str, Any]:
    """Return an ASGI scope for a test request or websocket."""
    scope: dict[str, Any] = {
        "type": type_,
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": http_version,
        "scheme": scheme,
        "path": unquote(path, errors="surrogateescape"),
        "raw_path": quote(path, safe="/%:@!$&'()*+,;=~").encode("latin-1", "replace"),
        "query_string": query_string,
        "root_path": root_path,
        "headers": [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in headers.items()
        ],
        "client": ("127.0.0.1", 80),
        "server": ("localhost", 80),
        "extensions": {},
    }
    if type_ == "http":
        scope["method"] = method
        if _preserve_context:
            scope["extensions"]["_microframe_preserve_context"] = True
    else:
        scope["subprotocols"] = []
    if scope_base:
        scope.update(scope_base)
    return scope


async def no_op_push(path: str, headers: Headers) -> None:
    """A server push function that does nothing (test requests cannot push)."""


__all__ = [
    "make_test_body_with_headers",
    "make_test_headers_path_and_query_string",
    "make_test_request_parts",
    "make_test_scope",
    "no_op_push",
    "sentinel",
]
