"""Nothing of a finished request stays in memory (in process, no server)."""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any

from asgi_driver import Req, run_asgi

from microframe import Microframe, request


def make_app(refs: list[weakref.ref[Any]]) -> Microframe:
    app = Microframe(__name__)
    # Long timeouts, as by default: their timers must not keep the request.
    app.config.update(BODY_TIMEOUT=60, RESPONSE_TIMEOUT=60)

    @app.post("/read")
    async def read() -> Any:
        refs.append(weakref.ref(request._get_current_object()))  # type: ignore[attr-defined]
        return {"length": len(await request.get_data())}

    @app.get("/stream")
    async def stream() -> Any:
        refs.append(weakref.ref(request._get_current_object()))  # type: ignore[attr-defined]

        async def gen() -> Any:
            yield "streamed"

        return gen()

    return app


async def test_timers_do_not_keep_finished_requests_alive() -> None:
    # Regression: asyncio keeps a cancelled timer, and the context variables
    # of whoever created it, until it is due; the body and response timeouts
    # kept each request (and its body) alive for a minute after it ended.
    refs: list[weakref.ref[Any]] = []
    app = make_app(refs)
    # A busy server always has some earlier timer pending; asyncio drops
    # cancelled timers only when they reach the head of its queue.
    pending = asyncio.get_running_loop().call_later(30, lambda: None)
    read = await run_asgi(app, Req("POST", "/read", body=b"x" * 100_000))
    assert read.body == b'{"length":100000}\n'
    streamed = await run_asgi(app, Req("GET", "/stream"))
    assert streamed.body == b"streamed"
    gone = await run_asgi(app, Req("POST", "/read", chunks=(b"x",), disconnect=True))
    assert gone.status == 0
    del read, streamed, gone
    # Let the loop run the wake-ups already queued by the finished tasks.
    for _ in range(5):
        await asyncio.sleep(0)
    gc.collect()
    pending.cancel()
    assert len(refs) == 3
    assert [ref() for ref in refs] == [None, None, None]
