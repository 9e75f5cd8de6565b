"""The test client: requests straight into the app's ASGI interface."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping
from datetime import UTC
from http.cookies import SimpleCookie
from inspect import isawaitable
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from werkzeug.datastructures import Headers
from werkzeug.http import dump_cookie

from ..globals import _cv_app, _cv_request
from ..signals import request_tearing_down
from ..sync import in_sync_code, run_async
from .utils import (
    make_test_request_parts,
    make_test_scope,
    sentinel,
)

if TYPE_CHECKING:
    from ..app import Microframe
    from ..ctx import AppContext, RequestContext
    from ..wrappers import Response
    from .websocket import TestWebsocketConnection

_REDIRECTS = frozenset({301, 302, 303, 305, 307, 308})
_MAX_REDIRECTS = 20
_PRESERVE_KEY = "_microframe_preserve_context"


class Cookie:
    """A cookie held by the test client's jar."""

    __slots__ = ("domain", "key", "path", "value")

    def __init__(self, key: str, value: str, domain: str, path: str) -> None:
        self.key, self.value, self.domain, self.path = key, value, domain, path

    def __repr__(self) -> str:
        return f"<Cookie {self.key}={self.value!r} domain={self.domain} path={self.path}>"


class CookieJar:
    """The cookies a test client keeps across requests, keyed by domain, path and name."""

    def __init__(self) -> None:
        self.cookies: dict[tuple[str, str, str], Cookie] = {}

    def update_from(self, headers: Headers, host: str) -> None:
        """Store or remove cookies from a response's ``Set-Cookie`` headers."""
        for header in headers.getlist("Set-Cookie"):
            parsed: SimpleCookie = SimpleCookie()
            try:
                parsed.load(header)
            except Exception:
                continue
            for key, morsel in parsed.items():
                domain = (morsel["domain"] or host).lstrip(".")
                path = morsel["path"] or "/"
                expired = morsel["max-age"] in ("0", "-1") or _expired(morsel["expires"])
                if expired or (morsel.value == "" and morsel["expires"]):
                    self.cookies.pop((domain, path, key), None)
                else:
                    self.cookies[(domain, path, key)] = Cookie(key, morsel.value, domain, path)

    def header_for(self, host: str, path: str) -> str | None:
        """Return the ``Cookie`` header for a request to ``host`` and ``path``."""
        host = host.partition(":")[0]
        pairs = [
            f"{cookie.key}={cookie.value}"
            for cookie in self.cookies.values()
            if (host == cookie.domain or host.endswith("." + cookie.domain))
            and path.startswith(cookie.path)
        ]
        return "; ".join(pairs) if pairs else None


def _expired(expires: str) -> bool:
    if not expires:
        return False
    from werkzeug.http import parse_date

    when = parse_date(expires)
    if when is None:
        return False
    from datetime import datetime

    return when <= datetime.now(UTC)


