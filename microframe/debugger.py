"""werkzeug's interactive debugger, served on ASGI by the development server.

``microframe run --debug`` (and ``app.run(debug=True)``) serves the app
wrapped in :class:`DebuggerMiddleware`, as ``flask run`` wraps a Flask app in
werkzeug's :class:`~werkzeug.debug.DebuggedApplication`. An unhandled error
in an HTTP view is answered with werkzeug's debugger page: the traceback,
with a Python console in every frame, locked by a PIN that the server prints
when it starts.

The middleware is built on werkzeug's own pieces rather than a copy of them:
a :class:`~werkzeug.debug.DebuggedApplication` holds the PIN, the PIN cookie,
the secret of the pages, the frames and their consoles, and answers the
debugger's commands (``?__debugger__=yes&cmd=...``); a
:class:`~werkzeug.debug.tbtools.DebugTraceback` renders the page. What is
microframe's own is the ASGI side:

- The request is not passed through a WSGI thread: errors are caught as
  they leave the ASGI app, so streamed responses, server-sent events and
  websockets are served as without the debugger. Only the debugger's own
  commands run on a thread, as they may block (a console evaluating code,
  the pause after a wrong PIN).
- In debug mode the app answers an unhandled error itself, then re-raises it
  (:func:`microframe.asgi.handle_http`). The middleware puts a callable under
  :data:`~microframe.asgi.PRESERVE_CONTEXT_KEY` in the scope, so that the app
  re-raises the error before any response starts, and hands over its request
  context: the console of each frame sees ``request``, ``session``, ``g`` and
  ``current_app`` as they were, as under Flask.
- A command the debugger refuses (a locked console, a page or a frame of
  a server process that has reloaded since) is answered with a message
  that says so, not passed on to the app as werkzeug does.

Security: anyone who can evaluate code in the console runs code as the
server's user. The debugger is therefore only on in debug mode under the
development server; an app served by Hypercorn, uvicorn or another server
never has it, and the middleware steps aside while ``app.debug`` is off.
Evaluation needs the PIN (werkzeug's cookie, valid for a week; ten wrong
PINs lock it until the server restarts) and a ``Host`` that werkzeug
trusts (``localhost`` and ``127.0.0.1``, so a page reached from another
machine shows the traceback without consoles). ``WERKZEUG_DEBUG_PIN`` sets
the PIN, or turns it ``off``.
"""

from __future__ import annotations

import asyncio
import io
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from markupsafe import escape
from werkzeug.debug import DebuggedApplication, get_pin_and_cookie_name
from werkzeug.debug.tbtools import DebugTraceback
from werkzeug.exceptions import HTTPException
from werkzeug.test import run_wsgi_app
from werkzeug.wrappers import Request as WerkzeugRequest
from werkzeug.wrappers import Response as WerkzeugResponse

from .app import Microframe
from .asgi import PRESERVE_CONTEXT_KEY, scope_path
from .ctx import AppContext, RequestContext
from .globals import _cv_app, _cv_request
from .typing import ASGIApp, ASGIMessage, ASGIReceiveCallable, ASGISendCallable
from .wsgi import environ_from_scope

if TYPE_CHECKING:
    from types import TracebackType

    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment

#: Set by the development server for the worker processes it starts, which
#: load the app again: ``1`` when they serve it with the debugger.
DEBUGGER_ENV = "MICROFRAME_DEBUGGER"

#: The path of werkzeug's standalone console (Flask's debugger serves it too).
CONSOLE_PATH = "/console"

_COMMANDS = frozenset({"resource", "pinauth", "printpin"})


