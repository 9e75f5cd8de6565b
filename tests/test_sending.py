"""Tests for send_file, send_from_directory and the static endpoint."""

from __future__ import annotations

import asyncio
import io
import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from werkzeug.exceptions import NotFound
from werkzeug.http import http_date

from microframe import Blueprint, Microframe, Response, send_file, send_from_directory, url_for
from microframe.sending import content_disposition
from microframe.testing import make_test_scope
from microframe.wrappers.response_body import FileBody

HERE = Path(__file__).parent
STATIC = HERE / "static"
INDEX = (STATIC / "index.html").read_bytes()


@pytest.fixture
def files_app(app: Microframe) -> Microframe:
    @app.get("/file")
    async def file() -> Any:
        return await send_file(STATIC / "index.html")

    @app.get("/sync-file")
    def sync_file() -> Any:
        response = send_file(str(STATIC / "index.html"))
        assert isinstance(response, Response)
        return response

    @app.get("/relative")
    async def relative() -> Any:
        return await send_file("static/style.css")

    @app.get("/files/<path:name>")
    async def files(name: str) -> Any:
        return await send_from_directory(STATIC, name)

    @app.get("/sync-files/<path:name>")
    def sync_files(name: str) -> Any:
        return send_from_directory("static", name)

    return app


# -- send_file -------------------------------------------------------------------


async def test_send_file_path(files_app: Microframe) -> None:
    client = files_app.test_client()
    response = await client.get("/file")
    assert response.status_code == 200
    assert await response.get_data() == INDEX
    assert response.mimetype == "text/html"
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Content-Length"] == str(len(INDEX))
    assert response.headers["Content-Disposition"] == "inline; filename=index.html"
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["Cache-Control"] == "no-cache"
    stat = os.stat(STATIC / "index.html")
    assert response.headers["Last-Modified"] == http_date(stat.st_mtime)
    etag, weak = response.get_etag()
    assert not weak
    assert etag is not None and etag.startswith(f"{stat.st_mtime}-{stat.st_size}-")


async def test_send_file_sync_view_and_relative_path(files_app: Microframe) -> None:
    client = files_app.test_client()
    response = await client.get("/sync-file")
    assert response.status_code == 200
    assert await response.get_data() == INDEX
    response = await client.get("/relative")
    assert response.mimetype == "text/css"
    assert await response.get_data() == (STATIC / "style.css").read_bytes()


async def test_send_file_body_is_a_file_body(app: Microframe) -> None:
    async with app.test_request_context("/"):
        response = await send_file(STATIC / "index.html")
    assert isinstance(response.body, FileBody)
    assert response.is_streamed


def test_send_file_in_sync_code_returns_response(app: Microframe) -> None:
    with app.test_request_context("/"):
        response = send_file(STATIC / "index.html")
        assert isinstance(response, Response)
        assert response.data == INDEX


async def test_send_bytesio(app: Microframe) -> None:
    @app.get("/")
    async def index() -> Any:
        return await send_file(io.BytesIO(b"a,b\n1,2\n"), download_name="data.csv")

    @app.get("/typed")
    async def typed() -> Any:
        return await send_file(io.BytesIO(b"\x00\x01"), mimetype="application/x-thing")

    client = app.test_client()
    response = await client.get("/")
    assert await response.get_data() == b"a,b\n1,2\n"
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == "inline; filename=data.csv"
    assert "ETag" not in response.headers
    assert "Last-Modified" not in response.headers
    response = await client.get("/", headers={"Range": "bytes=4-"})
    assert response.status_code == 206
    assert await response.get_data() == b"1,2\n"
    response = await client.get("/typed")
    assert response.mimetype == "application/x-thing"
    assert "Content-Disposition" not in response.headers


async def test_send_bytesio_from_current_position(app: Microframe) -> None:
    data = io.BytesIO(b"skip:keep")
    data.seek(5)
    async with app.test_request_context("/"):
        response = await send_file(data, mimetype="text/plain")
    assert await response.get_data() == b"keep"


async def test_send_other_file_object_is_streamed(app: Microframe, tmp_path: Path) -> None:
    target = tmp_path / "blob.bin"
    target.write_bytes(b"x" * 100_000)

    @app.get("/")
    async def index() -> Any:
        return await send_file(open(target, "rb"), download_name="blob.bin")

    response = await app.test_client().get("/", headers={"Range": "bytes=0-9"})
    # An arbitrary file object has no known length: no ranges are offered.
    assert response.status_code == 200
    assert "Accept-Ranges" not in response.headers
    assert await response.get_data() == b"x" * 100_000


