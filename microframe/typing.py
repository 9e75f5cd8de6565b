"""Type aliases for views, hooks and the ASGI protocol.

These are the names to use in annotations of user code, e.g.::

    from microframe.typing import ResponseReturnValue

    async def index() -> ResponseReturnValue:
        return "hello"
"""

from __future__ import annotations

import os
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    Awaitable,
    Callable,
    Iterable,
    Mapping,
    Sequence,
)
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypedDict, TypeVar, Union

if TYPE_CHECKING:
    from werkzeug.datastructures import Headers
    from werkzeug.sansio.response import Response as SansIOResponse
    from werkzeug.wrappers import Response as WerkzeugResponse

    from .app import Microframe
    from .wrappers.response import Response

# --- ASGI ------------------------------------------------------------------

ASGIMessage = dict[str, Any]
ASGIReceiveCallable = Callable[[], Awaitable[ASGIMessage]]
ASGISendCallable = Callable[[ASGIMessage], Awaitable[None]]


class _BaseScope(TypedDict, total=False):
    asgi: dict[str, str]
    extensions: dict[str, dict[Any, Any]]
    state: dict[str, Any]


class HTTPScope(_BaseScope):
    """The ASGI scope of an HTTP request."""

    type: Literal["http"]
    http_version: str
    method: str
    scheme: str
    path: str
    raw_path: bytes
    query_string: bytes
    root_path: str
    headers: Iterable[tuple[bytes, bytes]]
    client: tuple[str, int] | None
    server: tuple[str, int | None] | None


class WebsocketScope(_BaseScope):
    """The ASGI scope of a WebSocket connection."""

    type: Literal["websocket"]
    http_version: str
    scheme: str
    path: str
    raw_path: bytes
    query_string: bytes
    root_path: str
    headers: Iterable[tuple[bytes, bytes]]
    client: tuple[str, int] | None
    server: tuple[str, int | None] | None
    subprotocols: Iterable[str]


class LifespanScope(_BaseScope):
    """The ASGI scope of the lifespan protocol."""

    type: Literal["lifespan"]


Scope = Union[HTTPScope, WebsocketScope, LifespanScope]

ASGIApp = Callable[[Any, ASGIReceiveCallable, ASGISendCallable], Awaitable[None]]
"""An ASGI application: an app, or middleware wrapped around one."""

# --- Return values -----------------------------------------------------------

ResponseBody = Union[
    "Response",
    "WerkzeugResponse",
    "SansIOResponse",
    str,
    bytes,
    Mapping[str, Any],
    list[Any],
    Iterable[str],
    Iterable[bytes],
    AsyncIterable[str],
    AsyncIterable[bytes],
]
"""What a view may return as the body of its response."""

ResponseValue = ResponseBody
"""Flask's name for :data:`ResponseBody`."""

StatusCode = int
HeaderName = str
"""Quart's name for the type of a header's name."""
HeaderValue = Union[str, list[str], tuple[str, ...]]
HeadersValue = Union[
    "Headers",
    Mapping[HeaderName, HeaderValue],
    Sequence[tuple[HeaderName, HeaderValue]],
]

ResponseReturnValue = Union[
    ResponseBody,
    tuple[ResponseBody, HeadersValue],
    tuple[ResponseBody, StatusCode],
    tuple[ResponseBody, StatusCode, HeadersValue],
]
"""Everything a view function, hook or error handler may return."""

ResponseTypes = Union["Response", "WerkzeugResponse"]
"""The response objects a view may hand back whole."""

ResponseClass = TypeVar("ResponseClass", bound="Response")
"""Flask's type variable for a response class."""

# --- Callables -------------------------------------------------------------

RouteCallable = Callable[..., ResponseReturnValue | Awaitable[ResponseReturnValue]]
"""A view: a coroutine function or a plain function returning a response value."""

