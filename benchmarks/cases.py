"""The requests the benchmarks make, and the check of every answer.

Each :class:`Case` is one endpoint of :mod:`benchmarks.apps` with the request
that exercises it and the answer every framework must give, so a framework
that answers wrongly (or quickly with an error page) fails rather than wins.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import jinja2

from .apps import (
    COOKIE_BODY,
    HOOK_VALUE,
    JSON_DOC,
    LINK_IDS,
    LINKS_NAME,
    PAGE_SOURCE,
    STREAM_CHUNKS,
    TEMPLATE_FOLDER,
    TEXT,
    page_context,
)

#: The query value the template endpoints must escape.
NAME = "<b>Ada</b> & co"
QUERY = urlencode({"name": NAME}).encode()
#: The page every template endpoint must answer, rendered by plain Jinja2.
EXPECTED_PAGE: bytes = (
    jinja2.Environment(autoescape=True).from_string(PAGE_SOURCE).render(page_context(NAME)).encode()
)
FORM_BODY = urlencode({"name": "Ada", "count": "3"}).encode()
ECHO_DOC: dict[str, object] = {"message": "hi", "items": [1, 2, 3], "nested": {"ok": True}}
WS_MESSAGE = "hello websocket"
#: The links page every framework must answer: ``url_for`` builds ``/users/<id>``.
EXPECTED_LINKS: bytes = (
    jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE_FOLDER), autoescape=True)
    .get_template(LINKS_NAME)
    .render(ids=LINK_IDS, url_for=lambda name, user_id: f"/users/{user_id}")
    .encode()
)
UPLOAD_BOUNDARY = "benchmarkboundary"


def _multipart(fields: int, file_size: int) -> bytes:
    parts = [
        f'--{UPLOAD_BOUNDARY}\r\nContent-Disposition: form-data; name="field{i}"\r\n\r\nvalue {i}\r\n'
        for i in range(fields)
    ]
    parts.append(
        f'--{UPLOAD_BOUNDARY}\r\nContent-Disposition: form-data; name="report"; filename="report.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    )
    return "".join(parts).encode() + b"x" * file_size + f"\r\n--{UPLOAD_BOUNDARY}--\r\n".encode()


UPLOAD_BODY = _multipart(20, 1024)


class CheckFailed(AssertionError):
    """A framework answered a benchmark request wrongly."""


@dataclass(frozen=True)
class Answer:
    """What came back for one request."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: str) -> str | None:
        """Return the first value of header ``name`` (case-insensitive), or ``None``."""
        wanted = name.lower().encode()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value.decode("latin-1")
        return None


@dataclass(frozen=True)
class Case:
    """One benchmarked endpoint: the request to make and the check of its answer.

    :param name: the case's name in tables and on the command line.
    :param path: the request path.
    :param method: the HTTP method.
    :param query: the raw query string.
    :param body: the request body.
    :param content_type: the body's ``Content-Type``.
    :param check: raises :class:`CheckFailed` for a wrong answer.
    :param session: the request carries the session cookie the app set on a
        first request.
    :param websocket: a WebSocket echo rather than an HTTP request.
    """

    name: str
    path: str
    check: Callable[[Answer], None]
    method: str = "GET"
    query: bytes = b""
    body: bytes = b""
    content_type: str | None = None
    session: bool = False
    websocket: bool = False
    e2e: bool = False

    @property
    def url_path(self) -> str:
        """The path with its query string, as a client sends it."""
        return f"{self.path}?{self.query.decode()}" if self.query else self.path


def _fail(case: str, what: str, answer: Answer) -> None:
    raise CheckFailed(f"{case}: {what} (status {answer.status}, body {answer.body[:200]!r})")


def _status(case: str, answer: Answer, status: int = 200) -> None:
    if answer.status != status:
        _fail(case, f"status {answer.status}, expected {status}", answer)


def _body_is(case: str, expected: bytes) -> Callable[[Answer], None]:
    def check(answer: Answer) -> None:
        _status(case, answer)
        if answer.body != expected:
            _fail(case, f"expected body {expected[:200]!r}", answer)

    return check


