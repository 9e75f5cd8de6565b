"""The bridge between async and sync code.

Plain ``def`` views, hooks and handlers run off the event loop on a worker
thread, so a blocking view never stalls other requests. All sync code of one
request runs on the *same* worker thread (a :class:`WorkerLease` holds it for
the request's lifetime), so thread-bound resources kept on ``g``, such as an
``sqlite3`` connection, behave as they do under Flask. The pool of worker
threads is bounded (``SYNC_WORKERS``); a request that needs a thread while
all are leased waits for one.

Sync code that needs an async result (``request.get_json()`` in a sync view)
calls :func:`run_async`, which hands the coroutine to the event loop that
serves the request and blocks the worker thread until it completes.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import queue
import threading
from asyncio import events
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

T = TypeVar("T")
P = ParamSpec("P")

_thread_state = threading.local()


def in_sync_code() -> bool:
    """Return ``True`` when called from code that cannot ``await``.

    That is a worker thread running a sync view or hook, or any thread with
    no running event loop (a plain ``def`` test, a script).
    """
    return events._get_running_loop() is None


def is_async_callable(func: Any) -> bool:
    """Return ``True`` if calling ``func`` returns an awaitable to await.

    Looks through :func:`functools.partial` and callable objects whose
    ``__call__`` is a coroutine function.
    """
    while isinstance(func, functools.partial):
        func = func.func
    if inspect.iscoroutinefunction(func):
        return True
    call = getattr(func, "__call__", None)  # noqa: B004
    return call is not None and not inspect.isfunction(func) and (
        inspect.iscoroutinefunction(call)
    )


def _resolve(fut: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if fut.cancelled():
        return
    if ok:
        fut.set_result(value)
    else:
        fut.set_exception(value)


class SyncWorker:
    """One worker thread that runs submitted functions in order."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.waiting_for_loop = False
        self._thread = threading.Thread(
            target=self._serve, name="microframe-sync-worker", daemon=True
        )
        self._thread.start()

    def submit(
        self, func: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> asyncio.Future[T]:
        """Run ``func`` on this thread in a copy of the caller's context."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()
        self._queue.put((contextvars.copy_context(), func, args, kwargs, loop, fut))
        return fut

    def stop(self) -> None:
        """Ask the thread to exit once its queue is drained."""
        self._queue.put(None)

    def _serve(self) -> None:
        _thread_state.worker = self
        while True:
            item = self._queue.get()
            if item is None:
                return
            ctx, func, args, kwargs, loop, fut = item
            _thread_state.loop = loop
            try:
                try:
                    result = ctx.run(func, *args, **kwargs)
                except BaseException as error:  # handed to the awaiting task
                    loop.call_soon_threadsafe(_resolve, fut, False, error)
                else:
                    loop.call_soon_threadsafe(_resolve, fut, True, result)
            except RuntimeError:
                # The loop closed while the function ran (its caller was
                # cancelled and the loop ended); nobody waits for the result.
                pass
            finally:
                _thread_state.loop = None
                del item, ctx, func, args, kwargs, fut


class SyncWorkerPool:
    """A bounded pool of :class:`SyncWorker` threads, created on demand."""

    def __init__(self, max_workers: int = 32) -> None:
        if max_workers < 1:
            raise ValueError("SYNC_WORKERS must be at least 1")
        self.max_workers = max_workers
        self._idle: list[SyncWorker] = []
        self._count = 0
        self._waiters: deque[asyncio.Future[SyncWorker]] = deque()

    async def acquire(self) -> SyncWorker:
        """Take an idle worker, start a new one, or wait for one to be released."""
        if self._idle:
            return self._idle.pop()
        if self._count < self.max_workers:
            self._count += 1
            return SyncWorker()
        fut: asyncio.Future[SyncWorker] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            return await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release(fut.result())
            raise

    def release(self, worker: SyncWorker) -> None:
        """Give a worker back: to the longest waiter, or to the idle list."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.get_loop().call_soon_threadsafe(_hand_over, waiter, worker, self)
                return
        self._idle.append(worker)

    def shutdown(self) -> None:
        """Stop the idle threads; leased ones stop when released afterwards."""
        for worker in self._idle:
            worker.stop()
        self._count -= len(self._idle)
        self._idle.clear()


def _hand_over(waiter: asyncio.Future[SyncWorker], worker: SyncWorker, pool: SyncWorkerPool) -> None:
    if waiter.done():
        pool.release(worker)
    else:
        waiter.set_result(worker)


class WorkerLease:
    """The worker thread of one request, leased on first use.

    :param pool: the pool to lease from; ``None`` runs each call on the
        loop's default executor (used outside requests).
    """

    __slots__ = ("_pool", "_worker")

    def __init__(self, pool: SyncWorkerPool | None) -> None:
        self._pool = pool
        self._worker: SyncWorker | None = None

    async def run(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run the sync ``func`` on this lease's thread and return its result."""
        worker = self._worker
        if worker is None:
            if self._pool is None:
                return await _run_in_executor(func, args, kwargs)
            worker = self._worker = await self._pool.acquire()
        if worker.waiting_for_loop:
            # The lease's thread is blocked in run_async() waiting for the very
            # coroutine that calls us; queueing on it would deadlock.
            return await _run_in_executor(func, args, kwargs)
        return await worker.submit(func, args, kwargs)

    def release(self) -> None:
        """Return the thread to the pool (at the end of the request)."""
        worker, self._worker = self._worker, None
        if worker is not None and self._pool is not None:
            self._pool.release(worker)


async def _run_in_executor(func: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
    loop = asyncio.get_running_loop()
    ctx = contextvars.copy_context()
    return await loop.run_in_executor(None, functools.partial(ctx.run, func, *args, **kwargs))


async def run_sync_in_executor(func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a blocking function on the default executor, contexts carried over.

    Use this for blocking work outside the request's own worker thread::

        data = await run_sync_in_executor(expensive_call, 42)
    """
    return await _run_in_executor(func, args, kwargs)


def run_async(awaitable: Awaitable[T]) -> T:
    """Wait for ``awaitable`` from sync code and return its result.

    On a request's worker thread the coroutine runs on the loop serving the
    request; in a thread with no event loop at all (a plain test) it runs on a
    fresh loop. Calling this from async code is an error: ``await`` instead.
    """
    loop: asyncio.AbstractEventLoop | None = getattr(_thread_state, "loop", None)
    coro = _as_coroutine(awaitable)
    if loop is not None:
        worker: SyncWorker = _thread_state.worker
        worker.waiting_for_loop = True
        try:
            return asyncio.run_coroutine_threadsafe(coro, loop).result()
        finally:
            worker.waiting_for_loop = False
    if events._get_running_loop() is not None:
        coro.close()
        raise RuntimeError(
            "run_async() was called from async code; await the coroutine instead."
        )
    return asyncio.run(coro)


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable


def _as_coroutine(awaitable: Awaitable[T]) -> Coroutine[Any, Any, T]:
    if inspect.iscoroutine(awaitable):
        return awaitable
    return _await(awaitable)


__all__ = [
    "SyncWorker",
    "SyncWorkerPool",
    "WorkerLease",
    "in_sync_code",
    "is_async_callable",
    "run_async",
    "run_sync_in_executor",
]
