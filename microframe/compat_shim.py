"""The machinery behind :mod:`microframe.flask_compat` and :mod:`microframe.quart_compat`.

A :class:`Shim` puts stand-in modules named after another framework
(``flask``, ``flask.globals``, ... or ``quart``, ``quart.typing``, ...) into
:data:`sys.modules`, each serving the matching microframe module's names, so
that extensions written for that framework import microframe instead. Users
call the ``install`` functions of the two compat modules, not this one.
"""

from __future__ import annotations

import importlib
import sys
import types
import warnings
from collections.abc import Iterable, Mapping
from typing import Any


class ShimModule(types.ModuleType):
    """A stand-in module whose attributes come from a microframe module.

    Attributes are looked up on first use, so everything the microframe
    module has (private names such as ``_cv_request`` included) is there.
    """

    def __init__(self, name: str, target: str, shim: Shim) -> None:
        super().__init__(name, f"microframe's stand-in for {name}")
        self.__microframe_target__ = target
        self.__microframe_shim__ = shim
        # A package path (empty): 'import flask.xyz' for a module microframe
        # lacks fails with ModuleNotFoundError instead of importing the real one.
        self.__path__: list[str] = []

    def __getattr__(self, name: str) -> Any:
        shim = self.__microframe_shim__
        if name == "__version__" and self.__name__ == shim.package:
            if shim.version_warning:
                warnings.warn(shim.version_warning, DeprecationWarning, stacklevel=2)
            return shim.version
        if name.startswith("__"):
            raise AttributeError(name)
        target = importlib.import_module(self.__microframe_target__)
        real = shim.aliases.get(name, name)
        try:
            value = getattr(target, real)
        except AttributeError:
            home = shim.alias_homes.get(real)
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
        return sorted({*dir(target), *self.__microframe_shim__.aliases})


class Shim:
    """Serve the package ``package`` (and its submodules) from microframe.

    :param package: the top-level name served, ``"flask"`` or ``"quart"``.
    :param modules: served module name -> the microframe module behind it.
    :param aliases: the framework's class names -> microframe's.
    :param alias_homes: where an alias's target lives when a module lacks it.
    :param version: what ``package.__version__`` says.
    :param version_warning: the deprecation warning reading it gives, if any.
    """

    def __init__(
        self,
        package: str,
        modules: Mapping[str, str],
        aliases: Mapping[str, str],
        alias_homes: Mapping[str, str],
        version: str,
        version_warning: str = "",
    ) -> None:
        self.package = package
        self.modules = dict(modules)
        self.aliases = dict(aliases)
        self.alias_homes = dict(alias_homes)
        self.version = version
        self.version_warning = version_warning
        self._saved: dict[str, types.ModuleType] | None = None

    def install(self) -> None:
        """Put the stand-in modules into :data:`sys.modules` (no-op if there)."""
        if self.is_installed():
            return
        # A shim that something else took out of sys.modules is forgotten.
        self._saved = {name: module for name, module in sys.modules.items() if self._owns(name)}
        for name in self._saved:
            del sys.modules[name]
        for name, target in self.modules.items():
            sys.modules[name] = ShimModule(name, target, self)
        for name in self.modules:
            parent, _, child = name.rpartition(".")
            if parent:
                setattr(sys.modules[parent], child, sys.modules[name])

    def uninstall(self, purge: Iterable[str] = ()) -> None:
        """Remove the stand-ins, put back the real modules, and drop ``purge``'s."""
        if self._saved is None:
            return
        for name in [name for name in sys.modules if self._owns(name)]:
            del sys.modules[name]
        sys.modules.update(self._saved)
        self._saved = None
        prefixes = tuple(purge)
        for name in [name for name in sys.modules if _is_under(name, prefixes)]:
            del sys.modules[name]

    def is_installed(self) -> bool:
        """Whether the stand-ins are installed (and still in :data:`sys.modules`)."""
        module = sys.modules.get(self.package)
        return self._saved is not None and isinstance(module, ShimModule)

    def _owns(self, name: str) -> bool:
        return _is_under(name, (self.package,))


def _is_under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


__all__ = ["Shim", "ShimModule"]
