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

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from .compat_shim import Shim, ShimModule

#: The Flask release whose API the shim serves (``flask.__version__``).
FLASK_VERSION = "3.1.3"

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
    # Flask 3's base classes, shared with a future non-WSGI Flask; extensions
    # (Flask-SQLAlchemy-Lite, Flask-Admin) type against them.
    "flask.sansio": "microframe",
    "flask.sansio.app": "microframe.app",
    "flask.sansio.blueprints": "microframe.blueprints",
    "flask.sansio.scaffold": "microframe.scaffold",
}

#: Flask's names for microframe's classes; looked up in every shim module.
ALIASES: dict[str, str] = {
    "Flask": "Microframe",
    "FlaskClient": "MicroframeClient",
    "FlaskCliRunner": "MicroframeCliRunner",
    "FlaskGroup": "MicroframeGroup",
    # flask.sansio.app.App, the base of Flask: here the app class itself.
    "App": "Microframe",
}

#: Where to find an alias when the module itself lacks the target name.
_ALIAS_HOMES: dict[str, str] = {
    "Microframe": "microframe.app",
    "MicroframeClient": "microframe.testing",
    "MicroframeCliRunner": "microframe.testing",
    "MicroframeGroup": "microframe.cli",
}

_SHIM = Shim(
    "flask",
    MODULES,
    ALIASES,
    _ALIAS_HOMES,
    FLASK_VERSION,
    # Extensions compare it to pick code paths; Flask 3.1 warns too.
    version_warning=(
        "The '__version__' attribute is deprecated and will be removed in"
        " Flask 3.2. Use feature detection or"
        " 'importlib.metadata.version(\"flask\")' instead."
    ),
)


def install() -> None:
    """Make ``import flask`` (and its submodules) resolve to microframe.

    Call before importing the Flask extensions that should use microframe.
    Calling it again while installed does nothing.
    """
    _SHIM.install()


def uninstall(purge: Iterable[str] = ()) -> None:
    """Remove the shim modules and put back any real Flask modules.

    :param purge: top-level names of modules imported under the shim, such
        as ``"flask_login"``, to remove from :data:`sys.modules` (with their
        submodules) so that a later import binds them to real Flask.
    """
    _SHIM.uninstall(purge)


def is_installed() -> bool:
    """Return ``True`` while the shim is installed (and still in :data:`sys.modules`)."""
    return _SHIM.is_installed()


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


__all__ = [
    "ALIASES",
    "FLASK_VERSION",
    "MODULES",
    "ShimModule",
    "install",
    "installed",
    "is_installed",
    "main",
    "uninstall",
]
