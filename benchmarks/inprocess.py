"""In-process ASGI overhead: microframe against raw ASGI, Starlette and Quart.

Each app is called directly with a synthetic scope, receive and send (no
network); every response is checked, then the median time per request over
several rounds is reported with ratios, all in one run so machine drift hits
every framework alike.

    python benchmarks/inprocess.py            # full run
    python benchmarks/inprocess.py --smoke    # a few hundred requests, checks only

Quart and Starlette come from the ``bench`` extra; a framework that is not
installed is skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

App = Callable[..., Awaitable[None]]
CASES: dict[str, tuple[str, int, bytes]] = {
    "text": ("/", 200, b"Hello, World!"),
    "json": ("/json", 200, b'{"hello":"world"}'),
    "404": ("/missing", 404, b""),
}


def raw_app() -> App:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope["path"]
        if path == "/":
            body, ctype, status = b"Hello, World!", b"text/plain", 200
        elif path == "/json":
            body, ctype, status = b'{"hello":"world"}', b"application/json", 200
        else:
            body, ctype, status = b"Not Found", b"text/plain", 404
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", ctype), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    return app


def microframe_app() -> App:
    from microframe import Microframe

    app = Microframe(__name__)

    @app.get("/")
    async def text() -> Any:
        return "Hello, World!"

    @app.get("/json")
    async def json_view() -> Any:
        return {"hello": "world"}

    return app


def starlette_app() -> App:
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, PlainTextResponse
    from starlette.routing import Route

    async def text(request: Any) -> Any:
        return PlainTextResponse("Hello, World!")

    async def json_view(request: Any) -> Any:
        return JSONResponse({"hello": "world"})

    return Starlette(routes=[Route("/", text), Route("/json", json_view)])  # type: ignore[return-value]


def quart_app() -> App:
    from quart import Quart

    app = Quart(__name__)

    @app.get("/")
    async def text() -> Any:
        return "Hello, World!"

    @app.get("/json")
    async def json_view() -> Any:
        return {"hello": "world"}

    return app  # type: ignore[return-value]


def scope_for(path: str) -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": [(b"host", b"localhost"), (b"user-agent", b"bench")],
        "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000), "extensions": {},
    }


async def call(app: App, path: str) -> tuple[int, bytes]:
    status = 0
    parts: list[bytes] = []
    received = False
    finished = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        else:
            parts.append(message.get("body", b""))
            if not message.get("more_body", False):
                finished.set()

    await app(scope_for(path), receive, send)
    return status, b"".join(parts)


def check(name: str, case: str, status: int, body: bytes) -> None:
    _, want_status, want_body = CASES[case]
    if status != want_status:
        raise AssertionError(f"{name} {case}: status {status}, expected {want_status}")
    if want_body and body.strip() != want_body and json.loads(body or b"null") != json.loads(want_body):
        raise AssertionError(f"{name} {case}: body {body!r}")


async def measure(app: App, path: str, count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        await call(app, path)
    return (time.perf_counter() - start) / count * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="a few hundred requests, checks only")
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    factories = {"raw": raw_app, "microframe": microframe_app,
                 "starlette": starlette_app, "quart": quart_app}
    apps: dict[str, App] = {}
    for name, factory in factories.items():
        try:
            apps[name] = factory()
        except ImportError:
            print(f"{name}: not installed, skipped")
    for name, app in apps.items():
        for case, (path, _, _) in CASES.items():
            check(name, case, *await call(app, path))
    if args.smoke:
        for name, app in apps.items():
            for case, (path, _, _) in CASES.items():
                for _ in range(100):
                    check(name, case, *await call(app, path))
        print(f"smoke: {len(apps) * len(CASES) * 100} requests checked")
        return
    results: dict[str, dict[str, list[float]]] = {n: {c: [] for c in CASES} for n in apps}
    for _ in range(args.rounds):
        for case, (path, _, _) in CASES.items():
            for name, app in apps.items():  # interleaved, so drift hits all alike
                await measure(app, path, args.count // 10)
                results[name][case].append(await measure(app, path, args.count))
    print(f"{'framework':<12}" + "".join(f"{c + ' us':>12}" for c in CASES))
    medians = {n: {c: statistics.median(v) for c, v in r.items()} for n, r in results.items()}
    for name, row in medians.items():
        print(f"{name:<12}" + "".join(f"{row[c]:>12.1f}" for c in CASES))
    if "microframe" in medians:
        for other in ("raw", "starlette", "quart"):
            if other in medians:
                ratios = "".join(
                    f"{medians['microframe'][c] / medians[other][c]:>12.2f}" for c in CASES
                )
                print(f"{'mf/' + other:<12}{ratios}")


if __name__ == "__main__":
    asyncio.run(main())
