"""The ``microframe`` command line: the groups, decorators and built-in commands.

``microframe --app hello run`` finds the app (see :class:`ScriptInfo` and
:mod:`microframe.discovery`), then runs a command with it: ``run``,
``routes``, ``shell``, or a command the app or its blueprints registered on
``app.cli``::

    @app.cli.command()
    @click.argument("name")
    async def greet(name):
        click.echo(f"Hello {name}, from {current_app.name}")
"""

from __future__ import annotations

import importlib
import inspect
import os
import platform
import sys
from collections.abc import Callable, Iterator
from functools import update_wrapper
from importlib import metadata
from typing import TYPE_CHECKING, Any, TypeVar

import click

from .ctx import has_app_context
from .discovery import (
    DEFAULT_APP_FILES,
    DEFAULT_APP_NAMES,
    DEFAULT_FACTORY_NAMES,
    AppImportError,
    NoAppException,
    app_file_of,
    discover_app,
    env_flag,
    find_app_by_string,
    find_best_app,
    get_debug_flag,
    import_app_module,
    is_app,
    load_app_from_path,
    locate_app,
    prepare_import,
)
from .globals import current_app, g
from .sync import run_async

if TYPE_CHECKING:
    from .app import Microframe

F = TypeVar("F", bound=Callable[..., Any])

def load_served_app() -> Microframe:
    """Load the app for a worker process spawned by :func:`~microframe.serving.run_simple`.

    The parent process names the app in the environment; Hypercorn calls this
    in each new worker.
    """
    from .serving import SERVED_APP_ENV

    return ScriptInfo(app_import_path=os.environ[SERVED_APP_ENV]).load_app()


class ScriptInfo:
    """What the command line knows about the app it serves.

    :param app_import_path: where the app is, in the ``--app`` syntax; the
        ``MICROFRAME_APP`` environment variable, then the current folder, are
        used when it is not given.
    :param create_app: a function returning the app, used before anything else.
    :param set_debug_flag: set ``app.debug`` from ``MICROFRAME_DEBUG`` when
        that variable is set.
    :param load_dotenv_defaults: load ``.env`` and ``.microframeenv``.
    """

    def __init__(
        self,
        app_import_path: str | None = None,
        create_app: Callable[..., Any] | None = None,
        set_debug_flag: bool = True,
        load_dotenv_defaults: bool = True,
    ) -> None:
        self.app_import_path = app_import_path
        self.create_app = create_app
        self.set_debug_flag = set_debug_flag
        self.load_dotenv_defaults = load_dotenv_defaults
        #: Arbitrary data commands may share.
        self.data: dict[str, Any] = {}
        #: Where the loaded app was found, in the ``--app`` syntax, so a new
        #: process (a reloaded worker) can load it again.
        self.app_locator: str | None = None
        self._loaded_app: Microframe | None = None

    def load_app(self) -> Microframe:
        """Return the app, finding or creating it on the first call.

        :raises NoAppException: the app cannot be found.
        """
        if self._loaded_app is not None:
            return self._loaded_app
        import_path = self.app_import_path or os.environ.get("MICROFRAME_APP") or None
        if self.create_app is not None:
            app = self.create_app()
            if not is_app(app):
                raise NoAppException(f"create_app returned {app!r}, not a Microframe app.")
        elif import_path is not None:
            app = load_app_from_path(import_path)
            self.app_locator = import_path
        else:
            app = discover_app(".")
            self.app_locator = os.path.abspath(app_file_of(app) or "app.py")
        if self.set_debug_flag and os.environ.get("MICROFRAME_DEBUG"):
            app.debug = get_debug_flag()
        self._loaded_app = app
        return app


pass_script_info = click.make_pass_decorator(ScriptInfo, ensure=True)


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
    def wrapper(ctx: click.Context, /, *args: Any, **kwargs: Any) -> Any:
        if not has_app_context():
            app = ctx.ensure_object(ScriptInfo).load_app()
            ctx.with_resource(app.app_context())
        return ctx.invoke(f, *args, **kwargs)

    return update_wrapper(wrapper, f)  # type: ignore[return-value]


