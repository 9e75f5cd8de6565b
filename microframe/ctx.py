"""Application and request contexts, and the helpers built on them.

Contexts live in :mod:`contextvars`, so each asyncio task and each worker
thread running a request's sync code sees its own. A context can be entered
with ``with`` (sync code, tests) or ``async with`` (async code); the async
form also runs async teardown functions.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from contextvars import ContextVar, Token
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from werkzeug.exceptions import HTTPException
from werkzeug.routing import MapAdapter

from . import signals
from .app_ctx_globals import _AppCtxGlobals
from .globals import _cv_app, _cv_request, _cv_websocket
from .routing import match_url
from .sessions import SessionMixin
from .sync import (
    WorkerLease,
    in_sync_code,
    is_async_callable,
    lease_here,
    new_request_lease,
    run_async,
)
from .typing import AfterRequestCallable, AfterWebsocketCallable
from .wrappers import Request
from .wrappers.base import RoutedRequest
from .wrappers.websocket import Websocket

if TYPE_CHECKING:
    from .app import Microframe
    from .plans import Endpoint

F = TypeVar("F", bound=Callable[..., object])
T_after = TypeVar("T_after", bound=AfterRequestCallable)
T_after_ws = TypeVar("T_after_ws", bound=AfterWebsocketCallable)

_sentinel: Any = object()


def _run_teardown(coro: Coroutine[object, object, None] | None) -> None:
    """Run a context's teardown from sync code (a ``with`` block, ``pop()``);
    ``None`` when it has none to run (async code is refused all the same)."""
    if not in_sync_code():
        # The loop of this thread is busy running our caller: teardown
        # functions cannot be awaited from here.
        if coro is not None:
            coro.close()
        raise RuntimeError(
            "A context was popped synchronously ('with' or 'pop()') from async code,"
            " where its teardown functions cannot run. In async code use 'async with"
            " app.app_context():' (or 'async with app.test_request_context(...)'),"
            " or 'await ctx.pop_async()'."
        )
    if coro is not None:
        run_async(coro)


class _LazyGlobals:
    """``AppContext.g``, made on first use: many requests never touch ``g``.

    A descriptor without ``__set__``: the ``g`` it puts in the context's
    ``__dict__`` shadows it from then on.
    """

    def __get__(self, ctx: AppContext | None, owner: type) -> Any:
        if ctx is None:
            return self
        g = ctx.__dict__["g"] = ctx.app.app_ctx_globals_class()
        return g


class _OwnersLease:
    """``AppContext.lease``: the worker lease of the request or websocket
    context that pushed this app context, ``None`` for one pushed alone."""

    def __get__(self, ctx: AppContext | None, owner: type) -> Any:
        if ctx is None:
            return self
        pusher = ctx._pushed_by
        return pusher.lease if pusher is not None else None


class _LazyLease:
    """A connection context's worker lease, made on first use: a request
    that runs no sync code never needs one."""

    def __get__(self, ctx: _ConnectionContext | None, owner: type) -> Any:
        if ctx is None:
            return self
        lease = ctx.__dict__["lease"] = new_request_lease(ctx.app.sync_pool)
        ctx._sync_code_starts()
        return lease


class _Entered:
    """``with`` and ``async with`` for a context with push/pop methods.

    The sync form suits tests and scripts; the async form also awaits async
    teardown functions.
    """

    if TYPE_CHECKING:

        def push(self) -> None: ...

        def pop(self, exc: BaseException | None = ...) -> None: ...

        async def push_async(self) -> None: ...

        async def pop_async(self, exc: BaseException | None = ...) -> None: ...

    def __enter__(self) -> Self:
        self.push()
        return self

    def __exit__(
        self, exc_type: type | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.pop(exc)

    async def __aenter__(self) -> Self:
        await self.push_async()
        return self

    async def __aexit__(
        self, exc_type: type | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.pop_async(exc)


class AppContext(_Entered):
    """The application context: makes ``current_app`` and ``g`` available.

    ::

        with app.app_context():
            init_db()

        async with app.app_context():
            await init_db()
    """

    #: Bound on first use (see :attr:`url_adapter`).
    _url_adapter: Any = _sentinel

    def __init__(self, app: Microframe) -> None:
        self.app = app
        self._tokens: list[Token[AppContext]] = []

    #: The ``g`` namespace of this context.
    g: _AppCtxGlobals = _LazyGlobals()  # type: ignore[assignment]
    #: The worker thread of the request that pushed this context, if any.
    lease: WorkerLease | None = _OwnersLease()  # type: ignore[assignment]
    _pushed_by: _ConnectionContext | None = None

    @property
    def url_adapter(self) -> MapAdapter | None:
        """The URL adapter for building URLs outside a request (needs ``SERVER_NAME``)."""
        if self._url_adapter is _sentinel:
            self._url_adapter = self.app.create_url_adapter(None)
        return self._url_adapter  # type: ignore[no-any-return]

    @url_adapter.setter
    def url_adapter(self, value: MapAdapter | None) -> None:
        self._url_adapter = value

    def push(self) -> None:
        """Make this the current app context (sync)."""
        self._tokens.append(_cv_app.set(self))
        signals.send_sync(signals.appcontext_pushed, self.app)

    async def push_async(self) -> None:
        """Make this the current app context (async)."""
        self._tokens.append(_cv_app.set(self))
        if signals.appcontext_pushed.receivers:
            await signals.send_async(signals.appcontext_pushed, self.app)

    def pop(self, exc: BaseException | None = _sentinel) -> None:
        """Run teardown functions and remove this context (sync)."""
        try:
            if len(self._tokens) == 1:
                _run_teardown(self._teardown(None if exc is _sentinel else exc))
        finally:
            self._reset()
        signals.send_sync(signals.appcontext_popped, self.app)

    async def pop_async(self, exc: BaseException | None = _sentinel) -> None:
        """Run teardown functions (awaiting async ones) and remove this context."""
        try:
            if len(self._tokens) == 1:
                teardown = self._teardown(None if exc is _sentinel else exc)
                if teardown is not None:
                    await teardown
        finally:
            self._reset()
        if signals.appcontext_popped.receivers:
            await signals.send_async(signals.appcontext_popped, self.app)

    def _teardown(self, exc: BaseException | None) -> Coroutine[object, object, None] | None:
        # The last pop's teardown: teardown_appcontext functions and the
        # appcontext_tearing_down signal, when there are any (else None).
        app = self.app
        if app.teardown_appcontext_funcs or signals.appcontext_tearing_down.receivers:
            return app.do_teardown_appcontext(exc, self._teardown_lease())
        return None

    def pop_has_work(self) -> bool:
        """Whether popping has more to do than remove the context: teardown
        functions or signal receivers."""
        app = self.app
        return bool(
            signals.appcontext_popped.receivers
            or (
                len(self._tokens) == 1
                and (app.teardown_appcontext_funcs or signals.appcontext_tearing_down.receivers)
            )
        )

    def _teardown_lease(self) -> WorkerLease:
        # Where the context's code ran: the thread its request chose for
        # teardown (see _ConnectionContext._begin_teardown), the worker of a
        # background task that ran sync code, or else the thread popping it
        # (the thread of a 'with' block, the loop's for 'async with').
        lease = self.lease
        if lease is not None and lease.leased:
            return lease
        return lease_here()

    def _reset(self) -> None:
        token = self._tokens.pop()
        ctx = _cv_app.get()
        _cv_app.reset(token)
        if ctx is not self:
            raise AssertionError(f"Popped wrong app context. ({ctx!r} instead of {self!r})")

    def copy(self) -> AppContext:
        """Return a new context for the same app sharing this ``g``."""
        ctx = object.__new__(AppContext)
        ctx.app, ctx._url_adapter, ctx.g, ctx._tokens = self.app, self._url_adapter, self.g, []
        ctx.lease = None
        return ctx


class _ConnectionContext(_Entered):
    """What request and websocket contexts share: URL matching and the app
    context they push when none of their app is current.

    The URL adapter is bound on first use: a request whose route is in the
    app's match cache never needs one unless it builds a URL.
    """

    app: Microframe
    #: The worker thread that runs this connection's sync code.
    lease: WorkerLease = _LazyLease()  # type: ignore[assignment]
    #: The request or websocket being routed.
    _routed: RoutedRequest
    _url_adapter: Any = _sentinel
    #: The context variable this kind of context is current in.
    _var: ContextVar[Any]
    # Class defaults rather than per-connection stores: pushing sets both.
    _app_ctx: AppContext | None = None
    _token: Token[Any] | None = None

    @property
    def url_adapter(self) -> MapAdapter | None:
        """The URL map bound to this request (``None`` if it could not be bound)."""
        adapter = self._url_adapter
        if adapter is _sentinel:
            # A request or a websocket, which quacks like one for binding.
            routed: Request = self._routed  # type: ignore[assignment]
            try:
                adapter = self.app.create_url_adapter(routed)
            except HTTPException as error:
                adapter = None
                if routed.url_rule is None:
                    routed.routing_exception = error
            self._url_adapter = adapter
        return adapter  # type: ignore[no-any-return]

    @url_adapter.setter
    def url_adapter(self, value: MapAdapter | None) -> None:
        self._url_adapter = value

    def _match(self, target: RoutedRequest) -> None:
        # Remembered results only once the app serves: its URL map is set.
        app = self.app
        match_url(app, target, self, app._cycle.match_cache if app._got_first_request else None)

    if TYPE_CHECKING:
        # What each kind of connection context provides.
        _session: SessionMixin | None

        def _needs_teardown(self) -> bool: ...  # teardown functions or receivers?

        def _teardown(self, exc: BaseException | None) -> Coroutine[object, object, None]: ...

        def _view_is_async(self) -> bool: ...  # is the matched view async def?

        def _release(self, held: WorkerLease | None) -> None: ...  # the thread, files

    def _sync_code_starts(self) -> None:
        """The connection's first sync code is about to run (its worker lease is made)."""

    # -- push and pop ----------------------------------------------------------
    #
    # One path each, for ``with`` and ``async with`` alike: the steps below
    # do all of the work but sending signals, opening an async session and
    # running teardown functions, which the sync forms run to completion and
    # the async forms await (only when there is something to await).

    def push(self) -> None:
        """Make this the current context (sync), with an app context."""
        app_ctx = _cv_app.get(None)
        if app_ctx is None or app_ctx.app is not self.app:
            self._push_app_context()
            signals.send_sync(signals.appcontext_pushed, self.app)
        self._set()

    async def push_async(self) -> None:
        """Make this the current context (async), with an app context."""
        # The steps of push(), written out: this is every served request's.
        app = self.app
        app_ctx = _cv_app.get(None)
        if app_ctx is None or app_ctx.app is not app:
            app_ctx = self._app_ctx = app.app_context()
            app_ctx._pushed_by = self
            app_ctx._tokens.append(_cv_app.set(app_ctx))
            if signals.appcontext_pushed.receivers:
                await signals.send_async(signals.appcontext_pushed, app)
        self._token = self._var.set(self)
        routed = self._routed
        if routed.url_rule is None and routed.routing_exception is None:
            match_url(app, routed, self, app._cycle.match_cache if app._got_first_request else None)
        if self._session is None and app.session_interface_is_async:
            self._session = await app.open_session(cast("Request", routed))

    def pop(self, exc: BaseException | None = _sentinel) -> None:
        """Run teardown functions and remove this context (sync)."""
        exc = None if exc is _sentinel else exc
        # The app context is popped the full way even without work: a sync
        # pop refuses async code, where teardown could not be awaited.
        work, _, held = self._begin_pop()
        # Nested finally blocks: a failing teardown function must not leave
        # the app context pushed nor skip teardown_appcontext.
        try:
            _run_teardown(self._teardown(exc) if work else None)
        finally:
            self._unset()
            app_ctx, self._app_ctx = self._app_ctx, None
            try:
                if app_ctx is not None:
                    app_ctx.pop(exc)
            finally:
                self._release(held)

    async def pop_async(self, exc: BaseException | None = _sentinel) -> None:
        """Run teardown functions (awaiting async ones) and remove this context."""
        if self._pops_quietly():
            # Nothing to run or await (most requests): just remove it.
            token, self._token = self._token, None
            if token is not None:
                self._var.reset(token)
            app_ctx = self._app_ctx
            if app_ctx is not None:
                self._app_ctx = None
                app_ctx._reset()
            self._release(self.__dict__.get("lease"))
            return
        exc = None if exc is _sentinel else exc
        work, app_work, held = self._begin_pop()
        try:
            if work:
                await self._teardown(exc)
        finally:
            self._unset()
            app_ctx, self._app_ctx = self._app_ctx, None
            try:
                if app_work and app_ctx is not None:
                    await app_ctx.pop_async(exc)
                elif app_ctx is not None:
                    app_ctx._reset()  # all that popping it does
            finally:
                self._release(held)

    def _push_app_context(self) -> None:
        # No app context of this app is current: push one, popped with this.
        app_ctx = self._app_ctx = self.app.app_context()
        app_ctx._pushed_by = self
        app_ctx._tokens.append(_cv_app.set(app_ctx))

    def _set(self) -> None:
        # Make this context current and match its URL.
        self._token = self._var.set(self)
        routed = self._routed
        if routed.url_rule is None and routed.routing_exception is None:
            self._match(routed)

    def _unset(self) -> None:
        token, self._token = self._token, None
        if token is not None:
            self._var.reset(token)

    def _pops_quietly(self) -> bool:
        # Whether popping only removes the contexts: no teardown functions
        # or receivers, for this context or the app context it pushed.
        app_ctx = self._app_ctx
        return not (self._needs_teardown() or (app_ctx is not None and app_ctx.pop_has_work()))

    def _begin_pop(self) -> tuple[bool, bool, WorkerLease | None]:
        # Whether this context and the app context it pushed have teardown
        # work, and the worker lease held (released at the end). With any
        # teardown to run, the thread it runs on is chosen first.
        work = self._needs_teardown()
        app_ctx = self._app_ctx
        app_work = app_ctx is not None and app_ctx.pop_has_work()
        if work or app_work:
            return work, app_work, self._begin_teardown()
        return work, app_work, self.__dict__.get("lease")

    def _begin_teardown(self) -> WorkerLease | None:
        """Point :attr:`lease` at the thread where sync teardown functions run,
        and return the worker lease the context held (released at the end).

        They run where the context's code ran, so that a thread-bound object
        (an ``sqlite3`` connection on ``g``) is closed on the thread that
        opened it: on the worker thread if the context used one and its view
        is a plain ``def`` (or no view matched: its hooks ran there);
        otherwise on the thread popping the context, which is the event
        loop's for a served request whose view is ``async def`` (only its
        hooks may have used the worker), and the test's or script's own for a
        ``with`` block.
        """
        held: WorkerLease | None = self.__dict__.get("lease")
        if held is not None and held.leased and not self._view_is_async():
            return held
        self.lease = lease_here()
        return held


