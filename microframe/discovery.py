"""Finding the app for the command line and the server's worker processes.

Flask's rules: an ``--app`` value names a module, a ``module:name``, a
``module:factory(args)``, a file or a folder; with nothing named, ``app.py``,
``asgi.py`` or ``wsgi.py`` in the current folder is searched for an ``app``
or ``application``, a single :class:`~microframe.Microframe` instance, or a
``create_app``/``make_app`` factory. :class:`ScriptInfo` applies them to what
the command line was given, the environment (``MICROFRAME_APP`` or Flask's
``FLASK_APP``) and the dotenv files :func:`load_dotenv` reads.
:mod:`microframe.cli` re-exports these names, where Flask users look for them.
"""

from __future__ import annotations

import ast
import inspect
import os
import re
import sys
import traceback
from collections.abc import Callable
from types import ModuleType
from typing import IO, Any, Literal, TypeGuard, overload

import click

from .app import Microframe
from .config import ENV_PREFIXES, env_value
from .debugger import debugged_in_worker
from .helpers import get_debug_flag, get_load_dotenv
from .typing import ASGIApp

#: The files tried, in order, in the current folder when no app is named.
DEFAULT_APP_FILES = ("app.py", "asgi.py", "wsgi.py")
#: The module attributes tried, in order, when the app is not named.
DEFAULT_APP_NAMES = ("app", "application")
#: The factory functions tried, in order, when no app instance is found.
DEFAULT_FACTORY_NAMES = ("create_app", "make_app")


class NoAppException(click.ClickException):
    """The app could not be found; the message says what was tried."""


class AppImportError(NoAppException):
    """Importing the user's module raised; :meth:`show` prints its traceback.

    :param message: the one-line reason.
    :param traceback_text: the formatted traceback of the import.
    """

    def __init__(self, message: str, traceback_text: str) -> None:
        super().__init__(message)
        self.traceback_text = traceback_text

    def show(self, file: IO[Any] | None = None) -> None:
        """Print the traceback, then the one-line error."""
        click.echo(self.traceback_text.rstrip("\n"), file=file, err=True)
        super().show(file)


def is_app(value: object) -> TypeGuard[Microframe]:
    """Return whether ``value`` is a :class:`~microframe.Microframe` app."""

    return isinstance(value, Microframe)


def _call_factory(func: Callable[..., Any], args: list[Any], kwargs: dict[str, object], label: str) -> object:
    try:
        return func(*args, **kwargs)
    except TypeError as error:
        # A frame below this one means the factory itself raised; none means
        # the arguments did not fit its signature.
        if error.__traceback__ is not None and error.__traceback__.tb_next is not None:
            raise
        raise NoAppException(
            f"The factory {label} could not be called with these arguments ({error});"
            f" pass them as '--app module:{getattr(func, '__name__', 'factory')}(args)'."
        ) from None


def find_best_app(module: ModuleType) -> Microframe:
    """Find the app in ``module`` as Flask does.

    Tried in order: an ``app`` or ``application`` attribute, the single
    :class:`~microframe.Microframe` instance in the module, then a
    ``create_app`` or ``make_app`` factory called without arguments.

    :raises NoAppException: none of these gives an app.
    """
    for name in DEFAULT_APP_NAMES:
        value = getattr(module, name, None)
        if is_app(value):
            return value
    apps = {name: value for name, value in vars(module).items() if is_app(value)}
    if len(apps) == 1:
        return next(iter(apps.values()))
    if len(apps) > 1:
        names = ", ".join(sorted(apps))
        raise NoAppException(
            f"Found several apps in module {module.__name__!r} ({names}); name one with"
            f" '--app {module.__name__}:name'."
        )
    for name in DEFAULT_FACTORY_NAMES:
        factory = getattr(module, name, None)
        if inspect.isfunction(factory):
            app = _call_factory(factory, [], {}, f"'{module.__name__}:{name}'")
            if is_app(app):
                return app
            raise NoAppException(
                f"The factory '{module.__name__}:{name}' returned {app!r}, not a Microframe app."
            )
    raise NoAppException(
        f"No Microframe app found in module {module.__name__!r}: looked for the names"
        f" {', '.join(DEFAULT_APP_NAMES)}, a single Microframe instance, and the factories"
        f" {', '.join(DEFAULT_FACTORY_NAMES)}. Name it with '--app {module.__name__}:name'."
    )