def _sync_command(f: F) -> F:
    """Let ``f`` be an ``async def``: await what it returns, on a fresh loop."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        value = f(*args, **kwargs)
        if inspect.isawaitable(value):
            value = run_async(value)
        return value

    return update_wrapper(wrapper, f)  # type: ignore[return-value]


class AppGroup(click.Group):
    """A click group whose commands may be ``async`` and run in the app context.

    ``@group.command(with_appcontext=False)`` opts a command out of the app
    context; :meth:`group` makes nested :class:`AppGroup` groups.
    """

    def command(self, *args: Any, **kwargs: Any) -> Any:
        """Register a command, as :meth:`click.Group.command` does.

        :param with_appcontext: push the app context around the command
            (``True`` by default).
        """
        if len(args) == 1 and not kwargs and callable(args[0]):
            return self.command()(args[0])
        wrap = kwargs.pop("with_appcontext", True)

        def decorator(f: Callable[..., Any]) -> click.Command:
            f = _sync_command(f)
            if wrap:
                f = with_appcontext(f)
            command: click.Command = click.Group.command(self, *args, **kwargs)(f)
            return command

        return decorator

    def group(self, *args: Any, **kwargs: Any) -> Any:
        """Register a nested group, an :class:`AppGroup` unless ``cls`` says otherwise."""
        if len(args) == 1 and not kwargs and callable(args[0]):
            return self.group()(args[0])
        kwargs.setdefault("cls", AppGroup)
        return click.Group.group(self, *args, **kwargs)


# -- dotenv ------------------------------------------------------------------------


def load_dotenv(path: str | os.PathLike[str] | None = None, load_defaults: bool = True) -> bool:
    """Load environment variables from ``.microframeenv``, ``.env`` and ``path``.

    Later sources win over earlier ones (``path`` over ``.env`` over
    ``.microframeenv``), and none overrides a variable already set in the
    environment. Without python-dotenv, a hint is printed if such files exist.

    :return: whether any file was loaded.
    """
    try:
        import dotenv
    except ImportError:
        if path is not None or any(os.path.isfile(n) for n in (".env", ".microframeenv")):
            click.secho(
                " * Tip: .env or .microframeenv files are present but python-dotenv is not"
                " installed; 'pip install python-dotenv' to use them.",
                fg="yellow",
                err=True,
            )
        return False
    values: dict[str, str | None] = {}
    loaded = False
    if load_defaults:
        for name in (".microframeenv", ".env"):
            found = dotenv.find_dotenv(name, usecwd=True)
            if found:
                values.update(dotenv.dotenv_values(found, encoding="utf-8"))
                loaded = True
    if path is not None and os.path.isfile(path):
        values.update(dotenv.dotenv_values(path, encoding="utf-8"))
        loaded = True
    for key, value in values.items():
        if value is not None and key not in os.environ:
            os.environ[key] = value
    return loaded


def _skip_dotenv() -> bool:
    return env_flag("MICROFRAME_SKIP_DOTENV")


# -- the built-in commands ------------------------------------------------------------


@click.command("run", short_help="Serve the app with Hypercorn (for development).")
@click.option("--host", "-h", default="127.0.0.1", show_default=True, help="The interface to bind.")
@click.option("--port", "-p", default=5000, show_default=True, type=int, help="The port to bind.")
@click.option(
    "--reload/--no-reload",
    default=None,
    help="Restart when the code changes; on by default in debug mode.",
)
@click.option("--debug/--no-debug", default=None, help="Set debug mode (MICROFRAME_DEBUG).")
@click.option(
    "--certfile", type=click.Path(exists=True, dir_okay=False), help="A TLS certificate, to serve HTTPS."
)
@click.option("--keyfile", type=click.Path(exists=True, dir_okay=False), help="The TLS key file.")
@click.option("--workers", "-w", default=1, show_default=True, type=click.IntRange(min=1))
@click.option("--uvloop/--no-uvloop", default=False, help="Run the event loop on uvloop.")
@pass_script_info
def run_command(
    info: ScriptInfo,
    host: str,
    port: int,
    reload: bool | None,
    debug: bool | None,
    certfile: str | None,
    keyfile: str | None,
    workers: int,
    uvloop: bool,
) -> None:
    """Serve the app with Hypercorn, the development way.

    Ctrl-C or SIGTERM stops it gracefully. For production, run Hypercorn
    (or another ASGI server) on the app directly.
    """
    from .serving import ServingError, run_simple

    if debug is not None:
        os.environ["MICROFRAME_DEBUG"] = "1" if debug else "0"
    use_reloader = get_debug_flag() if reload is None else reload
    app = info.load_app()
    try:
        run_simple(
            app,
            host,
            port,
            use_reloader=use_reloader,
            certfile=certfile,
            keyfile=keyfile,
            workers=workers,
            use_uvloop=uvloop,
            app_import_path=info.app_locator,
        )
    except ServingError as error:
        raise click.ClickException(str(error)) from None


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
    app: Any = current_app
    rules = list(app.url_map.iter_rules())
    if not rules:
        click.echo("No routes were registered.")
        return
    hidden = set() if all_methods else {"HEAD", "OPTIONS"}

    def methods_of(rule: Any) -> str:
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
    keys: dict[str, Callable[[list[str]], Any]] = {
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
    processors return. IPython is used when it is installed.
    """
    app: Any = current_app._get_current_object()  # type: ignore[attr-defined]
    namespace: dict[str, Any] = {"app": app, "g": g}
    startup = os.environ.get("PYTHONSTARTUP")
    if startup and os.path.isfile(startup):
        with open(startup) as file:
            exec(compile(file.read(), startup, "exec"), namespace)
    namespace.update(make_shell_context(app))
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
    import code

    if sys.stdin.isatty():
        _enable_completion(namespace)
    code.interact(banner=banner, local=namespace, exitmsg="")


