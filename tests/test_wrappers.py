"""Request and response wrappers, through the test client and raw ASGI."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from microframe import Blueprint, Microframe, Response, request
from microframe.wrappers.request import Body

# -- helpers ----------------------------------------------------------------------


def http_scope(
    path: str = "/",
    method: str = "POST",
    headers: list[tuple[bytes, bytes]] | None = None,
) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost"), *(headers or [])],
        "client": ("127.0.0.1", 1234),
        "server": ("localhost", 80),
    }


async def call_asgi(app: Any, scope: dict[str, Any], receive: Any) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await asyncio.wait_for(app(scope, receive, send), 5)
    return sent


def start_of(sent: list[dict[str, Any]]) -> dict[str, Any]:
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert len(starts) == 1
    return starts[0]


def body_of(sent: list[dict[str, Any]]) -> bytes:
    return b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


@pytest.fixture
def app() -> Microframe:
    app = Microframe(__name__)
    app.config["TESTING"] = True

    @app.route("/info/<name>", methods=["GET", "POST"])
    async def info(name: str) -> Any:
        return {
            "method": request.method,
            "path": request.path,
            "full_path": request.full_path,
            "url": request.url,
            "base_url": request.base_url,
            "host": request.host,
            "scheme": request.scheme,
            "args": request.args.to_dict(flat=False),
            "header": request.headers.get("X-Thing"),
            "cookies": request.cookies.to_dict(),
            "remote_addr": request.remote_addr,
            "content_type": request.content_type,
            "mimetype": request.mimetype,
            "best": request.accept_mimetypes.best_match(["text/html", "application/json"]),
            "lang": request.accept_languages.best,
            "is_json": request.is_json,
            "view_args": request.view_args,
            "endpoint": request.endpoint,
            "blueprint": request.blueprint,
        }

    bp = Blueprint("shop", __name__, url_prefix="/shop")

    @bp.get("/item")
    async def item() -> Any:
        return {"endpoint": request.endpoint, "blueprint": request.blueprint}

    app.register_blueprint(bp)

    @app.post("/data")
    async def data() -> Any:
        return await request.get_data()

    @app.post("/data-attr")
    async def data_attr() -> Any:
        raw = await request.data
        text = await request.get_data(as_text=True)
        return {"len": len(raw), "text": text}

    @app.post("/json")
    async def json_view() -> Any:
        return {"value": await request.get_json()}

    @app.post("/json-force")
    async def json_force() -> Any:
        return {"value": await request.get_json(force=True)}

    @app.post("/json-silent")
    async def json_silent() -> Any:
        return {"value": await request.get_json(silent=True)}

    @app.route("/form", methods=["GET", "POST"])
    async def form() -> Any:
        form = await request.form
        values = await request.values
        return {"form": form.to_dict(flat=False), "values": values.to_dict(flat=False)}

    @app.post("/upload")
    async def upload() -> Any:
        files = await request.files
        form = await request.form
        stored = files["f"]
        return {
            "filename": stored.filename,
            "content": stored.read().decode(),
            "count": len(files.getlist("f")),
            "form": form.to_dict(),
        }

    @app.post("/stream")
    async def stream() -> Any:
        sizes = [len(chunk) async for chunk in request.body]
        return {"chunks": len(sizes), "total": sum(sizes)}

    return app


# -- request attributes -------------------------------------------------------------------


async def test_request_attributes(app: Microframe) -> None:
    client = app.test_client()
    client.set_cookie("flavour", "oat")
    response = await client.get(
        "/info/ada",
        query_string={"a": ["1", "2"], "b": "x y"},
        headers={
            "X-Thing": "yes",
            "Accept": "application/json;q=1, text/html;q=0.5",
            "Accept-Language": "fr, en;q=0.5",
        },
    )
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    info = await response.get_json()
    assert info["method"] == "GET"
    assert info["path"] == "/info/ada"
    assert info["full_path"] == "/info/ada?a=1&a=2&b=x+y"
    assert info["url"] == "http://localhost/info/ada?a=1&a=2&b=x+y"
    assert info["base_url"] == "http://localhost/info/ada"
    assert info["host"] == "localhost"
    assert info["scheme"] == "http"
    assert info["args"] == {"a": ["1", "2"], "b": ["x y"]}
    assert info["header"] == "yes"
    assert info["cookies"] == {"flavour": "oat"}
    assert info["remote_addr"] == "127.0.0.1"
    assert info["content_type"] is None
    assert info["mimetype"] == ""
    assert info["best"] == "application/json"
    assert info["lang"] == "fr"
    assert info["is_json"] is False
    assert info["view_args"] == {"name": "ada"}
    assert info["endpoint"] == "info"
    assert info["blueprint"] is None


async def test_url_root_and_script_root_as_flask_names_them() -> None:
    # Extensions (apiflask's OpenAPI "servers") read werkzeug's WSGI names.
    app = Microframe(__name__)

    @app.get("/where")
    async def where() -> dict[str, str]:
        return {
            "url_root": request.url_root,
            "script_root": request.script_root,
            "root_url": request.root_url,
        }

    client = app.test_client()
    response = await client.get("/app/where", root_path="/app", scheme="https")
    assert await response.get_json() == {
        "url_root": "https://localhost/app/",
        "script_root": "/app",
        "root_url": "https://localhost/app/",
    }
    response = await client.get("/where")
    assert (await response.get_json())["url_root"] == "http://localhost/"
    assert (await response.get_json())["script_root"] == ""


async def test_request_https_and_json_content_type(app: Microframe) -> None:
    client = app.test_client()
    response = await client.post("/info/x", json={"k": 1}, scheme="https")
    info = await response.get_json()
    assert info["scheme"] == "https"
    assert info["url"] == "https://localhost/info/x"
    assert info["content_type"] == "application/json"
    assert info["mimetype"] == "application/json"
    assert info["is_json"] is True


async def test_request_blueprint_and_endpoint(app: Microframe) -> None:
    response = await app.test_client().get("/shop/item")
    assert response.status_code == 200
    assert await response.get_json() == {"endpoint": "shop.item", "blueprint": "shop"}


async def test_unknown_route_is_404(app: Microframe) -> None:
    response = await app.test_client().get("/nope")
    assert response.status_code == 404
    assert b"Not Found" in await response.get_data()


async def test_wrong_method_is_405(app: Microframe) -> None:
    response = await app.test_client().get("/data")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]


# -- reading the body ----------------------------------------------------------------------


async def test_get_data_and_data(app: Microframe) -> None:
    client = app.test_client()
    response = await client.post("/data", data=b"\x00raw bytes\xff")
    assert response.status_code == 200
    assert await response.get_data() == b"\x00raw bytes\xff"
    response = await client.post("/data-attr", data="héllo")
    assert await response.get_json() == {"len": 6, "text": "héllo"}


async def test_get_json(app: Microframe) -> None:
    client = app.test_client()
    response = await client.post("/json", json={"a": [1, 2, {"b": None}]})
    assert response.status_code == 200
    assert await response.get_json() == {"value": {"a": [1, 2, {"b": None}]}}


@pytest.mark.parametrize("debug", [True, False])
async def test_malformed_json_is_400(app: Microframe, debug: bool) -> None:
    app.debug = debug
    response = await app.test_client().post(
        "/json", data=b'{"a": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    # Why it failed is for the developer, in debug mode only (as in Flask).
    assert (b"Failed to decode JSON" in await response.get_data()) is debug


async def test_deeply_nested_json_is_400_not_500(app: Microframe) -> None:
    response = await app.test_client().post(
        "/json", data=b"[" * 100_000, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400


async def test_get_json_on_non_json_body_is_415(app: Microframe) -> None:
    client = app.test_client()
    response = await client.post("/json", data=b'{"a": 1}', headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    response = await client.post("/json-force", data=b'{"a": 1}', headers={"Content-Type": "text/plain"})
    assert response.status_code == 200
    assert await response.get_json() == {"value": {"a": 1}}
    response = await client.post("/json-force", data=b"not json")
    assert response.status_code == 400


async def test_get_json_silent_gives_none(app: Microframe) -> None:
    client = app.test_client()
    response = await client.post("/json-silent", data=b"{{{", headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    assert await response.get_json() == {"value": None}
    response = await client.post("/json-silent", data=b"[1]", headers={"Content-Type": "text/plain"})
    assert await response.get_json() == {"value": None}
    response = await client.post("/json-silent", json=[1])
    assert await response.get_json() == {"value": [1]}


async def test_form_and_values(app: Microframe) -> None:
    client = app.test_client()
    response = await client.post("/form?q=1", form={"a": "1", "b": ["x", "y"]})
    assert response.status_code == 200
    assert await response.get_json() == {
        "form": {"a": ["1"], "b": ["x", "y"]},
        "values": {"q": ["1"], "a": ["1"], "b": ["x", "y"]},
    }
    # GET: values are the query args only.
    response = await client.get("/form", query_string={"q": "2"})
    assert await response.get_json() == {"form": {}, "values": {"q": ["2"]}}
    # A body that is not a form gives an empty form, not an error.
    response = await client.post("/form", json={"a": 1})
    assert await response.get_json() == {"form": {}, "values": {}}


async def test_file_upload(app: Microframe) -> None:
    client = app.test_client()
    response = await client.post(
        "/upload",
        form={"title": "notes"},
        files={"f": (io.BytesIO(b"file contents"), "a.txt")},
    )
    assert response.status_code == 200
    assert await response.get_json() == {
        "filename": "a.txt",
        "content": "file contents",
        "count": 1,
        "form": {"title": "notes"},
    }


async def test_file_upload_via_data_dict(app: Microframe) -> None:
    response = await app.test_client().post(
        "/upload",
        data={
            "title": "two",
            "f": [(io.BytesIO(b"one"), "1.txt"), (io.BytesIO(b"two"), "2.txt", "text/plain")],
        },
    )
    assert response.status_code == 200
    assert await response.get_json() == {
        "filename": "1.txt",
        "content": "one",
        "count": 2,
        "form": {"title": "two"},
    }


async def test_large_upload_is_spooled_to_disk() -> None:
    # A 20 MiB file goes to a temporary file on disk, and parsing it never
    # makes another whole copy of the body in memory.
    app = Microframe(__name__)

    @app.post("/big")
    async def big() -> dict[str, Any]:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        files = await request.files
        _, peak = tracemalloc.get_traced_memory()
        stored = files["blob"]
        return {
            "title": (await request.form)["title"],
            "on_disk": stored.stream._rolled,
            "sha256": hashlib.sha256(stored.read()).hexdigest(),
            "extra_mib": (peak - before) / 2**20,
        }

    app.config["MAX_CONTENT_LENGTH"] = 32 * 2**20
    content = os.urandom(20 * 2**20)
    # Encoded here rather than with files=: the test client copies the body
    # werkzeug encodes, which would count against the memory measured below.
    body = (
        b'--b\r\nContent-Disposition: form-data; name="title"\r\n\r\nbig\r\n'
        b'--b\r\nContent-Disposition: form-data; name="blob"; filename="big.bin"\r\n\r\n'
        + content
        + b"\r\n--b--\r\n"
    )
    tracemalloc.start()
    try:
        response = await app.test_client().post(
            "/big", data=body, headers={"Content-Type": "multipart/form-data; boundary=b"}
        )
    finally:
        tracemalloc.stop()
    assert response.status_code == 200
    result = await response.get_json()
    assert result["title"] == "big" and result["on_disk"] is True
    assert result["sha256"] == hashlib.sha256(content).hexdigest()
    assert result["extra_mib"] < 4


async def test_malformed_multipart_is_400(app: Microframe) -> None:
    response = await app.test_client().post(
        "/upload",
        data=b"--b\r\nnot headers",
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert response.status_code == 400


async def test_body_streamed_in_chunks() -> None:
    app = Microframe(__name__)

    @app.post("/stream")
    async def stream() -> Any:
        sizes = [len(chunk) async for chunk in request.body]
        return {"sizes": sizes}

    chunks = [b"a" * 10, b"", b"b" * 20, b"c" * 5]
    messages = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await asyncio.sleep(10)
        return {"type": "http.disconnect"}

    sent = await call_asgi(app, http_scope("/stream"), receive)
    assert start_of(sent)["status"] == 200
    assert body_of(sent) == b'{"sizes":[10,20,5]}\n'


async def test_body_streamed_then_read_whole_is_an_error() -> None:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"abc", "more_body": False}

    body = Body(receive)
    assert [chunk async for chunk in body] == [b"abc"]
    with pytest.raises(RuntimeError, match="streamed"):
        await body.read()


async def test_body_read_is_cached() -> None:
    calls = 0

    async def receive() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        return {"type": "http.request", "body": b"abc", "more_body": False}

    body = Body(receive)
    assert await body == b"abc"
    assert await body.read() == b"abc"
    assert [chunk async for chunk in body] == [b"abc"]
    assert calls == 1


# -- limits ----------------------------------------------------------------------------------


async def test_max_content_length_by_header(app: Microframe) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 100
    client = app.test_client()
    response = await client.post("/data", data=b"x" * 101)
    assert response.status_code == 413
    response = await client.post("/data", data=b"x" * 100)
    assert response.status_code == 200
    assert await response.get_data() == b"x" * 100


async def test_max_content_length_while_streaming(app: Microframe) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 100
    received = 0

    async def receive() -> dict[str, Any]:
        nonlocal received
        received += 1
        if received > 1000:
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": b"x" * 10, "more_body": True}

    # No Content-Length: the limit must be enforced as the body grows.
    sent = await call_asgi(app, http_scope("/data"), receive)
    assert start_of(sent)["status"] == 413
    assert b"Request Entity Too Large" in body_of(sent)
    assert received <= 12  # stopped reading soon after the limit

    received = 0
    sent = await call_asgi(app, http_scope("/stream"), receive)
    assert start_of(sent)["status"] == 413


async def test_max_content_length_per_request() -> None:
    app = Microframe(__name__)

    @app.post("/small")
    async def small() -> Any:
        request.max_content_length = 3
        return await request.get_data()

    response = await app.test_client().post("/small", data=b"abcd")
    assert response.status_code == 413


async def test_max_form_memory_size(app: Microframe) -> None:
    app.config["MAX_FORM_MEMORY_SIZE"] = 50
    client = app.test_client()
    response = await client.post("/form", form={"a": "x" * 100})
    assert response.status_code == 413
    response = await client.post(
        "/upload", form={"title": "x" * 100}, files={"f": (io.BytesIO(b"ok"), "a.txt")}
    )
    assert response.status_code == 413
    response = await client.post("/form", form={"a": "x" * 10})
    assert response.status_code == 200


async def test_max_form_parts(app: Microframe) -> None:
    app.config["MAX_FORM_PARTS"] = 3
    client = app.test_client()
    fields = {f"k{i}": "v" for i in range(5)}
    response = await client.post("/form", form=fields)
    assert response.status_code == 413
    response = await client.post(
        "/upload", form=fields, files={"f": (io.BytesIO(b"ok"), "a.txt")}
    )
    assert response.status_code == 413
    response = await client.post("/form", form={"a": "1", "b": "2"})
    assert response.status_code == 200


async def test_body_timeout_is_408(app: Microframe) -> None:
    app.config["BODY_TIMEOUT"] = 0.2

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(30)
        return {"type": "http.request", "body": b"late", "more_body": False}

    loop = asyncio.get_running_loop()
    started = loop.time()
    sent = await call_asgi(app, http_scope("/data"), receive)
    assert start_of(sent)["status"] == 408
    assert loop.time() - started < 2


async def test_client_disconnect_while_reading_body() -> None:
    app = Microframe(__name__)
    events: list[str] = []

    @app.post("/data")
    async def data() -> Any:
        await request.get_data()
        events.append("view finished")
        return "never"

    @app.teardown_request
    def teardown(exc: BaseException | None) -> None:
        events.append(f"teardown {type(exc).__name__}")

    messages = [{"type": "http.request", "body": b"part", "more_body": True}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        return {"type": "http.disconnect"}

    sent = await call_asgi(app, http_scope("/data"), receive)
    assert events == ["teardown ClientDisconnected"]
    # Nothing was sent to the client that is no longer there.
    assert not [m for m in sent if m["type"] == "http.response.body" and m.get("body")]


async def test_client_disconnect_while_a_sync_view_reads_the_body() -> None:
    app = Microframe(__name__)
    events: list[str] = []

    @app.post("/data")
    def data() -> Any:
        try:
            request.get_data()
        except Exception:  # a disconnect is not an app error: not caught here
            events.append("caught as Exception")
        return "never"

    @app.teardown_request
    def teardown(exc: BaseException | None) -> None:
        events.append(f"teardown {type(exc).__name__}")

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    sent = await call_asgi(app, http_scope("/data"), receive)
    assert events == ["teardown ClientDisconnected"]
    assert not [m for m in sent if m["type"] == "http.response.body" and m.get("body")]
    await app.shutdown()


# -- sync views read the body directly -----------------------------------------------------------


async def test_sync_view_reads_body_directly() -> None:
    app = Microframe(__name__)

    @app.post("/sync")
    def sync_view() -> Any:
        return {"json": request.get_json(), "data": request.get_data(as_text=True)}

    @app.post("/sync-form")
    def sync_form() -> Any:
        return {"form": request.form.to_dict(), "files": list(request.files)}

    client = app.test_client()
    response = await client.post("/sync", json={"x": 1})
    assert await response.get_json() == {"json": {"x": 1}, "data": '{"x": 1}'}
    response = await client.post("/sync-form", form={"a": "b"})
    assert await response.get_json() == {"form": {"a": "b"}, "files": []}


# -- responses -----------------------------------------------------------------------------------


async def test_response_status_and_headers() -> None:
    response = Response("made", status=201, headers={"X-A": "1"}, mimetype="text/plain")
    assert response.status_code == 201
    assert response.status == "201 CREATED"
    assert response.headers["X-A"] == "1"
    assert response.mimetype == "text/plain"
    assert response.content_type == "text/plain; charset=utf-8"
    assert response.headers["Content-Length"] == "4"
    response.status_code = 404
    assert response.status == "404 NOT FOUND"
    response.status = "418 I'M A TEAPOT"
    assert response.status_code == 418
    assert await response.get_data() == b"made"
    assert await response.get_data(as_text=True) == "made"


async def test_response_default_mimetype_and_set_data() -> None:
    response = Response()
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert await response.get_data() == b""
    response.set_data("héllo")
    assert response.headers["Content-Length"] == "6"
    assert await response.get_data() == "héllo".encode()


async def test_response_bodies_of_each_kind() -> None:
    def gen() -> Iterator[str]:
        yield "a"
        yield "b"

    async def agen() -> AsyncIterator[bytes]:
        yield b"c"
        yield b"d"

    cases: list[tuple[Any, bytes]] = [
        (b"bytes", b"bytes"),
        ("str", b"str"),
        (["x", b"y"], b"xy"),
        (gen(), b"ab"),
        (agen(), b"cd"),
    ]
    for body, expected in cases:
        response = Response(body)
        assert await response.get_data() == expected


async def test_streamed_response_has_no_content_length() -> None:
    async def agen() -> AsyncIterator[bytes]:
        yield b"c"

    response = Response(agen())
    assert response.is_streamed
    assert "Content-Length" not in response.headers
    assert await response.get_data() == b"c"
    assert response.headers["Content-Length"] == "1"


async def test_response_bad_body_type() -> None:
    with pytest.raises(TypeError):
        Response(42)

    response = Response([1, 2])
    with pytest.raises(TypeError, match="yield str or bytes"):
        await response.get_data()


async def test_response_json() -> None:
    response = Response('{"a": [1]}', mimetype="application/json")
    assert await response.get_json() == {"a": [1]}
    assert await response.json == {"a": [1]}
    text = Response("plain")
    assert await text.get_json() is None
    assert await text.get_json(force=True, silent=True) is None
    broken = Response("{", mimetype="application/json")
    with pytest.raises(ValueError):
        await broken.get_json()
    assert await broken.get_json(silent=True) is None


def test_response_data_in_sync_code() -> None:
    response = Response("sync")
    assert response.data == b"sync"
    assert response.get_data(as_text=True) == "sync"
    response.data = b"new"
    assert response.get_data() == b"new"


async def test_set_and_delete_cookie() -> None:
    response = Response("ok")
    response.set_cookie("sid", "abc", max_age=60, httponly=True, secure=True, samesite="Lax")
    response.delete_cookie("old", path="/x")
    cookies = response.headers.getlist("Set-Cookie")
    assert len(cookies) == 2
    assert cookies[0].startswith("sid=abc;")
    for part in ("Max-Age=60", "HttpOnly", "Secure", "SameSite=Lax", "Path=/"):
        assert part in cookies[0]
    assert cookies[1].startswith("old=;")
    assert "Max-Age=0" in cookies[1]
    assert "Path=/x" in cookies[1]


async def test_cookies_through_a_view() -> None:
    app = Microframe(__name__)

    @app.get("/set")
    async def set_view() -> Any:
        response = Response("set")
        response.set_cookie("name", "value")
        return response

    response = await app.test_client().get("/set")
    assert response.status_code == 200
    assert response.headers["Set-Cookie"].startswith("name=value;")


# -- conditional and partial responses ------------------------------------------------------


@pytest.fixture
def cond_app() -> Microframe:
    app = Microframe(__name__)

    @app.get("/doc")
    async def doc() -> Any:
        response = Response(b"0123456789")
        response.add_etag()
        return await response.make_conditional(request, accept_ranges=True)

    return app


async def test_etag_and_if_none_match(cond_app: Microframe) -> None:
    client = cond_app.test_client()
    response = await client.get("/doc")
    assert response.status_code == 200
    etag = response.headers["ETag"]
    assert etag.startswith('"')
    assert response.headers["Accept-Ranges"] == "bytes"
    assert await response.get_data() == b"0123456789"

    response = await client.get("/doc", headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert await response.get_data() == b""

    response = await client.get("/doc", headers={"If-None-Match": '"other"'})
    assert response.status_code == 200


async def test_range_requests(cond_app: Microframe) -> None:
    client = cond_app.test_client()
    response = await client.get("/doc", headers={"Range": "bytes=2-5"})
    assert response.status_code == 206
    assert response.headers["Content-Range"] == "bytes 2-5/10"
    assert response.headers["Content-Length"] == "4"
    assert await response.get_data() == b"2345"

    response = await client.get("/doc", headers={"Range": "bytes=-3"})
    assert response.status_code == 206
    assert await response.get_data() == b"789"

    response = await client.get("/doc", headers={"Range": "bytes=50-60"})
    assert response.status_code == 416
    assert response.headers["Content-Range"] == "bytes */10"

    # A malformed Range header is ignored: the whole body.
    response = await client.get("/doc", headers={"Range": "lines=1-2"})
    assert response.status_code == 200
    assert await response.get_data() == b"0123456789"


async def test_if_range_mismatch_sends_whole_body(cond_app: Microframe) -> None:
    client = cond_app.test_client()
    response = await client.get("/doc", headers={"Range": "bytes=0-1", "If-Range": '"stale"'})
    assert response.status_code == 200
    assert await response.get_data() == b"0123456789"


def test_make_conditional_in_sync_code() -> None:
    app = Microframe(__name__)
    with app.test_request_context("/", headers={"Range": "bytes=0-0"}):
        response = Response(b"abc")
        result = response.make_conditional(request, accept_ranges=True)
        assert result is response
        assert response.status_code == 206
        assert response.get_data() == b"a"


def test_request_sets_what_werkzeugs_request_sets() -> None:
    from werkzeug.sansio.request import Request as SansIORequest

    from microframe.wrappers import Request
    from microframe.wrappers.headers import trusted_headers
    from microframe.wrappers.request import Body

    headers = trusted_headers([("Host", "example.com")])
    args = ("get", "https", ("example.com", 443), "/root/", "//a/b", b"x=1", headers, "10.0.0.1")
    theirs = SansIORequest(*args)
    ours = Request(
        "get", "https", "//a/b", b"x=1", headers, "/root/", "1.1",
        body=Body(None), remote_addr="10.0.0.1", server=("example.com", 443),
    )
    for name, value in vars(theirs).items():
        assert getattr(ours, name) == value, name
    assert ours.url == theirs.url == "https://example.com/root/a/b?x=1"


# -- request.stream: the body as a blocking file, for sync views (Flask's) --------------

STREAM_APP = '''
import hashlib

from microframe import Microframe, request

app = Microframe(__name__)
app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024


@app.post("/digest")
def digest():
    sha = hashlib.sha256()
    size = 0
    for chunk in iter(lambda: request.stream.read(4096), b""):
        sha.update(chunk)
        size += len(chunk)
    return {"size": size, "sha256": sha.hexdigest()}


@app.post("/lines")
def lines():
    return {"lines": [line.decode().rstrip("\\n") for line in request.stream]}


@app.post("/all")
def read_all():
    return request.stream.read()


@app.post("/async")
async def in_async_code():
    return (await request.stream).read()
'''


@pytest.fixture
def stream_app(tmp_path: Any) -> Microframe:
    namespace: dict[str, Any] = {"__name__": "stream_app"}
    exec(compile(STREAM_APP, "stream_app.py", "exec"), namespace)
    app: Microframe = namespace["app"]
    return app


async def test_request_stream_reads_the_body_in_a_sync_view(stream_app: Microframe) -> None:
    client = stream_app.test_client()
    body = os.urandom(300_000)
    response = await client.post("/digest", data=body)
    assert response.status_code == 200
    assert await response.get_json() == {"size": len(body), "sha256": hashlib.sha256(body).hexdigest()}
    response = await client.post("/lines", data=b"one\ntwo\nthree")
    assert await response.get_json() == {"lines": ["one", "two", "three"]}
    response = await client.post("/all", data=b"")
    assert response.status_code == 200 and await response.get_data() == b""


async def test_request_stream_keeps_the_limit_and_is_awaited_in_async_code(
    stream_app: Microframe,
) -> None:
    client = stream_app.test_client()
    response = await client.post("/digest", data=b"x" * (1024 * 1024 + 1))
    assert response.status_code == 413
    response = await client.post("/async", data=b"in memory")
    assert await response.get_data() == b"in memory"
    response = await client.post("/async", data=b"x" * (1024 * 1024 + 1))
    assert response.status_code == 413


def test_request_stream_under_a_real_server(tmp_path: Any) -> None:
    from live_server import LiveServer

    (tmp_path / "stream_app.py").write_text(STREAM_APP)
    server = LiveServer("stream_app:app", [tmp_path], log=tmp_path / "server.log")
    try:
        server.wait_until_ready()
        body = os.urandom(600_000)
        response, answer = server.request("POST", "/digest", body=body)
        assert response.status == 200
        assert json.loads(answer) == {"size": len(body), "sha256": hashlib.sha256(body).hexdigest()}
        # An iterable body goes chunked (no Content-Length), as a streaming client sends it.
        response, answer = server.request("POST", "/digest", body=iter([body[:1000], body[1000:]]))
        assert response.status == 200 and json.loads(answer)["size"] == len(body)
        response, answer = server.request("POST", "/digest", body=b"x" * (1024 * 1024 + 1))
        assert response.status == 413
        response, answer = server.request("POST", "/lines", body=b"a\nb")
        assert json.loads(answer) == {"lines": ["a", "b"]}
    finally:
        server.stop()


# -- request.close(): werkzeug's and Quart's ---------------------------------------------


async def test_request_close_closes_the_uploaded_files(app: Microframe) -> None:
    seen: dict[str, bool] = {}

    @app.post("/async")
    async def async_view() -> str:
        upload = (await request.files)["f"]
        await request.close()  # Quart's, awaited
        seen["async"] = upload.stream.closed
        return "ok"

    @app.post("/sync")
    def sync_view() -> str:
        with request:  # werkzeug's: closed on leaving the block
            upload = request.files["f"]
            seen["open inside"] = not upload.stream.closed
        seen["sync"] = upload.stream.closed
        return "ok"

    client = app.test_client()
    for path in ("/async", "/sync"):
        response = await client.post(path, data={"f": (io.BytesIO(b"data"), "a.txt")})
        assert response.status_code == 200
    assert seen == {"async": True, "open inside": True, "sync": True}
