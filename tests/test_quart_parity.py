"""Quart parity items whose code lives in the app core (issue 16).

Written from Quart's and Flask's documentation. Those that need the core
refactor (issue 15) are marked ``xfail(strict=True, reason="needs core: ...")``:
they fail today and start passing, failing the run, once core lands, when
the marks come off.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgi_driver import Req, run_asgi

from microframe import (
    Blueprint,
    Microframe,
    request,
    session,
    stream_template_string,
    url_for,
    websocket,
)
from microframe.sessions import SecureCookieSessionInterface
from microframe.testing import WebsocketResponseError


def needs_core(what: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=f"needs core: {what}")


@pytest.fixture
def app() -> Microframe:
    app = Microframe(__name__)
    app.secret_key = "test"
    return app


# -- the ASGI connection classes ------------------------------------------------------


def test_asgi_connection_classes_are_named_by_the_app(app: Microframe) -> None:
    from microframe import asgi

    assert app.asgi_http_class is asgi.ASGIHTTPConnection  # type: ignore[attr-defined]
    assert app.asgi_websocket_class is asgi.ASGIWebsocketConnection  # type: ignore[attr-defined]
    assert app.asgi_lifespan_class is asgi.ASGILifespan  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [("/prefix/page", 200, b"/prefix|/page"), ("/elsewhere/page", 404, None)],
    ids=["under-root-path", "outside-root-path"],
)
async def test_paths_are_served_below_root_path(
    app: Microframe, path: str, status: int, body: bytes | None
) -> None:
    @app.route("/page")
    async def page() -> str:
        return request.root_path + "|" + request.path

    result = await run_asgi(app, Req(path=path, root_path="/prefix"))
    assert result.status == status
    if body is not None:
        assert result.body == body


async def test_an_absolute_form_target_is_served(app: Microframe) -> None:
    @app.route("/path")
    async def path() -> str:
        return request.host + request.path

    result = await run_asgi(app, Req(path="http://example.com/path", raw_path=b"http://example.com/path"))
    assert result.status == 200
    assert result.body == b"example.com/path"


async def test_http_1_0_without_host_has_a_usable_host(app: Microframe) -> None:
    @app.route("/")
    async def index() -> str:
        return request.host

    result = await run_asgi(app, Req(host=None))
    assert result.status == 200
    assert result.body not in (b"", b"None")


# -- make_response ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [b"bytes", "str", {"a": 1}, ["a"], ("body", 201), ("body", {"X": "1"})],
)
async def test_make_response_is_awaitable_for_every_return_type(app: Microframe, value: Any) -> None:
    async with app.test_request_context("/"):
        response = await app.make_response(value)
    assert isinstance(response, app.response_class)


async def test_a_bad_return_value_names_the_view(app: Microframe) -> None:
    @app.route("/")
    async def broken_view() -> Any:
        return object()

    app.config["PROPAGATE_EXCEPTIONS"] = True
    client = app.test_client()
    with pytest.raises(TypeError, match="broken_view"):
        await client.get("/")


# -- sessions -----------------------------------------------------------------------------


async def test_the_session_interface_is_awaitable(app: Microframe) -> None:
    # Quart's interface is awaited; the stock one is Flask's and Quart's at once.
    client = app.test_client()
    async with client.session_transaction() as stored:
        stored["user"] = "ada"
    cookie = client.get_cookie("session")
    assert cookie is not None
    async with app.test_request_context("/", headers={"Cookie": f"session={cookie.value}"}):
        opened = await app.session_interface.open_session(app, request)
        assert opened is not None and opened["user"] == "ada"
        opened["user"] = "bob"
        response = app.response_class("")
        assert await app.session_interface.save_session(app, opened, response) is None
    assert "session=" in response.headers["Set-Cookie"]


def test_the_session_interface_is_flasks_in_sync_code(app: Microframe) -> None:
    with app.test_request_context("/"):
        opened = app.session_interface.open_session(app, request)
        assert opened is not None and dict(opened) == {}
        opened["user"] = "ada"
        response = app.response_class("")
        assert app.session_interface.save_session(app, opened, response) is None
    assert "session=" in response.headers["Set-Cookie"]


class QuartStyleInterface(SecureCookieSessionInterface):
    """An interface written for Quart: async methods calling the stock ones."""

    async def open_session(self, app: Any, request: Any) -> Any:  # type: ignore[override]
        session = await super().open_session(app, request)
        session.setdefault("opened_by", "quart-style")
        return session

    async def save_session(self, app: Any, session: Any, response: Any) -> None:  # type: ignore[override]
        response.headers["X-Saved"] = "yes"
        await super().save_session(app, session, response)


class FlaskStyleInterface(SecureCookieSessionInterface):
    """An interface written for Flask: plain methods calling the stock ones."""

    def open_session(self, app: Any, request: Any) -> Any:
        session = super().open_session(app, request)
        session.setdefault("opened_by", "flask-style")
        return session

    def save_session(self, app: Any, session: Any, response: Any) -> None:
        response.headers["X-Saved"] = "yes"
        super().save_session(app, session, response)


@pytest.mark.parametrize("interface", [QuartStyleInterface, FlaskStyleInterface])
async def test_session_interface_subclasses_in_either_style(app: Microframe, interface: type) -> None:
    app.session_interface = interface()

    @app.route("/")
    async def index() -> str:
        session["visits"] = session.get("visits", 0) + 1
        return f"{session['opened_by']} {session['visits']}"

    @app.route("/sync")
    def sync_view() -> str:
        session["visits"] = session.get("visits", 0) + 1
        return f"{session['opened_by']} {session['visits']}"

    client = app.test_client()
    style = interface.__name__.removesuffix("Interface").lower().replace("style", "-style")
    for visits, path in enumerate(["/", "/sync", "/"], start=1):
        response = await client.get(path)
        assert response.status_code == 200
        assert await response.get_data(as_text=True) == f"{style} {visits}"
        assert response.headers["X-Saved"] == "yes"


async def test_websocket_handlers_see_the_session(app: Microframe) -> None:
    @app.route("/login")
    async def login() -> str:
        session["user"] = "ada"
        return ""

    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.send(session.get("user", "nobody"))

    client = app.test_client()
    await client.get("/login")
    async with client.websocket("/ws") as connection:
        assert await asyncio.wait_for(connection.receive(), 5) == "ada"


async def test_a_refused_handshake_saves_the_session(app: Microframe) -> None:
    @app.websocket("/ws")
    async def ws() -> Any:
        session["refused"] = True
        return "come back later", 401

    client = app.test_client()
    with pytest.raises(WebsocketResponseError) as info:
        async with client.websocket("/ws") as connection:
            await asyncio.wait_for(connection.receive(), 5)
    response = info.value.response
    assert response.status_code == 401
    assert response.headers["Set-Cookie"].startswith("session=")


async def test_a_session_changed_after_accepting_is_logged(
    app: Microframe, caplog: pytest.LogCaptureFixture
) -> None:
    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.accept()
        session["lost"] = True
        await websocket.send("done")

    client = app.test_client()
    async with client.websocket("/ws") as connection:
        assert await asyncio.wait_for(connection.receive(), 5) == "done"
    assert "cannot be set once it is accepted" in caplog.text


# -- blueprints, templates, routes ----------------------------------------------------------


async def test_a_blueprint_websocket_route(app: Microframe) -> None:
    bp = Blueprint("bp", __name__, url_prefix="/bp")

    @bp.websocket("/ws")
    async def ws() -> None:
        await websocket.send("from the blueprint")

    app.register_blueprint(bp)
    client = app.test_client()
    async with client.websocket("/bp/ws") as connection:
        assert await asyncio.wait_for(connection.receive(), 5) == "from the blueprint"


async def test_nested_blueprint_subdomains_join(app: Microframe) -> None:
    # As in Flask and Quart, requests match subdomains with subdomain_matching.
    app.subdomain_matching = True
    app.config["SERVER_NAME"] = "example.com"
    parent = Blueprint("parent", __name__, subdomain="parent")
    child = Blueprint("child", __name__, subdomain="child")

    @child.route("/")
    async def index() -> str:
        return "child"

    parent.register_blueprint(child)
    app.register_blueprint(parent)
    client = app.test_client()
    response = await client.get("/", subdomain="child.parent")
    assert response.status_code == 200
    assert await response.get_data() == b"child"
    for other in ("child", "parent", None):
        assert (await client.get("/", subdomain=other)).status_code == 404
    async with app.app_context():
        assert url_for("parent.child.index") == "http://child.parent.example.com/"


async def test_stream_template_string_streams_after_the_first_request(app: Microframe) -> None:
    @app.route("/")
    async def index() -> Any:
        return await stream_template_string("{% for i in items %}{{ i }},{% endfor %}", items=range(3))

    client = app.test_client()
    for _ in range(2):
        response = await client.get("/")
        assert response.status_code == 200
        assert await response.get_data() == b"0,1,2,"


@pytest.mark.parametrize("how", ["argument", "attribute", "config"])
async def test_provide_automatic_options_can_be_turned_off(app: Microframe, how: str) -> None:
    async def view() -> str:
        return "view"

    if how == "attribute":
        view.provide_automatic_options = False  # type: ignore[attr-defined]
        app.add_url_rule("/", "view", view)
    elif how == "config":
        app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
        app.add_url_rule("/", "view", view)
    else:
        app.add_url_rule("/", "view", view, provide_automatic_options=False)
    response = await app.test_client().options("/")
    assert response.status_code == 405


async def test_the_client_records_push_promises(app: Microframe) -> None:
    @app.route("/")
    async def index() -> str:
        await request.send_push_promise("/style.css")
        return "page"

    client = app.test_client()
    response = await client.get("/", http_version="2", headers={"Accept-Language": "fr", "X-Other": "1"})
    assert response.status_code == 200
    assert [path for path, _ in client.push_promises] == ["/style.css"]
    pushed_headers = dict(client.push_promises[0][1])
    assert pushed_headers.get("accept-language") == "fr"
    assert "x-other" not in pushed_headers


async def test_no_push_over_http_1_1(app: Microframe) -> None:
    @app.route("/")
    async def index() -> str:
        await request.send_push_promise("/style.css")  # does nothing, as documented
        return "page"

    client = app.test_client()
    response = await client.get("/")
    assert response.status_code == 200
    assert client.push_promises == []
