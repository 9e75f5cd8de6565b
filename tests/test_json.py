from __future__ import annotations

import dataclasses
import decimal
import gc
import io
import json as stdlib_json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import Markup

from microframe import json as mjson
from microframe.globals import _cv_app
from microframe.json.provider import DefaultJSONProvider, JSONProvider
from microframe.json.tag import JSONTag, TaggedJSONSerializer


class StubResponse:
    def __init__(self, body: str, mimetype: str | None = None) -> None:
        self.body = body
        self.mimetype = mimetype


class StubApp:
    response_class = StubResponse

    def __init__(self, debug: bool = False) -> None:
        self.debug = debug
        self.config: dict[str, Any] = {}
        self.json: JSONProvider = DefaultJSONProvider(self)  # type: ignore[arg-type]


@dataclasses.dataclass
class Point:
    x: int
    y: int


class HTMLThing:
    def __html__(self) -> str:
        return "<b>hi</b>"


@pytest.fixture
def app() -> StubApp:
    return StubApp()


@pytest.fixture
def app_ctx(app: StubApp) -> Iterator[StubApp]:
    # Stands in for app.app_context(): current_app only needs ctx.app.
    token = _cv_app.set(SimpleNamespace(app=app))  # type: ignore[arg-type]
    try:
        yield app
    finally:
        _cv_app.reset(token)


# -- DefaultJSONProvider --------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), '"Tue, 02 Jan 2024 03:04:05 GMT"'),
        (datetime(2024, 1, 2, 3, 4, 5), '"Tue, 02 Jan 2024 03:04:05 GMT"'),
        (
            datetime(2024, 1, 2, 4, 4, 5, tzinfo=timezone(timedelta(hours=1))),
            '"Tue, 02 Jan 2024 03:04:05 GMT"',
        ),
        (date(2024, 1, 2), '"Tue, 02 Jan 2024 00:00:00 GMT"'),
        (decimal.Decimal("1.10"), '"1.10"'),
        (
            uuid.UUID("12345678-1234-5678-1234-567812345678"),
            '"12345678-1234-5678-1234-567812345678"',
        ),
        (Point(1, 2), '{"x": 1, "y": 2}'),
        (Markup("<b>x</b>"), '"<b>x</b>"'),
        (HTMLThing(), '"<b>hi</b>"'),
    ],
)
def test_default_types(app: StubApp, value: Any, expected: str) -> None:
    assert app.json.dumps(value) == expected


@pytest.mark.parametrize("value", [object(), {1, 2}, Point, b"bytes", 1j])
def test_unknown_type_raises(app: StubApp, value: Any) -> None:
    with pytest.raises(TypeError, match=r"Object of type \w+ is not JSON serializable"):
        app.json.dumps(value)


def test_default_names_type_in_error() -> None:
    with pytest.raises(TypeError, match="Object of type set is not JSON serializable"):
        DefaultJSONProvider.default({1})


def test_sort_keys_and_ensure_ascii(app: StubApp) -> None:
    provider = app.json
    assert isinstance(provider, DefaultJSONProvider)
    assert provider.dumps({"b": 1, "a": "é"}) == '{"a": "\\u00e9", "b": 1}'
    provider.sort_keys = False
    provider.ensure_ascii = False
    assert provider.dumps({"b": 1, "a": "é"}) == '{"b": 1, "a": "é"}'
    assert provider.dumps({"b": 1, "a": 2}, sort_keys=True) == '{"a": 2, "b": 1}'


def test_custom_default_on_instance(app: StubApp) -> None:
    provider = app.json
    assert isinstance(provider, DefaultJSONProvider)
    provider.default = lambda o: sorted(o) if isinstance(o, set) else DefaultJSONProvider.default(o)
    assert provider.dumps({3, 1, 2}) == "[1, 2, 3]"
    assert provider.dumps(decimal.Decimal(2)) == '"2"'


def test_custom_provider_subclass() -> None:
    class Unsorted(DefaultJSONProvider):
        sort_keys = False

    assert Unsorted(StubApp()).dumps({"b": 1, "a": 2}) == '{"b": 1, "a": 2}'  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "data",
    [
        '{"a": [1, 2.5, null, true, "é"]}',
        '{"a": [1, 2.5, null, true, "é"]}'.encode(),
        '{"a": [1, 2.5, null, true, "é"]}'.encode("utf-16"),
        '{"a": [1, 2.5, null, true, "é"]}'.encode("utf-32-le"),
    ],
)
def test_loads_str_and_bytes(app: StubApp, data: str | bytes) -> None:
    assert app.json.loads(data) == {"a": [1, 2.5, None, True, "é"]}


