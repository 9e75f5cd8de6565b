"""The ASGI protocol: HTTP requests, lifespan, and (later) websockets.

Everything that speaks ASGI messages lives here; the app deals only in
requests and responses. No task is created for a plain response; a
streamed response gets one watcher task that notices a client going away
and cancels the stream, so the generator is closed and teardown runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any, cast

from werkzeug.datastructures import Headers

from .ctx import RequestContext
from .sync import WorkerLease, is_async_callable
from .typing import ASGIReceiveCallable, ASGISendCallable, HTTPScope, Scope
from .wrappers.headers import trusted_headers
from .wrappers.request import Body, ClientDisconnected
from .wrappers.response_body import DataBody

if TYPE_CHECKING:
    from .app import Microframe
    from .wrappers import Request, Response

_NO_BODY_STATUS = frozenset({204, 304})


async def handle_scope(
    app: Microframe, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
) -> None:
    """Route an ASGI connection to the handler for its scope type."""
    kind = scope["type"]
    if kind == "http":
        await handle_http(app, cast(HTTPScope, scope), receive, send)
    elif kind == "lifespan":
        await handle_lifespan(app, receive, send)
    elif kind == "websocket":
        await reject_websocket(receive, send)
    else:
        raise ValueError(f"microframe cannot serve ASGI scope type {kind!r}")


async def reject_websocket(receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
    """Refuse a websocket handshake (no websocket routes are served)."""
    message = await receive()
    if message["type"] == "websocket.connect":
        await send({"type": "websocket.close", "code": 1008})


def _parse_length(value: bytes) -> int | None:
    # Servers reject malformed lengths, but the app does not rely on it.
    if not value.isdigit():
        return None
    return int(value)


def decode_headers(raw: Any) -> Headers:
    """Turn ASGI header pairs into werkzeug :class:`Headers` (latin-1, as HTTP)."""
    return trusted_headers(
        [(name.decode("latin-1"), value.decode("latin-1")) for name, value in raw]
    )


def scope_path(scope: Any) -> tuple[str, str]:
    """Return ``(root_path, path below it)`` of an HTTP or websocket scope."""
    root_path: str = scope.get("root_path", "")
    path: str = scope["path"]
    if root_path and path.startswith(root_path):
        path = path[len(root_path) :] or "/"
    return root_path, path


def make_request(app: Microframe, scope: HTTPScope, receive: ASGIReceiveCallable) -> Request:
    """Build the app's request object for an HTTP scope."""
    config = app.config
    pairs: list[tuple[str, str]] = []
    length: int | None = None
    for name, value in scope["headers"]:
        if name == b"content-length":
            length = _parse_length(value)
        pairs.append((name.decode("latin-1"), value.decode("latin-1")))
    headers = trusted_headers(pairs)
    body = Body(
        receive,
        length,
        max_content_length=config["MAX_CONTENT_LENGTH"],
        timeout=config["BODY_TIMEOUT"],
    )
    root_path, path = scope_path(scope)
    client = scope.get("client")
    return app.request_class(
        scope["method"],
        scope.get("scheme", "http"),
        path,
        scope.get("query_string", b""),
        headers,
        root_path,
        scope.get("http_version", "1.1"),
        body=body,
        remote_addr=client[0] if client else None,
        server=scope.get("server"),
        scope=scope,
        json_provider=app.json,
        max_form_memory_size=config["MAX_FORM_MEMORY_SIZE"],
        max_form_parts=config["MAX_FORM_PARTS"],
    )


async def handle_http(
    app: Microframe, scope: HTTPScope, receive: ASGIReceiveCallable, send: ASGISendCallable
) -> None:
    """Serve one HTTP request: contexts, dispatch, send, teardown."""
    app._got_first_request = True
    ctx = RequestContext(app, make_request(app, scope, receive))
    error: BaseException | None = None
    try:
        await ctx.push_async()
        try:
            try:
                response = await app.full_dispatch_request(ctx)
            except Exception as exc:
                # As in Flask, teardown functions are given an unhandled error
                # even when it is answered with a 500 page.
                error = exc
                response = await app.handle_exception(ctx, exc)
        except (ClientDisconnected, asyncio.CancelledError) as exc:
            error = exc
            raise
        except Exception as exc:
            error = exc
            if app.testing or not app.debug:
                # PROPAGATE_EXCEPTIONS: answer 500 and re-raise for the test
                # client or server to see.
                app.log_exception(ctx, exc)
                await send_response(app.response_class("Internal Server Error", 500), ctx, send, receive)
                raise
            response = app.debug_response(exc)
        await send_response(response, ctx, send, receive)
    except ClientDisconnected as exc:
        error = exc
    finally:
        try:
            await ctx.pop_async(error)
        except Exception as exc:
            app.log_exception(ctx, exc)


