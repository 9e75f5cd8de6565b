"""Tests for microframe.middleware: ProxyFixMiddleware and X-Forwarded-*."""

from __future__ import annotations

from typing import Any

import pytest

from microframe import Microframe, request, url_for, websocket
from microframe.middleware.proxy_fix import ORIG_KEY, ProxyFixMiddleware


async def _noop_app(scope: Any, receive: Any, send: Any) -> None:
    """An ASGI app that does nothing; the tests look at fix_scope only."""


def _scope(headers: list[tuple[str, str]], **extra: Any) -> dict[str, Any]:
    scope: dict[str, Any] = {
        "type": "http",
        "scheme": "http",
        "path": "/page",
        "raw_path": b"/page",
        "root_path": "",
        "headers": [(b"host", b"internal:8000")]
        + [(name.lower().encode(), value.encode()) for name, value in headers],
        "client": ("10.0.0.2", 51000),
        "server": ("internal", 8000),
    }
    scope.update(extra)
    return scope


def _host(scope: dict[str, Any]) -> str:
    hosts = [value.decode() for name, value in scope["headers"] if name == b"host"]
    assert len(hosts) == 1
    return hosts[0]


# -- choosing the trusted value ---------------------------------------------------


def test_defaults_trust_one_x_forwarded_for_only() -> None:
    fix = ProxyFixMiddleware(_noop_app)
    scope = fix.fix_scope(
        _scope(
            [
                ("X-Forwarded-For", "203.0.113.7"),
                ("X-Forwarded-Proto", "https"),
                ("X-Forwarded-Host", "example.com"),
                ("X-Forwarded-Prefix", "/blog"),
            ]
        )
    )
    assert scope["client"] == ("203.0.113.7", 0)
    assert scope["scheme"] == "http"
    assert _host(scope) == "internal:8000"
    assert scope["root_path"] == ""


def test_uses_right_most_value_for_one_proxy() -> None:
    # The client sent "1.1.1.1" itself; the proxy appended the address it saw.
    fix = ProxyFixMiddleware(_noop_app, x_for=1)
    scope = fix.fix_scope(_scope([("X-Forwarded-For", "1.1.1.1, 203.0.113.7")]))
    assert scope["client"] == ("203.0.113.7", 0)


def test_counts_hops_from_the_right() -> None:
    fix = ProxyFixMiddleware(_noop_app, x_for=2)
    scope = fix.fix_scope(
        _scope([("X-Forwarded-For", "6.6.6.6, 203.0.113.7, 10.0.0.1")])
    )
    assert scope["client"] == ("203.0.113.7", 0)


def test_fewer_values_than_hops_are_ignored() -> None:
    fix = ProxyFixMiddleware(_noop_app, x_for=2, x_proto=2)
    original = _scope([("X-Forwarded-For", "203.0.113.7"), ("X-Forwarded-Proto", "https")])
    scope = fix.fix_scope(original)
    assert scope["client"] == ("10.0.0.2", 51000)
    assert scope["scheme"] == "http"


def test_repeated_headers_are_joined_in_order() -> None:
    fix = ProxyFixMiddleware(_noop_app, x_for=2)
    scope = fix.fix_scope(
        _scope([("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-For", "203.0.113.7, 10.0.0.1")])
    )
    assert scope["client"] == ("203.0.113.7", 0)


def test_zero_disables_a_header() -> None:
    fix = ProxyFixMiddleware(_noop_app, x_for=0)
    scope = fix.fix_scope(_scope([("X-Forwarded-For", "203.0.113.7")]))
    assert scope["client"] == ("10.0.0.2", 51000)


@pytest.mark.parametrize("value", [-1, 1.5, "1", True])
def test_rejects_bad_counts(value: Any) -> None:
    with pytest.raises(ValueError, match="x_for must be a number of proxies"):
        ProxyFixMiddleware(_noop_app, x_for=value)


def test_empty_values_are_ignored() -> None:
    fix = ProxyFixMiddleware(_noop_app, x_for=1, x_proto=1)
    scope = fix.fix_scope(_scope([("X-Forwarded-For", "1.1.1.1, "), ("X-Forwarded-Proto", "")]))
    assert scope["client"] == ("10.0.0.2", 51000)
    assert scope["scheme"] == "http"


def test_ipv6_brackets_are_removed() -> None:
    fix = ProxyFixMiddleware(_noop_app)
    scope = fix.fix_scope(_scope([("X-Forwarded-For", "[2001:db8::1]")]))
    assert scope["client"] == ("2001:db8::1", 0)


# -- each header -------------------------------------------------------------------


def test_proto_accepts_only_known_schemes() -> None:
    fix = ProxyFixMiddleware(_noop_app, x_proto=1)
    assert fix.fix_scope(_scope([("X-Forwarded-Proto", "HTTPS")]))["scheme"] == "https"
    assert fix.fix_scope(_scope([("X-Forwarded-Proto", "javascript")]))["scheme"] == "http"


def test_proto_of_a_websocket_is_ws_or_wss() -> None:
    fix = ProxyFixMiddleware(_noop_app, x_proto=1)
    scope = fix.fix_scope(_scope([("X-Forwarded-Proto", "https")], type="websocket", scheme="ws"))
    assert scope["scheme"] == "wss"


