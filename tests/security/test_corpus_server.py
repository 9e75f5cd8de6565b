"""The corpus again, as raw bytes over a socket to a real Hypercorn server.

Here the server's own HTTP parser sits in front of the app, so some cases
are refused before the app sees them (a 400 from Hypercorn); what matters
is that none gets a 500 or a traceback, none reads the secret file, and the
server answers a normal request after each.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from live_server import LiveServer, status_of
from security_app import PUBLIC, SECRET

HERE = Path(__file__).parent


def request(target: bytes, *headers: bytes, method: bytes = b"GET", body: bytes = b"") -> bytes:
    lines = [method + b" " + target + b" HTTP/1.1", b"Host: 127.0.0.1", *headers]
    if body and not any(h.lower().startswith((b"content-length", b"transfer-encoding")) for h in headers):
        lines.append(b"Content-Length: %d" % len(body))
    lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def chunked(*chunks: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"


@dataclass(frozen=True)
class RawCase:
    id: str
    data: bytes
    status: int
    pause: float = 0.0
    contains: bytes | None = None


CASES = [
    RawCase("ok", request(b"/"), 200, contains=b"ok"),
    RawCase("invalid-utf8-path", request(b"/files/\xff\xfe"), 400),
    RawCase("percent-invalid-utf8-path", request(b"/name/%ff%fe"), 200),
    RawCase("invalid-utf8-query", request(b"/echo?a=\xff"), 400),
    RawCase("percent-invalid-utf8-query", request(b"/echo?a=%ff&%fe=1"), 200),
    RawCase("invalid-utf8-header", request(b"/echo", b"User-Agent: \xff\xfe"), 200),
    RawCase("traversal-plain", request(b"/files/../secret.txt"), 404),
    RawCase("traversal-encoded", request(b"/files/..%2fsecret.txt"), 404),
    RawCase("traversal-encoded-dots", request(b"/files/%2e%2e%2fsecret.txt"), 404),
    RawCase("traversal-double-encoded", request(b"/files/%252e%252e%252fsecret.txt"), 404),
    RawCase("traversal-backslash", request(b"/files/..%5csecret.txt"), 404),
    RawCase("traversal-raw-backslash", request(b"/files/..\\secret.txt"), 404),
    RawCase("traversal-static", request(b"/static/..%2f..%2fsecret.txt"), 404),
    RawCase("traversal-nul", request(b"/files/report.txt%00.png"), 404),
    RawCase("traversal-root", request(b"/../secret.txt"), 404),
    RawCase("traversal-absolute-form", request(b"http://evil/../secret.txt"), 404),
    RawCase("absolute-form-bad-ipv6", request(b"http://[::1/"), 404),
    RawCase("absolute-form-bad-bracket", request(b"http://x]/"), 404),
    RawCase("absolute-form-bad-port", request(b"http://x:99999/"), 200, contains=b"ok"),
    RawCase("static-ok", request(b"/static/hello.txt"), 200, contains=PUBLIC),
    RawCase("unknown-method", request(b"/", method=b"FOO"), 405),
    RawCase("huge-host", request(b"/").replace(b"Host: 127.0.0.1", b"Host: " + b"a" * 10_000), 400),
    RawCase("host-with-space", request(b"/").replace(b"Host: 127.0.0.1", b"Host: a b"), 200),
    RawCase("no-host", request(b"/").replace(b"Host: 127.0.0.1\r\n", b""), 400),
    RawCase("two-hosts", request(b"/", b"Host: evil.example"), 400),
    RawCase("bad-content-length", request(b"/data", b"Content-Length: abc", method=b"POST"), 400),
    RawCase("negative-content-length", request(b"/data", b"Content-Length: -1", method=b"POST"), 400),
    RawCase(
        "declared-too-large", request(b"/data", b"Content-Length: 100000", method=b"POST", body=b"xx"), 413
    ),
    RawCase(
        "chunked-too-large",
        request(
            b"/data", b"Transfer-Encoding: chunked", method=b"POST", body=chunked(b"x" * 65536, b"x" * 65536)
        ),
        413,
    ),
    RawCase(
        "chunked-form-too-large",
        request(
            b"/form",
            b"Transfer-Encoding: chunked",
            b"Content-Type: application/x-www-form-urlencoded",
            method=b"POST",
            body=chunked(b"a=" + b"x" * 9000),
        ),
        413,
    ),
    RawCase(
        "slow-body", request(b"/data", b"Content-Length: 10", method=b"POST", body=b"xx"), 408, pause=0.8
    ),
    RawCase(
        "slow-chunked-body",
        request(b"/data", b"Transfer-Encoding: chunked", method=b"POST", body=b"2\r\nxx\r\n"),
        408,
        pause=0.8,
    ),
    RawCase("header-without-colon", request(b"/", b"X-Bad"), 400),
    RawCase("bad-http-version", b"GET / HTTP/9.9\r\nHost: x\r\nConnection: close\r\n\r\n", 200),
    RawCase("tls-hello-on-plain-port", b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 400),
    RawCase("path-too-long", request(b"/" + b"a" * 70_000), 431),
    RawCase(
        "json-deep",
        request(b"/json", b"Content-Type: application/json", method=b"POST", body=b"[" * 50_000),
        400,
    ),
    RawCase(
        "multipart-truncated",
        request(
            b"/form",
            b"Content-Type: multipart/form-data; boundary=x",
            method=b"POST",
            body=b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nv',
        ),
        400,
    ),
    RawCase("redirect-crlf", request(b"/redirect?to=/a%0d%0aSet-Cookie:%20x=1"), 400),
    RawCase("bad-range", request(b"/files/report.txt", b"Range: bytes=999999-"), 416),
    RawCase("bad-if-modified-since", request(b"/files/report.txt", b"If-Modified-Since: yesterday"), 200),
    RawCase(
        "if-modified-since-year-overflow",
        request(b"/files/report.txt", b"If-Modified-Since: Fri, 31 Dec 99999999999999999999 23:59:59 GMT"),
        200,
        contains=PUBLIC,
    ),
    RawCase(
        "if-modified-since-zone-overflow",
        request(b"/static/hello.txt", b"If-Modified-Since: Fri, 31 Dec 2020 23:59:59 +99999999999999999999"),
        200,
        contains=PUBLIC,
    ),
    RawCase(
        "if-range-overflow",
        request(
            b"/files/report.txt",
            b"If-Range: Fri, 31 Dec 99999999999999999999 23:59:59 GMT",
            b"Range: bytes=0-1",
        ),
        200,
    ),
    RawCase(
        "request-dates-overflow",
        request(
            b"/dates",
            b"Date: Fri, 31 Dec 99999999999999999999 23:59:59 GMT",
            b"If-Unmodified-Since: Fri, 99999999999999999999 Dec 2020 23:59:59 GMT",
        ),
        200,
        contains=b'"date":false',
    ),
    RawCase(
        "session-garbage",
        request(b"/session", b"Cookie: session=" + b"A" * 4000),
        200,
        contains=b'{"count":0}',
    ),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    site = tmp_path_factory.mktemp("site")
    running = LiveServer(
        "security_app:app", [HERE], env={"SECURITY_SITE": str(site)}, log=site / "server.log"
    )
    try:
        running.wait_until_ready()
        yield running
    finally:
        running.stop()
    # The server must not have logged an unhandled error for any case.
    assert "Traceback" not in running.output(), running.output()[-3000:]


def test_the_server_corpus_is_unique() -> None:
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_bytes(server: LiveServer, case: RawCase) -> None:
    started = time.monotonic()
    answer = server.raw(case.data, pause=case.pause)
    body = answer.partition(b"\r\n\r\n")[2]
    assert status_of(answer) == case.status, answer[:400]
    assert b"Traceback" not in answer
    assert SECRET not in answer
    if case.contains is not None:
        assert case.contains in body
    assert time.monotonic() - started < 4
    response, after = server.request("GET", "/")
    assert (response.status, after) == (200, b"ok")
