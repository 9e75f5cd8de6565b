"""The ``microframe`` command line: the groups, decorators and built-in commands.

``microframe --app hello run`` finds the app (see :class:`ScriptInfo` and
:mod:`microframe.discovery`), then runs a command with it: ``run``,
``routes``, ``shell``, a command an installed package offers through the
``microframe.commands`` (or Flask's ``flask.commands``) entry points, or a
command the app or its blueprints registered on ``app.cli``::

    @app.cli.command()
    @click.argument("name")
    async def greet(name):
        click.echo(f"Hello {name}, from {current_app.name}")

Flask's names keep working for a ported app: ``FLASK_APP``, ``FLASK_DEBUG``,
``FLASK_RUN_*``, ``FLASK_SKIP_DOTENV`` and ``.flaskenv`` are read as well as
``MICROFRAME_APP``, ... and ``.microframeenv``, microframe's names winning
where both are set.
"""

from __future__ import annotations

import importlib
import inspect
import os
import platform
import sys
import traceback
from collections.abc import Callable, Iterator
from functools import update_wrapper
from importlib import metadata
from typing import TYPE_CHECKING, Any, TypeVar, overload

import click

from . import __version__, flask_compat, quart_compat
from .app import Microframe
from .config import ENV_PREFIXES
from .ctx import has_app_context
from .discovery import (
    DEFAULT_APP_FILES,
    DEFAULT_APP_NAMES,
    DEFAULT_FACTORY_NAMES,
    DOTENV_FILES,
    AppImportError,
    EnvOption,
    NoAppException,
    ScriptInfo,
    app_file_of,
    discover_app,
    find_app_by_string,
    find_best_app,
    import_app_module,
    load_app_from_path,
    load_dotenv,
    load_served_app,
    locate_app,
    pass_script_info,
    prepare_import,
)
from .globals import _cv_app, current_app
from .helpers import get_debug_flag, get_load_dotenv
from .serving import CertParamType, SeparatedPathType, run_command
from .shell import interact
from .sync import run_async

if TYPE_CHECKING:
    from werkzeug.routing import Rule

F = TypeVar("F", bound=Callable[..., object])

#: The entry-point groups whose click commands the command line offers,
#: weakest first: a ``microframe.commands`` command wins over a Flask
#: extension's ``flask.commands`` one of the same name.
COMMAND_ENTRY_POINTS = ("flask.commands", "microframe.commands")


# -- decorators and groups ---------------------------------------------------------


def with_appcontext(f: F) -> F:
    """Run the command ``f`` with the app context pushed (loading the app).

    Commands registered on ``app.cli`` or a blueprint's ``cli`` get this by
    default; use it for commands on other groups::

        @click.command()
        @with_appcontext
        def init_db():
            current_app.logger.info("ready")
    """

    @click.pass_context
    def wrapper(ctx: click.Context, /, *args: object, **kwargs: object) -> object:
        if not has_app_context():
            app = ctx.ensure_object(ScriptInfo).load_app()
            ctx.with_resource(app.app_context())
        return ctx.invoke(f, *args, **kwargs)

    return update_wrapper(wrapper, f)  # type: ignore[return-value]


def _awaiting(f: F) -> F:
    """Let the callback ``f`` be an ``async def``: await what it returns, on a fresh loop."""

    def wrapper(*args: object, **kwargs: object) -> object:
        value = f(*args, **kwargs)
        if inspect.isawaitable(value):
            value = run_async(value)
        return value

    wrapper.__microframe_awaits__ = True  # type: ignore[attr-defined]
    return update_wrapper(wrapper, f)  # type: ignore[return-value]


def _await_async_callbacks(command: click.Command) -> click.Command:
    """Make ``async def`` callbacks of ``command`` and its subcommands run when invoked.

    A plain ``@click.command()`` added with ``app.cli.add_command`` (or by
    an extension) never passed through :meth:`AppGroup.command`, so this is
    done when the command is looked up to run.
    """
    callback = command.callback
    if (
        callback is not None
        and not getattr(callback, "__microframe_awaits__", False)
        and inspect.iscoroutinefunction(inspect.unwrap(callback))
    ):
        command.callback = _awaiting(callback)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _await_async_callbacks(sub)
    return command