class RequestContext(_ConnectionContext):
    """The request context: makes ``request`` and ``session`` available.

    Created by the app for each request, and by
    :meth:`~microframe.app.Microframe.test_request_context` in tests. It also
    holds the request's worker-thread lease, the flashed messages and the
    ``after_this_request`` functions.
    """

    #: Calls made once the request is over (background tasks added during
    #: it); a class default, so requests without any cost nothing.
    deferred_calls: list[Callable[[], Any]] | None = None
    #: The plan of the matched endpoint (its hooks and view), set when
    #: dispatch begins.
    plan: Endpoint | None = None
    #: The flashed messages, read from the session on first use.
    flashes: list[tuple[str, str]] | None = None
    _var = _cv_request
    # A class default: after_this_request makes the list.
    _after_request_functions: list[AfterRequestCallable] | tuple[()] = ()

    def __init__(self, app: Microframe, request: Request, session: SessionMixin | None = None):
        self.app = app
        self.request = self._routed = request
        self._session = session

    @property
    def session(self) -> SessionMixin:
        """The session, opened on first use (the cookie is untouched otherwise).

        Using it (the ``session`` proxy does) marks it read, as in Flask
        3.1.3: a view that only asks ``"user" in session`` still depends on
        the cookie, and its response gets ``Vary: Cookie``.
        """
        session = self.opened_session()
        session.accessed = True
        return session

    @session.setter
    def session(self, value: SessionMixin) -> None:
        self._session = value

    def opened_session(self) -> SessionMixin:
        """The session, opened if need be, without marking it read: for saving it."""
        session = self._session
        if session is None:
            session = self._session = self.app.open_session_sync(self.request)
        return session

    @property
    def session_opened(self) -> bool:
        """``True`` once the session has been used in this request."""
        return self._session is not None

    def match_request(self) -> None:
        """Match the request against the URL map, storing the rule or the error."""
        self._match(self.request)

    # -- push and pop ----------------------------------------------------------
    #
    # The app's request cycle (``app._cycle``) knows the hooks and the view;
    # the plan it left on the context answers the usual request's pop.

    def _needs_teardown(self) -> bool:
        return self.app._cycle.needs_request_teardown(self)

    def _pops_quietly(self) -> bool:
        # One check of everything that could need popping work; False (no
        # plan, or one taken before a hook list changed) sends the pop
        # through the full checks.
        plan, app = self.plan, self.app
        if plan is None or plan.version != app.hooks_version.value:
            return False
        return not (
            plan.tears_down
            or app.teardown_appcontext_funcs
            or signals.request_tearing_down.receivers
            or signals.appcontext_tearing_down.receivers
            or signals.appcontext_popped.receivers
        )

    def _teardown(self, exc: BaseException | None) -> Coroutine[object, object, None]:
        return self.app._cycle.run_request_teardown(self, exc)

    def _view_is_async(self) -> bool:
        return self.app._cycle.view_runs_async(self.request)

    def _release(self, held: WorkerLease | None) -> None:
        if held is not None:
            held.release()
        request = self.request
        if request._files:
            request.close_files()
        deferred = self.deferred_calls
        if deferred:
            self.deferred_calls = None
            for call in deferred:
                call()

    def _sync_code_starts(self) -> None:
        # A body the server already holds is taken now, on the loop: sync
        # code then reads request.data, .form and .get_json() in place
        # instead of handing the read back to the loop (two thread hops).
        if not in_sync_code():
            self.request.take_body_at_hand()

    def copy(self) -> RequestContext:
        """Return a context for the same request and session, to push elsewhere.

        The session is opened now if it was not yet (unless the session
        interface is async), so that the copy and this context share it.
        """
        session = self._session
        if session is None and not self.app.session_interface_is_async:
            session = self.opened_session()
        ctx = RequestContext(self.app, self.request, session)
        ctx.url_adapter = self.url_adapter
        ctx.lease = self.lease
        return ctx