def test_loads_invalid(app: StubApp) -> None:
    with pytest.raises(ValueError):
        app.json.loads("{nope")
    with pytest.raises(ValueError):
        app.json.loads(b"\xff\xfe\x00")


def test_dump_and_load_files(app: StubApp) -> None:
    fp = io.StringIO()
    app.json.dump({"b": date(2024, 1, 2), "a": 1}, fp)
    assert fp.getvalue() == '{"a": 1, "b": "Tue, 02 Jan 2024 00:00:00 GMT"}'
    fp.seek(0)
    assert app.json.load(fp) == {"a": 1, "b": "Tue, 02 Jan 2024 00:00:00 GMT"}
    assert app.json.load(io.BytesIO(b"[1]")) == [1]


# -- responses ------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "body"),
    [
        ((), {}, "null\n"),
        (({"b": 1, "a": [1, 2]},), {}, '{"a":[1,2],"b":1}\n'),
        ((1, "two"), {}, '[1,"two"]\n'),
        (([1],), {}, "[1]\n"),
        ((), {"b": 1, "a": 2}, '{"a":2,"b":1}\n'),
    ],
)
def test_response_shapes(
    app: StubApp, args: tuple[Any, ...], kwargs: dict[str, Any], body: str
) -> None:
    response: Any = app.json.response(*args, **kwargs)
    assert response.body == body
    assert response.mimetype == "application/json"


def test_response_args_and_kwargs(app: StubApp) -> None:
    with pytest.raises(TypeError, match="either args or kwargs"):
        app.json.response(1, a=2)


def test_response_debug_is_indented() -> None:
    app = StubApp(debug=True)
    response: Any = app.json.response(a=1)
    assert response.body == '{\n  "a": 1\n}\n'


@pytest.mark.parametrize(
    ("compact", "debug", "body"),
    [
        (None, False, '{"a":1}\n'),
        (None, True, '{\n  "a": 1\n}\n'),
        (True, True, '{"a":1}\n'),
        (False, False, '{\n  "a": 1\n}\n'),
    ],
)
def test_response_compact(compact: bool | None, debug: bool, body: str) -> None:
    app = StubApp(debug=debug)
    provider = app.json
    assert isinstance(provider, DefaultJSONProvider)
    provider.compact = compact
    response: Any = provider.response(a=1)
    assert response.body == body


def test_response_custom_mimetype(app: StubApp) -> None:
    provider = app.json
    assert isinstance(provider, DefaultJSONProvider)
    provider.mimetype = "application/vnd.api+json"
    response: Any = provider.response([])
    assert response.mimetype == "application/vnd.api+json"


def test_base_provider() -> None:
    class Reversed(JSONProvider):
        def dumps(self, obj: Any, **kwargs: Any) -> str:
            return repr(obj)[::-1]

        def loads(self, s: str | bytes, **kwargs: Any) -> Any:
            return s

    app = StubApp()
    provider = Reversed(app)  # type: ignore[arg-type]
    response: Any = provider.response(1, 2)
    assert response.body == "]2 ,1["
    assert response.mimetype == "application/json"
    assert provider.load(io.StringIO("x")) == "x"

    base = JSONProvider(app)  # type: ignore[arg-type]
    with pytest.raises(NotImplementedError):
        base.dumps(1)
    with pytest.raises(NotImplementedError):
        base.loads("1")


def test_provider_does_not_keep_app_alive() -> None:
    app = StubApp()
    provider = app.json
    del app
    gc.collect()
    with pytest.raises(RuntimeError, match="garbage collected"):
        provider.response(1)


# -- module functions -----------------------------------------------------


def test_module_functions_without_app() -> None:
    assert mjson.dumps({"b": decimal.Decimal("1"), "a": "é"}) == '{"a": "\\u00e9", "b": "1"}'
    assert mjson.dumps({"b": 1, "a": 2}, sort_keys=False) == '{"b": 1, "a": 2}'
    assert mjson.loads(b'{"a": 1}') == {"a": 1}
    fp = io.StringIO()
    mjson.dump([Point(1, 2)], fp)
    fp.seek(0)
    assert mjson.load(fp) == [{"x": 1, "y": 2}]
    with pytest.raises(TypeError, match="Object of type object"):
        mjson.dumps(object())