def encode_headers(response: Response) -> list[tuple[bytes, bytes]]:
    """Return the response headers as ASGI byte pairs."""
    return [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in response.headers.items()
    ]


async def send_response(
    response: Response, ctx: RequestContext, send: ASGISendCallable, receive: ASGIReceiveCallable
) -> None:
    """Send ``response``: the start message, then its body.

    HEAD requests and 1xx/204/304 responses get no body. A streamed body is
    sent under ``RESPONSE_TIMEOUT`` while a watcher task waits for the client
    to disconnect.
    """
    status = response.status_code
    await send(
        {"type": "http.response.start", "status": status, "headers": encode_headers(response)}
    )
    body = response.body
    if ctx.request.method == "HEAD" or status in _NO_BODY_STATUS or status < 200:
        await body.aclose()
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    if isinstance(body, DataBody):
        await send({"type": "http.response.body", "body": body.data, "more_body": False})
        return
    timeout = response.timeout
    if timeout is Ellipsis:
        timeout = ctx.app.config["RESPONSE_TIMEOUT"]
    await _send_streamed(ctx, response, send, receive, timeout)


async def _stream(response: Response, send: ASGISendCallable, timeout: float | None) -> None:
    body = response.body
    try:
        async with asyncio.timeout(timeout):
            async for chunk in body:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
    finally:
        # Closed before the final message, so that once the client has the
        # whole response nothing of the stream is still running.
        await body.aclose()
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _wait_for_disconnect(receive: ASGIReceiveCallable) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


async def _send_streamed(
    ctx: RequestContext,
    response: Response,
    send: ASGISendCallable,
    receive: ASGIReceiveCallable,
    timeout: float | None,
) -> None:
    stream = asyncio.create_task(_stream(response, send, timeout))
    watcher = asyncio.create_task(_wait_for_disconnect(receive))
    try:
        await asyncio.wait({stream, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        # Either the stream ended (the watcher is no longer needed) or the
        # client went away (the stream is cancelled at its next await).
        for task in (stream, watcher):
            task.cancel()
        await asyncio.gather(stream, watcher, return_exceptions=True)
    if stream.cancelled():
        return
    error = stream.exception()
    if isinstance(error, TimeoutError):
        ctx.app.logger.warning(
            f"Response to {ctx.request.path} exceeded its timeout of {timeout}s and was ended."
        )
    elif error is not None:
        ctx.app.log_exception(ctx, error)


# -- lifespan ---------------------------------------------------------------------


async def handle_lifespan(app: Microframe, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
    """Serve the ASGI lifespan protocol: startup, then shutdown."""
    while True:
        message = await receive()
        kind = message["type"]
        if kind == "lifespan.startup":
            try:
                await run_startup(app)
            except Exception as error:
                app.logger.exception("Startup failed")
                await send({"type": "lifespan.startup.failed", "message": _describe(error)})
                return
            await send({"type": "lifespan.startup.complete"})
        elif kind == "lifespan.shutdown":
            try:
                await run_shutdown(app)
            except Exception as error:
                app.logger.exception("Shutdown failed")
                await send({"type": "lifespan.shutdown.failed", "message": _describe(error)})
                return
            await send({"type": "lifespan.shutdown.complete"})
            return


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


async def _call_serving(func: Any) -> None:
    if is_async_callable(func):
        await func()
    else:
        await WorkerLease(None).run(func)


async def run_startup(app: Microframe) -> None:
    """Run ``before_serving`` functions and enter ``while_serving`` generators."""
    async with app.app_context():
        for func in app.before_serving_funcs:
            await _call_serving(func)
        for gen_func in app.while_serving_gens:
            gen: AsyncGenerator[None, None] = gen_func()
            await gen.__anext__()
            app._while_serving_running.append(gen)


async def run_shutdown(app: Microframe) -> None:
    """Leave ``while_serving`` generators (newest first) and run ``after_serving``."""
    async with app.app_context():
        while app._while_serving_running:
            gen = app._while_serving_running.pop()
            try:
                await gen.__anext__()
            except StopAsyncIteration:
                continue
            raise RuntimeError("While serving generator didn't terminate")
        for func in app.after_serving_funcs:
            await _call_serving(func)
    if app._sync_pool is not None:
        app._sync_pool.shutdown()


__all__ = [
    "decode_headers",
    "handle_http",
    "handle_lifespan",
    "handle_scope",
    "make_request",
    "run_shutdown",
    "run_startup",
    "scope_path",
    "send_response",
]