def test_host_rewrites_host_header_and_server() -> None:
    fix = ProxyFixMiddleware(_noop_app, x_proto=1, x_host=1)
    scope = fix.fix_scope(
        _scope([("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "example.com")])
    )
    assert _host(scope) == "example.com"
    assert scope["server"] == ("example.com", 443)


def test_host_keeps_its_port() -> None:
    fix = ProxyFixMiddleware(_noop_app, x_host=1)
    scope = fix.fix_scope(_scope([("X-Forwarded-Host", "example.com:8443")]))
    assert _host(scope) == "example.com:8443"
    assert scope["server"] == ("example.com", 8443)


def test_invalid_host_is_ignored() -> None:
    fix = ProxyFixMiddleware(_noop_app, x_host=1)
    scope = fix.fix_scope(_scope([("X-Forwarded-Host", "evil.com/path")]))
    assert _host(scope) == "internal:8000"


def test_port_replaces_the_port_of_the_host() -> None:
    fix = ProxyFixMiddleware(_noop_app, x_host=1, x_port=1)
    scope = fix.fix_scope(
        _scope([("X-Forwarded-Host", "example.com:1"), ("X-Forwarded-Port", "8080")])
    )
    assert _host(scope) == "example.com:8080"
    assert scope["server"] == ("example.com", 8080)


def test_port_alone_rewrites_the_original_host() -> None:
    fix = ProxyFixMiddleware(_noop_app, x_port=1)
    scope = fix.fix_scope(_scope([("X-Forwarded-Port", "80")]))
    assert _host(scope) == "internal"
    assert scope["server"] == ("internal", 80)


def test_invalid_port_is_ignored() -> None:
    fix = ProxyFixMiddleware(_noop_app, x_port=1)
    for value in ("http", "0", "70000", "-1"):
        assert _host(fix.fix_scope(_scope([("X-Forwarded-Port", value)]))) == "internal:8000"


def test_prefix_sets_root_path_and_path() -> None:
    fix = ProxyFixMiddleware(_noop_app, x_prefix=1)
    scope = fix.fix_scope(_scope([("X-Forwarded-Prefix", "/blog/")]))
    assert scope["root_path"] == "/blog"
    assert scope["path"] == "/blog/page"
    assert scope["raw_path"] == b"/blog/page"


def test_originals_are_kept_and_input_untouched() -> None:
    fix = ProxyFixMiddleware(_noop_app, x_for=1, x_host=1)
    original = _scope([("X-Forwarded-For", "203.0.113.7"), ("X-Forwarded-Host", "example.com")])
    scope = fix.fix_scope(original)
    assert scope[ORIG_KEY]["client"] == ("10.0.0.2", 51000)
    assert scope[ORIG_KEY]["host"] == "internal:8000"
    assert original["client"] == ("10.0.0.2", 51000)
    assert ORIG_KEY not in original


async def test_lifespan_passes_through() -> None:
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope)

    scope = {"type": "lifespan"}
    await ProxyFixMiddleware(app)(scope, None, None)  # type: ignore[arg-type]
    assert seen == [scope]


# -- through an app ----------------------------------------------------------------


@pytest.fixture
def proxied_app(app: Microframe) -> Microframe:
    @app.get("/where")
    async def where() -> dict[str, Any]:
        return {
            "remote_addr": request.remote_addr,
            "scheme": request.scheme,
            "is_secure": request.is_secure,
            "host": request.host,
            "url": url_for("where", _external=True),
        }

    @app.get("/go")
    async def go() -> Any:
        from microframe import redirect

        return redirect(url_for("where"))

    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.send(f"{websocket.scheme} {websocket.host}")

    app.asgi_app = ProxyFixMiddleware(  # type: ignore[method-assign]
        app.asgi_app, x_for=1, x_proto=1, x_host=1, x_port=0, x_prefix=1
    )
    return app


async def test_request_sees_the_client_view(proxied_app: Microframe) -> None:
    response = await proxied_app.test_client().get(
        "/where",
        headers={
            "X-Forwarded-For": "spoofed, 203.0.113.7",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "blog.example.com",
            "X-Forwarded-Prefix": "/blog",
        },
    )
    assert response.status_code == 200
    assert await response.get_json() == {
        "remote_addr": "203.0.113.7",
        "scheme": "https",
        "is_secure": True,
        "host": "blog.example.com",
        "url": "https://blog.example.com/blog/where",
    }


async def test_redirects_stay_below_the_prefix(proxied_app: Microframe) -> None:
    response = await proxied_app.test_client().get(
        "/go", headers={"X-Forwarded-Prefix": "/blog"}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/blog/where")


async def test_without_headers_nothing_changes(proxied_app: Microframe) -> None:
    response = await proxied_app.test_client().get("/where")
    data = await response.get_json()
    assert data["scheme"] == "http"
    assert data["host"] == "localhost"
    assert data["url"] == "http://localhost/where"


async def test_websocket_scheme_and_host(proxied_app: Microframe) -> None:
    client = proxied_app.test_client()
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "chat.example.com"}
    async with client.websocket("/ws", headers=headers) as ws:
        assert await ws.receive() == "wss chat.example.com"
