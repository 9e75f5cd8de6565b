"""The HTTP request object."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, NoReturn, TypeVar, overload

from werkzeug.datastructures import CombinedMultiDict, Headers, ImmutableMultiDict, MultiDict
from werkzeug.exceptions import (
    BadRequest,
    UnsupportedMediaType,
)

from ..caches import first_use
from ..globals import _cv_app
from ..sync import (
    AwaitableValue,
    DualBytes,
    DualStr,
    ReadyValue,
    in_sync_code,
    run_async,
)
from ..typing import ASGIMessage
from .base import RoutedRequest
from .body import Body, BodyConsumedError, ClientDisconnected, ReceiveCallable

if TYPE_CHECKING:

    from ..datastructures import DualCombinedMultiDict, DualMultiDict, FileStorage
    from ..json.provider import JSONProvider


T = TypeVar("T")



def _settle(coro: Coroutine[object, object, T], complete: bool) -> T:
    """Finish ``coro`` from sync code.

    When the body is already in memory the coroutine never suspends, so it is
    driven right here without an event loop; otherwise it runs on the loop of
    the request (or a fresh one when there is none).
    """
    if complete:
        try:
            coro.send(None)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        coro.close()
        raise RuntimeError("A body read suspended although the body was complete.")
    return run_async(coro)


class _BodyStream(io.RawIOBase):
    """The request body as a blocking binary file, read chunk by chunk as
    the client sends it (the raw stream under :attr:`Request.stream`)."""

    def __init__(self, body: Body) -> None:
        super().__init__()
        self._body = body
        self._chunks: AsyncIterator[bytes] = aiter(body)
        self._held = b""
        self._ended = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._held:
            if self._ended:
                return 0
            self._held = _settle(self._next_chunk(), self._body.is_complete)
        size = min(len(buffer), len(self._held))
        buffer[:size] = self._held[:size]
        self._held = self._held[size:]
        return size

    async def _next_chunk(self) -> bytes:
        try:
            return await anext(self._chunks)
        except StopAsyncIteration:
            self._ended = True
            return b""


#: Sends an HTTP/2 server push for a path, with the request's headers to copy.
PushPromiseSender = Callable[[str, Headers], Awaitable[None]]

#: The request headers a pushed request carries too (as Quart copies them).
_PUSH_HEADERS = ("accept", "accept-encoding", "accept-language", "cache-control", "user-agent")


async def _no_push(path: str, headers: Headers) -> None:
    """The push sender of a request whose server cannot push: does nothing."""


def _offers_push(scope: Any) -> bool:
    return isinstance(scope, dict) and "http.response.push" in scope.get("extensions", {})


def asgi_push_sender(send: Callable[[ASGIMessage], Awaitable[None]]) -> PushPromiseSender:
    """The push sender of a connection whose server offers the ASGI
    ``http.response.push`` extension: the server makes the pushed request."""

    async def push(path: str, headers: Headers) -> None:
        pairs = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]
        await send({"type": "http.response.push", "path": path, "headers": pairs})

    return push


class Request(RoutedRequest):
    """An HTTP request, built on werkzeug's sans-io request.

    Everything werkzeug offers is here (``args``, ``headers``, ``cookies``,
    ``url``, ``accept_*``, ``mimetype``, ...). Reading the body is async in
    async code, as in Quart, and direct in sync code, as in Flask::

        async def create():
            data = await request.get_json()
            form = await request.form

        def create_sync():
            data = request.get_json()
            form = request.form

    The constructor is Quart's: ``Request(method, scheme, path, query_string,
    headers, root_path, http_version, scope, *, max_content_length=None,
    body_timeout=None, send_push_promise=...)``. A request built this way
    reads a body fed with ``request.body.append()``/``set_complete()``;
    ``max_content_length`` (413) and ``body_timeout`` (408) are enforced.
    The protocol layer passes the app's ``MAX_CONTENT_LENGTH`` and
    ``BODY_TIMEOUT`` as these two, as Quart does, so a ``request_class``
    subclass may replace them. The body is made when first used.
    """

    #: Whether the request has a ``Cookie`` header, noted while the ASGI
    #: headers are decoded so that a request without one skips the session
    #: cookie check; ``None`` when unknown (requests built otherwise).
    cookie_sent: bool | None = None
    #: Whether the client declared a body (a ``Content-Length`` above 0, or
    #: ``Transfer-Encoding``), noted by the protocol layer as it builds the
    #: request; see :meth:`body_pending`.
    body_declared = False
    #: Where :meth:`send_push_promise` sends, when given to the constructor.
    _send_push_promise: PushPromiseSender = staticmethod(_no_push)
    #: The connection's ASGI ``send``, set by the protocol layer: pushes go
    #: through it when the server offers the ``http.response.push`` extension.
    asgi_send: Callable[[ASGIMessage], Awaitable[None]] | None = None

    def __init__(
        self,
        method: str,
        scheme: str,
        path: str,
        query_string: bytes,
        headers: Headers,
        root_path: str,
        http_version: str,
        scope: Any = None,
        *,
        body: Body | None = None,
        max_content_length: int | None = None,
        body_timeout: float | None = None,
        send_push_promise: PushPromiseSender | None = None,
        remote_addr: str | None = None,
        server: tuple[str, int | None] | None = None,
        json_provider: JSONProvider | None = None,
        max_form_memory_size: int | None = None,
        max_form_parts: int | None = None,
    ) -> None:
        if type(scope) is dict:  # the server and client, as Quart takes them
            if server is None:
                server = scope.get("server")
            if remote_addr is None and (client := scope.get("client")):
                remote_addr = client[0]
        super().__init__(method, scheme, server, root_path, path, query_string, headers, remote_addr)
        self.http_version = http_version
        self.scope = scope
        # Quart's limits: the protocol layer passes the app's
        # MAX_CONTENT_LENGTH and BODY_TIMEOUT, as Quart does.
        self._body_limits = (max_content_length, body_timeout)
        if body is not None:
            self._use_body(body)
        if send_push_promise is not None:
            self._send_push_promise = send_push_promise
        if json_provider is not None:
            self._json_provider = json_provider
        if max_form_memory_size is not None:
            self._max_form_memory_size = max_form_memory_size
        if max_form_parts is not None:
            self._max_form_parts = max_form_parts

    #: The connection's ASGI ``receive``, set by the protocol layer: the
    #: body is read from it. ``None`` for a request built by hand, whose
    #: body is fed with ``request.body.append()``/``set_complete()``.
    asgi_receive: ReceiveCallable | None = None

    @first_use
    def body(self) -> Body:
        """The request body (:class:`Body`), made when first used: most
        requests have none to read."""
        length = self.headers.get("Content-Length", type=int)
        limit, timeout = self._body_limits
        receive = self.asgi_receive
        if receive is None:
            return Body.fed(length, limit, timeout)
        return Body(receive, length, max_content_length=limit, timeout=timeout)

    def _use_body(self, body: Body) -> None:
        # A body given to the constructor; the limits given with it, if
        # any, replace its own.
        self.body = body
        limit, timeout = self._body_limits
        if limit is not None:
            body.max_content_length = limit
        if timeout is not None:
            body.timeout = timeout

    async def send_push_promise(self, path: str) -> None:
        """Ask the server to push ``path`` to the client (HTTP/2 server push).

        The pushed request carries this one's ``Accept*``, ``Cache-Control``
        and ``User-Agent`` headers. Nothing happens where the server or
        protocol cannot push (HTTP/1.1), so views may call it freely.
        """
        sender = self._send_push_promise
        # The server's offer is looked up when first needed, not per request.
        send = self.asgi_send
        if sender is _no_push and send is not None and _offers_push(self.scope):
            sender = self._send_push_promise = asgi_push_sender(send)
        headers = Headers()
        for name in _PUSH_HEADERS:
            for value in self.headers.getlist(name):
                headers.add(name, value)
        await sender(path, headers)

    # Class defaults rather than per-request assignments: most requests never
    # parse a form or JSON body.
    _form: MultiDict[str, str] | None = None
    _files: MultiDict[str, FileStorage] | None = None
    _cached_json: tuple[Any, Any]  # (_MISSING, _MISSING), set below the class

    # The request's own limits and JSON provider, when set; otherwise the
    # current app's (read when a body is parsed, as Flask reads them).
    _json_provider: JSONProvider | None = None
    _max_form_memory_size: int | None = None
    _max_form_parts: int | None = None

    @property
    def max_form_memory_size(self) -> int | None:
        """The most bytes a form field (not a file) may have: the app's
        ``MAX_FORM_MEMORY_SIZE`` unless set on this request."""
        if self._max_form_memory_size is not None:
            return self._max_form_memory_size
        ctx = _cv_app.get(None)
        return ctx.app.config["MAX_FORM_MEMORY_SIZE"] if ctx is not None else None

    @max_form_memory_size.setter
    def max_form_memory_size(self, value: int | None) -> None:
        self._max_form_memory_size = value

    @property
    def max_form_parts(self) -> int | None:
        """The most fields or parts a form may have: the app's
        ``MAX_FORM_PARTS`` unless set on this request."""
        if self._max_form_parts is not None:
            return self._max_form_parts
        ctx = _cv_app.get(None)
        return ctx.app.config["MAX_FORM_PARTS"] if ctx is not None else None

    @max_form_parts.setter
    def max_form_parts(self, value: int | None) -> None:
        self._max_form_parts = value

    # -- routing information -------------------------------------------------

    @property
    def max_content_length(self) -> int | None:
        """The body size limit for this request; settable per request."""
        return self.body.max_content_length

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self.body.set_max_content_length(value)

    @property
    def is_json(self) -> bool:
        """Whether the mimetype is JSON (``application/json`` or ``*/*+json``)."""
        # The usual header, recognised without werkzeug parsing it.
        if self.headers.get("Content-Type") == "application/json":
            return True
        return super().is_json

    # -- the body: dual sync/async API --------------------------------------
    #
    # The value in sync code, an AwaitableValue in async code; typed for type
    # checkers as the value that may also be awaited (DualBytes, ...: see
    # microframe.sync). _dual returns Any, and each API names its dual type on
    # the way out.

    def take_body_at_hand(self) -> None:
        """Take the body whole if the server already holds it (see
        :meth:`Body.take_at_hand`), when this served request declares one
        (:attr:`body_declared`), so that sync code reads it in place."""
        if self.asgi_receive is not None and self.body_declared:
            self.body.take_at_hand()

    def body_pending(self) -> bool:
        """Whether the client may still be sending a body the app has not
        received to its end (it answered without reading it, read part of
        it, or refused it as too large).

        The protocol layer then reads and drops the rest while it sends the
        response's end: a server holding unread body messages for the app
        (Hypercorn keeps at most ten) would otherwise wait for room to tell
        it the request is over, while the app waits for that send.
        """
        if not self.body_declared:
            return False
        body: Body | None = self.__dict__.get("body")
        return body is None or not body.is_received

    def read_body_through(self, receive: ReceiveCallable) -> Awaitable[ASGIMessage] | None:
        """Have the body read what is left of it through ``receive``; returns
        the server's receive already under way for it, if any (see
        :meth:`Body.read_through`)."""
        body: Body | None = self.__dict__.get("body")
        if body is None:
            self.asgi_receive = receive  # the body, made on first use, reads through it
            return None
        return body.read_through(receive)

    def _dual(self, coro: Coroutine[object, object, T], expr: str) -> Any:
        if in_sync_code():
            return _settle(coro, self.body.is_complete)
        return AwaitableValue(coro, expr)

    @overload
    def get_data(
        self, cache: bool = True, as_text: Literal[False] = False, parse_form_data: bool = False
    ) -> DualBytes: ...

    @overload
    def get_data(
        self, cache: bool = True, as_text: Literal[True] = ..., parse_form_data: bool = False
    ) -> DualStr: ...

    @overload
    def get_data(
        self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False
    ) -> DualBytes | DualStr: ...

    def get_data(
        self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False
    ) -> DualBytes | DualStr:
        """Return the body as bytes (or text): ``await request.get_data()`` in
        async code, ``request.get_data()`` in sync code."""
        data: DualBytes | DualStr = self._dual(
            self._get_data(as_text, parse_form_data), "request.get_data()"
        )
        return data

    async def _get_data(self, as_text: bool, parse_form_data: bool) -> bytes | str:
        if parse_form_data:
            await self._load_form()
        body = self.body
        data = body.whole_if_ready()
        if data is None:
            data = await body.read()
        return data.decode(errors="replace") if as_text else data

    @property
    def stream(self) -> Any:
        """The body as a binary file, as Flask's ``request.stream``.

        In sync code (a plain ``def`` view) it is read as the client sends
        it, within ``MAX_CONTENT_LENGTH`` (413 past it) and ``BODY_TIMEOUT``,
        so a large upload is handled chunk by chunk without being held::

            digest = hashlib.sha256()
            for chunk in iter(lambda: request.stream.read(65536), b""):
                digest.update(chunk)

        In async code ``await request.stream`` gives the whole body read
        into memory as a file; to handle it as it arrives, iterate
        ``async for chunk in request.body`` instead.
        """
        if in_sync_code():
            return self._blocking_stream
        return AwaitableValue(self._stream_in_memory(), "request.stream")

    @first_use
    def _blocking_stream(self) -> io.BufferedReader:
        return io.BufferedReader(_BodyStream(self.body))

    async def _stream_in_memory(self) -> io.BytesIO:
        data = await self._get_data(False, False)
        assert isinstance(data, bytes)
        return io.BytesIO(data)

    @property
    def data(self) -> DualBytes:
        """The raw body as bytes: ``await request.data`` in async code."""
        data: DualBytes = self._dual(self._get_data(False, False), "request.data")
        return data


    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        """Parse the body as JSON: awaitable in async code.

        Raises 415 when the content type is not JSON (unless ``force``) and
        400 when the body is not valid JSON (unless ``silent``, which returns
        ``None``).
        """
        return self._dual(self._get_json(force, silent, cache), "request.get_json()")

    async def _get_json(self, force: bool, silent: bool, cache: bool) -> object:
        cached = self._cached_json[silent]
        if cached is not _MISSING:
            return cached
        if not (force or self.is_json):
            if silent:
                return None
            return self.on_json_loading_failed(None)
        body = self.body
        data = body.whole_if_ready()
        if data is None:
            data = await body.read()
        try:
            value = self._load_json(data)
        except (ValueError, RecursionError) as error:
            if silent:
                value = None
            else:
                return self.on_json_loading_failed(error)
        if cache:
            if silent:
                self._cached_json = (self._cached_json[0], value)
            else:
                self._cached_json = (value, value)
        return value

    def _load_json(self, data: bytes) -> object:
        provider = self._json_provider
        if provider is None:
            ctx = _cv_app.get(None)
            if ctx is None:  # a request built outside any app
                return json.loads(data)
            provider = ctx.app.json
        return provider.loads(data)

    def on_json_loading_failed(self, error: Exception | None) -> NoReturn:
        """Called when the body cannot be loaded as JSON; raises 400 or 415.

        Why the JSON is invalid is told in debug mode only; otherwise the
        400 page is the generic one, as in Flask, so that parser details
        do not reach clients.
        """
        if error is None:
            raise UnsupportedMediaType(
                "Did not attempt to load JSON data because the request"
                " Content-Type was not 'application/json'."
            )
        app_ctx = _cv_app.get(None)
        if app_ctx is not None and not app_ctx.app.debug:
            raise BadRequest() from error
        raise BadRequest(f"Failed to decode JSON object: {error}")

    @property
    def json(self) -> Any:
        """The parsed JSON body, as :meth:`get_json` returns it (raising 415 or
        400 as it does): ``await request.json`` in async code."""
        return self._dual(self._get_json(False, False, True), "request.json")

    def _form_type(self) -> tuple[str, dict[str, str]] | None:
        # The form's mimetype and options, or None for a body that is no form.
        content_type = self.headers.get("Content-Type")
        if content_type == _URLENCODED:  # the usual header, without parameters to parse
            return content_type, {}
        mimetype = self.mimetype
        return (mimetype, self.mimetype_params) if mimetype in _FORM_TYPES else None

    def _pending_form(self) -> tuple[str, dict[str, str]] | None:
        # The type of the form still to read from the body; None once form
        # and files are at hand (read before, or no form was sent).
        if self._form is not None:
            return None
        form_type = self._form_type()
        if form_type is None:
            self._form, self._files = _NO_FIELDS, _NO_FILES
        return form_type

    async def _load_form(self, form_type: tuple[str, dict[str, str]] | None = None) -> None:
        if form_type is None:
            form_type = self._pending_form()
            if form_type is None:
                return
        mimetype, options = form_type
        body = self.body
        was_complete = body.is_complete
        # A body already at hand is parsed as bytes, skipping the stream's
        # machinery; its limits are checked all the same.
        whole = body.whole_if_ready()
        parser = _formparser()
        expected = body.expected_length
        if whole is None and expected is not None and expected <= parser.SPOOL_MAX_SIZE:
            # A small body the server has yet to hand over (Granian's receive
            # always waits) is read whole and parsed the same way: the
            # parser would keep a file part of that size in memory anyway.
            whole = await body.read()
        if whole is not None and mimetype == _URLENCODED:
            form: MultiDict[str, str] = parser.parse_urlencoded_bytes(
                whole,
                max_form_memory_size=self.max_form_memory_size,
                max_form_parts=self.max_form_parts,
                max_content_length=body.max_content_length,
            )
            files: MultiDict[str, FileStorage] = _NO_FILES
        else:
            form, files = await parser.parse_form(
                body if whole is None else whole,
                mimetype,
                options,
                max_form_memory_size=self.max_form_memory_size,
                max_form_parts=self.max_form_parts,
                max_content_length=body.max_content_length,
            )
        self._form, self._files = form, files
        if not was_complete:
            # The form parser consumed the stream without keeping it; as in
            # Flask, the raw body then reads as empty.
            body.mark_consumed()

    async def _get_form(self, form_type: tuple[str, dict[str, str]]) -> MultiDict[str, str]:
        await self._load_form(form_type)
        assert self._form is not None
        return self._form

    async def _get_files(self, form_type: tuple[str, dict[str, str]]) -> MultiDict[str, FileStorage]:
        await self._load_form(form_type)
        return self._files_read()

    def _files_read(self) -> MultiDict[str, FileStorage]:
        # The files, once read. A form sent urlencoded has none; in debug
        # mode, asking for a file that came as a mere field name says why.
        files = self._files
        assert files is not None
        if files is _NO_FILES and self._form:
            return _debug_files(self, self._form)
        return files

    async def _get_values(self, form_type: tuple[str, dict[str, str]]) -> CombinedMultiDict[str, str]:
        await self._load_form(form_type)
        return self._combined_values()

    def _combined_values(self) -> CombinedMultiDict[str, str]:
        sources: list[MultiDict[str, str]] = [self.args]
        if self.method != "GET":
            assert self._form is not None
            sources.append(self._form)
        return CombinedMultiDict(sources)

    # In async code, form, files and values must be awaited while the body is
    # unread; once read (or when the body is no form) they may also be used
    # directly, as a template does with request.form.

    # The ready values are the plain value or a ReadyValue, which the dual
    # types describe (hence the ignores).

    @property
    def form(self) -> DualMultiDict[str, str]:
        """Form fields of a urlencoded or multipart body: ``await request.form``."""
        form_type = self._pending_form()
        if form_type is None:
            return self._form if in_sync_code() else ReadyValue(self._form)  # type: ignore[return-value]
        form: DualMultiDict[str, str] = self._dual(self._get_form(form_type), "request.form")
        return form

    @property
    def files(self) -> DualMultiDict[str, FileStorage]:
        """Uploaded files of a multipart body: ``await request.files``."""
        form_type = self._pending_form()
        if form_type is None:
            files = self._files_read()
            return files if in_sync_code() else ReadyValue(files)  # type: ignore[return-value]
        dual: DualMultiDict[str, FileStorage] = self._dual(self._get_files(form_type), "request.files")
        return dual

    @property
    def values(self) -> DualCombinedMultiDict[str, str]:
        """``args`` and ``form`` combined: ``await request.values``."""
        form_type = None if self.method == "GET" else self._pending_form()
        if form_type is None:
            values = self._combined_values()
            return values if in_sync_code() else ReadyValue(values)  # type: ignore[return-value]
        dual: DualCombinedMultiDict[str, str] = self._dual(
            self._get_values(form_type), "request.values"
        )
        return dual

    def close_files(self) -> None:
        """Close uploaded files that were spooled to disk."""
        if self._files:
            # items(multi=True): values() gives only the first file of each key.
            for _, storage in self._files.items(multi=True):
                storage.close()

    def close(self) -> Any:
        """Close the request's uploaded files, as werkzeug's (``with request:``
        does it too); ``await request.close()`` in async code, as Quart's.
        The app closes them itself once the request is over."""
        self.close_files()
        return None if in_sync_code() else ReadyValue(None)

    def __enter__(self) -> Request:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close_files()


def _debug_files(request: Request, form: MultiDict[str, str]) -> MultiDict[str, FileStorage]:
    # In debug mode, reading a file from a form sent without
    # enctype="multipart/form-data" says so (Flask's debug helper).
    app_ctx = _cv_app.get(None)
    if app_ctx is None or not app_ctx.app.debug:
        return _NO_FILES
    from ..debughelpers import debug_files

    return debug_files(request, form)


def _formparser() -> ModuleType:
    # Imported on first use, since it loads tempfile and aiofiles, and then
    # kept: an import statement per form costs about half a microsecond.
    global _formparser_module
    if _formparser_module is None:
        from .. import formparser

        _formparser_module = formparser
    return _formparser_module


_formparser_module: ModuleType | None = None
_MISSING: Any = object()
Request._cached_json = (_MISSING, _MISSING)
_URLENCODED = "application/x-www-form-urlencoded"
# Immutable, so every request without fields or files can share these.
_NO_FIELDS: ImmutableMultiDict[str, str] = ImmutableMultiDict()
_NO_FILES: ImmutableMultiDict[str, FileStorage] = ImmutableMultiDict()
_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})

__all__ = ["Body", "BodyConsumedError", "ClientDisconnected", "Request"]
