"""The bridge between async and sync code.

Plain ``def`` views, hooks and handlers run off the event loop on a worker
thread, so a blocking view never stalls other requests. All sync code of one
request runs on the *same* worker thread (a :class:`WorkerLease` holds it for
the request's lifetime), so thread-bound resources kept on ``g``, such as an
``sqlite3`` connection, behave as they do under Flask. The pool of worker
threads is bounded (``SYNC_WORKERS``); a request that needs a thread while
all are leased waits for one.

Teardown functions are the exception: they run where the code that used the
context ran (:func:`lease_here`), which for an ``async def`` view is the
event loop's thread. ``docs/porting.md`` ("One thread per request") states
the whole rule.

Sync code that needs an async result (``request.get_json()`` in a sync view)
calls :func:`run_async`, which hands the coroutine to the event loop that
serves the request and blocks the worker thread until it completes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import inspect
import queue
import threading
from asyncio import events
from collections import deque
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Generator,
    Iterator,
)
from typing import Any, NoReturn, ParamSpec, Protocol, TypeVar

# run_sync_in_executor: still importable from here, where it was first.
from .blocking import run_in_executor, run_sync_in_executor
from .main_loop import run_on_main_loop

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
P = ParamSpec("P")

_thread_state = threading.local()


def in_sync_code() -> bool:
    """Return ``True`` when called from code that cannot ``await``.

    That is a worker thread running a sync view or hook, or any thread with
    no running event loop (a plain ``def`` test, a script).
    """
    return events._get_running_loop() is None


def is_async_callable(func: object) -> bool:
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


def _set_result(fut: asyncio.Future[T], value: T) -> None:
    if not fut.cancelled():
        fut.set_result(value)


def _set_exception(fut: asyncio.Future[T], error: BaseException) -> None:
    if not fut.cancelled():
        fut.set_exception(error)


_WAKE = object()  # put on a worker's queue when the coroutine it waits for is done


class SyncWorker:
    """One worker thread that runs submitted functions in order."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._start()

    def _start(self) -> None:
        thread = threading.Thread(target=self._serve, name="microframe-sync-worker", daemon=True)
        thread.start()

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
            if item is not _WAKE:
                self._run(item)
                del item

    def _run(self, item: tuple[Any, ...]) -> None:
        ctx, func, args, kwargs, loop, fut = item
        previous = getattr(_thread_state, "loop", None)
        _thread_state.loop = loop
        try:
            try:
                result = ctx.run(func, *args, **kwargs)
            except BaseException as error:  # handed to the awaiting task
                explain_thread_error(error)
                loop.call_soon_threadsafe(_set_exception, fut, error)
            else:
                loop.call_soon_threadsafe(_set_result, fut, result)
        except RuntimeError:
            # The loop closed while the function ran (its caller was
            # cancelled and the loop ended); nobody waits for the result.
            pass
        finally:
            _thread_state.loop = previous

    def wait_for(self, fut: concurrent.futures.Future[T]) -> T:
        """Block this thread until ``fut`` is done, running what is submitted
        to it meanwhile.

        Sync code on this thread that waits for the loop (``run_async``) may
        lead the loop to call sync code of the same request again (a sync
        method override calling the stock method, which calls a sync view):
        that runs here, nested, on the request's own thread.
        """
        fut.add_done_callback(lambda _: self._queue.put(_WAKE))
        stop = False
        while not fut.done():
            item = self._queue.get()
            if item is None:
                stop = True
            elif item is not _WAKE:
                self._run(item)
        if stop:  # served once the wait is over
            self._queue.put(None)
        return fut.result()


