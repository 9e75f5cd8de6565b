"""Quart's helpers for building test requests by hand, for extensions and tests.

They build on the same :class:`~microframe.testing.EnvironBuilder` as the
test client, so a body or a query string comes out as the client sends it.
"""

from __future__ import annotations

import json as _json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, unquote

import werkzeug.test
from werkzeug.datastructures import EnvironHeaders, Headers

from ..app import Microframe
from .builder import form_data, make_builder

#: "Not given", where ``None`` is a value (``json=None`` sends ``null``).
sentinel: Any = object()


def make_test_body_with_headers(
    *,
    data: Any = None,
    form: Mapping[str, object] | None = None,
    files: Mapping[str, object] | None = None,
    json: object = sentinel,
    app: Microframe | None = None,
) -> tuple[bytes, Headers]:
    """Encode a test request body and return it with its ``Content-Type`` header.

    ``data`` may be bytes or str (sent as is) or a dict (sent as a form, with
    file values as files, as Flask's test client does); ``form`` and
    ``files`` build a urlencoded or multipart body; ``json`` is dumped with
    the app's JSON provider when ``app`` is given.
    """
    given = (data is not None) + (form is not None or files is not None) + (json is not sentinel)
    if given > 1:
        raise TypeError("Pass the body as one of 'data', 'json' or 'form'/'files'.")
    headers = Headers()
    if json is not sentinel:
        headers["Content-Type"] = "application/json"
        return (app.json.dumps(json) if app is not None else _json.dumps(json)).encode(), headers
    if form is not None or files is not None:
        data = form_data(form, files)
    builder = werkzeug.test.EnvironBuilder(data=data)
    try:
        environ = builder.get_environ()
    finally:
        builder.close()
    if environ.get("CONTENT_TYPE"):
        headers["Content-Type"] = environ["CONTENT_TYPE"]
    return environ["wsgi.input"].read(), headers


def make_test_headers_path_and_query_string(
    app: Microframe,
    path: str,
    headers: Mapping[str, object] | Headers | None = None,
    query_string: Mapping[str, object] | str | bytes | None = None,
    auth: tuple[str, str] | None = None,
    subdomain: str | None = None,
) -> tuple[Headers, str, bytes]:
    """Return the headers (``Host`` included), path and query string bytes of a test request."""
    builder, _ = make_builder(
        app, (path,),
        {"headers": headers, "query_string": query_string, "auth": auth, "subdomain": subdomain},
    )
    try:
        environ = builder.get_environ()
    finally:
        builder.close()
    request_headers = Headers(EnvironHeaders(environ))
    if headers is None or "User-Agent" not in Headers(headers):
        # As Quart's names itself; werkzeug's builder would say "Werkzeug/x".
        request_headers["User-Agent"] = "Microframe"
    return request_headers, unquote(builder.path) or "/", builder.query_string.encode("latin-1")


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
) -> dict[str, Any]:
    """Return an ASGI scope for a test request or websocket, from its parts."""
    scope: dict[str, object] = {
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
    "make_test_scope",
    "no_op_push",
    "sentinel",
]