class DebuggerMiddleware:
    """ASGI middleware answering unhandled errors with werkzeug's debugger.

    The development server wraps the app in it in debug mode; see the module
    documentation for what it does and its security model. ::

        served = DebuggerMiddleware(app)

    :param app: the app, in debug mode (the middleware does nothing while
        ``app.debug`` is off).
    :param evalex: offer a console in each frame of a traceback (and the
        standalone console at ``/console``).
    """

    def __init__(self, app: Microframe, evalex: bool = True) -> None:
        self.app = app
        self.evalex = evalex
        #: werkzeug's debugger: the PIN and its cookie, the pages' secret,
        #: the frames and their consoles, the commands. It is never called
        #: as a WSGI app; the app it is given names the PIN cookie and is
        #: ``app`` in the standalone console, as under Flask.
        self.werkzeug = DebuggedApplication(
            app,  # type: ignore[arg-type]  # the PIN and the console use it as an object only
            evalex=evalex,
            console_path=CONSOLE_PATH,
        )

    async def __call__(
        self, scope: Any, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        """Serve a connection: the debugger's commands, or the app under watch."""
        if scope["type"] != "http" or not self.app.debug:
            await self.app(scope, receive, send)
        elif self._is_command(scope):
            await self._answer_command(scope, send)
        else:
            await self._serve(scope, receive, send)

    def _is_command(self, scope: Any) -> bool:
        if self.evalex and scope_path(scope)[1] == CONSOLE_PATH:
            return True
        # werkzeug reads every debugger request from the query string.
        if b"__debugger__=yes" not in scope.get("query_string", b""):
            return False
        args = WerkzeugRequest(environ_from_scope(scope, io.BytesIO())).args
        return args.get("__debugger__") == "yes" and "cmd" in args

    async def _serve(
        self, scope: dict[str, object], receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        started = False
        contexts: list[_Current] = []

        async def watched_send(message: ASGIMessage) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        def preserve(ctx: RequestContext) -> None:
            # Called by the app, in the failed request's context.
            contexts.append(_Current(ctx, _cv_app.get(None)))

        try:
            watched: Any = {**scope, PRESERVE_CONTEXT_KEY: preserve}
            await self.app(watched, receive, watched_send)
        except Exception as error:
            if started:
                # Too late for a page: the server logs the error and drops
                # the connection, as it would without the debugger.
                raise
            environ = environ_from_scope(scope, io.BytesIO())
            html = await asyncio.to_thread(self._show, error, environ, contexts)
            await _send_answer(send, 500, [("Content-Type", "text/html; charset=utf-8")], html.encode())

    def _show(self, error: Exception, environ: WSGIEnvironment, contexts: list[_Current]) -> str:
        """Log ``error``, keep its frames for their consoles, and render the page."""
        self._log(error, contexts)
        # The first frame is the middleware's own.
        traceback = DebugTraceback(error, skip=1)
        self._keep(traceback, list(contexts))
        debugger = self.werkzeug
        return traceback.render_debugger_html(
            evalex=self.evalex and debugger.check_host_trust(environ),
            secret=debugger.secret,
            evalex_trusted=bool(debugger.check_pin_trust(environ)),
        )

    def _log(self, error: Exception, contexts: list[_Current]) -> None:
        # The server would have logged the error had the middleware not
        # caught it; the app logs it, with its request line, as it logs
        # errors outside debug mode.
        if not contexts:
            self.app.log_exception(error)
            return
        with contexts[0]:
            self.app.log_exception(error)

    def _keep(self, traceback: DebugTraceback, contexts: list[_Current]) -> None:
        # Kept for as long as the server runs, as werkzeug keeps them: pages
        # name frames by id(), which only stays unique while they live.
        for frame in traceback.all_frames:
            self.werkzeug.frames[id(frame)] = frame
            self.werkzeug.frame_contexts[id(frame)] = contexts  # type: ignore[assignment]

    async def _answer_command(self, scope: dict[str, object], send: ASGISendCallable) -> None:
        environ = environ_from_scope(scope, io.BytesIO())
        # On a thread: evaluating code may take long, and a wrong PIN is
        # answered after a pause (werkzeug sleeps).
        status, headers, body = await asyncio.to_thread(self._run_command, environ)
        await _send_answer(send, status, headers, body)

    def _run_command(self, environ: WSGIEnvironment) -> tuple[int, list[tuple[str, str]], bytes]:
        answer = self._command(WerkzeugRequest(environ))
        app_iter, status, headers = run_wsgi_app(answer, environ, buffered=True)
        try:
            body = b"".join(app_iter)
        finally:
            close = getattr(app_iter, "close", None)
            if close is not None:
                close()
        return int(status.split(" ", 1)[0]), list(headers.to_wsgi_list()), body

    def _command(self, request: WerkzeugRequest) -> WSGIApplication:
        """werkzeug's answer to a debugger command, or a refusal that says why."""
        debugger = self.werkzeug
        args = request.args
        command = args.get("cmd")
        if args.get("__debugger__") != "yes" or command is None:
            # The standalone console's page; its commands come with the query.
            answer: Any = debugger.display_console(request)
            # Its code runs with an app context (werkzeug looks contexts up
            # by the frame object's id).
            console = id(debugger.frames[0])
            debugger.frame_contexts.setdefault(console, [_Current(None, self.app.app_context())])
            return answer  # type: ignore[no-any-return]
        try:
            if command == "resource":
                return debugger.get_resource(request, args.get("f", ""))
            if args.get("s") != debugger.secret:
                return _refusal(
                    403,
                    "This debugger page is from an earlier run of the server (it has"
                    " reloaded since) or from another worker process: reload the page.",
                )
            if command == "pinauth":
                return debugger.pin_auth(request)
            if command == "printpin":
                return debugger.log_pin_request(request)
            if command in _COMMANDS or not self.evalex:
                return _refusal(400, f"Unknown debugger command {command!r}.")
            if not debugger.check_pin_trust(request.environ):
                return _refusal(
                    403,
                    "The console is locked: unlock it with the PIN printed in the"
                    " terminal that runs the server.",
                )
            frame = debugger.frames.get(args.get("frm", -1, type=int))
            if frame is None:
                return _refusal(
                    404,
                    "This frame is not known to this server process (it has reloaded"
                    " since the page was shown): reload the page.",
                )
            return debugger.execute_command(request, command, frame)
        except HTTPException as error:  # a missing argument, say
            return error


class _Current:
    """Makes a failed request's contexts current again while a console
    evaluates code in one of its frames (werkzeug's ``execute_command``
    enters it, on a thread, as many times as code is evaluated).

    The contexts are not pushed: teardown already ran, and pushing again
    would run it again after each evaluation.
    """

    def __init__(self, request_ctx: RequestContext | None, app_ctx: AppContext | None) -> None:
        self.request_ctx = request_ctx
        self.app_ctx = app_ctx
        # Entered on several threads at once, each with its own tokens.
        self._local = threading.local()

    def __enter__(self) -> None:
        tokens = self._local.__dict__.setdefault("tokens", [])
        app_token = _cv_app.set(self.app_ctx) if self.app_ctx is not None else None
        request_token = _cv_request.set(self.request_ctx) if self.request_ctx is not None else None
        tokens.append((app_token, request_token))

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        app_token, request_token = self._local.tokens.pop()
        if request_token is not None:
            _cv_request.reset(request_token)
        if app_token is not None:
            _cv_app.reset(app_token)


def _refusal(status: int, message: str) -> WSGIApplication:
    # The console shows what a command answers as HTML.
    return WerkzeugResponse(str(escape(message)), status, mimetype="text/html")


async def _send_answer(
    send: ASGISendCallable, status: int, headers: list[tuple[str, str]], body: bytes
) -> None:
    raw = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    if not any(name == b"content-length" for name, _ in raw):
        raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body, "more_body": False})


