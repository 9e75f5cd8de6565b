"""Type aliases for views, hooks and the ASGI protocol.

These are the names to use in annotations of user code, e.g.::

    from microframe.typing import ResponseReturnValue

    async def index() -> ResponseReturnValue:
        return "hello"
"""

from __future__ import annotations

from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    Awaitable,
    Callable,
    Iterable,
    Mapping,
    Sequence,
)
from typing import TYPE_CHECKING, Any, Literal, TypedDict, TypeVar, Union

if TYPE_CHECKING:
    from werkzeug.datastructures import Headers
    from werkzeug.sansio.response import Response as SansIOResponse
    from werkzeug.wrappers import Response as WerkzeugResponse

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
HeaderValue = Union[str, list[str], tuple[str, ...]]
HeadersValue = Union[
    "Headers",
    Mapping[str, HeaderValue],
    Sequence[tuple[str, HeaderValue]],
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

__all__ = [
    "ASGIApp",
    "ASGIMessage",
    "ASGIReceiveCallable",
    "ASGISendCallable",
    "AfterRequestCallable",
    "AfterWebsocketCallable",
    "AfterServingCallable",
    "AppOrBlueprintKey",
    "BeforeRequestCallable",
    "BeforeServingCallable",
    "ErrorHandlerCallable",
    "HTTPScope",
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
    "TemplateContextProcessorCallable",
    "TemplateFilterCallable",
    "TemplateGlobalCallable",
    "TemplateTestCallable",
    "URLDefaultCallable",
    "URLValuePreprocessorCallable",
    "WebsocketScope",
    "WhileServingCallable",
]