class AppGroup(click.Group):
    """A click group whose commands may be ``async`` and run in the app context.

    ``@group.command(with_appcontext=False)`` opts a command out of the app
    context; :meth:`group` makes nested :class:`AppGroup` groups.
    """

    @overload
    def command(self, func: Callable[..., object], /) -> click.Command: ...

    @overload
    def command(
        self, *args: Any, **kwargs: Any
    ) -> Callable[[Callable[..., object]], click.Command]: ...

    def command(
        self, *args: Any, **kwargs: Any
    ) -> click.Command | Callable[[Callable[..., object]], click.Command]:
        """Register a command, as :meth:`click.Group.command` does.

        :param with_appcontext: push the app context around the command
            (``True`` by default).
        """
        if len(args) == 1 and not kwargs and callable(args[0]):
            return self.command()(args[0])
        wrap = kwargs.pop("with_appcontext", True)

        def decorator(f: Callable[..., object]) -> click.Command:
            f = _awaiting(f)
            if wrap:
                f = with_appcontext(f)
            command: click.Command = click.Group.command(self, *args, **kwargs)(f)
            return command

        return decorator

    @overload
    def group(self, func: Callable[..., object], /) -> click.Group: ...

    @overload
    def group(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., object]], click.Group]: ...

    def group(
        self, *args: Any, **kwargs: Any
    ) -> click.Group | Callable[[Callable[..., object]], click.Group]:
        """Register a nested group, an :class:`AppGroup` unless ``cls`` says otherwise."""
        if len(args) == 1 and not kwargs and callable(args[0]):
            return self.group()(args[0])
        kwargs.setdefault("cls", AppGroup)
        decorator: Callable[[Callable[..., object]], click.Group] = click.Group.group(
            self, *args, **kwargs
        )
        return decorator

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Return the command ``cmd_name``, ready to run even if its callback is ``async``."""
        command = super().get_command(ctx, cmd_name)
        return None if command is None else _await_async_callbacks(command)


# -- the built-in commands ------------------------------------------------------------


@click.command("routes", short_help="Show the app's routes.")
@click.option(
    "--sort",
    "-s",
    type=click.Choice(("endpoint", "methods", "domain", "rule", "match")),
    default="endpoint",
    show_default=True,
    help="Sort by a column; 'match' is the order rules are matched in.",
)
@click.option("--all-methods", is_flag=True, help="Show HEAD and OPTIONS too.")
@with_appcontext
def routes_command(sort: str, all_methods: bool) -> None:
    """Show every route: endpoint, methods, rule; WebSocket rules say WEBSOCKET."""
    app = current_app
    rules = list(app.url_map.iter_rules())
    if not rules:
        click.echo("No routes were registered.")
        return
    hidden = set() if all_methods else {"HEAD", "OPTIONS"}

    def methods_of(rule: Rule) -> str:
        if getattr(rule, "websocket", False):
            return "WEBSOCKET"
        return ", ".join(sorted((rule.methods or set()) - hidden))

    domains: list[str] = []
    if app.url_map.host_matching:
        headers = ["Endpoint", "Methods", "Host", "Rule"]
        domains = [rule.host or "" for rule in rules]
    elif any(rule.subdomain for rule in rules):
        headers = ["Endpoint", "Methods", "Subdomain", "Rule"]
        domains = [rule.subdomain or "" for rule in rules]
    else:
        headers = ["Endpoint", "Methods", "Rule"]
    rows = []
    for index, rule in enumerate(rules):
        row = [rule.endpoint, methods_of(rule)]
        if domains:
            row.append(domains[index])
        rows.append([*row, rule.rule])
    keys: dict[str, Callable[[list[str]], tuple[str, str] | str]] = {
        "endpoint": lambda row: (row[0], row[-1]),
        "methods": lambda row: (row[1], row[-1]),
        "domain": lambda row: (row[2] if domains else "", row[-1]),
        "rule": lambda row: row[-1],
    }
    if sort in keys:
        rows.sort(key=keys[sort])
    for line in _table(headers, rows):
        click.echo(line.rstrip())


def _table(headers: list[str], rows: list[list[str]]) -> Iterator[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    fmt = "  ".join(f"{{:<{width}}}" for width in widths)
    yield fmt.format(*headers)
    yield fmt.format(*("-" * width for width in widths))
    for row in rows:
        yield fmt.format(*row)


@click.command("shell", short_help="Run a Python shell in the app context.")
@with_appcontext
def shell_command() -> None:
    """Run an interactive Python shell with the app context pushed.

    ``app`` and ``g`` are defined, with whatever the app's shell context
    processors return. Lines may ``await``, as in ``python -m asyncio``
    (see :mod:`microframe.shell`). IPython is used when it is installed.
    """
    app: Microframe = current_app._get_current_object()  # type: ignore[attr-defined]
    namespace: dict[str, object] = {}
    startup = os.environ.get("PYTHONSTARTUP")
    if startup and os.path.isfile(startup):
        with open(startup) as file:
            exec(compile(file.read(), startup, "exec"), namespace)
    namespace.update(app.make_shell_context())
    banner = (
        f"Python {sys.version} on {sys.platform}\n"
        f"App: {app.name} (debug: {'on' if app.debug else 'off'})\n"
        f"Instance: {app.instance_path}"
    )
    try:
        ipython: Any = importlib.import_module("IPython")
    except ImportError:
        pass
    else:
        click.echo(banner)
        ipython.start_ipython(argv=[], user_ns=namespace)
        return
    if sys.stdin.isatty():
        _enable_completion(namespace)
    interact(banner, namespace)


def make_shell_context(app: Microframe) -> dict[str, object]:
    """Return the shell's names: :meth:`Microframe.make_shell_context
    <microframe.app.Microframe.make_shell_context>`."""
    return app.make_shell_context()


def _enable_completion(namespace: dict[str, object]) -> None:
    try:
        import readline
        import rlcompleter
    except ImportError:
        return
    readline.set_completer(rlcompleter.Completer(namespace).complete)
    readline.parse_and_bind("tab: complete")


# -- the microframe command --------------------------------------------------------


def get_version(ctx: click.Context, param: click.Parameter | None, value: bool) -> None:
    """Print the versions of microframe, Python, Werkzeug and Hypercorn, and exit.

    The callback of ``--version``; the first line reads ``Microframe
    <version>``, as Quart's reads ``Quart <version>``. While ``import flask``
    or ``import quart`` is served by microframe
    (:mod:`microframe.flask_compat`, :mod:`microframe.quart_compat`), the
    installed Flask or Quart, whose code that import does not run, is named too.
    """
    if not value or ctx.resilient_parsing:
        return
    lines = [
        # The running package's own version: the distribution is published as
        # microframe-asgi, and "microframe" on the index is another project.
        f"Microframe {__version__}",
        f"Python {platform.python_version()}",
        f"Werkzeug {_version_of('werkzeug')}",
        f"Hypercorn {_version_of('hypercorn')}",
    ]
    if flask_compat.is_installed():
        lines.append(f"Flask {_version_of('flask')} ('import flask' is served by microframe)")
    if quart_compat.is_installed():
        lines.append(f"Quart {_version_of('quart')} ('import quart' is served by microframe)")
    click.echo("\n".join(lines), color=ctx.color)
    ctx.exit()


def _version_of(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "(not installed)"


def _app_callback(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        ctx.ensure_object(ScriptInfo).app_import_path = value
    return value


def _debug_callback(ctx: click.Context, param: click.Parameter, value: bool | None) -> bool | None:
    # The environment carries the flag to the app factory, to `run`, and to
    # reloaded worker processes alike.
    if value is not None:
        os.environ["MICROFRAME_DEBUG"] = "1" if value else "0"
    return value


def _env_file_callback(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    try:
        import dotenv  # noqa: F401
    except ImportError:
        # Without a file named, load_dotenv still runs, to print its hint.
        if value is not None:
            raise click.BadParameter(
                "python-dotenv must be installed to load an env file: 'pip install python-dotenv'.",
                ctx=ctx,
                param=param,
            ) from None
    load_defaults = ctx.ensure_object(ScriptInfo).load_dotenv_defaults
    if value is not None or load_defaults:
        load_dotenv(value, load_defaults=load_defaults)
    return value


_HELP = """\
Manage and serve a Microframe app.

The app is found through the --app option, the MICROFRAME_APP environment
variable, or else app.py, asgi.py or wsgi.py in the current folder.

\b
  --app hello             the module hello (a file hello.py or a package)
  --app hello:app         the name app in it
  --app "hello:create_app('dev')"   a factory, called with literal arguments
  --app src/hello.py      a file; --app examples/hello: a folder with app.py

\b
Environment variables:
  MICROFRAME_APP          where the app is, as --app takes it
  MICROFRAME_DEBUG        1 for debug mode (reloader, debug errors)
  MICROFRAME_SKIP_DOTENV  1 to skip loading the dotenv files
  MICROFRAME_RUN_*        defaults of the run command's options

Variables in .env, .microframeenv and .flaskenv are loaded when python-dotenv
is installed. Flask's names (FLASK_APP, FLASK_DEBUG, FLASK_RUN_*, ...) are
read too; microframe's win where both are set.
"""


class MicroframeGroup(AppGroup):
    """The ``microframe`` command: the built-in commands, installed ones, and the app's.

    Use it for a project's own command line around an app factory::

        cli = MicroframeGroup(create_app=create_app)

    :param add_default_commands: add ``run``, ``routes`` and ``shell``.
    :param create_app: a function returning the app, instead of finding it.
    :param add_version_option: add ``--version``.
    :param load_dotenv: load the default dotenv files.
    :param set_debug_flag: set ``app.debug`` from ``MICROFRAME_DEBUG``.
    """

    def __init__(
        self,
        add_default_commands: bool = True,
        create_app: Callable[..., Microframe] | None = None,
        add_version_option: bool = True,
        load_dotenv: bool = True,
        set_debug_flag: bool = True,
        **extra: Any,
    ) -> None:
        params: list[click.Parameter] = list(extra.pop("params", None) or ())
        # Option callbacks rather than a group callback do the work, so that
        # a user's group callback keeps it. --env-file comes first: eager
        # options run in order, and --app may come from the file.
        self._early_params = [
            EnvOption(
                ["-e", "--env-file"],
                type=click.Path(exists=True, dir_okay=False),
                is_eager=True,
                expose_value=False,
                callback=_env_file_callback,
                help="Load environment variables from this file, over the default dotenv"
                " files (needs python-dotenv).",
            ),
            click.Option(
                ["-A", "--app"],
                metavar="IMPORT",
                is_eager=True,
                expose_value=False,
                callback=_app_callback,
                # ScriptInfo reads MICROFRAME_APP and FLASK_APP itself.
                allow_from_autoenv=False,
                help="The app to load: 'module:name', a factory call, a file or a folder.",
            ),
        ]
        params += [
            *self._early_params,
            click.Option(
                ["--debug/--no-debug"],
                default=None,
                is_eager=True,
                expose_value=False,
                callback=_debug_callback,
                allow_from_autoenv=False,
                help="Set debug mode.",
            ),
        ]
        if add_version_option:
            params.append(
                click.Option(
                    ["--version"],
                    is_flag=True,
                    is_eager=True,
                    expose_value=False,
                    callback=get_version,
                    allow_from_autoenv=False,
                    help="Show the microframe, Python, Werkzeug and Hypercorn versions.",
                )
            )
        extra.setdefault("help", _HELP)
        extra.setdefault("context_settings", {})
        extra["context_settings"].setdefault("auto_envvar_prefix", ENV_PREFIXES[0])
        super().__init__(params=params, **extra)
        self.create_app = create_app
        self.load_dotenv = load_dotenv
        self.set_debug_flag = set_debug_flag
        self._builtins: dict[str, click.Command] = {}
        if add_default_commands:
            for command in (run_command, routes_command, shell_command):
                self._builtins[command.name or ""] = command
        self._installed: dict[str, click.Command] | None = None

    def _installed_commands(self) -> dict[str, click.Command]:
        if self._installed is None:
            self._installed = load_installed_commands()
        return self._installed

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Return a command: the group's own, an installed one, a built-in, or the app's.

        If the app cannot be loaded, say why and return ``None`` (so click
        reports an unknown command), as Flask does.
        """
        command = (
            super().get_command(ctx, cmd_name)
            or self._installed_commands().get(cmd_name)
            or self._builtins.get(cmd_name)
        )
        if command is not None:
            return _await_async_callbacks(command)
        try:
            app = ctx.ensure_object(ScriptInfo).load_app()
        except NoAppException as error:
            _show_load_error(error)
            return None
        # The app's commands, and their parameter callbacks, run in its app
        # context, even plain click commands added with app.cli.add_command().
        current = _cv_app.get(None)
        if current is None or current.app is not app:
            ctx.with_resource(app.app_context())
        return app.cli.get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        """List every command; if the app cannot be loaded, say why and list the others."""
        names = set(super().list_commands(ctx)) | set(self._builtins)
        names.update(self._installed_commands())
        try:
            names.update(ctx.ensure_object(ScriptInfo).load_app().cli.list_commands(ctx))
        except NoAppException as error:
            _show_load_error(error)
        except Exception:
            # A factory that raised: the whole traceback, but --help still works.
            click.secho(f"{traceback.format_exc()}\n", err=True, fg="red")
        return sorted(names)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        """Make the context, with a :class:`ScriptInfo` as its ``obj``."""
        # app.run() in a module the command imports must not start a second
        # server (nor block the command) when it is not under a __main__ guard.
        os.environ["MICROFRAME_RUN_FROM_CLI"] = "true"
        if "obj" not in extra and "obj" not in self.context_settings:
            extra["obj"] = ScriptInfo(
                create_app=self.create_app,
                set_debug_flag=self.set_debug_flag,
                load_dotenv_defaults=self.load_dotenv,
            )
        return super().make_context(info_name, args, parent=parent, **extra)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Parse ``args``; ``microframe`` alone shows the help."""
        if (not args and self.no_args_is_help) or (
            len(args) == 1 and args[0] in self.get_help_option_names(ctx)
        ):
            # The help is shown before the eager options run: run the env
            # file and app options first, so that it lists the commands of
            # an app named in a dotenv file.
            for param in self._early_params:
                param.handle_parse_result(ctx, {}, [])
        return super().parse_args(ctx, args)


def _show_load_error(error: NoAppException) -> None:
    if isinstance(error, AppImportError):
        click.echo(error.traceback_text.rstrip("\n"), err=True)
    click.secho(f"Error: {error.format_message()}\n", err=True, fg="red")


def load_installed_commands() -> dict[str, click.Command]:
    """Load the click commands installed packages offer, by name.

    Packages declare them as entry points in the ``microframe.commands``
    group, or Flask's ``flask.commands`` (Flask extensions), whose code
    imports ``flask``: the :mod:`~microframe.flask_compat` shim is installed
    before those are loaded. A command that fails to load is skipped with a
    one-line warning, so that one broken package does not break the others.
    """
    commands: dict[str, click.Command] = {}
    for group in COMMAND_ENTRY_POINTS:
        entry_points = metadata.entry_points(group=group)
        if group == "flask.commands" and entry_points:
            flask_compat.install()
        for entry_point in entry_points:
            try:
                command = entry_point.load()
            except Exception as error:
                _warn(f"cannot load the command {entry_point.name!r} ({entry_point.value}): "
                      f"{type(error).__name__}: {error}")
                continue
            if not isinstance(command, click.Command):
                _warn(f"{entry_point.value} ({group}) is not a click command; skipping it")
                continue
            commands[entry_point.name] = command
    return commands


def _warn(message: str) -> None:
    click.secho(f" * Warning: {message}", err=True, fg="yellow")


cli = MicroframeGroup(name="microframe")


def main() -> None:
    """Run the ``microframe`` command (the console script and ``python -m microframe``)."""
    cli.main()


__all__ = [
    "COMMAND_ENTRY_POINTS",
    "DEFAULT_APP_FILES",
    "DEFAULT_APP_NAMES",
    "DEFAULT_FACTORY_NAMES",
    "DOTENV_FILES",
    "AppGroup",
    "AppImportError",
    "CertParamType",
    "EnvOption",
    "MicroframeGroup",
    "NoAppException",
    "ScriptInfo",
    "SeparatedPathType",
    "app_file_of",
    "cli",
    "discover_app",
    "find_app_by_string",
    "find_best_app",
    "get_debug_flag",
    "get_load_dotenv",
    "get_version",
    "import_app_module",
    "load_app_from_path",
    "load_dotenv",
    "load_installed_commands",
    "load_served_app",
    "locate_app",
    "main",
    "make_shell_context",
    "pass_script_info",
    "prepare_import",
    "routes_command",
    "run_command",
    "shell_command",
    "with_appcontext",
]
