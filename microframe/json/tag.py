"""Tagged JSON: a compact JSON form that keeps types plain JSON loses.

Session cookies are serialised this way, so a session can hold tuples,
bytes, :class:`~markupsafe.Markup`, :class:`~uuid.UUID` and
:class:`~datetime.datetime` values and get the same types back. A value of
such a type is written as a one-key object whose key names the type::

    serializer = TaggedJSONSerializer()
    serializer.dumps({"ids": (1, 2), "raw": b"\\x00"})
    # '{"ids":{" t":[1,2]},"raw":{" b":"AA=="}}'

The tags (``" t"``, ``" u"``, ``" b"``, ``" m"``, ``" d"``, ``" di"``) are
the ones Flask uses, so session cookies can be shared with Flask apps that
use the same secret key.

Add a type by subclassing :class:`JSONTag` and registering it::

    class TagDecimal(JSONTag):
        __slots__ = ()
        key = " dec"

        def check(self, value):
            return isinstance(value, Decimal)

        def to_json(self, value):
            return str(value)

        def to_python(self, value):
            return Decimal(value)

    app.session_interface.serializer.register(TagDecimal, index=0)
"""

from __future__ import annotations

import json
from base64 import b64decode, b64encode
from datetime import datetime
from typing import Any, ClassVar, Protocol
from uuid import UUID

from markupsafe import Markup
from werkzeug.http import http_date, parse_date

from . import _provider
from . import dumps as _dumps
from . import loads as _loads
from .provider import DefaultJSONProvider


class _HasHTML(Protocol):
    """An object that renders itself as HTML, such as :class:`~markupsafe.Markup`."""

    def __html__(self) -> str: ...


class JSONTag:
    """One type that :class:`TaggedJSONSerializer` knows how to keep.

    :param serializer: the serializer the tag belongs to, used to tag the
        items of containers.
    """

    __slots__ = ("serializer",)

    #: The key marking a tagged value, such as ``" t"``. An empty key makes
    #: a pass-through tag: the value is converted but not wrapped, and it is
    #: never looked up when loading.
    key: ClassVar[str] = ""

    def __init__(self, serializer: TaggedJSONSerializer) -> None:
        self.serializer = serializer

    def check(self, value: Any) -> bool:
        """Return ``True`` if this tag handles ``value``."""
        raise NotImplementedError

    def to_json(self, value: Any) -> Any:
        """Convert ``value`` to something JSON can hold (items still untagged)."""
        raise NotImplementedError

    def to_python(self, value: Any) -> Any:
        """Convert the JSON form made by :meth:`to_json` back to the type."""
        raise NotImplementedError

    def tag(self, value: Any) -> Any:
        """Convert ``value`` and wrap it as ``{key: json_value}`` (if keyed)."""
        converted = self.to_json(value)
        return {self.key: converted} if self.key else converted


class TagDict(JSONTag):
    """A one-key dict whose key is itself a tag key.

    Without this, ``{" t": [1]}`` stored by a user would come back as a
    tuple. The key gets a ``"__"`` suffix, removed again on loading.
    """

    __slots__ = ()
    key = " di"

    def check(self, value: object) -> bool:
        return (
            isinstance(value, dict)
            and len(value) == 1
            and next(iter(value)) in self.serializer.tags
        )

    def to_json(self, value: dict[str, object]) -> dict[str, object]:
        ((name, item),) = value.items()
        return {f"{name}__": self.serializer.tag(item)}

    def to_python(self, value: dict[str, object]) -> dict[str, object]:
        ((name, item),) = value.items()
        return {name[:-2]: item}


class PassDict(JSONTag):
    """Any other dict: tag its values (JSON keys are always strings)."""

    __slots__ = ()

    def check(self, value: object) -> bool:
        return isinstance(value, dict)

    def to_json(self, value: dict[str, object]) -> dict[str, object]:
        return {name: self.serializer.tag(item) for name, item in value.items()}


