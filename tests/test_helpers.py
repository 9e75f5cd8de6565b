from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from werkzeug.routing import BuildError

import microframe
from microframe import (
    Blueprint,
    Microframe,
    Response,
    jsonify,
    make_push_promise,
    make_response,
    redirect,
    request,
    stream_with_context,
    url_for,
)
from microframe.helpers import get_debug_flag, get_load_dotenv, get_root_path

# -- debug and dotenv flags from the environment --------------------------------


@pytest.fixture
def no_flags(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("MICROFRAME_DEBUG", "FLASK_DEBUG", "MICROFRAME_SKIP_DOTENV", "FLASK_SKIP_DOTENV"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", False), ("0", False), ("false", False), ("No", False), ("1", True), ("True", True), ("on", True)],
)
@pytest.mark.parametrize("prefix", ["MICROFRAME", "FLASK"])
def test_get_debug_flag(no_flags: pytest.MonkeyPatch, prefix: str, value: str, expected: bool) -> None:

    no_flags.setenv(f"{prefix}_DEBUG", value)
    assert get_debug_flag() is expected
    # The app's DEBUG default follows it.
    assert Microframe("flagged").debug is expected


def test_microframe_debug_wins_over_flask_debug(no_flags: pytest.MonkeyPatch) -> None:

    no_flags.setenv("FLASK_DEBUG", "1")
    no_flags.setenv("MICROFRAME_DEBUG", "0")
    assert get_debug_flag() is False
    no_flags.setenv("FLASK_DEBUG", "0")
    no_flags.setenv("MICROFRAME_DEBUG", "1")
    assert get_debug_flag() is True


def test_get_load_dotenv(no_flags: pytest.MonkeyPatch) -> None:

    assert get_load_dotenv() is True
    assert get_load_dotenv(False) is False
    no_flags.setenv("FLASK_SKIP_DOTENV", "1")
    assert get_load_dotenv() is False
    no_flags.setenv("MICROFRAME_SKIP_DOTENV", "0")
    assert get_load_dotenv() is True


# -- url_for ------------------------------------------------------------------


@pytest.fixture
def routed(app: Microframe) -> Microframe:
    @app.get("/")
    async def index() -> str:
        return "index"

    @app.get("/user/<int:user_id>")
    async def user(user_id: int) -> str:
        return "user"

    @app.route("/thing", methods=["GET"])
    @app.route("/thing/new", methods=["POST"])
    async def thing() -> str:
        return request.method

    return app


async def test_url_for_in_request(routed: Microframe) -> None:
    async with routed.test_request_context("/"):
        assert url_for("index") == "/"
        assert url_for("user", user_id=3) == "/user/3"
        assert url_for("user", user_id=3, q="a b", tags=["x", "y"]) == "/user/3?q=a+b&tags=x&tags=y"
        assert url_for("user", user_id=3, _external=True) == "http://localhost/user/3"
        assert url_for("user", user_id=3, _scheme="https", _external=True) == "https://localhost/user/3"
        # _scheme alone implies _external inside a request.
        assert url_for("index", _scheme="https") == "https://localhost/"
        assert url_for("index", _anchor="top section") == "/#top%20section"
        assert url_for("index", _anchor="a/b?c") == "/#a/b?c"
        assert url_for("thing", _method="GET") == "/thing"
        assert url_for("thing", _method="POST") == "/thing/new"
        # Rule values may be named anything, "self" and "endpoint" included.
        assert url_for("index", self="s", endpoint="e") == "/?self=s&endpoint=e"
        assert routed.url_for("user", user_id=1, self="s") == "/user/1?self=s"


async def test_url_for_scheme_without_external(routed: Microframe) -> None:
    async with routed.test_request_context("/"):
        with pytest.raises(ValueError, match="'_external' must be True"):
            url_for("index", _scheme="https", _external=False)


async def test_url_for_build_error_names_endpoint(routed: Microframe) -> None:
    async with routed.test_request_context("/"):
        with pytest.raises(BuildError, match="'missing_endpoint'"):
            url_for("missing_endpoint")
        with pytest.raises(BuildError, match="'user'"):
            url_for("user")  # user_id missing


async def test_url_for_in_view_uses_request_host(routed: Microframe) -> None:
    @routed.get("/links")
    def links() -> dict[str, str]:
        return {"rel": url_for("user", user_id=1), "abs": url_for("index", _external=True)}

    response = await routed.test_client().get(
        "/links", headers={"Host": "shop.test:8080"}, scheme="https"
    )
    assert await response.get_json() == {"rel": "/user/1", "abs": "https://shop.test:8080/"}


async def test_url_for_root_path(routed: Microframe) -> None:
    @routed.get("/here")
    async def here() -> str:
        return url_for("user", user_id=2)

    response = await routed.test_client().get("/prefix/here", root_path="/prefix")
    assert await response.get_data(as_text=True) == "/prefix/user/2"


async def test_url_for_outside_request(routed: Microframe) -> None:
    async with routed.app_context():
        with pytest.raises(RuntimeError, match="SERVER_NAME"):
            url_for("index")
    routed.config.update(SERVER_NAME="example.test", PREFERRED_URL_SCHEME="https")
    async with routed.app_context():
        assert url_for("user", user_id=5) == "https://example.test/user/5"
        assert url_for("index", _external=False) == "/"
    routed.config["APPLICATION_ROOT"] = "/app"
    async with routed.app_context():
        assert url_for("index") == "https://example.test/app/"


def test_url_for_outside_request_sync(routed: Microframe) -> None:
    routed.config["SERVER_NAME"] = "example.test"
    with routed.app_context():
        assert url_for("user", user_id=1, _anchor="x") == "http://example.test/user/1#x"


def test_url_for_without_app_context() -> None:
    with pytest.raises(RuntimeError, match="application context"):
        url_for("index")


async def test_url_for_blueprint_relative(app: Microframe) -> None:
    bp = Blueprint("shop", __name__, url_prefix="/shop")

    @bp.get("/")
    async def index() -> dict[str, str]:
        return {"self": url_for(".index"), "item": url_for(".item", n=1), "app": url_for("index")}

    @bp.get("/item/<int:n>")
    async def item(n: int) -> str:
        return "item"

    @app.get("/")
    async def app_index() -> str:
        return url_for(".index")

    app.add_url_rule("/home", "index", app_index)
    app.register_blueprint(bp)
    client = app.test_client()
    response = await client.get("/shop/")
    assert await response.get_json() == {"self": "/shop/", "item": "/shop/item/1", "app": "/home"}
    # Outside a blueprint, ".name" is the app's endpoint "name".
    response = await client.get("/")
    assert await response.get_data(as_text=True) == "/home"


async def test_url_build_error_handler(routed: Microframe) -> None:
    def fallback(error: Exception, endpoint: str, values: dict[str, Any]) -> str:
        if endpoint == "external_docs":
            return "https://docs.example/"
        raise error

    routed.add_url_build_error_handler(fallback)
    async with routed.test_request_context("/"):
        assert url_for("external_docs") == "https://docs.example/"
        with pytest.raises(BuildError):
            url_for("still_missing")


# -- redirect -----------------------------------------------------------------


async def test_redirect(app: Microframe) -> None:
    @app.get("/old")
    async def old() -> Response:
        return redirect(url_for("new"))

    @app.get("/moved")
    def moved() -> Response:
        return redirect("/new?x=1", code=301)

    @app.get("/new")
    async def new() -> str:
        return "new"

    @app.get("/unicode")
    async def unicode() -> Response:
        return redirect("/ünï")

    client = app.test_client()
    response = await client.get("/old")
    assert response.status_code == 302
    assert response.headers["Location"] == "/new"
    assert "/new" in await response.get_data(as_text=True)
    response = await client.get("/moved")
    assert response.status_code == 301
    assert response.headers["Location"] == "/new?x=1"
    response = await client.get("/old", follow_redirects=True)
    assert (response.status_code, await response.get_data()) == (200, b"new")
    assert [r.status_code for r in response.history] == [302]
    response = await client.get("/unicode")
    assert response.headers["Location"] == "/%C3%BCn%C3%AF"


@pytest.mark.parametrize("target", ["/a\r\nSet-Cookie: x=1", "/a\nb", "/a\rb", "/a\0b"])
async def test_redirect_refuses_header_injection(app: Microframe, target: str) -> None:
    @app.get("/go")
    async def go() -> Response:
        return redirect(request.args["to"])

    response = await app.test_client().get("/go", query_string={"to": target})
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "Set-Cookie" not in response.headers


async def test_repeated_redirects_answer_alike(app: Microframe) -> None:
    # Targets are remembered once checked: a repeat must be converted and
    # refused exactly as the first time, with a fresh response each time.
    @app.get("/go")
    async def go() -> Response:
        return redirect(request.args["to"])

    client = app.test_client()
    for _ in range(3):
        response = await client.get("/go", query_string={"to": "/ünï?q=é"})
        assert (response.status_code, response.headers.getlist("Location")) == (
            302,
            ["/%C3%BCn%C3%AF?q=%C3%A9"],
        )
        assert '<a href="/ünï?q=é">' in await response.get_data(as_text=True)
        response = await client.get("/go", query_string={"to": "/a\r\nX-Injected: 1"})
        assert response.status_code == 400
        assert "X-Injected" not in response.headers
        response = await client.get("/go", query_string={"to": "http://[::1"})
        assert response.status_code == 400


def test_redirect_outside_app_context() -> None:
    response = redirect("/somewhere", 307)
    assert response.status_code == 307
    assert response.headers["Location"] == "/somewhere"


async def test_app_redirect_can_be_customised(app: Microframe) -> None:
    class CustomApp(Microframe):
        def redirect(self, location: str, code: int = 302) -> Response:
            response = super().redirect(location, code)
            response.headers["X-Custom-Redirect"] = "1"
            return response

    custom = CustomApp(__name__)

    @custom.get("/")
    async def index() -> Response:
        return redirect("/x")

    response = await custom.test_client().get("/")
    assert response.headers["X-Custom-Redirect"] == "1"


# -- make_response and jsonify ------------------------------------------------


async def test_make_response_async_and_sync(app: Microframe) -> None:
    @app.get("/async")
    async def async_view() -> Response:
        response = await make_response("async body", 201)
        response.headers["X-Made"] = "async"
        return response

    @app.get("/sync")
    def sync_view() -> Response:
        response = make_response({"sync": True}, 202, {"X-Made": "sync"})
        assert isinstance(response, Response)
        return response

    @app.get("/empty")
    async def empty() -> Response:
        response = await make_response()
        response.set_data("filled later")
        return response

    @app.get("/app-method")
    async def app_method() -> Response:
        return await app.make_response(("via app", 203))

    client = app.test_client()
    response = await client.get("/async")
    assert (response.status_code, response.headers["X-Made"]) == (201, "async")
    assert await response.get_data() == b"async body"
    response = await client.get("/sync")
    assert (response.status_code, response.headers["X-Made"]) == (202, "sync")
    assert await response.get_json() == {"sync": True}
    response = await client.get("/empty")
    assert await response.get_data() == b"filled later"
    response = await client.get("/app-method")
    assert (response.status_code, await response.get_data()) == (203, b"via app")


async def test_make_response_bad_value(app: Microframe) -> None:
    @app.get("/")
    async def index() -> Response:
        return await make_response(None)

    with pytest.raises(TypeError, match="returned None"):
        await app.test_client().get("/")


async def test_jsonify(app: Microframe) -> None:
    @app.get("/kwargs")
    async def kwargs() -> Response:
        return jsonify(name="ada", n=1)

    @app.get("/args")
    def args() -> Response:
        return jsonify(1, 2, 3)

    @app.get("/single")
    async def single() -> Response:
        return jsonify(["a"])

    client = app.test_client()
    response = await client.get("/kwargs")
    assert response.mimetype == "application/json"
    assert await response.get_json() == {"name": "ada", "n": 1}
    assert await (await client.get("/args")).get_json() == [1, 2, 3]
    assert await (await client.get("/single")).get_json() == ["a"]


def test_jsonify_args_and_kwargs_together(app: Microframe) -> None:
    with app.app_context(), pytest.raises(TypeError):
        jsonify(1, a=2)


# -- stream_with_context ------------------------------------------------------


async def test_stream_with_context_async(app: Microframe) -> None:
    @app.get("/")
    async def index() -> Any:
        @stream_with_context
        async def generate() -> AsyncIterator[str]:
            yield "hello "
            yield request.args["name"]

        return generate()

    response = await app.test_client().get("/", query_string={"name": "ada"})
    assert await response.get_data() == b"hello ada"


async def test_stream_with_context_sync_generator(app: Microframe, raw_request: Any) -> None:
    @app.get("/")
    def index() -> Any:
        def generate() -> Iterator[str]:
            yield "path="
            yield request.path

        return stream_with_context(generate())

    raw = await raw_request(app, "GET", "/")
    assert (raw.status, raw.body) == (200, b"path=/")


def test_stream_with_context_outside_request() -> None:
    def generate() -> Iterator[str]:
        yield "x"

    with pytest.raises(RuntimeError, match="request context"):
        stream_with_context(generate())


# -- paths -------------------------------------------------------------------


def test_get_root_path() -> None:
    import os

    assert get_root_path(__name__) == os.path.dirname(os.path.abspath(__file__))
    assert get_root_path("microframe") == os.path.dirname(os.path.abspath(microframe.__file__))
    assert get_root_path("not_a_module_anywhere") == os.getcwd()


# -- make_push_promise (Quart's) ------------------------------------------------------


async def test_make_push_promise_pushes_over_http_2_only(app: Microframe) -> None:
    @app.get("/")
    async def index() -> str:
        await make_push_promise(url_for("static_file"))
        return "page"

    @app.get("/app.css")
    async def static_file() -> str:
        return "body {}"

    client = app.test_client()
    response = await client.get("/", http_version="2", headers={"Accept": "text/css"})
    assert response.status_code == 200
    assert [path for path, _ in client.push_promises] == ["/app.css"]
    assert dict(client.push_promises[0][1]).get("accept") == "text/css"
    response = await client.get("/")  # HTTP/1.1: nothing to push, no error
    assert response.status_code == 200
    assert len(client.push_promises) == 1


async def test_make_push_promise_outside_a_request(app: Microframe) -> None:
    async with app.app_context():
        with pytest.raises(RuntimeError, match="only in a request"):
            await make_push_promise("/app.css")