class WebsocketContext(_ConnectionContext):
    """The websocket context: makes ``websocket`` (and ``session``) available.

    Created by the app for each websocket connection, and by
    :meth:`~microframe.app.Microframe.test_websocket_context` in tests. Like
    :class:`RequestContext` it pushes an app context when none is active
    and holds the worker-thread lease of the connection's sync hooks. The
    session is opened on first use; it is not saved (a cookie cannot be set
    once the handshake is answered).
    """

    _var = _cv_websocket
    # A class default: after_this_websocket makes the list.
    _after_websocket_functions: list[AfterWebsocketCallable] | tuple[()] = ()

    def __init__(
        self, app: Microframe, websocket: Websocket, session: SessionMixin | None = None
    ) -> None:
        self.app = app
        # The websocket quacks like a request for URL matching: host,
        # root_path, a ws scheme (so werkzeug matches websocket rules), path,
        # "GET".
        self.websocket = self._routed = websocket
        self._session = session

    @property
    def session(self) -> SessionMixin:
        """The session of the handshake's cookies, opened on first use."""
        session = self._session
        if session is None:
            session = self._session = self.app.open_session_sync(cast("Request", self.websocket))
        return session

    @session.setter
    def session(self, value: SessionMixin) -> None:
        self._session = value

    @property
    def session_opened(self) -> bool:
        """``True`` once the session has been used in this websocket."""
        return self._session is not None

    def match_websocket(self) -> None:
        """Match the websocket against the URL map, storing the rule or the error."""
        self._match(self.websocket)

    def _needs_teardown(self) -> bool:
        return self.app._cycle.needs_websocket_teardown(self.websocket)

    def _teardown(self, exc: BaseException | None) -> Coroutine[object, object, None]:
        return self.app._cycle.run_websocket_teardown(self, exc)

    def _view_is_async(self) -> bool:
        return self.app._cycle.view_runs_async(self.websocket)

    def _release(self, held: WorkerLease | None) -> None:
        if held is not None:  # made only if sync code ran
            held.release()

    def copy(self) -> WebsocketContext:
        """Return a context for the same websocket and session, to push elsewhere."""
        ctx = WebsocketContext.__new__(WebsocketContext)
        ctx.app, ctx.websocket, ctx._routed = self.app, self.websocket, self.websocket
        ctx._url_adapter = self._url_adapter
        ctx._session, ctx.lease = self._session, self.lease
        ctx._app_ctx, ctx._token = None, None
        return ctx