class TagTuple(JSONTag):
    """A tuple, stored as a list of its tagged items."""

    __slots__ = ()
    key = " t"

    def check(self, value: object) -> bool:
        return isinstance(value, tuple)

    def to_json(self, value: tuple[object, ...]) -> list[object]:
        return [self.serializer.tag(item) for item in value]

    def to_python(self, value: list[object]) -> tuple[object, ...]:
        return tuple(value)


class PassList(JSONTag):
    """A list: tag its items."""

    __slots__ = ()

    def check(self, value: object) -> bool:
        return isinstance(value, list)

    def to_json(self, value: list[object]) -> list[object]:
        return [self.serializer.tag(item) for item in value]


class TagBytes(JSONTag):
    """Bytes, stored as base64 text."""

    __slots__ = ()
    key = " b"

    def check(self, value: object) -> bool:
        return isinstance(value, bytes)

    def to_json(self, value: bytes) -> str:
        return b64encode(value).decode("ascii")

    def to_python(self, value: str) -> bytes:
        return b64decode(value)


class TagMarkup(JSONTag):
    """An object with ``__html__`` (such as :class:`~markupsafe.Markup`),
    stored as its HTML and loaded as :class:`~markupsafe.Markup`."""

    __slots__ = ()
    key = " m"

    def check(self, value: object) -> bool:
        return callable(getattr(value, "__html__", None))

    def to_json(self, value: _HasHTML) -> str:
        return str(value.__html__())

    def to_python(self, value: str) -> Markup:
        return Markup(value)


class TagUUID(JSONTag):
    """A :class:`~uuid.UUID`, stored as its 32 hex digits."""

    __slots__ = ()
    key = " u"

    def check(self, value: object) -> bool:
        return isinstance(value, UUID)

    def to_json(self, value: UUID) -> str:
        return value.hex

    def to_python(self, value: str) -> UUID:
        return UUID(value)


class TagDateTime(JSONTag):
    """A :class:`~datetime.datetime`, stored as an HTTP date.

    HTTP dates have one-second precision and are in UTC: a naive datetime
    is taken as UTC, and loading gives an aware UTC datetime.
    """

    __slots__ = ()
    key = " d"

    def check(self, value: object) -> bool:
        return isinstance(value, datetime)

    def to_json(self, value: datetime) -> str:
        return http_date(value)

    def to_python(self, value: str) -> datetime | None:
        return parse_date(value)


