"""Let Flask extensions import ``flask`` and get microframe.

Many Flask extensions use only Flask's public API: ``from flask import
current_app, request, session``, ``app.before_request``, ``app.config``,
``app.extensions``. :func:`install` puts shim modules named ``flask``,
``flask.globals``, ``flask.json`` and so on into :data:`sys.modules`, each
serving the matching microframe names (``Flask`` is
:class:`~microframe.app.Microframe`, ``FlaskClient`` is
:class:`~microframe.testing.MicroframeClient`, ...). Call it before the
extension is imported, typically first thing in the app module::

    from microframe import flask_compat

    flask_compat.install()

    from flask_login import LoginManager  # now built on microframe
    from flask_wtf import CSRFProtect

Extension code runs in sync style: from hooks and decorated views it uses
``request.form`` and friends directly, which works in microframe's plain
``def`` views and hooks (they run on the request's worker thread). See
``docs/porting.md`` for the extensions known to work and the ones that
do not.

The shim replaces the real Flask for the whole process while installed;
:func:`uninstall` (or leaving the :func:`installed` block) puts it back.
Modules imported while the shim was installed keep the microframe names
they imported; pass their names to ``purge`` to drop them as well.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

#: ``flask`` module name -> the microframe module that serves it.
MODULES: dict[str, str] = {
    "flask": "microframe",
    "flask.app": "microframe.app",
    "flask.blueprints": "microframe.blueprints",
    "flask.cli": "microframe.cli",
    "flask.config": "microframe.config",
    "flask.ctx": "microframe.ctx",
    "flask.debughelpers": "microframe.debughelpers",
    "flask.globals": "microframe.globals",
    "flask.helpers": "microframe.helpers",
    "flask.json": "microframe.json",
    "flask.json.provider": "microframe.json.provider",
    "flask.json.tag": "microframe.json.tag",
    "flask.logging": "microframe.logging",
    "flask.sessions": "microframe.sessions",
    "flask.signals": "microframe.signals",
    "flask.templating": "microframe.templating",
    "flask.testing": "microframe.testing",
    "flask.typing": "microframe.typing",
    "flask.views": "microframe.views",
    "flask.wrappers": "microframe.wrappers",
}

#: Flask's names for microframe's classes; looked up in every shim module.
ALIASES: dict[str, str] = {
    "Flask": "Microframe",
    "FlaskClient": "MicroframeClient",
    "FlaskCliRunner": "MicroframeCliRunner",
    "FlaskGroup": "MicroframeGroup",
}

#: Where to find an alias when the module itself lacks the target name.
_ALIAS_HOMES: dict[str, str] = {
    "Microframe": "microframe.app",
    "MicroframeClient": "microframe.testing",
    "MicroframeCliRunner": "microframe.testing",
    "MicroframeGroup": "microframe.cli",
}

_saved: dict[str, types.ModuleType] | None = None


class ShimModule(types.ModuleType):
    """A ``flask...`` module whose attributes come from a microframe module.

    Attributes are looked up on first use, so everything the microframe
    module has (private names such as ``_cv_request`` included) is there.
    """

    def __init__(self, name: str, target: str) -> None:
        super().__init__(name, f"microframe's stand-in for {name}")
        self.__microframe_target__ = target
        # A package path (empty): 'import flask.xyz' for a module microframe
        # lacks fails with ModuleNotFoundError instead of importing real Flask.
        self.__path__: list[str] = []

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        target = importlib.import_module(self.__microframe_target__)
        real = ALIASES.get(name, name)
        try:
            value = getattr(target, real)
        except AttributeError:
            home = _ALIAS_HOMES.get(real)
            if home is None:
                raise AttributeError(
                    f"microframe has no equivalent of '{self.__name__}.{name}'"
                    f" (looked in {self.__microframe_target__})."
                ) from None
            value = getattr(importlib.import_module(home), real)
        setattr(self, name, value)
        return value

    def __dir__(self) -> Iterable[str]:
        target = importlib.import_module(self.__microframe_target__)
        return sorted({*dir(target), *ALIASES})


def install() -> None:
    """Make ``import flask`` (and its submodules) resolve to microframe.

    Call before importing the Flask extensions that should use microframe.
    Calling it again while installed does nothing.
    """
    global _saved
    if is_installed():
        return
    # A shim that something else took out of sys.modules is forgotten.
    _saved = {name: module for name, module in sys.modules.items() if _is_flask(name)}
    for name in _saved:
        del sys.modules[name]
    for name, target in MODULES.items():
        sys.modules[name] = ShimModule(name, target)
    for name in MODULES:
        parent, _, child = name.rpartition(".")
        if parent:
            setattr(sys.modules[parent], child, sys.modules[name])


def uninstall(purge: Iterable[str] = ()) -> None:
    """Remove the shim modules and put back any real Flask modules.

    :param purge: top-level names of modules imported under the shim, such
        as ``"flask_login"``, to remove from :data:`sys.modules` (with their
        submodules) so that a later import binds them to real Flask.
    """
    global _saved
    if _saved is None:
        return
    for name in [name for name in sys.modules if _is_flask(name)]:
        del sys.modules[name]
    sys.modules.update(_saved)
    _saved = None
    prefixes = tuple(purge)
    for name in [name for name in sys.modules if _is_under(name, prefixes)]:
        del sys.modules[name]


def is_installed() -> bool:
    """Return ``True`` while the shim is installed (and still in :data:`sys.modules`)."""
    return _saved is not None and isinstance(sys.modules.get("flask"), ShimModule)


@contextmanager
def installed(purge: Iterable[str] = ()) -> Iterator[None]:
    """Install the shim for the duration of a ``with`` block.

    ::

        with flask_compat.installed(purge=["flask_cors"]):
            from flask_cors import CORS
            CORS(app)
    """
    install()
    try:
        yield
    finally:
        uninstall(purge)


def main() -> None:
    """Run microframe's command line as ``flask``, with the shim installed.

    Flask extensions and scripts that call the ``flask`` command (Flask-Migrate's
    ``flask db upgrade``, say) get microframe's command line, which reads
    ``FLASK_APP`` and ``.flaskenv`` as well as its own names.
    """
    install()
    from .cli import main as cli_main  # after install(): the app may import flask

    cli_main()


def _is_flask(name: str) -> bool:
    return name == "flask" or name.startswith("flask.")


def _is_under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


__all__ = [
    "ALIASES",
    "MODULES",
    "ShimModule",
    "install",
    "installed",
    "is_installed",
    "main",
    "uninstall",
]
