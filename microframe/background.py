"""Background tasks: work that runs after the response, in the app context.

The machinery behind :meth:`Microframe.add_background_task
<microframe.app.Microframe.add_background_task>` and
:meth:`~microframe.app.Microframe.finish_background_tasks`::

    @app.post("/signup")
    async def signup():
        user = await create_user(await request.form)
        app.add_background_task(send_welcome_email, user.email)
        return "Welcome!"

A task added during a request starts once the request is over (after its
response was sent); elsewhere it starts at once. Each runs in a fresh app
context, sync functions on a worker thread. Errors are logged on
:attr:`~microframe.app.Microframe.logger` and sent as the
``got_background_exception`` signal. At shutdown the app waits up to
``BACKGROUND_TASK_SHUTDOWN_TIMEOUT`` seconds for running tasks, then cancels
the rest, logging each one it cancelled.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import signals
from .globals import _cv_request
from .sync import WorkerLease, _thread_state, is_async_callable, run_async

if TYPE_CHECKING:
    from .app import Microframe


def _describe(func: Callable[..., object]) -> str:
    while isinstance(func, functools.partial):
        func = func.func
    return getattr(func, "__qualname__", None) or repr(func)


def _loop_of_caller() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        pass
    # A sync view on a worker thread: the loop serving its request.
    loop: asyncio.AbstractEventLoop | None = getattr(_thread_state, "loop", None)
    return loop


def add_task(app: Microframe, call: Callable[[], Any]) -> None:
    """Run ``call()`` in the background for ``app``: after the current
    request, else at once (to completion, from sync code without a loop)."""
    loop = _loop_of_caller()
    if loop is None:
        run_async(_run_task(app, call))
        return
    req_ctx = _cv_request.get(None)
    # Only a pushed context is popped (and so starts its deferred calls);
    # a copy made by copy_current_request_context never is.
    if req_ctx is not None and req_ctx._token is not None:
        deferred = req_ctx.deferred_calls
        if deferred is None:
            deferred = req_ctx.deferred_calls = []
        deferred.append(functools.partial(_start_task, app, loop, call))
    else:
        _start_task(app, loop, call)


def _start_task(app: Microframe, loop: asyncio.AbstractEventLoop, call: Callable[..., object]) -> None:
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is not loop:
        # Called from a worker thread: tasks are created on their loop.
        loop.call_soon_threadsafe(_start_task, app, loop, call)
        return
    task = loop.create_task(_run_task(app, call), name=f"background task {_describe(call)}")
    app.background_tasks.add(task)
    task.add_done_callback(app.background_tasks.discard)


async def _run_task(app: Microframe, call: Callable[..., Any]) -> None:
    lease = WorkerLease(app.sync_pool)
    app_ctx = app.app_context()
    app_ctx.lease = lease
    try:
        async with app_ctx:
            if is_async_callable(call):
                await call()
            else:
                await lease.run(call)
    except Exception as error:
        app.logger.error(f"Exception in background task {_describe(call)}", exc_info=error)
        await signals.send_async(signals.got_background_exception, app, exception=error)
    finally:
        lease.release()


async def finish_tasks(app: Microframe, timeout: float | None) -> None:
    """Wait up to ``timeout`` seconds for ``app``'s running background tasks,
    then cancel (and log) those still running."""
    loop = asyncio.get_running_loop()
    # Tasks of other (test) loops cannot be awaited here and are left alone.
    tasks = {task for task in app.background_tasks if task.get_loop() is loop}
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=timeout)
    for task in pending:
        app.logger.warning(
            f"Cancelled {task.get_name()}: still running {timeout}s after shutdown began"
            " (BACKGROUND_TASK_SHUTDOWN_TIMEOUT)."
        )
        task.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)


__all__ = ["add_task", "finish_tasks"]
