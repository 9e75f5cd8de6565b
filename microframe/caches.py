"""One bounded cache for the module-level and per-app caches, and one
attribute computed once per instance.

Several hot paths remember a small result keyed by something a client
chooses (a ``Host`` header, a path, a header line): the same few keys come
again and again, but a client may send endless new ones. Each such cache is
a :class:`BoundedCache`: a plain dict (so a hit is one C-level ``get``) that
holds at most ``maxsize`` entries, dropping its oldest entry to make room.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, Self, TypeVar, overload

K = TypeVar("K")
V = TypeVar("V")


class BoundedCache(dict[K, V]):
    """A dict of at most ``maxsize`` entries: :meth:`put` drops the oldest
    entry of a full cache first (dicts keep insertion order).

    Read it as a dict (``cache.get(key)``); write it with :meth:`put`::

        _hosts: BoundedCache[str, str] = BoundedCache(1024)

        encoded = _hosts.get(host)
        if encoded is None:
            encoded = _hosts.put(host, host.encode("idna").decode())

    :param maxsize: the most entries kept.
    """

    __slots__ = ("_lock", "maxsize")

    def __init__(self, maxsize: int) -> None:
        super().__init__()
        self.maxsize = maxsize
        self._lock = threading.Lock()

    def put(self, key: K, value: V) -> V:
        """Store ``value`` under ``key`` and return it.

        Safe from several threads: sync views run on worker threads, and two
        of them evicting at once would both delete the same oldest entry.
        Only writes take the lock; reads are plain dict lookups.
        """
        with self._lock:
            if len(self) >= self.maxsize and key not in self:
                # The oldest entry: a flood of one-off keys passes through
                # rather than shutting the steady ones out.
                del self[next(iter(self))]
            self[key] = value
        return value


class first_use(Generic[V]):
    """An attribute made by the decorated method when first read, then kept
    in the instance (this descriptor defines no ``__set__``, so the
    instance's value shadows it; assigning the attribute sets it)::

        class Request:
            @first_use
            def body(self) -> Body:
                return Body(...)

    :func:`functools.cached_property` does the same, but on Python 3.11
    takes a lock on every first read (python/cpython#87634; 3.12 dropped
    it), which costs more than most values made this way, on every request;
    werkzeug's ``cached_property`` is a data descriptor, run on every read.
    """

    def __init__(self, make: Callable[[Any], V]) -> None:
        self._make = make
        self._name = make.__name__
        self.__doc__ = make.__doc__

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> Self: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> V: ...

    def __get__(self, instance: object | None, owner: type | None = None) -> V | Self:
        if instance is None:
            return self
        value = instance.__dict__[self._name] = self._make(instance)
        return value


__all__ = ["BoundedCache", "first_use"]