async def test_file_object_needs_a_name_or_type(app: Microframe) -> None:
    async with app.test_request_context("/"):
        # Flask's TypeError and Quart's ValueError, with Quart's message.
        with pytest.raises(TypeError, match="mime type cannot be inferred"):
            await send_file(io.BytesIO(b"data"))
        with pytest.raises(ValueError, match="set it manually via the mimetype argument"):
            await send_file(io.BytesIO(b"data"))
        with pytest.raises(TypeError, match="attachment"):
            await send_file(io.BytesIO(b"data"), mimetype="text/plain", as_attachment=True)
        with pytest.raises(ValueError, match="binary mode"):
            await send_file(io.StringIO("text"), mimetype="text/plain")


async def test_send_from_directory_missing_file_raises_not_found(app: Microframe) -> None:
    async with app.test_request_context("/"):
        with pytest.raises(NotFound) as raised:
            await send_from_directory(STATIC, "no-such-file.txt")
    assert raised.value.code == 404

    @app.get("/files/<path:name>")
    async def files(name: str) -> Any:
        return await send_from_directory(STATIC, name)

    response = await app.test_client().get("/files/no-such-file.txt")
    assert response.status_code == 404


async def test_missing_file_is_an_error(app: Microframe) -> None:
    async with app.test_request_context("/"):
        with pytest.raises(FileNotFoundError):
            await send_file(STATIC / "missing.txt")


async def test_attachment_and_download_names(app: Microframe) -> None:
    async with app.test_request_context("/"):
        response = await send_file(STATIC / "index.html", as_attachment=True)
        assert response.headers["Content-Disposition"] == "attachment; filename=index.html"
        response = await send_file(STATIC / "index.html", download_name="my page.html")
        assert response.headers["Content-Disposition"] == 'inline; filename="my page.html"'
        response = await send_file(
            STATIC / "index.html", as_attachment=True, download_name="Ñandú résumé.txt"
        )
        assert response.mimetype == "text/plain"
        assert response.headers["Content-Disposition"] == (
            'attachment; filename="Nandu resume.txt";'
            " filename*=UTF-8''%C3%91and%C3%BA%20r%C3%A9sum%C3%A9.txt"
        )
        response = await send_file(STATIC / "index.html", download_name="日本語.txt")
        value = response.headers["Content-Disposition"]
        assert "filename*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E.txt" in value


def test_content_disposition_drops_line_breaks() -> None:
    assert content_disposition("a\r\nSet-Cookie: x.txt") == "inline; filename=\"aSet-Cookie: x.txt\""
    assert content_disposition("a\x00b\tc\x7f.txt", True) == "attachment; filename=abc.txt"


async def test_content_encoding_only_inline(app: Microframe, tmp_path: Path) -> None:
    archive = tmp_path / "data.tar.gz"
    archive.write_bytes(b"\x1f\x8b")
    async with app.test_request_context("/"):
        inline = await send_file(archive)
        attachment = await send_file(archive, as_attachment=True)
    assert inline.mimetype == "application/x-tar"
    assert inline.headers["Content-Encoding"] == "gzip"
    assert "Content-Encoding" not in attachment.headers


async def test_unknown_extension_is_octet_stream(app: Microframe, tmp_path: Path) -> None:
    target = tmp_path / "file.unknownext"
    target.write_bytes(b"?")
    async with app.test_request_context("/"):
        response = await send_file(target)
    assert response.mimetype == "application/octet-stream"


async def test_etag_options(app: Microframe) -> None:
    async with app.test_request_context("/"):
        response = await send_file(STATIC / "index.html", etag="custom")
        assert response.headers["ETag"] == '"custom"'
        response = await send_file(STATIC / "index.html", etag=False)
        assert "ETag" not in response.headers
        response = await send_file(STATIC / "index.html", add_etags=False)
        assert "ETag" not in response.headers


async def test_last_modified_option(app: Microframe) -> None:
    async with app.test_request_context("/"):
        response = await send_file(STATIC / "index.html", last_modified=0)
    assert response.headers["Last-Modified"] == "Thu, 01 Jan 1970 00:00:00 GMT"


