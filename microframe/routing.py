"""URL matching for requests and websocket connections.

A request's URL is matched against the app's URL map through a werkzeug
:class:`~werkzeug.routing.MapAdapter`. Binding an adapter and matching cost
more than the rest of a small request, and once the app serves its map is
frozen: the same host, scheme, path and method always give the same rule.
So a serving app remembers each result, the rule and its arguments, or the
404, 405 or websocket mismatch, and the adapter is bound only on a miss
(or when the request builds a URL).
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, cast
from urllib.parse import quote

from werkzeug.exceptions import BadHost, HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import BuildError, MapAdapter
from werkzeug.routing.exceptions import WebsocketMismatch

from .caches import BoundedCache
from .globals import _cv_app, _cv_request, _cv_websocket
from .wrappers import Request
from .wrappers.base import NOT_NOTED, RoutedRequest

if TYPE_CHECKING:
    from .app import Microframe

#: The most results an app keeps; paths are chosen by clients, so the oldest
#: go when it is full.
MATCH_CACHE_SIZE = 4096
#: The most URLs built without values an app keeps (see :func:`build_url`).
BUILD_CACHE_SIZE = 1024


class HasURLAdapter(Protocol):
    """What binds the URL map for a request: its context."""

    @property
    def url_adapter(self) -> MapAdapter | None:
        """The bound URL map, or ``None`` (with the error on the request)."""


def match_url(
    app: Microframe,
    target: RoutedRequest,
    bound: HasURLAdapter,
    cache: BoundedCache[tuple[Any, ...], tuple[Any, Any]] | None = None,
) -> None:
    """Match ``target`` (a request or websocket), setting its ``url_rule`` and
    ``view_args``, or its ``routing_exception``.

    :param bound: gives the URL adapter, bound only if the result is not
        remembered.
    :param cache: the results remembered, by host, scheme, path, method and
        ``SERVER_NAME``; ``None`` before the app serves (its map may change).
        The host is the ``Host`` header as sent, when the protocol layer
        noted it (:attr:`~microframe.wrappers.base.RoutedRequest.sent_host`):
        each new one is bound, and so checked, once, as Flask binds (and
        checks) it for every request; with trusted hosts it is the checked
        host, refused with a 400 as in Flask.
    """
    trusted = app.config["TRUSTED_HOSTS"]
    if trusted is not None and target.trusted_hosts is not trusted:
        # Flask's TRUSTED_HOSTS: an unknown Host header is a 400.
        target.trusted_hosts = trusted
        target.__dict__.pop("host", None)
    key: tuple[object, ...] | None = None
    if cache is not None:
        host: object = target.sent_host
        if host is NOT_NOTED or target.trusted_hosts:
            try:
                host = target.host
            except HTTPException:
                host = NOT_NOTED  # a bad or untrusted host: the adapter reports it
        elif host is None:  # no Host header: the server's address stands in
            host = target.server
        if host is not NOT_NOTED:
            key = (host, target.scheme, target.path, target.method, app.config["SERVER_NAME"])
            cached = cache.get(key)
            if cached is not None:
                rule, args = cached
                if rule is None:
                    target.routing_exception = args()
                else:
                    target.url_rule, target.view_args = rule, dict(args)
                return
    adapter = bound.url_adapter
    if adapter is None:
        return
    try:
        rule, args = adapter.match(return_rule=True)
    except HTTPException as error:
        target.routing_exception = error
        if cache is not None and key is not None:
            remade = _remake_routing_error(error)
            if remade is not None:
                cache.put(key, (None, remade))
        return
    if cache is not None and key is not None:
        cache.put(key, (rule, args))
    target.url_rule, target.view_args = rule, dict(args)


def _remake_routing_error(error: HTTPException) -> Callable[[], HTTPException] | None:
    """Return a maker of ``error`` afresh when it depends on nothing but the
    request's host, scheme, path and method (404, 405, websocket mismatch);
    ``None`` for a redirect, which depends on the query string too."""
    cls = type(error)
    if cls is NotFound or cls is WebsocketMismatch:
        return cls
    if cls is MethodNotAllowed:
        methods = tuple(cast(MethodNotAllowed, error).valid_methods or ())
        return lambda: MethodNotAllowed(valid_methods=list(methods))
    return None


# -- binding the map and building URLs ----------------------------------------------


def bind_url_map(app: Microframe, request: Request | None) -> MapAdapter | None:
    """Bind ``app``'s URL map for ``request`` (``app.create_url_adapter``).

    Without a request, for building URLs, the map is bound to ``SERVER_NAME``,
    ``APPLICATION_ROOT`` and ``PREFERRED_URL_SCHEME``; ``None`` when
    ``SERVER_NAME`` is not set.
    """
    config = app.config
    if request is not None:
        host = request.host.lower()
        subdomain: str | None = None
        server_name = host
        if not app.url_map.host_matching:
            configured = config["SERVER_NAME"]
            if configured:
                # External URLs name SERVER_NAME's host, not the request's.
                server_name = _without_default_port(configured.lower(), request.scheme)
            if app.subdomain_matching and configured:
                subdomain = _subdomain_of(host, server_name)
            else:
                subdomain = app.url_map.default_subdomain or ""
        # What Map.bind does, minus the IDNA encoding of the same few
        # hosts on every request.
        return MapAdapter(
            app.url_map,
            _idna_host(server_name),
            request.root_path or "/",
            subdomain,
            request.scheme,
            request.path,
            request.method,
            request.query_string.decode("latin-1"),
        )
    if config["SERVER_NAME"] is None:
        return None
    return app.url_map.bind(
        config["SERVER_NAME"],
        script_name=config["APPLICATION_ROOT"],
        url_scheme=config["PREFERRED_URL_SCHEME"],
    )


def build_url(
    app: Microframe,
    endpoint: str,
    anchor: str | None,
    method: str | None,
    scheme: str | None,
    external: bool | None,
    values: dict[str, object],
) -> str:
    """Build a URL for ``endpoint`` (``app.url_for``; see :func:`microframe.url_for`)."""
    req_ctx = _cv_request.get(None)
    ws_ctx = _cv_websocket.get(None) if req_ctx is None else None
    if req_ctx is not None or ws_ctx is not None:
        routed: RoutedRequest
        if req_ctx is not None:
            adapter, routed = req_ctx.url_adapter, req_ctx.request
        else:
            assert ws_ctx is not None
            adapter, routed = ws_ctx.url_adapter, ws_ctx.websocket
        if endpoint[:1] == ".":
            blueprint = routed.blueprint
            endpoint = f"{blueprint}{endpoint}" if blueprint is not None else endpoint[1:]
        if external is None:
            external = scheme is not None
    else:
        app_ctx = _cv_app.get(None)
        adapter = app_ctx.url_adapter if app_ctx is not None else app.create_url_adapter(None)
        if adapter is None:
            raise RuntimeError(
                "Unable to build URLs outside an active request without"
                " 'SERVER_NAME' configured. Also configure 'APPLICATION_ROOT'"
                " and 'PREFERRED_URL_SCHEME' as needed."
            )
        if external is None:
            external = True
    if scheme is not None and not external:
        raise ValueError("When specifying '_scheme', '_external' must be True.")
    if adapter is None:
        raise RuntimeError("The request's URL adapter could not be created.")
    app.inject_url_defaults(endpoint, values)
    try:
        if values or not app._got_first_request:
            url = adapter.build(endpoint, values, method=method, url_scheme=scheme, force_external=external)
        else:
            url = _build_remembered(app._cycle.build_cache, adapter, endpoint, method, scheme, external)
    except BuildError as error:
        values.update(_anchor=anchor, _method=method, _scheme=scheme, _external=external)
        return app.handle_url_build_error(error, endpoint, values)
    if anchor is not None:
        url = f"{url}#{quote(anchor, safe=_ANCHOR_SAFE)}"
    return url


def _build_remembered(
    cache: BoundedCache[tuple[Any, ...], str],
    adapter: MapAdapter,
    endpoint: str,
    method: str | None,
    scheme: str | None,
    external: bool,
) -> str:
    """Build the URL of ``endpoint`` without values, as ``adapter.build`` does,
    remembering it.

    Without values, werkzeug's build depends on nothing but the URL map, frozen
    once the app serves (as for :func:`match_url`), the arguments and what
    the adapter was bound to; converters were applied to rule defaults when
    the rule was compiled. So ``redirect(url_for("index"))`` costs one lookup.
    """
    key = (
        endpoint,
        method,
        scheme,
        external,
        adapter.map,
        adapter.server_name,
        adapter.script_name,
        adapter.subdomain,
        adapter.url_scheme,
        adapter.default_method,
    )
    url = cache.get(key)
    if url is None:
        built = adapter.build(endpoint, None, method=method, url_scheme=scheme, force_external=external)
        url = cache.put(key, built)
    return url


def handle_url_build_error(
    app: Microframe, error: BuildError, endpoint: str, values: dict[str, Any]
) -> str:
    """Try the app's build error handlers; re-raise ``error`` if none builds
    a URL (``app.handle_url_build_error``)."""
    for handler in app.url_build_error_handlers:
        try:
            result = handler(error, endpoint, values)
        except BuildError as new_error:
            error = new_error
            continue
        if result is not None:
            return result
    if error is sys.exc_info()[1]:
        raise
    raise error


_ANCHOR_SAFE = "%!#$&'()*+,/:;=?@"
#: Hosts IDNA-encoded; the Host header is chosen by clients.
_idna_hosts: BoundedCache[str, str] = BoundedCache(1024)


def _idna_host(host: str) -> str:
    """Return ``host`` IDNA-encoded as URL building needs it; 400 if impossible."""
    encoded = _idna_hosts.get(host)
    if encoded is None:
        name, sep, port = host.partition(":")
        try:
            encoded = name.encode("idna").decode("ascii") + sep + port
        except UnicodeError:
            raise BadHost() from None
        _idna_hosts.put(host, encoded)
    return encoded


def _without_default_port(server_name: str, scheme: str) -> str:
    """``server_name`` without the scheme's default port, as request hosts come."""
    if scheme in ("http", "ws") and server_name.endswith(":80"):
        return server_name[:-3]
    if scheme in ("https", "wss") and server_name.endswith(":443"):
        return server_name[:-4]
    return server_name


def _subdomain_of(host: str, server_name: str) -> str:
    """The subdomain part of ``host`` under ``server_name`` (``SERVER_NAME``),
    or ``"<invalid>"``, which matches no rule, for a host outside it (one on
    another port too, as in Flask and Quart)."""
    if host == server_name:
        return ""
    if host.endswith("." + server_name):
        return host[: -len(server_name) - 1]
    # As werkzeug warns: usually a request made by IP address, or a wrong
    # SERVER_NAME; every such request answers 404.
    warnings.warn(
        f"Current server name {host!r} doesn't match configured server name {server_name!r}",
        stacklevel=2,
    )
    return "<invalid>"


__all__ = [
    "BUILD_CACHE_SIZE",
    "MATCH_CACHE_SIZE",
    "HasURLAdapter",
    "bind_url_map",
    "build_url",
    "handle_url_build_error",
    "match_url",
]
