"""microframe.main_loop: the loop the main thread keeps for sync code's coroutines."""

from __future__ import annotations

import asyncio
import threading

import pytest

from microframe import Microframe, main_loop
from microframe.sync import run_async


def test_sync_test_requests_share_one_loop() -> None:
    # An asyncio object the app made on its first request (a lock bound to
    # the loop) still works on the next one, as under a server.
    app = Microframe(__name__)
    lock: dict[str, asyncio.Lock] = {}

    @app.get("/")
    async def index() -> str:
        held = lock.setdefault("lock", asyncio.Lock())
        async with held:
            await asyncio.sleep(0)
        return str(id(asyncio.get_running_loop()))

    client = app.test_client()
    loops = {client.get("/").text for _ in range(3)}
    assert len(loops) == 1


def test_each_call_cancels_what_it_left_running() -> None:
    # As asyncio.run: a task still running when the coroutine returns is cancelled.
    events: list[str] = []

    async def lingering() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            events.append("cancelled")
            raise

    async def start() -> str:
        asyncio.get_running_loop().create_task(lingering())
        await asyncio.sleep(0)
        return "started"

    assert run_async(start()) == "started"
    assert events == ["cancelled"]
    assert run_async(asyncio.sleep(0, "again")) == "again"  # the loop is still usable


def test_errors_pass_through_and_other_threads_get_their_own_loop() -> None:
    async def fail() -> None:
        raise LookupError("inside")

    with pytest.raises(LookupError, match="inside"):
        run_async(fail())

    async def which() -> int:
        return id(asyncio.get_running_loop())

    main = run_async(which())
    assert run_async(which()) == main
    seen: list[int] = []
    thread = threading.Thread(target=lambda: seen.append(run_async(which())))
    thread.start()
    thread.join(5)
    assert seen and seen[0] != main


def test_a_forked_process_makes_its_own_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    async def which() -> int:
        return id(asyncio.get_running_loop())

    first = run_async(which())
    monkeypatch.setattr(main_loop.os, "getpid", lambda: -1)  # as seen from a fork's child
    assert run_async(which()) != first
