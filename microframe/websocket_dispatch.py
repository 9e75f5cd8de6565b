"""Websocket dispatch: hooks, the handler, error handling and teardown.

The websocket counterpart of :mod:`microframe.dispatch`, mixed into
:class:`~microframe.app.Microframe`. The ASGI side (the handshake, the
messages, noticing a client that goes away) lives in :mod:`microframe.asgi`;
this module runs the app's part of a connection: ``before_websocket`` hooks,
the handler, ``after_websocket`` hooks, error handlers and teardown.

A handler's return value matters only before the handshake is accepted: a
response (or an aborted handler) rejects the handshake with that response.
Websocket handlers must be coroutine functions; a plain ``def`` handler is
refused when it is registered.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.routing import RequestRedirect

from . import signals
from .globals import _cv_websocket
from .wrappers.websocket import Websocket

if TYPE_CHECKING:
    from .ctx import WebsocketContext
    from .dispatch import ChainHooks, Hook
    from .wrappers import Response


async def _call(hook: Hook, ctx: WebsocketContext, *args: object) -> Any:
    func, is_async = hook
    if is_async:
        return await func(*args)
    return await ctx.lease.run(func, *args)


class WebsocketDispatchMixin:
    """Websocket dispatch for the app; see the module docstring."""

    #: The class of the ``websocket`` object; replace it by subclassing.
    websocket_class: type[Websocket] = Websocket

    if TYPE_CHECKING:
        from logging import Logger

        config: Any
        debug: Any

        @property
        def propagate_exceptions(self) -> bool: ...
        @property
        def logger(self) -> Logger: ...
        def hooks_for(self, blueprint: str | None) -> ChainHooks: ...
        def request_hooks(self, request: Any) -> ChainHooks: ...
        def _view_for(self, endpoint: str) -> Hook: ...
        def find_error_handler(
            self, error: BaseException, blueprints: tuple[str, ...]
        ) -> Hook | None: ...
        def trap_http_exception(self, error: Exception) -> bool: ...
        def make_response_sync(self, rv: Any, view_name: str | None = None) -> Response: ...

    async def full_dispatch_websocket(self, ctx: WebsocketContext) -> Response | None:
        """Run hooks and the handler with user error handling.

        Returns the response the handler (or a hook or error handler)
        returned, or ``None``.
        """
        try:
            if signals.websocket_started.receivers:
                await signals.send_async(signals.websocket_started, self)
            rv = None
            if self._needs_preprocess(ctx.websocket):
                rv = await self.preprocess_websocket(ctx)
            if rv is None:
                if type(self).dispatch_websocket is WebsocketDispatchMixin.dispatch_websocket:
                    # What dispatch_websocket does, minus its coroutine: the
                    # client leaving ends the handler with an exception,
                    # and every frame it passes through costs.
                    rv = await self._call_handler(ctx)
                else:
                    rv = await self.dispatch_websocket(ctx)
        except Exception as error:
            rv = await self.handle_websocket_user_exception(ctx, error)
        return await self.finalize_websocket(ctx, rv)

    def _needs_preprocess(self, websocket: Websocket) -> bool:
        # Skipping preprocess_websocket saves a coroutine when nothing is
        # registered, unless a subclass does its own work there.
        hooks = self.request_hooks(websocket)
        return bool(
            hooks.url_value_preprocessors
            or hooks.before_websocket
            or type(self).preprocess_websocket is not WebsocketDispatchMixin.preprocess_websocket
        )

    async def preprocess_websocket(self, ctx: WebsocketContext) -> Any:
        """Run URL value preprocessors, then ``before_websocket`` hooks.

        The first non-``None`` hook result ends the connection; before the
        handshake is accepted it is the response that rejects it.
        """
        websocket = ctx.websocket
        hooks = self.request_hooks(websocket)
        for hook in hooks.url_value_preprocessors:
            await _call(hook, ctx, websocket.endpoint, websocket.view_args)
        for hook in hooks.before_websocket:
            rv = await _call(hook, ctx)
            if rv is not None:
                return rv
        return None

    async def dispatch_websocket(self, ctx: WebsocketContext) -> Any:
        """Call the handler of the matched websocket rule."""
        return await self._call_handler(ctx)

    def _call_handler(self, ctx: WebsocketContext) -> Awaitable[object]:
        websocket = ctx.websocket
        if websocket.routing_exception is not None:
            raise websocket.routing_exception
        rule = websocket.url_rule
        assert rule is not None
        handler, is_async = self._view_for(rule.endpoint)
        if not is_async:
            raise TypeError(
                f"The websocket handler for {rule.endpoint!r} is not a coroutine"
                " function; websocket handlers must be defined with 'async def'."
            )
        return handler(**(websocket.view_args or {}))  # type: ignore[no-any-return]

    async def finalize_websocket(
        self, ctx: WebsocketContext, rv: Any, from_error_handler: bool = False
    ) -> Response | None:
        """Make the response (if any), run ``after_websocket`` hooks, send
        ``websocket_finished``. Hooks receive and return the response, which
        is ``None`` when the handler returned nothing."""
        response = None if rv is None else self.make_response_sync(rv, ctx.websocket.endpoint)
        try:
            for hook in self.request_hooks(ctx.websocket).after_websocket:
                response = await _call(hook, ctx, response)
            if signals.websocket_finished.receivers:
                await signals.send_async(signals.websocket_finished, self, response=response)
        except Exception:
            if not from_error_handler:
                raise
            self.logger.exception(
                "Websocket finalizing failed with an error while handling an error"
            )
        return response

    async def handle_websocket_user_exception(self, ctx: WebsocketContext, error: Exception) -> Any:
        """Answer an exception of a handler or hook with a registered error handler.

        HTTP exceptions without a handler become their own response; other
        exceptions without a handler are re-raised.
        """
        is_http = isinstance(error, HTTPException) and not self.trap_http_exception(error)
        if is_http and (
            getattr(error, "code", None) is None or isinstance(error, RequestRedirect)
        ):
            return error
        blueprints = self.hooks_for(ctx.websocket.blueprint).blueprints
        handler = self.find_error_handler(error, blueprints)
        if handler is None:
            if is_http:
                return error
            raise error
        return await _call(handler, ctx, error)

    async def handle_websocket_exception(
        self, ctx: WebsocketContext, error: Exception
    ) -> Response | None:
        """Handle an unhandled exception: log it, then answer a 500 if the
        handshake is still open (``None`` after it, and the connection is
        closed with 1011).

        With ``PROPAGATE_EXCEPTIONS`` (on when testing or debugging) the error
        is re-raised instead.
        """
        if signals.got_websocket_exception.receivers:
            await signals.send_async(signals.got_websocket_exception, self, exception=error)
        if self.propagate_exceptions:
            raise error
        self.log_websocket_exception(ctx, error)
        if ctx.websocket.accepted:
            return None
        server_error = InternalServerError(original_exception=error)
        handler = self.find_error_handler(
            server_error, self.hooks_for(ctx.websocket.blueprint).blueprints
        )
        rv: object = server_error
        if handler is not None:
            rv = await _call(handler, ctx, server_error)
        return await self.finalize_websocket(ctx, rv, from_error_handler=True)

    def log_websocket_exception(self, ctx: WebsocketContext | None, error: BaseException) -> None:
        """Log an unhandled websocket exception on :attr:`logger`."""
        where = f"websocket {ctx.websocket.path}" if ctx is not None else "websocket"
        self.logger.error(f"Exception on {where}", exc_info=error)

    def needs_websocket_teardown(self, websocket: Websocket) -> bool:
        """Whether popping ``websocket``'s context has teardown work to run."""
        # A subclass may override do_teardown_websocket to do its own work;
        # only the stock one is skipped when nothing is registered.
        return bool(
            type(self).do_teardown_websocket is not WebsocketDispatchMixin.do_teardown_websocket
            or signals.websocket_tearing_down.receivers
            or self.request_hooks(websocket).teardown_websocket
        )

    async def do_teardown_websocket(self, exc: BaseException | None = None) -> None:
        """Run ``teardown_websocket`` hooks (innermost blueprint first), then the signal."""
        ctx = _cv_websocket.get(None)
        if ctx is not None:
            for hook in self.request_hooks(ctx.websocket).teardown_websocket:
                await _call(hook, ctx, exc)
        if signals.websocket_tearing_down.receivers:
            await signals.send_async(signals.websocket_tearing_down, self, exc=exc)

    def test_websocket_context(self, path: str = "/", **kwargs: Any) -> WebsocketContext:
        """Return a websocket context for a connection built from the arguments,
        to use ``websocket`` outside a handler in tests::

            async with app.test_websocket_context("/ws?room=1"):
                assert websocket.args["room"] == "1"

        Takes ``headers``, ``query_string``, ``subprotocols``, ``scheme``
        and ``root_path``. Nothing is received; sent messages are dropped.
        """
        from .ctx import WebsocketContext
        from .testing.websocket import make_test_websocket

        return WebsocketContext(self, make_test_websocket(self, path, **kwargs))  # type: ignore[arg-type]


__all__ = ["WebsocketDispatchMixin"]
