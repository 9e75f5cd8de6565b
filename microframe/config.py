"""Application configuration: the :class:`Config` mapping, the
:class:`ConfigAttribute` descriptor and the :data:`DEFAULT_CONFIG` keys.

:class:`Config` is a ``dict`` that knows how to fill itself from Python
objects, files, environment variables and mappings, with the same methods
and behaviour as Flask's::

    app.config.from_object("myapp.default_settings")
    app.config.from_file("config.toml", load=tomllib.load, text=False)
    app.config.from_prefixed_env()
"""

from __future__ import annotations

import errno
import json
import os
import types
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import IO, Any, Generic, Protocol, Self, TypeVar, overload

from werkzeug.utils import import_string

T = TypeVar("T")

DEFAULT_CONFIG: dict[str, Any] = {
    "DEBUG": None,
    "TESTING": False,
    "PROPAGATE_EXCEPTIONS": None,
    "SECRET_KEY": None,
    "SECRET_KEY_FALLBACKS": None,
    "PERMANENT_SESSION_LIFETIME": timedelta(days=31),
    "USE_X_SENDFILE": False,
    "TRUSTED_HOSTS": None,
    "SERVER_NAME": None,
    "APPLICATION_ROOT": "/",
    "SESSION_COOKIE_NAME": "session",
    "SESSION_COOKIE_DOMAIN": None,
    "SESSION_COOKIE_PATH": None,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SECURE": False,
    "SESSION_COOKIE_PARTITIONED": False,
    "SESSION_COOKIE_SAMESITE": None,
    "SESSION_REFRESH_EACH_REQUEST": True,
    # Flask leaves this unlimited, trusting the WSGI server in front of it.
    # An ASGI app reads the body itself, chunk by chunk, on a shared event
    # loop, so an unbounded upload is a memory (and denial of service)
    # problem for every request on the process; 16 MiB is generous for forms
    # and JSON and can be raised, or set to None, per app or per request.
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
    "MAX_FORM_MEMORY_SIZE": 500_000,
    "MAX_FORM_PARTS": 1_000,
    "SEND_FILE_MAX_AGE_DEFAULT": None,
    "TRAP_BAD_REQUEST_ERRORS": None,
    "TRAP_HTTP_EXCEPTIONS": False,
    "EXPLAIN_TEMPLATE_LOADING": False,
    "PREFERRED_URL_SCHEME": "http",
    "TEMPLATES_AUTO_RELOAD": None,
    "MAX_COOKIE_SIZE": 4093,
    "PROVIDE_AUTOMATIC_OPTIONS": True,
    "BODY_TIMEOUT": 60,
    "RESPONSE_TIMEOUT": 60,
    "BACKGROUND_TASK_SHUTDOWN_TIMEOUT": 5,
    "SYNC_WORKERS": 32,
    "GC_FREEZE_AFTER_STARTUP": True,
}
"""The configuration every new app starts from (copy it; do not mutate it).

- ``DEBUG``, ``TESTING``, ``PROPAGATE_EXCEPTIONS``: run mode and whether
  errors reach the caller instead of becoming 500 responses.
- ``SECRET_KEY``, ``SECRET_KEY_FALLBACKS``: signing keys for sessions and
  other signed data; fallbacks are still accepted when reading.
- ``PERMANENT_SESSION_LIFETIME``, ``SESSION_COOKIE_*``,
  ``SESSION_REFRESH_EACH_REQUEST``: the session cookie and its lifetime.
- ``USE_X_SENDFILE``, ``SEND_FILE_MAX_AGE_DEFAULT``: how files are sent
  and cached.
- ``TRUSTED_HOSTS``, ``SERVER_NAME``, ``APPLICATION_ROOT``,
  ``PREFERRED_URL_SCHEME``: host checking and URL building.
- ``MAX_CONTENT_LENGTH``, ``MAX_FORM_MEMORY_SIZE``, ``MAX_FORM_PARTS``,
  ``MAX_COOKIE_SIZE``: size limits on request bodies, forms and cookies.
- ``TRAP_BAD_REQUEST_ERRORS``, ``TRAP_HTTP_EXCEPTIONS``: re-raise HTTP
  errors instead of handling them, for debugging.
- ``EXPLAIN_TEMPLATE_LOADING``, ``TEMPLATES_AUTO_RELOAD``: templates.
- ``PROVIDE_AUTOMATIC_OPTIONS``: answer ``OPTIONS`` for every route.
- ``BODY_TIMEOUT``, ``RESPONSE_TIMEOUT``: seconds a request body may take to
  arrive and a response body to be sent (``None`` for no limit).
- ``BACKGROUND_TASK_SHUTDOWN_TIMEOUT``: seconds background tasks get to
  finish when the server shuts down.
- ``SYNC_WORKERS``: size of the bounded thread pool that runs sync views
  and hooks.
- ``GC_FREEZE_AFTER_STARTUP``: once a server has started the app (the ASGI
  lifespan), move everything loaded so far out of the garbage collector's
  sight (:func:`gc.freeze`), so that its full collections do not pause
  every request in flight to walk the modules; undone at shutdown, and
  skipped when ``TESTING``.
"""


