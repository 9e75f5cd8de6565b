"""The registration API shared by the app and blueprints.

Every decorator (``route``, ``before_request``, ``errorhandler``,
``template_filter``, ``before_serving``, ...) is defined once here. Request
functions are stored in dicts keyed by blueprint name (``None`` for the
app); app-wide ones (template filters, serving functions) go to the app at
once, or when a blueprint is registered. The app prepares them for dispatch
(:mod:`microframe.dispatch`).
"""

from __future__ import annotations

import functools
import os
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Awaitable, Callable, Generator, Iterable
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar, cast

import aiofiles
from jinja2 import FileSystemLoader
from werkzeug.exceptions import HTTPException, default_exceptions
from werkzeug.routing import Rule

from .helpers import app_name, find_package, get_root_path, instance_folder
from .sending import send_from_directory
from .sync import in_sync_code, is_async_callable
from .template_loader import folder_of
from .typing import (
    AfterRequestCallable,
    AfterServingCallable,
    AfterWebsocketCallable,
    BeforeRequestCallable,
    BeforeServingCallable,
    ErrorHandlerCallable,
    RouteCallable,
    TeardownCallable,
    TemplateContextProcessorCallable,
    TemplateFilterCallable,
    TemplateGlobalCallable,
    TemplateTestCallable,
    URLDefaultCallable,
    URLValuePreprocessorCallable,
    WebsocketCallable,
    WhileServingCallable,
)

if TYPE_CHECKING:
    import click

    from .app import Microframe

F = TypeVar("F", bound=Callable[..., object])
T_route = TypeVar("T_route", bound=RouteCallable)
T_websocket = TypeVar("T_websocket", bound=Callable[..., Awaitable[Any]])
T_before = TypeVar("T_before", bound=BeforeRequestCallable)
T_after = TypeVar("T_after", bound=AfterRequestCallable)
T_after_websocket = TypeVar("T_after_websocket", bound=AfterWebsocketCallable)
T_teardown = TypeVar("T_teardown", bound=TeardownCallable)
T_error = TypeVar("T_error", bound=ErrorHandlerCallable)
T_ctx_proc = TypeVar("T_ctx_proc", bound=TemplateContextProcessorCallable)
T_url_defaults = TypeVar("T_url_defaults", bound=URLDefaultCallable)
T_url_value = TypeVar("T_url_value", bound=URLValuePreprocessorCallable)
T_filter = TypeVar("T_filter", bound=TemplateFilterCallable)
T_global = TypeVar("T_global", bound=TemplateGlobalCallable)
T_test = TypeVar("T_test", bound=TemplateTestCallable)
T_before_serving = TypeVar("T_before_serving", bound=BeforeServingCallable)
T_after_serving = TypeVar("T_after_serving", bound=AfterServingCallable)
T_while_serving = TypeVar("T_while_serving", bound=WhileServingCallable)

Key = str | None
ErrorSpec = dict[Key, dict[int | None, dict[type[BaseException], ErrorHandlerCallable]]]


class HooksVersion:
    """A counter bumped whenever one of an app's hook lists changes.

    The app computes the hooks of each blueprint chain once and keeps them;
    the counter tells it to compute them again when a hook is added or
    removed at any time, even during a request, as Flask allows (Flask-Caching
    appends to ``app.after_request_funcs[None]`` from a view).
    """

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


class HookList(list[Any]):
    """A list of hook functions that bumps its :class:`HooksVersion` on change."""

    __slots__ = ("_version",)

    def __init__(self, version: HooksVersion, items: Iterable[object] = ()) -> None:
        super().__init__(items)
        self._version = version


def _bumping(name: str) -> Callable[..., object]:
    method = getattr(list, name)

    def call(self: HookList, *args: object) -> object:
        result = method(self, *args)
        self._version.value += 1
        return result

    call.__name__ = call.__qualname__ = name
    return call


