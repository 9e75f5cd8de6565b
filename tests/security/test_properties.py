"""Property tests: arbitrary requests against an app with every kind of route.

Whatever the path, query, headers and body, the app must answer with one
well-formed ASGI response (checked by :func:`asgi_driver.check_messages`),
never a 500, and never let an exception escape the ASGI callable.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote_from_bytes

import pytest
from asgi_driver import Req, run_asgi
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from security_app import SECRET, make_app

from microframe import Microframe

ROUTES = [
    "",
    "files",
    "static",
    "int",
    "float",
    "uuid",
    "name",
    "session",
    "redirect",
    "cookie",
    "stream",
    "json",
    "json-silent",
    "form",
    "upload",
    "sync-form",
    "data",
    "text",
    "chunks",
    "echo",
    "template",
    "conditional",
    "download",
    "raw-file",
    "dates",
]
HEADER_NAMES = [
    b"content-type",
    b"content-length",
    b"cookie",
    b"range",
    b"if-range",
    b"if-modified-since",
    b"if-none-match",
    b"if-match",
    b"if-unmodified-since",
    b"accept",
    b"accept-encoding",
    b"accept-language",
    b"authorization",
    b"user-agent",
    b"x-forwarded-for",
    b"origin",
    b"referer",
    b"transfer-encoding",
]
CONTENT_TYPES = [
    b"application/json",
    b"application/x-www-form-urlencoded",
    b"multipart/form-data",
    b"multipart/form-data; boundary=b",
    b"text/plain; charset=utf-16",
    b"application/json; charset=latin-1",
    b'multipart/form-data; boundary="b',
]

# Text a server could put in a decoded ASGI path: any code point but the
# surrogates, which UTF-8 decoding (with replacement) never produces.
path_text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=20)
segment = st.one_of(st.sampled_from(ROUTES), path_text, st.sampled_from(["..", ".", "", "%2e"]))
ROUTE_PATHS = [
    "/",
    "/echo",
    "/files/report.txt",
    "/files/a b.txt",
    "/static/hello.txt",
    "/int/5",
    "/float/1.5",
    "/uuid/12345678-1234-5678-1234-567812345678",
    "/name/x",
    "/session",
    "/redirect",
    "/cookie",
    "/stream",
    "/json",
    "/json-silent",
    "/form",
    "/upload",
    "/sync-form",
    "/data",
    "/text",
    "/chunks",
    "/template",
    "/conditional",
    "/download",
    "/raw-file",
    "/dates",
]
random_paths = st.lists(segment, min_size=1, max_size=5).map(lambda parts: "/" + "/".join(parts))
# Mostly paths that reach a view, so the view's parsing is exercised too.
paths = st.one_of(
    st.sampled_from(ROUTE_PATHS),
    random_paths,
    st.tuples(
        st.sampled_from(["/files/", "/static/", "/name/", "/int/", "/float/", "/uuid/"]), path_text
    ).map("".join),
)
# Header values as HTTP servers deliver them: bytes without CR, LF or NUL.
header_value = st.binary(max_size=80).map(
    lambda raw: raw.replace(b"\r", b"").replace(b"\n", b"").replace(b"\0", b"")
)
interesting_value = st.sampled_from(
    [
        b"bytes=0-5",
        b"bytes=-3",
        b"bytes=9-1",
        b"bytes=0-0,1-1",
        b"*",
        b'"x"',
        b'W/"x"',
        b"Thu, 01 Jan 1970 00:00:00 GMT",
        b"Fri, 31 Dec 9999 23:59:59 GMT",
        b"-1",
        b"0",
        b"999999999999",
        b"session=x.y.z",
        b"session=",
        b"chunked",
    ]
)
headers = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(HEADER_NAMES), st.one_of(header_value, interesting_value)),
        st.tuples(st.just(b"content-type"), st.sampled_from(CONTENT_TYPES)),
    ),
    max_size=6,
).map(tuple)


def _multipart(fields: list[tuple[bytes, bytes, bool]]) -> bytes:
    out = b""
    for name, value, is_file in fields:
        disposition = b'form-data; name="' + name + b'"'
        if is_file:
            disposition += b'; filename="' + name + b'.bin"'
        out += b"--b\r\nContent-Disposition: " + disposition + b"\r\n\r\n" + value + b"\r\n"
    return out + b"--b--\r\n"


multipart_bodies = st.lists(
    st.tuples(st.binary(max_size=10), st.binary(max_size=40), st.booleans()), max_size=4
).map(_multipart)
bodies = st.one_of(
    st.binary(max_size=200),
    multipart_bodies,
    multipart_bodies.map(lambda body: body[: len(body) // 2]),
    st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5)),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=3), inner, max_size=3)
        ),
        max_leaves=10,
    ).map(lambda value: repr(value).encode()),
)
queries = st.one_of(
    st.binary(max_size=60),
    st.lists(
        st.tuples(st.sampled_from([b"to", b"n", b"name", b"value", b"blob"]), st.binary(max_size=30)),
        max_size=4,
    ).map(lambda pairs: b"&".join(k + b"=" + quote_from_bytes(v).encode() for k, v in pairs)),
)


@st.composite
def requests(draw: st.DrawFn) -> Req:
    body = draw(bodies)
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=3)))
    chunks = tuple(body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True))
    return Req(
        method=draw(
            st.sampled_from(["GET", "GET", "POST", "POST", "HEAD", "PUT", "OPTIONS", "DELETE", "BREW"])
        ),
        path=draw(paths),
        query=draw(queries),
        headers=draw(headers),
        chunks=chunks,
    )


@pytest.fixture(scope="module")
def app() -> Iterator[Microframe]:
    with tempfile.TemporaryDirectory() as site:
        app = make_app(Path(site))
        yield app
        if app._sync_pool is not None:
            app._sync_pool.shutdown()


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def check(app: Microframe, loop: asyncio.AbstractEventLoop, req: Req) -> None:
    result = loop.run_until_complete(run_asgi(app, req))
    assert result.status != 500, (req, result.body[:300])
    assert b"Traceback" not in result.body
    assert SECRET not in result.body
    if req.method == "HEAD":
        assert result.body == b""


FAST = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@FAST
@given(req=requests())
def test_any_request_gets_a_well_formed_answer(
    app: Microframe, loop: asyncio.AbstractEventLoop, req: Req
) -> None:
    check(app, loop, req)


@FAST
@given(path=paths, query=queries)
def test_any_get(app: Microframe, loop: asyncio.AbstractEventLoop, path: str, query: bytes) -> None:
    check(app, loop, Req("GET", path, query))


# HTTP dates with any integer in each field, some far past what a C integer holds.
_date_number = st.one_of(st.integers(0, 99), st.integers(0, 10**30), st.integers(-(10**30), -1))
http_dates = st.tuples(
    st.sampled_from(["Mon", "Fri", "Xyz"]),
    _date_number,
    st.sampled_from(["Jan", "Dec", "Foo"]),
    _date_number,
    _date_number,
    st.sampled_from(["GMT", "+0000", "-2359", "+99999999999999999999", ""]),
).map(lambda p: f"{p[0]}, {p[1]} {p[2]} {p[3]} {p[4]}:00:00 {p[5]}".encode())


@FAST
@given(
    path=st.sampled_from(["/conditional", "/files/report.txt", "/static/hello.txt", "/dates"]),
    name=st.sampled_from([b"if-modified-since", b"if-unmodified-since", b"if-range", b"date"]),
    date=http_dates,
)
def test_any_date_header(
    app: Microframe, loop: asyncio.AbstractEventLoop, path: str, name: bytes, date: bytes
) -> None:
    check(app, loop, Req("GET", path, b"", ((name, date), (b"range", b"bytes=0-1"))))


@FAST
@given(
    route=st.sampled_from(["/json", "/form", "/sync-form", "/upload", "/text", "/session"]),
    content_type=st.sampled_from(CONTENT_TYPES),
    body=bodies,
)
def test_any_body(
    app: Microframe, loop: asyncio.AbstractEventLoop, route: str, content_type: bytes, body: bytes
) -> None:
    check(app, loop, Req("POST", route, b"", ((b"content-type", content_type),), body))


@FAST
@given(name=path_text, value=header_value)
def test_any_file_name_and_cookie(
    app: Microframe, loop: asyncio.AbstractEventLoop, name: str, value: bytes
) -> None:
    check(app, loop, Req("GET", "/files/" + name))
    check(app, loop, Req("GET", "/static/" + name))
    check(app, loop, Req("GET", "/session", b"", ((b"cookie", b"session=" + value),)))
    check(app, loop, Req("GET", "/redirect", b"to=" + quote_from_bytes(name.encode()).encode()))
