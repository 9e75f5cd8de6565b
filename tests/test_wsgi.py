"""WSGI middleware around ``app.wsgi_app``, as Flask apps are deployed."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from live_server import LiveServer
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.middleware.proxy_fix import ProxyFix

from microframe import Microframe, request, stream_with_context
from microframe.wsgi import environ_from_scope, scope_fields

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


def _proxied_app() -> Microframe:
    app = Microframe(__name__)
    app.config["TESTING"] = True
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]

    @app.get("/who")
    def who() -> dict[str, Any]:
        return {
            "scheme": request.scheme,
            "host": request.host,
            "remote_addr": request.remote_addr,
            "url": request.url,
        }

    return app


def test_proxy_fix_sets_what_the_proxy_says() -> None:
    app = _proxied_app()
    response = app.test_client().get(
        "/who",
        headers={
            "X-Forwarded-For": "203.0.113.7",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "shop.example",
        },
    )
    assert response.status_code == 200
    assert response.json == {
        "scheme": "https",
        "host": "shop.example",
        "remote_addr": "203.0.113.7",
        "url": "https://shop.example/who",
    }
    # Without the proxy's headers the request is as the client made it.
    assert app.test_client().get("/who").json["scheme"] == "http"


async def test_proxy_fix_in_async_tests() -> None:
    app = _proxied_app()
    response = await app.test_client().get("/who", headers={"X-Forwarded-Proto": "https"})
    assert (await response.get_json())["scheme"] == "https"


class _Stamp:
    """Middleware that reads the body and adds a response header."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.seen: list[bytes] = []

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        self.seen.append(environ["wsgi.input"].read(length))

        def stamped(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(status, [*headers, ("X-Stamp", "wsgi")], exc_info)

        return self.app(environ, stamped)


def test_middleware_sees_the_body_and_so_does_the_view() -> None:
    app = Microframe(__name__)
    stamp = _Stamp(app.wsgi_app)
    app.wsgi_app = stamp  # type: ignore[method-assign]

    @app.post("/echo")
    async def echo() -> dict[str, Any]:
        return {"form": (await request.form).to_dict()}

    response = app.test_client().post("/echo", data={"name": "Ada"})
    assert response.status_code == 200
    assert response.headers["X-Stamp"] == "wsgi"
    assert response.json == {"form": {"name": "Ada"}}
    assert stamp.seen == [b"name=Ada"]


def test_a_streamed_response_passes_in_parts() -> None:
    app = Microframe(__name__)
    parts: list[bytes] = []

    def counting(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
        for chunk in app_wsgi(environ, start_response):
            parts.append(chunk)
            yield chunk

    app_wsgi = app.wsgi_app
    app.wsgi_app = counting  # type: ignore[method-assign]

    @app.get("/stream")
    def stream() -> Any:
        @stream_with_context
        def generate() -> Iterator[str]:
            for number in range(3):
                yield f"part {number};"

        return generate()

    response = app.test_client().get("/stream")
    assert response.text == "part 0;part 1;part 2;"
    assert parts == [b"part 0;", b"part 1;", b"part 2;"]


def test_dispatcher_middleware_mounts_a_wsgi_app_beside() -> None:
    app = Microframe(__name__)

    def legacy(environ: Environ, start_response: StartResponse) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [f"legacy {environ['SCRIPT_NAME']}{environ['PATH_INFO']}".encode()]

    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {"/legacy": legacy})  # type: ignore[method-assign]

    @app.get("/")
    def index() -> str:
        return "microframe"

    client = app.test_client()
    assert client.get("/").text == "microframe"
    assert client.get("/legacy/page").text == "legacy /legacy/page"
    assert client.get("/missing").status_code == 404


def test_errors_reach_the_test_client_through_the_middleware() -> None:
    app = _proxied_app()

    @app.get("/boom")
    def boom() -> str:
        raise LookupError("boom")

    with pytest.raises(LookupError, match="boom"):
        app.test_client().get("/boom")
    app.config.update(TESTING=False)
    response = app.test_client().get("/boom")
    assert response.status_code == 500


def test_wsgi_app_is_no_server_entry_point() -> None:
    app = Microframe(__name__)
    with pytest.raises(RuntimeError, match="ASGI server"):
        list(app.wsgi_app({"REQUEST_METHOD": "GET"}, lambda *args: None))


def test_environ_and_scope_translate_both_ways() -> None:
    scope = {
        "type": "http",
        "method": "POST",
        "scheme": "https",
        "path": "/root/caf\u00e9",
        "root_path": "/root",
        "query_string": b"a=1&b=%20",
        "http_version": "1.1",
        "headers": [(b"host", b"example.test"), (b"x-a", b"1"), (b"x-a", b"2"),
                    (b"content-type", b"text/plain")],
        "client": ("10.0.0.1", 5000),
        "server": ("example.test", 443),
    }
    environ = environ_from_scope(scope, None)
    assert environ["SCRIPT_NAME"] == "/root"
    assert environ["PATH_INFO"] == "/caf\u00e9".encode().decode("latin-1")
    assert environ["QUERY_STRING"] == "a=1&b=%20"
    assert environ["HTTP_X_A"] == "1,2"
    assert environ["CONTENT_TYPE"] == "text/plain"
    assert environ["REMOTE_ADDR"] == "10.0.0.1"
    back = scope_fields(environ)
    for key in ("method", "scheme", "path", "root_path", "query_string", "client", "server"):
        assert back[key] == scope[key], key
    assert (b"content-type", b"text/plain") in back["headers"]


SERVER_APP = textwrap.dedent(
    """
    from werkzeug.middleware.proxy_fix import ProxyFix
    from microframe import Microframe, request

    app = Microframe(__name__)
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)


    @app.get("/who")
    async def who():
        return {"scheme": request.scheme, "remote_addr": request.remote_addr}


    @app.post("/echo")
    def echo():
        return request.get_data()
    """
)


def test_wsgi_middleware_under_a_real_server(tmp_path: Path) -> None:
    (tmp_path / "wsgi_app.py").write_text(SERVER_APP)
    server = LiveServer("wsgi_app:app", [tmp_path], log=tmp_path / "server.log")
    try:
        server.wait_until_ready()
        response, body = server.request(
            "GET", "/who", headers={"X-Forwarded-For": "198.51.100.2", "X-Forwarded-Proto": "https"}
        )
        assert response.status == 200
        assert body == b'{"remote_addr":"198.51.100.2","scheme":"https"}\n'
        payload = b"x" * 100_000
        response, body = server.request("POST", "/echo", payload)
        assert response.status == 200
        assert body == payload
    finally:
        server.stop()
