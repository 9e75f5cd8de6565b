"""The application object."""

from __future__ import annotations

import functools
import os
import sys
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import cached_property
from inspect import isawaitable
from logging import Logger
from typing import TYPE_CHECKING, Any, TypeVar, cast

from werkzeug.datastructures import Headers
from werkzeug.exceptions import Aborter, HTTPException
from werkzeug.routing import BuildError, Map, MapAdapter, RequestRedirect, Rule
from werkzeug.sansio.response import Response as SansIOResponse

from . import sessions, signals
from .asgi import handle_http, handle_scope
from .background import BackgroundTaskMixin
from .config import DEFAULT_CONFIG, Config, ConfigAttribute
from .ctx import AppContext, RequestContext, _AppCtxGlobals
from .dispatch import DispatchMixin, stock
from .globals import _cv_request
from .helpers import get_debug_flag
from .json.provider import DefaultJSONProvider, JSONProvider
from .lifespan import run_shutdown, run_startup
from .logging import create_logger
from .routing import bind_url_map, build_url
from .scaffold import Scaffold, find_package, merge_methods, open_file, setupmethod
from .sessions import SecureCookieSessionInterface, SessionInterface
from .sync import (
    SyncWorkerPool,
    WorkerLease,
    in_sync_code,
    is_async_callable,
    lease_here,
    unawaited_error,
)
from .templating import TemplatingMixin
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
from .websocket_dispatch import WebsocketDispatchMixin
from .wrappers import Request, Response
from .wrappers.response_body import body_from
from .wsgi import serve_through_wsgi, serve_wsgi_environ

if TYPE_CHECKING:
    import click

    from .blueprints import Blueprint
    from .sessions import SessionMixin
    from .testing import MicroframeClient, MicroframeCliRunner, TestApp


T_teardown = TypeVar("T_teardown", bound=TeardownCallable)
T_shell_ctx = TypeVar("T_shell_ctx", bound=ShellContextProcessorCallable)


def _make_timedelta(value: timedelta | int) -> timedelta:
    if isinstance(value, timedelta):
        return value
    return timedelta(seconds=value)


