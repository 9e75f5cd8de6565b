"""The request cycle's hot path, and the per-app state it runs on.

:class:`~microframe.app.Microframe` keeps the request-cycle methods Flask
users override by name (``full_dispatch_request``, ``make_response``,
``handle_exception``, ...); each one runs its body here, in the app's one
:class:`RequestCycle` (``app._cycle``). The cycle also holds what is worked
out once per app rather than per request: the hooks of each blueprint chain,
the view and error handler for each endpoint and exception type, the URL
match results, and which request-cycle methods the app replaces.

Those decisions are taken once and kept: hook lists are taken again when
one changes (:class:`~microframe.scaffold.HooksVersion`), a replaced view is
seen at once, and the replaced methods are found on the first request, when
the app's class and the extensions wrapping its methods are settled.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Awaitable, Callable
from functools import cached_property
from inspect import isawaitable
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from werkzeug.datastructures import Headers
from werkzeug.exceptions import BadRequest, BadRequestKeyError, HTTPException, InternalServerError
from werkzeug.routing import RequestRedirect

from . import signals
from .caches import BoundedCache
from .ctx import RequestContext, WebsocketContext
from .globals import _cv_request, _no_req_msg
from .helpers import coerce_response
from .plans import ChainHooks, Endpoint, Hook, chain_hooks, endpoint_plan
from .routing import BUILD_CACHE_SIZE, MATCH_CACHE_SIZE
from .sessions import save_request_session, save_websocket_session
from .sync import WorkerLease, explain_thread_error, is_async_callable, lease_here, ready
from .wrappers import Response
from .wrappers.base import RoutedRequest, blueprint_chain, endpoint_blueprint

if TYPE_CHECKING:
    from .app import Microframe

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
#: Quart's websocket methods, replaced the same way (they are ``async def``
#: and take the websocket context, so a replacement is simply awaited).
WEBSOCKET_METHODS = (
    "full_dispatch_websocket",
    "preprocess_websocket",
    "dispatch_websocket",
    "finalize_websocket",
    "handle_websocket_user_exception",
    "handle_websocket_exception",
    "do_teardown_websocket",
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


async def call_hook(hook: Hook, ctx: RequestContext | WebsocketContext | None, *args: object) -> Any:
    """Await an async hook, or run a sync one on the connection's worker thread."""
    func, is_async = hook
    if is_async:
        return await func(*args)
    if ctx is None:
        return await WorkerLease(None).run(func, *args)
    return await ctx.lease.run(func, *args)


def current_context(ctx: RequestContext | None) -> RequestContext:
    """``ctx``, or the current request context (Quart's optional argument)."""
    if ctx is not None:
        return ctx
    current = _cv_request.get(None)
    if current is None:
        raise RuntimeError(_no_req_msg)
    return current


