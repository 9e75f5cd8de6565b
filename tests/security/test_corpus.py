"""A corpus of hostile and malformed requests, sent through the ASGI interface.

Each case names a request and the exact status it must get. Every case is
also held to the same rules: never a 500, never a traceback or the secret
file in the body, a well-formed ASGI response, no header split by CR or LF,
and the app answers a plain request normally afterwards.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from asgi_driver import Req, Result, run_asgi
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from security_app import OLD_KEY, PUBLIC, SECRET, SECRET_KEY, make_app

from microframe import Microframe
from microframe.json.tag import TaggedJSONSerializer

JSON = (b"content-type", b"application/json")
URLENCODED = (b"content-type", b"application/x-www-form-urlencoded")
BOUNDARY = b"----corpus"
MULTIPART = (b"content-type", b"multipart/form-data; boundary=" + BOUNDARY)


def get(path: str, query: bytes = b"", *headers: tuple[bytes, bytes], **kw: Any) -> Req:
    return Req("GET", path, query, tuple(headers), **kw)


def post(path: str, body: bytes, *headers: tuple[bytes, bytes], **kw: Any) -> Req:
    return Req("POST", path, b"", tuple(headers), body, **kw)


def part(headers: bytes, content: bytes = b"v") -> bytes:
    """One multipart part, with its leading delimiter."""
    return b"--" + BOUNDARY + b"\r\n" + headers + b"\r\n\r\n" + content + b"\r\n"


def in_pieces(data: bytes, size: int = 1_000) -> tuple[bytes, ...]:
    """``data`` as a client trickling it in ``size``-byte messages would send it."""
    return tuple(data[i : i + size] for i in range(0, len(data), size))


def multipart(*parts: bytes) -> bytes:
    return b"".join(parts) + b"--" + BOUNDARY + b"--\r\n"


def file_part(filename: bytes, name: bytes = b"file") -> bytes:
    disposition = b'Content-Disposition: form-data; name="%s"; filename="%s"' % (name, filename)
    return part(disposition, b"file data")


def field(name: bytes, value: bytes = b"v") -> bytes:
    return part(b'Content-Disposition: form-data; name="%s"' % name, value)


def session_cookie(data: dict[str, Any], key: str, age: float = 0) -> bytes:
    """A session cookie signed with ``key``, ``age`` seconds old."""

    class Signer(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time() - age)

    serializer = URLSafeTimedSerializer(
        key,
        salt="cookie-session",
        serializer=TaggedJSONSerializer(),
        signer=Signer,
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha1},
    )
    return b"session=" + serializer.dumps(data).encode()


GOOD_SESSION = session_cookie({"count": 41}, SECRET_KEY)

#: Dates whose numbers do not fit a C integer, one field at a time.
OVERFLOWING_DATES = {
    "year": b"Fri, 31 Dec 99999999999999999999 23:59:59 GMT",
    "day": b"Fri, 99999999999999999999 Dec 2020 23:59:59 GMT",
    "hour": b"Fri, 31 Dec 2020 99999999999999999999:59:59 GMT",
    "zone": b"Fri, 31 Dec 2020 23:59:59 +99999999999999999999",
}
DATE_HEADERS = (b"date", b"if-modified-since", b"if-unmodified-since", b"if-range")


def tampered(cookie: bytes) -> bytes:
    # Flip one character of the payload: the signature no longer matches.
    name, _, value = cookie.partition(b"=")
    flipped = bytes([value[0] ^ 1]) + value[1:]
    return name + b"=" + flipped


def body_is(expected: bytes) -> Callable[[Result], bool]:
    return lambda result: result.body == expected


def body_has(fragment: bytes) -> Callable[[Result], bool]:
    return lambda result: fragment in result.body


def no_cookie(result: Result) -> bool:
    return not result.header_list(b"set-cookie")


def one_quoted_cookie(result: Result) -> bool:
    cookies = result.header_list(b"set-cookie")
    return len(cookies) == 1 and cookies[0].startswith(b'pref="')


@dataclass(frozen=True)
class Case:
    id: str
    request: Req
    status: int
    check: Callable[[Result], bool] | None = None


CASES: list[Case] = [
    # -- JSON: malformed, deep, wrong type, wrong encoding -----------------
    Case("json-garbage", post("/json", b"{bad", JSON), 400),
    Case("json-empty-body", post("/json", b"", JSON), 400),
    Case("json-truncated", post("/json", b'{"a": [1, 2', JSON), 400),
    Case("json-trailing-garbage", post("/json", b'{"a": 1} x', JSON), 400),
    Case("json-invalid-utf8", post("/json", b'"\xff\xfe\xfd"', JSON), 400),
    Case("json-nul-bytes", post("/json", b"\0\0\0\0", JSON), 400),
    Case("json-deep-arrays", post("/json", b"[" * 50_000, JSON), 400),
    Case("json-deep-objects", post("/json", b'{"a":' * 12_000, JSON), 400),
    Case("json-deep-valid", post("/json", b"[" * 30_000 + b"]" * 30_000, JSON), 400),
    Case(
        "json-deep-silent",
        post("/json-silent", b"[" * 50_000, JSON),
        200,
        body_is(b'{"kind":"NoneType"}\n'),
    ),
    Case("json-huge-number", post("/json", b"9" * 20_000, JSON), 400),
    Case("json-overflowing-float", post("/json", b"1e999999", JSON), 200),
    Case("json-lone-surrogate-escape", post("/json", b'"\\ud800"', JSON), 200),
    Case("json-text-plain", post("/json", b"{}", (b"content-type", b"text/plain")), 415),
    Case("json-no-content-type", post("/json", b"{}"), 415),
    Case("json-as-form-type", post("/json", b"{}", URLENCODED), 415),
    Case(
        "json-utf16-declared-utf16",
        post("/json", '{"a": 1}'.encode("utf-16"), (b"content-type", b"application/json; charset=utf-16")),
        200,
        body_is(b'{"kind":"dict"}\n'),
    ),
    Case(
        "json-latin1-declared-utf8",
        post("/json", '"caf\xe9"'.encode("latin-1"), (b"content-type", b"application/json; charset=utf-8")),
        400,
    ),
    Case(
        "json-bogus-charset", post("/json", b"{}", (b"content-type", b"application/json; charset=bogus")), 200
    ),
    Case("json-over-max-content-length", post("/json", b"[" + b"1," * 40_000 + b"1]", JSON), 413),
    # -- content types and text bodies ------------------------------------
    Case("form-sent-as-json", post("/form", b'{"a": 1}', JSON), 200, body_is(b'{"fields":[],"files":[]}\n')),
    Case("form-garbage-content-type", post("/form", b"a=b", (b"content-type", b"\xff\xfe;;;=")), 200),
    Case(
        "form-content-type-unclosed-quote",
        post("/form", b"a=b", (b"content-type", b'multipart/form-data; boundary="abc')),
        400,
    ),
    Case(
        "text-invalid-utf8",
        post("/text", b"\xff\xfe\xfd", (b"content-type", b"text/plain; charset=utf-8")),
        200,
    ),
    Case("text-bogus-charset", post("/text", b"abc", (b"content-type", b"text/plain; charset=bogus")), 200),
    # -- urlencoded forms ---------------------------------------------------
    Case(
        "urlencoded-bad-escapes",
        post("/form", b"a=%ff%fe&b=%zz&&=&c&%", URLENCODED),
        200,
        body_has(b'"fields":["","%","a","b","c"]'),
    ),
    Case("urlencoded-latin1-body", post("/form", "n=caf\xe9".encode("latin-1"), URLENCODED), 200),
    Case(
        "urlencoded-bogus-charset",
        post("/form", b"a=b", (b"content-type", b"application/x-www-form-urlencoded; charset=bogus")),
        200,
    ),
    Case(
        "urlencoded-too-many-fields",
        post("/form", b"&".join(b"a%d=1" % i for i in range(51)), URLENCODED),
        413,
    ),
    Case("urlencoded-over-form-memory", post("/form", b"a=" + b"x" * 9_000, URLENCODED), 413),
    Case("urlencoded-sync-view-over-form-memory", post("/sync-form", b"a=" + b"x" * 9_000, URLENCODED), 413),
    # -- multipart ----------------------------------------------------------
    Case("multipart-no-boundary", post("/form", b"--x\r\n", (b"content-type", b"multipart/form-data")), 400),
    Case(
        "multipart-empty-boundary",
        post("/form", b"--x\r\n", (b"content-type", b"multipart/form-data; boundary=")),
        400,
    ),
    Case(
        "multipart-non-ascii-boundary",
        post("/form", b"--x\r\n", (b"content-type", "multipart/form-data; boundary=\xe9".encode("latin-1"))),
        400,
    ),
    Case(
        "multipart-huge-boundary",
        post("/form", b"--x\r\n", (b"content-type", b"multipart/form-data; boundary=" + b"b" * 5_000)),
        400,
    ),
    Case(
        "multipart-wrong-boundary",
        post("/form", multipart(field(b"a")).replace(BOUNDARY, b"other"), MULTIPART),
        400,
    ),
    Case("multipart-truncated-in-data", post("/form", field(b"a", b"value without end"), MULTIPART), 400),
    Case(
        "multipart-truncated-in-headers",
        post("/form", b"--" + BOUNDARY + b"\r\nContent-Disp", MULTIPART),
        400,
    ),
    Case("multipart-truncated-sync-view", post("/sync-form", field(b"a"), MULTIPART), 400),
    Case("multipart-header-without-colon", post("/form", multipart(part(b"no colon here")), MULTIPART), 400),
    Case(
        "multipart-huge-part-header",
        post(
            "/form",
            b"",
            MULTIPART,
            chunks=in_pieces(
                multipart(part(b'Content-Disposition: form-data; name="a"\r\nX-Big: ' + b"h" * 20_000))
            ),
        ),
        413,
    ),
    Case(
        "multipart-huge-preamble",
        post("/form", b"", MULTIPART, chunks=in_pieces(b"p" * 20_000 + multipart(field(b"a")))),
        413,
    ),
    Case(
        "multipart-too-many-parts",
        post("/form", multipart(*(field(b"f%d" % i) for i in range(51))), MULTIPART),
        413,
    ),
    Case(
        "multipart-field-over-form-memory",
        post("/form", multipart(field(b"a", b"x" * 9_000)), MULTIPART),
        413,
    ),
    Case(
        "multipart-file-over-form-memory-is-fine",
        post(
            "/form",
            multipart(part(b'Content-Disposition: form-data; name="f"; filename="big.bin"', b"x" * 20_000)),
            MULTIPART,
        ),
        200,
        body_has(b'"files":["big.bin"]'),
    ),
    Case(
        "multipart-over-max-content-length",
        post("/form", multipart(file_part(b"x" * 10) + b"y" * 70_000), MULTIPART),
        413,
    ),
    Case(
        "multipart-part-without-name",
        post("/form", multipart(part(b"Content-Disposition: form-data")), MULTIPART),
        200,
        body_is(b'{"fields":[],"files":[]}\n'),
    ),
    Case(
        "multipart-invalid-utf8-names",
        post("/form", multipart(file_part(b"\xff\xfe", b"a\xff")), MULTIPART),
        400,
    ),
    Case(
        "multipart-bogus-part-charset",
        post(
            "/form",
            multipart(
                part(b'Content-Disposition: form-data; name="a"\r\nContent-Type: text/plain; charset=bogus')
            ),
            MULTIPART,
        ),
        200,
    ),
    Case("multipart-epilogue-garbage", post("/form", multipart(field(b"a")) + b"\0" * 1_000, MULTIPART), 200),
    Case("multipart-empty-body", post("/form", b"", MULTIPART), 200, body_is(b'{"fields":[],"files":[]}\n')),
    # -- uploaded file names ------------------------------------------------
    Case(
        "upload-dotdot",
        post("/upload", multipart(file_part(b"../../etc/passwd")), MULTIPART),
        200,
        body_is(b'{"saved":["etc_passwd"]}\n'),
    ),
    Case(
        "upload-absolute-path",
        post("/upload", multipart(file_part(b"/etc/cron.d/evil")), MULTIPART),
        200,
        body_is(b'{"saved":["etc_cron.d_evil"]}\n'),
    ),
    Case(
        "upload-nul-byte",
        post("/upload", multipart(file_part(b"shell.php\0.png")), MULTIPART),
        200,
        body_is(b'{"saved":["shell.php.png"]}\n'),
    ),
    Case(
        "upload-windows-path",
        post("/upload", multipart(file_part(b"..\\..\\windows\\win.ini")), MULTIPART),
        200,
        body_is(b'{"saved":["windowswin.ini"]}\n'),
    ),
    Case("upload-only-dots", post("/upload", multipart(file_part(b"..")), MULTIPART), 400),
    Case(
        "upload-name-past-os-limit",
        post("/upload", multipart(file_part(b"n" * 1_000 + b".txt")), MULTIPART),
        200,
        body_has(b'"saved":["nnnn'),
    ),
    Case("upload-missing-file", post("/upload", multipart(field(b"other")), MULTIPART), 400),
    # -- bodies: sizes, lengths, slowness, disconnects ---------------------
    Case("body-declared-too-large", post("/data", b"x", (b"content-length", b"99999999")), 413),
    Case("body-too-large-without-length", post("/data", b"", chunks=(b"x" * 40_000, b"x" * 40_000)), 413),
    Case("body-too-large-streamed", post("/chunks", b"", chunks=(b"x" * 40_000,) * 3), 413),
    Case(
        "body-negative-length",
        post("/data", b"x", (b"content-length", b"-5")),
        200,
        body_is(b'{"length":1}\n'),
    ),
    Case(
        "body-non-numeric-length",
        post("/data", b"x", (b"content-length", b"1e3")),
        200,
        body_is(b'{"length":1}\n'),
    ),
    Case("body-slow-raw", post("/data", b"", chunks=(b"x",), stall=True), 408),
    Case(
        "body-slow-multipart",
        post("/form", b"", MULTIPART, chunks=(b"--" + BOUNDARY + b"\r\n",), stall=True),
        408,
    ),
    Case("body-slow-json", post("/json", b"", JSON, chunks=(b"[1,",), stall=True), 408),
    Case("body-client-gone", post("/data", b"", chunks=(b"x",), disconnect=True), 0),
    Case(
        "body-client-gone-in-form", post("/form", b"", MULTIPART, chunks=(field(b"a"),), disconnect=True), 0
    ),
    # -- paths: traversal in send_from_directory and static ----------------
    Case("files-ok", get("/files/report.txt"), 200, body_is(PUBLIC * 100)),
    Case("files-plain-dotdot", get("/files/../secret.txt"), 404),
    Case("files-nested-dotdot", get("/files/sub/../../secret.txt"), 404),
    Case("files-encoded-dotdot", get("/files/../secret.txt", raw_path=b"/files/%2e%2e%2fsecret.txt"), 404),
    Case(
        "files-double-encoded",
        get("/files/%2e%2e%2fsecret.txt", raw_path=b"/files/%252e%252e%252fsecret.txt"),
        404,
    ),
    Case("files-backslash", get("/files/..\\secret.txt"), 404),
    Case("files-backslash-absolute", get("/files/\\etc\\passwd"), 404),
    Case(
        "files-absolute",
        get("/files//etc/passwd"),
        308,
        lambda r: r.header(b"location") == b"http://localhost/files/etc/passwd",
    ),
    Case("files-nul-byte", get("/files/report.txt\0.png"), 404),
    # Found by Hypothesis: the slash-merging redirect would carry the NUL.
    Case("files-redirect-with-nul-query", get("/files//files", b"\x00"), 400),
    Case("files-directory", get("/files/."), 404),
    Case("files-name-past-name-max", get("/files/" + "a" * 300), 404),
    Case("files-path-past-path-max", get("/files/" + "a/" * 3_000 + "b"), 404),
    Case("files-path-past-our-limit", get("/files/" + "a" * 5_000), 404),
    Case("files-non-utf8-name", get("/files/\ufffd\ufffd"), 404),
    Case("static-ok", get("/static/sub/deep.txt"), 200, body_is(PUBLIC)),
    Case("static-dotdot", get("/static/../secret.txt"), 404),
    Case(
        "static-encoded-dotdot",
        get("/static/sub/../../secret.txt", raw_path=b"/static/sub/..%2f..%2fsecret.txt"),
        404,
    ),
    Case("static-backslash", get("/static/..\\secret.txt"), 404),
    Case(
        "static-absolute",
        get("/static//etc/passwd"),
        308,
        lambda r: r.header(b"location") == b"http://localhost/static/etc/passwd",
    ),
    Case("static-dotdot-into-files", get("/static/../files/report.txt"), 404),
    # -- Range and conditional headers --------------------------------------
    Case("range-garbage", get("/files/report.txt", b"", (b"range", b"bytes=abc")), 200),
    Case("range-past-end", get("/files/report.txt", b"", (b"range", b"bytes=999999-")), 416),
    Case("range-reversed", get("/files/report.txt", b"", (b"range", b"bytes=5-1")), 200),
    Case("range-multiple", get("/files/report.txt", b"", (b"range", b"bytes=0-1,3-4")), 416),
    Case("range-unknown-unit", get("/files/report.txt", b"", (b"range", b"lines=0-1")), 200),
    Case(
        "range-huge-suffix", get("/files/report.txt", b"", (b"range", b"bytes=-99999999999999999999999")), 206
    ),
    Case(
        "range-huge-end", get("/files/report.txt", b"", (b"range", b"bytes=0-99999999999999999999999")), 206
    ),
    Case("range-negative-start", get("/files/report.txt", b"", (b"range", b"bytes=--5")), 200),
    Case(
        "range-on-memory-body", get("/conditional", b"", (b"range", b"bytes=5-9")), 206, body_is(PUBLIC[5:10])
    ),
    Case(
        "range-bad-if-range", get("/conditional", b"", (b"range", b"bytes=0-1"), (b"if-range", b'W/"x')), 200
    ),
    Case(
        "if-modified-since-garbage",
        get("/files/report.txt", b"", (b"if-modified-since", b"Mon, 99 Foo 99999 99:99:99 GMT")),
        200,
    ),
    Case(
        "if-modified-since-year-9999",
        get("/files/report.txt", b"", (b"if-modified-since", b"Fri, 31 Dec 9999 23:59:59 GMT")),
        304,
        body_is(b""),
    ),
    Case(
        "if-modified-since-year-1",
        get("/files/report.txt", b"", (b"if-modified-since", b"Mon, 01 Jan 0001 00:00:00 GMT")),
        200,
    ),
    Case(
        "if-modified-since-year-99999",
        get("/files/report.txt", b"", (b"if-modified-since", b"Fri, 31 Dec 99999 23:59:59 GMT")),
        200,
    ),
    Case(
        "if-modified-since-epoch-overflow",
        get("/conditional", b"", (b"if-modified-since", b"99999999999999999999")),
        200,
    ),
    Case(
        "if-unmodified-since-garbage",
        get("/files/report.txt", b"", (b"if-unmodified-since", b"garbage")),
        200,
    ),
    Case(
        "if-range-date-out-of-range",
        get(
            "/files/report.txt",
            b"",
            (b"if-range", b"Fri, 31 Dec 99999 23:59:59 GMT"),
            (b"range", b"bytes=0-1"),
        ),
        200,
    ),
    # A date whose numbers overflow a C integer: werkzeug's parsing raises
    # OverflowError; the header is ignored (RFC 9110 13.1.3), never a 500.
    *(
        Case(
            f"if-modified-since-overflow-{where}-{field}",
            get(path, b"", (b"if-modified-since", value)),
            200,
        )
        for where, path in (("file", "/files/report.txt"), ("memory", "/conditional"),
                            ("static", "/static/hello.txt"))
        for field, value in OVERFLOWING_DATES.items()
    ),
    Case(
        "if-modified-since-overflow-with-if-none-match",
        get("/conditional", b"", (b"if-modified-since", OVERFLOWING_DATES["year"]),
            (b"if-none-match", b"*")),
        304,
    ),
    Case(
        "if-unmodified-since-overflow",
        get("/files/report.txt", b"", (b"if-unmodified-since", OVERFLOWING_DATES["year"])),
        200,
    ),
    Case(
        "if-range-overflow",
        get("/files/report.txt", b"", (b"if-range", OVERFLOWING_DATES["year"]), (b"range", b"bytes=0-1")),
        200,
        lambda r: r.body == PUBLIC * 100,
    ),
    *(
        Case(
            f"request-date-properties-overflow-{field}",
            get("/dates", b"", *((name, value) for name in DATE_HEADERS)),
            200,
            body_is(b'{"date":false,"if_modified_since":false,"if_range":false,"if_unmodified_since":false}\n'),
        )
        for field, value in OVERFLOWING_DATES.items()
    ),
    Case(
        "request-date-properties-valid",
        get("/dates", b"", *((name, b"Sun, 06 Nov 1994 08:49:37 GMT") for name in DATE_HEADERS)),
        200,
        body_is(b'{"date":true,"if_modified_since":true,"if_range":true,"if_unmodified_since":true}\n'),
    ),
    Case("if-none-match-invalid-bytes", get("/conditional", b"", (b"if-none-match", b"\xff\xfe")), 200),
    Case("if-none-match-star", get("/conditional", b"", (b"if-none-match", b"*")), 304),
    Case("if-match-mismatch", get("/conditional", b"", (b"if-match", b'"nope"')), 412),
    # -- header and cookie injection ----------------------------------------
    Case("redirect-crlf", get("/redirect", b"to=/a%0d%0aSet-Cookie:%20x=1"), 400, no_cookie),
    Case("redirect-lf", get("/redirect", b"to=/a%0aX-Injected:%201"), 400),
    Case("redirect-nul", get("/redirect", b"to=/a%00b"), 400),
    Case("redirect-invalid-ipv6", get("/redirect", b"to=http://[::1"), 400),
    Case("redirect-invalid-utf8", get("/redirect", b"to=%ff"), 302),
    Case(
        "redirect-double-encoded-crlf",
        get("/redirect", b"to=/a%250d%250a"),
        302,
        lambda r: r.header(b"location") == b"/a%0d%0a",
    ),
    Case("cookie-crlf", get("/cookie", b"value=a%0d%0aSet-Cookie:%20x=1"), 200, one_quoted_cookie),
    Case("cookie-semicolon", get("/cookie", b"value=a;%20Domain=evil.com"), 200, one_quoted_cookie),
    Case("cookie-non-latin1", get("/cookie", b"value=%E2%82%AC"), 200, one_quoted_cookie),
    Case(
        "download-name-crlf",
        get("/download", b"name=a%0d%0aX-Injected:%201.txt"),
        200,
        lambda r: r.header(b"x-injected") is None,
    ),
    Case(
        "download-name-quotes",
        get("/download", b"name=a%22;%20filename=evil.exe"),
        200,
        lambda r: b'filename="a' in (r.header(b"content-disposition") or b""),
    ),
    Case(
        "download-name-non-ascii",
        get("/download", b"name=r%C3%A9sum%C3%A9.txt"),
        200,
        lambda r: b"filename*=UTF-8''r%C3%A9sum%C3%A9.txt" in (r.header(b"content-disposition") or b""),
    ),
    # -- session cookies ----------------------------------------------------
    Case("session-valid", get("/session", b"", (b"cookie", GOOD_SESSION)), 200, body_is(b'{"count":41}\n')),
    Case(
        "session-tampered",
        get("/session", b"", (b"cookie", tampered(GOOD_SESSION))),
        200,
        body_is(b'{"count":0}\n'),
    ),
    Case(
        "session-truncated",
        get("/session", b"", (b"cookie", GOOD_SESSION[:-10])),
        200,
        body_is(b'{"count":0}\n'),
    ),
    Case(
        "session-payload-only",
        get("/session", b"", (b"cookie", GOOD_SESSION.split(b".")[0])),
        200,
        body_is(b'{"count":0}\n'),
    ),
    Case(
        "session-old-key",
        get("/session", b"", (b"cookie", session_cookie({"count": 7}, OLD_KEY))),
        200,
        body_is(b'{"count":0}\n'),
    ),
    Case(
        "session-expired",
        get("/session", b"", (b"cookie", session_cookie({"count": 7}, SECRET_KEY, age=3 * 86400))),
        200,
        body_is(b'{"count":0}\n'),
    ),
    Case(
        "session-from-the-future",
        get("/session", b"", (b"cookie", session_cookie({"count": 7}, SECRET_KEY, age=-86400))),
        200,
    ),
    Case(
        "session-not-a-dict",
        get("/session", b"", (b"cookie", session_cookie([1, 2], SECRET_KEY))),
        200,
        body_is(b'{"count":0}\n'),
    ),  # type: ignore[arg-type]
    Case(
        "session-oversized",
        get("/session", b"", (b"cookie", b"session=" + b"A" * 100_000)),
        200,
        body_is(b'{"count":0}\n'),
    ),
    Case(
        "session-invalid-bytes",
        get("/session", b"", (b"cookie", b"session=\xff\xfe.\x00")),
        200,
        body_is(b'{"count":0}\n'),
    ),
    Case(
        "session-garbage-cookie-header",
        get("/session", b"", (b"cookie", b"=; ;;;; =\xff; session")),
        200,
        body_is(b'{"count":0}\n'),
    ),
    Case("session-huge-write", Req("POST", "/session", b"blob=" + b"x" * 10_000), 200),
    # -- methods, hosts, paths, converters, query strings ------------------
    Case("method-unknown", Req("FOO", "/"), 405),
    Case("method-webdav", Req("PROPFIND", "/files/report.txt"), 405),
    Case("method-with-nul", Req("GET\0", "/"), 405),
    Case("method-trace", Req("TRACE", "/"), 405),
    Case("method-options-star", Req("OPTIONS", "*"), 404),
    Case("host-invalid-bytes", get("/", host=b"\xff\xfe"), 200),
    Case("host-huge", get("/", host=b"a" * 70_000), 400),
    Case("host-label-too-long", get("/name/x", host=b"a" * 64 + b".example"), 400),
    Case("host-with-space", get("/echo", host=b"exa mple.com"), 200),
    Case("host-with-path", get("/echo", host=b"evil.com/../x"), 200),
    Case("host-bad-port", get("/echo", host=b"localhost:99999999999"), 200),
    Case("host-unclosed-ipv6", get("/echo", host=b"[::1"), 200),
    Case("host-missing", get("/echo", host=None), 200),
    Case("path-very-long", get("/" + "a" * 100_000), 404),
    Case("path-empty", get(""), 200),
    Case("path-many-slashes", get("/" * 10_000), 200, body_is(b"ok")),
    Case("path-replacement-chars", get("/name/\ufffd", raw_path=b"/name/%ff"), 200),
    Case("path-control-chars", get("/name/\x01\x7f"), 200),
    Case("int-huge", get("/int/" + "9" * 4_000), 200),
    Case("int-negative", get("/int/-1"), 404),
    Case("float-infinite", get("/float/1e999"), 404),
    Case("float-nan", get("/float/nan"), 404),
    Case("uuid-malformed", get("/uuid/not-a-uuid"), 404),
    Case("query-invalid-utf8", get("/echo", b"a=%ff&%fe=b&c"), 200),
    Case("query-raw-bytes", get("/echo", b"a=\xff\xfe\x00"), 200, body_has(b'"a":"%FF%FE\\u0000"')),
    Case("query-many-params", get("/echo", b"&".join(b"k%d=v" % i for i in range(5_000))), 200),
    Case("header-invalid-bytes", get("/echo", b"", (b"user-agent", b"\xff\xfe\x00")), 200),
    Case(
        "header-garbage-accept",
        get("/", b"", (b"accept", b"\xff,*/*;q=abc"), (b"accept-language", b";;;q=2")),
        200,
    ),
    Case(
        "template-injection",
        get("/template", b"name=%7B%7B7*7%7D%7D%3Cscript%3E"),
        200,
        body_is(b"<p>{{7*7}}&lt;script&gt;</p>"),
    ),
    Case("stream-negative-count", get("/stream", b"n=-5"), 200, body_is(b"")),
    Case("stream-non-numeric-count", get("/stream", b"n=abc"), 200, body_is(b"line 0\nline 1\nline 2\n")),
]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Microframe]:
    app = make_app(Path(tmp_path_factory.mktemp("site")))
    yield app
    if app._sync_pool is not None:
        app._sync_pool.shutdown()


def test_the_corpus_is_large_and_unique() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 100


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_hostile_request(app: Microframe, case: Case) -> None:
    result = await run_asgi(app, case.request)
    assert result.status == case.status, result.body[:300]
    assert b"Traceback" not in result.body
    assert b'File "' not in result.body
    assert SECRET not in result.body
    if case.check is not None:
        assert case.check(result), (result.headers, result.body[:300])
    after = await run_asgi(app, Req("GET", "/"))
    assert (after.status, after.body) == (200, b"ok")
