"""Request dispatch: hooks, the view, error handling and teardown.

This is the part of :class:`~microframe.app.Microframe` that runs for every
request, kept in a module of its own so the hot path can be read in one
place. Per-app work is done once: the hook lists of each blueprint chain and
the error handler for each exception type are computed on first use and
cached (registration is closed by then).
"""

from __future__ import annotations

import functools
import html
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import BadRequestKeyError, HTTPException, InternalServerError
from werkzeug.routing import RequestRedirect

from . import signals
from .debughelpers import routing_error
from .globals import _cv_request
from .sync import in_sync_code, is_async_callable, run_async
from .wrappers.base import blueprint_chain

if TYPE_CHECKING:
    from logging import Logger

    from .config import Config
    from .ctx import RequestContext
    from .scaffold import ErrorSpec, Key
    from .wrappers import Response

Hook = tuple[Callable[..., Any], bool]


def _hooks(funcs: dict[Key, list[Any]], names: tuple[Key, ...], reverse: bool) -> tuple[Hook, ...]:
    out: list[Hook] = []
    for name in names:
        found = funcs.get(name)
        if found:
            items = reversed(found) if reverse else found
            out.extend((func, is_async_callable(func)) for func in items)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class ChainHooks:
    """The hooks that apply to one blueprint chain, in calling order."""

    blueprints: tuple[str, ...]
    url_value_preprocessors: tuple[Hook, ...]
    before: tuple[Hook, ...]
    after: tuple[Hook, ...]
    teardown: tuple[Hook, ...]
    before_websocket: tuple[Hook, ...]
    after_websocket: tuple[Hook, ...]
    teardown_websocket: tuple[Hook, ...]


async def call_hook(hook: Hook, ctx: RequestContext | None, *args: Any) -> Any:
    """Await an async hook, or run a sync one on the request's worker thread."""
    func, is_async = hook
    if is_async:
        return await func(*args)
    if ctx is None:
        from .sync import WorkerLease

        return await WorkerLease(None).run(func, *args)
    return await ctx.lease.run(func, *args)


