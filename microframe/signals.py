"""Signals sent by microframe, as blinker signals in one namespace.

Receivers may be plain functions or coroutine functions; async receivers are
awaited. A plain function is sync code, and runs where the sending code's
other sync code runs: sent from async code, on the worker thread of the
current request (any thread of the pool outside a request), so that it may
block and read ``request.form`` or ``response.get_data()`` directly, as under
Flask. Connect as with Flask::

    from microframe import request_started

    @request_started.connect_via(app)
    async def log_request(sender, **extra):
        ...

A signal with no receivers costs one attribute check to send.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import ParamSpec, TypeVar

from blinker import Namespace, Signal

from .globals import _cv_app, _cv_request, _cv_websocket
from .sync import WorkerLease, run_async

_signals = Namespace()

template_rendered = _signals.signal("template-rendered")
before_render_template = _signals.signal("before-render-template")
request_started = _signals.signal("request-started")
request_finished = _signals.signal("request-finished")
request_tearing_down = _signals.signal("request-tearing-down")
got_request_exception = _signals.signal("got-request-exception")
appcontext_tearing_down = _signals.signal("appcontext-tearing-down")
appcontext_pushed = _signals.signal("appcontext-pushed")
appcontext_popped = _signals.signal("appcontext-popped")
message_flashed = _signals.signal("message-flashed")
websocket_started = _signals.signal("websocket-started")
websocket_finished = _signals.signal("websocket-finished")
websocket_tearing_down = _signals.signal("websocket-tearing-down")
got_websocket_exception = _signals.signal("got-websocket-exception")
got_background_exception = _signals.signal("got-background-exception")
got_serving_exception = _signals.signal("got-serving-exception")


P = ParamSpec("P")
T = TypeVar("T")


def _wrap_sync(func: Callable[P, T]) -> Callable[P, Coroutine[None, None, T]]:
    async def call(*args: P.args, **kwargs: P.kwargs) -> T:
        # Called on the event loop, a sync receiver could neither block nor
        # use the dual sync/async APIs as values; the worker thread can.
        # The request's own lease first: its app context may be one a test
        # pushed around it.
        ctx = _cv_request.get(None) or _cv_websocket.get(None)
        lease: WorkerLease | None
        if ctx is not None:
            lease = ctx.lease
        else:
            app_ctx = _cv_app.get(None)
            lease = app_ctx.lease if app_ctx is not None else None
        return await (lease or WorkerLease(None)).run(func, *args, **kwargs)

    return call


def _wrap_async(func: Callable[P, Coroutine[object, object, T]]) -> Callable[P, T]:
    def call(*args: P.args, **kwargs: P.kwargs) -> T:
        return run_async(func(*args, **kwargs))

    return call


async def send_async(signal: Signal, sender: object, **kwargs: object) -> None:
    """Send ``signal`` from async code, awaiting async receivers."""
    if signal.receivers:
        await signal.send_async(sender, _sync_wrapper=_wrap_sync, **kwargs)


def send_sync(signal: Signal, sender: object, **kwargs: object) -> None:
    """Send ``signal`` from sync code, running async receivers to completion."""
    if signal.receivers:
        signal.send(sender, _async_wrapper=_wrap_async, **kwargs)


__all__ = [
    "Namespace",
    "appcontext_popped",
    "appcontext_pushed",
    "appcontext_tearing_down",
    "before_render_template",
    "got_background_exception",
    "got_request_exception",
    "got_serving_exception",
    "got_websocket_exception",
    "message_flashed",
    "request_finished",
    "request_started",
    "request_tearing_down",
    "send_async",
    "send_sync",
    "template_rendered",
    "websocket_finished",
    "websocket_started",
    "websocket_tearing_down",
]