async def test_max_age(app: Microframe) -> None:
    async with app.test_request_context("/"):
        response = await send_file(STATIC / "index.html", max_age=60)
        assert response.cache_control.max_age == 60
        assert response.cache_control.public
        assert not response.cache_control.no_cache
        assert response.expires is not None
        assert abs(response.expires.timestamp() - (time.time() + 60)) < 5
        response = await send_file(STATIC / "index.html", cache_timeout=30)
        assert response.cache_control.max_age == 30
        response = await send_file(STATIC / "index.html", max_age=0)
        assert response.cache_control.max_age == 0
        assert response.cache_control.no_cache
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = timedelta(hours=1)
    async with app.test_request_context("/"):
        response = await send_file(STATIC / "index.html")
        assert response.cache_control.max_age == 3600
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 12
    response = await app.test_client().get("/static/index.html")
    assert response.cache_control.max_age == 12


@pytest.mark.parametrize("source", ["path", "bytesio"])
async def test_max_age_none_sends_no_max_age(app: Microframe, source: str) -> None:
    # Quart's and Flask's documentation: max_age=None leaves caching to the
    # app's SEND_FILE_MAX_AGE_DEFAULT, None by default: no max-age, no Expires.
    @app.get("/")
    async def index() -> Any:
        if source == "path":
            return await send_file(STATIC / "index.html", max_age=None)
        return await send_file(io.BytesIO(b"data"), mimetype="text/plain", max_age=None)

    response = await app.test_client().get("/")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.cache_control.max_age is None
    assert "Expires" not in response.headers


async def test_get_send_file_max_age_hook(tmp_path: Path) -> None:
    class App(Microframe):
        def get_send_file_max_age(self, filename: str | None) -> int | None:
            return 99 if filename and filename.endswith(".css") else None

    app = App(__name__)
    client = app.test_client()
    assert (await client.get("/static/style.css")).cache_control.max_age == 99
    assert (await client.get("/static/index.html")).cache_control.max_age is None


async def test_legacy_names(app: Microframe) -> None:
    async with app.test_request_context("/"):
        response = await send_file(
            io.BytesIO(b"x"), attachment_filename="old.txt", as_attachment=True
        )
        assert response.headers["Content-Disposition"] == "attachment; filename=old.txt"
        with pytest.raises(TypeError, match="unexpected"):
            await send_file(STATIC / "index.html", bogus=True)


async def test_x_sendfile(app: Microframe) -> None:
    app.config["USE_X_SENDFILE"] = True
    async with app.test_request_context("/"):
        response = await send_file(STATIC / "index.html")
    assert response.headers["X-Sendfile"] == str(STATIC / "index.html")
    assert response.headers["Content-Length"] == str(len(INDEX))
    assert await response.get_data() == b""


# -- conditional requests ----------------------------------------------------------


