"""JSON providers: how an app turns Python data into JSON and back.

An app holds one provider instance as ``app.json``, made from its
``json_provider_class``. Customise JSON for an app by subclassing
:class:`DefaultJSONProvider` (or setting attributes on ``app.json``)::

    class OrjsonProvider(JSONProvider):
        def dumps(self, obj, **kwargs):
            return orjson.dumps(obj).decode()

        def loads(self, s, **kwargs):
            return orjson.loads(s)

    class App(Microframe):
        json_provider_class = OrjsonProvider
"""

from __future__ import annotations

import dataclasses
import decimal
import json
import uuid
import weakref
from datetime import date
from typing import IO, TYPE_CHECKING, Any

from werkzeug.http import http_date

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..app import Microframe
    from ..wrappers import Response


class JSONProvider:
    """The interface every JSON provider implements.

    Subclasses must implement :meth:`dumps` and :meth:`loads`; the rest is
    built on those two. The app is held through a weak reference, so a
    provider does not keep its app alive.

    :param app: the app this provider serves.
    """

    def __init__(self, app: Microframe) -> None:
        self._app_ref: weakref.ref[Microframe] = weakref.ref(app)

    @property
    def _app(self) -> Microframe:
        app = self._app_ref()
        if app is None:
            raise RuntimeError(
                "The app of this JSON provider has been garbage collected. Keep a"
                " reference to the app for as long as its 'json' provider is used."
            )
        return app

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        """Serialise ``obj`` to a JSON string.

        :param obj: the data to serialise.
        :param kwargs: options for the underlying library.
        """
        raise NotImplementedError

    def dump(self, obj: Any, fp: IO[str], **kwargs: Any) -> None:
        """Serialise ``obj`` as JSON and write it to the text file ``fp``.

        :param obj: the data to serialise.
        :param fp: a file open for writing text.
        :param kwargs: passed to :meth:`dumps`.
        """
        fp.write(self.dumps(obj, **kwargs))

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Parse a JSON document.

        :param s: the document, as text or bytes.
        :param kwargs: options for the underlying library.
        """
        raise NotImplementedError

    def load(self, fp: IO[Any], **kwargs: Any) -> Any:
        """Read a JSON document from the file ``fp`` and parse it.

        :param fp: a file open for reading, text or binary.
        :param kwargs: passed to :meth:`loads`.
        """
        return self.loads(fp.read(), **kwargs)

    def _prepare_response_obj(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if kwargs:  # jsonify(key=value), the usual form, first
            if args:
                raise TypeError(
                    "app.json.response() takes either args or kwargs (positional or keyword"
                    " arguments), not both."
                )
            return kwargs
        if len(args) == 1:
            return args[0]
        return list(args) if args else None

    def response(self, *args: Any, **kwargs: Any) -> Response:
        """Build a JSON response (what :func:`~microframe.json.jsonify` returns).

        One positional argument is serialised as is, several become a list,
        keyword arguments become an object, and nothing at all is ``null``::

            app.json.response({"id": 1})  # {"id": 1}
            app.json.response(1, 2)       # [1, 2]
            app.json.response(id=1)       # {"id": 1}

        :raises TypeError: if both positional and keyword arguments are given.
        """
        obj = self._prepare_response_obj(args, kwargs)
        return self._app.response_class(self.dumps(obj), mimetype="application/json")


def _default(o: Any) -> Any:
    if isinstance(o, date):
        return http_date(o)
    if isinstance(o, (decimal.Decimal, uuid.UUID)):
        return str(o)
    # is_dataclass is also true for dataclass *types*, which asdict rejects.
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        return dataclasses.asdict(o)
    if hasattr(o, "__html__"):
        return str(o.__html__())
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


# Encoders by settings: json.dumps() with options builds a JSONEncoder per
# call; an encoder holds only its settings (each encode() call has its own
# state), so one per settings serves every thread.
_encoders: dict[tuple[Any, ...], json.JSONEncoder] = {}
_decoder = json.JSONDecoder()
_OPENERS = (b"{", b"[")
_JSON_WHITESPACE = " \t\n\r"
_COMPACT = {"separators": (",", ":")}


class DefaultJSONProvider(JSONProvider):
    """JSON through the standard library's :mod:`json`, with extra types.

    Beyond what :mod:`json` handles, :attr:`default` serialises
    :class:`~datetime.datetime` and :class:`~datetime.date` (as HTTP dates),
    :class:`~decimal.Decimal` and :class:`~uuid.UUID` (as strings),
    dataclasses (as objects) and objects with an ``__html__`` method such as
    :class:`~markupsafe.Markup` (as their HTML). Settings may be changed on
    the class or on ``app.json``::

        app.json.sort_keys = False
        app.json.default = lambda o: o.isoformat() if isinstance(o, date) else str(o)
    """

    #: Called for objects :mod:`json` cannot serialise; returns something it
    #: can, or raises :exc:`TypeError`.
    default: Callable[[Any], Any] = staticmethod(_default)
    #: Escape non-ASCII characters as ``\\uXXXX`` escapes.
    ensure_ascii = True
    #: Sort object keys, which keeps output (and cached responses) stable.
    sort_keys = True
    #: Compact responses without whitespace; ``None`` means compact unless
    #: the app is in debug mode, where indented output is easier to read.
    compact: bool | None = None
    #: The mimetype of :meth:`response`.
    mimetype = "application/json"

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        """Serialise ``obj`` with :func:`json.dumps`.

        :attr:`default`, :attr:`ensure_ascii` and :attr:`sort_keys` apply
        unless given in ``kwargs``.
        """
        if not kwargs:
            return self._encoder(None).encode(obj)
        if kwargs == _COMPACT:  # what session cookies ask for
            return self._encoder(True).encode(obj)
        kwargs.setdefault("default", self.default)
        kwargs.setdefault("ensure_ascii", self.ensure_ascii)
        kwargs.setdefault("sort_keys", self.sort_keys)
        return json.dumps(obj, **kwargs)

    def _encoder(self, compact: bool | None) -> json.JSONEncoder:
        # The encoder for the current settings (they may change at any time);
        # compact: None for json.dumps' defaults, True for no whitespace,
        # False for indented.
        key = (self.default, self.ensure_ascii, self.sort_keys, compact)
        encoder = _encoders.get(key)
        if encoder is None:
            if compact is None:
                options: dict[str, Any] = {}
            elif compact:
                options = {"separators": (",", ":")}
            else:
                options = {"indent": 2}
            encoder = json.JSONEncoder(
                default=self.default,
                ensure_ascii=self.ensure_ascii,
                sort_keys=self.sort_keys,
                **options,
            )
            if len(_encoders) < 64:
                _encoders[key] = encoder
        return encoder

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Parse ``s`` with :func:`json.loads`; bytes may be UTF-8, -16 or -32."""
        if not kwargs and type(s) is bytes and s[:1] in _OPENERS and s[1:2] != b"\x00":
            # An object or array in UTF-8 (UTF-16 would have a zero byte
            # next): what json.loads would find, without its detection, and
            # with no leading whitespace to skip.
            text = s.decode("utf-8", "surrogatepass")
            value, end = _decoder.raw_decode(text)
            if end != len(text) and text[end:].strip(_JSON_WHITESPACE):
                raise json.JSONDecodeError("Extra data", text, end)
            return value
        return json.loads(s, **kwargs)

    def response(self, *args: Any, **kwargs: Any) -> Response:
        """Build a JSON response, as :meth:`JSONProvider.response` does.

        The body is compact, or indented when :attr:`compact` is ``False``
        (or ``None`` with the app in debug mode), and ends with a newline.
        """
        obj = args[0] if len(args) == 1 and not kwargs else self._prepare_response_obj(args, kwargs)
        app = self._app_ref() or self._app  # the property explains a lost app
        compact = self.compact
        if compact is None:
            compact = not app.debug
        body = self._encoder(compact).encode(obj)
        return app.response_class(f"{body}\n", mimetype=self.mimetype)


__all__ = ["DefaultJSONProvider", "JSONProvider"]
