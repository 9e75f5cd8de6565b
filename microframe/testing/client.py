"""The test client: requests straight into the app's ASGI interface.

It takes the arguments of Flask's (werkzeug's) test client, which go to
:class:`~microframe.testing.EnvironBuilder`, and Quart's; the request is
served through the app's ASGI interface, as a server would serve it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from inspect import isawaitable
from io import BytesIO
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urljoin, urlsplit

import werkzeug.test
from werkzeug.datastructures import Headers
from werkzeug.http import dump_cookie
from werkzeug.test import ClientRedirectError
from werkzeug.wsgi import get_current_url

from ..app import Microframe
from ..ctx import AppContext, RequestContext
from ..globals import _cv_app, _cv_request
from ..sessions import SessionMixin
from ..signals import request_tearing_down
from ..sync import in_sync_code, run_async, run_async_serving
from ..typing import ASGIApp, ASGIMessage
from ..wrappers import Request, Response
from ..wsgi import request_from_scope
from .builder import ScopeBase, build_environ, scope_from_environ, werkzeug_version
from .connection import TestHTTPConnection
from .cookies import (
    Cookie,
    CookieJar,
    cookie_origin,
    flask_delete_cookie_args,
    flask_set_cookie_args,
    quart_delete_cookie_args,
    quart_set_cookie_args,
)
from .response import DualTestResponse, TestResponse, make_test_response
from .utils import sentinel
from .websocket import TestWebsocketConnection, websocket_environ, websocket_scope

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

T = TypeVar("T")

_REDIRECTS = frozenset({301, 302, 303, 305, 307, 308})
#: Quart's ``open`` arguments after the path, in ``_make_request``'s order.
_QUART_OPEN_ARGS = (
    "method", "headers", "data", "form", "files", "query_string", "json", "scheme",
    "root_path", "http_version", "scope_base", "auth", "subdomain",
)
#: Whether the request being sent through ``_make_request`` follows redirects.
_following: ContextVar[bool] = ContextVar("_following", default=False)
_PRESERVE_KEY = "_microframe_preserve_context"


class MicroframeClient:
    """A client that sends requests to the app in-process, through ASGI.

    In async tests the calls are awaited, as with Quart's client; in plain
    ``def`` tests they return the finished response, as with Flask's::

        async def test_index(app):
            client = app.test_client()
            response = await client.get("/", query_string={"q": "x"})
            assert response.status_code == 200
            assert await response.get_data(as_text=True) == "hello"

        def test_index_sync(app):
            response = app.test_client().get("/", "https://example.com/")
            assert response.text == "hello"

    Requests take werkzeug's :class:`~werkzeug.test.EnvironBuilder`
    arguments (see :meth:`open`). Cookies set by responses are kept and sent
    with later requests.

    :param app: the app to send requests to.
    :param response_wrapper: the response class to extend (werkzeug's
        argument); the app's ``response_class`` by default.
    :param use_cookies: keep cookies across requests.
    :param allow_subdomain_redirects: let ``follow_redirects`` follow a
        redirect to a subdomain of the request's host.
    """

    def __init__(
        self,
        app: Microframe,
        response_wrapper: type[Response] | bool | None = None,
        use_cookies: bool = True,
        allow_subdomain_redirects: bool = False,
    ) -> None:
        if isinstance(response_wrapper, bool):  # Quart's order: (app, use_cookies)
            use_cookies, response_wrapper = response_wrapper, None
        self.app = app
        #: The response class the client's responses extend (the app's by default).
        self.response_wrapper: type[Response] | None = response_wrapper
        self.cookie_jar: CookieJar | None = CookieJar() if use_cookies else None
        self.allow_subdomain_redirects = allow_subdomain_redirects
        #: Defaults of every request's environ, as in Flask's client; change
        #: them to send another client address or ``User-Agent``.
        self.environ_base: dict[str, object] = {
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_USER_AGENT": f"Werkzeug/{werkzeug_version()}",
        }
        self.preserve_context = False
        #: The contexts of the last request, kept by ``with client:``.
        self._preserved: list[tuple[AppContext, RequestContext]] = []
        #: The preserved contexts this client pushed in the test's context.
        self._pushed: list[tuple[AppContext, RequestContext]] = []
        #: The server pushes the app asked for, as Quart's client records
        #: them: ``(path, headers)`` of each ``http.response.push`` message
        #: (sent on HTTP/2 and 3 requests, ``http_version="2"``).
        self.push_promises: list[tuple[str, Headers]] = []

    @property
    def application(self) -> Microframe:
        """The app, by werkzeug's name for it."""
        return self.app

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.app!r}>"

    # -- cookies ------------------------------------------------------------

    def _jar(self) -> CookieJar:
        if self.cookie_jar is None:
            raise TypeError("Cookies are disabled. Create a client with 'use_cookies=True'.")
        return self.cookie_jar

    def get_cookie(self, key: str, domain: str = "localhost", path: str = "/") -> Cookie | None:
        """Return the cookie ``key`` set for ``domain`` and ``path``, or ``None``.

        The :class:`~microframe.testing.cookies.Cookie` has werkzeug's
        attributes: ``key``, ``value``, ``expires``, ``max_age``, ``domain``,
        ``path``, ``secure``, ``http_only``, ``same_site``, ``decoded_key``
        and ``decoded_value``.
        """
        return self._jar().get(key, domain, path)

    def set_cookie(self, *args: Any, **kwargs: Any) -> None:
        """Set a cookie to send with later requests.

        Flask's (werkzeug's) argument order, ``set_cookie(key, value="", *,
        domain="localhost", origin_only=True, path="/", **dump_cookie_args)``,
        and Quart's, ``set_cookie(server_name, key, value="", max_age=None,
        expires=None, path="/", domain=None, ...)``, both work; further
        arguments (``max_age``, ``expires``, ``secure``, ...) are
        :func:`~werkzeug.http.dump_cookie`'s. The cookie is sent to its domain
        only, or also to its subdomains with ``origin_only=False`` (Flask) or
        a ``domain`` (Quart).
        """
        jar = self._jar()
        quart = "server_name" in kwargs or len(args) >= 3 or (len(args) == 2 and "value" in kwargs)
        parse = quart_set_cookie_args if quart else flask_set_cookie_args
        host, key, value, options, origin_only = parse(*args, **kwargs)
        cookie = Cookie.from_set_cookie(dump_cookie(key, value, **options), host or self._host(), "/")
        cookie.origin_only = origin_only
        jar.set(cookie)

    def _host(self) -> str:
        # Quart's extensions pass server_name=None (Quart-Auth's default
        # cookie domain): the host this client sends requests to by default.
        return str(self.app.config.get("SERVER_NAME") or "localhost")

    def delete_cookie(self, *args: Any, **kwargs: Any) -> None:
        """Forget a cookie: Flask's ``delete_cookie(key, *, domain="localhost",
        path="/")`` or Quart's ``delete_cookie(server_name, key, path="/",
        domain=None)``."""
        jar = self._jar()
        quart = "server_name" in kwargs or len(args) >= 2
        parse = quart_delete_cookie_args if quart else flask_delete_cookie_args
        key, domain, path = parse(*args, **kwargs)
        jar.delete(key, domain or self._host(), path)

    def _add_cookies(self, environ: WSGIEnvironment) -> None:
        """Add the jar's cookies for the environ's URL to its ``Cookie`` header.

        A ``Cookie`` header the test passed is kept, the jar's cookies after
        it (werkzeug's client would drop it).
        """
        if self.cookie_jar is None:
            return
        header = self.cookie_jar.header_for(*cookie_origin(environ))
        if header is not None:
            given = environ.get("HTTP_COOKIE")
            environ["HTTP_COOKIE"] = f"{given}; {header}" if given else header

    def _keep_cookies(self, environ: WSGIEnvironment, response: Response) -> None:
        if self.cookie_jar is not None:
            host, path = cookie_origin(environ)
            self.cookie_jar.update_from(response.headers.getlist("Set-Cookie"), host, path)

    # -- requests -----------------------------------------------------------

    def open(
        self, *args: Any, buffered: bool = False, follow_redirects: bool = False, **kwargs: Any
    ) -> DualTestResponse:
        """Send a request and return the response: awaitable in async code.

        The arguments are those of :class:`~microframe.testing.EnvironBuilder`
        (Flask's and werkzeug's), or one ready builder, WSGI environ or
        werkzeug request:

        :param path: the path, optionally with a query string, or a full URL.
        :param base_url: where the app is served (``"https://example.com/"``),
            also the second positional argument.
        :param method: the HTTP method (set by :meth:`get`, :meth:`post`, ...).
        :param headers: request headers (a dict, list of pairs or ``Headers``).
        :param query_string: a dict (``None`` values are left out) or a str.
        :param data: a body (bytes, str or a file), or a dict sent as a form,
            file values (file objects, ``(file, filename[, content_type])``)
            as multipart.
        :param json: a value sent as a JSON body, dumped by the app's provider.
        :param content_type: the ``Content-Type`` of the body.
        :param auth: a ``(username, password)`` for Basic authentication.
        :param subdomain: the subdomain of ``SERVER_NAME`` to request.
        :param url_scheme: the scheme instead of ``PREFERRED_URL_SCHEME``.
        :param environ_base: environ defaults, on top of :attr:`environ_base`.
        :param environ_overrides: environ values set last (``REMOTE_ADDR``,
            ``wsgi.url_scheme``, ``HTTP_HOST``, ...).
        :param follow_redirects: follow redirects; ``response.history`` lists
            the responses on the way.
        :param buffered: accepted for werkzeug's sake: the body is always read
            in full before the response is returned.

        Quart's ``form``, ``files``, ``scheme``, ``root_path``,
        ``http_version`` and ``scope_base`` are accepted too.
        """
        # The response, or a coroutine giving it: DualTestResponse describes both.
        if not in_sync_code():
            if self._through_make_request(args, kwargs):
                coro = self._open_quart(args[0], kwargs, follow_redirects)
            else:
                coro = self._open(args, kwargs, follow_redirects)
            if not self.preserve_context:
                return coro  # type: ignore[return-value]
            return self._open_preserving(coro)  # type: ignore[return-value]
        if self.preserve_context:
            self._pop_preserved()
        environ, scope_base = build_environ(self.app, args, kwargs, self.environ_base)
        run = run_async_serving if self._view_runs_here(environ, scope_base) else run_async
        response = run(self._open_built(environ, scope_base, follow_redirects))
        if self.preserve_context:
            self._push_preserved()
        return response  # type: ignore[return-value]

    def _view_runs_here(self, environ: WSGIEnvironment, scope_base: ScopeBase) -> bool:
        """Whether a request made from sync code runs its view on this thread.

        So it does, as under Flask, when its view is a plain ``def`` and an
        app context of the app, pushed by this thread's code (a ``with
        app.app_context():`` block, the shell), is current: the request
        shares that context's ``g``, and a thread-bound object on it (an
        ``sqlite3`` connection) must be used on the thread that owns it. An
        ``async def`` view runs here anyway (the event loop does); other
        requests run their sync code on a worker thread, as under a server.
        """
        app_ctx = _cv_app.get(None)
        if app_ctx is None or app_ctx.app is not self.app:
            return False
        # Matched without the body: the method, host and path decide the view.
        scope, _ = scope_from_environ({**environ, "wsgi.input": BytesIO()}, "http", scope_base)
        try:
            request = request_from_scope(self.app, scope, b"")
            RequestContext(self.app, request).match_request()
        except Exception:
            # A request the app cannot even build: it is answered (or raises)
            # the usual way, sync code on a worker thread.
            return False
        if request.url_rule is None or request.routing_exception is not None:
            return False
        return not self.app._cycle.view_runs_async(request)

    async def _open_preserving(self, coro: Coroutine[object, object, Response]) -> Response:
        try:
            await self._pop_preserved_async()
        except BaseException:
            coro.close()
            raise
        response = await coro
        await self._push_preserved_async()
        return response

    # -- preserved contexts (``with client:``) ----------------------------------
    #
    # The app tears its contexts down at the end of each request, on the
    # request's worker thread, as usual. A receiver of request_tearing_down,
    # connected only inside ``with client:``, notes the contexts of this
    # client's requests (marked in the scope); the client then pushes them
    # again in the test's own context, as Flask's client does, and pops them
    # (running teardown once more, as Flask does) before the next request
    # and when the block ends. Nothing is added to the app's request path.

    def _note_contexts(self, sender: object, **extra: object) -> None:
        req_ctx = _cv_request.get(None)
        app_ctx = _cv_app.get(None)
        if req_ctx is None or app_ctx is None:
            return
        scope = req_ctx.request.scope
        extensions = scope.get("extensions") if isinstance(scope, dict) else None
        if extensions and extensions.get(_PRESERVE_KEY) is self:
            self._preserved = [(app_ctx, req_ctx)]

    def _start_preserving(self) -> None:
        if self.preserve_context:
            raise RuntimeError("Cannot nest client invocations")
        self.preserve_context = True
        self._preserved = []
        request_tearing_down.connect(self._note_contexts, sender=self.app, weak=False)

    def _stop_preserving(self) -> None:
        self.preserve_context = False
        request_tearing_down.disconnect(self._note_contexts, sender=self.app)

    def _push_preserved(self) -> None:
        for app_ctx, req_ctx in self._preserved:
            app_ctx.push()
            req_ctx.push()
            self._pushed.append((app_ctx, req_ctx))
        self._preserved = []

    async def _push_preserved_async(self) -> None:
        for app_ctx, req_ctx in self._preserved:
            await app_ctx.push_async()
            # The sync push: the request context's session is kept as the
            # view left it rather than opened again.
            req_ctx.push()
            self._pushed.append((app_ctx, req_ctx))
        self._preserved = []

    def _pop_preserved(self) -> None:
        while self._pushed:
            app_ctx, req_ctx = self._pushed.pop()
            try:
                req_ctx.pop()
            finally:
                app_ctx.pop()

    async def _pop_preserved_async(self) -> None:
        while self._pushed:
            app_ctx, req_ctx = self._pushed.pop()
            try:
                await req_ctx.pop_async()
            finally:
                await app_ctx.pop_async()

    async def _open(
        self, args: tuple[object, ...], kwargs: dict[str, object], follow_redirects: bool
    ) -> TestResponse:
        environ, scope_base = build_environ(self.app, args, kwargs, self.environ_base)
        return await self._open_built(environ, scope_base, follow_redirects)

    # -- Quart's _make_request -------------------------------------------------
    #
    # Quart's client sends each request through _make_request, taking Quart's
    # arguments in order, and Quart extensions' client mixins override it to
    # convert the arguments first (Quart-Schema dumps models given as json,
    # form or query_string). A subclass that overrides it gets it called for
    # every request made with Quart's arguments; the stock client skips it.

    def _through_make_request(self, args: tuple[object, ...], kwargs: dict[str, object]) -> bool:
        return (
            type(self)._make_request is not MicroframeClient._make_request
            and len(args) == 1
            and isinstance(args[0], str)
            and kwargs.keys() <= set(_QUART_OPEN_ARGS)
        )

    async def _open_quart(
        self, path: str, kwargs: dict[str, object], follow_redirects: bool
    ) -> TestResponse:
        token = _following.set(follow_redirects)
        try:
            options: dict[str, Any] = {"method": "GET", "json": sentinel, **kwargs}
            values: list[Any] = [options.get(name) for name in _QUART_OPEN_ARGS]
            return await self._make_request(path, *values)
        finally:
            _following.reset(token)

    async def _make_request(
        self,
        path: str,
        method: str,
        headers: Any,
        data: Any,
        form: Any,
        files: Any,
        query_string: Any,
        json: Any,
        scheme: str | None,
        root_path: str | None,
        http_version: str | None,
        scope_base: dict[str, Any] | None,
        auth: Any = None,
        subdomain: str | None = None,
    ) -> TestResponse:
        """Send one request from Quart's arguments (the hook Quart's client has).

        Override it, calling ``super()._make_request(...)``, to convert the
        arguments of every request sent with Quart's arguments.
        """
        given = {
            "method": method, "headers": headers, "data": data, "form": form, "files": files,
            "query_string": query_string, "scheme": scheme, "root_path": root_path,
            "http_version": http_version, "scope_base": scope_base, "auth": auth,
            "subdomain": subdomain,
        }
        kwargs: dict[str, object] = {name: value for name, value in given.items() if value is not None}
        if json is not sentinel:
            kwargs["json"] = json
        return await self._open((path,), kwargs, _following.get())

    async def _open_built(
        self, environ: WSGIEnvironment, scope_base: ScopeBase, follow_redirects: bool
    ) -> TestResponse:
        response, body = await self._send(environ, scope_base)
        if not follow_redirects:
            return response
        history: list[TestResponse] = []
        seen: set[tuple[str, int]] = set()
        while response.status_code in _REDIRECTS:
            step = (response.headers.get("Location", ""), response.status_code)
            if step in seen:
                raise ClientRedirectError(
                    f"Loop detected: A {step[1]} redirect to {step[0]} was already made."
                )
            seen.add(step)
            response.history = tuple(history)
            history.append(response)
            environ = self._redirect_environ(response, environ, body)
            response, body = await self._send(environ, scope_base)
        response.history = tuple(history)
        return response

    def _redirect_environ(
        self, response: TestResponse, environ: WSGIEnvironment, body: bytes
    ) -> WSGIEnvironment:
        """Return the environ of the request that follows ``response``'s redirect.

        As werkzeug's client: only 307 and 308 repeat the method and body
        (other redirects turn into a GET, HEAD staying HEAD); a redirect to
        another host is refused, one to a subdomain too unless
        ``allow_subdomain_redirects``.
        """
        current = get_current_url(environ)
        target = urlsplit(urljoin(current, response.headers.get("Location", "")))
        here = urlsplit(current).hostname or ""
        there = target.hostname or here
        if there != here:
            if not there.endswith("." + here):
                raise RuntimeError("Following external redirects is not supported.")
            if not self.allow_subdomain_redirects:
                raise RuntimeError("Following subdomain redirects is not enabled.")
        source = {**environ, "wsgi.input": BytesIO(body)}
        builder = werkzeug.test.EnvironBuilder.from_environ(
            source, path=target.path or "/", query_string=target.query
        )
        if target.netloc:
            builder.url_scheme = target.scheme
            builder.host = target.netloc
        root = builder.script_root
        if root and (target.path == root or target.path.startswith(root + "/")):
            builder.path = target.path[len(root):] or "/"
        else:
            builder.script_root = ""
        if response.status_code not in (307, 308):
            if builder.method != "HEAD":
                builder.method = "GET"
            builder.input_stream = None
            builder.content_type = None
            builder.content_length = None
            builder.headers.pop("Transfer-Encoding", None)
        builder.environ_base = dict(self.environ_base)
        try:
            return builder.get_environ()
        finally:
            builder.close()

    async def _send(
        self, environ: WSGIEnvironment, scope_base: ScopeBase
    ) -> tuple[TestResponse, bytes]:
        """Serve one request through the app's ASGI interface; return it and its body."""
        environ = dict(environ)
        self._add_cookies(environ)
        scope, body = scope_from_environ(environ, "http", scope_base)
        if self.preserve_context:
            scope["extensions"][_PRESERVE_KEY] = self
        status, headers, chunks = await _run_asgi(self.app, scope, body, self.push_promises)
        response = make_test_response(
            self.app, self.response_wrapper or self.app.response_class, status, headers,
            b"".join(chunks), len(chunks) > 1,
        )
        response.attach_request(self.app, scope, body)
        self._keep_cookies(environ, response)
        return response, body

    def get(self, *args: Any, **kwargs: Any) -> DualTestResponse:
        """Send a GET request; see :meth:`open`."""
        return self.open(*args, **{**kwargs, "method": "GET"})

    def post(self, *args: Any, **kwargs: Any) -> DualTestResponse:
        """Send a POST request; see :meth:`open`."""
        return self.open(*args, **{**kwargs, "method": "POST"})

    def put(self, *args: Any, **kwargs: Any) -> DualTestResponse:
        """Send a PUT request; see :meth:`open`."""
        return self.open(*args, **{**kwargs, "method": "PUT"})

    def patch(self, *args: Any, **kwargs: Any) -> DualTestResponse:
        """Send a PATCH request; see :meth:`open`."""
        return self.open(*args, **{**kwargs, "method": "PATCH"})

    def delete(self, *args: Any, **kwargs: Any) -> DualTestResponse:
        """Send a DELETE request; see :meth:`open`."""
        return self.open(*args, **{**kwargs, "method": "DELETE"})

    def head(self, *args: Any, **kwargs: Any) -> DualTestResponse:
        """Send a HEAD request; see :meth:`open`."""
        return self.open(*args, **{**kwargs, "method": "HEAD"})

    def options(self, *args: Any, **kwargs: Any) -> DualTestResponse:
        """Send an OPTIONS request; see :meth:`open`."""
        return self.open(*args, **{**kwargs, "method": "OPTIONS"})

    def trace(self, *args: Any, **kwargs: Any) -> DualTestResponse:
        """Send a TRACE request; see :meth:`open`."""
        return self.open(*args, **{**kwargs, "method": "TRACE"})

    def request(self, path: str, *, method: str = "GET", **kwargs: Any) -> TestHTTPConnection:
        """Open a request to send and read piece by piece (Quart's):
        ``async with client.request("/upload", method="POST") as connection``.

        See :mod:`microframe.testing.connection`. The body is what ``connection.send()``
        sends: no ``Content-Length`` but ``Transfer-Encoding: chunked`` (unless a ``GET`` or
        ``HEAD``), as a streamed upload. The other arguments are those of :meth:`open`
        (``headers``, ``query_string``, ``auth``, ``subdomain``, ...). The client's cookies go
        with it, and the response's are kept by ``await connection.as_response()``.
        """
        environ, scope_base = build_environ(
            self.app, (path,), {**kwargs, "method": method}, self.environ_base
        )
        environ.pop("CONTENT_LENGTH", None)
        if method.upper() not in ("GET", "HEAD"):
            # A body of unknown length, as an HTTP/1.1 client streams one.
            environ.setdefault("HTTP_TRANSFER_ENCODING", "chunked")
        self._add_cookies(environ)
        scope, _ = scope_from_environ(environ, "http", scope_base)
        return TestHTTPConnection(
            self.app, scope, lambda response: self._keep_cookies(environ, response)
        )

    def websocket(
        self, path: str = "/", *, subprotocols: list[str] | None = None, **kwargs: Any
    ) -> TestWebsocketConnection:
        """Open a websocket to the app: ``async with client.websocket("/ws") as ws``.

        ::

            async with client.websocket("/ws", subprotocols=["chat"]) as ws:
                await ws.send_json({"text": "hi"})
                assert await ws.receive_json() == {"echo": "hi"}

        A rejected handshake raises
        :class:`~microframe.testing.WebsocketResponseError` when the block is
        entered. The client's cookies and :attr:`environ_base` go with the
        handshake.

        :param path: the path, optionally with a query string, or a full URL.
        :param subprotocols: the subprotocols to offer.
        :param kwargs: ``headers``, ``query_string``, ``base_url``,
            ``subdomain``, ``auth``, ``environ_overrides`` and the like, as
            for :meth:`open`; Quart's ``scheme`` (``ws`` or ``wss``),
            ``root_path`` and ``scope_base``.
        """

        environ, scope_base = websocket_environ(self.app, path, kwargs, self.environ_base)
        self._add_cookies(environ)
        return TestWebsocketConnection(self.app, websocket_scope(environ, scope_base, subprotocols))

    # -- sessions -------------------------------------------------------------

    def session_transaction(self, *args: Any, **kwargs: Any) -> SessionTransaction:
        """Open the session the client's cookies carry, to read or change it.

        Changes are saved back to the client's cookies when the block ends.
        Use ``async with`` in async tests and ``with`` in sync ones::

            async with client.session_transaction() as session:
                session["user_id"] = 1
            response = await client.get("/profile")

        :param args: the path and other arguments of the request the session
            is opened for, as for :meth:`Microframe.test_request_context
            <microframe.app.Microframe.test_request_context>`.
        """
        if self.cookie_jar is None:
            raise TypeError("Cookies are disabled. Create a client with 'use_cookies=True'.")
        return SessionTransaction(self, args, kwargs)

    def __enter__(self) -> MicroframeClient:
        """Keep the contexts of the last request pushed until the block ends.

        As with Flask's client, ``request``, ``session`` and ``g`` can be
        inspected after a request::

            with app.test_client() as client:
                client.get("/profile")
                assert g.user.name == "Ada"
                assert request.path == "/profile"

        In async tests use ``async with client:``.
        """
        if not in_sync_code():
            raise RuntimeError("Use 'async with client:' in async code.")
        self._start_preserving()
        return self

    def __exit__(
        self, exc_type: type | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self._pop_preserved()
        finally:
            self._stop_preserving()

    async def __aenter__(self) -> MicroframeClient:
        """Keep the contexts of the last request pushed; see :meth:`__enter__`."""
        self._start_preserving()
        return self

    async def __aexit__(
        self, exc_type: type | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            await self._pop_preserved_async()
        finally:
            self._stop_preserving()


class SessionTransaction:
    """The context manager of :meth:`MicroframeClient.session_transaction`.

    The request context is pushed only while the session is opened and
    saved, as in Flask, so the block itself runs outside any context. The
    app's session interface may be Flask's (sync methods) or Quart's (async
    methods).
    """

    def __init__(self, client: MicroframeClient, args: tuple[object, ...], kwargs: dict[str, object]):
        self.client = client
        self._args = args
        self._kwargs = kwargs
        self._ctx: RequestContext | None = None
        self._session: SessionMixin | None = None

    def _make_context(self) -> RequestContext:
        app = self.client.app
        environ, _ = build_environ(app, self._args, self._kwargs)
        self.client._add_cookies(environ)
        self._ctx = app.test_request_context(environ)
        return self._ctx

    def _check(self, session: SessionMixin | None) -> SessionMixin:
        if session is None:
            raise RuntimeError("Session backend did not open a session. Is SECRET_KEY set?")
        self._session = session
        return session

    def _response(self) -> Response:
        return self.client.app.response_class()

    def _store(self, request: Request, response: Response) -> None:
        jar = self.client.cookie_jar
        assert jar is not None
        jar.update_from(
            response.headers.getlist("Set-Cookie"), request.host.partition(":")[0], request.path
        )

    def __enter__(self) -> SessionMixin:
        if not in_sync_code():
            raise RuntimeError(
                "Use 'async with client.session_transaction()' in async code."
            )
        app = self.client.app
        with self._make_context() as ctx:
            return self._check(_resolved(app.session_interface.open_session(app, ctx.request)))

    def __exit__(
        self, exc_type: type | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        app, session, ctx = self.client.app, self._session, self._ctx
        if exc_type is not None or session is None or ctx is None:
            return
        if app.session_interface.is_null_session(session):
            return
        response = self._response()
        save: Callable[..., object] = app.session_interface.save_session  # maybe async
        with ctx:
            _resolved(save(app, session, response))
        self._store(ctx.request, response)

    async def __aenter__(self) -> SessionMixin:
        app = self.client.app
        async with self._make_context() as ctx:
            return self._check(await _awaited(app.session_interface.open_session(app, ctx.request)))

    async def __aexit__(
        self, exc_type: type | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        app, session, ctx = self.client.app, self._session, self._ctx
        if exc_type is not None or session is None or ctx is None:
            return
        if app.session_interface.is_null_session(session):
            return
        response = self._response()
        save: Callable[..., object] = app.session_interface.save_session  # maybe async
        async with ctx:
            await _awaited(save(app, session, response))
        self._store(ctx.request, response)


# A session interface's methods are typed as Flask's (sync), but may be
# Quart's (async): these take either.


def _resolved(value: T) -> T:
    """``value``, or its result if it is a coroutine (an ``async def``
    session method's), from sync code."""
    if isinstance(value, Coroutine):
        result: T = run_async(value)
        return result
    return value


async def _awaited(value: T) -> T:
    """``value``, or its result if it is awaitable, from async code."""
    if isawaitable(value):
        result: T = await value
        return result
    return value


async def _run_asgi(
    app: ASGIApp,
    scope: dict[str, object],
    body: bytes,
    push_promises: list[tuple[str, Headers]],
) -> tuple[int, Headers, list[bytes]]:
    """Call ``app`` with one request and collect the response it sends
    (server pushes into ``push_promises``)."""
    done = asyncio.Event()
    sent_body = False
    status = 500
    headers = Headers()
    chunks: list[bytes] = []

    async def receive() -> ASGIMessage:
        nonlocal sent_body
        if not sent_body:
            sent_body = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: ASGIMessage) -> None:
        nonlocal status
        kind = message["type"]
        if kind == "http.response.start":
            status = message["status"]
            # ASGI lowercases the names the app set; they are given back as
            # an HTTP client shows them ("Content-Type"), as Flask's test
            # client does for the usual headers.
            for name, value in message.get("headers", ()):
                headers.add(name.decode("latin-1").title(), value.decode("latin-1"))
        elif kind == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                done.set()
        elif kind == "http.response.push":
            pushed = Headers()
            for name, value in message.get("headers", ()):
                pushed.add(name.decode("latin-1"), value.decode("latin-1"))
            push_promises.append((message["path"], pushed))

    try:
        await app(scope, receive, send)
    finally:
        done.set()
    return status, headers, chunks


__all__ = ["MicroframeClient", "SessionTransaction"]