def test_module_functions_use_current_app(app_ctx: StubApp) -> None:
    provider = app_ctx.json
    assert isinstance(provider, DefaultJSONProvider)
    provider.default = lambda o: "custom"
    provider.sort_keys = False
    assert mjson.dumps({"b": object(), "a": 1}) == '{"b": "custom", "a": 1}'
    fp = io.StringIO()
    mjson.dump(object(), fp)
    assert fp.getvalue() == '"custom"'
    fp.seek(0)
    assert mjson.load(fp) == "custom"
    assert mjson.loads("[1]") == [1]


def test_jsonify(app_ctx: StubApp) -> None:
    response: Any = mjson.jsonify(b=1, a=2)
    assert response.body == '{"a":2,"b":1}\n'
    assert response.mimetype == "application/json"
    response = mjson.jsonify([1, 2])
    assert response.body == "[1,2]\n"
    with pytest.raises(TypeError):
        mjson.jsonify(1, a=1)


def test_jsonify_outside_app_context() -> None:
    with pytest.raises(RuntimeError, match="Working outside of application context"):
        mjson.jsonify(1)


# -- tagged JSON ----------------------------------------------------------

AWARE = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
UID = uuid.UUID("12345678-1234-5678-1234-567812345678")


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        ({" t": 1}, '{" di":{" t__":1}}'),
        ({" t": (1,)}, '{" di":{" t__":{" t":[1]}}}'),
        ({"a": 1, "b": [1]}, '{"a":1,"b":[1]}'),
        ((1, "a"), '{" t":[1,"a"]}'),
        ([1, (2,)], '[1,{" t":[2]}]'),
        (b"\x00\xffhi", '{" b":"AP9oaQ=="}'),
        (Markup("<b>x</b>"), '{" m":"<b>x</b>"}'),
        (UID, '{" u":"12345678123456781234567812345678"}'),
        (AWARE, '{" d":"Tue, 02 Jan 2024 03:04:05 GMT"}'),
        ("plain", '"plain"'),
        (None, "null"),
    ],
)
def test_tag_wire_format_and_round_trip(value: Any, wire: str) -> None:
    serializer = TaggedJSONSerializer()
    assert serializer.dumps(value) == wire
    loaded = serializer.loads(wire)
    assert loaded == value
    assert type(loaded) is type(value)


def test_tag_nested_round_trip() -> None:
    serializer = TaggedJSONSerializer()
    value = {
        "_flashes": [("message", "Saved!")],
        "user": {"id": UID, "when": AWARE, "key": b"k"},
        "html": Markup("&amp;"),
        " di": {" u": "not a uuid"},
    }
    loaded = serializer.loads(serializer.dumps(value))
    assert loaded == value
    assert isinstance(loaded["_flashes"][0], tuple)
    assert isinstance(loaded["html"], Markup)


def test_tag_naive_datetime_loads_as_utc() -> None:
    serializer = TaggedJSONSerializer()
    loaded = serializer.loads(serializer.dumps(datetime(2024, 1, 2, 3, 4, 5, 999)))
    assert loaded == AWARE


def test_tag_loads_bytes_and_unknown_keys() -> None:
    serializer = TaggedJSONSerializer()
    assert serializer.loads(b'{" t":[1]}') == (1,)
    assert serializer.loads('{" x":1}') == {" x": 1}
    assert serializer.loads('{" t":[1]," b":""}') == {" t": [1], " b": ""}


def test_tag_unknown_type_raises() -> None:
    with pytest.raises(TypeError, match="Object of type object is not JSON serializable"):
        TaggedJSONSerializer().dumps({"a": object()})


def test_tag_untag_single_object() -> None:
    serializer = TaggedJSONSerializer()
    assert serializer.untag({" t": [1]}) == (1,)
    assert serializer.untag({"a": 1}) == {"a": 1}
    assert serializer.tag({"a": (1,)}) == {"a": {" t": [1]}}
    assert serializer.tag(object) is object


class TagComplex(JSONTag):
    __slots__ = ()
    key = " c"

    def check(self, value: Any) -> bool:
        return isinstance(value, complex)

    def to_json(self, value: Any) -> Any:
        return [value.real, value.imag]

    def to_python(self, value: Any) -> Any:
        return complex(*value)


