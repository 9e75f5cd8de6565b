"""A small app set up for production: behind a reverse proxy, under any ASGI server.

Serve it with the server that fits (docs/howto/deployment.md compares them),
one worker per CPU core::

    granian --interface asgi --host 127.0.0.1 --port 8000 --workers 4 app:app
    uvicorn app:app --host 127.0.0.1 --port 8000 --workers 4 --no-proxy-headers
    hypercorn --config hypercorn.toml app:app

``PROXY_HOPS`` is the number of reverse proxies in front of the app (1 by
default); their ``X-Forwarded-For`` and ``X-Forwarded-Proto`` headers are
honoured, and nobody else's. Set it to 0 when clients connect directly.
"""

from __future__ import annotations

import os

from microframe import Microframe, request, url_for, websocket
from microframe.middleware.proxy_fix import ProxyFixMiddleware

app = Microframe(__name__)
app.config.from_mapping(
    SECRET_KEY=os.environ.get("SECRET_KEY", "dev only: set SECRET_KEY in production"),
    SESSION_COOKIE_SECURE=os.environ.get("SESSION_COOKIE_SECURE", "0") == "1",
    SESSION_COOKIE_SAMESITE="Lax",
)

PROXY_HOPS = int(os.environ.get("PROXY_HOPS", "1"))
if PROXY_HOPS:
    app.asgi_app = ProxyFixMiddleware(  # type: ignore[method-assign]
        app.asgi_app, x_for=PROXY_HOPS, x_proto=PROXY_HOPS
    )


@app.get("/")
async def index() -> dict[str, object]:
    """Say what the app sees of the client, after the proxy headers."""
    return {
        "remote_addr": request.remote_addr,
        "scheme": request.scheme,
        "url": url_for("index", _external=True),
        "pid": os.getpid(),
    }


@app.get("/healthz")
async def healthz() -> str:
    """For the load balancer's health checks."""
    return "ok"


@app.post("/echo")
async def echo() -> object:
    """Answer a JSON body with itself: a request body read through the server."""
    return await request.get_json()


@app.websocket("/ws")
async def ws_echo() -> None:
    """Echo each websocket message back, until the client leaves."""
    while True:
        message = await websocket.receive()
        await websocket.send(message)
