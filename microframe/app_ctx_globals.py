"""The ``g`` object's class: a namespace for the data of one app context.

The app makes one per app context, on first use, from its
:attr:`~microframe.app.Microframe.app_ctx_globals_class`; subclass it there
to give ``g`` methods or defaults, as in Flask. (It is also importable from
:mod:`microframe.ctx`, where Flask keeps it.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .globals import _cv_app

_sentinel: Any = object()


class _AppCtxGlobals:
    """The ``g`` object: a namespace for data kept during one app context.

    Behaves like a plain object with ``get``, ``pop``, ``setdefault``,
    ``in`` and iteration over its attribute names, as Flask's does.
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self.__dict__[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self.__dict__[name]
        except KeyError:
            raise AttributeError(name) from None

    def get(self, name: str, default: Any | None = None) -> Any:
        """Return attribute ``name``, or ``default`` if it is not set."""
        return self.__dict__.get(name, default)

    def pop(self, name: str, default: Any = _sentinel) -> Any:
        """Remove and return attribute ``name`` (``default`` if missing)."""
        if default is _sentinel:
            return self.__dict__.pop(name)
        return self.__dict__.pop(name, default)

    def setdefault(self, name: str, default: Any = None) -> Any:
        """Return attribute ``name``, setting it to ``default`` first if missing."""
        return self.__dict__.setdefault(name, default)

    def __contains__(self, item: str) -> bool:
        return item in self.__dict__

    def __iter__(self) -> Iterator[str]:
        return iter(self.__dict__)

    def __repr__(self) -> str:
        ctx = _cv_app.get(None)
        if ctx is not None:
            return f"<microframe.g of '{ctx.app.name}'>"
        return object.__repr__(self)


__all__ = ["_AppCtxGlobals"]
