"""End to end: a real server in a subprocess, real HTTP requests.

Hypercorn (what ``microframe run`` uses) runs every test; the request and
response tests also run under Uvicorn and Granian, the fast servers the
deployment guide recommends, skipped when they are not installed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import signal
import socket
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from live_server import LiveServer, read_until, status_of

APP_SOURCE = textwrap.dedent(
    """
    import asyncio
    import datetime
    import decimal
    import hashlib
    import resource

    from microframe import Microframe, abort, jsonify, redirect, request, session, url_for

    app = Microframe(__name__)
    app.config.update(
        SECRET_KEY="new key",
        SECRET_KEY_FALLBACKS=["old key"],
        MAX_FORM_PARTS=50,
        MAX_CONTENT_LENGTH=32 * 2**20,
    )


    @app.get("/")
    async def index():
        return "hello from hypercorn"


    @app.post("/form")
    async def form():
        data = await request.form
        return {"name": data["name"], "tags": data.getlist("tag")}


    @app.get("/stream")
    async def stream():
        async def gen():
            for i in range(3):
                yield f"part{i}\\n"

        return gen(), {"Content-Type": "text/plain"}


    @app.get("/sync")
    def sync_view():
        return {"q": request.args.get("q")}


    @app.post("/sync-body")
    def sync_body():
        # Flask-style: the body read in sync code (taken before it runs when
        # the server holds it, else through the loop).
        return {"json": request.get_json(silent=True), "form": request.form.to_dict()}


    @app.post("/fields")
    async def fields():
        return (await request.form).to_dict(flat=False)


    @app.route("/session", methods=["GET", "POST"])
    async def session_view():
        if request.method == "POST":
            session["user"] = (await request.form)["user"]
            session["pair"] = (1, "two")
        return repr([session.get("user"), session.get("pair")])


    @app.get("/where")
    async def where():
        return request.host + request.full_path


    @app.get("/go")
    async def go():
        return redirect(request.args["to"])


    @app.post("/upload")
    async def upload():
        # ru_maxrss is the process's peak RSS in KiB: it rises by the size
        # of the body if the body is ever held whole in memory.
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        files = await request.files
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        stored = files["blob"]
        return {
            "title": (await request.form)["title"],
            "on_disk": stored.stream._rolled,
            "sha256": hashlib.sha256(stored.read()).hexdigest(),
            "peak_growth_mib": (after - before) / 1024,
        }


    @app.get("/home")
    async def home():
        return redirect(url_for("index", _external=request.args.get("external") == "1"))


    @app.post("/echo")
    async def echo():
        data = await request.get_json()
        return jsonify(data=data, when=datetime.date(2024, 5, 17), price=decimal.Decimal("1.10"))

    # Answers that leave the body unread, and what teardown saw of them.
    torn_down = []

    @app.teardown_request
    def note_teardown(exc):
        if request.path.startswith("/refuse"):
            torn_down.append(request.path)

    @app.post("/refuse-sync")
    def refuse_sync():
        abort(401)

    @app.post("/refuse-async")
    async def refuse_async():
        await asyncio.sleep(0.05)
        abort(401)

    @app.post("/refuse-read")
    def refuse_read():
        return {"size": len(request.get_data())}  # 413 past MAX_CONTENT_LENGTH

    @app.get("/torn-down")
    async def torn_down_list():
        return {"paths": torn_down}

    @app.get("/endless")
    async def endless():
        async def gen():
            while True:  # never awaits
                yield "x" * 1000
        return gen(), {"Content-Type": "text/plain"}
    """
)

SERVERS = {
    "hypercorn": None,  # LiveServer's default command
    "uvicorn": ["-m", "uvicorn", "e2e_app:app", "--host", "127.0.0.1", "--port", "{port}"],
    "granian": [
        "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", "{port}",
        "e2e_app:app",
    ],
}  # fmt: skip


class Server(LiveServer):
    """A server process (Hypercorn by default) serving the app module written
    into ``directory``."""

    def __init__(self, directory: Path, server: str = "hypercorn") -> None:
        self.kind = server
        (directory / "e2e_app.py").write_text(APP_SOURCE)
        super().__init__(
            "e2e_app:app",
            [directory],
            log=directory / "server.log",
            command=SERVERS[server],
            cwd=directory,
        )


@pytest.fixture(scope="module", params=list(SERVERS))
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if importlib.util.find_spec(request.param) is None:
        pytest.skip(f"{request.param} is not installed")
    running = Server(tmp_path_factory.mktemp("e2e_app"), request.param)
    try:
        running.wait_until_ready()
        yield running
    finally:
        running.stop()


def test_get(server: Server) -> None:
    response, body = server.request("GET", "/")
    assert response.status == 200
    assert response.getheader("Content-Type") == "text/html; charset=utf-8"
    assert response.getheader("Content-Length") == str(len(body))
    assert body == b"hello from hypercorn"


def test_post_form(server: Server) -> None:
    form = urlencode([("name", "Ada Lovelace"), ("tag", "a"), ("tag", "b")]).encode()
    response, body = server.request(
        "POST", "/form", form, {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status == 200
    assert response.getheader("Content-Type") == "application/json"
    assert body == b'{"name":"Ada Lovelace","tags":["a","b"]}\n'


def test_bad_form_is_400(server: Server) -> None:
    response, _ = server.request(
        "POST", "/form", b"--x\r\ngarbage", {"Content-Type": "multipart/form-data; boundary=x"}
    )
    assert response.status == 400


def test_large_upload_is_spooled_to_disk(server: Server) -> None:
    if server.kind != "hypercorn":
        pytest.skip("the other servers may buffer the body themselves")
    content = os.urandom(20 * 2**20)
    result = _upload(server, "big", content, timeout=60)
    assert result["title"] == "big" and result["on_disk"] is True
    assert result["sha256"] == hashlib.sha256(content).hexdigest()
    assert result["peak_growth_mib"] < 8


def test_small_upload(server: Server) -> None:
    # Within SPOOL_MAX_SIZE the body is read whole before parsing (Granian
    # hands every body over only when asked): the same fields and file.
    content = os.urandom(200 * 1024)
    result = _upload(server, "small", content, timeout=30)
    assert result["title"] == "small" and result["on_disk"] is False
    assert result["sha256"] == hashlib.sha256(content).hexdigest()


def _upload(server: Server, title: str, content: bytes, timeout: float) -> Any:
    # POST a multipart form with a title field and a file to /upload.
    body = (
        b'--b\r\nContent-Disposition: form-data; name="title"\r\n\r\n'
        + title.encode()
        + b'\r\n--b\r\nContent-Disposition: form-data; name="blob"; filename="f.bin"\r\n\r\n'
        + content
        + b"\r\n--b--\r\n"
    )
    response, answer = server.request(
        "POST", "/upload", body, {"Content-Type": "multipart/form-data; boundary=b"}, timeout=timeout
    )
    assert response.status == 200, server.output()
    return json.loads(answer)


def test_too_large_upload_is_413(server: Server) -> None:
    # The declared length is over MAX_CONTENT_LENGTH: refused before the body.
    head = (
        "POST /upload HTTP/1.1\r\nHost: localhost\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\n"
        f"Content-Length: {33 * 2**20}\r\n\r\n"
    )
    answer = server.raw(head.encode() + b"--b\r\n", timeout=5)
    assert answer.startswith(b"HTTP/1.1 413 ")


def _post_unread(server: Server, path: str, declared: int, sent: int) -> bytes:
    # A client that sends its body while the server answers without
    # reading it (as curl --data-binary does); returns what it received.
    head = f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {declared}\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sender = threading.Thread(target=_send_quietly, args=(sock, head.encode() + b"x" * sent))
        sender.start()
        answer = read_until(sock, b"\r\n\r\n")
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:  # already closed by the server
            pass
        sender.join(10)
    return answer


def _send_quietly(sock: socket.socket, data: bytes) -> None:
    try:
        sock.sendall(data)
    except OSError:  # the server closed the connection mid-body: expected
        pass


@pytest.mark.parametrize(
    ("path", "declared", "status"),
    [
        ("/refuse-sync", 2_000_000, 401),
        ("/refuse-async", 2_000_000, 401),
        ("/refuse-read", 40 * 2**20, 413),  # declared over MAX_CONTENT_LENGTH
    ],
)
def test_an_answer_that_leaves_the_body_unread_ends_the_request(
    server: Server, path: str, declared: int, status: int
) -> None:
    # Hypercorn holds at most ten unread body messages for the app; the end
    # of the response must not wait on them (it did: no teardown, the
    # connection held until the server stopped).
    before = _torn_down(server)
    answer = _post_unread(server, path, declared, sent=2_000_000)
    assert status_of(answer) == status, answer[:200]
    deadline = time.monotonic() + 10
    while len(_torn_down(server)) == len(before) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _torn_down(server) == [*before, path]
    assert server.request("GET", "/")[0].status == 200


def _torn_down(server: Server) -> list[str]:
    paths: list[str] = json.loads(server.request("GET", "/torn-down")[1])["paths"]
    return paths


def test_a_stream_that_never_waits_stops_when_the_client_goes(server: Server) -> None:
    # An async generator without an await: the client reads a little and
    # goes; the stream must stop and other requests be answered meanwhile.
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET /endless HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    started = time.monotonic()
    for _ in range(3):
        assert server.request("GET", "/", timeout=10)[0].status == 200
    assert time.monotonic() - started < 5
    time.sleep(0.5)
    lines = server.output().count("socket.send() raised exception")
    time.sleep(1)
    assert server.output().count("socket.send() raised exception") == lines  # it stopped


def test_not_found(server: Server) -> None:
    response, body = server.request("GET", "/missing")
    assert response.status == 404
    assert b"Not Found" in body


def test_streamed_response(server: Server) -> None:
    response, body = server.request("GET", "/stream")
    assert response.status == 200
    assert response.getheader("Transfer-Encoding") == "chunked"
    assert response.getheader("Content-Length") is None
    assert body == b"part0\npart1\npart2\n"


def test_head(server: Server) -> None:
    response, body = server.request("HEAD", "/")
    assert response.status == 200
    assert response.getheader("Content-Length") == "20"
    assert body == b""


def test_sync_view(server: Server) -> None:
    response, body = server.request("GET", "/sync?q=thread")
    assert response.status == 200
    assert body == b'{"q":"thread"}\n'


def test_sync_view_reads_the_body(server: Server) -> None:
    response, body = server.request(
        "POST", "/sync-body", b'{"a": [1, 2]}', {"Content-Type": "application/json"}
    )
    assert (response.status, body) == (200, b'{"form":{},"json":{"a":[1,2]}}\n')
    form = b"name=Ada&tag=x"
    response, body = server.request(
        "POST", "/sync-body", form, {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert (response.status, body) == (200, b'{"form":{"name":"Ada","tag":"x"},"json":null}\n')


def test_sigterm_stops_the_server(tmp_path: Path) -> None:
    running = Server(tmp_path)
    try:
        running.wait_until_ready()
        response, _ = running.request("GET", "/")
        assert response.status == 200
        code = running.terminate()
        assert running.process.poll() is not None
        assert code in (0, -signal.SIGTERM)
    finally:
        running.stop()


# -- sessions, forms, redirects and JSON through the server ---------------------------------


def _flask_serializer(secret_key: str, fallbacks: list[str] | None = None) -> Any:
    """The serializer real Flask signs its session cookies with."""
    flask = pytest.importorskip("flask")
    flask_app = flask.Flask(__name__)
    flask_app.config.update(SECRET_KEY=secret_key, SECRET_KEY_FALLBACKS=fallbacks or [])
    return flask.sessions.SecureCookieSessionInterface().get_signing_serializer(flask_app)


@pytest.mark.parametrize("user", ["ada", "a" * 200])  # the second one is compressed
def test_session_cookie_is_flasks(server: Server, user: str) -> None:
    response, body = server.request(
        "POST", "/session", urlencode({"user": user}).encode(),
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert (response.status, body) == (200, repr([user, (1, "two")]).encode())
    cookie = response.getheader("Set-Cookie")
    assert cookie is not None and cookie.startswith("session=")
    assert "HttpOnly" in cookie and "Path=/" in cookie
    assert response.getheader("Vary") == "Cookie"
    value = cookie.partition(";")[0].partition("=")[2]
    # Real Flask reads it, with the new key or keeping it as a fallback.
    assert _flask_serializer("new key").loads(value) == {"user": user, "pair": (1, "two")}
    assert _flask_serializer("newer key", ["new key"]).loads(value)["user"] == user
    # And the server reads it back.
    _, body = server.request("GET", "/session", headers={"Cookie": f"session={value}"})
    assert body == repr([user, (1, "two")]).encode()


@pytest.mark.parametrize(("key", "fallbacks", "read"), [
    ("new key", [], True),
    ("old key", [], True),  # a fallback key of the server
    ("other key", [], False),
])
def test_server_reads_flask_cookies(
    server: Server, key: str, fallbacks: list[str], read: bool
) -> None:
    value = _flask_serializer(key, fallbacks).dumps({"user": "grace", "pair": (3, "four")})
    response, body = server.request("GET", "/session", headers={"Cookie": f"session={value}"})
    assert response.status == 200
    assert body == (repr(["grace", (3, "four")]) if read else repr([None, None])).encode()


def test_tampered_session_cookie_is_an_empty_session(server: Server) -> None:
    value = _flask_serializer("new key").dumps({"user": "grace"})
    tampered = value[:-2] + ("AA" if not value.endswith("AA") else "BB")
    for cookie in (tampered, "garbage", "." * 50, value.split(".")[0]):
        response, body = server.request("GET", "/session", headers={"Cookie": f"session={cookie}"})
        assert (response.status, body) == (200, b"[None, None]")


def test_form_fields_decoded_as_werkzeug_does(server: Server) -> None:
    body = b"a=%C3%A9&b=c+d&%ff=x&&a=&e"
    response, answer = server.request(
        "POST", "/fields", body, {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status == 200
    assert json.loads(answer) == {"a": ["\u00e9", ""], "b": ["c d"], "\ufffd": ["x"], "e": [""]}


@pytest.mark.parametrize(("fields", "empty", "status"), [(50, 200, 200), (51, 0, 413)])
def test_form_parts_limit(server: Server, fields: int, empty: int, status: int) -> None:
    body = "&".join(f"f{i}=v" for i in range(fields)).encode() + b"&" * empty
    response, answer = server.request(
        "POST", "/fields", body, {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status == status
    if status == 200:
        assert len(json.loads(answer)) == fields
    else:
        assert b"MAX_FORM_PARTS" in answer


def test_redirect(server: Server) -> None:
    response, body = server.request("GET", "/go?" + urlencode({"to": "/ünï?x=1&y=<b>"}))
    assert response.status == 302
    assert response.getheader("Location") == "/%C3%BCn%C3%AF?x=1&y=%3Cb%3E"
    assert response.getheader("Content-Type") == "text/html; charset=utf-8"
    assert b'href="/\xc3\xbcn\xc3\xaf?x=1&amp;y=&lt;b&gt;"' in body


def test_redirect_to_built_url(server: Server) -> None:
    # The URL built is remembered: each Host must still get its own.
    for _ in range(2):
        for host in ("a.test", "b.test:8000"):
            response, _ = server.request("GET", "/home", headers={"Host": host})
            assert (response.status, response.getheader("Location")) == (302, "/")
            response, _ = server.request("GET", "/home?external=1", headers={"Host": host})
            assert (response.status, response.getheader("Location")) == (302, f"http://{host}/")


@pytest.mark.parametrize("target", ["/a\r\nSet-Cookie: x=1", "/a\rb", "/a\x00b", "http://[::1"])
def test_redirect_refuses_bad_targets(server: Server, target: str) -> None:
    response, body = server.request("GET", "/go?" + urlencode({"to": target}))
    assert response.status == 400
    assert response.getheader("Location") is None
    assert response.getheader("Set-Cookie") is None
    assert b"Traceback" not in body


def test_json_echo(server: Server) -> None:
    doc = {"message": "h\u00e9", "items": [1, 2.5, None, True]}
    response, body = server.request(
        "POST", "/echo", json.dumps(doc).encode(), {"Content-Type": "application/json"}
    )
    assert response.status == 200
    assert response.getheader("Content-Type") == "application/json"
    assert body == (
        b'{"data":{"items":[1,2.5,null,true],"message":"h\\u00e9"},'
        b'"price":"1.10","when":"Fri, 17 May 2024 00:00:00 GMT"}\n'
    )
    response, body = server.request("POST", "/echo", b"{bad", {"Content-Type": "application/json"})
    assert response.status == 400


def test_absolute_form_target(server: Server, request: pytest.FixtureRequest) -> None:
    # As a client talking to a proxy sends it. Hypercorn hands the target on,
    # and the target's host wins over the Host header (RFC 9112, section
    # 3.2.2); Uvicorn and Granian hand on only its path.
    raw = server.raw(
        b"GET http://example.com/where?q=1 HTTP/1.1\r\nHost: other.test\r\n"
        b"Connection: close\r\n\r\n"
    )
    assert status_of(raw) == 200, raw
    host = b"example.com" if "hypercorn" in request.node.callspec.id else b"other.test"
    assert raw.endswith(b"\r\n\r\n" + host + b"/where?q=1"), raw