def after_this_request(func: T_after) -> T_after:
    """Run ``func(response)`` after this request, like an ``after_request`` hook.

    ::

        @app.get("/")
        async def index():
            @after_this_request
            def add_header(response):
                response.headers["X-Foo"] = "Parachute"
                return response
            return "Hello"
    """
    ctx = _cv_request.get(None)
    if ctx is None:
        raise RuntimeError(
            "'after_this_request' can only be used when a request"
            " context is active, such as in a view function."
        )
    _add_after(ctx, "_after_request_functions", func)
    return func


def after_this_websocket(func: T_after_ws) -> T_after_ws:
    """Run ``func(response)`` after this websocket, like an ``after_websocket``
    hook (Quart's ``quart.ctx.after_this_websocket``).

    ``response`` is the response the handler answered the handshake with, or
    ``None`` once the websocket was accepted; ``func`` returns it (or another)::

        @app.websocket("/ws")
        async def ws():
            @after_this_websocket
            async def log_end(response):
                app.logger.info("websocket closed")
                return response

            await websocket.accept()
            ...
    """
    ctx = _cv_websocket.get(None)
    if ctx is None:
        raise RuntimeError(
            "'after_this_websocket' can only be used when a websocket"
            " context is active, such as in a websocket handler."
        )
    _add_after(ctx, "_after_websocket_functions", func)
    return func