def find_app_by_string(module: ModuleType, expression: str) -> Microframe:
    """Return the app named by ``expression`` in ``module``.

    ``expression`` is an attribute name (``app``) or a factory call with
    literal arguments (``create_app("dev", debug=True)``); arguments are
    parsed with :func:`ast.literal_eval`, never evaluated as code.

    :raises NoAppException: the expression is invalid or gives no app.
    """
    label = f"'{module.__name__}:{expression}'"
    try:
        node = ast.parse(expression.strip(), mode="eval").body
    except SyntaxError:
        raise NoAppException(f"Cannot parse {expression!r} as a name or a function call.") from None
    args: list[object] = []
    kwargs: dict[str, object] = {}
    if isinstance(node, ast.Name):
        name, is_call = node.id, False
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        name, is_call = node.func.id, True
        try:
            args = [ast.literal_eval(arg) for arg in node.args]
            for keyword in node.keywords:
                if keyword.arg is None:
                    raise ValueError("**kwargs")
                kwargs[keyword.arg] = ast.literal_eval(keyword.value)
        except ValueError:
            raise NoAppException(
                f"The arguments in {expression!r} must be Python literals (strings, numbers, ...)."
            ) from None
    else:
        raise NoAppException(f"Cannot parse {expression!r} as a name or a function call.")
    try:
        value = getattr(module, name)
    except AttributeError:
        raise NoAppException(f"Module {module.__name__!r} has no attribute {name!r}.") from None
    if inspect.isfunction(value) or is_call:
        if not callable(value):
            raise NoAppException(f"{label} calls {name!r}, which is not callable.")
        value = _call_factory(value, args, kwargs, label)
    if not is_app(value):
        raise NoAppException(f"{label} gave {value!r}, not a Microframe app.")
    return value


def prepare_import(path: str) -> str:
    """Make the Python file or package at ``path`` importable; return its module name.

    The folder above the topmost package (a folder with ``__init__.py``) is
    put first on :data:`sys.path`, so ``src/pkg/app.py`` is ``pkg.app``.
    """
    path = os.path.realpath(path)
    base, ext = os.path.splitext(path)
    if ext == ".py":
        path = base
    if os.path.basename(path) == "__init__":
        path = os.path.dirname(path)
    parts: list[str] = []
    while True:
        path, name = os.path.split(path)
        parts.append(name)
        if not os.path.exists(os.path.join(path, "__init__.py")):
            break
    if sys.path[:1] != [path]:
        sys.path.insert(0, path)
    return ".".join(reversed(parts))


def import_app_module(module_name: str) -> ModuleType | None:
    """Import ``module_name``; return ``None`` if the module itself does not exist.

    :raises AppImportError: the module exists but importing it raised, for
        example an :exc:`ImportError` of its own; the real traceback is kept.
    """
    try:
        __import__(module_name)
    except ModuleNotFoundError as error:
        missing = error.name or ""
        if module_name == missing or module_name.startswith(missing + "."):
            return None
        raise _import_failure(module_name, error) from None
    except Exception as error:
        raise _import_failure(module_name, error) from None
    return sys.modules[module_name]


def _import_failure(module_name: str, error: BaseException) -> AppImportError:
    text = "".join(traceback.format_exception(error))
    return AppImportError(
        f"While importing {module_name!r}, {type(error).__name__} was raised: {error}"
        " (see the traceback above).",
        text,
    )


@overload
def locate_app(
    module_name: str, app_name: str | None, raise_if_not_found: Literal[True] = True
) -> Microframe: ...


@overload
def locate_app(
    module_name: str, app_name: str | None, raise_if_not_found: bool
) -> Microframe | None: ...


def locate_app(
    module_name: str, app_name: str | None, raise_if_not_found: bool = True
) -> Microframe | None:
    """Import ``module_name`` and find the app in it, by name or Flask's search.

    :param raise_if_not_found: when ``False``, return ``None`` if the module
        itself does not exist (an import error inside it still raises).
    :raises NoAppException: the module does not exist or holds no app.
    """
    module = import_app_module(module_name)
    if module is None:
        if not raise_if_not_found:
            return None
        raise NoAppException(
            f"Could not import {module_name!r}: no such module or file in {os.getcwd()}."
        )
    if app_name is None:
        return find_best_app(module)
    return find_app_by_string(module, app_name)


