"""The context globals: ``current_app``, ``g``, ``request``, ``session`` and
``websocket``.

Each global is a :class:`werkzeug.local.LocalProxy` over a
:class:`contextvars.ContextVar`, so every asyncio task (and every worker
thread running sync code for a request) sees its own contexts. For type
checkers the proxies are typed as the objects they stand for.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, cast

from werkzeug.local import LocalProxy

if TYPE_CHECKING:
    from .app import Microframe
    from .app_ctx_globals import _AppCtxGlobals
    from .ctx import AppContext, RequestContext, WebsocketContext
    from .sessions import SessionMixin
    from .wrappers import Request, Websocket

_no_app_msg = """\
Working outside of application context.

This typically means that you attempted to use functionality that needed
the current application. To solve this, set up an application context
with app.app_context(). See the documentation for more information.\
"""
_no_req_msg = """\
Working outside of request context.

This typically means that you attempted to use functionality that needed
an active HTTP request. Consult the documentation on testing for
information about how to avoid this problem.\
"""
_no_ws_msg = """\
Working outside of websocket context.

This typically means that you attempted to use functionality that needed
an active websocket connection. Use a websocket route, or push a
websocket context in tests with app.test_websocket_context().\
"""
_no_session_msg = """\
Working outside of request or websocket context.

The session is only available while a request or a websocket connection
is handled.\
"""

_cv_app: ContextVar[AppContext] = ContextVar("microframe.app_ctx")
_cv_request: ContextVar[RequestContext] = ContextVar("microframe.request_ctx")
_cv_websocket: ContextVar[WebsocketContext] = ContextVar("microframe.websocket_ctx")


_own = object.__getattribute__
# The proxy's own slots: never forwarded.
_PROXY_SLOTS = frozenset({"_get_current_object", "_LocalProxy__wrapped"})


class ContextProxy(LocalProxy):  # type: ignore[type-arg]
    """werkzeug's :class:`~werkzeug.local.LocalProxy`, with plain attribute
    reads and writes forwarded at once.

    LocalProxy forwards an attribute read only after Python's own lookup on
    the proxy has failed with an :exc:`AttributeError`, which costs ten times
    the read itself; views read ``request.*``, ``g.*`` and ``session`` many
    times per request. Dunder names, and everything when no context is
    bound (for werkzeug's fallbacks and error messages), take LocalProxy's
    own path.
    """

    __slots__ = ()

    def __getattribute__(self, name: str) -> Any:
        if name[:2] != "__" and name not in _PROXY_SLOTS:
            try:
                obj = _own(self, "_get_current_object")()
            except RuntimeError:
                pass  # unbound: LocalProxy raises its message
            else:
                return getattr(obj, name)
        return _own(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(_own(self, "_get_current_object")(), name, value)

    def __repr__(self) -> str:
        try:
            obj = _own(self, "_get_current_object")()
        except RuntimeError:
            return "<LocalProxy unbound>"  # as werkzeug's proxies say
        return repr(obj)


def _lookup_session() -> SessionMixin:
    ctx = _cv_request.get(None) or _cv_websocket.get(None)
    if ctx is None:
        raise RuntimeError(_no_session_msg)
    return ctx.session


def _attribute_proxy(var: ContextVar[Any], attr: str, message: str) -> Any:
    """A :class:`ContextProxy` for attribute ``attr`` of the context in
    ``var``, whose attribute reads and writes find it directly.

    The lookup werkzeug's proxy makes for every read (a function that
    gets the context, then an ``attrgetter``) is written out once here, for
    the proxies views use most (``request.args``, ``g.user``).
    """

    class AttributeProxy(ContextProxy):
        __slots__ = ()

        def __getattribute__(self, name: str) -> Any:
            if name[:2] != "__" and name not in _PROXY_SLOTS:
                ctx = var.get(None)
                if ctx is not None:
                    return getattr(getattr(ctx, attr), name)
            return _own(self, name)

        def __setattr__(self, name: str, value: Any) -> None:
            ctx = var.get(None)
            if ctx is None:
                raise RuntimeError(message)
            setattr(getattr(ctx, attr), name, value)

    return AttributeProxy(var, attr, unbound_message=message)


app_ctx: AppContext = cast("AppContext", ContextProxy(_cv_app, unbound_message=_no_app_msg))
current_app: Microframe = _attribute_proxy(_cv_app, "app", _no_app_msg)
g: _AppCtxGlobals = _attribute_proxy(_cv_app, "g", _no_app_msg)
request_ctx: RequestContext = cast(
    "RequestContext", ContextProxy(_cv_request, unbound_message=_no_req_msg)
)
request: Request = _attribute_proxy(_cv_request, "request", _no_req_msg)
websocket_ctx: WebsocketContext = cast(
    "WebsocketContext", ContextProxy(_cv_websocket, unbound_message=_no_ws_msg)
)
websocket: Websocket = _attribute_proxy(_cv_websocket, "websocket", _no_ws_msg)
session: SessionMixin = cast("SessionMixin", ContextProxy(_lookup_session))

__all__ = [
    "app_ctx",
    "current_app",
    "g",
    "request",
    "request_ctx",
    "session",
    "websocket",
    "websocket_ctx",
]