def _add_after(ctx: _ConnectionContext, name: str, func: Callable[..., Any]) -> None:
    # The context's list of functions ``name``: an empty tuple (the class
    # default) until the first is added.
    functions = getattr(ctx, name)
    if not isinstance(functions, list):
        functions = []
        setattr(ctx, name, functions)
    functions.append(func)


def copy_current_app_context(func: F) -> F:
    """Wrap ``func`` so it runs in the current app context wherever it is called.

    Useful for background work started from a view::

        @copy_current_app_context
        async def job():
            current_app.logger.info("still have the app")
    """
    ctx = _cv_app.get(None)
    if ctx is None:
        raise RuntimeError(
            "'copy_current_app_context' can only be used when an"
            " application context is active, such as in a view function."
        )
    return _run_in(ctx.copy, func)


def copy_current_request_context(func: F) -> F:
    """Wrap ``func`` so it runs in a copy of the current request context."""
    ctx = _cv_request.get(None)
    if ctx is None:
        raise RuntimeError(
            "'copy_current_request_context' can only be used when a"
            " request context is active, such as in a view function."
        )
    return _run_in(ctx.copy, func)


def _run_in(make_ctx: Callable[[], _Entered], func: F) -> F:
    # Each call pushes a copy of its own and pops it, with teardown, as
    # Flask's and Quart's copies do: a resource the function opens in its
    # thread or task (a database session on g) is closed there.
    if is_async_callable(func):

        @functools.wraps(func)
        async def async_wrapper(*args: object, **kwargs: object) -> object:
            async with _copied(make_ctx):
                return await cast(Callable[..., Awaitable[Any]], func)(*args, **kwargs)

        return cast(F, async_wrapper)

    @functools.wraps(func)
    def sync_wrapper(*args: object, **kwargs: object) -> object:
        ctx = _copied(make_ctx)
        if not in_sync_code():
            # Called on the event loop's thread, where a sync pop could not
            # await teardown: the copy only makes the globals available.
            tokens = _set_only(ctx)
            try:
                return func(*args, **kwargs)
            finally:
                _reset_only(ctx, tokens)
        with ctx:
            return func(*args, **kwargs)

    return cast(F, sync_wrapper)


