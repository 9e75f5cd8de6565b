"""Let Quart extensions import ``quart`` and get microframe.

Quart extensions (Quart-Schema, Quart-Auth, Quart-CORS, Quart-Rate-Limiter,
...) use Quart's public API: ``from quart import Quart, request``,
``from quart.typing import ResponseReturnValue``,
``from quart.datastructures import FileStorage``. :func:`install` puts
stand-in modules named ``quart``, ``quart.typing`` and so on into
:data:`sys.modules`, each serving the matching microframe names (``Quart``
is :class:`~microframe.app.Microframe`, ``QuartClient`` is
:class:`~microframe.testing.MicroframeClient`, ...). Call it before the
extension is imported, typically first thing in the app module::

    from microframe import quart_compat

    quart_compat.install()

    from quart_cors import cors  # now built on microframe

The shim replaces a real Quart for the whole process while installed;
:func:`uninstall` (or leaving the :func:`installed` block) puts it back.
Modules imported while the shim was installed keep the microframe names
they imported; pass their names to ``purge`` to drop them as well.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from .compat_shim import Shim

if TYPE_CHECKING:
    from .testing import MicroframeClient

#: The Quart release whose API the shim serves (``quart.__version__``).
QUART_VERSION = "0.22.0"

#: ``quart`` module name -> the microframe module that serves it.
MODULES: dict[str, str] = {
    "quart": "microframe",
    "quart.app": "microframe.app",
    "quart.asgi": "microframe.asgi",
    "quart.blueprints": "microframe.blueprints",
    "quart.cli": "microframe.cli",
    "quart.config": "microframe.config",
    "quart.ctx": "microframe.ctx",
    "quart.datastructures": "microframe.datastructures",
    "quart.formparser": "microframe.formparser",
    "quart.globals": "microframe.globals",
    "quart.helpers": "microframe.helpers",
    "quart.json": "microframe.json",
    "quart.json.provider": "microframe.json.provider",
    "quart.json.tag": "microframe.json.tag",
    "quart.logging": "microframe.logging",
    "quart.routing": "microframe.routing",
    "quart.sessions": "microframe.sessions",
    "quart.signals": "microframe.signals",
    "quart.templating": "microframe.templating",
    "quart.testing": "microframe.testing",
    "quart.testing.app": "microframe.testing.app",
    "quart.testing.client": "microframe.testing.client",
    "quart.testing.connections": "microframe.testing.websocket",
    "quart.testing.utils": "microframe.testing.utils",
    "quart.typing": "microframe.typing",
    "quart.utils": "microframe.blocking",
    "quart.views": "microframe.views",
    "quart.wrappers": "microframe.wrappers",
    "quart.wrappers.base": "microframe.wrappers.base",
    "quart.wrappers.request": "microframe.wrappers.request",
    "quart.wrappers.response": "microframe.wrappers.response",
    "quart.wrappers.websocket": "microframe.wrappers.websocket",
}

#: Quart's names for microframe's classes; looked up in every shim module.
ALIASES: dict[str, str] = {
    "Quart": "Microframe",
    "QuartClient": "MicroframeClient",
    "QuartCliRunner": "MicroframeCliRunner",
    "QuartGroup": "MicroframeGroup",
}

#: Where to find an alias when the module itself lacks the target name.
_ALIAS_HOMES: dict[str, str] = {
    "Microframe": "microframe.app",
    "MicroframeClient": "microframe.testing",
    "MicroframeCliRunner": "microframe.testing",
    "MicroframeGroup": "microframe.cli",
}

_SHIM = Shim("quart", MODULES, ALIASES, _ALIAS_HOMES, QUART_VERSION)

#: ``Microframe.test_client_class`` as it was before :func:`install`.
_flask_test_client_class: type[MicroframeClient] | None = None


def install() -> None:
    """Make ``import quart`` (and its submodules) resolve to microframe.

    Call before importing the Quart extensions that should use microframe.
    Calling it again while installed does nothing.
    """
    global _flask_test_client_class
    if _SHIM.is_installed():
        return
    _SHIM.install()
    from .app import Microframe
    from .testing import MicroframeClient

    # Flask leaves app.test_client_class None (meaning "the default"); Quart
    # names the class, and its extensions derive from it (Quart-Schema:
    # new_class("TestClient", (TestClientMixin, app.test_client_class))).
    # Both mean the same client, so Quart's way holds while the shim does.
    _flask_test_client_class = Microframe.test_client_class
    if Microframe.test_client_class is None:
        Microframe.test_client_class = MicroframeClient


def uninstall(purge: Iterable[str] = ()) -> None:
    """Remove the shim modules and put back any real Quart modules.

    :param purge: top-level names of modules imported under the shim, such
        as ``"quart_cors"``, to remove from :data:`sys.modules` (with their
        submodules) so that a later import binds them to real Quart.
    """
    if not _SHIM.is_installed():
        return
    _SHIM.uninstall(purge)
    from .app import Microframe

    Microframe.test_client_class = _flask_test_client_class


def is_installed() -> bool:
    """Return ``True`` while the shim is installed (and still in :data:`sys.modules`)."""
    return _SHIM.is_installed()


@contextmanager
def installed(purge: Iterable[str] = ()) -> Iterator[None]:
    """Install the shim for the duration of a ``with`` block.

    ::

        with quart_compat.installed(purge=["quart_cors"]):
            from quart_cors import cors
            app = cors(app)
    """
    install()
    try:
        yield
    finally:
        uninstall(purge)


__all__ = ["ALIASES", "MODULES", "QUART_VERSION", "install", "installed", "is_installed", "uninstall"]
