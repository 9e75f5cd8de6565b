"""The bridge between sync and async code (microframe.sync)."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import sqlite3
import threading
import time
from typing import Any

import pytest

from microframe import Microframe, g, request
from microframe.blocking import run_sync, run_sync_iterable
from microframe.sync import (
    SyncWorkerPool,
    WorkerLease,
    in_sync_code,
    is_async_callable,
    run_async,
    run_sync_in_executor,
)


async def test_lease_runs_every_call_on_one_thread() -> None:
    pool = SyncWorkerPool(4)
    lease = WorkerLease(pool)
    try:
        idents = {await lease.run(threading.get_ident) for _ in range(5)}
        assert len(idents) == 1
        assert idents != {threading.get_ident()}
        assert await lease.run(lambda a, b=0: a + b, 2, b=3) == 5
    finally:
        lease.release()
        pool.shutdown()


async def test_lease_passes_errors_back() -> None:
    pool = SyncWorkerPool(1)
    lease = WorkerLease(pool)

    def fail() -> None:
        raise LookupError("missing")

    try:
        with pytest.raises(LookupError, match="missing"):
            await lease.run(fail)
        # The thread survives an error.
        assert await lease.run(lambda: "still here") == "still here"
    finally:
        lease.release()
        pool.shutdown()


async def test_lease_carries_context_variables() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var")
    var.set("from the caller")
    pool = SyncWorkerPool(1)
    lease = WorkerLease(pool)
    try:
        assert await lease.run(var.get) == "from the caller"
    finally:
        lease.release()
        pool.shutdown()


async def test_pool_is_bounded_and_reuses_threads() -> None:
    pool = SyncWorkerPool(2)
    leases = [WorkerLease(pool) for _ in range(4)]
    lock = threading.Lock()
    active = 0
    peak = 0

    def work() -> int:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.05)
        with lock:
            active -= 1
        return threading.get_ident()

    async def one(lease: WorkerLease) -> int:
        try:
            return await lease.run(work)
        finally:
            lease.release()

    try:
        idents = await asyncio.wait_for(asyncio.gather(*(one(lease) for lease in leases)), 5)
    finally:
        pool.shutdown()
    assert peak == 2
    assert len(set(idents)) == 2


async def test_cancelled_waiter_does_not_leak_a_worker() -> None:
    pool = SyncWorkerPool(1)
    holder = WorkerLease(pool)
    await holder.run(lambda: None)
    waiter = asyncio.create_task(WorkerLease(pool).run(lambda: None))
    await asyncio.sleep(0.01)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    holder.release()
    # The only worker is free again for a new lease.
    lease = WorkerLease(pool)
    try:
        assert await asyncio.wait_for(lease.run(lambda: "ok"), 2) == "ok"
    finally:
        lease.release()
        pool.shutdown()


def test_pool_needs_a_worker() -> None:
    with pytest.raises(ValueError, match="SYNC_WORKERS"):
        SyncWorkerPool(0)


async def test_lease_without_pool_uses_the_executor() -> None:
    lease = WorkerLease(None)
    assert await lease.run(threading.get_ident) != threading.get_ident()


async def test_run_sync_in_executor_carries_context() -> None:
    var: contextvars.ContextVar[int] = contextvars.ContextVar("n")
    var.set(7)
    assert await run_sync_in_executor(lambda x: var.get() + x, 1) == 8


# -- run_async and in_sync_code --------------------------------------------------------------


async def _double(x: int) -> int:
    await asyncio.sleep(0)
    return x * 2


def test_run_async_without_a_loop() -> None:
    assert in_sync_code()
    assert run_async(_double(4)) == 8


async def test_run_async_from_async_code_is_an_error() -> None:
    assert not in_sync_code()
    with pytest.raises(RuntimeError, match="await the coroutine instead"):
        run_async(_double(1))


async def test_run_async_from_a_leased_thread_uses_the_loop() -> None:
    pool = SyncWorkerPool(1)
    lease = WorkerLease(pool)
    loop = asyncio.get_running_loop()

    async def on_loop() -> bool:
        return asyncio.get_running_loop() is loop

    def sync_code() -> bool:
        assert in_sync_code()
        return run_async(on_loop())

    try:
        assert await asyncio.wait_for(lease.run(sync_code), 2) is True
    finally:
        lease.release()
        pool.shutdown()


async def test_run_async_calling_back_into_the_lease_does_not_deadlock() -> None:
    pool = SyncWorkerPool(1)
    lease = WorkerLease(pool)

    async def needs_sync_again() -> str:
        # The lease's only thread is blocked waiting for us.
        return await lease.run(lambda: "inner")

    def outer() -> str:
        return run_async(needs_sync_again())

    try:
        assert await asyncio.wait_for(lease.run(outer), 2) == "inner"
    finally:
        lease.release()
        pool.shutdown()


def test_is_async_callable() -> None:
    async def coro_func() -> None:
        pass

    def plain() -> None:
        pass

    class AsyncCallable:
        async def __call__(self) -> None:
            pass

    class SyncCallable:
        def __call__(self) -> None:
            pass

    assert is_async_callable(coro_func)
    assert is_async_callable(functools.partial(coro_func))
    assert is_async_callable(functools.partial(functools.partial(coro_func)))
    assert is_async_callable(AsyncCallable())
    assert not is_async_callable(plain)
    assert not is_async_callable(functools.partial(plain))
    assert not is_async_callable(SyncCallable())
    assert not is_async_callable(len)


# -- through the app ------------------------------------------------------------------------


async def test_all_sync_code_of_a_request_shares_a_thread() -> None:
    app = Microframe(__name__)
    seen: list[int] = []

    @app.before_request
    def open_db() -> None:
        seen.append(threading.get_ident())
        g.db = sqlite3.connect(":memory:")  # refuses use from other threads
        g.db.execute("create table t (x)")

    @app.get("/")
    def index() -> str:
        seen.append(threading.get_ident())
        g.db.execute("insert into t values (1)")
        return str(g.db.execute("select count(*) from t").fetchone()[0])

    @app.after_request
    def after(response: Any) -> Any:
        seen.append(threading.get_ident())
        return response

    @app.teardown_appcontext
    def close_db(exc: BaseException | None) -> None:
        seen.append(threading.get_ident())
        g.db.close()

    response = await app.test_client().get("/")
    assert response.status_code == 200
    assert await response.get_data() == b"1"
    assert len(seen) == 4
    assert len(set(seen)) == 1
    assert seen[0] != threading.get_ident()


async def test_sync_workers_bound_concurrent_requests() -> None:
    app = Microframe(__name__)
    app.config["SYNC_WORKERS"] = 2
    lock = threading.Lock()
    active = 0
    peak = 0
    threads: set[int] = set()

    @app.get("/block")
    def block() -> str:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
            threads.add(threading.get_ident())
        time.sleep(0.1)
        with lock:
            active -= 1
        return "done"

    client = app.test_client()
    started = time.monotonic()
    responses = await asyncio.wait_for(
        asyncio.gather(*(client.get("/block") for _ in range(4))), 5
    )
    elapsed = time.monotonic() - started
    assert [r.status_code for r in responses] == [200] * 4
    assert peak == 2
    assert len(threads) == 2
    assert elapsed >= 0.2  # two rounds of two
    await app.shutdown()


async def test_sync_views_calling_async_code_never_deadlock() -> None:
    app = Microframe(__name__)
    app.config["SYNC_WORKERS"] = 1

    async def lookup(key: str) -> str:
        await asyncio.sleep(0.01)
        return key.upper()

    @app.post("/mixed")
    def mixed() -> Any:
        # Sync code reaching async results while every worker is busy.
        data = request.get_json()
        value = run_async(lookup(data["key"]))
        return {"value": value, "form": request.form.to_dict()}

    client = app.test_client()
    responses = await asyncio.wait_for(
        asyncio.gather(*(client.post("/mixed", json={"key": f"k{i}"}) for i in range(4))), 5
    )
    assert [await r.get_json() for r in responses] == [
        {"value": f"K{i}", "form": {}} for i in range(4)
    ]
    await app.shutdown()


# -- where teardown runs ----------------------------------------------------------------


def test_a_context_pushed_in_a_sync_view_tears_down_on_its_thread() -> None:
    # A 'with app.app_context():' block inside a sync view: its sync teardown
    # runs on the view's worker thread, where the block's code ran.
    app = Microframe(__name__)
    threads: dict[str, int] = {}

    @app.teardown_appcontext
    def close(exc: BaseException | None) -> None:
        db = g.pop("inner_db", None)
        if db is not None:
            threads["teardown"] = threading.get_ident()
            db.close()

    @app.get("/")
    def index() -> str:
        threads["view"] = threading.get_ident()
        with app.app_context():
            g.inner_db = sqlite3.connect(":memory:")
            g.inner_db.execute("select 1")
        return "ok"

    assert app.test_client().get("/").text == "ok"
    assert threads["teardown"] == threads["view"] != threading.get_ident()


async def test_sync_teardown_of_an_async_view_runs_on_the_loop_thread() -> None:
    app = Microframe(__name__)
    threads: dict[str, int] = {}

    @app.before_request
    def hook() -> None:  # uses the worker thread; the view does not
        threads["hook"] = threading.get_ident()

    @app.get("/")
    async def index() -> str:
        threads["view"] = threading.get_ident()
        return "ok"

    @app.teardown_request
    def teardown_request(exc: BaseException | None) -> None:
        threads["teardown_request"] = threading.get_ident()

    @app.teardown_appcontext
    def teardown_appcontext(exc: BaseException | None) -> None:
        threads["teardown_appcontext"] = threading.get_ident()

    assert (await app.test_client().get("/")).status_code == 200
    loop_thread = threading.get_ident()
    assert threads["hook"] != loop_thread
    assert threads["view"] == threads["teardown_request"] == loop_thread
    assert threads["teardown_appcontext"] == loop_thread


async def test_sync_teardown_of_an_unmatched_request_runs_where_its_hooks_ran() -> None:
    app = Microframe(__name__)
    threads: dict[str, int] = {}

    @app.before_request
    def hook() -> None:
        threads["hook"] = threading.get_ident()

    @app.teardown_request
    def teardown_request(exc: BaseException | None) -> None:
        threads["teardown"] = threading.get_ident()

    assert (await app.test_client().get("/missing")).status_code == 404
    assert threads["teardown"] == threads["hook"] != threading.get_ident()


def test_thread_errors_get_a_note_once() -> None:
    from microframe.sync import explain_thread_error

    error = sqlite3.ProgrammingError(
        "SQLite objects created in a thread can only be used in that same thread."
    )
    explain_thread_error(error)
    explain_thread_error(error)
    assert len(error.__notes__) == 1
    assert "One thread per request" in error.__notes__[0]
    other = ValueError("another error")
    explain_thread_error(other)
    assert not hasattr(other, "__notes__")


async def test_sync_teardown_of_an_async_websocket_handler_runs_on_the_loop_thread() -> None:
    app = Microframe(__name__)
    closed: list[str] = []

    @app.before_websocket
    def hook() -> None:  # takes the worker thread; the handler stays on the loop
        g.hook = threading.get_ident()

    @app.websocket("/ws")
    async def ws() -> None:
        from microframe import websocket

        g.db = sqlite3.connect(":memory:")
        await websocket.send(str(g.db.execute("select 42").fetchone()[0]))

    @app.teardown_websocket
    def close_db(exc: BaseException | None) -> None:
        g.db.close()  # sqlite3 refuses another thread than the handler's
        closed.append("websocket")

    async with app.test_client().websocket("/ws") as connection:
        assert await connection.receive() == "42"
    for _ in range(100):  # teardown follows the close, on the loop: bounded wait
        if closed:
            break
        await asyncio.sleep(0.01)
    assert closed == ["websocket"]



# -- Quart's run_sync and run_sync_iterable (microframe.blocking) -------------------------

_where: contextvars.ContextVar[str] = contextvars.ContextVar("where", default="unset")


async def test_run_sync_runs_off_the_loop_with_the_contexts() -> None:
    def blocking(a: int, b: int = 0) -> tuple[int, int, str]:
        return threading.get_ident(), a + b, _where.get()

    _where.set("caller's")
    wrapped = run_sync(blocking)
    assert wrapped.__name__ == "blocking"
    thread, total, where = await wrapped(2, b=3)
    assert thread != threading.get_ident()
    assert (total, where) == (5, "caller's")


async def test_run_sync_passes_errors_and_iterates_a_returned_generator() -> None:
    def fails() -> None:
        raise LookupError("from the thread")

    with pytest.raises(LookupError, match="from the thread"):
        await run_sync(fails)()

    def numbers(count: int) -> Any:
        for n in range(count):
            yield n, threading.get_ident()

    items = [item async for item in await run_sync(numbers)(3)]
    assert [n for n, _ in items] == [0, 1, 2]
    assert threading.get_ident() not in {thread for _, thread in items}


async def test_run_sync_iterable_ends_and_passes_errors() -> None:
    assert [item async for item in run_sync_iterable([])] == []
    assert [item async for item in run_sync_iterable(range(3))] == [0, 1, 2]

    def broken() -> Any:
        yield 1
        raise ValueError("midway")

    got: list[int] = []
    with pytest.raises(ValueError, match="midway"):
        async for item in run_sync_iterable(broken()):
            got.append(item)
    assert got == [1]
