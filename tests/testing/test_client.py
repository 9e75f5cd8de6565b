"""The test client's arguments: werkzeug's (Flask's) and Quart's, in sync and async tests."""

from __future__ import annotations

import contextvars
import importlib.metadata
import io
import threading
from io import StringIO
from typing import Any

import pytest
from werkzeug.test import EnvironBuilder as WerkzeugEnvironBuilder

from microframe import Microframe, g, redirect, request
from microframe.testing import EnvironBuilder, MicroframeClient

USER_AGENT = f"Werkzeug/{importlib.metadata.version('werkzeug')}"


@pytest.fixture
def app(app: Microframe) -> Microframe:
    @app.route("/info", methods=["GET", "POST", "PUT"])
    def info() -> Any:
        return {
            "url": request.url,
            "root": request.root_path,
            "method": request.method,
            "remote": request.remote_addr,
            "agent": request.user_agent.string,
            "type": request.content_type,
            "args": request.args.to_dict(flat=False),
            "form": request.form.to_dict(flat=False),
            "files": {key: f.filename for key, f in request.files.items()},
            "json": request.get_json(silent=True),
            "data": request.get_data(as_text=True) if not request.form else "",
        }

    @app.post("/see-other")
    def see_other() -> Any:
        return redirect("/info", 303)

    @app.post("/temporary")
    def temporary() -> Any:
        return redirect("/info", 307)

    @app.get("/to-sub")
    def to_sub() -> Any:
        return redirect("http://api.localhost/info")

    return app


def test_flask_client_defaults(app: Microframe) -> None:
    info = app.test_client().get("/info").json
    assert info["url"] == "http://localhost/info"
    assert info["remote"] == "127.0.0.1"
    assert info["agent"] == USER_AGENT


def test_environ_base_can_be_changed(app: Microframe) -> None:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "192.168.0.22"
    client.environ_base["HTTP_USER_AGENT"] = "Foo"
    info = client.get("/info").json
    assert (info["remote"], info["agent"]) == ("192.168.0.22", "Foo")
    info = client.get("/info", environ_base={"REMOTE_ADDR": "10.1.1.1"}).json
    assert (info["remote"], info["agent"]) == ("10.1.1.1", "Foo")


def test_positional_base_url_and_full_urls(app: Microframe) -> None:
    client = app.test_client()
    info = client.get("/info", "https://example.com:8443/app/").json
    assert (info["url"], info["root"]) == ("https://example.com:8443/app/info", "/app")
    info = client.post("http://domain.test/info?vodka=42", data={"gin": "43"}).json
    assert info["url"] == "http://domain.test/info?vodka=42"
    assert info["form"] == {"gin": ["43"]}
    assert client.get("/info", base_url="http://other.test").json["url"] == "http://other.test/info"


async def test_positional_base_url_in_async_tests(app: Microframe) -> None:
    response = await app.test_client().get("/info", "https://example.com/")
    assert (await response.get_json())["url"] == "https://example.com/info"


def test_environ_overrides(app: Microframe) -> None:
    client = app.test_client()
    info = client.get(
        "/info",
        environ_overrides={
            "wsgi.url_scheme": "https", "REMOTE_ADDR": "10.0.0.9", "HTTP_HOST": "over.test"
        },
    ).json
    assert (info["url"], info["remote"]) == ("https://over.test/info", "10.0.0.9")


def test_url_scheme(app: Microframe) -> None:
    app.config["SERVER_NAME"] = "example.com"
    client = app.test_client()
    assert client.get("/info", url_scheme="https").json["url"] == "https://example.com/info"


