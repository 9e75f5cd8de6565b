"""Background tasks: work that runs after the response, in the app context.

Mixed into :class:`~microframe.app.Microframe`::

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
from .sync import WorkerLease, in_sync_code, is_async_callable, run_async

if TYPE_CHECKING:
    from logging import Logger

    from .ctx import AppContext
    from .sync import SyncWorkerPool


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
    from .sync import _thread_state

    loop: asyncio.AbstractEventLoop | None = getattr(_thread_state, "loop", None)
    return loop


class BackgroundTaskMixin:
    """Background tasks for the app; see the module docstring."""

    if TYPE_CHECKING:
        config: Any

        @property
        def logger(self) -> Logger: ...
        @property
        def sync_pool(self) -> SyncWorkerPool: ...
        def app_context(self) -> AppContext: ...

    def _init_background(self) -> None:
        #: The background tasks that are running.
        self.background_tasks: set[asyncio.Task[None]] = set()

    def add_background_task(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run ``func(*args, **kwargs)`` in the background, in the app context.

        ``func`` may be a coroutine function or a plain function (run on a
        worker thread). Called during a request, the task starts after the
        response was sent; elsewhere it starts at once (and in sync code with
        no event loop at all, such as a script, it runs to completion before
        this returns).

        In tests, use async tests and ``async with app.test_app():`` (whose
        shutdown waits for the tasks) or :meth:`finish_background_tasks`: a
        plain ``def`` test's client runs each request on a short-lived event
        loop, which cancels tasks still running when the request ends.
        """
        call = functools.partial(func, *args, **kwargs)
        loop = _loop_of_caller()
        if loop is None:
            run_async(self._run_background_task(call))
            return
        req_ctx = _cv_request.get(None)
        # Only a pushed context is popped (and so starts its deferred calls);
        # a copy made by copy_current_request_context never is.
        if req_ctx is not None and req_ctx._token is not None:
            deferred = req_ctx.deferred_calls
            if deferred is None:
                deferred = req_ctx.deferred_calls = []
            deferred.append(functools.partial(self._start_background_task, loop, call))
        else:
            self._start_background_task(loop, call)

    def _start_background_task(
        self, loop: asyncio.AbstractEventLoop, call: Callable[..., object]
    ) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not loop:
            # Called from a worker thread: tasks are created on their loop.
            loop.call_soon_threadsafe(self._start_background_task, loop, call)
            return
        task = loop.create_task(
            self._run_background_task(call), name=f"background task {_describe(call)}"
        )
        self.background_tasks.add(task)
        task.add_done_callback(self.background_tasks.discard)

    async def _run_background_task(self, call: Callable[..., Any]) -> None:
        lease = WorkerLease(self.sync_pool)
        app_ctx = self.app_context()
        app_ctx.lease = lease
        try:
            async with app_ctx:
                if is_async_callable(call):
                    await call()
                else:
                    await lease.run(call)
        except Exception as error:
            self.logger.error(f"Exception in background task {_describe(call)}", exc_info=error)
            await signals.send_async(signals.got_background_exception, self, exception=error)
        finally:
            lease.release()

    async def finish_background_tasks(self, timeout: float | None = None) -> None:
        """Wait for running background tasks, then cancel those still running.

        Called at shutdown. Each cancelled task is logged as a warning.

        :param timeout: seconds to wait; ``BACKGROUND_TASK_SHUTDOWN_TIMEOUT``
            by default.
        """
        if in_sync_code():
            raise RuntimeError("finish_background_tasks() must be awaited in async code.")
        loop = asyncio.get_running_loop()
        # Tasks of other (test) loops cannot be awaited here and are left alone.
        tasks = {task for task in self.background_tasks if task.get_loop() is loop}
        if not tasks:
            return
        if timeout is None:
            timeout = self.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"]
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            self.logger.warning(
                f"Cancelled {task.get_name()}: still running {timeout}s after shutdown began"
                " (BACKGROUND_TASK_SHUTDOWN_TIMEOUT)."
            )
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)


__all__ = ["BackgroundTaskMixin"]