#: The prefixes of the environment variables microframe reads, strongest
#: first: microframe's own names, then Flask's, so that a ported Flask app's
#: ``FLASK_APP``, ``FLASK_DEBUG``, ... keep working.
ENV_PREFIXES = ("MICROFRAME", "FLASK")


def env_value(name: str) -> str | None:
    """Return the environment variable ``MICROFRAME_<name>``, else ``FLASK_<name>``.

    An empty variable counts as unset, as in Flask::

        env_value("DEBUG")  # MICROFRAME_DEBUG, or FLASK_DEBUG, or None

    :param name: the variable name without its prefix.
    """
    for prefix in ENV_PREFIXES:
        value = os.environ.get(f"{prefix}_{name}")
        if value:
            return value
    return None


def to_timedelta(value: timedelta | int) -> timedelta:
    """Return ``value``, a :class:`~datetime.timedelta` or seconds, as a timedelta."""
    if isinstance(value, timedelta):
        return value
    return timedelta(seconds=value)


class _HasConfig(Protocol):
    @property
    def config(self) -> dict[str, object]: ...


class ConfigAttribute(Generic[T]):
    """A descriptor that forwards an attribute of the app to a config key.

    ::

        class Microframe:
            debug = ConfigAttribute[bool]("DEBUG")
            lifetime = ConfigAttribute[timedelta](
                "PERMANENT_SESSION_LIFETIME", get_converter=to_timedelta
            )

    :param name: the configuration key.
    :param get_converter: applied to the stored value when it is read.
    """

    def __init__(self, name: str, get_converter: Callable[[Any], T] | None = None) -> None:
        self.__name__ = name
        self.get_converter = get_converter

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Self: ...

    @overload
    def __get__(self, obj: _HasConfig, owner: type | None = None) -> T: ...

    def __get__(self, obj: _HasConfig | None, owner: type | None = None) -> T | Self:
        if obj is None:
            return self
        # Typed by annotations, not cast(): typing.cast is a function call,
        # and attributes such as ``app.debug`` are read on requests.
        value: Any = obj.config[self.__name__]
        if self.get_converter is not None:
            return self.get_converter(value)
        result: T = value
        return result

    def __set__(self, obj: _HasConfig, value: object) -> None:
        obj.config[self.__name__] = value


def _load_error(exc: OSError) -> OSError:
    exc.strerror = f"Unable to load configuration file ({exc.strerror})"
    return exc


def _is_missing(exc: OSError) -> bool:
    return exc.errno in (errno.ENOENT, errno.EISDIR, errno.ENOTDIR)


