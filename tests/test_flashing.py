"""Tests for flash and get_flashed_messages."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from markupsafe import Markup

from microframe import Microframe, flash, get_flashed_messages, message_flashed, session


@pytest.fixture
def flash_app(app: Microframe) -> Microframe:
    @app.post("/async")
    async def async_flash() -> str:
        await flash("Hello async")
        await flash("Careful", "warning")
        flash("Not awaited", "error")
        return "ok"

    @app.post("/sync")
    def sync_flash() -> str:
        assert flash("Hello sync") is None
        flash("Broken", "error")
        flash(Markup("<b>Bold</b>"), "info")
        return "ok"

    @app.get("/messages")
    async def messages() -> Any:
        first = get_flashed_messages(with_categories=True)
        again = get_flashed_messages(with_categories=True)
        assert first == again
        return [list(item) for item in first]

    @app.get("/sync-messages")
    def sync_messages() -> Any:
        return get_flashed_messages()

    return app


async def test_flash_from_async_view(flash_app: Microframe) -> None:
    client = flash_app.test_client()
    await client.post("/async")
    response = await client.get("/messages")
    assert await response.get_json() == [
        ["message", "Hello async"],
        ["warning", "Careful"],
        ["error", "Not awaited"],
    ]
    # Consumed: the next request sees none.
    assert await (await client.get("/messages")).get_json() == []


async def test_flash_from_sync_view(flash_app: Microframe) -> None:
    client = flash_app.test_client()
    await client.post("/sync")
    response = await client.get("/sync-messages")
    assert await response.get_json() == ["Hello sync", "Broken", "<b>Bold</b>"]
    assert await (await client.get("/sync-messages")).get_json() == []


async def test_markup_round_trips(app: Microframe) -> None:
    @app.post("/")
    async def store() -> str:
        await flash(Markup("<i>x</i>"))
        return "ok"

    @app.get("/")
    async def read() -> str:
        (message,) = get_flashed_messages()
        assert isinstance(message, Markup)
        return str(message)

    client = app.test_client()
    await client.post("/")
    assert await (await client.get("/")).get_data(as_text=True) == "<i>x</i>"


async def test_category_filter(app: Microframe) -> None:
    @app.post("/")
    async def store() -> str:
        await flash("a", "info")
        await flash("b", "error")
        await flash("c", "warning")
        await flash("d", "error")
        return "ok"

    @app.get("/")
    async def read() -> Any:
        return {
            "errors": get_flashed_messages(category_filter=["error"]),
            "pairs": [list(p) for p in get_flashed_messages(True, ("info", "warning"))],
            "all": get_flashed_messages(),
        }

    client = app.test_client()
    await client.post("/")
    assert await (await client.get("/")).get_json() == {
        "errors": ["b", "d"],
        "pairs": [["info", "a"], ["warning", "c"]],
        "all": ["a", "b", "c", "d"],
    }


async def test_flash_and_read_in_one_request(app: Microframe) -> None:
    @app.get("/")
    async def index() -> Any:
        await flash("now")
        messages = get_flashed_messages()
        assert "_flashes" not in session
        return messages

    assert await (await app.test_client().get("/")).get_json() == ["now"]


async def test_message_flashed_signal(flash_app: Microframe) -> None:
    recorded: list[tuple[Any, str, str]] = []
    recorded_async: list[str] = []

    def record(sender: Any, message: str, category: str) -> None:
        recorded.append((sender, message, category))

    async def record_async(sender: Any, message: str, category: str) -> None:
        recorded_async.append(message)

    message_flashed.connect(record, flash_app)
    message_flashed.connect(record_async, flash_app)
    try:
        client = flash_app.test_client()
        await client.post("/async")
        await client.post("/sync")
        # The un-awaited flash's task may still be on its way (a loaded
        # machine): give it a bounded while before the receivers go.
        for _ in range(200):
            if len(recorded) == 6 and len(recorded_async) == 6:
                break
            await asyncio.sleep(0.01)
    finally:
        message_flashed.disconnect(record, flash_app)
        message_flashed.disconnect(record_async, flash_app)
    # The un-awaited flash reaches receivers from a task of its own, so its
    # place relative to the next request's signals is not fixed.
    expected = [
        (flash_app, "Hello async", "message"),
        (flash_app, "Careful", "warning"),
        (flash_app, "Not awaited", "error"),
        (flash_app, "Hello sync", "message"),
        (flash_app, "Broken", "error"),
        (flash_app, Markup("<b>Bold</b>"), "info"),
    ]
    assert recorded[:2] == expected[:2]
    assert sorted(recorded, key=repr) == sorted(expected, key=repr)
    assert sorted(recorded_async) == sorted(str(item[1]) for item in expected)


def test_flash_in_test_request_context(app: Microframe) -> None:
    with app.test_request_context("/"):
        flash("plain")
        assert get_flashed_messages(with_categories=True) == [("message", "plain")]


def test_flash_needs_a_request(app: Microframe) -> None:
    with pytest.raises(RuntimeError, match="request"):
        flash("nowhere")
    with app.app_context(), pytest.raises(RuntimeError, match="test_request_context"):
        get_flashed_messages()


async def test_flash_without_secret_key(app: Microframe) -> None:
    app.config["SECRET_KEY"] = None

    @app.get("/")
    async def index() -> str:
        await flash("x")
        return "ok"

    with pytest.raises(RuntimeError, match="secret key"):
        await app.test_client().get("/")


async def test_session_transaction_sees_flashes(flash_app: Microframe) -> None:
    client = flash_app.test_client()
    await client.post("/sync")
    async with client.session_transaction() as sess:
        assert sess["_flashes"][0] == ("message", "Hello sync")
        sess["_flashes"] = [("info", "from the test")]
    assert await (await client.get("/sync-messages")).get_json() == ["from the test"]
