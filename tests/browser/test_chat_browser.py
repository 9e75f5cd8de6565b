"""The chat example in a real browser: two visitors, one WebSocket room.

The page is driven without knowing its markup beyond "a text field to type
a message in", so the test keeps working as the example's page changes.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from redis_server import running_redis

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

Screenshot = Callable[["Page", str], Path]

MESSAGE_FIELD = "input[type=text], input:not([type]), textarea"


def send(page: Page, text: str) -> None:
    """Type ``text`` in the page's last text field and send it.

    The last field is the message box when the page also asks for a name.
    A field in a form is submitted with Enter; otherwise its button is clicked.
    """
    field = page.locator(MESSAGE_FIELD).last
    field.fill(text)
    if field.evaluate("element => element.form !== null"):
        field.press("Enter")
    else:
        page.locator("button").last.click()


def shows(page: Page, text: str, timeout: float) -> bool:
    """Return whether ``text`` appears in the page within ``timeout`` seconds."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    try:
        page.get_by_text(text).first.wait_for(timeout=timeout * 1000)
    except PlaywrightTimeoutError:
        return False
    return True


def open_chat(browser: Browser, url: str) -> Page:
    """Open the chat at ``url`` in a new browser context; wait for its WebSocket."""
    context = browser.new_context(viewport={"width": 800, "height": 600})
    context.set_default_timeout(10_000)
    page = context.new_page()
    with page.expect_websocket(lambda ws: "/ws" in ws.url):
        page.goto(url)
    return page


def test_message_reaches_the_other_visitor(
    browser: Browser, serve: Callable[..., str], screenshot: Screenshot
) -> None:
    base = serve("chat")
    alice = open_chat(browser, base)
    bob = open_chat(browser, base)
    try:
        # A socket may still be opening when the page has loaded: Bob says
        # hello until Alice hears it, so both are surely in the room.
        deadline = time.monotonic() + 15
        for attempt in itertools.count(1):
            hello = f"Bob is here ({attempt})"
            send(bob, hello)
            if shows(alice, hello, 1.0):
                break
            assert time.monotonic() < deadline, "Bob's messages never reached Alice"

        send(alice, "Hello Bob, from Alice's browser")
        assert shows(bob, "Hello Bob, from Alice's browser", 10), "Alice's message did not reach Bob"
        screenshot(alice, "alice")
        screenshot(bob, "bob")
    finally:
        alice.context.close()
        bob.context.close()


def test_the_page_joins_with_its_name(
    browser: Browser, serve: Callable[..., str], screenshot: Screenshot
) -> None:
    base = serve("chat")
    context = browser.new_context(viewport={"width": 800, "height": 600})
    context.set_default_timeout(10_000)
    try:
        ada = context.new_page()
        with ada.expect_websocket(lambda ws: ws.url.endswith("/ws?name=Ada")):
            ada.goto(base + "/?name=Ada")
        assert shows(ada, "Connected as Ada.", 10), "the page did not join as Ada"
        bob = open_chat(browser, base)
        try:
            send(bob, "hello Ada")
            assert shows(ada, "hello Ada", 10)
            screenshot(ada, "named")
        finally:
            bob.context.close()
    finally:
        context.close()


def test_two_servers_one_room_through_redis(
    browser: Browser, serve: Callable[..., str], screenshot: Screenshot, tmp_path: Path
) -> None:
    # Alice's page is served by one server, Bob's by another; the room is a
    # broadcast channel on the Redis both use.
    for redis in running_redis(tmp_path):
        env = {"MICROFRAME_BROADCAST_URL": redis.url}
        alice = open_chat(browser, serve("chat", env=env) + "/?name=Alice")
        bob = open_chat(browser, serve("chat", env=env) + "/?name=Bob")
        try:
            assert shows(alice, "Bob joined", 10), "Bob's join did not reach Alice's server"
            send(alice, "Hello Bob, from the other server")
            assert shows(bob, "Alice: Hello Bob, from the other server", 10)
            send(bob, "Hello Alice")
            assert shows(alice, "Bob: Hello Alice", 10)
            screenshot(alice, "alice")
            screenshot(bob, "bob")
        finally:
            alice.context.close()
            bob.context.close()