class Microframe(
    TemplatingMixin, DispatchMixin, WebsocketDispatchMixin, BackgroundTaskMixin, Scaffold
):
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

    request_class: type[Request] = Request
    response_class: type[Response] = Response
    config_class: type[Config] = Config
    json_provider_class: type[JSONProvider] = DefaultJSONProvider
    url_rule_class: type[Rule] = Rule
    url_map_class: type[Map] = Map
    app_ctx_globals_class: type[_AppCtxGlobals] = _AppCtxGlobals
    session_interface: SessionInterface = SecureCookieSessionInterface()
    aborter_class: type[Aborter] = Aborter
    test_client_class: type[MicroframeClient] | None = None
    test_cli_runner_class: type[MicroframeCliRunner] | None = None
    default_config: dict[str, Any] = DEFAULT_CONFIG

    debug: ConfigAttribute[bool] = ConfigAttribute("DEBUG")
    testing: ConfigAttribute[bool] = ConfigAttribute("TESTING")
    secret_key: ConfigAttribute[str | bytes | None] = ConfigAttribute("SECRET_KEY")
    permanent_session_lifetime: ConfigAttribute[timedelta] = ConfigAttribute(
        "PERMANENT_SESSION_LIFETIME", get_converter=_make_timedelta
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
        self.name = self._find_name()
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
        self._while_serving_running: list[AsyncGenerator[None, None]] = []
        self._got_first_request = False
        self._sync_pool: SyncWorkerPool | None = None
        self._wsgi_executor: ThreadPoolExecutor | None = None
        self._init_dispatch()
        self._init_background()
        self.cli = self._make_cli()
        if self.has_static_folder:
            assert bool(static_host) == host_matching, (
                "Invalid static_host/host_matching combination"
            )
            # Through a weak reference: the app's own bound method in its
            # view_functions would keep it alive in a reference cycle.
            app_ref = weakref.ref(self)

            def static(filename: str) -> Any:
                app = app_ref()
                assert app is not None
                return app.send_static_file(filename)

            # Shares send_static_file's attributes, so a mark an extension sets
            # on it later (Quart-Schema's hide) is seen on the view.
            static.__dict__ = type(self).send_static_file.__dict__
            self.add_url_rule(
                f"{self.static_url_path}/<path:filename>",
                endpoint="static",
                host=static_host,
                view_func=static,
            )

    def _make_cli(self) -> click.Group:
        from .cli import AppGroup

        return AppGroup(self.name)

    # -- identity and configuration ------------------------------------------

    def _find_name(self) -> str:
        """The app's name: the import name, or the script's name for ``__main__``."""
        if self.import_name == "__main__":
            main_file = getattr(sys.modules["__main__"], "__file__", None)
            if main_file is None:
                return "__main__"
            return os.path.splitext(os.path.basename(str(main_file)))[0]
        return self.import_name

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
        prefix, folder = find_package(self.import_name)
        if prefix is None:
            return os.path.join(folder, "instance")
        return os.path.join(prefix, "var", f"{self.name}-instance")

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

    # -- registration -------------------------------------------------------------

    def _register_url_rule(
        self,
        rule: str,
        endpoint: str | None,
        view_func: RouteCallable | None,
        provide_automatic_options: bool | None,
        options: dict[str, Any],
    ) -> None:
        if endpoint is None:
            endpoint = view_func.__name__ if view_func is not None else None
            if endpoint is None:
                raise TypeError("add_url_rule() needs an endpoint or a view function")
        options["endpoint"] = endpoint
        websocket = bool(options.pop("websocket", False))
        methods, required = merge_methods(view_func, options.pop("methods", None))
        if provide_automatic_options is None:
            provide_automatic_options = getattr(view_func, "provide_automatic_options", None)
        if provide_automatic_options is None:
            provide_automatic_options = (
                "OPTIONS" not in methods and self.config["PROVIDE_AUTOMATIC_OPTIONS"]
            )
        if websocket:
            methods, provide_automatic_options = {"GET"}, False
        elif provide_automatic_options:
            required.add("OPTIONS")
        methods |= required
        rule_obj = self.url_rule_class(rule, methods=methods, websocket=websocket, **options)
        rule_obj.provide_automatic_options = provide_automatic_options  # type: ignore[attr-defined]
        self.url_map.add(rule_obj)
        if view_func is not None:
            old = self.view_functions.get(endpoint)
            # Compared with != as in Flask: the same method, bound again, is
            # the same view.
            if old is not None and old != view_func:
                raise AssertionError(
                    "View function mapping is overwriting an existing"
                    f" endpoint function: {endpoint}"
                )
            self.view_functions[endpoint] = view_func

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

    @setupmethod
    def before_serving(self, func: BeforeServingCallable) -> BeforeServingCallable:
        """Run ``func`` once when the server starts, before any request."""
        self.before_serving_funcs.append(func)
        return func

    @setupmethod
    def after_serving(self, func: AfterServingCallable) -> AfterServingCallable:
        """Run ``func`` once when the server shuts down."""
        self.after_serving_funcs.append(func)
        return func

    @setupmethod
    def while_serving(self, func: WhileServingCallable) -> WhileServingCallable:
        """Register an async generator that yields once, around serving.

        ::

            @app.while_serving
            async def lifespan():
                app.pool = await make_pool()
                yield
                await app.pool.close()
        """
        self.while_serving_gens.append(func)
        return func

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
            from .testing import make_test_request

            request = make_test_request(self, request)
        return RequestContext(self, request)

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
        from .testing import make_test_request

        return self.request_context(make_test_request(self, *args, **kwargs))

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
        names: list[str | None] = [None]
        if "." in endpoint:
            parts = endpoint.split(".")[:-1]
            names.extend(".".join(parts[: i + 1]) for i in range(len(parts)))
        for name in names:
            for func in self.url_default_functions.get(name, ()):
                func(endpoint, values)

    def handle_url_build_error(self, error: BuildError, endpoint: str, values: dict[str, Any]) -> str:
        """Try the build error handlers; re-raise ``error`` if none builds a URL."""
        for handler in self.url_build_error_handlers:
            try:
                result = handler(error, endpoint, values)
            except BuildError as new_error:
                error = new_error
                continue
            if result is not None:
                return result
        if error is sys.exc_info()[1]:
            raise
        raise error

    # -- responses ------------------------------------------------------------

    def redirect(self, location: str, code: int = 302) -> Response:
        """Return a redirect response to ``location``; CR and LF are refused."""
        from .helpers import make_redirect

        return make_redirect(self.response_class, location, code)

    @stock
    def make_response(self, rv: Any) -> Any:
        """Turn a view's return value into a :attr:`response_class` instance.

        Awaitable in async code (as in Quart), direct in sync code (as in Flask).
        """
        response = self.make_response_sync(rv)
        if in_sync_code():
            return response
        return _ready(response)

    def make_response_sync(self, rv: Any, view_name: str | None = None) -> Response:
        """Convert ``rv`` as :meth:`make_response` does, from any code."""
        # The most common return values, ahead of the checks.
        kind = type(rv)
        if kind is str:
            return self.response_class(rv)
        if kind is dict:
            return self.json.response(rv)
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
        response = self._coerce_response(rv, view_name)
        if status is not None:
            response.status = status
        if headers:
            response.headers.update(headers)
        return response

    def _coerce_response(self, rv: object, view_name: str | None) -> Response:
        if isinstance(rv, self.response_class):
            return rv
        if isinstance(rv, (str, bytes, bytearray)):
            return self.response_class(rv)
        if isinstance(rv, (dict, list)):
            return self.json.response(rv)
        if isinstance(rv, HTTPException):
            return self._http_exception_response(rv)
        if isinstance(rv, SansIOResponse):
            return self._from_werkzeug_response(rv)
        if isinstance(rv, Response):
            return rv
        if isinstance(rv, BaseException):
            raise TypeError(f"The view function for {view_name!r} returned an exception: {rv!r}")
        if hasattr(rv, "__await__"):
            raise unawaited_error(rv, f"The view function for {view_name!r}")
        if hasattr(rv, "__aiter__") or (
            isinstance(rv, Iterable) and not isinstance(rv, (set, frozenset))
        ):
            # A sync iterable is read on the request's worker thread.
            ctx = _cv_request.get(None) if not hasattr(rv, "__aiter__") else None
            return self.response_class(body_from(rv, ctx.lease if ctx else None))
        raise TypeError(
            f"The view function for {view_name!r} did not return a valid response."
            " The return type must be a string, dict, list, tuple with headers or"
            " status, Response instance, or an async or sync generator, but it was"
            f" a {type(rv).__name__}."
        )

    def _http_exception_response(self, error: HTTPException) -> Response:
        if error.response is not None:
            return self._coerce_response(error.response, None)
        if isinstance(error, RequestRedirect):
            try:
                return self.redirect(error.new_url, error.code)
            except HTTPException as refused:  # the URL the client sent cannot be redirected to
                return self._http_exception_response(refused)
        cls = type(error)
        if cls.get_headers is HTTPException.get_headers and cls.get_body is HTTPException.get_body:
            # The stock error page: render it once per code and description.
            key = (error.code, error.description)
            body = _error_pages.get(key)
            if body is None:
                body = error.get_body()
                if len(_error_pages) < 256:
                    _error_pages[key] = body
            return self.response_class(body, error.code)
        return self.response_class(error.get_body(), error.code, error.get_headers())

    def _from_werkzeug_response(self, rv: SansIOResponse) -> Response:
        body: object = getattr(rv, "response", b"")
        if getattr(rv, "is_sequence", False):
            body = rv.get_data()  # type: ignore[attr-defined]
        response = self.response_class(body, rv.status_code, Headers(rv.headers))
        return response

    def send_static_file(self, filename: str) -> Any:
        """Serve ``filename`` from :attr:`static_folder` (the ``static`` endpoint)."""
        if not self.has_static_folder:
            raise RuntimeError("'static_folder' must be set to serve static_files.")
        from .helpers import send_from_directory

        max_age = self.get_send_file_max_age(filename)
        return send_from_directory(cast(str, self.static_folder), filename, max_age=max_age)

    def get_send_file_max_age(self, filename: str | None) -> int | None:
        """Seconds a sent file may be cached: ``SEND_FILE_MAX_AGE_DEFAULT``.

        ``None`` (the default) sends ``Cache-Control: no-cache``, so browsers
        revalidate with a conditional request. Override to vary by file.
        """
        from .sending import get_send_file_max_age

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

    # -- ASGI ------------------------------------------------------------------

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
        """
        if scope["type"] == "http":
            if "wsgi_app" in self.__dict__:  # WSGI middleware wraps app.wsgi_app
                await self._serve_through_wsgi(scope, receive, send)
            else:
                await handle_http(self, scope, receive, send)
        else:
            await handle_scope(self, scope, receive, send)

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
        point: serve the app with an ASGI server.
        """
        return serve_wsgi_environ(environ, start_response)

    async def _serve_through_wsgi(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        if self._wsgi_executor is None:
            self._wsgi_executor = ThreadPoolExecutor(
                int(self.config["SYNC_WORKERS"]), thread_name_prefix="microframe-wsgi"
            )
        await serve_through_wsgi(
            self.__dict__["wsgi_app"],
            cast(dict[str, Any], scope),
            receive,
            send,
            functools.partial(handle_http, self),
            self._wsgi_executor,
            self.config["MAX_CONTENT_LENGTH"],
        )

    async def startup(self) -> None:
        """Run ``before_serving`` functions and enter ``while_serving`` generators."""
        await run_startup(self)

    async def shutdown(self) -> None:
        """Finish background tasks, leave ``while_serving`` generators and run
        ``after_serving`` functions."""
        await run_shutdown(self)

    # -- testing and serving ---------------------------------------------------

    def test_client(self, use_cookies: bool = True, **kwargs: Any) -> MicroframeClient:
        """Return a test client for the app; see :class:`MicroframeClient`."""
        from .testing import MicroframeClient

        cls = self.test_client_class or MicroframeClient
        return cls(self, use_cookies=use_cookies, **kwargs)

    def test_app(self) -> TestApp:
        """Return an async context manager running startup and shutdown.

        ::

            async with app.test_app() as test_app:
                client = test_app.test_client()
        """
        from .testing import TestApp

        return TestApp(self)

    def test_cli_runner(self, **kwargs: Any) -> MicroframeCliRunner:
        """Return a :class:`~microframe.testing.MicroframeCliRunner` for the app."""
        from .testing import MicroframeCliRunner

        cls = self.test_cli_runner_class or MicroframeCliRunner
        return cls(self, **kwargs)

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
        from .serving import run_simple

        if os.environ.get("MICROFRAME_RUN_FROM_CLI") == "true":
            print(
                " * Ignoring app.run(): the 'microframe' command is serving the app."
                " Call app.run() only under 'if __name__ == \"__main__\":'.",
                file=sys.stderr,
            )
            return
        if debug is not None:
            self.debug = debug
        # As in Flask: the interactive debugger in debug mode.
        options.setdefault("use_debugger", self.debug)
        run_simple(
            self,
            host=host or "127.0.0.1",
            port=port or 5000,
            use_reloader=self.debug if use_reloader is None else use_reloader,
            certfile=certfile,
            keyfile=keyfile,
            **options,
        )

    async def do_teardown_appcontext(
        self, exc: BaseException | None = None, lease: WorkerLease | None = None
    ) -> None:
        """Run ``teardown_appcontext`` functions, newest first.

        Sync functions run on ``lease``: the context passes the thread its
        code ran on (the worker thread of a request whose view is a plain
        ``def``, the event loop's for an ``async def`` one). Without one they
        run on the calling thread.
        """
        lease = lease or lease_here()
        for func in reversed(self.teardown_appcontext_funcs):
            if is_async_callable(func):
                await func(exc)
            else:
                await lease.run(func, exc)
        await signals.send_async(signals.appcontext_tearing_down, self, exc=exc)

    def ensure_sync_result(self, value: Awaitable[Any] | Any) -> Any:
        """Return ``value``, awaiting it from sync code if it is awaitable."""
        if isawaitable(value):
            from .sync import run_async

            return run_async(value)
        return value


_error_pages: dict[tuple[int | None, str | None], str] = {}


async def _ready(value: object) -> object:
    return value


__all__ = ["Microframe"]
