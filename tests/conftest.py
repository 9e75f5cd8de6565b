"""Shared fixtures: an app, its test client, and a guard against leaked contexts."""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from microframe import Microframe
from microframe.globals import _cv_app, _cv_request
from microframe.testing import MicroframeClient


@pytest.fixture
def app() -> Microframe:
    """A fresh app in testing mode with a secret key."""
    # root_path is explicit: "conftest" may name another folder's conftest.
    app = Microframe(__name__, root_path=os.path.dirname(os.path.abspath(__file__)))
    app.config.update(TESTING=True, SECRET_KEY="test secret key")
    return app


@pytest.fixture
def client(app: Microframe) -> MicroframeClient:
    """A test client for :func:`app`."""
    return app.test_client()


def _leaked() -> list[str]:
    leaked = []
    if _cv_request.get(None) is not None:
        leaked.append("request")
    if _cv_app.get(None) is not None:
        leaked.append("app")
    return leaked


def _pop_leaked() -> None:
    # Pop what a sync test left behind, so the following tests start clean.
    for var in (_cv_request, _cv_app):
        for _ in range(10):
            ctx: Any = var.get(None)
            if ctx is None:
                break
            try:
                ctx.pop()
            except Exception:
                break


def _fail_leak(leaked: list[str]) -> None:
    pytest.fail(
        f"The test left an {' and '.join(leaked)} context pushed; pop it"
        " (use 'with'/'async with' around contexts you push).",
        pytrace=False,
    )


def _check_async(test: Callable[..., Any]) -> Callable[..., Any]:
    # pytest-asyncio runs an async test in a copy of the contextvars, so the
    # check must run inside the test's own context, right after its body.
    @functools.wraps(test)
    async def checked(*args: Any, **kwargs: Any) -> None:
        await test(*args, **kwargs)
        leaked = _leaked()
        if leaked:
            _fail_leak(leaked)

    return checked


@pytest.fixture(autouse=True)
def _no_leaked_contexts(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that leaves an app or request context pushed."""
    item: Any = request.node
    original = getattr(item, "obj", None)
    wrapped = (
        original is not None
        and inspect.iscoroutinefunction(original)
        and not hasattr(original, "hypothesis")
    )
    if wrapped:
        item.obj = _check_async(original)
    try:
        yield
    finally:
        if wrapped:
            item.obj = original
    leaked = _leaked()
    if leaked:
        _pop_leaked()
        _fail_leak(leaked)


class RawResponse:
    """What an app sent for one request through raw ASGI messages."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


async def _raw_request(
    app: Microframe,
    method: str = "GET",
    path: str = "/",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    query_string: bytes = b"",
) -> RawResponse:
    """Send one request to ``app`` as ASGI messages, bypassing the test client."""
    raw_headers = [(b"host", b"localhost")]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query_string,
        "root_path": "",
        "headers": raw_headers,
        "client": ("127.0.0.1", 1234),
        "server": ("localhost", 80),
    }
    sent: list[dict[str, Any]] = []
    received = False

    async def receive() -> dict[str, Any]:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": body, "more_body": False}
        import asyncio

        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)  # type: ignore[arg-type]
    start = sent[0]
    assert start["type"] == "http.response.start"
    out_headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in start["headers"]}
    data = b"".join(m.get("body", b"") for m in sent[1:])
    return RawResponse(start["status"], out_headers, data)


@pytest.fixture
def raw_request() -> Callable[..., Any]:
    """Send a request as raw ASGI messages: ``await raw_request(app, "HEAD", "/")``."""
    return _raw_request