class TaggedJSONSerializer:
    """Serialise data to tagged JSON and back.

    ::

        serializer = TaggedJSONSerializer()
        data = serializer.loads(serializer.dumps({"when": datetime.now(UTC)}))

    Tags are tried in :attr:`order`; the first whose ``check`` accepts a
    value is used.
    """

    __slots__ = ("_decoder", "_plain_order", "order", "tags")

    #: The tags every new serializer starts with, in order. Order matters:
    #: :class:`TagDict` must come before :class:`PassDict`.
    default_tags: ClassVar[list[type[JSONTag]]] = [
        TagDict,
        PassDict,
        TagTuple,
        PassList,
        TagBytes,
        TagMarkup,
        TagUUID,
        TagDateTime,
    ]

    def __init__(self) -> None:
        #: Tags by key, for loading.
        self.tags: dict[str, JSONTag] = {}
        #: Tags in the order they are tried, for dumping.
        self.order: list[JSONTag] = []
        self._plain_order: list[JSONTag] | None = None
        for tag_class in self.default_tags:
            self.register(tag_class)
        # Untags each object as it is parsed: the same, inside out, as
        # parsing first and then walking the tree, in one pass (see loads).
        self._decoder: json.JSONDecoder | None = (
            json.JSONDecoder(object_hook=self.untag)
            if type(self)._untag_tree is TaggedJSONSerializer._untag_tree
            else None
        )

    def register(
        self, tag_class: type[JSONTag], force: bool = False, index: int | None = None
    ) -> None:
        """Add a tag.

        :param tag_class: the :class:`JSONTag` subclass; it is instantiated
            with this serializer.
        :param force: replace a registered tag with the same key instead of
            raising.
        :param index: position in :attr:`order` (default: last). Put a tag
            before the built-in ones to handle a subclass of a built-in type.
        :raises KeyError: if the key is taken and ``force`` is false.
        """
        tag = tag_class(self)
        if tag.key:
            if tag.key in self.tags and not force:
                raise KeyError(
                    f"A tag with key {tag.key!r} is already registered; pass force=True"
                    " to replace it."
                )
            self.tags[tag.key] = tag
        if index is None:
            self.order.append(tag)
        else:
            self.order.insert(index, tag)
        # dumps() may skip tagging only while exactly the built-in tags are
        # registered (a custom tag could claim a plain value, an int say),
        # and tag() is the one defined here.
        plain = (
            tuple(type(tag) for tag in self.order) == _BUILTIN_TAGS
            and type(self).tag is TaggedJSONSerializer.tag
        )
        self._plain_order = list(self.order) if plain else None

    def tag(self, value: Any) -> Any:
        """Convert ``value`` (and everything in it) to its tagged JSON form."""
        for tag in self.order:
            if tag.check(value):
                return tag.tag(value)
        return value

    def untag(self, value: dict[str, Any]) -> Any:
        """Turn one tagged object back into its type; other dicts are returned
        unchanged. Contents are not untagged here (see :meth:`loads`)."""
        if len(value) != 1:
            return value
        key = next(iter(value))
        tag = self.tags.get(key)
        if tag is None:
            return value
        return tag.to_python(value[key])

    def _untag_tree(self, value: object) -> object:
        # Inside out, so a tag's to_python receives already untagged items.
        if isinstance(value, dict):
            return self.untag({key: self._untag_tree(item) for key, item in value.items()})
        if isinstance(value, list):
            return [self._untag_tree(item) for item in value]
        return value

    def _is_plain(self, value: Any) -> bool:
        # True when tag(value) would only copy value: every item is exactly
        # (not a subclass of; Markup is a str) a JSON scalar, list or dict,
        # and no dict would need TagDict. Keys are left alone by tag() too.
        kind = type(value)
        if kind in _PLAIN_SCALARS:
            return True
        if kind is dict:
            if len(value) == 1 and next(iter(value)) in self.tags:
                return False
            items = value.values()
        elif kind is list:
            items = value
        else:
            return False
        # A loop rather than all(generator): sessions are mostly scalars,
        # checked here without a call each.
        for item in items:  # noqa: SIM110 (see above)
            if type(item) not in _PLAIN_SCALARS and not self._is_plain(item):
                return False
        return True

    def dumps(self, value: Any) -> str:
        """Tag ``value`` and serialise it to compact JSON."""
        # Sessions mostly hold plain JSON: checking that is cheaper than
        # tag() rebuilding every container, and serialises the same. Not
        # when a subclass overrides tag() or the tags were changed (through
        # register(), or in place: ``order`` is a public list).
        if (
            self._plain_order is not None
            and self.order == self._plain_order
            and self._is_plain(value)
        ):
            return _compact_dumps(value)
        return _compact_dumps(self.tag(value))

    def loads(self, value: str | bytes) -> Any:
        """Parse tagged JSON made by :meth:`dumps` back into Python values."""
        if self._decoder is not None and isinstance(value, str):
            provider = _provider()
            if provider is None or type(provider).loads is DefaultJSONProvider.loads:
                # That provider parses with json.loads and no options.
                return self._decoder.decode(value)
        return self._untag_tree(_loads(value))


def _compact_dumps(value: object) -> str:
    provider = _provider()
    if isinstance(provider, DefaultJSONProvider) and type(provider).dumps is DefaultJSONProvider.dumps:
        # What provider.dumps does with these options, minus the indirection.
        return provider._encoder(True).encode(value)
    return _dumps(value, separators=(",", ":"))


# The tags a serializer starts with; see TaggedJSONSerializer.register.
_BUILTIN_TAGS: tuple[type[JSONTag], ...] = tuple(TaggedJSONSerializer.default_tags)
_PLAIN_SCALARS = frozenset({str, int, float, bool, type(None)})

__all__ = [
    "JSONTag",
    "PassDict",
    "PassList",
    "TagBytes",
    "TagDateTime",
    "TagDict",
    "TagMarkup",
    "TagTuple",
    "TagUUID",
    "TaggedJSONSerializer",
]