for _name in (
    "append", "extend", "insert", "remove", "pop", "clear", "sort", "reverse",
    "__setitem__", "__delitem__", "__iadd__",
):
    setattr(HookList, _name, _bumping(_name))


class HookLists(defaultdict[Key, list[Any]]):
    """Hook functions by blueprint name (``None`` for the app), as Flask's
    ``defaultdict(list)``; every change bumps the shared :class:`HooksVersion`."""

    def __init__(self, version: HooksVersion) -> None:
        super().__init__()
        self.version = version

    def __missing__(self, key: Key) -> list[Any]:
        value = self[key] = HookList(self.version)
        return value

    def __setitem__(self, key: Key, value: list[Any]) -> None:
        if not isinstance(value, HookList) or value._version is not self.version:
            value = HookList(self.version, value)
        super().__setitem__(key, value)
        self.version.value += 1

    def __delitem__(self, key: Key) -> None:
        super().__delitem__(key)
        self.version.value += 1

    def setdefault(self, key: Key, default: list[Any] | None = None) -> list[Any]:
        """Return the list for ``key``, storing ``default`` (as a hook list) first if missing."""
        if key not in self:
            self[key] = [] if default is None else default
        return self[key]

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Store each of the given lists, as hook lists."""
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def pop(self, key: Key, *default: Any) -> Any:
        """Remove and return the list for ``key``."""
        self.version.value += 1
        return super().pop(key, *default)

    def clear(self) -> None:
        """Remove every list."""
        super().clear()
        self.version.value += 1


class AsyncFileOpener:
    """A file to open in async code: ``async with await opener as f`` (Quart's
    form) or ``async with opener as f``; ``f`` is an :mod:`aiofiles` file."""

    __slots__ = ("_args", "_opened")

    def __init__(self, path: str, mode: str, encoding: str | None) -> None:
        self._args = (path, mode, encoding)
        self._opened: Any = None

    def _open(self) -> object:
        path, mode, encoding = self._args
        opener: Any = aiofiles.open  # its overloads want a literal mode
        return opener(path, mode, encoding=None if "b" in mode else encoding)

    def __await__(self) -> Generator[Any, None, Any]:
        return _value(self._open()).__await__()

    async def __aenter__(self) -> Any:
        self._opened = self._open()
        return await self._opened.__aenter__()

    async def __aexit__(self, *exc: Any) -> None:
        await self._opened.__aexit__(*exc)


def open_file(path: str, mode: str, encoding: str | None) -> Any:
    """Open ``path``: the file itself in sync code, an :class:`AsyncFileOpener`
    in async code."""
    if in_sync_code():
        return open(path, mode, encoding=None if "b" in mode else encoding)
    return AsyncFileOpener(path, mode, encoding)


async def _value(value: object) -> object:
    return value


def setupmethod(func: F) -> F:
    """Guard a registration method: it may not run once setup is over."""
    name = func.__name__

    @functools.wraps(func)
    def guarded(self: Scaffold, *args: object, **kwargs: object) -> object:
        self._check_setup_finished(name)
        return func(self, *args, **kwargs)

    return cast(F, guarded)


def _endpoint_from_view_func(view_func: Callable[..., object]) -> str:
    assert view_func is not None, "expected view func if endpoint is not provided."
    return view_func.__name__


class Scaffold(ABC):
    """The registration API common to :class:`~microframe.Microframe` and
    :class:`~microframe.Blueprint`.

    :param import_name: the module's ``__name__``; locates resources.
    :param static_folder: folder of static files, relative to ``root_path``.
    :param static_url_path: URL prefix of static files.
    :param template_folder: folder of templates, relative to ``root_path``.
    :param root_path: the folder resources are relative to.
    """

    name: str
    _static_folder: str | None = None
    _static_url_path: str | None = None

    def __init__(
        self,
        import_name: str,
        static_folder: str | os.PathLike[str] | None = None,
        static_url_path: str | None = None,
        template_folder: str | os.PathLike[str] | None = None,
        root_path: str | None = None,
    ) -> None:
        self.import_name = import_name
        self.static_folder = static_folder
        self.static_url_path = static_url_path
        self.template_folder = template_folder
        if root_path is None:
            root_path = get_root_path(self.import_name)
        self.root_path = root_path
        self.view_functions: dict[str, RouteCallable] = {}
        self.error_handler_spec: ErrorSpec = defaultdict(lambda: defaultdict(dict))
        version = self.hooks_version = HooksVersion()
        self.before_request_funcs: dict[Key, list[BeforeRequestCallable]] = HookLists(version)
        self.after_request_funcs: dict[Key, list[AfterRequestCallable]] = HookLists(version)
        self.teardown_request_funcs: dict[Key, list[TeardownCallable]] = HookLists(version)
        self.template_context_processors: dict[Key, list[TemplateContextProcessorCallable]] = (
            HookLists(version)
        )
        self.url_value_preprocessors: dict[Key, list[URLValuePreprocessorCallable]] = (
            HookLists(version)
        )
        self.url_default_functions: dict[Key, list[URLDefaultCallable]] = HookLists(version)
        self.before_websocket_funcs: dict[Key, list[BeforeRequestCallable]] = HookLists(version)
        self.after_websocket_funcs: dict[Key, list[AfterWebsocketCallable]] = HookLists(version)
        self.teardown_websocket_funcs: dict[Key, list[TeardownCallable]] = HookLists(version)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"

    @cached_property
    def cli(self) -> click.Group:
        """The command group of this app or blueprint: ``@app.cli.command()``
        adds a command to ``microframe``. Made on first use."""
        # Imported here, the one place: the command line (click, the
        # development server) is above the app, and loaded only for commands.
        from .cli import AppGroup

        return AppGroup(self.name)

    @abstractmethod
    def _check_setup_finished(self, f_name: str) -> None:
        """Raise if registering ``f_name`` is no longer allowed."""

    @abstractmethod
    def _app_wide(self, apply: Callable[[Any], None]) -> None:
        """Call ``apply(app)``: at once on the app, when registered on a blueprint."""

    # -- static files -----------------------------------------------------------

    @property
    def static_folder(self) -> str | None:
        """The absolute path of the static folder, or ``None``."""
        if self._static_folder is not None:
            return os.path.join(self.root_path, self._static_folder)
        return None

    @static_folder.setter
    def static_folder(self, value: str | os.PathLike[str] | None) -> None:
        if value is not None:
            value = os.fspath(value).rstrip(r"\/")
        self._static_folder = value

    def send_static_file(self, filename: str) -> Any:
        """Serve ``filename`` from :attr:`static_folder` (the ``static`` endpoint)."""
        if not self.has_static_folder:
            raise RuntimeError("'static_folder' must be set to serve static_files.")
        max_age = self.get_send_file_max_age(filename)
        return send_from_directory(cast(str, self.static_folder), filename, max_age=max_age)

    @abstractmethod
    def get_send_file_max_age(self, filename: str | None) -> int | None:
        """Seconds a file sent by :meth:`send_static_file` may be cached."""

    @property
    def has_static_folder(self) -> bool:
        """``True`` if a static folder is set."""
        return self._static_folder is not None

    def open_resource(self, resource: str, mode: str = "rb", encoding: str | None = None) -> Any:
        """Open ``resource``, a path relative to :attr:`root_path`, for reading.

        In sync code it returns the open file, as Flask's does; in async code
        an awaitable giving an :mod:`aiofiles` file context, as Quart's does::

            with app.open_resource("schema.sql") as f:                 # sync
                db.executescript(f.read().decode("utf8"))

            async with await app.open_resource("schema.sql") as f:     # async
                db.executescript((await f.read()).decode("utf8"))

        :param mode: ``"rb"`` (the default), ``"r"`` or ``"rt"``.
        :param encoding: the text encoding in text mode (the locale's by default).
        :raises ValueError: for a mode that writes.
        """
        if mode not in ("r", "rt", "rb"):
            raise ValueError("Resources can only be opened for reading.")
        return open_file(os.path.join(self.root_path, resource), mode, encoding)

    @property
    def static_url_path(self) -> str | None:
        """The URL prefix the static route is registered under."""
        if self._static_url_path is not None:
            return self._static_url_path
        if self._static_folder is not None:
            basename = os.path.basename(self._static_folder)
            return f"/{basename}".rstrip("/")
        return None

    @static_url_path.setter
    def static_url_path(self, value: str | None) -> None:
        if value is not None:
            value = value.rstrip("/")
        self._static_url_path = value

    @cached_property
    def jinja_loader(self) -> FileSystemLoader | None:
        """The loader of this app's or blueprint's ``template_folder`` (``None`` without one)."""
        folder = folder_of(self)
        return FileSystemLoader(folder) if folder is not None else None

    # -- routes -----------------------------------------------------------------

    def _method_route(self, method: str, rule: str, options: dict[str, Any]) -> Callable[[T_route], T_route]:
        if "methods" in options:
            raise TypeError("Use the 'route' decorator to use the 'methods' argument.")
        return self.route(rule, methods=[method], **options)

    @setupmethod
    def get(self, rule: str, **options: Any) -> Callable[[T_route], T_route]:
        """Shortcut for :meth:`route` with ``methods=["GET"]``."""
        return self._method_route("GET", rule, options)

    @setupmethod
    def post(self, rule: str, **options: Any) -> Callable[[T_route], T_route]:
        """Shortcut for :meth:`route` with ``methods=["POST"]``."""
        return self._method_route("POST", rule, options)

    @setupmethod
    def put(self, rule: str, **options: Any) -> Callable[[T_route], T_route]:
        """Shortcut for :meth:`route` with ``methods=["PUT"]``."""
        return self._method_route("PUT", rule, options)

    @setupmethod
    def delete(self, rule: str, **options: Any) -> Callable[[T_route], T_route]:
        """Shortcut for :meth:`route` with ``methods=["DELETE"]``."""
        return self._method_route("DELETE", rule, options)

    @setupmethod
    def patch(self, rule: str, **options: Any) -> Callable[[T_route], T_route]:
        """Shortcut for :meth:`route` with ``methods=["PATCH"]``."""
        return self._method_route("PATCH", rule, options)

    @setupmethod
    def route(self, rule: str, **options: Any) -> Callable[[T_route], T_route]:
        """Register the decorated function as the view for ``rule``.

        ::

            @app.route("/user/<int:user_id>", methods=["GET", "POST"])
            async def user(user_id):
                ...

        :param rule: the URL rule, with werkzeug converters.
        :param options: passed to :meth:`add_url_rule` and werkzeug's ``Rule``
            (``endpoint``, ``methods``, ``defaults``, ``strict_slashes``,
            ``host``, ``subdomain``, ``provide_automatic_options``, ...).
        """

        def decorator(func: T_route) -> T_route:
            endpoint = options.pop("endpoint", None)
            self.add_url_rule(rule, endpoint, func, **options)
            return func

        return decorator

    @setupmethod
    def websocket(self, rule: str, **options: Any) -> Callable[[T_websocket], T_websocket]:
        """Register the decorated coroutine function as the websocket handler for ``rule``.

        ::

            @app.websocket("/ws/<room>")
            async def chat(room):
                while True:
                    message = await websocket.receive()
                    await websocket.send(f"{room}: {message}")

        Handlers must be ``async def`` (a plain one is a :class:`TypeError`), as for :meth:`add_websocket`.

        :param rule: the URL rule, with werkzeug converters.
        :param options: as for :meth:`route` (``endpoint``, ``defaults``, ...).
        """

        def decorator(func: T_websocket) -> T_websocket:
            endpoint = options.pop("endpoint", None)
            self.add_websocket(rule, endpoint, func, **options)
            return func

        return decorator

    @setupmethod
    def add_websocket(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: WebsocketCallable | None = None,
        **options: Any,
    ) -> None:
        """Register ``view_func`` as the websocket handler for ``rule``
        (Quart's): :meth:`websocket` without the decorator, and the same as
        ``add_url_rule(rule, endpoint, view_func, websocket=True)``::

            app.add_websocket("/ws", view_func=chat)
        """
        handler = cast("RouteCallable | None", view_func)  # may return None: no response
        self.add_url_rule(rule, endpoint, handler, websocket=True, **options)

    @setupmethod
    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: RouteCallable | None = None,
        provide_automatic_options: bool | None = None,
        **options: Any,
    ) -> None:
        """Register a URL rule; see :meth:`route` (and :meth:`websocket` for
        ``websocket=True``)."""
        if options.get("websocket") and view_func is not None and not is_async_callable(view_func):
            raise TypeError(
                f"The websocket handler {getattr(view_func, '__name__', view_func)!r} must"
                " be a coroutine function: define it with 'async def'."
            )
        self._register_url_rule(
            rule, endpoint, view_func, provide_automatic_options, options
        )

    @abstractmethod
    def _register_url_rule(
        self,
        rule: str,
        endpoint: str | None,
        view_func: RouteCallable | None,
        provide_automatic_options: bool | None,
        options: dict[str, object],
    ) -> None:
        """Store the rule: at once on the app, deferred on a blueprint."""

    @setupmethod
    def endpoint(self, endpoint: str) -> Callable[[T_route], T_route]:
        """Register the decorated function as the view of ``endpoint``."""

        def decorator(func: T_route) -> T_route:
            self.view_functions[endpoint] = func
            return func

        return decorator

    # -- request hooks --------------------------------------------------------

    @setupmethod
    def before_request(self, func: T_before) -> T_before:
        """Run ``func`` before each request; a non-``None`` return is the response."""
        self.before_request_funcs[None].append(func)
        return func

    @setupmethod
    def after_request(self, func: T_after) -> T_after:
        """Run ``func(response)`` after each request; it returns the response."""
        self.after_request_funcs[None].append(func)
        return func

    @setupmethod
    def teardown_request(self, func: T_teardown) -> T_teardown:
        """Run ``func(exc)`` when the request context is popped, even after an error."""
        self.teardown_request_funcs[None].append(func)
        return func

    @setupmethod
    def before_websocket(self, func: T_before) -> T_before:
        """Run ``func`` before each websocket connection is handled."""
        self.before_websocket_funcs[None].append(func)
        return func

    @setupmethod
    def after_websocket(self, func: T_after_websocket) -> T_after_websocket:
        """Run ``func(response)`` after each websocket handler returns."""
        self.after_websocket_funcs[None].append(func)
        return func

    @setupmethod
    def teardown_websocket(self, func: T_teardown) -> T_teardown:
        """Run ``func(exc)`` when a websocket context is popped."""
        self.teardown_websocket_funcs[None].append(func)
        return func

    @setupmethod
    def context_processor(self, func: T_ctx_proc) -> T_ctx_proc:
        """Register a function whose returned dict is added to template contexts."""
        self.template_context_processors[None].append(func)
        return func

    @setupmethod
    def url_value_preprocessor(self, func: T_url_value) -> T_url_value:
        """Run ``func(endpoint, view_args)`` before the view, to pop or convert values."""
        self.url_value_preprocessors[None].append(func)
        return func

    @setupmethod
    def url_defaults(self, func: T_url_defaults) -> T_url_defaults:
        """Run ``func(endpoint, values)`` when building URLs, to fill in values."""
        self.url_default_functions[None].append(func)
        return func

    # -- app-wide: templates and serving ------------------------------------------
    #
    # Jinja's filters, tests and globals and the serving functions belong to
    # the whole app; on a blueprint these register on the app it is
    # registered on (also under Flask's and Quart's names ``app_template_filter``,
    # ``before_app_serving``, ...).

    @setupmethod
    def template_filter(self, name: str | None = None) -> Callable[[T_filter], T_filter]:
        """Decorate a function to register it as a template filter.

        ::

            @app.template_filter("reverse")
            def reverse_filter(s):
                return s[::-1]
        """

        def decorator(func: T_filter) -> T_filter:
            self.add_template_filter(func, name=name)
            return func

        return decorator

    @setupmethod
    def add_template_filter(self, func: TemplateFilterCallable, name: str | None = None) -> None:
        """Register ``func`` as a template filter, named ``name`` or after the function."""
        self._app_wide(lambda app: app.jinja_env.filters.__setitem__(name or func.__name__, func))

    @setupmethod
    def template_test(self, name: str | None = None) -> Callable[[T_test], T_test]:
        """Decorate a function to register it as a template test (``{% if n is prime %}``)."""

        def decorator(func: T_test) -> T_test:
            self.add_template_test(func, name=name)
            return func

        return decorator

    @setupmethod
    def add_template_test(self, func: TemplateTestCallable, name: str | None = None) -> None:
        """Register ``func`` as a template test, named ``name`` or after the function."""
        self._app_wide(lambda app: app.jinja_env.tests.__setitem__(name or func.__name__, func))

    @setupmethod
    def template_global(self, name: str | None = None) -> Callable[[T_global], T_global]:
        """Decorate a function to make it available in every template."""

        def decorator(func: T_global) -> T_global:
            self.add_template_global(func, name=name)
            return func

        return decorator

    @setupmethod
    def add_template_global(self, func: TemplateGlobalCallable, name: str | None = None) -> None:
        """Make ``func`` available in every template, as ``name`` or its own name."""
        self._app_wide(lambda app: app.jinja_env.globals.__setitem__(name or func.__name__, func))

    @setupmethod
    def before_serving(self, func: T_before_serving) -> T_before_serving:
        """Run ``func`` once when the server starts, before any request."""
        self._app_wide(lambda app: app.before_serving_funcs.append(func))
        return func

    @setupmethod
    def after_serving(self, func: T_after_serving) -> T_after_serving:
        """Run ``func`` once when the server shuts down."""
        self._app_wide(lambda app: app.after_serving_funcs.append(func))
        return func

    @setupmethod
    def while_serving(self, func: T_while_serving) -> T_while_serving:
        """Register an async generator that yields once, around serving.

        ::

            @app.while_serving
            async def lifespan():
                app.pool = await make_pool()
                yield
                await app.pool.close()
        """
        self._app_wide(lambda app: app.while_serving_gens.append(func))
        return func

    # -- error handlers -------------------------------------------------------

    @setupmethod
    def errorhandler(self, code_or_exception: type[BaseException] | int) -> Callable[[T_error], T_error]:
        """Register the decorated function to handle an HTTP code or exception class.

        ::

            @app.errorhandler(404)
            async def not_found(error):
                return "Nothing here", 404
        """

        def decorator(func: T_error) -> T_error:
            self.register_error_handler(code_or_exception, func)
            return func

        return decorator

    @setupmethod
    def register_error_handler(
        self, code_or_exception: type[BaseException] | int, func: ErrorHandlerCallable
    ) -> None:
        """Register ``func`` to handle an HTTP code or exception class."""
        exc_class, code = self._get_exc_class_and_code(code_or_exception)
        self.error_handler_spec[None][code][exc_class] = func

    @staticmethod
    def _get_exc_class_and_code(
        exc_class_or_code: type[BaseException] | int,
    ) -> tuple[type[BaseException], int | None]:
        if isinstance(exc_class_or_code, int):
            try:
                exc_class: type[BaseException] = default_exceptions[exc_class_or_code]
            except KeyError:
                raise ValueError(
                    f"'{exc_class_or_code}' is not a recognized HTTP error code. Use a"
                    " subclass of HTTPException with that code instead."
                ) from None
        else:
            exc_class = exc_class_or_code
        if isinstance(exc_class, Exception):
            raise TypeError(
                f"{exc_class!r} is an instance, not a class. Handlers can only be"
                " registered for Exception classes or HTTP error codes."
            )
        if not isinstance(exc_class, type) or not issubclass(exc_class, Exception):
            raise ValueError(
                f"'{getattr(exc_class, '__name__', exc_class)}' is not a subclass of"
                " Exception. Handlers can only be registered for Exception classes or"
                " HTTP error codes."
            )
        if issubclass(exc_class, HTTPException):
            return exc_class, exc_class.code
        return exc_class, None


def make_rule(
    rule_class: type[Rule],
    rule: str,
    endpoint: str | None,
    view_func: RouteCallable | None,
    provide_automatic_options: bool | None,
    automatic_options_default: bool,
    options: dict[str, Any],
) -> Rule:
    """Make the rule ``add_url_rule`` registers: its endpoint (the view's
    name by default), its methods (the view's ``methods`` and
    ``required_methods`` too), and ``OPTIONS`` answered automatically unless
    the view handles it (``provide_automatic_options``, else
    ``automatic_options_default``: ``PROVIDE_AUTOMATIC_OPTIONS``).
    """
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
        provide_automatic_options = "OPTIONS" not in methods and automatic_options_default
    if websocket:
        methods, provide_automatic_options = {"GET"}, False
    elif provide_automatic_options:
        required.add("OPTIONS")
    methods |= required
    rule_obj = rule_class(rule, methods=methods, websocket=websocket, **options)
    rule_obj.provide_automatic_options = provide_automatic_options  # type: ignore[attr-defined]
    return rule_obj


def register_rule(
    app: Microframe,
    rule: str,
    endpoint: str | None,
    view_func: RouteCallable | None,
    provide_automatic_options: bool | None,
    options: dict[str, Any],
) -> None:
    """Add the rule ``add_url_rule`` makes (:func:`make_rule`) to the app's
    URL map, and its view to ``view_functions``."""
    rule_obj = make_rule(
        app.url_rule_class,
        rule,
        endpoint,
        view_func,
        provide_automatic_options,
        app.config["PROVIDE_AUTOMATIC_OPTIONS"],
        options,
    )
    app.url_map.add(rule_obj)
    if view_func is not None:
        set_view(app.view_functions, rule_obj.endpoint, view_func)


def set_view(view_functions: dict[str, RouteCallable], endpoint: str, view_func: RouteCallable) -> None:
    """Map ``endpoint`` to ``view_func``, refusing to replace another view."""
    old = view_functions.get(endpoint)
    # Compared with != as in Flask: the same method, bound again, is the same view.
    if old is not None and old != view_func:
        raise AssertionError(
            f"View function mapping is overwriting an existing endpoint function: {endpoint}"
        )
    view_functions[endpoint] = view_func


def merge_methods(
    view_func: object, methods: Iterable[str] | str | None
) -> tuple[set[str], set[str]]:
    """Return the upper-cased methods of a rule and those the view requires."""
    if methods is None:
        methods = getattr(view_func, "methods", None) or ("GET",)
    if isinstance(methods, str):
        raise TypeError(
            "Allowed methods must be a list of strings, for example:"
            ' @app.route(..., methods=["POST"])'
        )
    result = {item.upper() for item in methods}
    required = {item.upper() for item in getattr(view_func, "required_methods", ())}
    return result, required


__all__ = [
    "AsyncFileOpener",
    "HookList",
    "HookLists",
    "HooksVersion",
    "Scaffold",
    "app_name",
    "find_package",
    "get_root_path",
    "instance_folder",
    "make_rule",
    "merge_methods",
    "open_file",
    "register_rule",
    "set_view",
    "setupmethod",
]