class RequestCycle:
    """The request cycle of one app and the state it keeps; see the module
    docstring. Created with the app, as ``app._cycle``."""

    def __init__(self, app: Microframe) -> None:
        # A weak reference: the app holds its cycle, and an app must be freed
        # as soon as its last reference goes, without the garbage collector.
        self._app: Callable[[], Microframe] = weakref.ref(app)  # type: ignore[assignment]
        self._version = app.hooks_version
        self._chains: dict[str | None, ChainHooks] = {}
        self._errors: dict[tuple[type[BaseException], str | None], Hook | None] = {}
        self._endpoints: BoundedCache[str | None, Endpoint] = BoundedCache(4096)
        #: Remembered URL matches of a serving app (see :mod:`microframe.routing`).
        self.match_cache: BoundedCache[tuple[Any, ...], tuple[Any, Any]] = BoundedCache(
            MATCH_CACHE_SIZE
        )
        #: Remembered URLs built without values (see :func:`microframe.routing.build_url`).
        self.build_cache: BoundedCache[tuple[Any, ...], str] = BoundedCache(BUILD_CACHE_SIZE)

    @cached_property
    def overrides(self) -> dict[str, Callable[..., Any]]:
        """The app's replacements of request-cycle methods, by name.

        Found once, when first asked for (the first request): by then the
        app's class and the extensions that wrap its methods are set.
        """
        app = self._app()
        # Any: a replacement is called with its own signature, and the
        # websocket ones (Quart's, async) are awaited as they are.
        return {
            name: method
            for name in (*CYCLE_METHODS, *WEBSOCKET_METHODS)
            if not getattr(method := getattr(app, name), "__microframe_stock__", False)
            # A functools.wraps wrapper copies the stock marker: not stock.
            or hasattr(method, "__wrapped__")
        }

    # -- hooks and views ----------------------------------------------------------

    def hooks_for(self, blueprint: str | None) -> ChainHooks:
        """Return the hooks of a blueprint chain, taking them once."""
        hooks = self._chains.get(blueprint)
        version = self._version.value
        if hooks is None or hooks.version != version:
            hooks = self._chains[blueprint] = chain_hooks(self._app(), blueprint, version)
        return hooks

    def endpoint_plan(self, routed: RoutedRequest) -> Endpoint:
        """Return the plan of ``routed``'s endpoint (``None``'s when it did not
        match): made once, and again when a hook list changes or the view is
        replaced."""
        rule = routed.url_rule
        endpoint = rule.endpoint if rule is not None else None
        plan = self._endpoints.get(endpoint)
        if plan is None or plan.version != self._version.value:
            plan = self._plan(endpoint, routed.blueprint)
        return plan

    def _plan(self, endpoint: str | None, blueprint: str | None) -> Endpoint:
        view = None if endpoint is None else self._app().view_functions.get(endpoint)
        plan = endpoint_plan(self.hooks_for(blueprint), view, "do_teardown_request" in self.overrides)
        return self._endpoints.put(endpoint, plan)

    def request_hooks(self, routed: RoutedRequest) -> ChainHooks:
        """Return the hooks of the blueprint chain of ``routed``'s endpoint."""
        return self.endpoint_plan(routed).hooks

    def ctx_plan(self, ctx: RequestContext) -> Endpoint:
        """Return the plan of ``ctx``'s endpoint: the one taken when its
        dispatch began, unless a hook list has changed since (or the context
        is used outside :meth:`full_dispatch`)."""
        plan = ctx.plan
        if plan is None or plan.version != self._version.value:
            plan = ctx.plan = self.endpoint_plan(ctx.request)
        return plan

    def ctx_hooks(self, ctx: RequestContext) -> ChainHooks:
        """Return the hooks of ``ctx``'s request (see :meth:`ctx_plan`)."""
        return self.ctx_plan(ctx).hooks

    def view_for(self, endpoint: str) -> Hook:
        """The view of ``endpoint`` and whether it is async (``KeyError`` if
        it has none); a view replaced in ``view_functions`` is seen at once."""
        view = self._app().view_functions[endpoint]
        plan = self._endpoints.get(endpoint)
        if plan is None or plan.view is not view:
            plan = self._plan(endpoint, endpoint_blueprint(endpoint))
        return view, plan.view_is_async

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
            view, is_async = self.view_for(rule.endpoint)
        except KeyError:
            return False
        view_class = getattr(view, "view_class", None)
        if is_async and view_class is not None:
            # A class with both kinds of handler: its view function is async
            # and runs a sync handler on the worker thread.
            return bool(view_class._runs_async(routed.method))
        return is_async

    # -- the request cycle ---------------------------------------------------------
    #
    # Each step is a method here taking the request context; the app's public
    # method of the same name (Flask's signature) runs it, and the cycle calls
    # the app's replacement of a step instead where there is one.

    async def full_dispatch(self, ctx: RequestContext) -> Response:
        """Preprocess, dispatch and finalize ``ctx``'s request, answering
        errors with the registered handlers."""
        overrides = self.overrides
        try:
            if signals.request_started.receivers:
                await signals.send_async(signals.request_started, ctx.app)
            request = ctx.request
            # The matched endpoint's hooks and view, for the rest of the request.
            rule = request.url_rule
            plan = self._endpoints.get(rule.endpoint if rule is not None else None)
            if plan is None or plan.version != self._version.value:
                plan = self.endpoint_plan(request)
            ctx.plan = plan
            rv = failure = None
            if overrides and "preprocess_request" in overrides:
                rv = await invoke(overrides["preprocess_request"], ctx)
            elif plan.preprocesses:
                rv = await self.preprocess(ctx)
            if rv is None:
                if overrides and "dispatch_request" in overrides:
                    rv = await invoke(overrides["dispatch_request"], ctx)
                elif request.routing_exception is None:
                    rv = await self.call_view(ctx, plan)
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
                rv = await self.handle_user_exception(ctx, failure)
            failure = None  # a raised error's traceback holds this frame
        if not overrides and not signals.request_finished.receivers and self._nothing_to_process(ctx):
            # All that finalize_request would do, minus its coroutine.
            return self.make_response(rv, ctx.request.endpoint)
        return await self.finalize(ctx, rv)

    async def replaced_full_dispatch(self, ctx: RequestContext) -> Response:
        """Run the app's replacement of ``full_dispatch_request``."""
        return self.make_response(await invoke(self.overrides["full_dispatch_request"], ctx))

    async def respond_to_error(self, ctx: RequestContext, error: Exception) -> Response:
        """``handle_exception``, or the app's replacement of it (which may re-raise)."""
        replaced = self.overrides.get("handle_exception")
        if replaced is not None:
            return self.make_response(await invoke(replaced, ctx, error))
        return await self.handle_exception(ctx, error)

    async def preprocess(self, ctx: RequestContext) -> object:
        """Run URL value preprocessors, then ``before_request`` hooks."""
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
        app = self._app()
        if "raise_routing_exception" in self.overrides or (
            isinstance(error, RequestRedirect) and app.debug
        ):
            try:
                app.raise_routing_exception(request)
            except Exception as raised:
                return raised
        return error

    def call_view(self, ctx: RequestContext, plan: Endpoint | None = None) -> Awaitable[object]:
        """Call the view of the matched rule; return its awaitable (the
        stock dispatch awaits it without a coroutine of its own).

        :param plan: the endpoint's plan, when the caller has it.
        """
        request = ctx.request
        if request.routing_exception is not None:
            ctx.app.raise_routing_exception(request)
        rule = request.url_rule
        assert rule is not None
        if request.method == "OPTIONS" and getattr(rule, "provide_automatic_options", False):
            replaced = self.overrides.get("make_default_options_response")
            if replaced is not None:
                return invoke(replaced, ctx)
            return ready(self.default_options_response(ctx))
        view = ctx.app.view_functions[rule.endpoint]
        if plan is not None and plan.view is view:
            is_async = plan.view_is_async
        else:  # replaced since the plan was made, or no plan at hand
            view, is_async = self.view_for(rule.endpoint)
        args = request.view_args or {}
        if is_async:
            return view(**args)  # type: ignore[no-any-return]
        return ctx.lease.run(view, **args)

    def default_options_response(self, ctx: RequestContext) -> Response:
        """The response to an automatic ``OPTIONS`` request: empty, with ``Allow``."""
        response = ctx.app.response_class()
        if ctx.url_adapter is not None:
            response.allow.update(ctx.url_adapter.allowed_methods())
        return response

    def finalize(
        self, ctx: RequestContext, rv: object, from_error_handler: bool = False
    ) -> Awaitable[Response]:
        """``finalize_request``, or the app's replacement of it."""
        replaced = self.overrides.get("finalize_request")
        if replaced is not None:
            return self._finalize_replaced(replaced, ctx, rv, from_error_handler)
        return self.finalize_request(ctx, rv, from_error_handler)

    async def _finalize_replaced(
        self, replaced: Callable[..., object], ctx: RequestContext, rv: object, from_error_handler: bool
    ) -> Response:
        response = await invoke(replaced, ctx, rv, from_error_handler=from_error_handler)
        return self.make_response(response)

    async def finalize_request(
        self, ctx: RequestContext, rv: object, from_error_handler: bool
    ) -> Response:
        """Make the response, run ``after_request`` hooks, send ``request_finished``."""
        overrides = self.overrides
        replaced = overrides.get("make_response")
        if replaced is not None:
            response = self.make_response(await invoke(replaced, ctx, rv))
        else:
            response = self.make_response(rv, ctx.request.endpoint)
        try:
            replaced = overrides.get("process_response")
            if replaced is not None:
                response = await invoke(replaced, ctx, response)
            elif not self._nothing_to_process(ctx):
                response = await self.process_response(ctx, response)
            if signals.request_finished.receivers:
                await signals.send_async(signals.request_finished, ctx.app, response=response)
        except Exception:
            if not from_error_handler:
                raise
            ctx.app.logger.exception(
                "Request finalizing failed with an error while handling an error"
            )
        return response

    def _nothing_to_process(self, ctx: RequestContext) -> bool:
        # Whether process_response would leave the response as it is: no
        # hooks, no session opened and no session cookie to refresh.
        if ctx.request.cookie_sent is not False or ctx._session is not None:
            return False
        plan = ctx.plan
        if plan is None or plan.version != self._version.value:
            plan = self.ctx_plan(ctx)
        return not (ctx._after_request_functions or plan.hooks.after)

    async def process_response(self, ctx: RequestContext, response: Response) -> Response:
        """Run ``after_this_request`` functions and ``after_request`` hooks,
        and save the session."""
        for func in ctx._after_request_functions:  # in the order they were added, as Flask's
            response = await call_hook((func, is_async_callable(func)), ctx, response)
        for hook in self.ctx_hooks(ctx).after:
            response = await call_hook(hook, ctx, response)
        await save_request_session(ctx, response)
        return response

    # -- the request cycle's public methods (Flask's names and arguments) ---------

    def find_error_handler(self, error: BaseException, blueprints: tuple[str, ...]) -> Hook | None:
        """Return the registered handler for ``error``: most specific wins.

        Blueprint handlers (innermost first) come before app handlers; a
        handler for the HTTP code comes before a handler for the class.
        """
        key = (type(error), blueprints[0] if blueprints else None)
        try:
            return self._errors[key]
        except KeyError:
            pass
        code = error.code if isinstance(error, HTTPException) else None
        spec = self._app().error_handler_spec
        found: Hook | None = None
        for c in (code, None) if code is not None else (None,):
            for name in (*blueprints, None):
                by_code = spec.get(name)
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
        self._errors[key] = found
        return found

    async def handle_user_exception(self, ctx: RequestContext | None, error: Exception) -> object:
        """Answer an error of a view or hook with a registered handler."""
        app = self._app()
        if isinstance(error, BadRequestKeyError) and (
            app.debug or app.config["TRAP_BAD_REQUEST_ERRORS"]
        ):
            error.show_exception = True
        if isinstance(error, HTTPException) and not app.trap_http_exception(error):
            replaced = self.overrides.get("handle_http_exception")
            if replaced is not None and ctx is not None:
                return await invoke(replaced, ctx, error)
            return await self.handle_http_exception(ctx, error)
        blueprints = self.ctx_hooks(ctx).blueprints if ctx else ()
        handler = self.find_error_handler(error, blueprints)
        if handler is None:
            raise error
        return await call_hook(handler, ctx, error)

    async def handle_http_exception(self, ctx: RequestContext | None, error: HTTPException) -> object:
        """Answer an HTTP exception with its handler, or with itself."""
        if error.code is None or isinstance(error, RequestRedirect):
            return error
        blueprints = self.ctx_hooks(ctx).blueprints if ctx else ()
        handler = self.find_error_handler(error, blueprints)
        if handler is None:
            return error
        return await call_hook(handler, ctx, error)

    async def handle_exception(self, ctx: RequestContext, error: Exception) -> Response:
        """Answer an unhandled error with a 500 after logging it, or re-raise
        it when exceptions propagate."""
        app = ctx.app
        explain_thread_error(error)
        if signals.got_request_exception.receivers:
            await signals.send_async(signals.got_request_exception, app, exception=error)
        if app.propagate_exceptions:
            raise error
        app.log_exception((type(error), error, error.__traceback__))
        server_error = InternalServerError(original_exception=error)
        handler = self.find_error_handler(server_error, self.ctx_hooks(ctx).blueprints)
        rv: object = server_error
        if handler is not None:
            rv = await call_hook(handler, ctx, server_error)
        return await self.finalize(ctx, rv, from_error_handler=True)

    # -- teardown ------------------------------------------------------------------

    def needs_request_teardown(self, ctx: RequestContext) -> bool:
        """Whether popping ``ctx`` has teardown work to run."""
        return bool(signals.request_tearing_down.receivers or self.ctx_plan(ctx).tears_down)

    async def run_request_teardown(self, ctx: RequestContext, exc: BaseException | None) -> None:
        """``do_teardown_request``, or the app's replacement of it."""
        replaced = self.overrides.get("do_teardown_request")
        if replaced is not None:
            await invoke(replaced, ctx, exc)
        else:
            await self.teardown_request(ctx, exc)

    async def teardown_request(self, ctx: RequestContext, exc: BaseException | None) -> None:
        """Run ``teardown_request`` hooks, then send ``request_tearing_down``."""
        for hook in self.ctx_hooks(ctx).teardown:
            await call_hook(hook, ctx, exc)
        if signals.request_tearing_down.receivers:
            await signals.send_async(signals.request_tearing_down, ctx.app, exc=exc)

    # -- websockets ----------------------------------------------------------------
    #
    # A handler's return value matters only before the handshake is accepted:
    # a response (or an aborted handler) rejects the handshake with it.

    async def full_dispatch_websocket(self, ctx: WebsocketContext) -> Response | None:
        """Run hooks and the handler with user error handling; return the
        response the handler (or a hook or error handler) returned, if any."""
        overrides = self.overrides
        try:
            if signals.websocket_started.receivers:
                await signals.send_async(signals.websocket_started, ctx.app)
            rv = None
            replaced = overrides.get("preprocess_websocket")
            if replaced is not None:
                rv = await replaced(ctx)
            else:
                hooks = self.request_hooks(ctx.websocket)
                if hooks.url_value_preprocessors or hooks.before_websocket:
                    rv = await self.preprocess_websocket(ctx)
            if rv is None:
                replaced = overrides.get("dispatch_websocket")
                # The handler's own awaitable, without a coroutine of ours:
                # the client leaving ends it with an exception, and every
                # frame that passes through costs.
                rv = await (replaced(ctx) if replaced is not None else self.call_handler(ctx))
        except Exception as error:
            ctx.websocket.handler_done = True
            replaced = overrides.get("handle_websocket_user_exception")
            rv = await (replaced or self.handle_websocket_user_exception)(ctx, error)
        ctx.websocket.handler_done = True
        replaced = overrides.get("finalize_websocket")
        return await (replaced or self.finalize_websocket)(ctx, rv)

    async def preprocess_websocket(self, ctx: WebsocketContext) -> Any:
        """Run URL value preprocessors, then ``before_websocket`` hooks."""
        websocket = ctx.websocket
        hooks = self.request_hooks(websocket)
        for hook in hooks.url_value_preprocessors:
            await call_hook(hook, ctx, websocket.endpoint, websocket.view_args)
        for hook in hooks.before_websocket:
            rv = await call_hook(hook, ctx)
            if rv is not None:
                return rv
        return None

    def call_handler(self, ctx: WebsocketContext) -> Awaitable[object]:
        """Call the handler of the matched websocket rule; return its awaitable."""
        websocket = ctx.websocket
        if websocket.routing_exception is not None:
            raise websocket.routing_exception
        rule = websocket.url_rule
        assert rule is not None
        handler, is_async = self.view_for(rule.endpoint)
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
        ``websocket_finished``."""
        app = ctx.app
        response = None if rv is None else self.make_response(rv, ctx.websocket.endpoint)
        try:
            for func in ctx._after_websocket_functions:
                response = await call_hook((func, is_async_callable(func)), ctx, response)
            for hook in self.request_hooks(ctx.websocket).after_websocket:
                response = await call_hook(hook, ctx, response)
            await save_websocket_session(ctx, response)
            if signals.websocket_finished.receivers:
                await signals.send_async(signals.websocket_finished, app, response=response)
        except Exception:
            if not from_error_handler:
                raise
            app.logger.exception("Websocket finalizing failed with an error while handling an error")
        return response

    async def handle_websocket_user_exception(self, ctx: WebsocketContext, error: Exception) -> Any:
        """Answer an error of a handler or hook with a registered handler."""
        is_http = isinstance(error, HTTPException) and not ctx.app.trap_http_exception(error)
        if is_http and (getattr(error, "code", None) is None or isinstance(error, RequestRedirect)):
            return error
        handler = self.find_error_handler(error, self.request_hooks(ctx.websocket).blueprints)
        if handler is None:
            if is_http:
                return error
            raise error
        return await call_hook(handler, ctx, error)

    async def handle_websocket_exception(
        self, ctx: WebsocketContext, error: Exception
    ) -> Response | None:
        """Log an unhandled error, then make the 500 answer (the app's 500
        handler's, if any) and run the ``after_websocket`` hooks on it, as
        Quart does, even once the connection is accepted: it is sent while
        the handshake is open, and an accepted connection is closed with
        1011. Re-raise the error instead when exceptions propagate."""
        app = ctx.app
        if signals.got_websocket_exception.receivers:
            await signals.send_async(signals.got_websocket_exception, app, exception=error)
        if app.propagate_exceptions:
            raise error
        app.log_websocket_exception(ctx, error)
        server_error = InternalServerError(original_exception=error)
        handler = self.find_error_handler(server_error, self.request_hooks(ctx.websocket).blueprints)
        rv: object = server_error
        if handler is not None:
            rv = await call_hook(handler, ctx, server_error)
        replaced = self.overrides.get("finalize_websocket")
        if replaced is not None:
            return await replaced(ctx, rv, from_error_handler=True)  # type: ignore[no-any-return]
        return await self.finalize_websocket(ctx, rv, from_error_handler=True)

    def needs_websocket_teardown(self, websocket: RoutedRequest) -> bool:
        """Whether popping ``websocket``'s context has teardown work to run."""
        return bool(
            "do_teardown_websocket" in self.overrides
            or signals.websocket_tearing_down.receivers
            or self.request_hooks(websocket).teardown_websocket
        )

    async def run_websocket_teardown(self, ctx: WebsocketContext, exc: BaseException | None) -> None:
        """``do_teardown_websocket``, or the app's replacement of it."""
        replaced = self.overrides.get("do_teardown_websocket")
        if replaced is not None:
            await replaced(exc)
        else:
            await self.teardown_websocket(ctx, exc)

    async def teardown_websocket(self, ctx: WebsocketContext | None, exc: BaseException | None) -> None:
        """Run ``teardown_websocket`` hooks, then send ``websocket_tearing_down``."""
        if ctx is not None:
            for hook in self.request_hooks(ctx.websocket).teardown_websocket:
                await call_hook(hook, ctx, exc)
        if signals.websocket_tearing_down.receivers:
            await signals.send_async(signals.websocket_tearing_down, self._app(), exc=exc)

    # -- making responses ------------------------------------------------------------

    def make_response(self, rv: Any, view_name: str | None = None) -> Response:
        """Turn a view's return value into a response of the app's class."""
        app = self._app()
        # The most common return values, ahead of the checks.
        kind = type(rv)
        response_class = app.response_class
        if kind is response_class:  # made by the view: jsonify, make_response
            return rv  # type: ignore[no-any-return]
        if kind is str:
            return response_class(rv)
        if kind is dict:
            return app.json.response(rv)
        status: int | str | None = None
        headers: Any = None
        if isinstance(rv, tuple):
            length = len(rv)
            if length == 3:
                rv, status, headers = rv
            elif length == 2:
                if isinstance(rv[1], (Headers, dict, tuple, list)):
                    rv, headers = rv
                else:
                    rv, status = rv
            else:
                raise TypeError(
                    "The view function did not return a valid response tuple."
                    " The tuple must have the form (body, status, headers),"
                    " (body, status), or (body, headers)."
                )
        if rv is None:
            raise TypeError(
                f"The view function for {view_name!r} did not return a valid"
                " response. The function either returned None or ended without a"
                " return statement."
            )
        if type(rv) in _TEXT_TYPES:  # the usual tuple's body: made with its status and headers
            return response_class(rv, status, headers or None)
        return coerce_response(app, rv, view_name, status, headers)


#: The bodies a response is made from directly (subclasses go through coerce_response).
_TEXT_TYPES = (str, bytes)


def traps_http_exception(app: Microframe, error: Exception) -> bool:
    """The body of :meth:`~microframe.app.Microframe.trap_http_exception`."""
    config = app.config
    if config["TRAP_HTTP_EXCEPTIONS"]:
        return True
    if not isinstance(error, BadRequest):  # a 404 is done here
        return False
    trap_bad_request = config["TRAP_BAD_REQUEST_ERRORS"]
    if trap_bad_request is None:
        return bool(app.debug) and isinstance(error, BadRequestKeyError)
    return bool(trap_bad_request)


def ensure_async(func: Callable[..., Any]) -> Callable[..., Any]:
    """Return ``func`` as a coroutine function (``app.ensure_async``): a plain
    function runs on the request's worker thread, or the default executor
    outside a request."""
    if is_async_callable(func):
        return func

    @functools.wraps(func)
    async def call(*args: object, **kwargs: object) -> object:
        bound = functools.partial(func, *args, **kwargs)
        return await call_hook((bound, False), _cv_request.get(None))

    return call



async def teardown_appcontext(
    app: Microframe, exc: BaseException | None, lease: WorkerLease | None
) -> None:
    """Run ``app``'s ``teardown_appcontext`` functions, newest first, then send
    ``appcontext_tearing_down`` (``app.do_teardown_appcontext``).

    Sync functions run on ``lease``: the context passes the thread its code
    ran on (the worker thread of a request whose view is a plain ``def``,
    the event loop's for an ``async def`` one). Without one they run on the
    calling thread.
    """
    lease = lease or lease_here()
    for func in reversed(app.teardown_appcontext_funcs):
        if is_async_callable(func):
            await func(exc)
        else:
            await lease.run(func, exc)
    await signals.send_async(signals.appcontext_tearing_down, app, exc=exc)

__all__ = [
    "CYCLE_METHODS",
    "WEBSOCKET_METHODS",
    "RequestCycle",
    "blueprint_chain",
    "call_hook",
    "current_context",
    "ensure_async",
    "invoke",
    "stock",
    "teardown_appcontext",
    "traps_http_exception",
]
