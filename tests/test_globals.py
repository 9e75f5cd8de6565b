"""The context globals: what they give inside contexts and the errors outside."""

from __future__ import annotations

from typing import Any

import pytest

from microframe import Microframe, current_app, g, request, session
from microframe.globals import app_ctx, request_ctx


@pytest.fixture
def app() -> Microframe:
    app = Microframe(__name__)
    app.config["SECRET_KEY"] = "test secret"
    return app


def test_current_app_outside_context_raises() -> None:
    with pytest.raises(RuntimeError, match="Working outside of application context"):
        current_app.name  # noqa: B018
    with pytest.raises(RuntimeError, match=r"app\.app_context\(\)"):
        g.x = 1
    with pytest.raises(RuntimeError, match="Working outside of application context"):
        app_ctx.g  # noqa: B018


def test_request_outside_context_raises(app: Microframe) -> None:
    with pytest.raises(RuntimeError, match="Working outside of request context"):
        request.path  # noqa: B018
    with pytest.raises(RuntimeError, match="Working outside of request context"):
        request_ctx.request  # noqa: B018
    with pytest.raises(RuntimeError, match="outside of request or websocket context"):
        session.get("x")
    # An app context alone does not give a request.
    with app.app_context(), pytest.raises(RuntimeError, match="outside of request context"):
        request.args  # noqa: B018


def test_globals_inside_contexts(app: Microframe) -> None:
    with app.app_context():
        assert current_app.name == app.name
        assert current_app._get_current_object() is app  # type: ignore[attr-defined]
        g.value = 42
        assert g.value == 42
        assert app_ctx.g is g._get_current_object()
    with app.test_request_context("/path?q=1"):
        assert current_app.name == app.name
        assert request.path == "/path"
        assert request.args["q"] == "1"
        assert request_ctx.request is request._get_current_object()  # type: ignore[attr-defined]
        session["user"] = "ada"
        assert session["user"] == "ada"


async def test_globals_in_a_request(app: Microframe) -> None:
    @app.get("/")
    async def index() -> Any:
        g.seen = request.args.get("who", "nobody")
        session["count"] = session.get("count", 0) + 1
        return {"app": current_app.name, "who": g.seen, "count": session["count"]}

    client = app.test_client()
    response = await client.get("/", query_string={"who": "ada"})
    assert response.status_code == 200
    assert await response.get_json() == {"app": app.name, "who": "ada", "count": 1}
    response = await client.get("/")
    assert await response.get_json() == {"app": app.name, "who": "nobody", "count": 2}


async def test_globals_in_a_sync_view(app: Microframe) -> None:
    @app.get("/")
    def index() -> Any:
        g.seen = request.args["who"]
        return {"app": current_app.name, "who": g.seen}

    response = await app.test_client().get("/?who=bob")
    assert await response.get_json() == {"app": app.name, "who": "bob"}


def test_g_is_per_app_context(app: Microframe) -> None:
    with app.app_context():
        g.x = 1
        with app.app_context():
            assert "x" not in g
            g.x = 2
        assert g.x == 1


def test_proxies_behave_like_the_objects_they_stand_for(app: Microframe) -> None:
    from werkzeug.local import LocalProxy

    from microframe.wrappers import Request

    # Unbound: werkzeug's messages and fallbacks.
    assert isinstance(request, LocalProxy)
    with pytest.raises(RuntimeError, match="Working outside of request context"):
        request.method  # noqa: B018
    with pytest.raises(RuntimeError, match="Working outside of application context"):
        g.anything = 1
    assert not request
    assert repr(request) == "<LocalProxy unbound>"

    with app.test_request_context("/where?x=1"):
        assert isinstance(request, Request)
        assert request.__class__ is Request
        assert request.path == "/where" and request.args["x"] == "1"
        assert request._get_current_object() is request_ctx.request
        g.value = 3
        assert g.value == 3 and "value" in g and g.get("value") == 3
        assert not hasattr(g, "missing")
        with pytest.raises(AttributeError):
            g.missing  # noqa: B018
        del g.value
        assert "value" not in g
        session["k"] = "v"
        assert session.get("k") == "v" and session.modified
        assert current_app.name == app.name
        assert str(request) == str(request._get_current_object())


def test_an_unbound_global_reads_as_an_unbound_proxy() -> None:
    assert repr(g) == "<LocalProxy unbound>"
    assert not g
    assert repr(request) == "<LocalProxy unbound>"
