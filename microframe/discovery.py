"""Finding the app for the command line and the server's worker processes.

Flask's rules: an ``--app`` value names a module, a ``module:name``, a
``module:factory(args)``, a file or a folder; with nothing named, ``app.py``,
``asgi.py`` or ``wsgi.py`` in the current folder is searched for an ``app``
or ``application``, a single :class:`~microframe.Microframe` instance, or a
``create_app``/``make_app`` factory. :mod:`microframe.cli` re-exports these
names, where Flask users look for them.
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
from typing import IO, TYPE_CHECKING, Any, TypeGuard

import click

if TYPE_CHECKING:
    from .app import Microframe

#: The files tried, in order, in the current folder when no app is named.
DEFAULT_APP_FILES = ("app.py", "asgi.py", "wsgi.py")
#: The module attributes tried, in order, when the app is not named.
DEFAULT_APP_NAMES = ("app", "application")
#: The factory functions tried, in order, when no app instance is found.
DEFAULT_FACTORY_NAMES = ("create_app", "make_app")

_TRUE_VALUES = {"1", "true", "yes", "on"}


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


def env_flag(name: str) -> bool:
    """Return whether the environment variable ``name`` is ``1``, ``true``, ``yes`` or ``on``."""
    return os.environ.get(name, "").strip().lower() in _TRUE_VALUES


def get_debug_flag() -> bool:
    """Return whether ``MICROFRAME_DEBUG`` asks for debug mode."""
    return env_flag("MICROFRAME_DEBUG")


def is_app(value: object) -> TypeGuard[Microframe]:
    """Return whether ``value`` is a :class:`~microframe.Microframe` app."""
    from .app import Microframe

    return isinstance(value, Microframe)


def _call_factory(func: Callable[..., Any], args: list[Any], kwargs: dict[str, Any], label: str) -> Any:
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
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
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


def locate_app(module_name: str, app_name: str | None) -> Microframe:
    """Import ``module_name`` and find the app in it, by name or Flask's search.

    :raises NoAppException: the module does not exist or holds no app.
    """
    module = import_app_module(module_name)
    if module is None:
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
        " Name it with '--app module:name' or the MICROFRAME_APP environment variable."
    )


def app_file_of(app: Microframe) -> str | None:
    """Return the file of the module ``app`` was created in, if known."""
    module = sys.modules.get(app.import_name)
    return getattr(module, "__file__", None)


__all__ = [
    "AppImportError",
    "DEFAULT_APP_FILES",
    "DEFAULT_APP_NAMES",
    "DEFAULT_FACTORY_NAMES",
    "NoAppException",
    "app_file_of",
    "discover_app",
    "env_flag",
    "find_app_by_string",
    "find_best_app",
    "get_debug_flag",
    "import_app_module",
    "is_app",
    "load_app_from_path",
    "locate_app",
    "prepare_import",
]
