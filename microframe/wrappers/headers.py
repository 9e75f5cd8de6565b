"""Building werkzeug :class:`~werkzeug.datastructures.Headers` on the hot path.

``Headers(pairs)`` validates and copies every pair, which costs more than the
rest of a small request. Pairs that come from the ASGI server (already
parsed and validated by its HTTP parser) or that microframe built itself
are trusted and taken as they are.
"""

from __future__ import annotations

from werkzeug.datastructures import Headers
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.utils import get_content_type

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


__all__ = ["content_type_for", "status_line", "trusted_headers"]
