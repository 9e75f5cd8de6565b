"""JSON helpers that follow the current app's JSON provider.

Inside an app context, :func:`dumps`, :func:`loads`, :func:`dump` and
:func:`load` go through ``current_app.json`` (see
:mod:`microframe.json.provider`), so an app's customisation applies
everywhere. Outside one they behave like
:class:`~microframe.json.provider.DefaultJSONProvider` with its default
settings.

::

    from microframe import json, jsonify

    json.dumps({"when": date(2024, 1, 1)})  # '{"when": "Mon, 01 Jan 2024 00:00:00 GMT"}'

    @app.get("/user")
    async def user():
        return jsonify(name="ada", id=1)
"""

from __future__ import annotations

import json as _json
from typing import IO, TYPE_CHECKING, Any

from ..globals import _cv_app, _no_app_msg
from .provider import DefaultJSONProvider

if TYPE_CHECKING:
    from ..wrappers import Response
    from .provider import JSONProvider


def _provider() -> JSONProvider | None:
    ctx = _cv_app.get(None)
    return None if ctx is None else ctx.app.json


def _set_defaults(kwargs: dict[str, object]) -> dict[str, Any]:
    kwargs.setdefault("default", DefaultJSONProvider.default)
    kwargs.setdefault("ensure_ascii", DefaultJSONProvider.ensure_ascii)
    kwargs.setdefault("sort_keys", DefaultJSONProvider.sort_keys)
    return kwargs


def dumps(obj: object, **kwargs: object) -> str:
    """Serialise ``obj`` to a JSON string.

    :param obj: the data; dates, decimals, UUIDs, dataclasses and
        ``__html__`` objects are handled as by the default provider.
    :param kwargs: passed to the provider (or to :func:`json.dumps`).
    """
    provider = _provider()
    if provider is not None:
        return provider.dumps(obj, **kwargs)
    return _json.dumps(obj, **_set_defaults(kwargs))


def dump(obj: object, fp: IO[str], **kwargs: object) -> None:
    """Serialise ``obj`` as JSON and write it to the text file ``fp``.

    :param obj: the data, as for :func:`dumps`.
    :param fp: a file open for writing text.
    :param kwargs: passed to the provider (or to :func:`json.dump`).
    """
    provider = _provider()
    if provider is not None:
        provider.dump(obj, fp, **kwargs)
    else:
        _json.dump(obj, fp, **_set_defaults(kwargs))


def loads(s: str | bytes, **kwargs: Any) -> Any:
    """Parse a JSON document given as text or bytes (UTF-8, -16 or -32).

    :param kwargs: passed to the provider (or to :func:`json.loads`).
    :raises json.JSONDecodeError: if ``s`` is not valid JSON.
    """
    provider = _provider()
    if provider is not None:
        return provider.loads(s, **kwargs)
    return _json.loads(s, **kwargs)


def load(fp: IO[str] | IO[bytes], **kwargs: Any) -> Any:
    """Read and parse a JSON document from the file ``fp`` (text or binary).

    :param kwargs: passed to the provider (or to :func:`json.load`).
    """
    provider = _provider()
    if provider is not None:
        return provider.load(fp, **kwargs)
    return _json.load(fp, **kwargs)


def jsonify(*args: object, **kwargs: object) -> Response:
    """Return a JSON response, made by ``current_app.json.response()``.

    One positional argument is serialised as is, several become a list and
    keyword arguments an object::

        return jsonify({"id": 1})
        return jsonify(id=1, name="ada")

    :raises TypeError: if both positional and keyword arguments are given.
    :raises RuntimeError: outside an app context.
    """
    # The context variable rather than the current_app proxy: one lookup.
    ctx = _cv_app.get(None)
    if ctx is None:
        raise RuntimeError(_no_app_msg)
    return ctx.app.json.response(*args, **kwargs)


__all__ = ["dump", "dumps", "jsonify", "load", "loads"]