class _CallerWorker(SyncWorker):
    """The calling thread as a worker: it runs what is submitted while it
    waits in :func:`run_async_serving`, and afterwards what is submitted
    runs at once where it is submitted (a lease kept by a context that
    thread pushed may still be used, from that thread)."""

    serving = True

    def _start(self) -> None:
        """No thread of its own: the caller serves."""

    def submit(
        self, func: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> asyncio.Future[T]:
        """Queue ``func`` for the caller, or call it now once it no longer serves."""
        if self.serving:
            return super().submit(func, args, kwargs)
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        try:
            fut.set_result(contextvars.copy_context().run(call_outside_loop, func, *args, **kwargs))
        except BaseException as error:  # handed to the awaiting task
            explain_thread_error(error)
            fut.set_exception(error)
        return fut


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

    async def run(self, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run the sync ``func`` on this lease's thread and return its result."""
        worker = self._worker
        if worker is None:
            if self._pool is None:
                return await run_in_executor(func, args, kwargs)
            worker = self._worker = await self._pool.acquire()
        return await worker.submit(func, args, kwargs)

    @property
    def leased(self) -> bool:
        """``True`` while a worker thread is held by this lease."""
        return self._worker is not None

    def release(self) -> None:
        """Return the thread to the pool (at the end of the request)."""
        worker, self._worker = self._worker, None
        if worker is not None and self._pool is not None:
            self._pool.release(worker)

    @classmethod
    def pinned(cls, worker: SyncWorker) -> WorkerLease:
        """A lease on ``worker`` that never hands it back to a pool.

        Used for code that is already running on ``worker`` (a ``with``
        block in a sync view): the request that leased it releases it.
        """
        lease = cls(None)
        lease._worker = worker
        return lease


class CallerLease(WorkerLease):
    """A lease that runs sync functions on the calling thread itself.

    Used for teardown functions of code that ran on the calling thread: a
    plain ``with`` block in sync code (a test, a script, a CLI command), or
    a request whose view is ``async def`` (the event loop's thread). An
    ``sqlite3`` connection opened there is then closed there, as under Flask.
    On the event loop's thread the function blocks the loop while it runs,
    which suits teardown's short work (closing a connection).
    """

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(None)

    async def run(self, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Call the sync ``func`` right here and return its result."""
        try:
            return call_outside_loop(func, *args, **kwargs)
        except BaseException as error:
            explain_thread_error(error)
            raise

    def release(self) -> None:
        """Nothing to release: no worker thread is held."""


_CALLER_LEASE = CallerLease()


def lease_here() -> WorkerLease:
    """Return a lease that runs sync functions on the calling thread.

    On a request's worker thread, a lease pinned to that worker (its queue
    runs them while it waits); on any other thread (the event loop's, a
    test's), a :class:`CallerLease`.
    """
    worker: SyncWorker | None = getattr(_thread_state, "worker", None)
    if worker is not None:
        return WorkerLease.pinned(worker)
    return _CALLER_LEASE


_THREAD_HINT = (
    "microframe runs a request's plain 'def' views, hooks and error handlers on its"
    " worker thread, its 'async def' code on the event loop's thread, and its sync"
    " teardown functions where its view ran; the code of a 'with app.app_context():'"
    " block runs on the block's own thread. An object bound to one thread, such as an"
    " sqlite3 connection kept on g, must be opened and used by code of one kind: make"
    " the functions that share it all 'def' or all 'async def', or open it where it is"
    " used. See 'One thread per request' in the porting guide (docs/porting.md)."
)


def explain_thread_error(error: BaseException) -> None:
    """Add a note on microframe's threads to a "used from another thread" error.

    sqlite3 refuses an object used from a thread other than the one that
    created it (``ProgrammingError: SQLite objects created in a thread can
    only be used in that same thread``); the note says which code runs on
    which thread and what to change. Called on error paths only.
    """
    if type(error).__name__ != "ProgrammingError":  # sqlite3's, without importing it
        return
    try:
        if "can only be used in that same thread" not in str(error):
            return
    except Exception:  # an error whose message cannot be made: leave it be
        return
    notes: list[str] = getattr(error, "__notes__", [])
    if _THREAD_HINT not in notes:
        error.add_note(_THREAD_HINT)


#: The worker of a thread serving the requests it makes (run_async_serving).
_serving_worker: contextvars.ContextVar[SyncWorker | None] = contextvars.ContextVar(
    "microframe_serving_worker", default=None
)


def new_request_lease(pool: SyncWorkerPool) -> WorkerLease:
    """The worker lease of a new request or websocket: on a thread of
    ``pool``, or on the thread that made the request if it serves it
    (:func:`run_async_serving`)."""
    worker = _serving_worker.get()
    if worker is not None:
        return WorkerLease.pinned(worker)
    return WorkerLease(pool)


def run_async_serving(awaitable: Awaitable[T]) -> T:
    """Wait for ``awaitable`` from sync code, running the sync functions of
    the requests it makes on this very thread.

    The event loop runs on a helper thread meanwhile, so the requests' async
    code runs there. The test client uses this for a request whose view is a
    plain ``def``, made inside an app context that this thread's code pushed
    (a ``with app.app_context():`` block, the shell): the view then runs on
    the thread that owns the context's ``g``, as under Flask.
    """
    if events._get_running_loop() is not None or getattr(_thread_state, "worker", None):
        # Async code, or a worker thread: this thread cannot serve.
        return run_async(awaitable)
    coro = _as_coroutine(awaitable)
    worker = _CallerWorker()
    done: concurrent.futures.Future[T] = concurrent.futures.Future()
    token = _serving_worker.set(worker)
    try:
        context = contextvars.copy_context()
    finally:
        _serving_worker.reset(token)

    def run_loop() -> None:
        try:
            done.set_result(context.run(asyncio.run, coro))
        except BaseException as error:  # handed to the waiting thread
            done.set_exception(error)

    loop_thread = threading.Thread(target=run_loop, name="microframe-caller-loop", daemon=True)
    _thread_state.worker = worker
    try:
        loop_thread.start()
        return worker.wait_for(done)
    finally:
        _thread_state.worker = None
        worker.serving = False
        loop_thread.join()


def call_outside_loop(func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Call the sync ``func`` with this thread's running loop hidden from it.

    The loop is the short-lived one :func:`run_async` started for sync code;
    hiding it lets ``func`` see itself as sync code (:func:`in_sync_code` is
    ``True``, the dual request and template APIs return values) and call
    :func:`run_async` in turn.
    """
    loop = events._get_running_loop()
    events._set_running_loop(None)
    try:
        return func(*args, **kwargs)
    finally:
        events._set_running_loop(loop)


class _Raised:
    """A cancellation-typed error a coroutine raised, carried as its result."""

    __slots__ = ("error",)

    def __init__(self, error: asyncio.CancelledError) -> None:
        self.error = error


async def _raising_as_value(coro: Coroutine[Any, Any, T]) -> T | _Raised:
    # A task whose coroutine raises a CancelledError subclass (the client's
    # ClientDisconnected) counts as cancelled, and run_coroutine_threadsafe
    # then reports a bare concurrent.futures.CancelledError, an Exception:
    # the error is carried to the waiting thread as a value instead.
    try:
        return await coro
    except asyncio.CancelledError as error:
        if type(error) is asyncio.CancelledError:  # a real cancellation
            raise
        return _Raised(error)


def run_on_loop(
    coro: Coroutine[Any, Any, T], loop: asyncio.AbstractEventLoop
) -> concurrent.futures.Future[Any]:
    """Run ``coro`` on ``loop`` from another thread, as
    :func:`asyncio.run_coroutine_threadsafe` does, keeping the errors it raises
    that are cancellations by type only (the client's disconnect): give the
    future to :func:`loop_result` for the result."""
    return asyncio.run_coroutine_threadsafe(_raising_as_value(coro), loop)


def loop_result(fut: concurrent.futures.Future[Any]) -> Any:
    """The result of a :func:`run_on_loop` future, raising what it raised."""
    result = fut.result()
    if isinstance(result, _Raised):
        raise result.error
    return result


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
        fut = run_on_loop(coro, loop)
        worker.wait_for(fut)
        result: T = loop_result(fut)
        return result
    if events._get_running_loop() is not None:
        coro.close()
        raise RuntimeError(
            "run_async() was called from async code; await the coroutine instead."
        )
    if threading.current_thread() is threading.main_thread():
        return run_on_main_loop(coro)
    return asyncio.run(coro)




class ReadyValue(Coroutine[Any, Any, T]):
    """The value of a dual sync/async API in async code, when it is already at
    hand (a form that was read before): awaiting it gives the value, and it
    can also be used as the value itself, as a template does.

    :param value: the value.
    """

    __slots__ = ("_value",)

    def __init__(self, value: T) -> None:
        self._value = value

    def __await__(self) -> Generator[None, None, T]:
        return self._value
        yield  # a generator that finishes at once

    def send(self, value: object) -> NoReturn:
        """Finish at once with the value (for ``asyncio.create_task``)."""
        raise StopIteration(self._value)

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        """Raise the exception thrown in: there is nothing to interrupt."""
        raise typ if val is None else val

    def close(self) -> None:
        """Nothing to close."""

    def __getitem__(self, key: object) -> Any:
        return self._value[key]  # type: ignore[index]

    def __iter__(self) -> Any:
        return iter(self._value)  # type: ignore[call-overload]

    def __len__(self) -> int:
        return len(self._value)  # type: ignore[arg-type]

    def __contains__(self, item: object) -> bool:
        return item in self._value  # type: ignore[operator]

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return bool(self._value == other)

    __hash__ = None  # type: ignore[assignment]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._value, name)

    def __repr__(self) -> str:
        return repr(self._value)


def dual(coro: Coroutine[object, object, T]) -> Any:
    """Return ``coro``'s value from sync code, or ``coro`` itself from async code.

    The return value of a method that is Flask's in sync code and Quart's in
    async code (``app.handle_user_exception(e)``, ``app.finalize_request(rv)``):
    a plain ``def`` view, hook or method override gets the result, as under
    Flask; ``async def`` code awaits it, as under Quart.
    """
    if in_sync_code():
        return run_async(coro)
    return coro


# -- types of the dual APIs, for type checkers --------------------------------
#
# A dual API (``request.get_data()``, ``render_template(...)``) returns its
# value in sync code and an awaitable of it in async code. A type checker
# cannot tell which code it checks, so these types are both: a ``bytes``
# (say) that may also be awaited to give ``bytes``. Then ``data =
# request.get_data()`` in a ``def`` view and ``data = await
# request.get_data()`` in an ``async def`` view are both typed ``bytes``.
# What a type checker cannot catch is a missing ``await`` in async code
# (``request.get_data().decode()``); that fails at run time with an error
# saying to await it (:class:`AwaitableValue`). docs/howto/typing.md has
# the whole story. Instances never reach user code: the APIs return the
# plain value or an :class:`AwaitableValue`; the classes exist at run time
# so that annotations naming them can be resolved.


class DualBytes(bytes):
    """``bytes`` from a dual API: the value in sync code, ``await`` it in async code.

    The return type of ``request.get_data()``, ``request.data``,
    ``response.get_data()`` and ``response.data``.
    """

    __slots__ = ()

    def __await__(self) -> Generator[None, None, bytes]:
        return bytes(self)
        yield  # a generator that finishes at once


class DualStr(str):
    """``str`` from a dual API: the value in sync code, ``await`` it in async code.

    The return type of ``render_template(...)``, ``request.get_data(as_text=True)``
    and ``response.text``.
    """

    __slots__ = ()

    def __await__(self) -> Generator[None, None, str]:
        return str(self)
        yield  # a generator that finishes at once


class DualIterator(Iterator[T_co], Awaitable[AsyncIterator[T_co]], Protocol[T_co]):
    """An iterator in sync code that, awaited in async code, gives an async
    iterator: the return type of ``stream_template(...)``."""


class AwaitableValue(Coroutine[Any, Any, T]):
    """The value of a dual sync/async API in async code: a coroutine to await.

    ``request.form`` and ``request.get_json()`` return their values directly
    in sync code and one of these in async code. It is awaited (or handed to
    ``asyncio.create_task``/``gather``) like the coroutine it wraps, but using
    it as the value itself (``request.form["name"]`` without ``await``)
    raises a :class:`RuntimeError` that says how to await it, where a bare
    coroutine would fail with a puzzling ``TypeError``.

    :param coro: the coroutine computing the value.
    :param expr: the expression as the user wrote it, for the error message,
        such as ``"request.form"``.
    """

    __slots__ = ("_coro", "_expr")

    def __init__(self, coro: Coroutine[object, object, T], expr: str) -> None:
        self._coro = coro
        self._expr = expr

    def __await__(self) -> Generator[Any, None, T]:
        return self._coro.__await__()

    def send(self, value: Any) -> Any:
        """Advance the wrapped coroutine (used by the event loop)."""
        return self._coro.send(value)

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        """Raise an exception in the wrapped coroutine (used by the event loop)."""
        if val is None and tb is None:
            return self._coro.throw(typ)
        return self._coro.throw(typ, val, tb)

    def close(self) -> None:
        """Close the wrapped coroutine without running it."""
        self._coro.close()

    @property
    def expression(self) -> str:
        """The expression to await, as the user wrote it, such as ``"request.form"``."""
        return self._expr

    def _misused(self, usage: str = "") -> RuntimeError:
        # Closed here so that Python does not add a "never awaited" warning
        # to the error that already says what to do.
        self._coro.close()
        expr = self._expr
        return RuntimeError(
            f"{expr} must be awaited in async code: use (await {expr}){usage}"
        )

    # Each use of the value itself raises the error that says to await it.

    def __getitem__(self, key: object) -> NoReturn:
        raise self._misused("[...]")

    def get(self, *args: object, **kwargs: object) -> NoReturn:
        """Refused: await the value first."""
        raise self._misused(".get(...)")

    def __iter__(self) -> NoReturn:
        raise self._misused()

    def __len__(self) -> NoReturn:
        raise self._misused()

    def __contains__(self, item: object) -> NoReturn:
        raise self._misused()

    def __bool__(self) -> NoReturn:
        raise self._misused()

    def __add__(self, other: object) -> NoReturn:
        raise self._misused(" + ...")

    def __radd__(self, other: object) -> NoReturn:
        raise self._misused()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("cr_"):
            # Coroutine introspection (asyncio's task repr, debuggers).
            return getattr(self._coro, name)
        if name.startswith("_"):
            raise AttributeError(name)
        raise self._misused(f".{name}")

    def __repr__(self) -> str:
        return f"<awaitable {self._expr}: use 'await {self._expr}' in async code>"


def unawaited_error(value: Awaitable[object], where: str) -> TypeError:
    """The error for an awaitable handed over where its value was meant.

    It says to await it, naming the call when ``value`` is an
    :class:`AwaitableValue` (``render_template(...)``), and closes a
    coroutine so that Python adds no "never awaited" warning to it.

    :param where: who got it, such as ``"The view function for 'index'"``.
    """
    expr = value.expression if isinstance(value, AwaitableValue) else None
    if isinstance(value, Coroutine):
        value.close()
    shown = expr or f"a {type(value).__name__}"
    return TypeError(
        f"{where} returned {shown} without awaiting it; in async code write"
        f" 'return await {expr or '...'}'."
    )


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable


def _as_coroutine(awaitable: Awaitable[T]) -> Coroutine[object, object, T]:
    if inspect.iscoroutine(awaitable):
        return awaitable
    return _await(awaitable)


def ensure_sync(func: Callable[..., Any]) -> Callable[..., Any]:
    """Return ``func`` callable from sync code (``app.ensure_sync``).

    A coroutine function is wrapped so that calling it from sync code runs
    it to completion, and calling it from async code returns the coroutine
    to await; a plain function is returned as it is.
    """
    if not is_async_callable(func):
        return func

    @functools.wraps(func)
    def call(*args: object, **kwargs: object) -> object:
        if in_sync_code():
            return run_async(func(*args, **kwargs))
        return func(*args, **kwargs)

    return call



async def ready(value: T) -> T:
    """Return ``value`` from a coroutine, for a dual method called in async code."""
    return value


async def awaited(awaitable: Awaitable[T]) -> T:
    """Await ``awaitable``: a coroutine of it, for a method that must return one."""
    return await awaitable


__all__ = [
    "AwaitableValue",
    "awaited",
    "CallerLease",
    "DualBytes",
    "DualIterator",
    "DualStr",
    "ReadyValue",
    "SyncWorker",
    "SyncWorkerPool",
    "WorkerLease",
    "call_outside_loop",
    "dual",
    "ensure_sync",
    "explain_thread_error",
    "in_sync_code",
    "is_async_callable",
    "lease_here",
    "loop_result",
    "ready",
    "new_request_lease",
    "run_async",
    "run_async_serving",
    "run_on_loop",
    "run_sync_in_executor",
    "unawaited_error",
]
