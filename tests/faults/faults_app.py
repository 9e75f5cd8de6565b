"""The app the fault tests serve with Hypercorn (``faults_app:app``).

It counts requests started and torn down per path, and reports on
``/stats`` what a leak would show: open file descriptors, asyncio tasks,
request objects still alive, and resident memory. ``FAULTS_DIR`` names a
folder for the big download file and the ``after_serving`` marker.
"""

from __future__ import annotations

import asyncio
import gc
import os
from collections import Counter
from pathlib import Path
from typing import Any

from microframe import Microframe, render_template_string, request, send_file, websocket
from microframe.wrappers import Request

app = Microframe(__name__)
app.config.update(BODY_TIMEOUT=10, RESPONSE_TIMEOUT=30)

FOLDER = Path(os.environ.get("FAULTS_DIR", "."))
BIG_FILE = FOLDER / "big.bin"
MARKER = FOLDER / "after_serving.txt"
BIG_SIZE = 8 * 1024 * 1024
COUNTS: Counter[str] = Counter()
ERRORS: Counter[str] = Counter()


class HandledError(Exception):
    """Raised by /handler-boom; its error handler fails too."""


@app.before_serving
async def make_big_file() -> None:
    if not BIG_FILE.exists() or BIG_FILE.stat().st_size != BIG_SIZE:
        BIG_FILE.write_bytes(os.urandom(1024) * (BIG_SIZE // 1024))


@app.after_serving
async def mark_shutdown() -> None:
    MARKER.write_text(f"after_serving ran; slow requests finished: {COUNTS['teardown /slow']}\n")


@app.before_request
async def count_start() -> None:
    COUNTS[f"started {request.path}"] += 1
    if request.path == "/hook-boom":
        raise RuntimeError("before_request failed")


@app.after_request
async def maybe_fail_after(response: Any) -> Any:
    if request.path == "/after-boom":
        raise RuntimeError("after_request failed")
    return response


@app.teardown_request
async def count_teardown(exc: BaseException | None) -> None:
    COUNTS[f"teardown {request.path}"] += 1
    if exc is not None:
        ERRORS[f"{request.path} {type(exc).__name__}"] += 1
    if request.path == "/teardown-boom":
        raise RuntimeError("teardown failed")


@app.before_websocket
async def count_websocket_start() -> None:
    COUNTS[f"started {websocket.path}"] += 1


@app.teardown_websocket
async def count_websocket_teardown(exc: BaseException | None) -> None:
    COUNTS[f"teardown {websocket.path}"] += 1
    if exc is not None:
        ERRORS[f"{websocket.path} {type(exc).__name__}"] += 1


@app.websocket("/ws")
async def echo() -> None:
    while True:
        await websocket.send(await websocket.receive())


@app.errorhandler(HandledError)
async def failing_handler(error: HandledError) -> Any:
    raise RuntimeError("the error handler failed")


@app.get("/ok")
async def ok() -> str:
    return "ok"


@app.post("/upload")
async def upload() -> Any:
    total = 0
    async for chunk in request.body:
        total += len(chunk)
    return {"length": total}


@app.get("/stream")
async def stream() -> Any:
    async def gen() -> Any:
        for i in range(2_000):
            yield f"{i:08d}" * 128
            await asyncio.sleep(0.005)

    return gen(), {"Content-Type": "text/plain"}


@app.get("/download")
async def download() -> Any:
    return await send_file(BIG_FILE)


@app.get("/slow")
async def slow() -> Any:
    await asyncio.sleep(float(request.args.get("t", "1")))
    return {"slept": True}


@app.get("/boom")
async def boom() -> Any:
    raise ValueError("the view failed")


@app.get("/hook-boom")
async def hook_boom() -> str:
    return "never reached"


@app.get("/after-boom")
async def after_boom() -> str:
    return "replaced by a 500"


@app.get("/teardown-boom")
async def teardown_boom() -> str:
    return "sent before teardown fails"


@app.get("/template-boom")
async def template_boom() -> Any:
    return await render_template_string("{{ 1 // 0 }}")


@app.get("/template-syntax")
async def template_syntax() -> Any:
    return await render_template_string("{% for %}")


@app.get("/handler-boom")
async def handler_boom() -> Any:
    raise HandledError()


@app.get("/stream-boom")
async def stream_boom() -> Any:
    async def gen() -> Any:
        yield "first part\n"
        raise ValueError("the stream failed")

    return gen()


@app.get("/background-boom")
async def background_boom() -> str:
    async def job() -> None:
        raise ValueError("the background task failed")

    add = getattr(app, "add_background_task", None)
    if add is None:
        return "no background tasks"
    add(job)
    return "scheduled"


@app.get("/stats")
async def stats() -> Any:
    gc.collect()
    return {
        "counts": dict(COUNTS),
        "errors": dict(ERRORS),
        "fds": len(os.listdir("/proc/self/fd")),
        "tasks": len(asyncio.all_tasks()),
        # Requests still in memory, but for /stats: Hypercorn's keep-alive
        # timer holds the latest ones of a kept-alive connection briefly.
        "requests": [
            obj.path for obj in gc.get_objects() if isinstance(obj, Request) and obj.path != "/stats"
        ],
        "rss_kib": _rss_kib(),
    }


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0
