"""Blueprints: groups of routes, hooks and handlers registered on an app."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .globals import current_app
from .scaffold import Scaffold, setupmethod
from .sending import get_send_file_max_age
from .typing import (
    AfterRequestCallable,
    AfterWebsocketCallable,
    BeforeRequestCallable,
    ErrorHandlerCallable,
    RouteCallable,
    TeardownCallable,
    TemplateContextProcessorCallable,
    URLDefaultCallable,
    URLValuePreprocessorCallable,
)

if TYPE_CHECKING:
    from .app import Microframe

DeferredSetupFunction = Callable[["BlueprintSetupState"], None]
F = TypeVar("F", bound=Callable[..., object])
T_before = TypeVar("T_before", bound=BeforeRequestCallable)
T_after = TypeVar("T_after", bound=AfterRequestCallable)
T_after_websocket = TypeVar("T_after_websocket", bound=AfterWebsocketCallable)
T_teardown = TypeVar("T_teardown", bound=TeardownCallable)
T_error = TypeVar("T_error", bound=ErrorHandlerCallable)
T_ctx_proc = TypeVar("T_ctx_proc", bound=TemplateContextProcessorCallable)
T_url_defaults = TypeVar("T_url_defaults", bound=URLDefaultCallable)
T_url_value = TypeVar("T_url_value", bound=URLValuePreprocessorCallable)


def _join_prefix(outer: str | None, inner: str | None) -> str | None:
    if outer and inner:
        return f"{outer.rstrip('/')}/{inner.lstrip('/')}"
    return inner or outer


class BlueprintSetupState:
    """What a blueprint's deferred functions get when it is registered.

    Extensions use it through :meth:`Blueprint.record`; it carries the app,
    the options of this registration, and ``add_url_rule`` with the
    blueprint's prefix, subdomain and defaults applied.
    """

    def __init__(
        self, blueprint: Blueprint, app: Microframe, options: Any, first_registration: bool
    ) -> None:
        self.app = app
        self.blueprint = blueprint
        self.options = options
        self.first_registration = first_registration
        subdomain = self.options.get("subdomain")
        self.subdomain: str | None = blueprint.subdomain if subdomain is None else subdomain
        url_prefix = self.options.get("url_prefix")
        self.url_prefix: str | None = blueprint.url_prefix if url_prefix is None else url_prefix
        self.name: str = self.options.get("name", blueprint.name)
        self.name_prefix: str = self.options.get("name_prefix", "")
        self.url_defaults: dict[str, Any] = dict(blueprint.url_values_defaults)
        self.url_defaults.update(self.options.get("url_defaults", ()))

    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: RouteCallable | None = None,
        **options: Any,
    ) -> None:
        """Register a rule on the app with this blueprint's prefix and names."""
        if self.url_prefix is not None:
            rule = f"{self.url_prefix.rstrip('/')}/{rule.lstrip('/')}" if rule else self.url_prefix
        options.setdefault("subdomain", self.subdomain)
        if endpoint is None:
            endpoint = view_func.__name__  # type: ignore[union-attr]
        defaults = self.url_defaults
        if "defaults" in options:
            defaults = dict(defaults, **options.pop("defaults"))
        self.app.add_url_rule(
            rule,
            f"{self.name_prefix}.{self.name}.{endpoint}".lstrip("."),
            view_func,
            defaults=defaults,
            **options,
        )


