"""The SSE example in a real browser: a counter that the server pushes updates to."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from redis_server import running_redis

if TYPE_CHECKING:
    from playwright.sync_api import Page, Request

Screenshot = Callable[["Page", str], Path]


def numbers(page: Page) -> list[int]:
    """Return the whole numbers shown in the page's text, in order."""
    return [int(n) for n in re.findall(r"\d+", page.inner_text("body"))]


def test_counter_updates_live(serve: Callable[..., str], page: Page, screenshot: Screenshot) -> None:
    # ``serve`` comes first so the server outlives the page and its open stream.
    base = serve("sse")
    streams: list[Request] = []

    def on_request(request: Request) -> None:
        if request.resource_type == "eventsource":
            streams.append(request)

    page.on("request", on_request)
    page.goto(base)
    page.wait_for_function("() => /\\d/.test(document.body.innerText)")
    first = numbers(page)
    screenshot(page, "first")

    deadline = time.monotonic() + 15
    while numbers(page) == first:
        assert time.monotonic() < deadline, f"the counter stayed at {first} for 15 s"
        page.wait_for_timeout(200)
    assert streams, "the page opened no EventSource stream"
    screenshot(page, "updated")


def test_the_count_is_shared_by_two_servers(
    serve: Callable[..., str], page: Page, screenshot: Screenshot, tmp_path: Path
) -> None:
    # The page watches one server; "+1" is pressed on the other. The value
    # lives in the Redis both use, and the change travels on its broadcast.
    for redis in running_redis(tmp_path):
        env = {"MICROFRAME_BROADCAST_URL": redis.url, "MICROFRAME_COUNTER_TICK": "3600"}
        watched, other = serve("sse", env=env), serve("sse", env=env)
        page.goto(watched)
        page.wait_for_function("() => document.getElementById('status').textContent === 'Live.'")
        assert numbers(page)[0] == 0
        for expected in (1, 2):
            assert httpx.post(f"{other}/increment", timeout=10).json() == {"value": expected}
            page.wait_for_function(f"() => document.getElementById('value').textContent === '{expected}'")
        screenshot(page, "shared")