class MicroframeClient:
    """A client that sends requests to the app in-process, through ASGI.

    In async tests the calls are awaited, as with Quart's client; in plain
    ``def`` tests they return the finished response, as with Flask's::

        async def test_index(app):
            client = app.test_client()
            response = await client.get("/", query_string={"q": "x"})
            assert response.status_code == 200
            assert await response.get_data(as_text=True) == "hello"

    Cookies set by responses are kept and sent with later requests.
    """

    def __init__(self, app: Microframe, use_cookies: bool = True) -> None:
        self.app = app
        self.cookie_jar: CookieJar | None = CookieJar() if use_cookies else None
        self.preserve_context = False
        #: The contexts of the last request, kept by ``with client:``.
        self._preserved: list[tuple[AppContext, RequestContext]] = []
        #: The preserved contexts this client pushed in the test's context.
        self._pushed: list[tuple[AppContext, RequestContext]] = []

    # -- cookies ------------------------------------------------------------

    def set_cookie(self, *args: Any, **kwargs: Any) -> None:
        """Set a cookie: Flask's ``(key, value="", *, domain="localhost", path="/")``
        or Quart's ``(server_name, key, value="")`` argument order."""
        if self.cookie_jar is None:
            raise TypeError("Cookies are disabled. Create a client with 'use_cookies=True'.")
        if len(args) >= 3 or ("server_name" in kwargs):
            server_name = kwargs.pop("server_name", None) or args[0]
            args = args[1:]
            kwargs.setdefault("domain", server_name)
        key = args[0] if args else kwargs.pop("key")
        value = args[1] if len(args) > 1 else kwargs.pop("value", "")
        domain = kwargs.pop("domain", None) or "localhost"
        path = kwargs.pop("path", "/")
        header = dump_cookie(key, value, domain=domain, path=path, **kwargs)
        self.cookie_jar.update_from(Headers([("Set-Cookie", header)]), domain)

    def delete_cookie(self, key: str, *, domain: str = "localhost", path: str = "/") -> None:
        """Remove a cookie from the jar."""
        if self.cookie_jar is not None:
            self.cookie_jar.cookies.pop((domain, path, key), None)

    def get_cookie(self, key: str, domain: str = "localhost", path: str = "/") -> Cookie | None:
        """Return the cookie ``key`` from the jar, or ``None``."""
        if self.cookie_jar is None:
            return None
        return self.cookie_jar.cookies.get((domain, path, key))

    # -- requests -----------------------------------------------------------

    def open(self, path: str = "/", *, method: str = "GET", **kwargs: Any) -> Any:
        """Send a request and return the response: awaitable in async code.

        :param path: the path, optionally with a query string.
        :param method: the HTTP method.
        :param headers: request headers (a dict or ``Headers``).
        :param query_string: a dict, str or bytes query string.
        :param data: a body (bytes or str), or a dict sent as a form.
        :param form: form fields, urlencoded (or multipart with ``files``).
        :param files: files as file objects, ``(file, filename[, type])``
            tuples or ``FileStorage``.
        :param json: a value sent as a JSON body.
        :param follow_redirects: follow redirects, keeping ``response.history``.
        :param scheme: ``http`` or ``https``.
        :param root_path: the ASGI ``root_path``.
        :param auth: a ``(username, password)`` for Basic authentication.
        """
        coro = self._open(path, method, **kwargs)
        if not self.preserve_context:
            if in_sync_code():
                return run_async(coro)
            return coro
        if in_sync_code():
            self._pop_preserved()
            response = run_async(coro)
            self._push_preserved()
            return response
        return self._open_preserving(coro)

    async def _open_preserving(self, coro: Coroutine[Any, Any, Response]) -> Response:
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

    def _note_contexts(self, sender: Any, **extra: Any) -> None:
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
        self,
        path: str,
        method: str,
        *,
        headers: Mapping[str, Any] | Headers | None = None,
        query_string: Mapping[str, Any] | str | bytes | None = None,
        data: Any = None,
        form: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        json: Any = sentinel,
        follow_redirects: bool = False,
        scheme: str = "http",
        root_path: str = "",
        http_version: str = "1.1",
        scope_base: dict[str, Any] | None = None,
        auth: tuple[str, str] | None = None,
        subdomain: str | None = None,
        base_url: str | None = None,
    ) -> Response:
        request_headers, path, query, body, scheme, root_path = make_test_request_parts(
            self.app, path, headers=headers, query_string=query_string, data=data, form=form,
            files=files, json=json, auth=auth, subdomain=subdomain, base_url=base_url,
            scheme=scheme, root_path=root_path,
        )
        history: list[Response] = []
        for _ in range(_MAX_REDIRECTS + 1):
            response = await self._send(
                method, path, query, request_headers, body, scheme, root_path, http_version,
                scope_base,
            )
            if not follow_redirects or response.status_code not in _REDIRECTS:
                response.history = tuple(history)  # type: ignore[attr-defined]
                return response
            location = response.headers.get("Location", "")
            target = urlsplit(urljoin(f"{scheme}://{request_headers['Host']}{path}", location))
            if target.netloc and target.netloc != request_headers["Host"]:
                response.history = tuple(history)  # type: ignore[attr-defined]
                return response
            history.append(response)
            path, query = target.path or "/", target.query.encode()
            if response.status_code in (301, 302, 303) and method != "HEAD":
                method, body = "GET", b""
                for name in ("Content-Type", "Content-Length"):
                    request_headers.pop(name, None)
        raise RuntimeError(f"More than {_MAX_REDIRECTS} redirects; is there a redirect loop?")

    async def _send(
        self,
        method: str,
        path: str,
        query: bytes,
        headers: Headers,
        body: bytes,
        scheme: str,
        root_path: str,
        http_version: str,
        scope_base: dict[str, Any] | None,
    ) -> Response:
        headers = Headers(headers)
        if body:
            headers["Content-Length"] = str(len(body))
        host = headers.get("Host", "localhost")
        if self.cookie_jar is not None:
            cookie = self.cookie_jar.header_for(host, path)
            if cookie is not None:
                headers["Cookie"] = cookie
        scope = make_test_scope(
            "http", path, method.upper(), headers, query, scheme, root_path, http_version,
            scope_base, _preserve_context=self.preserve_context,
        )
        if self.preserve_context:
            scope["extensions"][_PRESERVE_KEY] = self
        status, response_headers, chunks = await _run_asgi(self.app, scope, body)
        response = self.app.response_class(b"".join(chunks), status)
        # The headers as sent: the constructor would recompute Content-Length
        # from the body, which is wrong for a HEAD response (no body, real length).
        response.headers = response_headers
        if self.cookie_jar is not None:
            self.cookie_jar.update_from(response.headers, host.partition(":")[0])
        return response

    def get(self, path: str = "/", **kwargs: Any) -> Any:
        """Send a GET request; see :meth:`open`."""
        return self.open(path, method="GET", **kwargs)

    def post(self, path: str = "/", **kwargs: Any) -> Any:
        """Send a POST request; see :meth:`open`."""
        return self.open(path, method="POST", **kwargs)

    def put(self, path: str = "/", **kwargs: Any) -> Any:
        """Send a PUT request; see :meth:`open`."""
        return self.open(path, method="PUT", **kwargs)

    def patch(self, path: str = "/", **kwargs: Any) -> Any:
        """Send a PATCH request; see :meth:`open`."""
        return self.open(path, method="PATCH", **kwargs)

    def delete(self, path: str = "/", **kwargs: Any) -> Any:
        """Send a DELETE request; see :meth:`open`."""
        return self.open(path, method="DELETE", **kwargs)

    def head(self, path: str = "/", **kwargs: Any) -> Any:
        """Send a HEAD request; see :meth:`open`."""
        return self.open(path, method="HEAD", **kwargs)

    def options(self, path: str = "/", **kwargs: Any) -> Any:
        """Send an OPTIONS request; see :meth:`open`."""
        return self.open(path, method="OPTIONS", **kwargs)

    def trace(self, path: str = "/", **kwargs: Any) -> Any:
        """Send a TRACE request; see :meth:`open`."""
        return self.open(path, method="TRACE", **kwargs)

    def websocket(
        self,
        path: str = "/",
        *,
        headers: Mapping[str, Any] | Headers | None = None,
        subprotocols: list[str] | None = None,
        **kwargs: Any,
    ) -> TestWebsocketConnection:
        """Open a websocket to the app: ``async with client.websocket("/ws") as ws``.

        ::

            async with client.websocket("/ws", subprotocols=["chat"]) as ws:
                await ws.send_json({"text": "hi"})
                assert await ws.receive_json() == {"echo": "hi"}

        A rejected handshake raises
        :class:`~microframe.testing.WebsocketResponseError` when the block is
        entered. The client's cookies are sent with the handshake.

        :param path: the path, optionally with a query string.
        :param headers: handshake headers.
        :param subprotocols: the subprotocols to offer.
        :param kwargs: ``query_string``, ``scheme`` (``ws``), ``root_path``,
            ``auth``, ``subdomain``, ``scope_base``.
        """
        from .websocket import TestWebsocketConnection, make_websocket_scope

        cookie = None
        if self.cookie_jar is not None:
            host = Headers(headers).get("Host") or self.app.config["SERVER_NAME"] or "localhost"
            cookie = self.cookie_jar.header_for(host, path.partition("?")[0])
        scope = make_websocket_scope(
            self.app, path, headers=headers, subprotocols=subprotocols, cookie=cookie, **kwargs
        )
        return TestWebsocketConnection(self.app, scope)

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
    saved, as in Flask, so the block itself runs outside any context.
    """

    def __init__(self, client: MicroframeClient, args: tuple[Any, ...], kwargs: dict[str, Any]):
        self.client = client
        self._args = args
        self._kwargs = kwargs
        self._ctx: Any = None
        self._session: Any = None

    def _make_context(self) -> Any:
        app = self.client.app
        ctx = app.test_request_context(*self._args, **self._kwargs)
        request = ctx.request
        jar = self.client.cookie_jar
        assert jar is not None
        cookie = jar.header_for(request.host, request.path)
        if cookie is not None:
            request.headers["Cookie"] = cookie
        self._ctx = ctx
        return ctx

    def _check(self, session: Any) -> Any:
        if session is None:
            raise RuntimeError(
                "The session interface did not open a session; is SECRET_KEY set?"
            )
        self._session = session
        return session

    def _response(self) -> Response:
        return self.client.app.response_class()

    def _store(self, response: Response) -> None:
        jar = self.client.cookie_jar
        assert jar is not None
        jar.update_from(response.headers, self._ctx.request.host.partition(":")[0])

    def __enter__(self) -> Any:
        if not in_sync_code():
            raise RuntimeError(
                "Use 'async with client.session_transaction()' in async code."
            )
        interface: Any = self.client.app.session_interface
        with self._make_context():
            return self._check(_resolved(interface.open_session(self.client.app, self._ctx.request)))

    def __exit__(
        self, exc_type: type | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None:
            return
        app = self.client.app
        interface: Any = app.session_interface
        if interface.is_null_session(self._session):
            return
        response = self._response()
        with self._ctx:
            _resolved(interface.save_session(app, self._session, response))
        self._store(response)

    async def __aenter__(self) -> Any:
        interface: Any = self.client.app.session_interface
        async with self._make_context():
            session = interface.open_session(self.client.app, self._ctx.request)
            if isawaitable(session):
                session = await session
            return self._check(session)

    async def __aexit__(
        self, exc_type: type | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None:
            return
        app = self.client.app
        interface: Any = app.session_interface
        if interface.is_null_session(self._session):
            return
        response = self._response()
        async with self._ctx:
            result = interface.save_session(app, self._session, response)
            if isawaitable(result):
                await result
        self._store(response)


def _resolved(value: Any) -> Any:
    return run_async(value) if isawaitable(value) else value


async def _run_asgi(
    app: Any, scope: dict[str, Any], body: bytes
) -> tuple[int, Headers, list[bytes]]:
    """Call ``app`` with one request and collect the response it sends."""
    done = asyncio.Event()
    sent_body = False
    status = 500
    headers = Headers()
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent_body
        if not sent_body:
            sent_body = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        kind = message["type"]
        if kind == "http.response.start":
            status = message["status"]
            for name, value in message.get("headers", ()):
                headers.add(name.decode("latin-1"), value.decode("latin-1"))
        elif kind == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                done.set()

    try:
        await app(scope, receive, send)
    finally:
        done.set()
    return status, headers, chunks


__all__ = ["Cookie", "CookieJar", "MicroframeClient", "SessionTransaction"]