class Config(dict[str, Any]):
    """The configuration of an app: a ``dict`` with loaders.

    Only uppercase keys are taken from objects and mappings, so a config
    module can use lowercase names for its own helpers::

        config = Config(app.root_path, DEFAULT_CONFIG)
        config.from_pyfile("settings.cfg")
        config["SECRET_KEY"]

    :param root_path: relative file names are resolved against this path.
    :param defaults: initial values.
    """

    def __init__(
        self, root_path: str | os.PathLike[str], defaults: Mapping[str, object] | None = None
    ) -> None:
        super().__init__(defaults or {})
        self.root_path = root_path

    def _path(self, filename: str | os.PathLike[str]) -> str:
        return os.path.join(self.root_path, filename)

    def from_envvar(self, variable_name: str, silent: bool = False) -> bool:
        """Load a Python config file named by an environment variable.

        ::

            app.config.from_envvar("YOURAPPLICATION_SETTINGS")

        :param variable_name: the variable holding the file's path.
        :param silent: return ``False`` instead of raising when the variable
            is unset or the file is missing.
        :return: ``True`` if the file was loaded.
        :raises RuntimeError: if the variable is unset (and not ``silent``).
        """
        filename = os.environ.get(variable_name)
        if not filename:
            if silent:
                return False
            raise RuntimeError(
                f"The environment variable {variable_name!r} is not set and as such"
                " configuration could not be loaded. Set this variable and make it"
                " point to a configuration file."
            )
        return self.from_pyfile(filename, silent=silent)

    def from_prefixed_env(
        self, prefix: str | None = None, *, loads: Callable[[str], Any] = json.loads
    ) -> bool:
        """Load every environment variable starting with ``prefix + "_"``.

        The prefix is removed from the key. Values are parsed with ``loads``
        (JSON by default, so ``"1"`` is ``1`` and ``"true"`` is ``True``) and
        kept as strings when that fails. A double underscore nests into
        dicts, creating them as needed::

            # MICROFRAME_SECRET_KEY=abc MICROFRAME_DB__PORT=5432
            app.config.from_prefixed_env()
            app.config["DB"]["PORT"]  # 5432

        Without a prefix, both ``FLASK_`` and ``MICROFRAME_`` variables are
        loaded, so a ported Flask app's environment keeps working; where both
        name the same key, the ``MICROFRAME_`` one wins.

        :param prefix: the variable prefix, without the trailing ``_``; by
            default ``FLASK`` then ``MICROFRAME``.
        :param loads: parses each value.
        :return: always ``True``.
        :raises TypeError: if a ``__`` key passes through a non-dict value.
        """
        prefixes = ENV_PREFIXES[::-1] if prefix is None else (prefix,)
        for name in prefixes:
            self._load_prefixed_env(f"{name}_", loads)
        return True

    def _load_prefixed_env(self, start: str, loads: Callable[[str], Any]) -> None:
        # Sorted so that nesting is deterministic whatever the environment's order.
        for name in sorted(os.environ):
            if not name.startswith(start):
                continue
            raw = os.environ[name]
            try:
                value = loads(raw)
            except Exception:
                value = raw
            *parents, leaf = name[len(start) :].split("__")
            target: dict[str, Any] = self
            for part in parents:
                target = target.setdefault(part, {})
                if not isinstance(target, dict):
                    raise TypeError(
                        f"Cannot set {name}: config key {part!r} holds a"
                        f" {type(target).__name__}, not a dict."
                    )
            target[leaf] = value

    def from_pyfile(self, filename: str | os.PathLike[str], silent: bool = False) -> bool:
        """Load the uppercase names of a Python file, executed as a module.

        ::

            app.config.from_pyfile("settings.cfg")

        :param filename: path, absolute or relative to ``root_path``.
        :param silent: return ``False`` instead of raising if the file is
            missing.
        :return: ``True`` if the file was loaded.
        :raises OSError: if the file cannot be read.
        """
        path = self._path(filename)
        module = types.ModuleType("config")
        module.__file__ = path
        try:
            with open(path, "rb") as fp:
                source = fp.read()
        except OSError as exc:
            if silent and _is_missing(exc):
                return False
            raise _load_error(exc)
        exec(compile(source, path, "exec"), module.__dict__)
        self.from_object(module)
        return True

    def from_object(self, obj: object | str) -> None:
        """Copy the uppercase attributes of an object, class or module.

        ::

            app.config.from_object("myapp.settings.Production")
            app.config.from_object(ProductionSettings)

        :param obj: the object, or an import string naming it.
        :raises ImportError: if an import string cannot be imported.
        """
        if isinstance(obj, str):
            obj = import_string(obj)
        for key in dir(obj):
            if key.isupper():
                self[key] = getattr(obj, key)

    def from_file(
        self,
        filename: str | os.PathLike[str],
        load: Callable[[IO[Any]], Mapping[str, object]],
        silent: bool = False,
        text: bool = True,
    ) -> bool:
        """Load a file with ``load`` and copy its uppercase keys.

        ::

            import tomllib
            app.config.from_file("config.toml", load=tomllib.load, text=False)
            app.config.from_file("config.json", load=json.load)

        :param filename: path, absolute or relative to ``root_path``.
        :param load: reads the open file and returns a mapping.
        :param silent: return ``False`` instead of raising if the file is
            missing.
        :param text: open in text mode (``False`` for binary, as ``tomllib``
            needs).
        :return: ``True`` if the file was loaded.
        :raises OSError: if the file cannot be read.
        :raises TypeError: if ``load`` does not return a mapping.
        """
        path = self._path(filename)
        try:
            with open(path, "r" if text else "rb") as fp:
                data = load(fp)
        except OSError as exc:
            if silent and _is_missing(exc):
                return False
            raise _load_error(exc)
        if not isinstance(data, Mapping):
            raise TypeError(
                f"Configuration file {path!r} must contain a mapping at the top level,"
                f" but loading it returned a {type(data).__name__}."
            )
        return self.from_mapping(data)

    def from_mapping(self, mapping: Mapping[str, object] | None = None, **kwargs: object) -> bool:
        """Copy the uppercase keys of a mapping and of the keyword arguments.

        ::

            app.config.from_mapping(SECRET_KEY="dev", DATABASE="app.db")

        :return: always ``True``.
        """
        items: dict[str, object] = {}
        if mapping is not None:
            items.update(mapping)
        items.update(kwargs)
        for key, value in items.items():
            if isinstance(key, str) and key.isupper():
                self[key] = value
        return True

    def get_namespace(
        self, namespace: str, lowercase: bool = True, trim_namespace: bool = True
    ) -> dict[str, Any]:
        """Return the keys starting with ``namespace`` as a new dict.

        ::

            app.config["IMAGE_STORE_TYPE"] = "fs"
            app.config["IMAGE_STORE_PATH"] = "/var/app/images"
            app.config.get_namespace("IMAGE_STORE_")
            # {"type": "fs", "path": "/var/app/images"}

        :param namespace: the key prefix.
        :param lowercase: lowercase the returned keys.
        :param trim_namespace: remove the prefix from the returned keys.
        """
        result: dict[str, object] = {}
        for key, value in self.items():
            if not key.startswith(namespace):
                continue
            name = key[len(namespace) :] if trim_namespace else key
            result[name.lower() if lowercase else name] = value
        return result

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {dict.__repr__(self)}>"


__all__ = ["DEFAULT_CONFIG", "ENV_PREFIXES", "Config", "ConfigAttribute", "env_value", "to_timedelta"]
