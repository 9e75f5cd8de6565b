"""What HTTP requests and websocket connections share: their routing result,
and the request's date headers read safely."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from werkzeug.datastructures import IfRange
from werkzeug.http import parse_date, parse_if_range_header
from werkzeug.sansio.request import Request as SansIORequest
from werkzeug.sansio.utils import get_host

from ..caches import BoundedCache, first_use

if TYPE_CHECKING:
    from werkzeug.exceptions import HTTPException
    from werkzeug.routing import Rule
    from werkzeug.routing.exceptions import RequestRedirect


def endpoint_blueprint(endpoint: str | None) -> str | None:
    """The (dotted) name of the blueprint of ``endpoint``, ``None`` for an app's own."""
    if endpoint is not None and "." in endpoint:
        return endpoint.rpartition(".")[0]
    return None


def blueprint_chain(blueprint: str | None) -> tuple[str, ...]:
    """Return ``"a.b.c"`` as ``("a.b.c", "a.b", "a")``: innermost first."""
    if blueprint is None:
        return ()
    parts = blueprint.split(".")
    return tuple(".".join(parts[:i]) for i in range(len(parts), 0, -1))


def parse_http_date(value: str | None) -> datetime | None:
    """Parse an HTTP date as :func:`werkzeug.http.parse_date` does; ``None`` if invalid.

    werkzeug returns ``None`` for most invalid dates but lets the standard
    library's :exc:`OverflowError` through for one whose numbers do not fit
    a C integer (a year of twenty digits). Such a date is invalid too, and
    RFC 9110 (13.1.3, 13.1.4) has the server ignore a conditional header
    whose date is invalid, not fail.
    """
    try:
        return parse_date(value)
    except OverflowError:
        return None


def parse_if_range(value: str | None) -> IfRange:
    """Parse an ``If-Range`` header as werkzeug does; an invalid date gives an empty one."""
    try:
        return parse_if_range_header(value)
    except OverflowError:
        return IfRange()


#: :attr:`RoutedRequest.sent_host` of a request or websocket built otherwise
#: than by the protocol layer (by hand, in tests).
NOT_NOTED: Any = object()

#: Checked hosts by (scheme, Host header as sent, server address); the
#: header is chosen by clients, so the cache is bounded.
_hosts: BoundedCache[tuple[str, bytes | None, Any], str] = BoundedCache(1024)


class RoutedRequest(SansIORequest):
    """werkzeug's sans-io request plus the URL rule it matched.

    Its date headers (:attr:`date`, :attr:`if_modified_since`,
    :attr:`if_unmodified_since`, :attr:`if_range`) read as ``None`` (an
    empty :class:`~werkzeug.datastructures.IfRange`) when the client sent a
    date out of any range, where werkzeug's would raise; see
    :func:`parse_http_date`.
    """

    #: The error raised while matching the URL (404, 405, a redirect), if any.
    routing_exception: HTTPException | RequestRedirect | None = None
    #: The rule that matched, or ``None``.
    url_rule: Rule | None = None
    #: The values the rule's converters produced, or ``None``.
    view_args: dict[str, Any] | None = None
    #: The ``Host`` header as the client sent it (``None`` without one),
    #: noted by the protocol layer for the app's remembered URL matches;
    #: :data:`NOT_NOTED` otherwise. :attr:`host` is the checked value.
    sent_host: bytes | None = NOT_NOTED

    #: The ASGI scope the request or websocket was made from, if any.
    scope: Any = None

    @first_use
    def host(self) -> str:
        """The host the request was made to, as werkzeug gives it
        (:func:`werkzeug.sansio.utils.get_host`: checked, and with
        :attr:`trusted_hosts` refused with a 400 when unknown).

        The same few ``Host`` headers come again and again, and werkzeug
        checks each with a regular expression, so without trusted hosts the
        result is remembered for each header as sent.
        """
        sent = self.sent_host
        if sent is NOT_NOTED or self.trusted_hosts:
            return get_host(self.scheme, self.headers.get("host"), self.server, self.trusted_hosts)
        key = (self.scheme, sent, self.server)
        host = _hosts.get(key)
        if host is None:
            header = None if sent is None else sent.decode("latin-1")
            host = _hosts.put(key, get_host(self.scheme, header, self.server))
        return host

    @property
    def script_root(self) -> str:
        """The prefix the app is mounted under: :attr:`root_path`, under the
        name werkzeug's WSGI request (``SCRIPT_NAME``) and Flask give it."""
        return self.root_path

    @property
    def url_root(self) -> str:
        """Scheme, host and root path, ending in ``/``
        (``https://example.com/app/``): :attr:`root_url`, under the name
        werkzeug's WSGI request and Flask give it."""
        return self.root_url

    @property
    def date(self) -> datetime | None:  # type: ignore[override]
        """The ``Date`` header as a datetime, or ``None``."""
        return parse_http_date(self.headers.get("Date"))

    @property
    def if_modified_since(self) -> datetime | None:
        """The ``If-Modified-Since`` header as a datetime, or ``None``."""
        return parse_http_date(self.headers.get("If-Modified-Since"))

    @property
    def if_unmodified_since(self) -> datetime | None:
        """The ``If-Unmodified-Since`` header as a datetime, or ``None``."""
        return parse_http_date(self.headers.get("If-Unmodified-Since"))

    @property
    def if_range(self) -> IfRange:
        """The ``If-Range`` header: an ETag, a date, or neither."""
        return parse_if_range(self.headers.get("If-Range"))

    @property
    def endpoint(self) -> str | None:
        """The endpoint that matched, or ``None``."""
        return self.url_rule.endpoint if self.url_rule is not None else None

    @property
    def blueprint(self) -> str | None:
        """The (dotted) name of the blueprint of the matched endpoint."""
        return endpoint_blueprint(self.endpoint)

    @property
    def blueprints(self) -> list[str]:
        """The current blueprint and its parents, innermost first."""
        return list(blueprint_chain(self.blueprint))


__all__ = [
    "NOT_NOTED",
    "RoutedRequest",
    "blueprint_chain",
    "endpoint_blueprint",
    "parse_http_date",
    "parse_if_range",
]
