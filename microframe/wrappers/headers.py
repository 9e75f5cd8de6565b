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
        # werkzeug's pairs, decoded when first needed.
        return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in self._raw]

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


#: What :func:`dict_header_pairs` found for each header dict, by its items:
#: a view's header dict is usually a literal, the same on every request.
_DictPairs = tuple[tuple[tuple[str, str], ...], bool, int | None]
_dict_pairs: BoundedCache[tuple[tuple[str, Any], ...], _DictPairs] = BoundedCache(1024)
_CACHEABLE_VALUES = (str, int)


def dict_header_pairs(values: dict[str, Any]) -> tuple[list[tuple[str, str]], bool, int | None]:
    """Return the header pairs of ``values`` (a view's header dict) as
    ``Headers(values)`` would hold them (checked by werkzeug: a newline in a
    value raises :exc:`ValueError`), whether they include a
    ``Content-Type``, and the index of their ``Content-Length``, if any.

    The result is remembered for dicts of text and numbers, so the same
    literal dict is checked once rather than on every response.
    """
    key: tuple[tuple[str, Any], ...] | None = tuple(values.items())
    try:
        found = _dict_pairs.get(key)  # type: ignore[arg-type]
    except TypeError:  # a list of values is not hashable
        found, key = None, None
    if found is None:
        headers = Headers(values)
        pairs = tuple(headers.items())
        lowered = [name.lower() for name, _ in pairs]
        length_at = lowered.index("content-length") if "content-length" in lowered else None
        found = (pairs, "content-type" in lowered, length_at)
        if key is not None and all(type(v) in _CACHEABLE_VALUES for v in values.values()):
            _dict_pairs.put(key, found)
    return list(found[0]), found[1], found[2]


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
