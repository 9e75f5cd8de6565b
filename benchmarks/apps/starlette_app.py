"""The benchmark app in Starlette (see :mod:`benchmarks.apps` for the endpoints).

Starlette has no request hooks, no ``render_template_string`` and keeps its
session in a middleware; the idiomatic equivalents used here:

- hooks: a pure ASGI middleware on the ``/hooks/`` route that sets
  ``request.state`` before the endpoint and adds the header to the response
  start message after it;
- ``render_template_string``: ``templates.env.from_string(source)`` on each
  request, which compiles the source every time, as Flask's and Quart's
  ``render_template_string`` do;
- sessions: ``SessionMiddleware`` on the ``/session`` route only, so the other
  endpoints do not pay for it (microframe opens its session lazily);
- templates: ``Jinja2Templates`` with ``auto_reload=False``, as Flask-style
  frameworks have it outside debug mode, so no file is checked per request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import jinja2
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route, WebSocketRoute
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from . import (
    COOKIE_BODY,
    HOOK_VALUE,
    JSON_DOC,
    LINK_IDS,
    LINKS_NAME,
    PAGE_SOURCE,
    SECRET_KEY,
    STREAM_CHUNKS,
    TEMPLATE_FOLDER,
    TEMPLATE_NAME,
    TEXT,
    page_context,
)

templates = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_FOLDER), autoescape=True, auto_reload=False
    )
)


async def text(request: Request) -> Response:
    """Plain text."""
    return PlainTextResponse(TEXT)


async def json_doc(request: Request) -> Response:
    """A small JSON document."""
    return JSONResponse(JSON_DOC)


async def user(request: Request) -> Response:
    """A path parameter through the ``int`` convertor."""
    return JSONResponse({"id": request.path_params["user_id"]})


async def template(request: Request) -> Response:
    """A template file, with a loop and an escaped query value."""
    context = page_context(request.query_params.get("name", ""))
    return templates.TemplateResponse(request, TEMPLATE_NAME, context)


async def template_string(request: Request) -> Response:
    """The same template, given as a string."""
    context = page_context(request.query_params.get("name", ""))
    return HTMLResponse(templates.env.from_string(PAGE_SOURCE).render(context))


async def form(request: Request) -> Response:
    """A urlencoded form."""
    async with request.form() as data:
        return PlainTextResponse(f"{data['name']} {data['count']}")


async def echo(request: Request) -> Response:
    """The JSON body, echoed."""
    return JSONResponse(await request.json())


async def session_count(request: Request) -> Response:
    """Read and write the signed cookie session."""
    count = request.session.get("count", 0) + 1
    request.session["count"] = count
    return PlainTextResponse(f"count {count}")


async def stream(request: Request) -> Response:
    """Ten chunks, streamed."""

    async def chunks() -> AsyncIterator[str]:
        for chunk in STREAM_CHUNKS:
            yield chunk

    return StreamingResponse(chunks(), media_type="text/html; charset=utf-8")


# -- the same idioms, as Starlette code writes them -------------------------------------


async def tuple_headers(request: Request) -> Response:
    """A body, a status and a header."""
    return Response(TEXT, 200, media_type="text/plain")


async def jsonify_doc(request: Request) -> Response:
    """A JSON object built from values."""
    return JSONResponse({"message": TEXT})


async def cookie(request: Request) -> Response:
    """A response to set a cookie on."""
    response = PlainTextResponse(COOKIE_BODY)
    response.set_cookie("seen", "yes")
    return response


async def links(request: Request) -> Response:
    """A template that builds ten URL paths (Starlette's ``url_for`` builds
    absolute URLs; the app's ``url_path_for`` gives the paths Flask does)."""

    def url_for(name: str, **params: object) -> str:
        return str(request.app.url_path_for(name, **params))

    return templates.TemplateResponse(request, LINKS_NAME, {"ids": LINK_IDS, "url_for": url_for})


async def go_to_text(request: Request) -> Response:
    """A redirect to a built URL."""
    return RedirectResponse(request.app.url_path_for("text"), status_code=302)


async def upload(request: Request) -> Response:
    """A multipart form with a file."""
    async with request.form() as form:
        fields = sum(1 for _, value in form.multi_items() if not isinstance(value, UploadFile))
        report = form["report"]
        assert isinstance(report, UploadFile)
        data = await report.read()
        return PlainTextResponse(f"{fields} fields, file {report.filename} {len(data)} bytes")


class Hooks:
    """Before and after the endpoint: set a state value, then mark the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the endpoint between the two hooks."""
        scope.setdefault("state", {})["hook_value"] = HOOK_VALUE

        async def send_marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), (b"x-hooked", b"yes")]
            await send(message)

        await self.app(scope, receive, send_marked)


async def hooked(request: Request) -> Response:
    """Return what the before hook set."""
    return PlainTextResponse(request.state.hook_value)


async def ws_echo(websocket: WebSocket) -> None:
    """Echo text messages until the client leaves."""
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        pass


app = Starlette(
    routes=[
        Route("/text", text, name="text"),
        Route("/json", json_doc),
        Route("/users/{user_id:int}", user, name="user"),
        Route("/template", template),
        Route("/template-string", template_string),
        Route("/form", form, methods=["POST"]),
        Route("/echo", echo, methods=["POST"]),
        Route("/hooks/", hooked, middleware=[Middleware(Hooks)]),
        Route("/session", session_count, middleware=[Middleware(SessionMiddleware, secret_key=SECRET_KEY)]),
        Route("/stream", stream),
        WebSocketRoute("/ws", ws_echo),
        Route("/tuple", tuple_headers),
        Route("/jsonify", jsonify_doc),
        Route("/cookie", cookie),
        Route("/links", links),
        Route("/redirect", go_to_text),
        Route("/upload", upload, methods=["POST"]),
    ]
)
