"""Quart's helpers for building test requests by hand, for extensions and tests.

They build on the same :class:`~microframe.testing.EnvironBuilder` as the
test client, so a body or a query string comes out as the client sends it.
"""

from __future__ import annotations

import json as _json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlencode

import werkzeug.test
from werkzeug.datastructures import EnvironHeaders, FileMultiDict, Headers, MultiDict
from werkzeug.test import encode_multipart
from werkzeug.urls import iri_to_uri

from ..app import Microframe
from ..globals import _cv_app
from .builder import form_data, make_builder

#: "Not given", where ``None`` is a value (``json=None`` sends ``null``).
sentinel: Any = object()


#: The multipart boundary of test bodies, Quart's, so bodies match its byte for byte.
MULTIPART_BOUNDARY = "----QuartBoundary"


def make_test_body_with_headers(
    *,
    data: Any = None,
    form: Mapping[str, object] | None = None,
    files: Mapping[str, object] | None = None,
    json: object = sentinel,
    app: Microframe | None = None,
) -> tuple[bytes, Headers]:
    """Encode a test request body and return it with its ``Content-Type`` header.

    As Quart's: ``data`` (str or bytes) is sent as is; ``json`` is dumped
    (with ``app``'s JSON provider, else the current app's); ``form`` alone
    is urlencoded; ``files`` (with ``form``, if given) make a multipart body
    with Quart's boundary, ``----QuartBoundary``, files first::

        body, headers = make_test_body_with_headers(
            form={"name": "ada"}, files={"avatar": FileStorage(io.BytesIO(b"..."), "a.png")}
        )

    ``data`` may also be a dict, sent as a form (file values as files), as
    Flask's test client takes it.

    :raises ValueError: when the body is given twice (``json`` or ``data``
        with another argument).
    """
    if (json is not sentinel) + (data is not None) + (form is not None or files is not None) > 1:
        raise ValueError(
            "Test args 'json', 'data' and 'form'/'files' are mutually exclusive:"
            " pass the body as one of them."
        )
    headers = Headers()
    if json is not sentinel:
        headers["Content-Type"] = "application/json"
        return _dump_json(json, app).encode(), headers
    if files is not None:
        # werkzeug's encoder writes the parts exactly as Quart's helper does.
        values = form_data(None, files)
        values.update(form_data(form, None))
        boundary, body = encode_multipart(_with_file_storages(values), MULTIPART_BOUNDARY)
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        return body, headers
    if form is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        return urlencode(list(form_data(form, None).items(multi=True))).encode(), headers
    if isinstance(data, str):
        return data.encode(), headers
    if data is None or isinstance(data, bytes):
        return data or b"", headers
    builder = werkzeug.test.EnvironBuilder(data=data)
    try:
        environ = builder.get_environ()
    finally:
        builder.close()
    if environ.get("CONTENT_TYPE"):
        headers["Content-Type"] = environ["CONTENT_TYPE"]
    return environ["wsgi.input"].read(), headers


def _dump_json(value: object, app: Microframe | None) -> str:
    if app is None:
        app_ctx = _cv_app.get(None)
        app = app_ctx.app if app_ctx is not None else None
    return app.json.dumps(value) if app is not None else _json.dumps(value)


def _with_file_storages(values: MultiDict[str, object]) -> MultiDict[str, object]:
    """Turn file values given as ``(file, filename[, content_type])`` or a
    file object into werkzeug's ``FileStorage``, as werkzeug's builder does."""
    result: MultiDict[str, object] = MultiDict()
    for key, value in values.items(multi=True):
        if isinstance(value, tuple) or hasattr(value, "read"):
            converter = FileMultiDict()
            if isinstance(value, tuple):
                converter.add_file(key, *value)
            else:
                converter.add_file(key, value)  # type: ignore[arg-type]
            value = converter[key]
        result.add(key, value)
    return result


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
    """Return an ASGI scope for a test request or websocket, from its parts.

    The keys are Quart's: ``type``, ``http_version``, ``asgi``, ``method``,
    ``scheme``, ``path`` (as given: already unquoted), ``raw_path`` (its IRI
    quoted), ``query_string``, ``root_path``, ``headers`` and
    ``extensions``, plus the ``client`` and ``server`` a server gives and a
    websocket's ``subprotocols``. ``extensions`` offers what a server would:
    server push on HTTP/2 and 3, HTTP responses to a websocket handshake.
    ``scope_base`` is laid over the result.
    """
    extensions: dict[str, dict[str, object]] = {}
    if type_ == "websocket":
        extensions["websocket.http.response"] = {}
    elif http_version in ("2", "3"):
        extensions["http.response.push"] = {}
    scope: dict[str, object] = {
        "type": type_,
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": http_version,
        "method": method,
        "scheme": scheme,
        "path": path,
        "raw_path": iri_to_uri(path).encode("ascii"),
        "query_string": query_string,
        "root_path": root_path,
        "headers": [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in headers.items()
        ],
        "client": ("127.0.0.1", 80),
        "server": ("localhost", 80),
        "extensions": extensions,
    }
    if type_ == "websocket":
        scope["subprotocols"] = []
    if scope_base:
        scope.update(scope_base)
    return scope


async def no_op_push(path: str, headers: Headers) -> None:
    """A server push function that does nothing (test requests cannot push)."""


__all__ = [
    "MULTIPART_BOUNDARY",
    "make_test_body_with_headers",
    "make_test_headers_path_and_query_string",
    "make_test_scope",
    "no_op_push",
    "sentinel",
]