def _looks_like_path(value: str) -> bool:
    return value.endswith(".py") or "/" in value or os.sep in value or os.path.isdir(value)


def load_app_from_path(import_path: str) -> Microframe:
    """Load the app named by ``import_path``, in the ``--app`` syntax.

    ``module``, ``module:name``, ``module:factory(args)``, ``path/to/file.py``
    (with an optional ``:name``), a package folder, or a plain folder holding
    an ``app.py``, ``asgi.py`` or ``wsgi.py``.

    :raises NoAppException: the app cannot be found.
    """
    target, name = _split_import_path(import_path)
    if _looks_like_path(target):
        if os.path.isdir(target) and not os.path.exists(os.path.join(target, "__init__.py")):
            if name is not None:
                raise NoAppException(
                    f"{target!r} is a folder, not a module; name a file in it, as"
                    f" '--app {os.path.join(target, 'app.py')}:{name}'."
                )
            return discover_app(target)
        if not os.path.exists(target):
            raise NoAppException(f"Could not import {target!r}: no such file or folder.")
        module_name = prepare_import(target)
    else:
        module_name = target
        _ensure_cwd_importable()
    return locate_app(module_name, name)


def _split_import_path(import_path: str) -> tuple[str, str | None]:
    # A colon followed by a slash is a Windows drive, not a name separator.
    parts = re.split(r":(?![\\/])", import_path, maxsplit=1)
    if len(parts) == 1 or not parts[1].strip():
        return parts[0], None
    return parts[0], parts[1]


def _ensure_cwd_importable() -> None:
    # Console scripts start with their own bin folder on sys.path, not the
    # current folder, where the user's module usually is.
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)


def discover_app(folder: str = ".") -> Microframe:
    """Find the app in ``folder`` when none is named.

    Tries ``app.py``, ``asgi.py`` and ``wsgi.py`` in turn, each searched as
    :func:`find_best_app` does.

    :raises NoAppException: listing every place tried.
    """
    tried: list[str] = []
    for filename in DEFAULT_APP_FILES:
        path = os.path.join(folder, filename)
        if not os.path.isfile(path):
            tried.append(f"{filename} (no such file)")
            continue
        module_name = prepare_import(path)
        try:
            return locate_app(module_name, None)
        except AppImportError:
            raise
        except NoAppException as error:
            tried.append(f"{filename} ({error.format_message().partition(':')[0].lower()})")
    where = os.path.abspath(folder)
    raise NoAppException(
        f"Could not find a Microframe app in {where}; tried {', '.join(tried)}."
        " Name it with '--app module:name' or the MICROFRAME_APP (or Flask's FLASK_APP)"
        " environment variable."
    )


def app_file_of(app: Microframe) -> str | None:
    """Return the file of the module ``app`` was created in, if known."""
    module = sys.modules.get(app.import_name)
    return getattr(module, "__file__", None)


# -- the command line's view of the app ----------------------------------------------


#: The environment variable naming the app for worker processes spawned by
#: :func:`~microframe.serving.run_simple`.
SERVED_APP_ENV = "MICROFRAME_SERVED_APP"


def load_served_app() -> ASGIApp:
    """Load the app for a worker process spawned by :func:`~microframe.serving.run_simple`.

    The parent process names the app in :data:`SERVED_APP_ENV`; Hypercorn
    calls this in each new worker. The app is wrapped in the interactive
    debugger when the parent serves it with one.
    """

    return debugged_in_worker(ScriptInfo(app_import_path=os.environ[SERVED_APP_ENV]).load_app())


