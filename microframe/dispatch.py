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
from inspect import isawaitable
from types import TracebackType
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from werkzeug.exceptions import BadRequest, BadRequestKeyError, HTTPException, InternalServerError
from werkzeug.routing import RequestRedirect

from . import signals
from .debughelpers import routing_error
from .globals import _cv_request, _no_req_msg
from .sessions import save_request_session
from .sync import ReadyValue, dual, explain_thread_error, in_sync_code, is_async_callable, run_async
from .wrappers.base import blueprint_chain

if TYPE_CHECKING:
    from logging import Logger

    from .config import Config
    from .ctx import RequestContext
    from .scaffold import ErrorSpec, HooksVersion, Key
    from .wrappers import Response
    from .wrappers.base import RoutedRequest

Hook = tuple[Callable[..., Any], bool]
ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]

#: The request-cycle methods an app subclass or an extension may replace:
#: Flask-Cors wraps ``handle_exception``, tests override ``make_response``. A
#: replacement is called with Flask's arguments, as it is written: awaited if
#: it is ``async def``, run on the request's worker thread if it is a plain
#: function, so that the stock methods it calls in turn (``super()``, or the
#: method it wraps) return their results directly, as under Flask.
CYCLE_METHODS = (
    "full_dispatch_request",
    "preprocess_request",
    "dispatch_request",
    "raise_routing_exception",
    "make_default_options_response",
    "make_response",
    "finalize_request",
    "process_response",
    "handle_user_exception",
    "handle_http_exception",
    "handle_exception",
    "do_teardown_request",
)

F = TypeVar("F", bound=Callable[..., object])


def stock(func: F) -> F:
    """Mark ``func`` as microframe's own version of a request-cycle method."""
    func.__microframe_stock__ = True  # type: ignore[attr-defined]
    return func


async def invoke(method: Callable[..., object], ctx: RequestContext, *args: object, **kwargs: object) -> Any:
    """Call an app's replacement of a request-cycle method; see :data:`CYCLE_METHODS`."""
    if is_async_callable(method):
        result = method(*args, **kwargs)
    else:
        result = await ctx.lease.run(method, *args, **kwargs)
    if isawaitable(result):  # a plain function that returns an awaitable
        result = await result
    return result


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

    #: The app's :attr:`~microframe.scaffold.Scaffold.hooks_version` they were
    #: taken at: the hooks are taken again once a hook list has changed.
    version: int
    blueprints: tuple[str, ...]
    url_value_preprocessors: tuple[Hook, ...]
    before: tuple[Hook, ...]
    after: tuple[Hook, ...]
    teardown: tuple[Hook, ...]
    before_websocket: tuple[Hook, ...]
    after_websocket: tuple[Hook, ...]
    teardown_websocket: tuple[Hook, ...]


