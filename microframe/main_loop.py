"""The event loop the main thread keeps for running coroutines from sync code.

:func:`microframe.sync.run_async` outside a server (a plain ``def`` test's
requests through the test client, a script's ``render_template``) runs the
coroutine as :func:`asyncio.run` would, but on one loop kept between calls
on the main thread and closed at exit; other threads get a fresh loop each
time, as from :func:`asyncio.run`.
"""

from __future__ import annotations

import asyncio
import atexit
import os
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class _Kept:
    """The main thread's loop, once made, and the process that made it."""

    loop: asyncio.AbstractEventLoop | None = None
    pid = 0


_kept = _Kept()


def run_on_main_loop(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coro)``, on the loop the main thread keeps (see the module docstring)."""
    # asyncio.run(coro) on one loop the main thread keeps between calls (a
    # test's requests through the test client, a script's render_template):
    # making and closing a loop each time (its selector, the SIGINT handler,
    # the default executor's threads) cost more than a small request, about
    # 400 us. Each call still ends as asyncio.run's does in that tasks left
    # running (background tasks of a plain 'def' test's requests) are
    # cancelled; an async generator left unfinished is closed when it is
    # collected (on the loop's next run), not at once (shutdown_asyncgens()
    # would end the loop's tracking of new ones for good).
    loop: asyncio.AbstractEventLoop | None = _kept.loop
    if loop is None or loop.is_closed() or _kept.pid != os.getpid():  # a forked child makes its own
        loop = _kept.loop = asyncio.new_event_loop()
        _kept.pid = os.getpid()
        atexit.register(_close_main_loop, loop)
    try:
        return loop.run_until_complete(coro)
    except (KeyboardInterrupt, SystemExit):
        _finish_run(loop)
        _close_main_loop(loop)  # a fresh one next time
        raise
    finally:
        if not loop.is_closed():
            _finish_run(loop)


def _finish_run(loop: asyncio.AbstractEventLoop) -> None:
    # What asyncio.run does after its coroutine: cancel what is left.
    tasks = asyncio.all_tasks(loop)
    if tasks:
        for task in tasks:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        for task in tasks:
            if not task.cancelled() and task.exception() is not None:
                loop.call_exception_handler(
                    {
                        "message": "unhandled exception during run_async() shutdown",
                        "exception": task.exception(),
                        "task": task,
                    }
                )


def _close_main_loop(loop: asyncio.AbstractEventLoop) -> None:
    if loop.is_closed():
        return
    try:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        loop.close()


__all__ = ["run_on_main_loop"]