class Blueprint(Scaffold):
    """A set of routes and hooks to register on an app, possibly several times.

    ::

        bp = Blueprint("admin", __name__, url_prefix="/admin")

        @bp.get("/")
        async def index():
            return "admin home"

        app.register_blueprint(bp)

    :param name: the blueprint's name, prefixed to its endpoints.
    :param import_name: the module's ``__name__``.
    :param url_prefix: a path prepended to all the blueprint's rules.
    :param subdomain: the subdomain the blueprint's rules match.
    :param url_defaults: default view arguments for the blueprint's rules.
    :param cli_group: the name of the blueprint's command group
        (``None`` merges its commands into the app's).
    """

    _got_registered_once = False

    def __init__(
        self,
        name: str,
        import_name: str,
        static_folder: str | os.PathLike[str] | None = None,
        static_url_path: str | None = None,
        template_folder: str | os.PathLike[str] | None = None,
        url_prefix: str | None = None,
        subdomain: str | None = None,
        url_defaults: dict[str, Any] | None = None,
        root_path: str | None = None,
        cli_group: str | None = Ellipsis,  # type: ignore[assignment]
    ) -> None:
        super().__init__(
            import_name,
            static_folder=static_folder,
            static_url_path=static_url_path,
            template_folder=template_folder,
            root_path=root_path,
        )
        if not name:
            raise ValueError("'name' may not be empty.")
        if "." in name:
            raise ValueError("'name' may not contain a dot '.' character.")
        self.name = name
        self.url_prefix = url_prefix
        self.subdomain = subdomain
        self.deferred_functions: list[DeferredSetupFunction] = []
        self.url_values_defaults: dict[str, Any] = url_defaults or {}
        self.cli_group = cli_group
        self._blueprints: list[tuple[Blueprint, dict[str, object]]] = []

    def _check_setup_finished(self, f_name: str) -> None:
        if self._got_registered_once:
            raise AssertionError(
                f"The setup method '{f_name}' can no longer be called on the blueprint"
                f" '{self.name}'. It has already been registered at least once, any"
                " changes will not be applied consistently.\n"
                "Make sure all imports, decorators, functions, etc. needed to set up"
                " the blueprint are done before registering it."
            )

    @setupmethod
    def record(self, func: DeferredSetupFunction) -> None:
        """Call ``func(state)`` each time the blueprint is registered on an app."""
        self.deferred_functions.append(func)

    @setupmethod
    def record_once(self, func: DeferredSetupFunction) -> None:
        """Call ``func(state)`` only the first time the blueprint is registered."""

        def wrapper(state: BlueprintSetupState) -> None:
            if state.first_registration:
                func(state)

        self.record(wrapper)

    def make_setup_state(
        self, app: Microframe, options: dict[str, Any], first_registration: bool = False
    ) -> BlueprintSetupState:
        """Create the :class:`BlueprintSetupState` for one registration."""
        return BlueprintSetupState(self, app, options, first_registration)

    @setupmethod
    def register_blueprint(self, blueprint: Blueprint, **options: Any) -> None:
        """Nest ``blueprint`` in this one; it is registered with this one."""
        if blueprint is self:
            raise ValueError("Cannot register a blueprint on itself")
        self._blueprints.append((blueprint, options))

    def _register_url_rule(
        self,
        rule: str,
        endpoint: str | None,
        view_func: RouteCallable | None,
        provide_automatic_options: bool | None,
        options: dict[str, object],
    ) -> None:
        if endpoint and "." in endpoint:
            raise ValueError("'endpoint' may not contain a dot '.' character.")
        if view_func is not None and "." in getattr(view_func, "__name__", ""):
            raise ValueError("'view_func' name may not contain a dot '.' character.")
        self.record(
            lambda state: state.add_url_rule(
                rule,
                endpoint,
                view_func,
                provide_automatic_options=provide_automatic_options,
                **options,
            )
        )

    # -- registration on an app ------------------------------------------------

    def register(self, app: Microframe, options: dict[str, Any]) -> None:
        """Register the blueprint (and nested ones) on ``app``.

        Called by :meth:`Microframe.register_blueprint`; not usually called
        directly.
        """
        name = f"{options.get('name_prefix', '')}.{options.get('name', self.name)}".lstrip(".")
        if name in app.blueprints:
            where = "this" if app.blueprints[name] is self else "a different"
            raise ValueError(
                f"The name '{name}' is already registered for {where} blueprint."
                " Use 'name=' to provide a unique name."
            )
        first_registration = not any(bp is self for bp in app.blueprints.values())
        app.blueprints[name] = self
        self._got_registered_once = True
        state = self.make_setup_state(app, options, first_registration)
        if self.has_static_folder:
            state.add_url_rule(
                f"{self.static_url_path}/<path:filename>",
                view_func=self.send_static_file,
                endpoint="static",
            )
        self._merge_into(app, name)
        for deferred in self.deferred_functions:
            deferred(state)
        self._register_cli(app, options)
        for blueprint, bp_options in self._blueprints:
            self._register_nested(app, state, name, blueprint, dict(bp_options))

    def _register_nested(
        self,
        app: Microframe,
        state: BlueprintSetupState,
        name: str,
        blueprint: Blueprint,
        bp_options: dict[str, Any],
    ) -> None:
        url_prefix = bp_options.get("url_prefix")
        if url_prefix is None:
            url_prefix = blueprint.url_prefix
        bp_options["url_prefix"] = _join_prefix(state.url_prefix, url_prefix)
        subdomain = bp_options.get("subdomain")
        if subdomain is None:
            subdomain = blueprint.subdomain
        if state.subdomain is not None and subdomain is not None:
            bp_options["subdomain"] = f"{subdomain}.{state.subdomain}"
        elif state.subdomain is not None:
            bp_options["subdomain"] = state.subdomain
        elif subdomain is not None:
            bp_options["subdomain"] = subdomain
        bp_options["name_prefix"] = name
        blueprint.register(app, bp_options)

    def _register_cli(self, app: Microframe, options: dict[str, Any]) -> None:
        if "cli" not in self.__dict__ or not self.cli.commands:  # made on first use
            return
        cli_group = options.get("cli_group", self.cli_group)
        if cli_group is None:
            app.cli.commands.update(self.cli.commands)
            return
        self.cli.name = self.name if cli_group is Ellipsis else cli_group
        app.cli.add_command(self.cli)

    def _merge_into(self, app: Microframe, name: str) -> None:
        def key(k: str | None) -> str:
            return name if k is None else f"{name}.{k}"

        for code_map_key, code_map in self.error_handler_spec.items():
            target = app.error_handler_spec[key(code_map_key)]
            for code, handlers in code_map.items():
                target[code].update(handlers)
        for attr in (
            "before_request_funcs",
            "after_request_funcs",
            "teardown_request_funcs",
            "url_default_functions",
            "url_value_preprocessors",
            "template_context_processors",
            "before_websocket_funcs",
            "after_websocket_funcs",
            "teardown_websocket_funcs",
        ):
            source: dict[str | None, list[object]] = getattr(self, attr)
            target_map: defaultdict[str | None, list[object]] = getattr(app, attr)
            for k, funcs in source.items():
                target_map[key(k)].extend(funcs)
        # Views given to bp.endpoint(name) serve rules of that exact endpoint,
        # as in Flask (routes of the blueprint are added with dotted names).
        app.view_functions.update(self.view_functions)

    def get_send_file_max_age(self, filename: str | None) -> int | None:
        """Seconds a file sent from this blueprint may be cached.

        The current app's ``SEND_FILE_MAX_AGE_DEFAULT``, as for the app's
        own files; override in a subclass to vary by file.
        """
        return get_send_file_max_age(current_app._get_current_object(), filename)  # type: ignore[attr-defined]

    # -- app-wide registration from a blueprint ---------------------------------

    def _app_wide(self, apply: Callable[[Any], None]) -> None:
        self.record_once(lambda state: apply(state.app))

    def _app_hook(self, attr: str, func: F) -> F:
        self._app_wide(lambda app: getattr(app, attr)[None].append(func))
        return func

    @setupmethod
    def before_app_request(self, func: T_before) -> T_before:
        """Like :meth:`before_request`, for every request of the app."""
        return self._app_hook("before_request_funcs", func)

    @setupmethod
    def after_app_request(self, func: T_after) -> T_after:
        """Like :meth:`after_request`, for every request of the app."""
        return self._app_hook("after_request_funcs", func)

    @setupmethod
    def teardown_app_request(self, func: T_teardown) -> T_teardown:
        """Like :meth:`teardown_request`, for every request of the app."""
        return self._app_hook("teardown_request_funcs", func)

    @setupmethod
    def before_app_websocket(self, func: T_before) -> T_before:
        """Like :meth:`before_websocket`, for every websocket of the app."""
        return self._app_hook("before_websocket_funcs", func)

    @setupmethod
    def after_app_websocket(self, func: T_after_websocket) -> T_after_websocket:
        """Like :meth:`after_websocket`, for every websocket of the app."""
        return self._app_hook("after_websocket_funcs", func)

    @setupmethod
    def teardown_app_websocket(self, func: T_teardown) -> T_teardown:
        """Like :meth:`teardown_websocket`, for every websocket of the app."""
        return self._app_hook("teardown_websocket_funcs", func)

    @setupmethod
    def app_context_processor(self, func: T_ctx_proc) -> T_ctx_proc:
        """Like :meth:`context_processor`, for every template of the app."""
        return self._app_hook("template_context_processors", func)

    @setupmethod
    def app_url_value_preprocessor(self, func: T_url_value) -> T_url_value:
        """Like :meth:`url_value_preprocessor`, for every request of the app."""
        return self._app_hook("url_value_preprocessors", func)

    @setupmethod
    def app_url_defaults(self, func: T_url_defaults) -> T_url_defaults:
        """Like :meth:`url_defaults`, for every URL the app builds."""
        return self._app_hook("url_default_functions", func)

    @setupmethod
    def app_errorhandler(
        self, code: type[BaseException] | int
    ) -> Callable[[T_error], T_error]:
        """Like :meth:`errorhandler`, for errors anywhere in the app."""

        def decorator(func: T_error) -> T_error:
            self._app_wide(lambda app: app.register_error_handler(code, func))
            return func

        return decorator

    # Flask's and Quart's names for the app-wide registrations of the
    # scaffold: on a blueprint they always register on the app.
    app_template_filter = Scaffold.template_filter
    add_app_template_filter = Scaffold.add_template_filter
    app_template_test = Scaffold.template_test
    add_app_template_test = Scaffold.add_template_test
    app_template_global = Scaffold.template_global
    add_app_template_global = Scaffold.add_template_global
    before_app_serving = Scaffold.before_serving
    after_app_serving = Scaffold.after_serving
    while_app_serving = Scaffold.while_serving


__all__ = ["Blueprint", "BlueprintSetupState"]