class ScriptInfo:
    """What the command line knows about the app it serves.

    :param app_import_path: where the app is, in the ``--app`` syntax; the
        ``MICROFRAME_APP`` (or ``FLASK_APP``) environment variable, then the
        current folder, are used when it is not given.
    :param create_app: a function returning the app, used before anything else.
    :param set_debug_flag: set ``app.debug`` from ``MICROFRAME_DEBUG`` (or
        ``FLASK_DEBUG``), off when neither is set.
    :param load_dotenv_defaults: load ``.env``, ``.microframeenv`` and
        ``.flaskenv``, unless ``MICROFRAME_SKIP_DOTENV`` says otherwise.
    """

    def __init__(
        self,
        app_import_path: str | None = None,
        create_app: Callable[..., object] | None = None,
        set_debug_flag: bool = True,
        load_dotenv_defaults: bool = True,
    ) -> None:
        self.app_import_path = app_import_path
        self.create_app = create_app
        self.set_debug_flag = set_debug_flag
        #: Whether the default dotenv files are loaded (the command line's
        #: ``--env-file`` handling reads it; nothing is loaded here).
        self.load_dotenv_defaults = get_load_dotenv(load_dotenv_defaults)
        #: Arbitrary data commands may share.
        self.data: dict[Any, Any] = {}
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
        import_path = self.app_import_path or env_value("APP")
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
        if self.set_debug_flag:
            # Through the property, as Flask does, so that what depends on
            # DEBUG follows it.
            app.debug = get_debug_flag()
        self._loaded_app = app
        return app


pass_script_info = click.make_pass_decorator(ScriptInfo, ensure=True)


#: The default dotenv files, weakest first.
DOTENV_FILES = (".flaskenv", ".microframeenv", ".env")


def load_dotenv(path: str | os.PathLike[str] | None = None, load_defaults: bool = True) -> bool:
    """Load environment variables from the dotenv files and ``path``.

    The files are ``.flaskenv``, ``.microframeenv`` and ``.env``, each the
    nearest one in the current folder or above it. Later sources win over
    earlier ones (``path`` over ``.env`` over ``.microframeenv`` over
    ``.flaskenv``), and none overrides a variable already set in the
    environment. Without python-dotenv, a hint is printed if such files exist.

    :param path: a file to load, winning over the default files.
    :param load_defaults: load the default files too.
    :return: whether any variable was found in the files.
    """
    try:
        import dotenv
    except ImportError:
        if path is not None or any(os.path.isfile(name) for name in DOTENV_FILES):
            click.secho(
                " * Tip: there are .env files present but python-dotenv is not installed;"
                " 'pip install python-dotenv' to use them.",
                fg="yellow",
                err=True,
            )
        return False
    values: dict[str, str | None] = {}
    if load_defaults:
        for name in DOTENV_FILES:
            found = dotenv.find_dotenv(name, usecwd=True)
            if found:
                values.update(dotenv.dotenv_values(found, encoding="utf-8"))
    if path is not None and os.path.isfile(path):
        values.update(dotenv.dotenv_values(path, encoding="utf-8"))
    for key, value in values.items():
        if value is not None and key not in os.environ:
            os.environ[key] = value
    return bool(values)


class EnvOption(click.Option):
    """An option whose automatic environment variable has Flask's name as a fallback.

    Under the ``microframe`` group, ``run --port`` reads ``MICROFRAME_RUN_PORT``,
    then ``FLASK_RUN_PORT``; ``--env-file`` reads ``MICROFRAME_ENV_FILE``,
    then ``FLASK_ENV_FILE``. Use it as ``@click.option(..., cls=EnvOption)``.
    """

    def resolve_envvar_value(self, ctx: click.Context) -> str | None:
        """Return the value from the environment, microframe's name first."""
        value = super().resolve_envvar_value(ctx)
        prefix = ctx.auto_envvar_prefix
        if value is not None or not self.allow_from_autoenv or not prefix or not self.name:
            return value
        head, _, rest = prefix.partition("_")
        if head != ENV_PREFIXES[0]:
            return None
        return env_value(f"{rest}_{self.name.upper()}" if rest else self.name.upper())


__all__ = [
    "DOTENV_FILES",
    "AppImportError",
    "DEFAULT_APP_FILES",
    "DEFAULT_APP_NAMES",
    "DEFAULT_FACTORY_NAMES",
    "EnvOption",
    "SERVED_APP_ENV",
    "NoAppException",
    "ScriptInfo",
    "app_file_of",
    "discover_app",
    "find_app_by_string",
    "find_best_app",
    "import_app_module",
    "is_app",
    "load_app_from_path",
    "load_dotenv",
    "load_served_app",
    "locate_app",
    "pass_script_info",
    "prepare_import",
]
