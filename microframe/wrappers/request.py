"""The HTTP request object and its streamed body."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from werkzeug.datastructures import CombinedMultiDict, Headers, ImmutableMultiDict, MultiDict
from werkzeug.exceptions import (
    BadRequest,
    RequestEntityTooLarge,
    RequestTimeout,
    UnsupportedMediaType,
)

from ..sync import AwaitableValue, detached_timeout, in_sync_code, run_async
from ..typing import ASGIMessage
from .base import RoutedRequest

if TYPE_CHECKING:

    from ..datastructures import FileStorage
    from ..json.provider import JSONProvider

T = TypeVar("T")

ReceiveCallable = Callable[[], Awaitable[ASGIMessage]]


class ClientDisconnected(BaseException):
    """The client went away before the request body was read in full.

    A :class:`BaseException`, like :class:`asyncio.CancelledError`: it is not
    an error of the app, so ``except Exception`` in views and the app's error
    handling (which would log it and answer a 500 to nobody) let it pass; the
    ASGI layer ends the request and runs teardown with it.
    """


class BodyConsumedError(RuntimeError):
    """The body was streamed with ``async for`` and can no longer be read whole."""


class Body:
    """A request body that can be awaited whole or iterated in chunks.

    ``await request.body`` (or ``await request.get_data()``) returns all of it;
    ``async for chunk in request.body`` streams it without keeping it. The
    ``max_content_length`` limit is checked against ``Content-Length`` before
    anything is read and again as the body grows, and the whole read is bounded
    by ``timeout`` seconds; both raise inside the application (413 and 408).

    :param receive: the ASGI ``receive`` callable, or ``None`` for a body
        given whole as ``data``.
    """

    __slots__ = ("_data", "_expected", "_receive", "_streamed", "max_content_length", "timeout")

    def __init__(
        self,
        receive: ReceiveCallable | None,
        expected_length: int | None = None,
        *,
        data: bytes | None = None,
        max_content_length: int | None = None,
        timeout: float | None = None,
    ) -> None:
        self._receive = receive
        self._expected = expected_length
        self._data: bytes | None = data if receive is None else None
        if receive is None and data is None:
            self._data = b""
        self._streamed = False
        self.max_content_length = max_content_length
        self.timeout = timeout

    @property
    def is_complete(self) -> bool:
        """``True`` once the whole body is in memory."""
        return self._data is not None

    def mark_consumed(self) -> None:
        """Note that a parser read the stream: the body now reads as empty."""
        self._data = b""

    def _check_declared_length(self) -> None:
        limit = self.max_content_length
        if limit is not None and self._expected is not None and self._expected > limit:
            raise RequestEntityTooLarge()

    async def _chunks(self) -> AsyncIterator[bytes]:
        receive = self._receive
        assert receive is not None
        self._check_declared_length()
        limit = self.max_content_length
        received = 0
        more = True
        while more:
            message = await receive()
            kind = message["type"]
            if kind == "http.disconnect":
                raise ClientDisconnected()
            if kind != "http.request":
                continue
            chunk: bytes = message.get("body", b"")
            more = message.get("more_body", False)
            received += len(chunk)
            if limit is not None and received > limit:
                raise RequestEntityTooLarge()
            if chunk:
                yield chunk

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._data is not None:
            if self._data:
                yield self._data
            return
        if self._streamed:
            raise BodyConsumedError("The request body has already been streamed.")
        self._streamed = True
        async with _deadline(self.timeout):
            async for chunk in self._chunks():
                yield chunk

    async def read(self) -> bytes:
        """Read and keep the whole body (once; later calls return the same bytes)."""
        if self._data is not None:
            return self._data
        if self._streamed:
            raise BodyConsumedError(
                "The request body was streamed with 'async for' and cannot be read whole."
            )
        self._streamed = True
        parts: list[bytes] = []
        async with _deadline(self.timeout):
            async for chunk in self._chunks():
                parts.append(chunk)
        self._data = b"".join(parts)
        return self._data

    def __await__(self) -> Any:
        return self.read().__await__()


class _deadline:
    """A timeout that turns expiry into 408 Request Timeout."""

    __slots__ = ("_cm", "_seconds")

    def __init__(self, seconds: float | None) -> None:
        self._seconds = seconds
        self._cm: detached_timeout | None = None

    async def __aenter__(self) -> None:
        if self._seconds is not None:
            self._cm = detached_timeout(self._seconds)
            await self._cm.__aenter__()

    async def __aexit__(self, *exc: Any) -> None:
        if self._cm is None:
            return
        try:
            await self._cm.__aexit__(*exc)
        except TimeoutError:
            raise RequestTimeout(
                f"The request body was not received within {self._seconds} seconds."
            ) from None


def _settle(coro: Coroutine[Any, Any, T], complete: bool) -> T:
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
    """

    #: Whether the request has a ``Cookie`` header, noted while the ASGI
    #: headers are decoded so that a request without one skips the session
    #: cookie check; ``None`` when unknown (requests built otherwise).
    cookie_sent: bool | None = None

    def __init__(
        self,
        method: str,
        scheme: str,
        path: str,
        query_string: bytes,
        headers: Headers,
        root_path: str,
        http_version: str,
        *,
        body: Body,
        remote_addr: str | None = None,
        server: tuple[str, int | None] | None = None,
        scope: Any = None,
        json_provider: JSONProvider | None = None,
        max_form_memory_size: int | None = None,
        max_form_parts: int | None = None,
    ) -> None:
        super().__init__(
            method, scheme, server, root_path, path, query_string, headers, remote_addr
        )
        self.http_version = http_version
        self.scope = scope
        self.body = body
        self._json_provider = json_provider
        self.max_form_memory_size = max_form_memory_size
        self.max_form_parts = max_form_parts

    # Class defaults rather than per-request assignments: most requests never
    # parse a form or JSON body.
    _form: MultiDict[str, str] | None = None
    _files: MultiDict[str, FileStorage] | None = None
    _cached_json: tuple[Any, Any]  # (_MISSING, _MISSING), set below the class

    # -- routing information -------------------------------------------------

    @property
    def max_content_length(self) -> int | None:
        """The body size limit for this request; settable per request."""
        return self.body.max_content_length

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self.body.max_content_length = value

    # -- the body: dual sync/async API --------------------------------------

    def _dual(self, coro: Coroutine[Any, Any, T], expr: str) -> Any:
        if in_sync_code():
            return _settle(coro, self.body.is_complete)
        return AwaitableValue(coro, expr)

    def get_data(
        self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False
    ) -> Any:
        """Return the body as bytes (or text): awaitable in async code."""
        return self._dual(self._get_data(as_text, parse_form_data), "request.get_data()")

    async def _get_data(self, as_text: bool, parse_form_data: bool) -> bytes | str:
        if parse_form_data:
            await self._load_form()
        data = await self.body.read()
        return data.decode(errors="replace") if as_text else data

    @property
    def data(self) -> Any:
        """The raw body as bytes: ``await request.data`` in async code."""
        return self._dual(self._get_data(False, False), "request.data")

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        """Parse the body as JSON: awaitable in async code.

        Raises 415 when the content type is not JSON (unless ``force``) and
        400 when the body is not valid JSON (unless ``silent``, which returns
        ``None``).
        """
        return self._dual(self._get_json(force, silent, cache), "request.get_json()")

    async def _get_json(self, force: bool, silent: bool, cache: bool) -> Any:
        cached = self._cached_json[silent]
        if cached is not _MISSING:
            return cached
        if not (force or self.is_json):
            if silent:
                return None
            return self.on_json_loading_failed(None)
        data = await self.body.read()
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

    def _load_json(self, data: bytes) -> Any:
        if self._json_provider is not None:
            return self._json_provider.loads(data)
        import json

        return json.loads(data)

    def on_json_loading_failed(self, error: Exception | None) -> NoReturn:
        """Called when the body cannot be loaded as JSON; raises 400 or 415."""
        if error is None:
            raise UnsupportedMediaType(
                "Did not attempt to load JSON data because the request"
                " Content-Type was not 'application/json'."
            )
        raise BadRequest(f"Failed to decode JSON object: {error}")

    @property
    def json(self) -> Any:
        """The parsed JSON body, or ``None``: ``await request.json`` in async code."""
        return self._dual(self._get_json(False, True, True), "request.json")

    async def _load_form(self) -> None:
        if self._form is not None:
            return
        from ..formparser import parse_form

        mimetype, options = self.mimetype, self.mimetype_params
        if mimetype not in _FORM_TYPES:
            self._form, self._files = ImmutableMultiDict(), ImmutableMultiDict()
            return
        body = self.body
        was_complete = body.is_complete
        form, files = await parse_form(
            body,
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

    async def _get_form(self) -> MultiDict[str, str]:
        await self._load_form()
        assert self._form is not None
        return self._form

    async def _get_files(self) -> MultiDict[str, FileStorage]:
        await self._load_form()
        assert self._files is not None
        return self._files

    async def _get_values(self) -> CombinedMultiDict[str, str]:
        sources: list[MultiDict[str, str]] = [self.args]
        if self.method != "GET":
            sources.append(await self._get_form())
        return CombinedMultiDict(sources)

    @property
    def form(self) -> Any:
        """Form fields of a urlencoded or multipart body: ``await request.form``."""
        return self._dual(self._get_form(), "request.form")

    @property
    def files(self) -> Any:
        """Uploaded files of a multipart body: ``await request.files``."""
        return self._dual(self._get_files(), "request.files")

    @property
    def values(self) -> Any:
        """``args`` and ``form`` combined: ``await request.values``."""
        return self._dual(self._get_values(), "request.values")

    def close_files(self) -> None:
        """Close uploaded files that were spooled to disk."""
        if self._files:
            # items(multi=True): values() gives only the first file of each key.
            for _, storage in self._files.items(multi=True):
                storage.close()


_MISSING: Any = object()
Request._cached_json = (_MISSING, _MISSING)
_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})

__all__ = ["Body", "BodyConsumedError", "ClientDisconnected", "Request"]
