"""Typing regression file: the dual sync/async APIs, typed precisely in both.

A plain ``def`` view uses each value directly, as under Flask; an ``async
def`` view awaits it, as under Quart. ``assert_type`` pins the type mypy
sees in each; tests/test_typing.py runs mypy on this file and serves every
route, so the same code also runs.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterator
from typing import Any, assert_type

from werkzeug.datastructures import CombinedMultiDict, MultiDict

from microframe import (
    Microframe,
    Response,
    flash,
    get_flashed_messages,
    make_response,
    render_template_string,
    request,
    send_file,
    stream_template_string,
    stream_with_context,
)
from microframe.datastructures import FileStorage

app = Microframe(__name__)
app.secret_key = "typing"


@app.post("/sync/body")
def sync_body() -> str:
    data: bytes = request.get_data()
    raw: bytes = request.data
    text: str = request.get_data(as_text=True)
    return f"{len(data)} {raw.decode()} {text.upper()}"


@app.post("/async/body")
async def async_body() -> str:
    data = await request.get_data()
    assert_type(data, bytes)
    raw = await request.data
    assert_type(raw, bytes)
    text = await request.get_data(as_text=True)
    assert_type(text, str)
    either = await request.get_data(as_text=bool(request.args))
    assert_type(either, bytes | str)
    return f"{len(data)} {raw.decode()} {text.upper()}"


@app.post("/sync/json")
def sync_json() -> dict[str, Any]:
    payload = request.get_json()
    return {"got": payload, "again": request.json}


@app.post("/async/json")
async def async_json() -> dict[str, Any]:
    payload = await request.get_json()
    return {"got": payload, "again": await request.json}


@app.post("/sync/form")
def sync_form() -> str:
    form = request.form
    name: str = form["name"]
    files: MultiDict[str, FileStorage] = request.files
    values: CombinedMultiDict[str, str] = request.values
    upload = files["upload"]
    upload.save(io.BytesIO())
    return f"{name} {upload.filename} {values.get('q')}"


@app.post("/async/form")
async def async_form() -> str:
    form = await request.form
    assert_type(form, MultiDict[str, str])
    files = await request.files
    assert_type(files, MultiDict[str, FileStorage])
    values = await request.values
    assert_type(values, CombinedMultiDict[str, str])
    upload = files["upload"]
    await upload.save(io.BytesIO())
    return f"{form['name']} {upload.filename} {values.get('q')}"


@app.get("/sync/template")
def sync_template() -> str:
    html: str = render_template_string("<b>{{ name }}</b>", name="Ada")
    return html


@app.get("/async/template")
async def async_template() -> str:
    html = await render_template_string("<b>{{ name }}</b>", name="Ada")
    assert_type(html, str)
    return html


@app.get("/sync/stream")
def sync_stream() -> Iterator[str]:
    stream: Iterator[str] = stream_template_string("{% for i in n %}{{ i }}{% endfor %}", n=[1, 2])
    return stream


@app.get("/async/stream")
async def async_stream() -> AsyncIterator[str]:
    stream = await stream_template_string("{% for i in n %}{{ i }}{% endfor %}", n=[1, 2])
    assert_type(stream, AsyncIterator[str])
    return stream


@app.get("/sync/stream-with-context")
def sync_stream_with_context() -> Iterator[str]:
    def generate() -> Iterator[str]:
        yield request.args.get("word", "none")

    stream = stream_with_context(generate())
    assert_type(stream, Iterator[str])
    return stream


@app.get("/async/stream-with-context")
async def async_stream_with_context() -> AsyncIterator[str]:
    @stream_with_context
    async def generate(times: int) -> AsyncIterator[str]:
        for _ in range(times):
            yield request.args.get("word", "none")

    assert_type(generate(1), AsyncIterator[str])
    return generate(2)


@app.get("/sync/make-response")
def sync_make_response() -> Response:
    response = make_response("made")
    response.set_cookie("flavour", "oat")
    body: bytes = response.get_data()
    response.headers["X-Length"] = str(len(body))
    return response


@app.get("/async/make-response")
async def async_make_response() -> Response:
    response = await make_response("made")
    assert_type(response, Response)
    response.set_cookie("flavour", "oat")
    body = await response.get_data()
    assert_type(body, bytes)
    text = await response.get_data(as_text=True)
    assert_type(text, str)
    response.headers["X-Length"] = str(len(body) + len(text) - len(text))
    return response


@app.get("/sync/file")
def sync_file() -> Response:
    return send_file(io.BytesIO(b"file"), mimetype="text/plain")


@app.get("/async/file")
async def async_file() -> Response:
    response = await send_file(io.BytesIO(b"file"), mimetype="text/plain")
    assert_type(response, Response)
    return response


@app.get("/sync/flash")
def sync_flash() -> str:
    flash("saved")
    messages: list[Any] = get_flashed_messages()
    return ",".join(messages)


@app.get("/async/flash")
async def async_flash() -> str:
    await flash("saved", "info")
    return ",".join(f"{c}:{m}" for c, m in get_flashed_messages(with_categories=True))


def expected() -> list[tuple[str, str, dict[str, Any], int, bytes]]:
    """(method, path, request arguments, status, body) of each route, made
    afresh for each run (a form's file is read by the request)."""
    cases: list[tuple[str, str, dict[str, Any], int, bytes]] = []
    for kind in ("sync", "async"):
        form = {"name": "Ada", "upload": (io.BytesIO(b"x"), "a.txt")}
        cases += [
            ("POST", f"/{kind}/body", {"data": b"abc"}, 200, b"3 abc ABC"),
            ("POST", f"/{kind}/json", {"json": [1]}, 200, b'{"again":[1],"got":[1]}\n'),
            ("POST", f"/{kind}/form?q=query", {"data": form}, 200, b"Ada a.txt query"),
            ("GET", f"/{kind}/template", {}, 200, b"<b>Ada</b>"),
            ("GET", f"/{kind}/stream", {}, 200, b"12"),
            (
                "GET",
                f"/{kind}/stream-with-context?word=hi",
                {},
                200,
                b"hi" if kind == "sync" else b"hihi",
            ),
            ("GET", f"/{kind}/make-response", {}, 200, b"made"),
            ("GET", f"/{kind}/file", {}, 200, b"file"),
        ]
    cases += [("GET", "/sync/flash", {}, 200, b"saved"), ("GET", "/async/flash", {}, 200, b"info:saved")]
    return cases