def test_bodies_as_werkzeug_takes_them(app: Microframe) -> None:
    client = app.test_client()
    info = client.post("/info", data="raw", content_type="text/plain").json
    assert (info["data"], info["type"]) == ("raw", "text/plain")
    info = client.post("/info", data=b'{"a": 1}', content_type="application/json").json
    assert info["json"] == {"a": 1}
    info = client.put("/info", data={"f": (io.BytesIO(b"x"), "x.txt"), "k": "v"}).json
    assert (info["files"], info["form"]) == ({"f": "x.txt"}, {"k": ["v"]})
    info = client.post("/info", data=io.BytesIO(b"from a file"), content_type="text/plain").json
    assert info["data"] == "from a file"
    info = client.post("/info", json=[1, "two"]).json
    assert (info["json"], info["type"]) == ([1, "two"], "application/json")


def test_query_string_forms(app: Microframe) -> None:
    client = app.test_client()
    args = client.get("/info", query_string={"page": None, "per": 2, "t": ["a", "b"]}).json["args"]
    assert args == {"per": ["2"], "t": ["a", "b"]}
    assert client.get("/info", query_string="a=%20b").json["args"] == {"a": [" b"]}
    assert client.get("/info", query_string=b"c=d").json["args"] == {"c": ["d"]}
    with pytest.raises(ValueError, match="Query string"):
        client.get("/info?x=1", query_string={"y": "2"})


async def test_quart_arguments_still_work(app: Microframe) -> None:
    client = app.test_client()
    response = await client.post(
        "/info", form={"a": "1"}, files={"f": (io.BytesIO(b"x"), "x.txt")}, scheme="https"
    )
    info = await response.get_json()
    assert (info["form"], info["files"]) == ({"a": ["1"]}, {"f": "x.txt"})
    assert info["url"] == "https://localhost/info"
    response = await client.get("/mount/info", root_path="/mount")
    assert (await response.get_json())["root"] == "/mount"
    response = await client.get("/info", scope_base={"client": ("198.51.100.7", 1)})
    assert (await response.get_json())["remote"] == "198.51.100.7"


def test_errors_stream_is_accepted(app: Microframe) -> None:
    stream = StringIO()
    assert app.test_client().get("/info", errors_stream=stream).status_code == 200


def test_open_a_builder_an_environ_or_a_request(app: Microframe) -> None:
    client = app.test_client()
    builder = EnvironBuilder(app, path="/info", method="PUT", json={"a": 1})
    info = client.open(builder).json
    assert (info["method"], info["json"], info["remote"]) == ("PUT", {"a": 1}, "127.0.0.1")
    environ = EnvironBuilder(app, "/info").get_environ()
    client.environ_base["REMOTE_ADDR"] = "127.0.0.2"
    assert client.open(environ).json["remote"] == "127.0.0.2"
    werkzeug_request = WerkzeugEnvironBuilder("/info", query_string="q=1").get_request()
    assert client.open(werkzeug_request).json["args"] == {"q": ["1"]}
    with pytest.raises(TypeError):
        client.open(builder, method="GET")


def test_redirects_as_werkzeug_follows_them(app: Microframe) -> None:
    client = app.test_client()
    info = client.post("/see-other", data="body", content_type="text/plain", follow_redirects=True).json
    assert (info["method"], info["data"], info["type"]) == ("GET", "", None)
    info = client.post("/temporary", data="body", content_type="text/plain", follow_redirects=True).json
    assert (info["method"], info["data"], info["type"]) == ("POST", "body", "text/plain")
    with pytest.raises(RuntimeError, match="subdomain redirects"):
        client.get("/to-sub", follow_redirects=True)
    allowed = MicroframeClient(app, allow_subdomain_redirects=True)
    assert allowed.get("/to-sub", follow_redirects=True).json["url"] == "http://api.localhost/info"


def test_with_client_keeps_the_last_request(app: Microframe) -> None:
    @app.get("/remember")
    def remember() -> str:
        g.seen = request.args["v"]
        return ""

    with app.test_client() as client:
        client.get("/remember?v=1")
        client.get("/remember", query_string={"v": "2"})
        assert g.seen == "2"
        assert request.url == "http://localhost/remember?v=2"


