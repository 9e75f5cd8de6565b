"""The HTTP response object."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Generator, Iterable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast, overload
from urllib.parse import urljoin

from werkzeug.datastructures import Headers, Range
from werkzeug.exceptions import RequestedRangeNotSatisfiable
from werkzeug.http import parse_range_header, quote_etag, remove_entity_headers
from werkzeug.sansio.http import is_resource_modified
from werkzeug.sansio.response import Response as SansIOResponse
from werkzeug.urls import iri_to_uri
from werkzeug.wrappers.response import Response as WSGIResponse

from ..globals import _cv_app, _cv_request
from ..json.provider import JSONProvider
from ..sync import DualBytes, DualStr, WorkerLease, in_sync_code, is_async_callable, run_async
from .headers import content_type_for, dict_header_pairs, status_line, trusted_headers
from .response_body import DataBody, FileBody, IOBody, IterableBody, ResponseBody, body_from

if TYPE_CHECKING:
    from werkzeug.sansio.request import Request as SansIORequest


T = TypeVar("T")

_TEXT_TYPES = (str, bytes)


class Response(WSGIResponse):
    """An HTTP response, built on werkzeug's response.

    The body may be ``str``, ``bytes``, a sync or async iterable, or a
    :class:`~microframe.wrappers.response_body.ResponseBody`::

        Response("hello", status=201, mimetype="text/plain")

    Reading the body back is awaited in async code (``await
    response.get_data()``) and direct in sync code (``response.data``).

    Once sent, the response is closed: its body (a file, a generator) is
    closed and the functions given to :meth:`call_on_close` are called.

    It is a :class:`werkzeug.wrappers.Response`, as Flask's is: code that
    checks for one to pass a response through unchanged (Flask-RESTful,
    flask-smorest, flask-marshmallow) does so. Its body is microframe's
    (:attr:`body`), so werkzeug's WSGI methods (``__call__``,
    ``get_wsgi_response``, ``get_app_iter``) are not how it is sent.

    :attr timeout: seconds the body may take to send, overriding
        ``RESPONSE_TIMEOUT``; ``None`` disables the limit.
    """

    default_mimetype = "text/html"
    #: What is sent as the body; Quart's name for it is :attr:`response`.
    body: ResponseBody
    #: The body classes, as Quart names them, for code that builds bodies
    #: through the response class (``send_file`` does): subclass and
    #: replace one to change how that kind of body is sent.
    data_body_class: type[DataBody] = DataBody
    file_body_class: type[FileBody] = FileBody
    io_body_class: type[IOBody] = IOBody
    iterable_body_class: type[IterableBody] = IterableBody
    json_provider: JSONProvider | None = None
    #: Marks "use the app's RESPONSE_TIMEOUT"; set a number or None to override.
    timeout: Any = Ellipsis
    #: ``True`` for a body sent as it is, without being read into memory (a
    #: file from :func:`~microframe.send_file`), as werkzeug's attribute of
    #: that name. It is informative: microframe streams every body that is
    #: not in memory, and ``get_data()`` reads such a body all the same.
    direct_passthrough: bool = False
    # The call_on_close functions; None (shared, no list per response) until one is added.
    _on_close: list[Callable[[], Any]] | None = None  # type: ignore[assignment]
    # werkzeug's status attributes, for the responses made without a status:
    # its default_status, set once per class rather than on every response.
    _status = "200 OK"
    _status_code = 200

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        code = int(cls.default_status)  # as werkzeug reads it (an HTTPStatus is an int)
        cls._status, cls._status_code = status_line(code), code

    def __init__(
        self,
        response: object = None,
        status: int | str | None = None,
        headers: Headers | dict[str, Any] | list[tuple[str, Any]] | None = None,
        mimetype: str | None = None,
        content_type: str | None = None,
        direct_passthrough: bool = False,
    ) -> None:
        if direct_passthrough:  # werkzeug's argument (see the attribute); seldom given
            self.direct_passthrough = True
        if content_type is None and (status is None or type(status) is int):
            if headers is None:
                # The common case, built without werkzeug's general-purpose checks.
                ctype = content_type_for(mimetype or self.default_mimetype)
                if type(response) is str:
                    data = response.encode()
                    self.body = DataBody(data)
                    pairs = [("Content-Type", ctype), ("Content-Length", str(len(data)))]
                else:
                    body = self.body = body_from(response)
                    length = body.length
                    pairs = [("Content-Type", ctype)]
                    if length is not None:
                        pairs.append(("Content-Length", str(length)))
                self.headers = trusted_headers(pairs)
            elif type(headers) is dict and mimetype is None and type(response) in _TEXT_TYPES:
                # A view's (body, status, {headers}) tuple.
                self._make_with_header_dict(response, headers)  # type: ignore[arg-type]
            else:
                self._make_general(response, status, headers, mimetype, content_type)
                return
            if status is not None and status != self._status_code:  # else the class's serves
                self._status, self._status_code = status_line(status), status
        else:
            self._make_general(response, status, headers, mimetype, content_type)

    def _make_with_header_dict(self, response: str | bytes, headers: dict[str, Any]) -> None:
        data = response.encode() if isinstance(response, str) else response
        self.body = DataBody(data)
        pairs, length_at = dict_header_pairs(headers, self.default_mimetype)
        pairs[length_at] = ("Content-Length", str(len(data)))
        self.headers = trusted_headers(pairs)

    def _make_general(
        self,
        response: object,
        status: int | str | None,
        headers: Headers | dict[str, Any] | list[tuple[str, Any]] | None,
        mimetype: str | None,
        content_type: str | None,
    ) -> None:
        # werkzeug's sans-io constructor: the WSGI one would make its own body.
        SansIOResponse.__init__(self, status, headers, mimetype, content_type)
        self.set_body(body_from(response))

    def set_body(self, body: ResponseBody) -> None:
        """Replace the body, keeping ``Content-Length`` in step with it."""
        self.body = body
        length = body.length
        if length is not None:
            self.headers["Content-Length"] = str(length)
        else:
            self.headers.pop("Content-Length", None)

    def set_data(self, value: bytes | str) -> None:
        """Set the body to ``value`` (``str`` is encoded as UTF-8)."""
        self.set_body(DataBody(value.encode() if isinstance(value, str) else bytes(value)))

    @property  # type: ignore[override]  # werkzeug's is a plain iterable
    def response(self) -> ResponseBody:
        """The body, under Quart's name (see :attr:`body`)::

            async with response.response as body:
                async for chunk in body:
                    ...

        Setting it replaces the body, as :meth:`set_body` does; like
        werkzeug's, it takes what a view may return as a body too (``str``,
        ``bytes``, an iterable or async iterable of them), which extensions
        rely on (Flask-Compress sets a generator of compressed chunks). A
        sync generator runs on the current request's worker thread.
        """
        return self.body

    @response.setter
    def response(self, body: object) -> None:
        if not isinstance(body, ResponseBody):
            req_ctx = _cv_request.get(None)
            body = body_from(body, req_ctx.lease if req_ctx is not None else None)
        self.set_body(body)

    @property
    def is_streamed(self) -> bool:
        """``True`` when the body is produced while sending."""
        return self.body.streamed

    @property
    def is_sequence(self) -> bool:
        """``True`` when the body is in memory (werkzeug's name: a buffered body)."""
        return isinstance(self.body, DataBody)

    def calculate_content_length(self) -> int | None:
        """The body's length in bytes, when known before sending it."""
        return self.body.length

    def make_sequence(self) -> Any:
        """Read a streamed body into memory (awaitable in async code)."""
        return self._dual(self._buffer())

    def freeze(self) -> Any:
        """Read the body into memory and set ``Content-Length`` and an
        ``ETag``, as werkzeug's ``freeze`` does before a response is cached
        or pickled (awaitable in async code)."""
        return self._dual(self._buffer(etag=True))

    async def _buffer(self, etag: bool = False) -> None:
        await self._read()  # a streamed body is replaced by the bytes read
        if etag:
            self.add_etag()

    @property
    def stream(self) -> ResponseWriter:  # type: ignore[override]
        """A write-only file object whose writes append to the body, as
        werkzeug's ``response.stream``."""
        return ResponseWriter(self)

    def __repr__(self) -> str:
        size = f"{len(self.body.data)} bytes" if isinstance(self.body, DataBody) else "streamed"
        return f"<{type(self).__name__} {size} [{self.status}]>"

    @property
    def max_cookie_size(self) -> int:  # type: ignore[override]
        """The size above which :meth:`set_cookie` warns that a cookie is too large.

        The current app's ``MAX_COOKIE_SIZE`` (``0`` turns the warning off),
        or werkzeug's default of 4093 bytes outside an app context. Browsers
        drop larger cookies silently, so the warning saves a puzzling bug.
        """
        app_ctx = _cv_app.get(None)
        if app_ctx is not None:
            return int(app_ctx.app.config["MAX_COOKIE_SIZE"])
        return _DEFAULT_MAX_COOKIE_SIZE

    # -- closing ------------------------------------------------------------------

    def call_on_close(self, func: Callable[[], Any]) -> Callable[[], Any]:
        """Call ``func`` (sync or async, no arguments) when the response is closed.

        The server closes a response once it has sent it, so this is the
        place for work that must wait until the client has the response.
        Returns ``func``, so it can be used as a decorator::

            @response.call_on_close
            def log_sent():
                app.logger.info("sent")
        """
        if self._on_close is None:
            self._on_close = []
        self._on_close.append(func)
        return func

    def close(self) -> Any:
        """Close the body (a file, a generator) and call the :meth:`call_on_close` functions.

        Awaitable in async code, direct in sync code. Closing twice is
        harmless: the functions are called once.
        """
        if in_sync_code():
            self._close_sync()
            return None
        return self.aclose()

    def _close_sync(self) -> None:
        body = self.body
        if type(body).aclose is not ResponseBody.aclose:
            run_async(body.aclose())
        funcs, self._on_close = self._on_close, None
        for func in funcs or ():
            result = func()
            if is_async_callable(func):
                run_async(result)

    async def aclose(self, lease: WorkerLease | None = None) -> None:
        """Close the response from async code; see :meth:`close`.

        :param lease: where sync :meth:`call_on_close` functions run (the
            request's worker thread); the default pool otherwise.
        """
        try:
            await self.body.aclose()
        finally:
            funcs, self._on_close = self._on_close, None
            for func in funcs or ():
                if is_async_callable(func):
                    await func()
                else:
                    await (lease or WorkerLease(None)).run(func)

    def __enter__(self) -> Response:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    async def __aenter__(self) -> Response:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- reading the body back (tests, after_request hooks) -----------------

    def _dual(self, coro: Coroutine[object, object, T]) -> Any:
        if in_sync_code():
            if isinstance(self.body, DataBody):
                try:
                    coro.send(None)
                except StopIteration as stop:
                    return stop.value
            return run_async(coro)
        return coro

    async def _read(self) -> bytes:
        body = self.body
        if isinstance(body, DataBody):
            return body.data
        async with body as opened:  # entered as Quart's bodies are
            data = b"".join([chunk async for chunk in opened])
        self.set_body(DataBody(data))
        return data

    async def _get_data(self, as_text: bool) -> bytes | str:
        data = await self._read()
        return data.decode() if as_text else data

    # _dual returns Any: the value in sync code, a coroutine in async code,
    # which each API names by its dual type (DualBytes, ...: see microframe.sync).

    @overload
    def get_data(self, as_text: Literal[False] = False) -> DualBytes: ...

    @overload
    def get_data(self, as_text: Literal[True]) -> DualStr: ...

    @overload
    def get_data(self, as_text: bool = False) -> DualBytes | DualStr: ...

    def get_data(self, as_text: bool = False) -> DualBytes | DualStr:
        """Return the body (reading a streamed body in full): awaitable in async code."""
        data: DualBytes | DualStr = self._dual(self._get_data(as_text))
        return data

    @property
    def data(self) -> DualBytes:
        """The body as bytes: ``await response.data`` in async code."""
        data: DualBytes = self._dual(self._get_data(False))
        return data

    @data.setter
    def data(self, value: bytes | str) -> None:
        self.set_data(value)

    def iter_encoded(self) -> Iterator[bytes]:
        """Return an iterator over the body as bytes, as werkzeug's method does.

        For sync code (a WSGI-style middleware, a test): a body that is not
        in memory is read whole first, on the event loop serving the
        request. Async code iterates the body itself: ``async for chunk in
        response.body``.
        """
        body = self.body
        if not isinstance(body, DataBody):
            if not in_sync_code():
                raise RuntimeError(
                    "response.iter_encoded() cannot read a streamed body from async code;"
                    " use 'async for chunk in response.body' or 'await response.get_data()'."
                )
            run_async(self._read())
            body = self.body
        assert isinstance(body, DataBody)
        return iter((body.data,) if body.data else ())

    @property
    def text(self) -> DualStr:
        """The body as text: ``await response.text`` in async code."""
        text: DualStr = self._dual(self._get_data(True))
        return text

    async def _get_json(self, force: bool, silent: bool) -> object:
        if not (force or self.is_json):
            return None
        data = await self._read()
        try:
            if self.json_provider is not None:
                return self.json_provider.loads(data)
            import json

            return json.loads(data)
        except ValueError:
            if silent:
                return None
            raise

    def get_json(self, force: bool = False, silent: bool = False) -> Any:
        """Parse the body as JSON: awaitable in async code."""
        return self._dual(self._get_json(force, silent))

    @property
    def json(self) -> Any:
        """The body parsed as JSON: ``await response.json`` in async code."""
        return self._dual(self._get_json(False, False))

    # -- conditional and partial responses -----------------------------------

    def add_etag(self, overwrite: bool = False, weak: bool = False) -> None:
        """Set an ETag computed from an in-memory body, if none is set."""
        if overwrite or "etag" not in self.headers:
            etag = self.body.etag()
            if etag is not None:
                self.set_etag(etag, weak)

    def make_conditional(  # type: ignore[override]  # a request, not a WSGI environ
        self,
        request: SansIORequest,
        accept_ranges: bool | str = False,
        complete_length: int | None = None,
    ) -> DualResponse:
        """Answer ``If-*`` and ``Range`` headers of ``request``.

        Turns the response into a ``304 Not Modified`` when the client's copy
        is current, or a ``206 Partial Content`` for a satisfiable range (a
        ``416`` is raised for an unsatisfiable one). Returns the response;
        awaitable in async code, as in Quart.
        """
        self._conditional(request, accept_ranges, complete_length)
        # The response, or a coroutine giving it: DualResponse describes both.
        return self if in_sync_code() else _ready(self)  # type: ignore[return-value]

    def _conditional(
        self, request: SansIORequest, accept_ranges: bool | str, complete_length: int | None
    ) -> None:
        if request.method not in ("GET", "HEAD"):
            return
        headers = request.headers
        if accept_ranges:
            self.headers["Accept-Ranges"] = "bytes" if accept_ranges is True else accept_ranges
            self._apply_range(headers, complete_length)
        # No Date header here, unlike werkzeug's make_conditional: WSGI
        # servers keep the app's Date, but ASGI servers (Hypercorn, Uvicorn)
        # add their own to every response without looking for one, so the
        # client would get two.
        try:
            modified = self._is_modified(headers, headers.get("If-Modified-Since"))
        except OverflowError:
            # werkzeug's date parsing lets OverflowError through for a date
            # whose numbers do not fit a C integer; such an If-Modified-Since
            # is invalid and ignored (RFC 9110 13.1.3). Caught here rather
            # than checked first, so a valid date is parsed once.
            modified = self._is_modified(headers, None)
        if not modified:
            if "If-Match" in headers or "If-Unmodified-Since" in headers:
                self.status_code = 412
            else:
                self.status_code = 304
            self.set_body(DataBody(b""))
            self.headers.pop("Content-Length", None)
            if self.status_code == 304:
                strip_not_modified(self.headers)

    def _is_modified(self, headers: Headers, if_modified_since: str | None) -> bool:
        return is_resource_modified(
            http_range=headers.get("Range"),
            http_if_range=headers.get("If-Range"),
            http_if_modified_since=if_modified_since,
            http_if_none_match=headers.get("If-None-Match"),
            http_if_match=headers.get("If-Match"),
            etag=self.headers.get("ETag"),
            last_modified=self.headers.get("Last-Modified"),
        )

    def _apply_range(self, headers: Headers, complete_length: int | None) -> None:
        header = headers.get("Range")
        if not header or self.status_code != 200:
            return
        length = complete_length if complete_length is not None else self.body.length
        if length is None:
            return
        if_range = headers.get("If-Range")
        if if_range and not _if_range_matches(if_range, self.headers):
            return
        parsed = parse_range_header(header)
        if parsed is None or parsed.units != "bytes":
            # RFC 9110 14.2: ignore a malformed Range or one in a unit we do not serve.
            return
        if len(parsed.ranges) == 1 and parsed.ranges[0][0] < -length:
            # RFC 9110 14.1.2: a suffix longer than the representation selects
            # all of it (werkzeug would call it unsatisfiable).
            parsed = Range(parsed.units, [(-length, None)])
        bounds = parsed.range_for_length(length)
        if bounds is None or len(parsed.ranges) != 1:
            self.headers["Content-Range"] = f"bytes */{length}"
            raise RequestedRangeNotSatisfiable(length=length)
        start, stop = bounds
        partial = self.body.make_range(start, stop)
        if partial is None:
            return
        self.set_body(partial)
        self.status_code = 206
        self.headers["Content-Range"] = f"bytes {start}-{stop - 1}/{length}"


class DualResponse(Response):
    """A response from a dual API: the response in sync code, ``await`` it in
    async code.

    The type of ``make_response(...)``, ``send_file(...)`` and
    ``send_from_directory(...)`` for type checkers (see :mod:`microframe.sync`).
    """

    def __await__(self) -> Generator[None, None, Response]:
        return self
        yield  # a generator that finishes at once


def strip_not_modified(headers: Headers) -> None:
    """Remove the headers a ``304 Not Modified`` must not carry.

    They describe a body (``Content-Encoding``, ``Content-Type``,
    ``Content-Length``, ...) and a 304 has none: the client keeps the
    headers of its cached copy (RFC 9110 15.4.5). ``Expires`` and
    ``Content-Location`` stay, as werkzeug keeps them.
    """
    remove_entity_headers(headers)


def correct_location(response: Response, request: SansIORequest) -> None:
    """Make a relative ``Location`` absolute, against the request's URL
    without its query, as werkzeug does when sending a response whose class
    sets ``autocorrect_location_header`` (``False`` by default, as in Flask)."""
    location = response.headers.get("Location")
    if location:
        base = iri_to_uri(request.base_url)
        response.headers["Location"] = urljoin(base, iri_to_uri(location))


def _if_range_matches(if_range: str, headers: Headers) -> bool:
    etag = headers.get("ETag")
    if if_range.startswith(('"', "W/")):
        return etag is not None and quote_etag(etag.strip('"')) == if_range
    return headers.get("Last-Modified") == if_range


async def _ready(response: Response) -> Response:
    return response


# werkzeug's default: the largest cookie browsers are known to accept, less room for attributes.
_DEFAULT_MAX_COOKIE_SIZE = SansIOResponse.max_cookie_size


class ResponseWriter:
    """:attr:`Response.stream`: a write-only file object appending to the body.

    Writing to a streamed body reads it into memory first (as werkzeug's
    does), so from async code read it first (``await response.make_sequence()``).
    """

    mode = "wb+"

    def __init__(self, response: Response) -> None:
        self.response = response
        self.closed = False

    @property
    def encoding(self) -> str:
        """The encoding ``str`` writes are encoded with (UTF-8)."""
        return "utf-8"

    def write(self, value: str | bytes) -> int:
        """Append ``value`` to the body; return the number of bytes written."""
        if self.closed:
            raise ValueError("I/O operation on closed file")
        data = value.encode() if isinstance(value, str) else bytes(value)
        response = self.response
        body = response.body
        if not isinstance(body, DataBody):
            if not in_sync_code():
                raise RuntimeError(
                    "response.stream cannot read a streamed body from async code;"
                    " 'await response.make_sequence()' first."
                )
            response.make_sequence()  # read in place
            body = cast(DataBody, response.body)
        response.set_body(DataBody(body.data + data))
        return len(data)

    def writelines(self, lines: Iterable[str | bytes]) -> None:
        """Write each of ``lines``."""
        for line in lines:
            self.write(line)

    def tell(self) -> int:
        """The body's length so far."""
        return self.response.body.length or 0

    def flush(self) -> None:
        """Nothing to flush: writes go to the body at once."""
        if self.closed:
            raise ValueError("I/O operation on closed file")

    def isatty(self) -> bool:
        """Never a terminal."""
        return False

    def close(self) -> None:
        """Refuse further writes."""
        self.closed = True


__all__ = [
    "DataBody",
    "DualResponse",
    "FileBody",
    "IOBody",
    "IterableBody",
    "Response",
    "ResponseBody",
    "correct_location",
    "strip_not_modified",
]