async def call_hook(hook: Hook, ctx: RequestContext | None, *args: object) -> Any:
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
    hooks_version: HooksVersion
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
    def hooks_for(self, blueprint: str | None) -> ChainHooks:
        """Return the hooks of a blueprint chain, computing them once."""
        hooks = self._chain_cache.get(blueprint)
        version = self.hooks_version.value
        if hooks is None or hooks.version != version:
            inner = blueprint_chain(blueprint)
            outer: tuple[Key, ...] = (None, *reversed(inner))
            innermost: tuple[Key, ...] = (*inner, None)
            hooks = ChainHooks(
                version=version,
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
        if hooks is None or hooks.version != self.hooks_version.value:
            hooks = self.hooks_for(request.blueprint)
            if len(self._endpoint_hooks) < 4096:
                self._endpoint_hooks[endpoint] = hooks
        return hooks

    def ctx_hooks(self, ctx: RequestContext) -> ChainHooks:
        """Return the hooks of ``ctx``'s request: those taken when its
        dispatch began, unless a hook list has changed since (or the context
        is used outside :meth:`full_dispatch_request`)."""
        hooks = ctx.hooks
        if hooks is None or hooks.version != self.hooks_version.value:
            hooks = ctx.hooks = self.request_hooks(ctx.request)
        return hooks

    def _view_for(self, endpoint: str) -> Hook:
        view = self.view_functions[endpoint]
        hook = self._view_cache.get(endpoint)
        if hook is None or hook[0] is not view:  # replaced views are seen at once
            hook = self._view_cache[endpoint] = (view, is_async_callable(view))
        return hook

    def view_runs_async(self, routed: RoutedRequest) -> bool:
        """Whether the view matched for ``routed`` (a request or websocket)
        runs on the event loop: an ``async def`` view, or the ``async def``
        handler of a class-based view for its method.

        Decides where a request's sync teardown functions run (the thread
        its view ran on); ``False`` when no view matched.
        """
        rule = routed.url_rule
        if rule is None or routed.routing_exception is not None:
            return False
        try:
            view, is_async = self._view_for(rule.endpoint)
        except KeyError:
            return False
        view_class = getattr(view, "view_class", None)
        if is_async and view_class is not None:
            # A class with both kinds of handler: its view function is async
            # and runs a sync handler on the worker thread.
            return bool(view_class._runs_async(routed.method))
        return is_async

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
        def call(*args: object, **kwargs: object) -> object:
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
        async def call(*args: object, **kwargs: object) -> object:
            bound = functools.partial(func, *args, **kwargs)
            return await call_hook((bound, False), _cv_request.get(None))

        return call

    # -- the request cycle ------------------------------------------------------
    #
    # Each step has a private implementation taking the request context, and
    # a public method with Flask's signature (plus Quart's optional
    # ``request_context``) that runs it: directly in sync code, as an
    # awaitable in async code. The dispatcher calls the implementations, or
    # the app's replacement of a public method where there is one.

    @functools.cached_property
    def _overrides(self) -> dict[str, Callable[..., object]]:
        # Found once, when the first request is dispatched: by then the app's
        # class and the extensions that wrap its methods are set. Stored on
        # the instance, so reading it later is a plain attribute read.
        return {
            name: method
            for name in CYCLE_METHODS
            # A functools.wraps wrapper copies the stock marker: not stock.
            if not getattr(method := getattr(self, name), "__microframe_stock__", False)
            or hasattr(method, "__wrapped__")
        }

    def respond(self, ctx: RequestContext) -> Awaitable[Response]:
        """Run the request cycle of ``ctx``; await its response.

        The entry point of the protocol layer: :meth:`full_dispatch_request`,
        or the app's replacement of it. An error no handler answers
        propagates; pass it to :meth:`respond_to_error`.
        """
        overrides = self._overrides
        if overrides and "full_dispatch_request" in overrides:
            return self._respond_replaced(overrides["full_dispatch_request"], ctx)
        return self._full_dispatch(ctx, overrides)

    async def _respond_replaced(self, replaced: Callable[..., object], ctx: RequestContext) -> Response:
        return self.make_response_sync(await invoke(replaced, ctx))

    async def respond_to_error(self, ctx: RequestContext, error: Exception) -> Response:
        """Answer an error :meth:`respond` let through: :meth:`handle_exception`,
        or the app's replacement of it (which may re-raise)."""
        replaced = self._overrides.get("handle_exception")
        if replaced is not None:
            return self.make_response_sync(await invoke(replaced, ctx, error))
        return await self._handle_exception(ctx, error)

    async def _full_dispatch(
        self, ctx: RequestContext, overrides: dict[str, Callable[..., object]]
    ) -> Response:
        try:
            if signals.request_started.receivers:
                await signals.send_async(signals.request_started, self)
            request = ctx.request
            # The hooks of the matched endpoint, for the rest of the request.
            hooks = ctx.hooks = self.request_hooks(request)
            rv = failure = None
            if overrides and "preprocess_request" in overrides:
                rv = await invoke(overrides["preprocess_request"], ctx)
            elif hooks.before or hooks.url_value_preprocessors:
                rv = await self._preprocess(ctx)
            if rv is None:
                if overrides and "dispatch_request" in overrides:
                    rv = await invoke(overrides["dispatch_request"], ctx)
                elif request.routing_exception is None:
                    rv = await self._call_view(ctx)
                else:
                    # Handled below without being raised: a raised error's
                    # traceback would tie the request to itself in a cycle
                    # only the garbage collector can free.
                    failure = self._routing_error(request)
        except Exception as error:
            failure = error
        if failure is not None:
            if overrides and "handle_user_exception" in overrides:
                rv = await invoke(overrides["handle_user_exception"], ctx, failure)
            else:
                rv = await self._handle_user_exception(ctx, failure)
            failure = None  # a raised error's traceback holds this frame
        if not overrides and not signals.request_finished.receivers and self._nothing_to_process(ctx):
            # All that finalize_request would do, minus its coroutine.
            return self.make_response_sync(rv, ctx.request.endpoint)
        return await self._finalize(ctx, rv)

    async def _preprocess(self, ctx: RequestContext) -> object:
        request = ctx.request
        hooks = self.ctx_hooks(ctx)
        for hook in hooks.url_value_preprocessors:
            await call_hook(hook, ctx, request.endpoint, request.view_args)
        for hook in hooks.before:
            rv = await call_hook(hook, ctx)
            if rv is not None:
                return rv
        return None

    def _routing_error(self, request: Any) -> Exception:
        # What raise_routing_exception would raise for an unrouted request.
        error: Exception = request.routing_exception
        if "raise_routing_exception" in self._overrides or (
            isinstance(error, RequestRedirect) and self.debug
        ):
            try:
                self.raise_routing_exception(request)
            except Exception as raised:
                return raised
        return error

    def _call_view(self, ctx: RequestContext) -> Awaitable[object]:
        # dispatch_request's work, returning the view's own awaitable: the
        # stock dispatch awaits it without a coroutine of its own.
        request = ctx.request
        if request.routing_exception is not None:
            self.raise_routing_exception(request)
        rule = request.url_rule
        assert rule is not None
        if request.method == "OPTIONS" and getattr(rule, "provide_automatic_options", False):
            replaced = self._overrides.get("make_default_options_response")
            if replaced is not None:
                return invoke(replaced, ctx)
            return _ready(self._default_options_response(ctx))
        view, is_async = self._view_for(rule.endpoint)
        args = request.view_args or {}
        if is_async:
            return view(**args)  # type: ignore[no-any-return]
        return ctx.lease.run(view, **args)

    def _default_options_response(self, ctx: RequestContext) -> Response:
        response = self.response_class()
        if ctx.url_adapter is not None:
            response.allow.update(ctx.url_adapter.allowed_methods())
        return response

    def _finalize(
        self, ctx: RequestContext, rv: object, from_error_handler: bool = False
    ) -> Awaitable[Response]:
        replaced = self._overrides.get("finalize_request")
        if replaced is not None:
            return self._finalize_replaced(replaced, ctx, rv, from_error_handler)
        return self._finalize_request(ctx, rv, from_error_handler)

    async def _finalize_replaced(
        self, replaced: Callable[..., object], ctx: RequestContext, rv: object, from_error_handler: bool
    ) -> Response:
        response = await invoke(replaced, ctx, rv, from_error_handler=from_error_handler)
        return self.make_response_sync(response)

    async def _finalize_request(
        self, ctx: RequestContext, rv: object, from_error_handler: bool
    ) -> Response:
        overrides = self._overrides
        request = ctx.request
        replaced = overrides.get("make_response")
        if replaced is not None:
            response = self.make_response_sync(await invoke(replaced, ctx, rv))
        else:
            response = self.make_response_sync(rv, request.endpoint)
        try:
            replaced = overrides.get("process_response")
            if replaced is not None:
                response = await invoke(replaced, ctx, response)
            elif not self._nothing_to_process(ctx):
                response = await self._process_response(ctx, response)
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
        if request.cookie_sent is not False or ctx._session is not None:
            return False
        hooks = ctx.hooks
        if hooks is None or hooks.version != self.hooks_version.value:
            hooks = self.ctx_hooks(ctx)
        return not (ctx._after_request_functions or hooks.after)

    async def _process_response(self, ctx: RequestContext, response: Response) -> Response:
        for func in reversed(ctx._after_request_functions):
            response = await call_hook((func, is_async_callable(func)), ctx, response)
        for hook in self.ctx_hooks(ctx).after:
            response = await call_hook(hook, ctx, response)
        await save_request_session(ctx, response)
        return response

    # -- the request cycle's public methods (Flask's names and arguments) ---------

    @stock
    def full_dispatch_request(self, request_context: RequestContext | None = None) -> Any:
        """Preprocess, dispatch and finalize the request, answering errors with
        the registered handlers; return the response (awaitable in async code)."""
        return dual(self._full_dispatch(_current(request_context), self._overrides))

    @stock
    def preprocess_request(self, request_context: RequestContext | None = None) -> Any:
        """Run URL value preprocessors, then ``before_request`` hooks.

        Returns the first non-``None`` hook result, which ends the request
        (awaitable in async code).
        """
        return dual(self._preprocess(_current(request_context)))

    @stock
    def dispatch_request(self, request_context: RequestContext | None = None) -> Any:
        """Call the view of the matched rule and return its return value
        (awaitable in async code)."""
        return dual(_awaited(self._call_view(_current(request_context))))

    @stock
    def raise_routing_exception(self, request: Any) -> NoReturn:
        """Raise the error of a request no rule matched (404, 405, a redirect).

        In debug mode, a redirect that would make the client drop the body of
        a form it posts raises :class:`~microframe.debughelpers.FormDataRoutingRedirect`,
        which says what went wrong.
        """
        raise routing_error(request, bool(self.debug))

    @stock
    def make_default_options_response(self) -> Any:
        """The response to an automatic ``OPTIONS`` request: empty, with ``Allow``.

        Returned directly in sync code (Flask), awaitable in async code (Quart).
        """
        response = self._default_options_response(_current(None))
        return response if in_sync_code() else ReadyValue(response)

    @stock
    def finalize_request(
        self,
        rv: Any,
        request_context: RequestContext | None = None,
        from_error_handler: bool = False,
    ) -> Any:
        """Make the response, run ``after_request`` hooks, send ``request_finished``.

        With ``from_error_handler``, an error in those steps is logged rather
        than raised. Returns the response (awaitable in async code).
        """
        return dual(self._finalize_request(_current(request_context), rv, from_error_handler))

    @stock
    def process_response(
        self, response: Response, request_context: RequestContext | None = None
    ) -> Any:
        """Run ``after_this_request`` functions and ``after_request`` hooks, and
        save the session; return the response (awaitable in async code)."""
        return dual(self._process_response(_current(request_context), response))

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
        """Whether an HTTP exception should be raised like any other error
        instead of becoming its error page.

        ``TRAP_HTTP_EXCEPTIONS`` traps every one; ``TRAP_BAD_REQUEST_ERRORS``
        traps every 400 (``None``, the default, traps only a missing form or
        query key, and only in debug mode, so its name shows).
        """
        config = self.config
        if config["TRAP_HTTP_EXCEPTIONS"]:
            return True
        if not isinstance(error, BadRequest):  # a 404 is done here
            return False
        trap_bad_request = config["TRAP_BAD_REQUEST_ERRORS"]
        if trap_bad_request is None:
            return bool(self.debug) and isinstance(error, BadRequestKeyError)
        return bool(trap_bad_request)

    async def _handle_user_exception(self, ctx: RequestContext | None, error: Exception) -> object:
        if isinstance(error, BadRequestKeyError) and (
            self.debug or self.config["TRAP_BAD_REQUEST_ERRORS"]
        ):
            error.show_exception = True
        if isinstance(error, HTTPException) and not self.trap_http_exception(error):
            replaced = self._overrides.get("handle_http_exception")
            if replaced is not None and ctx is not None:
                return await invoke(replaced, ctx, error)
            return await self._handle_http_exception(ctx, error)
        blueprints = self.ctx_hooks(ctx).blueprints if ctx else ()
        handler = self.find_error_handler(error, blueprints)
        if handler is None:
            raise error
        return await call_hook(handler, ctx, error)

    async def _handle_http_exception(self, ctx: RequestContext | None, error: HTTPException) -> object:
        if error.code is None or isinstance(error, RequestRedirect):
            return error
        blueprints = self.ctx_hooks(ctx).blueprints if ctx else ()
        handler = self.find_error_handler(error, blueprints)
        if handler is None:
            return error
        return await call_hook(handler, ctx, error)

    async def _handle_exception(self, ctx: RequestContext, error: Exception) -> Response:
        explain_thread_error(error)
        if signals.got_request_exception.receivers:
            await signals.send_async(signals.got_request_exception, self, exception=error)
        if self.propagate_exceptions:
            raise error
        self.log_exception((type(error), error, error.__traceback__))
        server_error = InternalServerError(original_exception=error)
        blueprints = self.ctx_hooks(ctx).blueprints
        handler = self.find_error_handler(server_error, blueprints)
        rv: object = server_error
        if handler is not None:
            rv = await call_hook(handler, ctx, server_error)
        return await self._finalize(ctx, rv, from_error_handler=True)

    @stock
    def handle_http_exception(self, error: HTTPException) -> Any:
        """Answer an HTTP exception with its registered handler, or with the
        exception itself, which becomes its error page (awaitable in async code)."""
        return dual(self._handle_http_exception(_cv_request.get(None), error))

    @stock
    def handle_user_exception(self, error: Exception) -> Any:
        """Answer an exception raised by a view or hook with a registered handler.

        HTTP exceptions without a handler become their own response; other
        exceptions without a handler are re-raised. Awaitable in async code.
        """
        return dual(self._handle_user_exception(_cv_request.get(None), error))

    @stock
    def handle_exception(self, error: Exception) -> Any:
        """Answer an unhandled exception with a 500, after logging it.

        With ``PROPAGATE_EXCEPTIONS`` (on when testing or debugging) the error
        is re-raised instead, so tests and the debug page see it. Awaitable in
        async code.
        """
        return dual(self._handle_exception(_current(None), error))

    def log_exception(self, exc_info: ExcInfo | BaseException) -> None:
        """Log an unhandled exception on :attr:`logger` with the request line.

        :param exc_info: ``sys.exc_info()``'s tuple, as Flask passes it, or
            the exception.
        """
        ctx = _cv_request.get(None)
        where = f"{ctx.request.path} [{ctx.request.method}]" if ctx else "(no request)"
        self.logger.error(f"Exception on {where}", exc_info=exc_info)

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

    def needs_request_teardown(self, ctx: RequestContext) -> bool:
        """Whether popping ``ctx`` has teardown work to run."""
        if "do_teardown_request" in self._overrides or signals.request_tearing_down.receivers:
            return True
        hooks = ctx.hooks
        if hooks is None or hooks.version != self.hooks_version.value:
            hooks = self.ctx_hooks(ctx)
        return bool(hooks.teardown)

    async def run_request_teardown(self, ctx: RequestContext, exc: BaseException | None) -> None:
        """Tear down ``ctx`` as it is popped: :meth:`do_teardown_request`, or the
        app's replacement of it."""
        replaced = self._overrides.get("do_teardown_request")
        if replaced is not None:
            await invoke(replaced, ctx, exc)
        else:
            await self._teardown_request(ctx, exc)

    async def _teardown_request(self, ctx: RequestContext, exc: BaseException | None) -> None:
        for hook in self.ctx_hooks(ctx).teardown:
            await call_hook(hook, ctx, exc)
        if signals.request_tearing_down.receivers:
            await signals.send_async(signals.request_tearing_down, self, exc=exc)

    @stock
    def do_teardown_request(
        self, exc: BaseException | None = None, request_context: RequestContext | None = None
    ) -> Any:
        """Run ``teardown_request`` hooks (innermost blueprint first), then send
        ``request_tearing_down`` (awaitable in async code)."""
        return dual(self._teardown_request(_current(request_context), exc))


def _current(ctx: RequestContext | None) -> RequestContext:
    """``ctx``, or the current request context."""
    if ctx is not None:
        return ctx
    current = _cv_request.get(None)
    if current is None:
        raise RuntimeError(_no_req_msg)
    return current


async def _awaited(awaitable: Awaitable[object]) -> object:
    return await awaitable


async def _ready(value: object) -> object:
    return value


__all__ = ["CYCLE_METHODS", "ChainHooks", "DispatchMixin", "blueprint_chain", "call_hook", "invoke", "stock"]