# -- the development server's side ------------------------------------------------


def serve_with_debugger(app: Microframe, use_debugger: bool, say: Callable[[str], None]) -> ASGIApp:
    """What the development server serves: ``app``, in debug mode with the debugger.

    Called once by :func:`~microframe.serving.run_simple` before it serves:
    prints the PIN, as ``flask run`` does, and tells worker processes (which
    load the app again, through :func:`debugged_in_worker`) whether to wrap
    it too.

    :param use_debugger: the ``--debugger/--no-debugger`` choice; the
        debugger starts only if ``app.debug`` is on as well.
    :param say: where the lines about the debugger are printed.
    """
    if not (use_debugger and app.debug):
        os.environ.pop(DEBUGGER_ENV, None)
        if use_debugger:
            say(" * Debugger not started: it is on in debug mode only (--debug).")
        return app
    os.environ[DEBUGGER_ENV] = "1"
    say(" * Debugger is active!")
    # The PIN depends on the user, the machine and the app's class, so every
    # worker process, and every reload, computes the same one.
    pin, _ = get_pin_and_cookie_name(app)  # type: ignore[arg-type]
    if pin is None:
        say(" * Debugger PIN disabled. DEBUGGER UNSECURED!")
    else:
        say(f" * Debugger PIN: {pin}")
    return DebuggerMiddleware(app)


def debugged_in_worker(app: Microframe) -> ASGIApp:
    """``app`` as a worker process of the development server serves it: with
    the debugger if the server started it (see :func:`serve_with_debugger`)."""
    if os.environ.get(DEBUGGER_ENV) == "1" and app.debug:
        return DebuggerMiddleware(app)
    return app


__all__ = [
    "CONSOLE_PATH",
    "DEBUGGER_ENV",
    "DebuggerMiddleware",
    "debugged_in_worker",
    "serve_with_debugger",
]
