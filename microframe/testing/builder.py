"""Test requests built the way Flask builds them, served the way a server serves them.

Flask's test client and ``test_request_context`` take the arguments of
werkzeug's :class:`~werkzeug.test.EnvironBuilder`. microframe takes the same
arguments (and Quart's ``form``, ``files``, ``scheme``, ``root_path``,
``http_version`` and ``scope_base``), lets werkzeug's builder turn them into
a WSGI environ, and turns that environ into the ASGI scope a server would
hand the app. So ``environ_overrides={"wsgi.url_scheme": "https"}`` or
``{"REMOTE_ADDR": "10.0.0.1"}`` reach the request as they would under Flask.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Mapping
from copy import copy
from io import BytesIO
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import werkzeug.test
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request as WSGIRequest

from ..app import Microframe
from ..wsgi import scope_fields

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment


class EnvironBuilder(werkzeug.test.EnvironBuilder):
    """werkzeug's :class:`~werkzeug.test.EnvironBuilder`, with defaults from the app.

    As Flask's: without ``base_url``, the base URL is made of
    ``PREFERRED_URL_SCHEME`` (or ``url_scheme``), ``subdomain`` and
    ``SERVER_NAME`` (``localhost`` when unset), and ``APPLICATION_ROOT``;
    ``path`` may be a full URL, whose scheme and host then win. ``json`` is
    dumped with the app's JSON provider. The test client and
    :meth:`~microframe.app.Microframe.test_request_context` accept the builder
    (or the environ it builds) in place of their arguments::

        builder = EnvironBuilder(app, "/search", query_string={"q": "ada"})
        response = client.open(builder)

    :param app: the app to take the defaults from.
    :param path: the path requested, or a full URL.
    :param base_url: where the app is served (``"https://example.com/root"``);
        cannot be combined with ``subdomain`` or ``url_scheme``.
    :param subdomain: put in front of ``SERVER_NAME``.
    :param url_scheme: the scheme instead of ``PREFERRED_URL_SCHEME``.
    :param args: werkzeug's further positional arguments (``query_string``,
        ``method``, ...).
    :param kwargs: werkzeug's keyword arguments (``headers``, ``data``,
        ``json``, ``content_type``, ``environ_base``, ``environ_overrides``,
        ``auth``, ...).
    """

    def __init__(
        self,
        app: Microframe,
        path: str = "/",
        base_url: str | None = None,
        subdomain: str | None = None,
        url_scheme: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        if base_url is not None and (subdomain or url_scheme):
            raise ValueError('Cannot pass "subdomain" or "url_scheme" with "base_url".')
        if base_url is None:
            base_url, path = _app_base_url(app, path, subdomain, url_scheme)
        self.app = app
        super().__init__(path, base_url, *args, **kwargs)

    def json_dumps(self, obj: object, **kwargs: Any) -> str:
        """Dump ``obj`` as JSON with the app's JSON provider (its settings apply)."""
        return self.app.json.dumps(obj, **kwargs)


def _app_base_url(
    app: Microframe, path: str, subdomain: str | None, url_scheme: str | None
) -> tuple[str, str]:
    """Return the base URL the app's config implies, and ``path`` without its host."""
    config = app.config
    host = config.get("SERVER_NAME") or "localhost"
    if subdomain:
        host = f"{subdomain}.{host}"
    url = urlsplit(path)
    scheme = url.scheme or url_scheme or config["PREFERRED_URL_SCHEME"]
    root = str(config["APPLICATION_ROOT"]).lstrip("/")
    path = f"{url.path}?{url.query}" if url.query else url.path
    return f"{scheme}://{url.netloc or host}/{root}", path


def werkzeug_version() -> str:
    """Return werkzeug's version, sent as ``User-Agent: Werkzeug/<version>`` as Flask does."""
    global _werkzeug_version
    if _werkzeug_version is None:
        _werkzeug_version = importlib.metadata.version("werkzeug")
    return _werkzeug_version


_werkzeug_version: str | None = None


#: Quart's ``scope_base``: values laid over a test request's ASGI scope.
ScopeBase = Mapping[str, Any] | None