class TagOrderedTuple(JSONTag):
    __slots__ = ()
    key = " t"

    def check(self, value: Any) -> bool:
        return isinstance(value, tuple)

    def to_json(self, value: Any) -> Any:
        return [self.serializer.tag(item) for item in value]

    def to_python(self, value: Any) -> Any:
        return ("replaced", *value)


def test_register_custom_tag() -> None:
    serializer = TaggedJSONSerializer()
    serializer.register(TagComplex)
    assert serializer.dumps({"z": 1 + 2j}) == '{"z":{" c":[1.0,2.0]}}'
    assert serializer.loads('{"z":{" c":[1.0,2.0]}}') == {"z": 1 + 2j}
    assert serializer.order[-1].key == " c"
    # A one-key dict using the new key is now escaped too.
    assert serializer.dumps({" c": 1}) == '{" di":{" c__":1}}'


def test_register_duplicate_key() -> None:
    serializer = TaggedJSONSerializer()
    with pytest.raises(KeyError, match="' t' is already registered"):
        serializer.register(TagOrderedTuple)
    serializer.register(TagOrderedTuple, force=True, index=0)
    assert serializer.order[0].key == " t"
    assert serializer.loads('{" t":[1]}') == ("replaced", 1)


def test_default_tags_not_shared() -> None:
    first = TaggedJSONSerializer()
    first.register(TagComplex)
    assert " c" not in TaggedJSONSerializer().tags


def test_base_tag_is_abstract() -> None:
    tag = JSONTag(TaggedJSONSerializer())
    for method in (tag.check, tag.to_json, tag.to_python):
        with pytest.raises(NotImplementedError):
            method(1)


def test_tag_interoperates_with_flask() -> None:
    flask_tag = pytest.importorskip("flask.json.tag")
    theirs = flask_tag.TaggedJSONSerializer()
    ours = TaggedJSONSerializer()
    value = {"a": (1, b"x"), "m": Markup("<i>"), "u": UID, "d": AWARE, " t": [1]}
    # Flask sorts keys only inside an app context; compare the parsed JSON.
    assert stdlib_json.loads(ours.dumps(value)) == stdlib_json.loads(theirs.dumps(value))
    assert theirs.loads(ours.dumps(value)) == value
    assert ours.loads(theirs.dumps(value)) == value


leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.binary()
    | st.uuids()
    | st.text().map(Markup)
)
tag_keys = st.sampled_from([" t", " u", " b", " m", " d", " di", " di__", " t__"])
trees = st.recursive(
    leaves,
    lambda children: (
        st.lists(children)
        | st.lists(children).map(tuple)
        | st.dictionaries(st.text() | tag_keys, children)
    ),
    max_leaves=20,
)


@given(trees)
def test_tag_round_trip_property(value: Any) -> None:
    serializer = TaggedJSONSerializer()
    assert serializer.loads(serializer.dumps(value)) == value


# -- the tagged serializer's fast paths ------------------------------------------


@given(trees)
def test_tag_one_pass_loads_matches_tree_walk(value: Any) -> None:
    # loads() untags while parsing (a JSONDecoder object_hook); it must give
    # what parsing and then untagging the tree gives, types included.
    serializer = TaggedJSONSerializer()
    wire = serializer.dumps(value)
    fast = serializer.loads(wire)
    slow = serializer._untag_tree(stdlib_json.loads(wire))
    assert fast == slow
    assert repr(fast) == repr(slow)


@pytest.mark.usefixtures("app_ctx")
def test_tag_fast_paths_in_an_app_context() -> None:
    serializer = TaggedJSONSerializer()
    value = {"b": [1, (2,)], "a": b"x"}
    # The app's provider sorts keys; compact, as without an app.
    assert serializer.dumps(value) == '{"a":{" b":"eA=="},"b":[1,{" t":[2]}]}'
    assert serializer.loads(serializer.dumps(value)) == value
    assert serializer.dumps({"z": 1, "a": 2}) == '{"a":2,"z":1}'


class RecordingProvider(DefaultJSONProvider):
    calls: list[str]

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        self.calls.append("dumps")
        return super().dumps(obj, **kwargs)

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        self.calls.append("loads")
        return super().loads(s, **kwargs)


