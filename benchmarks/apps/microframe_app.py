"""The benchmark app in microframe (see :mod:`benchmarks.apps` for the endpoints)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from microframe import (
    Blueprint,
    Microframe,
    Response,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    render_template_string,
    request,
    session,
    url_for,
)

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

app = Microframe(__name__, template_folder=TEMPLATE_FOLDER, static_folder=None)
app.secret_key = SECRET_KEY


@app.get("/text")
async def text() -> str:
    """Plain text."""
    return TEXT


@app.get("/json")
async def json_doc() -> dict[str, str]:
    """A small JSON document."""
    return JSON_DOC


@app.get("/users/<int:user_id>")
async def user(user_id: int) -> dict[str, int]:
    """A path parameter through the ``int`` converter."""
    return {"id": user_id}


@app.get("/template")
async def template() -> str:
    """A template file, with a loop and an escaped query value."""
    return await render_template(TEMPLATE_NAME, **page_context(request.args.get("name", "")))


@app.get("/template-string")
async def template_string() -> str:
    """The same template, given as a string."""
    return await render_template_string(PAGE_SOURCE, **page_context(request.args.get("name", "")))


@app.post("/form")
async def form() -> str:
    """A urlencoded form."""
    data = await request.form
    return f"{data['name']} {data['count']}"


@app.post("/echo")
async def echo() -> Any:
    """The JSON body, echoed."""
    return await request.get_json()


@app.get("/session")
async def session_count() -> str:
    """Read and write the signed cookie session."""
    count = session.get("count", 0) + 1
    session["count"] = count
    return f"count {count}"


@app.get("/stream")
async def stream() -> AsyncIterator[str]:
    """Ten chunks, streamed."""

    async def chunks() -> AsyncIterator[str]:
        for chunk in STREAM_CHUNKS:
            yield chunk

    return chunks()



# -- the idioms of Flask and Quart code ------------------------------------------------


@app.get("/tuple")
async def tuple_headers() -> Any:
    """A body, a status and a header dict."""
    return TEXT, 200, {"Content-Type": "text/plain"}


@app.get("/jsonify")
async def jsonify_doc() -> Any:
    """``jsonify`` with keyword arguments."""
    return jsonify(message=TEXT)


@app.get("/cookie")
async def cookie() -> Any:
    """A response made to set a cookie on."""
    response = await make_response(COOKIE_BODY)
    response.set_cookie("seen", "yes")
    return response


@app.get("/links")
async def links() -> str:
    """A template that builds ten URLs."""
    return await render_template(LINKS_NAME, ids=LINK_IDS)


@app.get("/redirect")
async def go_to_text() -> Any:
    """A redirect to a built URL."""
    return redirect(url_for("text"))


@app.post("/upload")
async def upload() -> str:
    """A multipart form with a file."""
    form = await request.form
    report = (await request.files)["report"]
    data = report.read()
    return f"{len(form)} fields, file {report.filename} {len(data)} bytes"


hooks = Blueprint("hooks", __name__, url_prefix="/hooks")


@hooks.before_request
async def before() -> None:
    """Set the value the view returns."""
    g.hook_value = HOOK_VALUE


@hooks.after_request
async def after(response: Response) -> Response:
    """Mark the response."""
    response.headers["X-Hooked"] = "yes"
    return response


@hooks.get("/")
async def hooked() -> str:
    """Return what the before hook set."""
    return str(g.hook_value)


app.register_blueprint(hooks)

if hasattr(app, "websocket"):
    from microframe import websocket

    @app.websocket("/ws")
    async def ws_echo() -> None:
        """Echo text messages until the client leaves."""
        while True:
            message = await websocket.receive()
            await websocket.send(message)
