"""The app every bad-input test aims at: one route of each kind.

Importable by the tests (``make_app(root)``) and servable by Hypercorn
(``security_app:app``, with the site folder named by ``SECURITY_SITE``).
The site folder holds ``static/`` and ``files/`` to serve, and a
``secret.txt`` beside them that no request may ever read.
"""

from __future__ import annotations

import os
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from microframe import (
    Microframe,
    abort,
    jsonify,
    redirect,
    render_template_string,
    request,
    send_file,
    send_from_directory,
    session,
    url_for,
    websocket,
)

SECRET = b"TOP SECRET: this file is outside every served folder\n"
PUBLIC = b"public file contents\n"
SECRET_KEY = "security corpus key"
OLD_KEY = "a key rotated out long ago"

#: The limits the corpus is written against (small, so tests stay fast).
LIMITS: dict[str, Any] = {
    "MAX_CONTENT_LENGTH": 64 * 1024,
    "MAX_FORM_MEMORY_SIZE": 8 * 1024,
    "MAX_FORM_PARTS": 50,
    "BODY_TIMEOUT": 0.5,
    "RESPONSE_TIMEOUT": 5,
}


def make_site(root: Path) -> Path:
    """Fill ``root`` with the files the app serves, and the secret it must not."""
    (root / "static" / "sub").mkdir(parents=True, exist_ok=True)
    (root / "files").mkdir(exist_ok=True)
    (root / "secret.txt").write_bytes(SECRET)
    (root / "static" / "hello.txt").write_bytes(PUBLIC)
    (root / "static" / "sub" / "deep.txt").write_bytes(PUBLIC)
    (root / "files" / "report.txt").write_bytes(PUBLIC * 100)
    (root / "files" / "a b.txt").write_bytes(PUBLIC)
    link = root / "files" / "escape-link"
    if not link.is_symlink():
        link.symlink_to(root / "secret.txt")
    return root


def make_app(root: Path, **config: Any) -> Microframe:
    """Build the app over the site folder ``root`` (see :func:`make_site`)."""
    make_site(root)
    app = Microframe("security_app", root_path=str(root), static_folder=str(root / "static"))
    app.config.update(
        SECRET_KEY=SECRET_KEY,
        SECRET_KEY_FALLBACKS=[],
        PERMANENT_SESSION_LIFETIME=timedelta(days=1),
        **LIMITS,
    )
    app.config.update(config)
    files = str(root / "files")

    @app.route("/", methods=["GET", "POST"])
    async def index() -> str:
        return "ok"

    @app.post("/json")
    async def json_view() -> Any:
        data = await request.get_json()
        return jsonify(kind=type(data).__name__)

    @app.post("/json-silent")
    async def json_silent() -> Any:
        data = await request.get_json(silent=True)
        return jsonify(kind=type(data).__name__)

    @app.post("/form")
    async def form_view() -> Any:
        form = await request.form
        files_ = await request.files
        return {
            "fields": sorted(form.keys()),
            "files": sorted(f.filename or "" for _, f in files_.items(multi=True)),
        }

    @app.post("/upload")
    async def upload() -> Any:
        from werkzeug.utils import secure_filename

        files_ = await request.files
        storage = files_.get("file")
        if storage is None:
            abort(400, "No file part named 'file'.")
        # secure_filename keeps the name's length; file systems allow 255 bytes.
        name = secure_filename(storage.filename or "")[-200:]
        if not name:
            abort(400, "The file name is empty once made safe.")
        with tempfile.TemporaryDirectory() as target:
            await storage.save(os.path.join(target, name))
            saved = os.listdir(target)
        return {"saved": saved}

    @app.route("/sync-form", methods=["POST"])
    def sync_form() -> Any:
        return {"fields": sorted(request.form.keys())}

    @app.post("/data")
    async def data_view() -> Any:
        data = await request.get_data()
        return {"length": len(data)}

    @app.post("/text")
    async def text_view() -> Any:
        text = await request.get_data(as_text=True)
        return {"length": len(text)}

    @app.post("/chunks")
    async def chunks_view() -> Any:
        total = 0
        async for chunk in request.body:
            total += len(chunk)
        return {"length": total}

    @app.get("/files/<path:name>")
    async def file_view(name: str) -> Any:
        return await send_from_directory(files, name)

    @app.get("/raw-file")
    async def raw_file() -> Any:
        # A path chosen by the app, not the request: send_file's own use.
        return await send_file(os.path.join(files, "report.txt"))

    @app.get("/download")
    async def download() -> Any:
        # The download name comes from the request: it must not split headers.
        name = request.args.get("name", "x.txt")
        return await send_file(os.path.join(files, "a b.txt"), as_attachment=True, download_name=name)

    @app.route("/session", methods=["GET", "POST"])
    async def session_view() -> Any:
        if request.method == "POST":
            session["count"] = session.get("count", 0) + 1
            session["blob"] = request.args.get("blob", "")
        return {"count": session.get("count", 0)}

    @app.get("/redirect")
    async def redirect_view() -> Any:
        return redirect(request.args.get("to", "/"))

    @app.get("/cookie")
    async def cookie_view() -> Any:
        response = jsonify(ok=True)
        response.set_cookie("pref", request.args.get("value", ""))
        return response

    @app.get("/echo")
    async def echo() -> Any:
        return {
            "args": {k: v for k, v in request.args.items()},
            "agent": request.headers.get("User-Agent", ""),
            "host": request.host,
        }

    @app.get("/int/<int:n>")
    async def int_view(n: int) -> Any:
        return {"n": n}

    @app.get("/float/<float:x>")
    async def float_view(x: float) -> Any:
        return {"x": x}

    @app.get("/uuid/<uuid:u>")
    async def uuid_view(u: Any) -> Any:
        return {"u": str(u)}

    @app.get("/name/<name>")
    async def name_view(name: str) -> Any:
        return {"name": name, "url": url_for("name_view", name=name)}

    @app.get("/template")
    async def template_view() -> Any:
        return await render_template_string("<p>{{ name }}</p>", name=request.args.get("name", ""))

    @app.get("/stream")
    async def stream() -> Any:
        count = min(request.args.get("n", 3, type=int) or 0, 100)

        async def gen() -> Any:
            for i in range(count):
                yield f"line {i}\n"

        return gen(), {"Content-Type": "text/plain"}

    @app.websocket("/ws")
    async def ws_echo() -> None:
        while True:
            await websocket.send(await websocket.receive())

    @app.get("/conditional")
    async def conditional() -> Any:
        response = app.response_class(PUBLIC * 10, mimetype="text/plain")
        response.add_etag()
        response.last_modified = 1_700_000_000  # type: ignore[assignment]
        return await response.make_conditional(request, accept_ranges=True)

    @app.get("/dates")
    async def dates() -> dict[str, Any]:
        # What a view reading the request's date headers sees of them.
        if_range = request.if_range
        return {
            "date": request.date is not None,
            "if_modified_since": request.if_modified_since is not None,
            "if_unmodified_since": request.if_unmodified_since is not None,
            "if_range": bool(if_range.date or if_range.etag),
        }

    return app


site = os.environ.get("SECURITY_SITE")
if site:
    app = make_app(Path(site))