BeforeRequestCallable = Callable[
    [], ResponseReturnValue | None | Awaitable[ResponseReturnValue | None]
]
BeforeWebsocketCallable = BeforeRequestCallable
"""A ``before_websocket`` hook: like a ``before_request`` one."""
WebsocketCallable = Callable[
    ..., ResponseReturnValue | None | Awaitable[ResponseReturnValue | None]
]
"""A websocket handler: it may return nothing, or a response to refuse the connection."""
AfterRequestCallable = Callable[["Response"], Union["Response", Awaitable["Response"]]]
"""An ``after_request`` hook: it gets the response and returns it (or another)."""
AfterWebsocketCallable = Callable[
    [Union["Response", None]], Union["Response", None, Awaitable[Union["Response", None]]]
]
"""An ``after_websocket`` hook: it gets the handler's response, ``None`` when
the handler returned nothing, and returns it."""
TeardownCallable = Callable[[BaseException | None], None | Awaitable[None]]
ErrorHandlerCallable = Callable[[Any], ResponseReturnValue | Awaitable[ResponseReturnValue]]
TemplateContextProcessorCallable = Callable[
    [], dict[str, Any] | Awaitable[dict[str, Any]]
]
TemplateFilterCallable = Callable[..., Any]
TemplateGlobalCallable = Callable[..., Any]
TemplateTestCallable = Callable[..., bool]
URLDefaultCallable = Callable[[str, dict[str, Any]], None]
URLValuePreprocessorCallable = Callable[[str | None, dict[str, Any] | None], None]
ShellContextProcessorCallable = Callable[[], dict[str, Any]]
BeforeServingCallable = Callable[[], None | Awaitable[None]]
AfterServingCallable = Callable[[], None | Awaitable[None]]
WhileServingCallable = Callable[[], AsyncGenerator[None, None]]
AppOrBlueprintKey = Union[str, None]
FilePath = Union[bytes, str, "os.PathLike[str]", "os.PathLike[bytes]"]
"""A path to a file, as :func:`~microframe.send_file` takes it."""

# --- Protocols (Quart's, for extensions that type against them) -------------


class ASGIHTTPProtocol(Protocol):
    """What :attr:`Microframe.asgi_http_class` is: serves one HTTP request."""

    def __init__(self, app: Microframe, scope: HTTPScope) -> None: ...

    async def __call__(self, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None: ...


class ASGIWebsocketProtocol(Protocol):
    """What :attr:`Microframe.asgi_websocket_class` is: serves one WebSocket."""

    def __init__(self, app: Microframe, scope: WebsocketScope) -> None: ...

    async def __call__(self, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None: ...


class ASGILifespanProtocol(Protocol):
    """What :attr:`Microframe.asgi_lifespan_class` is: runs startup and shutdown."""

    def __init__(self, app: Microframe, scope: LifespanScope) -> None: ...

    async def __call__(self, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None: ...


class TestClientProtocol(Protocol):
    """The test client as extensions use it (Quart's ``TestClientProtocol``)."""

    app: Microframe

    async def open(self, path: str, *args: Any, **kwargs: Any) -> Any: ...

    async def get(self, *args: Any, **kwargs: Any) -> Any: ...

    async def post(self, *args: Any, **kwargs: Any) -> Any: ...

    def websocket(self, path: str, *args: Any, **kwargs: Any) -> Any: ...

    async def __aenter__(self) -> Any: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class TestAppProtocol(Protocol):
    """The test app as extensions use it (Quart's ``TestAppProtocol``)."""

    def test_client(self) -> Any: ...

    async def startup(self) -> None: ...

    async def shutdown(self) -> None: ...


class Event(Protocol):
    """An event such as :class:`asyncio.Event`, as Quart types it."""

    def is_set(self) -> bool: ...

    def set(self) -> None: ...

__all__ = [
    "ASGIApp",
    "ASGIHTTPProtocol",
    "ASGILifespanProtocol",
    "ASGIWebsocketProtocol",
    "ASGIMessage",
    "ASGIReceiveCallable",
    "ASGISendCallable",
    "AfterRequestCallable",
    "AfterWebsocketCallable",
    "AfterServingCallable",
    "AppOrBlueprintKey",
    "BeforeRequestCallable",
    "BeforeServingCallable",
    "BeforeWebsocketCallable",
    "ErrorHandlerCallable",
    "Event",
    "FilePath",
    "HTTPScope",
    "HeaderName",
    "HeaderValue",
    "HeadersValue",
    "LifespanScope",
    "ResponseBody",
    "ResponseClass",
    "ResponseReturnValue",
    "ResponseValue",
    "ResponseTypes",
    "RouteCallable",
    "Scope",
    "ShellContextProcessorCallable",
    "StatusCode",
    "TeardownCallable",
    "TestAppProtocol",
    "TestClientProtocol",
    "TemplateContextProcessorCallable",
    "TemplateFilterCallable",
    "TemplateGlobalCallable",
    "TemplateTestCallable",
    "URLDefaultCallable",
    "URLValuePreprocessorCallable",
    "WebsocketCallable",
    "WebsocketScope",
    "WhileServingCallable",
]
