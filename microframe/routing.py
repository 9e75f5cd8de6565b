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

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, cast

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing.exceptions import WebsocketMismatch

if TYPE_CHECKING:
    from werkzeug.routing import MapAdapter

    from .app import Microframe
    from .wrappers.base import RoutedRequest

#: The most results an app keeps; paths are chosen by clients, so the cache
#: starts again when full rather than grow.
MATCH_CACHE_SIZE = 4096


class HasURLAdapter(Protocol):
    """What binds the URL map for a request: its context."""

    @property
    def url_adapter(self) -> MapAdapter | None:
        """The bound URL map, or ``None`` (with the error on the request)."""


def match_url(app: Microframe, target: RoutedRequest, bound: HasURLAdapter) -> None:
    """Match ``target`` (a request or websocket), setting its ``url_rule`` and
    ``view_args``, or its ``routing_exception``.

    :param bound: gives the URL adapter, bound only if the result is not
        remembered.
    """
    trusted = app.config["TRUSTED_HOSTS"]
    if trusted is not None and target.trusted_hosts is not trusted:
        # Flask's TRUSTED_HOSTS: an unknown Host header is a 400.
        target.trusted_hosts = trusted
        target.__dict__.pop("host", None)
    key: tuple[Any, ...] | None = None
    cache = app._match_cache
    if app._got_first_request:
        try:
            # The host make_request remembered, else werkzeug's property.
            host = target.__dict__.get("host") or target.host
            key = (host, target.scheme, target.path, target.method, app.config["SERVER_NAME"])
        except HTTPException:
            key = None  # a bad or untrusted host: the adapter reports it
        else:
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
        if key is not None:
            remade = _remake_routing_error(error)
            if remade is not None:
                _remember(cache, key, (None, remade))
        return
    if key is not None:
        _remember(cache, key, (rule, args))
    target.url_rule, target.view_args = rule, dict(args)


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> None:
    if len(cache) >= MATCH_CACHE_SIZE:
        cache.clear()
    cache[key] = value


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


__all__ = ["MATCH_CACHE_SIZE", "HasURLAdapter", "match_url"]