def _copied(make_ctx: Callable[[], _Entered]) -> _Entered:
    # The copy's sync code and teardown run where it is called, never on
    # the original request's worker thread (which may be waiting for it).
    ctx = make_ctx()
    ctx.lease = lease_here()  # type: ignore[attr-defined]
    return ctx


def _set_only(ctx: Any) -> tuple[Token[Any], Token[Any] | None]:
    # Copied contexts are pushed without teardown: the original context's
    # owner tears down; a copy only makes the globals available.
    if isinstance(ctx, _ConnectionContext):
        app_token = _cv_app.set(_cv_app.get(None) or ctx.app.app_context())  # type: ignore[arg-type]
        return app_token, ctx._var.set(ctx)
    return _cv_app.set(ctx), None


def _reset_only(ctx: object, tokens: tuple[Token[Any], Token[Any] | None]) -> None:
    app_token, inner_token = tokens
    if inner_token is not None:
        inner_token.var.reset(inner_token)
    _cv_app.reset(app_token)


def copy_current_websocket_context(func: F) -> F:
    """Wrap ``func`` so it runs in a copy of the current websocket context.

    Useful to receive and send in a task of its own::

        @app.websocket("/ws")
        async def chat():
            @copy_current_websocket_context
            async def pump():
                while True:
                    await websocket.send(await queue.get())

            task = asyncio.create_task(pump())
    """
    ctx = _cv_websocket.get(None)
    if ctx is None:
        raise RuntimeError(
            "'copy_current_websocket_context' can only be used when a"
            " websocket context is active, such as in a websocket handler."
        )
    return _run_in(ctx.copy, func)


def has_app_context() -> bool:
    """Return ``True`` inside an application context."""
    return _cv_app.get(None) is not None


def has_request_context() -> bool:
    """Return ``True`` while a request is handled (or a test request context is pushed)."""
    return _cv_request.get(None) is not None


def has_websocket_context() -> bool:
    """Return ``True`` while a websocket connection is handled."""
    return _cv_websocket.get(None) is not None


__all__ = [
    "AppContext",
    "RequestContext",
    "WebsocketContext",
    "after_this_request",
    "after_this_websocket",
    "copy_current_app_context",
    "copy_current_request_context",
    "copy_current_websocket_context",
    "has_app_context",
    "has_request_context",
    "has_websocket_context",
]