async def test_if_none_match(files_app: Microframe) -> None:
    client = files_app.test_client()
    first = await client.get("/file")
    etag = first.headers["ETag"]
    response = await client.get("/file", headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert await response.get_data() == b""
    assert response.headers["ETag"] == etag
    response = await client.get("/file", headers={"If-None-Match": '"other"'})
    assert response.status_code == 200


async def test_if_modified_since(files_app: Microframe) -> None:
    client = files_app.test_client()
    first = await client.get("/file")
    last_modified = first.headers["Last-Modified"]
    response = await client.get("/file", headers={"If-Modified-Since": last_modified})
    assert response.status_code == 304
    response = await client.get(
        "/file", headers={"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"}
    )
    assert response.status_code == 200
    assert await response.get_data() == INDEX


async def test_conditional_off(app: Microframe) -> None:
    @app.get("/")
    async def index() -> Any:
        return await send_file(STATIC / "index.html", conditional=False)

    client = app.test_client()
    etag = (await client.get("/")).headers["ETag"]
    response = await client.get("/", headers={"If-None-Match": etag, "Range": "bytes=0-1"})
    assert response.status_code == 200
    assert "Accept-Ranges" not in response.headers


@pytest.mark.parametrize(
    ("header", "status", "content", "content_range"),
    [
        ("bytes=0-3", 206, INDEX[0:4], f"bytes 0-3/{len(INDEX)}"),
        ("bytes=4-", 206, INDEX[4:], f"bytes 4-{len(INDEX) - 1}/{len(INDEX)}"),
        ("bytes=-5", 206, INDEX[-5:], f"bytes {len(INDEX) - 5}-{len(INDEX) - 1}/{len(INDEX)}"),
        ("bytes=3-1000", 206, INDEX[3:], f"bytes 3-{len(INDEX) - 1}/{len(INDEX)}"),
        ("bytes=-1000", 206, INDEX, f"bytes 0-{len(INDEX) - 1}/{len(INDEX)}"),
        ("bytes=0-0", 206, INDEX[:1], f"bytes 0-0/{len(INDEX)}"),
        ("bytes=1000-", 416, None, f"bytes */{len(INDEX)}"),
        ("bytes=0-1,3-4", 416, None, f"bytes */{len(INDEX)}"),
        ("bytes=5-2", 200, INDEX, None),
        ("bytes=abc", 200, INDEX, None),
        ("items=0-1", 200, INDEX, None),
    ],
)
async def test_ranges(
    files_app: Microframe, header: str, status: int, content: bytes | None, content_range: str | None
) -> None:
    client = files_app.test_client()
    for path in ("/file", "/sync-file", "/static/index.html"):
        response = await client.get(path, headers={"Range": header})
        assert response.status_code == status, path
        if content is not None:
            assert await response.get_data() == content
            assert response.headers["Content-Length"] == str(len(content))
        assert response.headers.get("Content-Range") == content_range


async def test_if_range(files_app: Microframe) -> None:
    client = files_app.test_client()
    etag = (await client.get("/file")).headers["ETag"]
    response = await client.get("/file", headers={"Range": "bytes=0-1", "If-Range": etag})
    assert response.status_code == 206
    response = await client.get("/file", headers={"Range": "bytes=0-1", "If-Range": '"stale"'})
    assert response.status_code == 200
    assert await response.get_data() == INDEX


async def test_head(files_app: Microframe) -> None:
    client = files_app.test_client()
    response = await client.head("/file")
    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(len(INDEX))
    assert await response.get_data() == b""
    response = await client.head("/file", headers={"Range": "bytes=0-3"})
    assert response.status_code == 206
    assert response.headers["Content-Length"] == "4"


async def test_large_file_is_streamed_in_chunks(app: Microframe, tmp_path: Path) -> None:
    size = 5 * 1024 * 1024
    target = tmp_path / "large.bin"
    with open(target, "wb") as out:
        for i in range(size // 4096):
            out.write(bytes([i % 256]) * 4096)

    @app.get("/large")
    async def large() -> Any:
        return await send_file(target)

    messages: list[dict[str, Any]] = []
    sent_request = False
    finished = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal sent_request
        if not sent_request:
            sent_request = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            finished.set()

    from werkzeug.datastructures import Headers

    scope = make_test_scope(
        "http", "/large", "GET", Headers({"Host": "localhost"}), b"", "http", "", "1.1", None
    )
    await app(scope, receive, send)  # type: ignore[arg-type]
    assert messages[0]["status"] == 200
    bodies = [m["body"] for m in messages[1:]]
    assert sum(len(b) for b in bodies) == size
    assert max(len(b) for b in bodies) <= FileBody.chunk_size
    assert len(bodies) >= size // FileBody.chunk_size
    with open(target, "rb") as expected:
        assert b"".join(bodies) == expected.read()


async def test_large_file_range(app: Microframe, tmp_path: Path) -> None:
    target = tmp_path / "large.bin"
    target.write_bytes(os.urandom(300_000))

    @app.get("/large")
    async def large() -> Any:
        return await send_file(target)

    response = await app.test_client().get("/large", headers={"Range": "bytes=100000-200009"})
    assert response.status_code == 206
    assert await response.get_data() == target.read_bytes()[100_000:200_010]


# -- send_from_directory ----------------------------------------------------------------


async def test_send_from_directory(files_app: Microframe) -> None:
    client = files_app.test_client()
    for prefix in ("/files", "/sync-files"):
        response = await client.get(f"{prefix}/sub/data.txt")
        assert response.status_code == 200
        assert await response.get_data() == b"nested data\n"
        assert response.mimetype == "text/plain"


@pytest.mark.parametrize(
    "path",
    [
        "/files/missing.txt",
        "/files/sub",
        "/files/sub/",
        "/files/../conftest.py",
        "/files/sub/../../conftest.py",
        "/files/%2e%2e/conftest.py",
        "/files/%2E%2E%2Fconftest.py",
        "/files/..%2fconftest.py",
        "/files/%252e%252e%252fconftest.py",
        "/files/..%5cconftest.py",
        "/files/..\\conftest.py",
        "/files/sub\\..\\..\\conftest.py",
        "/files//etc/passwd",
        "/files/%2fetc%2fpasswd",
        "/files/index.html%00",
        "/files/index.html%00.txt",
        "/files/" + "a" * 300,
        "/files/" + "a/" * 3000 + "b",
        "/static/../conftest.py",
        "/static/%2e%2e/conftest.py",
        "/static/..%5cconftest.py",
        "/static/index.html%00",
        "/static/" + "x" * 10_000,
        "/sync-files/../conftest.py",
        "/sync-files/%2e%2e%2fconftest.py",
        "/sync-files/index.html%00",
    ],
)
async def test_traversal_is_not_found(files_app: Microframe, path: str) -> None:
    files_app.config["PROPAGATE_EXCEPTIONS"] = False
    # "//" is merged by the router, with a redirect to the merged path.
    response = await files_app.test_client().get(path, follow_redirects=True)
    assert response.status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "../conftest.py",
        "/etc/passwd",
        "..\\conftest.py",
        "sub/../../conftest.py",
        "index.html\0",
        "x" * 100_000,
        "",
        ".",
        "sub",
        "missing",
        Path("..") / "conftest.py",
    ],
)
async def test_send_from_directory_unsafe(app: Microframe, path: Any) -> None:
    async with app.test_request_context("/"):
        with pytest.raises(NotFound):
            await send_from_directory(STATIC, path)


