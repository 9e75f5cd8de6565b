"""Background tasks: when they start, their context, errors and shutdown."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from microframe import Microframe, current_app, g, has_request_context, websocket
from microframe.signals import got_background_exception
from microframe.testing import MicroframeClient


async def wait_for_tasks(app: Microframe) -> None:
    for _ in range(100):
        if not app.background_tasks:
            return
        await asyncio.wait(set(app.background_tasks), timeout=2)


async def test_task_runs_after_the_response(app: Microframe, client: MicroframeClient) -> None:
    events: list[str] = []

    async def job(name: str, *, greeting: str) -> None:
        events.append(f"job {greeting} {name} app={current_app.name} req={has_request_context()}")

    @app.get("/")
    async def index() -> str:
        app.add_background_task(job, "Ada", greeting="hi")
        await asyncio.sleep(0.01)
        events.append("view done")
        return "ok"

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        events.append("teardown")

    response = await client.get("/")
    assert response.status_code == 200
    await wait_for_tasks(app)
    assert events == ["view done", "teardown", f"job hi Ada app={app.name} req=False"]


async def test_sync_task_and_sync_view(app: Microframe, client: MicroframeClient) -> None:
    threads: list[str] = []

    def job() -> None:
        threads.append(threading.current_thread().name)
        g.touched = True

    @app.get("/")
    def index() -> str:
        app.add_background_task(job)
        return "ok"

    await client.get("/")
    await wait_for_tasks(app)
    assert threads and threads[0] != threading.main_thread().name


async def test_outside_request_starts_at_once(app: Microframe) -> None:
    started = asyncio.Event()

    async def job() -> None:
        started.set()

    app.add_background_task(job)
    await asyncio.wait_for(started.wait(), timeout=2)
    await wait_for_tasks(app)


def test_no_event_loop_runs_to_completion(app: Microframe) -> None:
    done: list[str] = []
    app.add_background_task(lambda: done.append(current_app.name))
    assert done == [app.name]


async def test_from_websocket(app: Microframe, client: MicroframeClient) -> None:
    done = asyncio.Event()

    async def job() -> None:
        done.set()

    @app.websocket("/ws")
    async def handler() -> None:
        app.add_background_task(job)
        await websocket.send("ok")

    async with client.websocket("/ws") as ws:
        assert await ws.receive() == "ok"
    await asyncio.wait_for(done.wait(), timeout=2)


async def test_exception_is_logged(app: Microframe, client: MicroframeClient, caplog: Any) -> None:
    errors: list[BaseException] = []

    def on_error(sender: Any, exception: BaseException) -> None:
        errors.append(exception)

    async def job() -> None:
        raise ValueError("job failed")

    @app.get("/")
    async def index() -> str:
        app.add_background_task(job)
        return "ok"

    with got_background_exception.connected_to(on_error, app):
        await client.get("/")
        await wait_for_tasks(app)
    assert "Exception in background task" in caplog.text
    assert "job failed" in caplog.text
    assert isinstance(errors[0], ValueError)


async def test_shutdown_waits_for_tasks(app: Microframe) -> None:
    done: list[str] = []

    async def job() -> None:
        await asyncio.sleep(0.05)
        done.append("job")

    @app.after_serving
    async def after() -> None:
        done.append("after_serving")

    async with app.test_app():
        app.add_background_task(job)
    assert done == ["job", "after_serving"]


async def test_shutdown_cancels_after_timeout(app: Microframe, caplog: Any) -> None:
    app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"] = 0.05
    events: list[str] = []

    async def stuck() -> None:
        try:
            await asyncio.sleep(10)
        finally:
            events.append("cancelled")

    async with app.test_app():
        app.add_background_task(stuck)
        await asyncio.sleep(0)
    assert events == ["cancelled"]
    assert "Cancelled background task" in caplog.text
    assert "stuck" in caplog.text
    assert not app.background_tasks