def make_shell_context(app: Microframe) -> dict[str, Any]:
    """Return the names the app's shell context processors give (awaiting async ones)."""
    names: dict[str, Any] = {}
    for processor in app.shell_context_processors:
        value: Any = processor()
        if inspect.isawaitable(value):
            value = run_async(value)
        names.update(value or {})
    return names


def _enable_completion(namespace: dict[str, Any]) -> None:
    try:
        import readline
        import rlcompleter
    except ImportError:
        return
    readline.set_completer(rlcompleter.Completer(namespace).complete)
    readline.parse_and_bind("tab: complete")


# -- the microframe command --------------------------------------------------------


def _version_callback(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "(not installed)"

    click.echo(
        f"microframe {version('microframe')}\n"
        f"Python {platform.python_version()}\n"
        f"Werkzeug {version('werkzeug')}\n"
        f"Hypercorn {version('hypercorn')}"
    )
    ctx.exit()


def _app_callback(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        ctx.ensure_object(ScriptInfo).app_import_path = value
    return value


def _debug_callback(ctx: click.Context, param: click.Parameter, value: bool | None) -> bool | None:
    # The environment carries the flag to the app, to `run`, and to reloaded
    # worker processes alike.
    if value is not None:
        os.environ["MICROFRAME_DEBUG"] = "1" if value else "0"
    return value


def _env_file_callback(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    info = ctx.ensure_object(ScriptInfo)
    load_defaults = info.load_dotenv_defaults and getattr(ctx.command, "load_dotenv", True)
    if value is not None:
        try:
            import dotenv  # noqa: F401
        except ImportError:
            raise click.BadParameter(
                "python-dotenv must be installed to load an env file: 'pip install python-dotenv'.",
                ctx=ctx,
                param=param,
            ) from None
    if not _skip_dotenv():
        load_dotenv(value, load_defaults=load_defaults)
    elif value is not None:
        load_dotenv(value, load_defaults=False)
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
  MICROFRAME_SKIP_DOTENV  1 to skip loading .env and .microframeenv
  MICROFRAME_RUN_*        defaults of the run command's options

Variables in .env and .microframeenv are loaded when python-dotenv is installed.
"""


class MicroframeGroup(AppGroup):
    """The ``microframe`` command: the built-in commands plus the app's own.

    Use it for a project's own command line around an app factory::

        cli = MicroframeGroup(create_app=create_app)

    :param add_default_commands: add ``run``, ``routes`` and ``shell``.
    :param create_app: a function returning the app, instead of finding it.
    :param add_version_option: add ``--version``.
    :param load_dotenv: load ``.env`` and ``.microframeenv``.
    :param set_debug_flag: set ``app.debug`` from ``MICROFRAME_DEBUG``.
    """

    def __init__(
        self,
        add_default_commands: bool = True,
        create_app: Callable[..., Any] | None = None,
        add_version_option: bool = True,
        load_dotenv: bool = True,
        set_debug_flag: bool = True,
        **extra: Any,
    ) -> None:
        params: list[click.Parameter] = list(extra.pop("params", None) or ())
        params += [
            click.Option(
                ["-e", "--env-file"],
                type=click.Path(exists=True, dir_okay=False),
                is_eager=True,
                expose_value=False,
                callback=_env_file_callback,
                help="Load environment variables from this file (needs python-dotenv).",
            ),
            click.Option(
                ["-A", "--app"],
                metavar="IMPORT",
                is_eager=True,
                expose_value=False,
                callback=_app_callback,
                allow_from_autoenv=False,
                help="The app to load: 'module:name', a factory call, a file or a folder.",
            ),
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
                    callback=_version_callback,
                    allow_from_autoenv=False,
                    help="Show the microframe, Python, Werkzeug and Hypercorn versions.",
                )
            )
        extra.setdefault("help", _HELP)
        super().__init__(params=params, **extra)
        self.create_app = create_app
        self.load_dotenv = load_dotenv
        self.set_debug_flag = set_debug_flag
        self._builtins: dict[str, click.Command] = {}
        if add_default_commands:
            for command in (run_command, routes_command, shell_command):
                self._builtins[command.name or ""] = command

    def _load_app(self, ctx: click.Context) -> Microframe:
        return ctx.ensure_object(ScriptInfo).load_app()

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Return a command: one added to the group, a built-in, or the app's."""
        command = super().get_command(ctx, cmd_name) or self._builtins.get(cmd_name)
        if command is not None:
            return command
        app = self._load_app(ctx)
        command = app.cli.get_command(ctx, cmd_name)
        if command is not None:
            # The app's commands run in its app context, even plain click
            # commands added with app.cli.add_command().
            from .globals import _cv_app

            current = _cv_app.get(None)
            if current is None or current.app is not app:
                ctx.with_resource(app.app_context())
        return command

    def list_commands(self, ctx: click.Context) -> list[str]:
        """List every command; the app's are left out if it cannot be loaded."""
        names = set(super().list_commands(ctx)) | set(self._builtins)
        try:
            names.update(self._load_app(ctx).cli.list_commands(ctx))
        except AppImportError as error:
            error.show()
        except NoAppException as error:
            if ctx.ensure_object(ScriptInfo).app_import_path or os.environ.get("MICROFRAME_APP"):
                error.show()
        return sorted(names)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        """Make the context, with a :class:`ScriptInfo` as its ``obj``."""
        if "obj" not in extra and "obj" not in self.context_settings:
            extra["obj"] = ScriptInfo(
                create_app=self.create_app,
                set_debug_flag=self.set_debug_flag,
                load_dotenv_defaults=self.load_dotenv,
            )
        return super().make_context(info_name, args, parent=parent, **extra)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Parse ``args``; ``microframe`` alone shows the help."""
        if not args and self.no_args_is_help:
            # The eager options never run without arguments; run the env
            # file callback so `microframe` with no arguments lists the
            # commands of an app named in .env.
            _env_file_callback(ctx, self.params[0], None)
        return super().parse_args(ctx, args)


cli = MicroframeGroup(
    name="microframe",
    context_settings={"auto_envvar_prefix": "MICROFRAME"},
)


def main() -> None:
    """Run the ``microframe`` command (the console script and ``python -m microframe``)."""
    # `app.run()` in a module loaded by the command must not start a second server.
    os.environ["MICROFRAME_RUN_FROM_CLI"] = "true"
    cli.main()


__all__ = [
    "DEFAULT_APP_FILES",
    "DEFAULT_APP_NAMES",
    "DEFAULT_FACTORY_NAMES",
    "AppGroup",
    "AppImportError",
    "MicroframeGroup",
    "NoAppException",
    "ScriptInfo",
    "app_file_of",
    "cli",
    "discover_app",
    "find_app_by_string",
    "find_best_app",
    "get_debug_flag",
    "import_app_module",
    "load_app_from_path",
    "load_dotenv",
    "locate_app",
    "main",
    "pass_script_info",
    "prepare_import",
    "with_appcontext",
]