def test_send_from_directory_unsafe_sync(app: Microframe) -> None:
    with app.test_request_context("/"):
        with pytest.raises(NotFound):
            send_from_directory(STATIC, "../conftest.py")
        with pytest.raises(NotFound):
            send_from_directory(STATIC, "a\0b")
        response = send_from_directory(STATIC, "sub/data.txt", as_attachment=True)
        assert response.headers["Content-Disposition"] == "attachment; filename=data.txt"


# -- the static endpoint ---------------------------------------------------------------


async def test_static_endpoint(app: Microframe) -> None:
    client = app.test_client()
    response = await client.get("/static/index.html")
    assert response.status_code == 200
    assert await response.get_data() == INDEX
    response = await client.get("/static/sub/data.txt")
    assert await response.get_data() == b"nested data\n"
    async with app.test_request_context("/"):
        assert url_for("static", filename="index.html") == "/static/index.html"
        assert url_for("static", filename="sub/data.txt", _external=True) == (
            "http://localhost/static/sub/data.txt"
        )


async def test_static_endpoint_awaitable_from_async_code(app: Microframe) -> None:
    @app.get("/page")
    async def page() -> Any:
        return await app.send_static_file("style.css")

    response = await app.test_client().get("/page")
    assert await response.get_data() == (STATIC / "style.css").read_bytes()


async def test_static_url_path_and_folder() -> None:
    app = Microframe(__name__, static_url_path="/assets", static_folder="static/sub")
    client = app.test_client()
    response = await client.get("/assets/data.txt")
    assert await response.get_data() == b"nested data\n"
    assert (await client.get("/static/index.html")).status_code == 404
    async with app.test_request_context("/"):
        assert url_for("static", filename="data.txt") == "/assets/data.txt"


async def test_no_static_folder() -> None:
    app = Microframe(__name__, static_folder=None)
    assert "static" not in app.view_functions
    assert (await app.test_client().get("/static/index.html")).status_code == 404
    with pytest.raises(RuntimeError, match="static_folder"):
        app.send_static_file("index.html")


async def test_static_host() -> None:
    app = Microframe(__name__, host_matching=True, static_host="static.example")
    client = app.test_client()
    response = await client.get("/static/index.html", headers={"Host": "static.example"})
    assert response.status_code == 200
    assert await response.get_data() == INDEX
    response = await client.get("/static/index.html", headers={"Host": "other.example"})
    assert response.status_code == 404


async def test_blueprint_static(app: Microframe) -> None:
    blueprint = Blueprint("bp", __name__, static_folder="static/bp", url_prefix="/bp")
    app.register_blueprint(blueprint)
    client = app.test_client()
    # As in Flask, the URL path defaults to the folder's name under the prefix.
    response = await client.get("/bp/bp/bp.txt")
    assert response.status_code == 200
    assert await response.get_data() == b"blueprint file\n"
    assert (await client.get("/bp/bp/../index.html")).status_code == 404
    assert (await client.get("/bp/bp/%2e%2e/index.html")).status_code == 404
    async with app.test_request_context("/"):
        assert url_for("bp.static", filename="bp.txt") == "/bp/bp/bp.txt"


async def test_blueprint_static_url_path(app: Microframe) -> None:
    blueprint = Blueprint(
        "bp", __name__, static_folder="static/bp", static_url_path="/files", url_prefix="/bp"
    )
    app.register_blueprint(blueprint)
    response = await app.test_client().get("/bp/files/bp.txt")
    assert await response.get_data() == b"blueprint file\n"


async def test_static_conditional(app: Microframe) -> None:
    client = app.test_client()
    etag = (await client.get("/static/index.html")).headers["ETag"]
    response = await client.get("/static/index.html", headers={"If-None-Match": etag})
    assert response.status_code == 304