def make_builder(
    app: Microframe, args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> tuple[EnvironBuilder, ScopeBase]:
    """Return the builder for a test request's arguments, Flask's and Quart's.

    Quart's keywords are translated: ``form`` and ``files`` become ``data``
    (a urlencoded or multipart body), ``scheme`` is ``url_scheme``,
    ``root_path`` the script root (``SCRIPT_NAME``), ``http_version`` the
    protocol; ``scope_base`` is returned to be laid over the scope.
    """
    options = dict(kwargs)
    scope_base: ScopeBase = options.pop("scope_base", None)
    root_path: str | None = options.pop("root_path", None)
    http_version: str | None = options.pop("http_version", None)
    scheme = options.pop("scheme", None)
    if scheme is not None and "base_url" not in options and len(args) < 2:
        options.setdefault("url_scheme", scheme)
    form = options.pop("form", None)
    files = options.pop("files", None)
    if form is not None or files is not None:
        if options.get("data") is not None or options.get("json") is not None:
            raise TypeError("Pass the body as one of 'data', 'json' or 'form'/'files'.")
        options["data"] = form_data(form, files)
    if isinstance(options.get("query_string"), bytes):
        options["query_string"] = options["query_string"].decode("latin-1")
    builder = EnvironBuilder(app, *args, **options)
    cookies = builder.headers.getlist("Cookie")
    if len(cookies) > 1:
        # The environ joins repeated headers with ", "; cookies go with "; ".
        builder.headers["Cookie"] = "; ".join(cookies)
    if root_path is not None:
        _set_root_path(builder, root_path)
    if http_version is not None:
        builder.server_protocol = f"HTTP/{http_version}"
    return builder, scope_base


def form_data(
    form: Mapping[str, object] | None, files: Mapping[str, object] | None
) -> MultiDict[str, object]:
    """Merge Quart's ``form`` and ``files`` into werkzeug's ``data`` for a builder."""
    data: MultiDict[str, object] = MultiDict()
    for source in (form, files):
        if isinstance(source, MultiDict):
            for key, value in source.items(multi=True):
                data.add(key, value)
        elif source is not None:
            # Only a list holds several values: a tuple is one file,
            # ``(file, filename[, content_type])``, and is kept whole.
            for key, value in source.items():
                for item in value if isinstance(value, list) else [value]:
                    data.add(key, item)
    return data


def _set_root_path(builder: EnvironBuilder, root_path: str) -> None:
    """Serve the request under ``root_path``, as an ASGI server mounted there would.

    A path already under the root (``/prefix/page`` for ``/prefix``) is
    taken as the full path; any other path is the path below the root.
    """
    root = root_path.rstrip("/")
    path = builder.path
    if root and (path == root or path.startswith(root + "/")):
        builder.path = path[len(root) :] or "/"
    builder.script_root = root


def build_environ(
    app: Microframe,
    args: tuple[object, ...],
    kwargs: Mapping[str, object],
    environ_base: Mapping[str, object] | None = None,
) -> tuple[WSGIEnvironment, ScopeBase]:
    """Return the WSGI environ of a test request, and what else it carries.

    ``args`` and ``kwargs`` are :class:`EnvironBuilder`'s (and Quart's), or
    one ready :class:`~werkzeug.test.EnvironBuilder`, environ dict or
    werkzeug request. ``environ_base`` gives defaults the request's own
    ``environ_base`` and the built environ override (the test client's
    ``REMOTE_ADDR`` and ``User-Agent``).
    """
    base = dict(environ_base or {})
    if args and isinstance(args[0], (werkzeug.test.EnvironBuilder, dict, WSGIRequest)):
        if len(args) > 1 or kwargs:
            raise TypeError(
                "An EnvironBuilder, environ or request describes the whole request;"
                " pass no other arguments with it."
            )
        return _environ_of(args[0], base), None
    builder, scope_base = make_builder(app, args, kwargs)
    builder.environ_base = {**base, **(builder.environ_base or {})}
    try:
        environ = builder.get_environ()
    finally:
        builder.close()
    # The body werkzeug encoded: a large multipart one is in a temporary
    # file of its own, which nothing else would close.
    stream = environ["wsgi.input"]
    try:
        environ["wsgi.input"] = BytesIO(stream.read())
    finally:
        stream.close()
    return environ, scope_base


def _environ_of(
    given: werkzeug.test.EnvironBuilder | WSGIEnvironment | WSGIRequest, base: dict[str, object]
) -> WSGIEnvironment:
    if isinstance(given, werkzeug.test.EnvironBuilder):
        builder = copy(given)
        builder.environ_base = {**base, **(given.environ_base or {})}
        return builder.get_environ()
    environ = given.environ if isinstance(given, WSGIRequest) else given
    return {**base, **environ}


def scope_from_environ(
    environ: WSGIEnvironment, type_: str = "http", scope_base: ScopeBase = None
) -> tuple[dict[str, Any], bytes]:
    """Return the ASGI scope a server would make of a WSGI ``environ``, and the body.

    See :func:`microframe.wsgi.scope_fields`; ``scope_base`` is laid over it.
    """
    stream = environ.get("wsgi.input")
    body = stream.read() if stream is not None else b""
    scope = scope_fields(environ, type_)
    scope["extensions"] = {}
    if type_ == "websocket":
        scope["subprotocols"] = []
        scope["extensions"]["websocket.http.response"] = {}
    elif scope["http_version"] in ("2", "3"):
        # As Hypercorn offers server push on these protocols.
        scope["extensions"]["http.response.push"] = {}
    if scope_base:
        scope.update(scope_base)
    return scope, body


__all__ = [
    "EnvironBuilder",
    "ScopeBase",
    "build_environ",
    "form_data",
    "make_builder",
    "scope_from_environ",
    "werkzeug_version",
]
