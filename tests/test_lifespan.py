"""The serving lifecycle: startup, shutdown and the app's shutdown_event."""

from __future__ import annotations

import asyncio

from microframe import Microframe


async def test_shutdown_event_is_set_when_shutdown_begins() -> None:
    # A task that runs while the app serves, as Quart-Tasks starts one: it
    # loops until shutdown_event is set, and shutdown waits for it to end.
    app = Microframe(__name__)
    runs: list[str] = []

    async def loop_until_shutdown() -> None:
        while not app.shutdown_event.is_set():
            runs.append("tick")
            await asyncio.sleep(0)
        runs.append("stopped")

    @app.before_serving
    async def start() -> None:
        task = asyncio.get_running_loop().create_task(loop_until_shutdown())
        app.background_tasks.add(task)

    await app.startup()
    assert not app.shutdown_event.is_set()
    await asyncio.sleep(0.01)
    await asyncio.wait_for(app.shutdown(), timeout=5)
    assert app.shutdown_event.is_set()
    assert runs[0] == "tick" and runs[-1] == "stopped"


async def test_startup_makes_a_fresh_shutdown_event() -> None:
    app = Microframe(__name__)
    async with app.test_app():
        pass
    assert app.shutdown_event.is_set()
    async with app.test_app():
        assert not app.shutdown_event.is_set()


def test_shutdown_event_is_of_the_apps_event_class() -> None:
    class Event(asyncio.Event):
        pass

    class App(Microframe):
        event_class = Event

    assert isinstance(App(__name__).shutdown_event, Event)
