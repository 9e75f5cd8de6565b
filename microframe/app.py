"""The application object, :class:`Microframe`, in one place.

The app's replaceable parts are its class attributes, listed together at
the top of the class. Registration (routes, hooks, error handlers, template
filters, serving functions) is shared with blueprints in
:mod:`microframe.scaffold`; everything else an app does is a method here:
configuration, the request-cycle methods Flask and Quart users override by
name, contexts, URL building, templates, sessions, startup and shutdown, and
the test and serving entry points. The bodies of the request cycle, and what
is worked out once per app rather than per request, are in the app's
:class:`~microframe.dispatch.RequestCycle` (``app._cycle``).
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine, Iterable
from datetime import timedelta
from functools import cached_property
from inspect import isawaitable
from logging import Logger
from types import ModuleType
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from werkzeug.exceptions import Aborter, HTTPException
from werkzeug.routing import BuildError, Map, MapAdapter, Rule

from . import background, sessions
from .app_ctx_globals import _AppCtxGlobals
from .asgi import ASGIHTTPConnection, ASGILifespan, ASGIWebsocketConnection
from .blueprints import Blueprint
from .config import DEFAULT_CONFIG, Config, ConfigAttribute, to_timedelta
from .ctx import AppContext, RequestContext, WebsocketContext
from .debughelpers import routing_error, traceback_page
from .dispatch import (
    ExcInfo,
    RequestCycle,
    current_context,
    ensure_async,
    stock,
    teardown_appcontext,
    traps_http_exception,
)
from .globals import _cv_request, _cv_websocket, g
from .helpers import get_debug_flag, make_redirect
from .json.provider import DefaultJSONProvider, JSONProvider
from .lifespan import freeze_gc, run_shutdown, run_startup
from .logging import create_logger
from .routing import bind_url_map, build_url, handle_url_build_error
from .scaffold import Scaffold, app_name, instance_folder, open_file, register_rule, setupmethod
from .sending import add_static_route, get_send_file_max_age
from .sessions import SecureCookieSessionInterface, SessionInterface, SessionMixin
from .sync import (
    ReadyValue,
    SyncWorkerPool,
    WorkerLease,
    awaited,
    dual,
    ensure_sync,
    in_sync_code,
    is_async_callable,
    ready,
    run_async,
)
from .template_loader import DispatchingJinjaLoader
from .templating import (
    AUTOESCAPE_EXTENSIONS,
    Environment,
    _default_template_ctx_processor,
    update_context_async,
    update_context_sync,
)
from .typing import (
    AfterServingCallable,
    ASGIReceiveCallable,
    ASGISendCallable,
    BeforeServingCallable,
    RouteCallable,
    Scope,
    ShellContextProcessorCallable,
    TeardownCallable,
    WhileServingCallable,
)
from .wrappers import Request, Response
from .wrappers.websocket import Websocket
from .wsgi import request_from_environ, serve_app_through_wsgi, serve_wsgi_environ

if TYPE_CHECKING:
    from .testing import MicroframeClient, MicroframeCliRunner, TestApp

T_teardown = TypeVar("T_teardown", bound=TeardownCallable)
T_shell_ctx = TypeVar("T_shell_ctx", bound=ShellContextProcessorCallable)


def _testing() -> ModuleType:
    # The test tools drive the app as a client does: a layer above it,
    # loaded on first use (here, the one place), so serving never loads them.
    from . import testing

    return testing


class Microframe(Scaffold):
    """The application: an ASGI callable with Flask's API, made async.

    ::

        from microframe import Microframe

        app = Microframe(__name__)

        @app.get("/")
        async def index():
            return "Hello"

    Serve it with ``microframe --app module run`` or any ASGI server.

    :param import_name: the application module's ``__name__``.
    :param static_url_path: the URL prefix of static files (``/static``).
    :param static_folder: the static files folder, relative to the app.
    :param static_host: the host static files are served from, with
        ``host_matching``.
    :param host_matching: match rules on the ``host`` as well as the path.
    :param subdomain_matching: match rules' ``subdomain`` against
        ``SERVER_NAME``.
    :param template_folder: the templates folder, relative to the app.
    :param instance_path: the instance folder; ``instance`` beside the app
        by default.
    :param instance_relative_config: load config files relative to the
        instance folder.
    :param root_path: the folder the app's resources are relative to.
    """

    # -- replaceable parts: subclass and set these ----------------------------------

    request_class: type[Request] = Request
    response_class: type[Response] = Response
    #: The class of the ``websocket`` object.
    websocket_class: type[Websocket] = Websocket
    config_class: type[Config] = Config
    json_provider_class: type[JSONProvider] = DefaultJSONProvider
    url_rule_class: type[Rule] = Rule
    url_map_class: type[Map] = Map
    aborter_class: type[Aborter] = Aborter
    app_ctx_globals_class: type[_AppCtxGlobals] = _AppCtxGlobals
    session_interface: SessionInterface = SecureCookieSessionInterface()
    #: The environment class; subclass :class:`~microframe.templating.Environment`.
    jinja_environment: type[Environment] = Environment
    #: Keyword arguments for the environment, e.g. ``{"trim_blocks": True}``.
    jinja_options: dict[str, Any] = {}
    #: ``None``: :class:`~microframe.testing.MicroframeClient`.
    test_client_class: type[MicroframeClient] | None = None
    #: ``None``: :class:`~microframe.testing.MicroframeCliRunner`.
    test_cli_runner_class: type[MicroframeCliRunner] | None = None
    #: ``None``: :class:`~microframe.testing.TestApp` (Quart's attribute).
    test_app_class: type[TestApp] | None = None
    #: The ASGI protocol: one instance serves one HTTP request, websocket
    #: connection or lifespan (Quart's extension points).
    asgi_http_class: type[ASGIHTTPConnection] = ASGIHTTPConnection
    asgi_websocket_class: type[ASGIWebsocketConnection] = ASGIWebsocketConnection
    asgi_lifespan_class: type[ASGILifespan] = ASGILifespan
    #: The class of :attr:`shutdown_event` (Quart's name).
    event_class: type[asyncio.Event] = asyncio.Event
    default_config: dict[str, Any] = DEFAULT_CONFIG

    debug: ConfigAttribute[bool] = ConfigAttribute("DEBUG")
    testing: ConfigAttribute[bool] = ConfigAttribute("TESTING")
    secret_key: ConfigAttribute[str | bytes | None] = ConfigAttribute("SECRET_KEY")
    permanent_session_lifetime: ConfigAttribute[timedelta] = ConfigAttribute(
        "PERMANENT_SESSION_LIFETIME", get_converter=to_timedelta
    )

    def __init__(
        self,
        import_name: str,
        static_url_path: str | None = None,
        static_folder: str | os.PathLike[str] | None = "static",
        static_host: str | None = None,
        host_matching: bool = False,
        subdomain_matching: bool = False,
        template_folder: str | os.PathLike[str] | None = "templates",
        instance_path: str | None = None,
        instance_relative_config: bool = False,
        root_path: str | None = None,
    ) -> None:
        super().__init__(
            import_name,
            static_folder=static_folder,
            static_url_path=static_url_path,
            template_folder=template_folder,
            root_path=root_path,
        )
        # The name comes first: an installed app's instance folder is named after it.
        self.name = app_name(import_name)
        if instance_path is None:
            instance_path = self.auto_find_instance_path()
        elif not os.path.isabs(instance_path):
            raise ValueError("If an instance path is provided it must be absolute.")
        self.instance_path = instance_path
        self.config = self.make_config(instance_relative_config)
        self.json: JSONProvider = self.json_provider_class(self)
        self.url_map = self.url_map_class(host_matching=host_matching)
        self.subdomain_matching = subdomain_matching
        self.blueprints: dict[str, Blueprint] = {}
        self.extensions: dict[str, Any] = {}
        #: What :func:`~microframe.abort` raises with: add codes to its
        #: ``mapping``, or set :attr:`aborter_class`.
        self.aborter = self.make_aborter()
        self.url_build_error_handlers: list[Callable[[Exception, str, dict[str, Any]], str]] = []
        self.teardown_appcontext_funcs: list[Callable[[BaseException | None], Any]] = []
        self.shell_context_processors: list[Callable[[], dict[str, Any]]] = []
        self.before_serving_funcs: list[BeforeServingCallable] = []
        self.after_serving_funcs: list[AfterServingCallable] = []
        self.while_serving_gens: list[WhileServingCallable] = []
        #: The background tasks that are running.
        self.background_tasks: set[Any] = set()
        #: Set when shutdown begins (made anew at each startup), for tasks
        #: that run while the app serves to see when to stop, as in Quart.
        self.shutdown_event: asyncio.Event = self.event_class()
        self._while_serving_running: list[AsyncGenerator[None, None]] = []
        self._gc_frozen = False
        self._got_first_request = False
        self._sync_pool: SyncWorkerPool | None = None
        self._cycle = RequestCycle(self)
        # Flask's first context processor (g and request for templates), listed as Flask lists it.
        self.template_context_processors[None].append(_default_template_ctx_processor)
        if self.has_static_folder:
            assert bool(static_host) == host_matching, (
                "Invalid static_host/host_matching combination"
            )
            add_static_route(self, static_host)

    # -- identity and configuration ------------------------------------------

    @cached_property
    def logger(self) -> Logger:
        """The app's :class:`logging.Logger`, named after the app."""
        return create_logger(self)

    def auto_find_instance_path(self) -> str:
        """Return where the instance folder is, when not given, as Flask has it.

        ``instance`` beside the app's top-level package or module (for a
        package, the folder containing it, so the instance folder is never
        inside the code); for an installed package,
        ``<prefix>/var/<name>-instance``.
        """
        return instance_folder(self.import_name, self.name)

    def make_config(self, instance_relative: bool = False) -> Config:
        """Create the :class:`Config` with the defaults and ``DEBUG`` from the environment."""
        root_path = self.instance_path if instance_relative else self.root_path
        defaults = dict(self.default_config)
        defaults["DEBUG"] = get_debug_flag()
        return self.config_class(root_path, defaults)

    def make_aborter(self) -> Aborter:
        """Create :attr:`aborter`, an instance of :attr:`aborter_class`."""
        return self.aborter_class()

    def open_instance_resource(
        self, resource: str, mode: str = "rb", encoding: str | None = "utf-8"
    ) -> Any:
        """Open ``resource``, a path relative to :attr:`instance_path`, in any mode.

        Like :meth:`open_resource`: the open file in sync code, an awaitable
        giving an :mod:`aiofiles` file context in async code.
        """
        return open_file(os.path.join(self.instance_path, resource), mode, encoding)

    @property
    def propagate_exceptions(self) -> bool:
        """Whether unhandled exceptions are re-raised (testing or debug by default)."""
        value = self.config["PROPAGATE_EXCEPTIONS"]
        if value is not None:
            return bool(value)
        return bool(self.testing or self.debug)

    @property
    def sync_pool(self) -> SyncWorkerPool:
        """The bounded pool of threads that run sync views (``SYNC_WORKERS``)."""
        if self._sync_pool is None:
            self._sync_pool = SyncWorkerPool(int(self.config["SYNC_WORKERS"]))
        return self._sync_pool

    def _check_setup_finished(self, f_name: str) -> None:
        if self._got_first_request:
            raise AssertionError(
                f"The setup method '{f_name}' can no longer be called on the application."
                " It has already handled its first request, any changes will not be"
                " applied consistently.\n"
                "Make sure all imports, decorators, functions, etc. needed to set up"
                " the application are done before running it."
            )

    # -- registration (the shared part is in the scaffold) -----------------------------

    def _app_wide(self, apply: Callable[[Any], None]) -> None:
        apply(self)

    def _register_url_rule(
        self,
        rule: str,
        endpoint: str | None,
        view_func: RouteCallable | None,
        provide_automatic_options: bool | None,
        options: dict[str, Any],
    ) -> None:
        register_rule(self, rule, endpoint, view_func, provide_automatic_options, options)

    @setupmethod
    def register_blueprint(self, blueprint: Blueprint, **options: Any) -> None:
        """Register ``blueprint`` on the app.

        :param options: override the blueprint's ``url_prefix``, ``subdomain``,
            ``url_defaults`` and ``name``.
        """
        blueprint.register(self, options)

    def iter_blueprints(self) -> Iterable[Blueprint]:
        """Iterate over the registered blueprints in registration order."""
        return self.blueprints.values()

    @setupmethod
    def teardown_appcontext(self, func: T_teardown) -> T_teardown:
        """Run ``func(exc)`` when the app context is popped."""
        self.teardown_appcontext_funcs.append(func)
        return func

    @setupmethod
    def shell_context_processor(self, func: T_shell_ctx) -> T_shell_ctx:
        """Register a function whose dict is added to ``microframe shell``."""
        self.shell_context_processors.append(func)
        return func

    def make_shell_context(self) -> dict[str, Any]:
        """The names ``microframe shell`` defines: ``app``, ``g``, and what the
        shell context processors return (async ones awaited), as Flask's."""
        names: dict[str, Any] = {"app": self, "g": g}
        for processor in self.shell_context_processors:
            names.update(self.ensure_sync_result(processor()) or {})
        return names

    def add_url_build_error_handler(
        self, func: Callable[[Exception, str, dict[str, Any]], str]
    ) -> None:
        """Add a handler tried when ``url_for`` cannot build a URL."""
        self.url_build_error_handlers.append(func)

    # -- contexts -------------------------------------------------------------

    def app_context(self) -> AppContext:
        """Return a new app context: ``with app.app_context():`` or ``async with``."""
        return AppContext(self)

    def request_context(self, request: Request | dict[str, Any]) -> RequestContext:
        """Return a request context for ``request`` (or for a WSGI environ, as Flask's does)."""
        if isinstance(request, dict):
            request = request_from_environ(self, request)
        return RequestContext(self, request)

    def websocket_context(self, websocket: Websocket) -> WebsocketContext:
        """Return a websocket context for ``websocket`` (Quart's): ``async with``."""
        return WebsocketContext(self, websocket)

    def test_request_context(self, *args: Any, **kwargs: Any) -> RequestContext:
        """Return a request context for a request built from the arguments.

        Takes :class:`~microframe.testing.EnvironBuilder`'s arguments, as the
        test client's ``open`` does (``path`` or a full URL, ``base_url``,
        ``subdomain``, ``url_scheme``, ``method``, ``headers``,
        ``query_string``, ``data``, ``json``, ``content_type``,
        ``environ_overrides``, ...), or one ready builder or WSGI environ::

            with app.test_request_context("/?name=Ada"):
                assert request.args["name"] == "Ada"
        """
        return RequestContext(self, _testing().make_test_request(self, *args, **kwargs))

    def test_websocket_context(self, path: str = "/", **kwargs: Any) -> WebsocketContext:
        """Return a websocket context for a connection built from the arguments,
        to use ``websocket`` outside a handler in tests::

            async with app.test_websocket_context("/ws?room=1"):
                assert websocket.args["room"] == "1"

        Takes ``headers``, ``query_string``, ``subprotocols``, ``scheme``
        and ``root_path``. Nothing is received; sent messages are dropped.
        """
        return WebsocketContext(self, _testing().websocket.make_test_websocket(self, path, **kwargs))

    def create_url_adapter(self, request: Request | None) -> MapAdapter | None:
        """Bind the URL map for ``request``, or for URL building without one
        (``None`` then, unless ``SERVER_NAME`` is set)."""
        return bind_url_map(self, request)

    # -- URL building ------------------------------------------------------------

    def url_for(
        self,
        endpoint: str,
        /,
        *,
        _anchor: str | None = None,
        _method: str | None = None,
        _scheme: str | None = None,
        _external: bool | None = None,
        **values: Any,
    ) -> str:
        """Build a URL for ``endpoint``; see :func:`microframe.url_for`."""
        return build_url(self, endpoint, _anchor, _method, _scheme, _external, values)

    def inject_url_defaults(self, endpoint: str, values: dict[str, Any]) -> None:
        """Let ``url_defaults`` functions of the app and blueprints fill ``values``."""
        # Here rather than in routing: url_for calls it for every URL built.
        functions = self.url_default_functions
        if not functions:
            return  # most apps register none
        names: list[str | None] = [None]
        if "." in endpoint:
            parts = endpoint.split(".")[:-1]
            names.extend(".".join(parts[: i + 1]) for i in range(len(parts)))
        for name in names:
            for func in functions.get(name, ()):
                func(endpoint, values)

    def handle_url_build_error(self, error: BuildError, endpoint: str, values: dict[str, Any]) -> str:
        """Try the build error handlers; re-raise ``error`` if none builds a URL."""
        return handle_url_build_error(self, error, endpoint, values)

    # -- templates (the environment and render functions: microframe.templating) -------

    @cached_property
    def jinja_env(self) -> Environment:
        """The app's Jinja environment, created on first use."""
        return self.create_jinja_environment()

    def create_jinja_environment(self) -> Environment:
        """Create the Jinja environment from :attr:`jinja_options`; override to customise."""
        return self.jinja_environment(self, **self.jinja_options)

    def create_global_jinja_loader(self) -> DispatchingJinjaLoader:
        """Create the loader searching the app's and the blueprints' folders."""
        return DispatchingJinjaLoader(self)

    def select_jinja_autoescape(self, filename: str | None) -> bool:
        """Return whether to autoescape a template: string templates and HTML, XML, SVG."""
        return filename is None or filename.endswith(AUTOESCAPE_EXTENSIONS)

    @property
    def templates_auto_reload(self) -> bool:
        """Whether changed template files are reloaded (``TEMPLATES_AUTO_RELOAD``, else debug)."""
        value = self.config["TEMPLATES_AUTO_RELOAD"]
        return bool(self.debug) if value is None else bool(value)

    @templates_auto_reload.setter
    def templates_auto_reload(self, value: bool) -> None:
        self.config["TEMPLATES_AUTO_RELOAD"] = value

    def update_template_context(self, context: dict[str, Any]) -> Any:
        """Add ``g``, ``request`` and the context processors' values to ``context``.

        Values already in ``context`` are kept. Awaitable in async code,
        direct in sync code, like ``make_response``.
        """
        if in_sync_code():
            return update_context_sync(self, context)
        return update_context_async(self, context)

    # -- responses ------------------------------------------------------------

    def redirect(self, location: str, code: int = 302) -> Response:
        """Return a redirect response to ``location``; CR and LF are refused."""
        return make_redirect(self.response_class, location, code)

    @stock
    def make_response(self, rv: Any) -> Any:
        """Turn a view's return value into a :attr:`response_class` instance.

        Awaitable in async code (as in Quart), direct in sync code (as in Flask).
        """
        response = self._cycle.make_response(rv)
        if in_sync_code():
            return response
        return ready(response)

    def make_response_sync(self, rv: Any, view_name: str | None = None) -> Response:
        """Convert ``rv`` as :meth:`make_response` does, from any code."""
        return self._cycle.make_response(rv, view_name)

    def get_send_file_max_age(self, filename: str | None) -> int | None:
        """Seconds a sent file may be cached: ``SEND_FILE_MAX_AGE_DEFAULT``.

        ``None`` (the default) sends ``Cache-Control: no-cache``, so browsers
        revalidate with a conditional request. Override to vary by file.
        """
        return get_send_file_max_age(self, filename)

    # -- sessions -------------------------------------------------------------

    @cached_property
    def session_interface_is_async(self) -> bool:
        """Whether the session interface opens sessions asynchronously."""
        return is_async_callable(self.session_interface.open_session)

    def open_session_sync(self, request: Request) -> SessionMixin:
        """Open the session for ``request`` from sync code (see :func:`.sessions.open_session_sync`)."""
        return sessions.open_session_sync(self, request)

    async def open_session(self, request: Request) -> SessionMixin:
        """Open the session for ``request``, awaiting an async interface."""
        return await sessions.open_session(self, request)

    # -- the request cycle (Flask's names and arguments; the bodies in app._cycle) --------
    #
    # Each method runs its body in the app's RequestCycle: directly in sync
    # code, as an awaitable in async code (Quart's ``request_context`` argument
    # is optional). The cycle calls the app's replacement of a method where
    # there is one, as it is written (see dispatch.CYCLE_METHODS).

    def respond(self, ctx: RequestContext) -> Awaitable[Response]:
        """Run the request cycle of ``ctx``; await its response.

        The protocol layer's entry point: :meth:`full_dispatch_request`, or
        the app's replacement of it. An error no handler answers propagates;
        pass it to :meth:`respond_to_error`.
        """
        cycle = self._cycle
        if "full_dispatch_request" in cycle.overrides:
            return cycle.replaced_full_dispatch(ctx)
        return cycle.full_dispatch(ctx)

    def respond_to_error(self, ctx: RequestContext, error: Exception) -> Awaitable[Response]:
        """Answer an error :meth:`respond` let through: :meth:`handle_exception`,
        or the app's replacement of it (which may re-raise)."""
        return self._cycle.respond_to_error(ctx, error)

    @stock
    def full_dispatch_request(self, request_context: RequestContext | None = None) -> Any:
        """Preprocess, dispatch and finalize the request, answering errors with
        the registered handlers; return the response (awaitable in async code)."""
        return dual(self._cycle.full_dispatch(current_context(request_context)))

    @stock
    def preprocess_request(self, request_context: RequestContext | None = None) -> Any:
        """Run URL value preprocessors, then ``before_request`` hooks.

        Returns the first non-``None`` hook result, which ends the request
        (awaitable in async code).
        """
        return dual(self._cycle.preprocess(current_context(request_context)))

    @stock
    def dispatch_request(self, request_context: RequestContext | None = None) -> Any:
        """Call the view of the matched rule and return its return value
        (awaitable in async code)."""
        return dual(awaited(self._cycle.call_view(current_context(request_context))))

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
        response = self._cycle.default_options_response(current_context(None))
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
        ctx = current_context(request_context)
        return dual(self._cycle.finalize_request(ctx, rv, from_error_handler))

    @stock
    def process_response(
        self, response: Response, request_context: RequestContext | None = None
    ) -> Any:
        """Run ``after_this_request`` functions and ``after_request`` hooks, and
        save the session; return the response (awaitable in async code)."""
        return dual(self._cycle.process_response(current_context(request_context), response))

    def trap_http_exception(self, error: Exception) -> bool:
        """Whether an HTTP exception should be raised like any other error
        instead of becoming its error page.

        ``TRAP_HTTP_EXCEPTIONS`` traps every one; ``TRAP_BAD_REQUEST_ERRORS``
        traps every 400 (``None``, the default, traps only a missing form or
        query key, and only in debug mode, so its name shows).
        """
        return traps_http_exception(self, error)

    @stock
    def handle_http_exception(self, error: HTTPException) -> Any:
        """Answer an HTTP exception with its registered handler, or with the
        exception itself, which becomes its error page (awaitable in async code)."""
        return dual(self._cycle.handle_http_exception(_cv_request.get(None), error))

    @stock
    def handle_user_exception(self, error: Exception) -> Any:
        """Answer an exception raised by a view or hook with a registered handler.

        HTTP exceptions without a handler become their own response; other
        exceptions without a handler are re-raised. Awaitable in async code.
        """
        return dual(self._cycle.handle_user_exception(_cv_request.get(None), error))

    @stock
    def handle_exception(self, error: Exception) -> Any:
        """Answer an unhandled exception with a 500, after logging it.

        With ``PROPAGATE_EXCEPTIONS`` (on when testing or debugging) the error
        is re-raised instead, so tests and the debug page see it. Awaitable in
        async code.
        """
        return dual(self._cycle.handle_exception(current_context(None), error))

    def log_exception(self, exc_info: ExcInfo | BaseException) -> None:
        """Log an unhandled exception on :attr:`logger` with the request line.

        :param exc_info: ``sys.exc_info()``'s tuple, as Flask passes it, or
            the exception.
        """
        ctx = _cv_request.get(None)
        where = f"{ctx.request.path} [{ctx.request.method}]" if ctx else "(no request)"
        self.logger.error(f"Exception on {where}", exc_info=exc_info)

    def should_ignore_error(self, error: BaseException | None) -> bool:
        """Whether teardown functions are not told of ``error`` (they get
        ``None``), as Flask's; override to hide some errors from them."""
        return False

    def debug_response(self, error: BaseException) -> Response:
        """A plain traceback page, shown for unhandled errors in debug mode only."""
        return self.response_class(traceback_page(error), 500)

    @stock
    def do_teardown_request(
        self, exc: BaseException | None = None, request_context: RequestContext | None = None
    ) -> Any:
        """Run ``teardown_request`` hooks (innermost blueprint first), then send
        ``request_tearing_down`` (awaitable in async code)."""
        return dual(self._cycle.teardown_request(current_context(request_context), exc))

    async def do_teardown_appcontext(
        self, exc: BaseException | None = None, lease: WorkerLease | None = None
    ) -> None:
        """Run ``teardown_appcontext`` functions, newest first, then send
        ``appcontext_tearing_down``. Sync functions run on ``lease``, the thread
        the context's code ran on (else the calling thread)."""
        await teardown_appcontext(self, exc, lease)

    # -- the websocket cycle (Quart's names; awaitable) ----------------------------------
    #
    # A handler's return value matters only before the handshake is accepted:
    # a response (or an aborted handler) rejects the handshake with it.

    @stock
    def full_dispatch_websocket(self, ctx: WebsocketContext) -> Awaitable[Response | None]:
        """Run hooks and the handler with user error handling; the response the
        handler (or a hook or error handler) returned, or ``None``."""
        return self._cycle.full_dispatch_websocket(ctx)

    @stock
    def preprocess_websocket(self, ctx: WebsocketContext) -> Awaitable[Any]:
        """Run URL value preprocessors, then ``before_websocket`` hooks; the
        first non-``None`` hook result ends the connection (rejecting the
        handshake, before it is accepted)."""
        return self._cycle.preprocess_websocket(ctx)

    @stock
    def dispatch_websocket(self, ctx: WebsocketContext) -> Awaitable[Any]:
        """Call the handler of the matched websocket rule."""
        return awaited(self._cycle.call_handler(ctx))

    @stock
    def finalize_websocket(
        self, ctx: WebsocketContext, rv: Any, from_error_handler: bool = False
    ) -> Awaitable[Response | None]:
        """Make the response (if any), run ``after_websocket`` hooks, send
        ``websocket_finished``. Hooks receive and return the response, which
        is ``None`` when the handler returned nothing."""
        return self._cycle.finalize_websocket(ctx, rv, from_error_handler)

    @stock
    def handle_websocket_user_exception(self, ctx: WebsocketContext, error: Exception) -> Awaitable[Any]:
        """Answer an exception of a handler or hook with a registered error handler.

        HTTP exceptions without a handler become their own response; other
        exceptions without a handler are re-raised.
        """
        return self._cycle.handle_websocket_user_exception(ctx, error)

    @stock
    def handle_websocket_exception(
        self, ctx: WebsocketContext, error: Exception
    ) -> Awaitable[Response | None]:
        """Handle an unhandled exception: log it, then answer a 500 if the
        handshake is still open (``None`` after it, and the connection is
        closed with 1011).

        With ``PROPAGATE_EXCEPTIONS`` (on when testing or debugging) the error
        is re-raised instead.
        """
        return self._cycle.handle_websocket_exception(ctx, error)

    def log_websocket_exception(self, ctx: WebsocketContext | None, error: BaseException) -> None:
        """Log an unhandled websocket exception on :attr:`logger`."""
        where = f"websocket {ctx.websocket.path}" if ctx is not None else "websocket"
        self.logger.error(f"Exception on {where}", exc_info=error)

    @stock
    def do_teardown_websocket(self, exc: BaseException | None = None) -> Awaitable[None]:
        """Run ``teardown_websocket`` hooks (innermost blueprint first), then the signal."""
        return self._cycle.teardown_websocket(_cv_websocket.get(None), exc)

    # -- helpers for sync and async code ------------------------------------------------

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Return ``func`` callable from sync code, as Flask's ``app.ensure_sync``.

        A coroutine function is wrapped so that calling it from sync code (a
        plain ``def`` view or hook on the request's worker thread, or a
        thread with no loop) runs it to completion; called from async code the
        wrapper returns the coroutine to await. Extensions such as
        Flask-Login call async views through this.
        """
        return ensure_sync(func)

    def ensure_async(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Return ``func`` as a coroutine function, as Quart's ``app.ensure_async``.

        A plain function is wrapped to run on the request's worker thread
        (or the default executor outside a request), so it never blocks the
        event loop.
        """
        return ensure_async(func)

    def ensure_sync_result(self, value: Awaitable[Any] | Any) -> Any:
        """Return ``value``, awaiting it from sync code if it is awaitable."""
        if isawaitable(value):
            return run_async(value)
        return value

    # -- background tasks (microframe.background) -------------------------------------------

    def add_background_task(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run ``func(*args, **kwargs)``, a coroutine function or a plain one
        (on a worker thread), in the background in the app context: after
        the response during a request, else at once (to completion in sync
        code with no event loop). Tests wait for tasks with ``async with
        app.test_app()`` or :meth:`finish_background_tasks`: a plain ``def``
        test's request ends by cancelling the tasks it left running, as
        ``asyncio.run`` does.
        """
        background.add_task(self, functools.partial(func, *args, **kwargs))

    async def finish_background_tasks(self, timeout: float | None = None) -> None:
        """Wait for running background tasks, then cancel those still running.

        Called at shutdown. Each cancelled task is logged as a warning.

        :param timeout: seconds to wait; ``BACKGROUND_TASK_SHUTDOWN_TIMEOUT``
            by default.
        """
        if in_sync_code():
            raise RuntimeError("finish_background_tasks() must be awaited in async code.")
        if timeout is None:
            timeout = self.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"]
        await background.finish_tasks(self, timeout)

    # -- ASGI, startup and shutdown ------------------------------------------------------

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        await self.asgi_app(scope, receive, send)

    async def asgi_app(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        """The ASGI application; wrap this to add ASGI middleware.

        ::

            app.asgi_app = ProxyFixMiddleware(app.asgi_app)

        Each connection is served by an instance of :attr:`asgi_http_class`,
        :attr:`asgi_websocket_class` or :attr:`asgi_lifespan_class`.
        """
        kind = scope["type"]
        if kind == "http":
            if not self._got_first_request:
                self._start_serving()
            wsgi_app = self.__dict__.get("wsgi_app")  # WSGI middleware wraps app.wsgi_app
            if wsgi_app is None:
                await self.asgi_http_class(self, scope)(receive, send)  # type: ignore[arg-type]
            else:
                await serve_app_through_wsgi(self, wsgi_app, scope, receive, send)  # type: ignore[arg-type]
        elif kind == "websocket":
            if not self._got_first_request:
                self._start_serving()
            await self.asgi_websocket_class(self, scope)(receive, send)  # type: ignore[arg-type]
        elif kind == "lifespan":
            await self.asgi_lifespan_class(self, scope)(receive, send)
        else:
            raise ValueError(f"microframe cannot serve ASGI scope type {kind!r}")

    def _start_serving(self) -> None:
        # The first request: registration is over (setup methods refuse from
        # now on), and what the request cycle decides once is decided anew,
        # for the app as it serves (a method an extension wrapped since).
        self._got_first_request = True
        self._cycle = RequestCycle(self)

    def wsgi_app(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        """The app as WSGI sees it, to wrap in WSGI middleware as under Flask::

            from werkzeug.middleware.proxy_fix import ProxyFix
            app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)

        Once it is replaced, each HTTP request (not websockets) passes through
        the middleware on a thread of its own, as a WSGI environ; the environ
        the middleware hands on is the request the app serves, and the
        response streams back through it. It is not a WSGI server entry
        point: serve the app with an ASGI server. Another app's WSGI
        middleware may mount it (werkzeug's ``DispatcherMiddleware``), and
        the request it passes on is then this app's.
        """
        if not self._got_first_request:
            self._start_serving()
        return serve_wsgi_environ(self, environ, start_response)

    async def startup(self) -> None:
        """Run ``before_serving`` functions and enter ``while_serving``
        generators, in an app context."""
        await run_startup(self)

    def freeze_gc(self) -> None:
        """Freeze the garbage collector's view of the started app
        (``GC_FREEZE_AFTER_STARTUP``, never when testing) until
        :meth:`shutdown`. The ASGI lifespan calls this once startup is complete."""
        freeze_gc(self)

    async def shutdown(self) -> None:
        """Set :attr:`shutdown_event`, finish background tasks, leave
        ``while_serving`` generators (newest first) and run ``after_serving``
        functions."""
        await run_shutdown(self)

    # -- testing and serving ---------------------------------------------------

    def test_client(self, use_cookies: bool = True, **kwargs: Any) -> MicroframeClient:
        """Return a test client for the app; see :class:`~microframe.testing.MicroframeClient`."""
        cls = self.test_client_class or _testing().MicroframeClient
        return cls(self, use_cookies=use_cookies, **kwargs)

    def test_app(self) -> TestApp:
        """Return an async context manager running startup and shutdown.

        ::

            async with app.test_app() as test_app:
                client = test_app.test_client()
        """
        return (self.test_app_class or _testing().TestApp)(self)

    def test_cli_runner(self, **kwargs: Any) -> MicroframeCliRunner:
        """Return a :class:`~microframe.testing.MicroframeCliRunner` for the app."""
        cls = self.test_cli_runner_class or _testing().MicroframeCliRunner
        return cls(self, **kwargs)

    def run_task(
        self,
        host: str = "127.0.0.1",
        port: int = 5000,
        debug: bool | None = None,
        ca_certs: str | None = None,
        certfile: str | None = None,
        keyfile: str | None = None,
        shutdown_trigger: Callable[..., Awaitable[object]] | None = None,
    ) -> Coroutine[Any, Any, None]:
        """Return a coroutine serving the app with Hypercorn on the running
        event loop (Quart's), beside the program's other tasks::

            stop = asyncio.Event()
            await app.run_task(port=8000, shutdown_trigger=stop.wait)

        It serves until ``shutdown_trigger`` returns or the task is
        cancelled; the arguments are :meth:`run`'s, with ``ca_certs`` to
        check client certificates.
        """
        from .serving import serve_task  # above the app, as for run()

        return serve_task(self, host, port, debug, ca_certs, certfile, keyfile, shutdown_trigger)

    def run(
        self,
        host: str | None = None,
        port: int | None = None,
        debug: bool | None = None,
        use_reloader: bool | None = None,
        certfile: str | None = None,
        keyfile: str | None = None,
        **options: Any,
    ) -> None:
        """Serve the app with the Hypercorn development server.

        For development only: in production run Hypercorn (or another ASGI
        server) directly, with several workers. Inside the ``microframe``
        command (which serves the app itself) the call does nothing.

        :param host: the interface to listen on (``127.0.0.1``).
        :param port: the port (``5000``).
        :param debug: set :attr:`debug` first.
        :param use_reloader: restart on code changes; on in debug mode.
        :param certfile: a TLS certificate, to serve HTTPS.
        :param keyfile: the TLS key.
        :param options: passed to :func:`microframe.serving.run_simple`
            (``workers``, ``use_uvloop``, ...).
        """
        # The development server is above the app, loaded only to serve.
        from .serving import run_app

        run_app(self, host, port, debug, use_reloader, certfile, keyfile, **options)



__all__ = ["Microframe"]