class DispatchMixin:
    """Request dispatch for the app; see the module docstring."""

    config: Config
    debug: Any
    error_handler_spec: ErrorSpec
    view_functions: dict[str, Any]
    before_request_funcs: dict[Key, list[Any]]
    after_request_funcs: dict[Key, list[Any]]
    teardown_request_funcs: dict[Key, list[Any]]
    url_value_preprocessors: dict[Key, list[Any]]
    before_websocket_funcs: dict[Key, list[Any]]
    after_websocket_funcs: dict[Key, list[Any]]
    teardown_websocket_funcs: dict[Key, list[Any]]
    session_interface: Any
    response_class: type[Response]
    make_response_sync: Callable[..., Response]

    if TYPE_CHECKING:

        @property
        def logger(self) -> Logger: ...

        @property
        def propagate_exceptions(self) -> bool: ...

    def _init_dispatch(self) -> None:
        self._chain_cache: dict[str | None, ChainHooks] = {}
        self._view_cache: dict[str, Hook] = {}
        self._error_cache: dict[tuple[type[BaseException], str | None], Hook | None] = {}
        self._match_cache: dict[tuple[Any, ...], tuple[Any, Any]] = {}
        self._endpoint_hooks: dict[str | None, ChainHooks] = {}
        # A subclass may override these steps to do its own work; only the
        # stock ones are skipped when no hook or receiver is registered.
        cls = type(self)
        self._stock_teardown = cls.do_teardown_request is DispatchMixin.do_teardown_request
        self._stock_preprocess = cls.preprocess_request is DispatchMixin.preprocess_request
        self._stock_process = cls.process_response is DispatchMixin.process_response
        self._stock_dispatch = cls.dispatch_request is DispatchMixin.dispatch_request
        self._stock_finalize = cls.finalize_request is DispatchMixin.finalize_request

    def hooks_for(self, blueprint: str | None) -> ChainHooks:
        """Return the hooks of a blueprint chain, computing them once."""
        hooks = self._chain_cache.get(blueprint)
        if hooks is None:
            inner = blueprint_chain(blueprint)
            outer: tuple[Key, ...] = (None, *reversed(inner))
            innermost: tuple[Key, ...] = (*inner, None)
            hooks = ChainHooks(
                blueprints=inner,
                url_value_preprocessors=_hooks(self.url_value_preprocessors, outer, False),
                before=_hooks(self.before_request_funcs, outer, False),
                after=_hooks(self.after_request_funcs, innermost, True),
                teardown=_hooks(self.teardown_request_funcs, innermost, True),
                before_websocket=_hooks(self.before_websocket_funcs, outer, False),
                after_websocket=_hooks(self.after_websocket_funcs, innermost, True),
                teardown_websocket=_hooks(self.teardown_websocket_funcs, innermost, True),
            )
            self._chain_cache[blueprint] = hooks
        return hooks

    def request_hooks(self, request: Any) -> ChainHooks:
        """Return the hooks of the blueprint chain of ``request``'s endpoint.

        The same as ``hooks_for(request.blueprint)``, looked up by endpoint
        name: it is asked for several times per request, and deriving the
        blueprint from the endpoint each time costs more than the lookup.
        """
        rule = request.url_rule
        endpoint = rule.endpoint if rule is not None else None
        hooks = self._endpoint_hooks.get(endpoint)
        if hooks is None:
            hooks = self.hooks_for(request.blueprint)
            if len(self._endpoint_hooks) < 4096:
                self._endpoint_hooks[endpoint] = hooks
        return hooks

    def ctx_hooks(self, ctx: RequestContext) -> ChainHooks:
        """Return the hooks of ``ctx``'s request: those fixed when its
        dispatch began, else looked up now (a context used outside
        :meth:`full_dispatch_request`)."""
        return ctx.hooks or self.request_hooks(ctx.request)

    def needs_request_teardown(self, ctx: RequestContext) -> bool:
        """Whether popping ``ctx`` has teardown work to run."""
        return bool(
            not self._stock_teardown
            or signals.request_tearing_down.receivers
            or (ctx.hooks or self.request_hooks(ctx.request)).teardown
        )

    def _view_for(self, endpoint: str) -> Hook:
        hook = self._view_cache.get(endpoint)
        if hook is None:
            view = self.view_functions[endpoint]
            hook = self._view_cache[endpoint] = (view, is_async_callable(view))
        return hook

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Return ``func`` callable from sync code, as Flask's ``app.ensure_sync``.

        A coroutine function is wrapped so that calling it from sync code (a
        plain ``def`` view or hook on the request's worker thread, or a
        thread with no loop) runs it to completion; called from async code the
        wrapper returns the coroutine to await. Extensions such as
        Flask-Login call async views through this.
        """
        if not is_async_callable(func):
            return func

        @functools.wraps(func)
        def call(*args: Any, **kwargs: Any) -> Any:
            if in_sync_code():
                return run_async(func(*args, **kwargs))
            return func(*args, **kwargs)

        return call

    def ensure_async(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Return ``func`` as a coroutine function, as Quart's ``app.ensure_async``.

        A plain function is wrapped to run on the request's worker thread
        (or the default executor outside a request), so it never blocks the
        event loop.
        """
        if is_async_callable(func):
            return func

        @functools.wraps(func)
        async def call(*args: Any, **kwargs: Any) -> Any:
            bound = functools.partial(func, *args, **kwargs)
            return await call_hook((bound, False), _cv_request.get(None))

        return call

    # -- the request cycle ------------------------------------------------------

    async def handle_request(self, ctx: RequestContext) -> Response:
        """Run the whole cycle for ``ctx``; unhandled errors become a 500."""
        try:
            return await self.full_dispatch_request(ctx)
        except Exception as error:
            return await self.handle_exception(ctx, error)

    async def full_dispatch_request(self, ctx: RequestContext) -> Response:
        """Preprocess, dispatch and finalize, with user error handling."""
        try:
            if signals.request_started.receivers:
                await signals.send_async(signals.request_started, self)
            # The hooks of the matched endpoint, fixed for the rest of the request.
            hooks = ctx.hooks = self.request_hooks(ctx.request)
            rv = None
            if hooks.before or hooks.url_value_preprocessors or not self._stock_preprocess:
                rv = await self.preprocess_request(ctx)
            unrouted = None
            if rv is None:
                if self._stock_dispatch:
                    if ctx.request.routing_exception is None:
                        rv = await self._call_view(ctx)
                    else:
                        unrouted = routing_error(ctx.request, self.debug)
                else:
                    rv = await self.dispatch_request(ctx)
        except Exception as error:
            rv = await self.handle_user_exception(ctx, error)
        else:
            if unrouted is not None:
                # What dispatch_request would raise, handled without raising:
                # a raised error's traceback would tie the request to itself
                # in a cycle only the garbage collector can free.
                rv = await self.handle_user_exception(ctx, unrouted)
        if (
            self._stock_finalize
            and not signals.request_finished.receivers
            and self._nothing_to_process(ctx)
        ):
            # All that finalize_request would do, minus its coroutine.
            return self.make_response_sync(rv, ctx.request.endpoint)
        return await self.finalize_request(ctx, rv)

    async def preprocess_request(self, ctx: RequestContext) -> Any:
        """Run URL value preprocessors, then ``before_request`` hooks.

        Returns the first non-``None`` hook result, which ends the request.
        """
        request = ctx.request
        hooks = ctx.hooks or self.request_hooks(request)
        for hook in hooks.url_value_preprocessors:
            await call_hook(hook, ctx, request.endpoint, request.view_args)
        for hook in hooks.before:
            rv = await call_hook(hook, ctx)
            if rv is not None:
                return rv
        return None

    async def dispatch_request(self, ctx: RequestContext) -> Any:
        """Call the view of the matched rule and return its return value."""
        return await self._call_view(ctx)

    def _call_view(self, ctx: RequestContext) -> Awaitable[Any]:
        # dispatch_request's work, returning the view's own awaitable: the
        # stock dispatch awaits it without a coroutine of its own.
        request = ctx.request
        if request.routing_exception is not None:
            raise routing_error(request, self.debug)
        rule = request.url_rule
        assert rule is not None
        if request.method == "OPTIONS" and getattr(rule, "provide_automatic_options", False):
            return _ready(self.make_default_options_response(ctx))
        view, is_async = self._view_for(rule.endpoint)
        args = request.view_args or {}
        if is_async:
            return view(**args)  # type: ignore[no-any-return]
        return ctx.lease.run(view, **args)

    def make_default_options_response(self, ctx: RequestContext) -> Response:
        """Answer an automatic ``OPTIONS`` request with the ``Allow`` header."""
        response = self.response_class()
        if ctx.url_adapter is not None:
            response.allow.update(ctx.url_adapter.allowed_methods())
        return response

    async def finalize_request(
        self, ctx: RequestContext, rv: Any, from_error_handler: bool = False
    ) -> Response:
        """Make the response, run ``after_request`` hooks, send ``request_finished``."""
        request = ctx.request
        response = self.make_response_sync(rv, request.endpoint)
        try:
            if not self._nothing_to_process(ctx):
                response = await self.process_response(ctx, response)
            if signals.request_finished.receivers:
                await signals.send_async(signals.request_finished, self, response=response)
        except Exception:
            if not from_error_handler:
                raise
            self.logger.exception(
                "Request finalizing failed with an error while handling an error"
            )
        return response

    def _nothing_to_process(self, ctx: RequestContext) -> bool:
        # Whether process_response would leave the response as it is: no
        # hooks, no session opened and no session cookie to refresh.
        request = ctx.request
        return (
            request.cookie_sent is False
            and ctx._session is None
            and self._stock_process
            and not ctx._after_request_functions
            and not (ctx.hooks or self.request_hooks(request)).after
        )

    async def process_response(self, ctx: RequestContext, response: Response) -> Response:
        """Run ``after_this_request`` functions and ``after_request`` hooks, save the session."""
        for func in reversed(ctx._after_request_functions):
            response = await call_hook((func, is_async_callable(func)), ctx, response)
        for hook in self.ctx_hooks(ctx).after:
            response = await call_hook(hook, ctx, response)
        interface = self.session_interface
        session = ctx._session
        if (
            session is None
            and self._carries_session_cookie(ctx.request)
            and self.config["SESSION_REFRESH_EACH_REQUEST"]
        ):
            # Flask re-sends a permanent session's cookie on every request so
            # it keeps sliding forward; the session is opened lazily, so it
            # is opened here, only for a request that carries the cookie.
            session = ctx.session
        if session is not None and not interface.is_null_session(session):
            result = interface.save_session(self, session, response)
            if result is not None and hasattr(result, "__await__"):
                await result
        return response

    def _carries_session_cookie(self, request: Any) -> bool:
        # A scan of the raw header pairs first: werkzeug's Headers.get builds
        # an exception for a missing header, and parsing cookies for every
        # request would cost more than the rest of a small request.
        cookie_sent = getattr(request, "cookie_sent", None)
        if cookie_sent is not None:
            if not cookie_sent:
                return False
        elif (scope := request.scope) is not None:
            if not any(name == b"cookie" for name, _ in scope["headers"]):
                return False
        elif "Cookie" not in request.headers:
            return False
        name = self.session_interface.get_cookie_name(self)
        return name in request.headers.get("Cookie", "") and name in request.cookies

    # -- errors -----------------------------------------------------------------

    def find_error_handler(
        self, error: BaseException, blueprints: tuple[str, ...]
    ) -> Hook | None:
        """Return the registered handler for ``error``: most specific wins.

        Blueprint handlers (innermost first) come before app handlers; a
        handler for the HTTP code comes before a handler for the class.
        """
        key = (type(error), blueprints[0] if blueprints else None)
        try:
            return self._error_cache[key]
        except KeyError:
            pass
        code = error.code if isinstance(error, HTTPException) else None
        found: Hook | None = None
        codes = (code, None) if code is not None else (None,)
        for c in codes:
            for name in (*blueprints, None):
                by_code = self.error_handler_spec.get(name)
                handlers = by_code.get(c) if by_code else None
                if not handlers:
                    continue
                for cls in type(error).__mro__:
                    handler = handlers.get(cls)
                    if handler is not None:
                        found = (handler, is_async_callable(handler))
                        break
                if found:
                    break
            if found:
                break
        self._error_cache[key] = found
        return found

    def trap_http_exception(self, error: Exception) -> bool:
        """Whether an HTTP exception should be raised like any other error."""
        if self.config["TRAP_HTTP_EXCEPTIONS"]:
            return True
        if not isinstance(error, BadRequestKeyError):
            return False
        trap_bad_request = self.config["TRAP_BAD_REQUEST_ERRORS"]
        if trap_bad_request is None:
            return bool(self.debug)
        return bool(trap_bad_request)

    async def handle_http_exception(self, ctx: RequestContext | None, error: HTTPException) -> Any:
        """Answer an HTTP exception with its handler, or as it is."""
        if error.code is None or isinstance(error, RequestRedirect):
            return error
        blueprints = self.ctx_hooks(ctx).blueprints if ctx else ()
        handler = self.find_error_handler(error, blueprints)
        if handler is None:
            return error
        return await call_hook(handler, ctx, error)

    async def handle_user_exception(self, ctx: RequestContext | None, error: Exception) -> Any:
        """Answer an exception raised by a view or hook with a registered handler.

        HTTP exceptions without a handler become their own response; other
        exceptions without a handler are re-raised.
        """
        if isinstance(error, BadRequestKeyError) and (
            self.debug or self.config["TRAP_BAD_REQUEST_ERRORS"]
        ):
            error.show_exception = True
        if isinstance(error, HTTPException) and not self.trap_http_exception(error):
            return await self.handle_http_exception(ctx, error)
        blueprints = self.ctx_hooks(ctx).blueprints if ctx else ()
        handler = self.find_error_handler(error, blueprints)
        if handler is None:
            raise error
        return await call_hook(handler, ctx, error)

    async def handle_exception(self, ctx: RequestContext, error: Exception) -> Response:
        """Answer an unhandled exception with a 500, after logging it.

        With ``PROPAGATE_EXCEPTIONS`` (on when testing or debugging) the error
        is re-raised instead, so tests and the debug page see it.
        """
        if signals.got_request_exception.receivers:
            await signals.send_async(signals.got_request_exception, self, exception=error)
        if self.propagate_exceptions:
            raise error
        self.log_exception(ctx, error)
        server_error = InternalServerError(original_exception=error)
        blueprints = self.ctx_hooks(ctx).blueprints
        handler = self.find_error_handler(server_error, blueprints)
        rv: Any = server_error
        if handler is not None:
            rv = await call_hook(handler, ctx, server_error)
        return await self.finalize_request(ctx, rv, from_error_handler=True)

    def log_exception(self, ctx: RequestContext | None, error: BaseException) -> None:
        """Log an unhandled exception on :attr:`logger` with the request line."""
        where = f"{ctx.request.path} [{ctx.request.method}]" if ctx else "(no request)"
        self.logger.error(f"Exception on {where}", exc_info=error)

    def debug_response(self, error: BaseException) -> Response:
        """A plain traceback page, shown for unhandled errors in debug mode only."""
        text = "".join(traceback.format_exception(error))
        body = (
            "<!doctype html><title>500 Internal Server Error</title>"
            f"<h1>{html.escape(type(error).__name__)}: {html.escape(str(error))}</h1>"
            f"<pre>{html.escape(text)}</pre>"
            "<p>This page is shown because the app runs in debug mode.</p>"
        )
        return self.response_class(body, 500)

    # -- teardown ---------------------------------------------------------------

    async def do_teardown_request(self, exc: BaseException | None = None) -> None:
        """Run ``teardown_request`` hooks (innermost blueprint first), then the signal."""
        ctx = _cv_request.get(None)
        if ctx is not None:
            for hook in self.ctx_hooks(ctx).teardown:
                await call_hook(hook, ctx, exc)
        if signals.request_tearing_down.receivers:
            await signals.send_async(signals.request_tearing_down, self, exc=exc)


async def _ready(value: Any) -> Any:
    return value


__all__ = ["ChainHooks", "DispatchMixin", "blueprint_chain", "call_hook"]
