"""The test client, the test app and the request builders."""

from __future__ import annotations

import io
from typing import Any

import pytest
from werkzeug.test import ClientRedirectError

from microframe import Microframe, Response, redirect, request, url_for
from microframe.testing import (
    MicroframeClient,
    make_test_body_with_headers,
    make_test_headers_path_and_query_string,
    make_test_scope,
)


@pytest.fixture
def app() -> Microframe:
    app = Microframe(__name__)

    @app.route("/echo", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
    async def echo() -> Any:
        form = await request.form
        files = await request.files
        return {
            "method": request.method,
            "args": request.args.to_dict(flat=False),
            "x": request.headers.get("X-Test"),
            "data": (await request.get_data(as_text=True)) if not form else "",
            "json": await request.get_json(silent=True),
            "form": form.to_dict(flat=False),
            "files": {k: [f.filename, f.read().decode()] for k, f in files.items()},
            "auth": request.authorization.username if request.authorization else None,
        }

    @app.get("/text")
    async def text() -> str:
        return "hello text"

    @app.get("/set")
    async def set_cookie() -> Any:
        response = Response("set")
        response.set_cookie("flavour", request.args.get("v", "oat"))
        return response

    @app.get("/set-scoped")
    async def set_scoped() -> Any:
        response = Response("scoped")
        response.set_cookie("scoped", "yes", path="/echo")
        return response

    @app.get("/set-expired")
    async def set_expired() -> Any:
        response = Response("expired")
        response.set_cookie("flavour", "x", expires=0)
        return response

    @app.get("/drop")
    async def drop() -> Any:
        response = Response("dropped")
        response.delete_cookie("flavour")
        return response

    @app.get("/cookies")
    async def cookies() -> Any:
        return request.cookies.to_dict()

    @app.get("/hop/<int:n>")
    async def hop(n: int) -> Any:
        if n == 0:
            return "arrived"
        return redirect(url_for("hop", n=n - 1))

    @app.post("/form-then-redirect")
    async def form_then_redirect() -> Any:
        return redirect(url_for("echo"), 303)

    @app.post("/keep-method")
    async def keep_method() -> Any:
        return redirect(url_for("echo"), 307)

    @app.get("/loop")
    async def loop() -> Any:
        return redirect("/loop")

    @app.get("/away")
    async def away() -> Any:
        return redirect("https://elsewhere.example/path")

    return app


async def test_methods(app: Microframe) -> None:
    client = app.test_client()
    for call, method in [
        (client.get, "GET"),
        (client.post, "POST"),
        (client.put, "PUT"),
        (client.patch, "PATCH"),
        (client.delete, "DELETE"),
    ]:
        response = await call("/echo")
        assert response.status_code == 200
        assert (await response.get_json())["method"] == method
    response = await client.open("/echo", method="PATCH")
    assert (await response.get_json())["method"] == "PATCH"


async def test_head_and_options(app: Microframe) -> None:
    client = app.test_client()
    response = await client.head("/text")
    assert response.status_code == 200
    assert response.headers["Content-Length"] == "10"
    assert await response.get_data() == b""
    response = await client.options("/text")
    assert response.status_code == 200
    assert set(response.allow) >= {"GET", "HEAD", "OPTIONS"}


async def test_query_string_and_headers(app: Microframe) -> None:
    client = app.test_client()
    response = await client.get(
        "/echo", query_string={"a": ["1", "2"], "b": "c"}, headers={"X-Test": "yes"}
    )
    info = await response.get_json()
    assert info["args"] == {"a": ["1", "2"], "b": ["c"]}
    assert info["x"] == "yes"
    response = await client.get("/echo?z=9")
    assert (await response.get_json())["args"] == {"z": ["9"]}
    response = await client.get("/echo", query_string="q=%20x")
    assert (await response.get_json())["args"] == {"q": [" x"]}
    with pytest.raises(ValueError, match="Query string"):
        await client.get("/echo?z=9", query_string={"a": "1"})


async def test_bodies(app: Microframe) -> None:
    client = app.test_client()
    info = await (await client.post("/echo", data="raw text")).get_json()
    assert info["data"] == "raw text"
    info = await (await client.post("/echo", json={"k": [1, 2]})).get_json()
    assert info["json"] == {"k": [1, 2]}
    info = await (await client.post("/echo", form={"a": ["1", "2"], "b": "3"})).get_json()
    assert info["form"] == {"a": ["1", "2"], "b": ["3"]}
    info = await (await client.post("/echo", data={"a": "dict as form"})).get_json()
    assert info["form"] == {"a": ["dict as form"]}
    with pytest.raises(TypeError):
        await client.post("/echo", data="x", json={"a": 1})
    with pytest.raises(TypeError):
        await client.post("/echo", data="x", form={"a": "1"})


async def test_files(app: Microframe) -> None:
    client = app.test_client()
    response = await client.post(
        "/echo",
        form={"name": "n"},
        files={"f": (io.BytesIO(b"..."), "a.txt"), "g": (io.BytesIO(b"gg"), "g.csv", "text/csv")},
    )
    assert response.status_code == 200
    info = await response.get_json()
    assert info["files"] == {"f": ["a.txt", "..."], "g": ["g.csv", "gg"]}
    assert info["form"] == {"name": ["n"]}


async def test_basic_auth(app: Microframe) -> None:
    response = await app.test_client().get("/echo", auth=("ada", "secret"))
    assert (await response.get_json())["auth"] == "ada"


async def test_follow_redirects_keeps_history(app: Microframe) -> None:
    client = app.test_client()
    response = await client.get("/hop/2")
    assert response.status_code == 302
    assert response.headers["Location"] == "/hop/1"

    response = await client.get("/hop/2", follow_redirects=True)
    assert response.status_code == 200
    assert await response.get_data() == b"arrived"
    assert [r.status_code for r in response.history] == [302, 302]
    assert [r.headers["Location"] for r in response.history] == ["/hop/1", "/hop/0"]


async def test_redirect_method_rules(app: Microframe) -> None:
    client = app.test_client()
    response = await client.post("/form-then-redirect", form={"a": "1"}, follow_redirects=True)
    info = await response.get_json()
    assert info["method"] == "GET"
    assert info["form"] == {}
    response = await client.post("/keep-method", json={"a": 1}, follow_redirects=True)
    info = await response.get_json()
    assert info["method"] == "POST"
    assert info["json"] == {"a": 1}


async def test_redirect_loop_and_external_redirect(app: Microframe) -> None:
    client = app.test_client()
    with pytest.raises(ClientRedirectError, match="Loop detected"):
        await client.get("/loop", follow_redirects=True)
    with pytest.raises(RuntimeError, match="external redirects"):
        await client.get("/away", follow_redirects=True)
    response = await client.get("/away")
    assert response.status_code == 302
    assert response.headers["Location"] == "https://elsewhere.example/path"


async def test_cookie_jar_round_trip(app: Microframe) -> None:
    client = app.test_client()
    response = await client.get("/set", query_string={"v": "rye"})
    assert response.status_code == 200
    assert client.get_cookie("flavour") is not None
    assert client.get_cookie("flavour").value == "rye"  # type: ignore[union-attr]
    assert await (await client.get("/cookies")).get_json() == {"flavour": "rye"}
    # A response deleting the cookie removes it from the jar.
    await client.get("/drop")
    assert client.get_cookie("flavour") is None
    assert await (await client.get("/cookies")).get_json() == {}


async def test_cookie_expired_by_response(app: Microframe) -> None:
    client = app.test_client()
    await client.get("/set")
    assert await (await client.get("/cookies")).get_json() == {"flavour": "oat"}
    await client.get("/set-expired")
    assert await (await client.get("/cookies")).get_json() == {}


async def test_cookie_path_is_respected(app: Microframe) -> None:
    client = app.test_client()
    await client.get("/set-scoped")
    assert await (await client.get("/cookies")).get_json() == {}
    response = await client.get("/echo", headers={"X-Test": "1"})
    assert response.status_code == 200
    assert client.get_cookie("scoped", path="/echo") is not None


async def test_set_cookie_flask_and_quart_orders(app: Microframe) -> None:
    client = app.test_client()
    client.set_cookie("flask_style", "one")
    client.set_cookie("localhost", "quart_style", "two")
    client.set_cookie(key="kw", value="three")
    assert await (await client.get("/cookies")).get_json() == {
        "flask_style": "one",
        "quart_style": "two",
        "kw": "three",
    }
    client.delete_cookie("flask_style")
    assert await (await client.get("/cookies")).get_json() == {
        "quart_style": "two",
        "kw": "three",
    }


async def test_cookie_for_another_domain_is_not_sent(app: Microframe) -> None:
    client = app.test_client()
    client.set_cookie("other", "x", domain="example.org")
    assert await (await client.get("/cookies")).get_json() == {}


async def test_client_without_cookies(app: Microframe) -> None:
    client = app.test_client(use_cookies=False)
    await client.get("/set")
    assert await (await client.get("/cookies")).get_json() == {}
    with pytest.raises(TypeError, match="Cookies are disabled"):
        client.set_cookie("a", "b")
    with pytest.raises(TypeError, match="Cookies are disabled"):
        client.get_cookie("flavour")


def test_sync_test_gets_a_finished_response(app: Microframe) -> None:
    client = app.test_client()
    response = client.get("/text")
    assert response.status_code == 200
    assert response.get_data() == b"hello text"
    assert response.get_data(as_text=True) == "hello text"
    assert client.post("/echo", json={"a": 1}).get_json()["json"] == {"a": 1}
    client.get("/set")
    assert client.get("/cookies").get_json() == {"flavour": "oat"}


async def test_client_async_with(app: Microframe) -> None:
    async with app.test_client() as client:
        assert isinstance(client, MicroframeClient)
        response = await client.get("/text")
        assert response.status_code == 200


async def test_test_app_runs_serving_hooks() -> None:
    app = Microframe(__name__)
    events: list[str] = []

    @app.before_serving
    async def start() -> None:
        events.append("start")
        app.extensions["resource"] = "ready"

    @app.after_serving
    async def stop() -> None:
        events.append("stop")

    @app.get("/")
    async def index() -> str:
        return str(app.extensions["resource"])

    async with app.test_app() as test_app:
        assert events == ["start"]
        client = test_app.test_client()
        response = await client.get("/")
        assert await response.get_data() == b"ready"
    assert events == ["start", "stop"]


async def test_test_app_propagates_startup_errors() -> None:
    app = Microframe(__name__)

    @app.before_serving
    async def start() -> None:
        raise ConnectionError("no database")

    with pytest.raises(ConnectionError, match="no database"):
        async with app.test_app():
            pass


async def test_test_app_class_is_replaceable() -> None:
    # Quart's test_app_class, as test_client_class: a subclass adds to it.
    from microframe.testing import TestApp

    class CountingTestApp(TestApp):
        started = 0

        async def startup(self) -> None:
            CountingTestApp.started += 1
            await super().startup()

    class CountingApp(Microframe):
        test_app_class = CountingTestApp

    app = CountingApp(__name__)
    async with app.test_app() as test_app:
        assert isinstance(test_app, CountingTestApp)
    assert CountingTestApp.started == 1
    assert type(Microframe(__name__).test_app()) is TestApp


def test_make_test_helpers(app: Microframe) -> None:
    headers, path, query = make_test_headers_path_and_query_string(
        app, "/p?a=1", {"X-A": "b"}
    )
    assert (path, query) == ("/p", b"a=1")
    assert headers["Host"] == "localhost"
    assert headers["X-A"] == "b"
    body, body_headers = make_test_body_with_headers(json={"a": 1})
    assert body == b'{"a": 1}'
    assert body_headers["Content-Type"] == "application/json"
    body, body_headers = make_test_body_with_headers(form={"a": "1 2"})
    assert body == b"a=1+2"
    assert body_headers["Content-Type"] == "application/x-www-form-urlencoded"
    scope = make_test_scope("http", "/p q", "GET", headers, b"", "http", "", "1.1", None)
    assert scope["type"] == "http"
    assert scope["path"] == "/p q"
    assert scope["raw_path"] == b"/p%20q"
    assert (b"x-a", b"b") in scope["headers"]


def test_test_request_context_builds_a_request(app: Microframe) -> None:
    with app.test_request_context(
        "/echo", method="POST", data={"f": (io.BytesIO(b"abc"), "a.txt"), "k": "v"}
    ):
        assert request.method == "POST"
        assert request.form.to_dict() == {"k": "v"}
        assert request.files["f"].filename == "a.txt"
        assert request.files["f"].read() == b"abc"


def test_test_request_context_base_url_and_url_scheme() -> None:
    from microframe import Microframe, request, url_for

    app = Microframe(__name__)

    @app.get("/page")
    async def page() -> str:
        return "page"

    with app.test_request_context("/page", base_url="https://example.com/prefix"):
        assert request.scheme == "https"
        assert request.host == "example.com"
        assert request.root_path == "/prefix"
        assert request.url == "https://example.com/prefix/page"
        assert url_for("page", _external=True) == "https://example.com/prefix/page"
    with app.test_request_context("/page", url_scheme="https"):
        assert request.url == "https://localhost/page"
