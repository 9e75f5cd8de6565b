"""Building werkzeug :class:`~werkzeug.datastructures.Headers` on the hot path.

``Headers(pairs)`` validates and copies every pair: 2.4 µs for a response's
two headers, 4.6 µs for a request's five (decoded), against 0.2 µs here, on
requests that take 30 µs in all. Pairs that come from the ASGI server
(already parsed and validated by its HTTP parser) or that microframe built
itself are trusted and taken as they are.

This is the one module that touches werkzeug's private ``Headers._list``
(where ``Headers`` keeps its pairs, in werkzeug 2 and 3; ``setup.cfg`` caps
werkzeug below the next minor release and ``tests/test_headers.py`` checks
that these headers behave as werkzeug's); everything else uses the public
API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from werkzeug.datastructures import Headers
from werkzeug.exceptions import BadRequestKeyError
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.utils import get_content_type

from ..caches import BoundedCache, first_use

_new = Headers.__new__
_content_types: dict[str, str] = {}
_status_lines: dict[int, str] = {}


def trusted_headers(pairs: list[tuple[str, str]]) -> Headers:
    """Return :class:`Headers` holding ``pairs`` without re-validating them.

    Relies on werkzeug keeping the pairs in ``Headers._list`` (true of
    werkzeug 2 and 3; the test suite checks it).
    """
    headers = _new(Headers)
    headers._list = pairs
    return headers


class ASGIHeaders(Headers):
    """Request headers decoded from the ASGI scope's byte pairs on first use.

    Many requests never read a header microframe has not already picked out
    of the raw pairs (host, cookie), so they skip the decoding (1.6 µs for
    five headers); a single lookup is a dict lookup. werkzeug's lookups by
    name all go through its private ``_get_key``, which is answered here
    from the raw pairs.
    """

    _raw: list[tuple[bytes, bytes]] = []

    @first_use
    def _first_values(self) -> dict[bytes, bytes]:
        # The first value of each name, as werkzeug's lookups find them.
        return dict(reversed(self._raw))

    @first_use
    def _list(self) -> list[tuple[str, str]]:
        # werkzeug's pairs, decoded when first needed. ASGI servers send
        # names lowercased; they are listed as Flask (from the WSGI environ)
        # and Quart list them, "User-Agent", which code iterating the
        # headers into a dict relies on.
        return [(name.decode("latin-1").title(), value.decode("latin-1")) for name, value in self._raw]

    def _get_key(self, key: str) -> str:
        # werkzeug's single-header lookup (``[]``, ``get``, ``in``): answered
        # from the raw pairs while nothing needed them all decoded.
        if "_list" in self.__dict__:
            return super()._get_key(key)
        try:
            wanted = key.lower().encode("latin-1")
        except UnicodeEncodeError:
            raise BadRequestKeyError(key) from None
        found = self._first_values.get(wanted)
        if found is not None:
            return found.decode("latin-1")
        # Absent, or sent by a server that does not lowercase names.
        value = next(self._raw_values(key), None)
        if value is None:
            raise BadRequestKeyError(key)
        return value

    def getlist(self, key: str, type: Callable[[str], Any] | None = None) -> list[Any]:
        """Return every value of header ``key`` (converted by ``type``, as werkzeug does)."""
        if type is not None:
            return super().getlist(key, type)
        if "_list" in self.__dict__:
            return super().getlist(key)
        return list(self._raw_values(key))

    def _raw_values(self, key: str) -> Iterator[str]:
        try:
            wanted = key.lower().encode("latin-1")
        except UnicodeEncodeError:
            return
        size = len(wanted)
        for name, value in self._raw:
            # ASGI servers send lowercase names; a server that does not is
            # still matched, at the cost of lowering same-length names.
            if name == wanted or (len(name) == size and name.lower() == wanted):
                yield value.decode("latin-1")


def asgi_headers(raw: list[tuple[bytes, bytes]]) -> Headers:
    """Return :class:`Headers` for the ASGI pairs ``raw`` (latin-1, as HTTP), decoded lazily."""
    headers = _new(ASGIHeaders)
    headers._raw = raw
    return headers


#: The header pairs :func:`dict_header_pairs` made for each header dict and
#: default mimetype: a view's header dict is usually a literal, the same on
#: every request.
_DictPairs = tuple[tuple[tuple[str, str], ...], int]
_dict_pairs: BoundedCache[tuple[Any, ...], _DictPairs] = BoundedCache(1024)


def dict_header_pairs(
    values: dict[str, Any], default_mimetype: str
) -> tuple[list[tuple[str, str]], int]:
    """Return the header pairs of a response made with the header dict
    ``values`` (a view's), as werkzeug's constructor leaves them, and the
    index of the ``Content-Length`` pair for the caller to fill in.

    The pairs are the dict's (checked by werkzeug: a newline in a value
    raises :exc:`ValueError`), then the ``Content-Type`` of
    ``default_mimetype`` unless the dict has one, then ``Content-Length``
    (in the place of the dict's, if it has one). They are remembered for
    dicts of text, so a literal dict is checked once rather than on every
    response.
    """
    key: tuple[Any, ...] | None = (default_mimetype, *values.items())
    try:
        found = _dict_pairs.get(key)  # type: ignore[arg-type]
    except TypeError:  # a list of values is not hashable
        found, key = None, None
    if found is None:
        found = _make_dict_pairs(values, default_mimetype)
        # Only text values: 1, 1.0 and True are equal keys but different headers.
        if key is not None and all(type(v) is str for v in values.values()):
            _dict_pairs.put(key, found)
    return list(found[0]), found[1]


def _make_dict_pairs(values: dict[str, Any], default_mimetype: str) -> _DictPairs:
    pairs = list(Headers(values).items())
    lowered = [name.lower() for name, _ in pairs]
    if "content-type" not in lowered:
        pairs.append(("Content-Type", content_type_for(default_mimetype)))
    if "content-length" in lowered:
        length_at = lowered.index("content-length")
    else:
        length_at = len(pairs)
        pairs.append(("Content-Length", ""))  # filled in by the caller
    return tuple(pairs), length_at


def content_type_for(mimetype: str) -> str:
    """Return the ``Content-Type`` for ``mimetype`` (``; charset=utf-8`` for text), cached."""
    value = _content_types.get(mimetype)
    if value is None:
        value = get_content_type(mimetype, "utf-8")
        if len(_content_types) < 256:
            _content_types[mimetype] = value
    return value


def status_line(code: int) -> str:
    """Return ``"200 OK"``-style status text for a known code, cached."""
    line = _status_lines.get(code)
    if line is None:
        line = f"{code} {HTTP_STATUS_CODES.get(code, 'UNKNOWN').upper()}"
        _status_lines[code] = line
    return line


__all__ = [
    "ASGIHeaders",
    "asgi_headers",
    "content_type_for",
    "dict_header_pairs",
    "status_line",
    "trusted_headers",
]