def test_tag_uses_a_custom_provider(app_ctx: StubApp) -> None:
    provider = RecordingProvider(app_ctx)  # type: ignore[arg-type]
    provider.calls = []
    app_ctx.json = provider
    serializer = TaggedJSONSerializer()
    wire = serializer.dumps({"a": (1,)})
    assert serializer.loads(wire) == {"a": (1,)}
    assert serializer.dumps({"plain": 1}) == '{"plain":1}'
    assert provider.calls == ["dumps", "loads", "dumps"]


def test_tag_subclass_untag_tree_is_used() -> None:
    class Upper(TaggedJSONSerializer):
        __slots__ = ()

        def _untag_tree(self, value: Any) -> Any:
            return super()._untag_tree(value) if not isinstance(value, str) else value.upper()

    assert Upper().loads('"abc"') == "ABC"
    assert TaggedJSONSerializer().loads('"abc"') == "abc"


@pytest.mark.parametrize("wire", [' {"a":1}', '{"a":1} ', "\ufeff{}", "{} x", ""])
def test_tag_loads_edge_input_as_json_loads(wire: str) -> None:
    serializer = TaggedJSONSerializer()
    try:
        expected = stdlib_json.loads(wire)
    except ValueError as error:
        with pytest.raises(type(error)):
            serializer.loads(wire)
    else:
        assert serializer.loads(wire) == expected


# -- the kept C encoder and the UTF-8 fast path of loads -------------------------

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(_json_values)
def test_kept_encoder_matches_json_dumps(value: Any) -> None:
    from microframe import Microframe

    provider = DefaultJSONProvider(Microframe(__name__))
    expected = stdlib_json.dumps(value, sort_keys=True, separators=(",", ":"))
    assert provider._encoder(True).encode(value) == expected
    assert provider._encoder(None).encode(value) == stdlib_json.dumps(value, sort_keys=True)
    assert provider._encoder(False).encode(value) == stdlib_json.dumps(value, sort_keys=True, indent=2)


def test_kept_encoder_recovers_from_errors() -> None:
    from microframe import Microframe

    encoder = DefaultJSONProvider(Microframe(__name__))._encoder(True)
    loop: list[Any] = []
    loop.append({"again": loop})
    for _ in range(2):  # the markers of the failed call must not linger
        with pytest.raises(ValueError, match="Circular reference"):
            encoder.encode(loop)
        with pytest.raises(TypeError, match="not JSON serializable"):
            encoder.encode({"a": [object()]})
        assert encoder.encode({"a": [1, {"b": None}]}) == '{"a":[1,{"b":null}]}'


def test_kept_encoder_is_safe_across_threads() -> None:
    import threading

    from microframe import Microframe

    encoder = DefaultJSONProvider(Microframe(__name__))._encoder(True)
    shared = {"items": [{"n": n, "tags": ["x"] * 20} for n in range(200)]}
    expected = stdlib_json.dumps(shared, sort_keys=True, separators=(",", ":"))
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(50):
                assert encoder.encode(shared) == expected
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors


@pytest.mark.parametrize(
    "data",
    [
        b'{"a": 1}',
        b"[1, 2]",
        '{"é": "ü"}'.encode(),
        '{"a": "x"}'.encode("utf-16-le"),
        '{"a": "x"}'.encode("utf-16"),
        '["x"]'.encode("utf-32"),
        b'\xef\xbb\xbf{"bom": true}',
        b'"text"',
        b"12",
    ],
)
def test_loads_reads_every_encoding_json_loads_reads(data: bytes) -> None:
    from microframe import Microframe

    provider = DefaultJSONProvider(Microframe(__name__))
    assert provider.loads(data) == stdlib_json.loads(data)


def test_loads_refuses_what_json_loads_refuses() -> None:
    from microframe import Microframe

    provider = DefaultJSONProvider(Microframe(__name__))
    for bad in (b"{", b'{"a": }', b"[1,]", b'{"a": "\xff"}'):
        with pytest.raises(ValueError):
            provider.loads(bad)


@pytest.mark.parametrize(
    "data",
    [b'{"a": 1}  \r\n\t', b'{"a": 1} x', b"[1] [2]", b'{"a": 1}\xc2\xa0', b"[1]\x00", b"{}"],
)
def test_loads_trailing_data_as_json_loads(data: bytes) -> None:
    from microframe import Microframe

    provider = DefaultJSONProvider(Microframe(__name__))
    try:
        expected = stdlib_json.loads(data)
    except ValueError as error:
        with pytest.raises(type(error)):
            provider.loads(data)
    else:
        assert provider.loads(data) == expected