def _json_is(case: str, expected: object) -> Callable[[Answer], None]:
    def check(answer: Answer) -> None:
        _status(case, answer)
        try:
            got = json.loads(answer.body)
        except ValueError:
            _fail(case, "body is not JSON", answer)
        if got != expected:
            _fail(case, f"expected JSON {expected!r}", answer)

    return check


def _check_404(answer: Answer) -> None:
    _status("404", answer, 404)


def _check_hooks(answer: Answer) -> None:
    _body_is("hooks", HOOK_VALUE.encode())(answer)
    if answer.header("x-hooked") != "yes":
        _fail("hooks", "the after hook's X-Hooked header is missing", answer)


def _check_session(answer: Answer) -> None:
    # The request carries the cookie of a first request (count 1).
    _body_is("session", b"count 2")(answer)
    if not session_cookie(answer):
        _fail("session", "no session cookie was set", answer)


def _check_websocket(answer: Answer) -> None:
    _status("websocket", answer, 101)
    if answer.body != WS_MESSAGE.encode():
        _fail("websocket", f"expected the echo {WS_MESSAGE!r}", answer)


def _check_tuple(answer: Answer) -> None:
    _body_is("tuple", TEXT.encode())(answer)
    if not (answer.header("content-type") or "").startswith("text/plain"):
        _fail("tuple", "the Content-Type given is not text/plain", answer)


def _check_cookie(answer: Answer) -> None:
    _body_is("cookie", COOKIE_BODY.encode())(answer)
    if "seen=yes" not in (answer.header("set-cookie") or ""):
        _fail("cookie", "the cookie seen=yes was not set", answer)


def _check_redirect(answer: Answer) -> None:
    _status("redirect", answer, 302)
    if not (answer.header("location") or "").endswith("/text"):
        _fail("redirect", "Location is not the URL of /text", answer)


def session_cookie(answer: Answer) -> str | None:
    """Return ``name=value`` of the cookie an answer sets, for the next request."""
    header = answer.header("set-cookie")
    if not header:
        return None
    cookie: SimpleCookie = SimpleCookie()
    cookie.load(header)
    for name, morsel in cookie.items():
        return f"{name}={morsel.coded_value}"
    return None


CASES: tuple[Case, ...] = (
    Case("text", "/text", _body_is("text", TEXT.encode()), e2e=True),
    Case("json", "/json", _json_is("json", JSON_DOC), e2e=True),
    Case("path-int", "/users/42", _json_is("path-int", {"id": 42})),
    Case("template", "/template", _body_is("template", EXPECTED_PAGE), query=QUERY, e2e=True),
    Case("template-string", "/template-string", _body_is("template-string", EXPECTED_PAGE), query=QUERY),
    Case(
        "form",
        "/form",
        _body_is("form", b"Ada 3"),
        method="POST",
        body=FORM_BODY,
        content_type="application/x-www-form-urlencoded",
    ),
    Case(
        "json-echo",
        "/echo",
        _json_is("json-echo", ECHO_DOC),
        method="POST",
        body=json.dumps(ECHO_DOC).encode(),
        content_type="application/json",
    ),
    Case("404", "/missing", _check_404),
    Case("hooks", "/hooks/", _check_hooks),
    Case("session", "/session", _check_session, session=True),
    Case("stream", "/stream", _body_is("stream", "".join(STREAM_CHUNKS).encode())),
    Case("websocket", "/ws", _check_websocket, websocket=True),
    Case("tuple", "/tuple", _check_tuple, e2e=True),
    Case("jsonify", "/jsonify", _json_is("jsonify", {"message": TEXT}), e2e=True),
    Case("cookie", "/cookie", _check_cookie),
    Case("links", "/links", _body_is("links", EXPECTED_LINKS)),
    Case("redirect", "/redirect", _check_redirect),
    Case(
        "upload",
        "/upload",
        _body_is("upload", b"20 fields, file report.txt 1024 bytes"),
        method="POST",
        body=UPLOAD_BODY,
        content_type=f"multipart/form-data; boundary={UPLOAD_BOUNDARY}",
    ),
)
CASES_BY_NAME: dict[str, Case] = {case.name: case for case in CASES}