def test_requests_inside_a_pushed_context_run_sync_views_on_the_test_thread(
    app: Microframe,
) -> None:
    # Inside a context the test pushed, a plain def view runs on the test's
    # thread (it shares g with the test, as under Flask); an async def view
    # too (the loop runs here); outside one, a def view runs on a worker.
    seen: dict[str, int] = {}

    @app.get("/sync")
    def sync_view() -> str:
        seen["sync"] = threading.get_ident()
        return request.args.get("v", "")

    @app.get("/async")
    async def async_view() -> str:
        seen["async"] = threading.get_ident()
        return ""

    client = app.test_client()
    outcome: list[Any] = []

    def scenario() -> None:
        here = threading.get_ident()
        client.get("/sync")
        outcome.append(seen["sync"] != here)
        with app.test_request_context():
            client.get("/sync")
            outcome.append(seen["sync"] == here)
            client.get("/async")
            outcome.append(seen["async"] == here)
            # 'with client:' inside it: its signal receiver and the
            # preserved contexts must not wait for a thread that is done.
            with client:
                outcome.append(client.get("/sync?v=kept").text)
                outcome.append(request.args["v"])
        outcome.append("done")

    # On a thread of its own, so that a hang fails the test within 10 s.
    runner = threading.Thread(target=contextvars.copy_context().run, args=(scenario,), daemon=True)
    runner.start()
    runner.join(10)
    assert outcome == [True, True, True, "kept", "kept", "done"]


def test_client_constructor_takes_werkzeugs_and_quarts_order(app: Microframe) -> None:
    assert MicroframeClient(app, app.response_class, use_cookies=False).cookie_jar is None
    assert MicroframeClient(app, False).cookie_jar is None
    assert MicroframeClient(app).application is app


async def test_websocket_handshake_carries_cookies_and_environ(app: Microframe) -> None:
    from microframe import websocket

    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.accept()
        await websocket.send_json(
            {
                "cookie": websocket.cookies.get("token"),
                "agent": websocket.headers.get("User-Agent"),
                "scheme": websocket.scheme,
                "remote": websocket.remote_addr,
            }
        )

    client = app.test_client()
    client.set_cookie("token", "t1")
    async with client.websocket("/ws", scheme="wss") as connection:
        assert await connection.receive_json() == {
            "cookie": "t1", "agent": USER_AGENT, "scheme": "wss", "remote": "127.0.0.1"
        }


# -- server push (Quart's client.push_promises) ------------------------------------------


async def test_the_client_records_pushes_on_http_2() -> None:
    # The app's own request.send_push_promise reaches the client once the
    # ASGI layer sends http.response.push (tests/test_quart_parity.py); an
    # ASGI middleware that pushes shows the client side here.
    app = Microframe(__name__)

    @app.get("/")
    async def index() -> str:
        return "page"

    inner = app.asgi_app

    async def pushing(scope: Any, receive: Any, send: Any) -> None:
        if "http.response.push" in scope["extensions"]:
            await send(
                {"type": "http.response.push", "path": "/style.css", "headers": [(b"accept", b"text/css")]}
            )
        await inner(scope, receive, send)

    app.asgi_app = pushing  # type: ignore[method-assign]
    client = app.test_client()
    response = await client.get("/", http_version="2")
    assert await response.get_data() == b"page"
    assert [(path, dict(headers)) for path, headers in client.push_promises] == [
        ("/style.css", {"accept": "text/css"})
    ]
    # HTTP/1.1 offers no push: nothing more is recorded.
    await client.get("/")
    assert len(client.push_promises) == 1


async def test_a_large_file_upload_leaves_no_file_open() -> None:
    # werkzeug encodes a multipart body over 500 KB into a temporary file;
    # the client reads it and closes it (an unclosed file warns when freed).
    import gc
    import warnings

    app = Microframe(__name__)

    @app.post("/")
    async def upload() -> str:
        report = (await request.files)["report"]
        return f"{report.filename} {len(report.read())}"

    client = app.test_client()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        response = await client.post(
            "/", data={"report": (io.BytesIO(b"x" * 600_000), "report.bin")}
        )
        assert await response.get_data() == b"report.bin 600000"
        del response
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []
