"""The benchmark app in Flask, served by gunicorn: the "don't port" baseline.

Flask is a WSGI framework, so this app is not in :data:`benchmarks.apps.FRAMEWORKS`
(the ASGI apps every ASGI server runs); :mod:`benchmarks.servers` serves it
with gunicorn's sync and gthread workers. It has every HTTP endpoint of
:mod:`benchmarks.apps` (see there), written the way Flask's documentation
shows; WebSockets are not Flask's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import (
    Blueprint,
    Flask,
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

app = Flask(__name__, template_folder=TEMPLATE_FOLDER, static_folder=None)
app.secret_key = SECRET_KEY


@app.get("/text")
def text() -> str:
    """Plain text."""
    return TEXT


@app.get("/json")
def json_doc() -> dict[str, str]:
    """A small JSON document."""
    return JSON_DOC


@app.get("/users/<int:user_id>")
def user(user_id: int) -> dict[str, int]:
    """A path parameter through the ``int`` converter."""
    return {"id": user_id}


@app.get("/template")
def template() -> str:
    """A template file, with a loop and an escaped query value."""
    return render_template(TEMPLATE_NAME, **page_context(request.args.get("name", "")))


@app.get("/template-string")
def template_string() -> str:
    """The same template, given as a string (Flask compiles it on every call)."""
    return render_template_string(PAGE_SOURCE, **page_context(request.args.get("name", "")))


@app.post("/form")
def form() -> str:
    """A urlencoded form."""
    return f"{request.form['name']} {request.form['count']}"


@app.post("/echo")
def echo() -> Any:
    """The JSON body, echoed."""
    return request.get_json()


@app.get("/session")
def session_count() -> str:
    """Read and write the signed cookie session."""
    count = session.get("count", 0) + 1
    session["count"] = count
    return f"count {count}"


@app.get("/stream")
def stream() -> Any:
    """Ten chunks, streamed."""

    def chunks() -> Iterator[str]:
        yield from STREAM_CHUNKS

    return chunks()


# -- the idioms of Flask code ----------------------------------------------------------


@app.get("/tuple")
def tuple_headers() -> Any:
    """A body, a status and a header dict."""
    return TEXT, 200, {"Content-Type": "text/plain"}


@app.get("/jsonify")
def jsonify_doc() -> Any:
    """``jsonify`` with keyword arguments."""
    return jsonify(message=TEXT)


@app.get("/cookie")
def cookie() -> Any:
    """A response made to set a cookie on."""
    response = make_response(COOKIE_BODY)
    response.set_cookie("seen", "yes")
    return response


@app.get("/links")
def links() -> str:
    """A template that builds ten URLs."""
    return render_template(LINKS_NAME, ids=LINK_IDS)


@app.get("/redirect")
def go_to_text() -> Any:
    """A redirect to a built URL."""
    return redirect(url_for("text"))


@app.post("/upload")
def upload() -> str:
    """A multipart form with a file."""
    report = request.files["report"]
    data = report.read()
    return f"{len(request.form)} fields, file {report.filename} {len(data)} bytes"


hooks = Blueprint("hooks", __name__, url_prefix="/hooks")


@hooks.before_request
def before() -> None:
    """Set the value the view returns."""
    g.hook_value = HOOK_VALUE


@hooks.after_request
def after(response: Response) -> Response:
    """Mark the response."""
    response.headers["X-Hooked"] = "yes"
    return response


@hooks.get("/")
def hooked() -> str:
    """Return what the before hook set."""
    return str(g.hook_value)


app.register_blueprint(hooks)
