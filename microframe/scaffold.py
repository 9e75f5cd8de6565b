"""The registration API shared by the app and blueprints.

Every decorator (``route``, ``before_request``, ``errorhandler``, ...) is
defined once here. Functions are stored in dicts keyed by blueprint name
(``None`` for the app) and prepared for dispatch when the app serves its
first request.
"""

from __future__ import annotations

import functools
import os
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from werkzeug.exceptions import HTTPException, default_exceptions

from .helpers import get_root_path
from .sync import is_async_callable
from .typing import (
    AfterRequestCallable,
    BeforeRequestCallable,
    ErrorHandlerCallable,
    RouteCallable,
    TeardownCallable,
    TemplateContextProcessorCallable,
    URLDefaultCallable,
    URLValuePreprocessorCallable,
)

if TYPE_CHECKING:
    import click

F = TypeVar("F", bound=Callable[..., Any])
T_route = TypeVar("T_route", bound=RouteCallable)
T_websocket = TypeVar("T_websocket", bound=Callable[..., Awaitable[Any]])
T_before = TypeVar("T_before", bound=BeforeRequestCallable)
T_after = TypeVar("T_after", bound=AfterRequestCallable)
T_teardown = TypeVar("T_teardown", bound=TeardownCallable)
T_error = TypeVar("T_error", bound=ErrorHandlerCallable)
T_ctx_proc = TypeVar("T_ctx_proc", bound=TemplateContextProcessorCallable)
T_url_defaults = TypeVar("T_url_defaults", bound=URLDefaultCallable)
T_url_value = TypeVar("T_url_value", bound=URLValuePreprocessorCallable)

Key = str | None
ErrorSpec = dict[Key, dict[int | None, dict[type[BaseException], ErrorHandlerCallable]]]


def setupmethod(func: F) -> F:
    """Guard a registration method: it may not run once setup is over."""
    name = func.__name__

    @functools.wraps(func)
    def guarded(self: Scaffold, *args: Any, **kwargs: Any) -> Any:
        self._check_setup_finished(name)
        return func(self, *args, **kwargs)

    return cast(F, guarded)


def _endpoint_from_view_func(view_func: Callable[..., Any]) -> str:
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
    cli: click.Group

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
        self.before_request_funcs: dict[Key, list[BeforeRequestCallable]] = defaultdict(list)
        self.after_request_funcs: dict[Key, list[AfterRequestCallable]] = defaultdict(list)
        self.teardown_request_funcs: dict[Key, list[TeardownCallable]] = defaultdict(list)
        self.template_context_processors: dict[Key, list[TemplateContextProcessorCallable]] = (
            defaultdict(list)
        )
        self.url_value_preprocessors: dict[Key, list[URLValuePreprocessorCallable]] = (
            defaultdict(list)
        )
        self.url_default_functions: dict[Key, list[URLDefaultCallable]] = defaultdict(list)
        self.before_websocket_funcs: dict[Key, list[BeforeRequestCallable]] = defaultdict(list)
        self.after_websocket_funcs: dict[Key, list[AfterRequestCallable]] = defaultdict(list)
        self.teardown_websocket_funcs: dict[Key, list[TeardownCallable]] = defaultdict(list)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"

    @abstractmethod
    def _check_setup_finished(self, f_name: str) -> None:
        """Raise if registering ``f_name`` is no longer allowed."""

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

    @property
    def has_static_folder(self) -> bool:
        """``True`` if a static folder is set."""
        return self._static_folder is not None

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

        Handlers must be ``async def`` (a plain function is refused with a
        :class:`TypeError`). The same as ``add_url_rule(rule, endpoint,
        func, websocket=True)``.

        :param rule: the URL rule, with werkzeug converters.
        :param options: as for :meth:`route` (``endpoint``, ``defaults``, ...).
        """

        def decorator(func: T_websocket) -> T_websocket:
            endpoint = options.pop("endpoint", None)
            self.add_url_rule(rule, endpoint, func, websocket=True, **options)
            return func

        return decorator

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
        options: dict[str, Any],
    ) -> None:
        """Store the rule: at once on the app, deferred on a blueprint."""

    @setupmethod
    def endpoint(self, endpoint: str) -> Callable[[F], F]:
        """Register the decorated function as the view of ``endpoint``."""

        def decorator(func: F) -> F:
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
    def after_websocket(self, func: T_after) -> T_after:
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


def merge_methods(
    view_func: Any, methods: Iterable[str] | str | None
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


__all__ = ["Scaffold", "get_root_path", "merge_methods", "setupmethod"]
