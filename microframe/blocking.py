"""Blocking code from async code: run on the event loop's default executor,
with the caller's context variables carried over (Quart's ``run_sync``).

A request's plain ``def`` code already runs on its worker thread
(:mod:`microframe.sync`); these are for blocking calls an ``async def``
view, task or extension makes itself::

    rows = await run_sync_in_executor(query_database, "SELECT 1")
    report = await run_sync(build_report)(year=2026)
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from typing import Any, ParamSpec, TypeVar, cast

T = TypeVar("T")
P = ParamSpec("P")


async def run_in_executor(
    func: Callable[..., T], args: tuple[object, ...], kwargs: dict[str, object]
) -> T:
    """Call ``func(*args, **kwargs)`` on the default executor in a copy of
    the current context (the one way microframe hands a call to it)."""
    loop = asyncio.get_running_loop()
    ctx = contextvars.copy_context()
    return await loop.run_in_executor(None, functools.partial(ctx.run, func, *args, **kwargs))


async def run_sync_in_executor(func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a blocking function on the default executor, contexts carried over.

    Use this for blocking work outside the request's own worker thread::

        data = await run_sync_in_executor(expensive_call, 42)
    """
    return await run_in_executor(func, args, kwargs)


def run_sync(func: Callable[P, T]) -> Callable[P, Coroutine[Any, Any, T]]:
    """Quart's ``run_sync`` (``quart.utils``): ``func`` as a coroutine function
    running it on the default executor, contexts carried over, as
    :func:`run_sync_in_executor` does::

        result = await run_sync(blocking_call)(42)

    A generator that ``func`` returns is handed back as an async iterator
    whose items are made there too (:func:`run_sync_iterable`).
    """

    @functools.wraps(func)
    async def call(*args: P.args, **kwargs: P.kwargs) -> T:
        result = await run_in_executor(func, args, kwargs)
        if inspect.isgenerator(result):
            return run_sync_iterable(result)  # type: ignore[return-value]
        return result

    return call


async def run_sync_iterable(iterable: Iterable[T]) -> AsyncIterator[T]:
    """Iterate the blocking ``iterable`` from async code: each item is made
    on the default executor, contexts carried over (Quart's ``run_sync_iterable``)."""
    iterator = iter(iterable)
    while True:
        # next() would raise StopIteration into the future, which asyncio
        # refuses (it cannot cross a coroutine boundary): ask for a sentinel.
        item = await run_in_executor(next, (iterator, _EXHAUSTED), {})
        if item is _EXHAUSTED:
            return
        yield cast(T, item)


_EXHAUSTED: Any = object()


__all__ = ["run_in_executor", "run_sync", "run_sync_in_executor", "run_sync_iterable"]
