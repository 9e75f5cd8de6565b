from __future__ import annotations

from typing import Any

import pytest
from werkzeug.exceptions import NotFound
from werkzeug.routing import Rule

from microframe import Blueprint, Microframe, Response, g, request, url_for
from microframe.blueprints import BlueprintSetupState


async def _text(app: Microframe, path: str, **kwargs: Any) -> tuple[int, str]:
    response = await app.test_client().get(path, **kwargs)
    return response.status_code, await response.get_data(as_text=True)


async def test_url_prefix(app: Microframe) -> None:
    bp = Blueprint("admin", __name__, url_prefix="/admin/")

    @bp.get("/")
    async def index() -> str:
        return f"{request.endpoint} {request.blueprint} {url_for('.users')}"

    @bp.get("/users")
    async def users() -> str:
        return "users"

    app.register_blueprint(bp)
    assert await _text(app, "/admin/") == (200, "admin.index admin /admin/users")
    assert await _text(app, "/admin/users") == (200, "users")
    assert (await app.test_client().get("/users")).status_code == 404


async def test_url_prefix_override_at_registration(app: Microframe) -> None:
    bp = Blueprint("api", __name__, url_prefix="/api")

    @bp.get("/ping")
    async def ping() -> str:
        return "pong"

    app.register_blueprint(bp, url_prefix="/v2")
    assert await _text(app, "/v2/ping") == (200, "pong")
    assert (await app.test_client().get("/api/ping")).status_code == 404


async def test_empty_rule_with_prefix(app: Microframe) -> None:
    bp = Blueprint("bp", __name__, url_prefix="/bp")

    @bp.get("")
    async def root() -> str:
        return "bp root"

    app.register_blueprint(bp)
    assert await _text(app, "/bp") == (200, "bp root")


async def test_subdomain() -> None:
    app = Microframe(__name__, subdomain_matching=True)
    app.config.update(TESTING=True, SERVER_NAME="example.test")
    bp = Blueprint("api", __name__, subdomain="api")

    @bp.get("/")
    async def index() -> str:
        return "api index"

    @app.get("/")
    async def root() -> str:
        return "root"

    app.register_blueprint(bp)
    assert await _text(app, "/", headers={"Host": "api.example.test"}) == (200, "api index")
    assert await _text(app, "/", headers={"Host": "example.test"}) == (200, "root")
    async with app.app_context():
        assert url_for("api.index") == "http://api.example.test/"


async def test_url_defaults(app: Microframe) -> None:
    bp = Blueprint("pages", __name__, url_defaults={"site": "main"})

    @bp.get("/")
    async def index(site: str) -> str:
        return f"index of {site}"

    @bp.get("/page/<name>", defaults={"site": "override"})
    async def page(site: str, name: str) -> str:
        return f"{name} of {site}"

    app.register_blueprint(bp)
    app.register_blueprint(bp, name="docs", url_prefix="/docs", url_defaults={"site": "docs"})
    assert await _text(app, "/") == (200, "index of main")
    assert await _text(app, "/page/a") == (200, "a of override")
    assert await _text(app, "/docs/") == (200, "index of docs")


async def test_nested_blueprints_dotted_names(app: Microframe) -> None:
    parent = Blueprint("parent", __name__, url_prefix="/parent")
    child = Blueprint("child", __name__, url_prefix="/child")
    grandchild = Blueprint("grandchild", __name__, url_prefix="/gc")

    @grandchild.get("/")
    async def index() -> dict[str, Any]:
        return {
            "endpoint": request.endpoint,
            "blueprint": request.blueprint,
            "blueprints": request.blueprints,
            "self": url_for(".index"),
            "child": url_for("parent.child.index"),
        }

    @child.get("/")
    async def index_child() -> str:
        return "child"

    child.add_url_rule("/", "index", index_child)
    child.register_blueprint(grandchild)
    parent.register_blueprint(child)
    app.register_blueprint(parent)
    response = await app.test_client().get("/parent/child/gc/")
    assert await response.get_json() == {
        "endpoint": "parent.child.grandchild.index",
        "blueprint": "parent.child.grandchild",
        "blueprints": ["parent.child.grandchild", "parent.child", "parent"],
        "self": "/parent/child/gc/",
        "child": "/parent/child/",
    }
    assert set(app.blueprints) == {"parent", "parent.child", "parent.child.grandchild"}


async def test_nested_blueprint_subdomains() -> None:
    app = Microframe(__name__, subdomain_matching=True)
    app.config.update(TESTING=True, SERVER_NAME="example.test")
    parent = Blueprint("parent", __name__, subdomain="api")
    child = Blueprint("child", __name__, subdomain="v1")

    @child.get("/")
    async def index() -> str:
        return "v1 api"

    parent.register_blueprint(child)
    app.register_blueprint(parent)
    assert await _text(app, "/", headers={"Host": "v1.api.example.test"}) == (200, "v1 api")


async def test_same_blueprint_twice(app: Microframe) -> None:
    bp = Blueprint("bp", __name__)
    registrations: list[tuple[str, bool]] = []

    @bp.record
    def on_register(state: BlueprintSetupState) -> None:
        registrations.append((state.name, state.first_registration))

    @bp.get("/")
    async def index() -> str:
        return f"{request.blueprint} {url_for('.index')}"

    app.register_blueprint(bp, url_prefix="/one")
    app.register_blueprint(bp, url_prefix="/two", name="second")
    assert await _text(app, "/one/") == (200, "bp /one/")
    assert await _text(app, "/two/") == (200, "second /two/")
    assert registrations == [("bp", True), ("second", False)]


def test_name_clashes(app: Microframe) -> None:
    bp = Blueprint("bp", __name__)
    other = Blueprint("bp", __name__)
    app.register_blueprint(bp)
    with pytest.raises(ValueError, match="'bp' is already registered for this blueprint"):
        app.register_blueprint(bp)
    with pytest.raises(ValueError, match="'bp' is already registered for a different blueprint"):
        app.register_blueprint(other)
    app.register_blueprint(other, name="other")
    assert set(app.blueprints) == {"bp", "other"}


def test_invalid_names() -> None:
    with pytest.raises(ValueError, match="may not contain a dot"):
        Blueprint("a.b", __name__)
    with pytest.raises(ValueError, match="may not be empty"):
        Blueprint("", __name__)
    bp = Blueprint("bp", __name__)
    with pytest.raises(ValueError, match="'endpoint' may not contain a dot"):
        bp.add_url_rule("/", "a.b", lambda: "x")
    with pytest.raises(ValueError, match="Cannot register a blueprint on itself"):
        bp.register_blueprint(bp)


def test_setup_after_registration(app: Microframe) -> None:
    bp = Blueprint("late", __name__)
    app.register_blueprint(bp)
    with pytest.raises(AssertionError, match="'route' can no longer be called on the blueprint 'late'"):
        bp.route("/")
    with pytest.raises(AssertionError, match="already been registered"):
        bp.before_request(lambda: None)
    with pytest.raises(AssertionError, match="'record'"):
        bp.record(lambda state: None)


async def test_record_and_record_once(app: Microframe) -> None:
    bp = Blueprint("bp", __name__, url_prefix="/bp")
    states: list[BlueprintSetupState] = []
    once: list[str] = []

    @bp.record
    def every(state: BlueprintSetupState) -> None:
        states.append(state)
        state.add_url_rule("/recorded", "recorded", lambda: f"recorded via {state.name}")

    @bp.record_once
    def first(state: BlueprintSetupState) -> None:
        once.append(state.name)
        state.app.config["BP_SEEN"] = True

    app.register_blueprint(bp)
    app.register_blueprint(bp, name="again", url_prefix="/again")
    assert once == ["bp"]
    assert app.config["BP_SEEN"] is True
    assert [s.app for s in states] == [app, app]
    assert [s.blueprint for s in states] == [bp, bp]
    assert [(s.name, s.url_prefix, s.first_registration) for s in states] == [
        ("bp", "/bp", True),
        ("again", "/again", False),
    ]
    assert await _text(app, "/bp/recorded") == (200, "recorded via bp")
    assert await _text(app, "/again/recorded") == (200, "recorded via again")


async def test_blueprint_scoped_hooks(app: Microframe) -> None:
    bp = Blueprint("bp", __name__, url_prefix="/bp")
    log: list[str] = []

    @bp.before_request
    async def bp_before() -> None:
        log.append(f"bp before {request.path}")

    @bp.after_request
    def bp_after(response: Response) -> Response:
        response.headers["X-BP"] = "yes"
        return response

    @bp.teardown_request
    def bp_teardown(exc: BaseException | None) -> None:
        log.append(f"bp teardown {request.path}")

    @bp.get("/")
    async def bp_index() -> str:
        return "bp"

    @app.get("/")
    async def index() -> str:
        return "app"

    app.register_blueprint(bp)
    client = app.test_client()
    response = await client.get("/")
    assert "X-BP" not in response.headers
    assert log == []
    response = await client.get("/bp/")
    assert response.headers["X-BP"] == "yes"
    assert log == ["bp before /bp/", "bp teardown /bp/"]


async def test_blueprint_before_request_short_circuit(app: Microframe) -> None:
    bp = Blueprint("private", __name__, url_prefix="/private")

    @bp.before_request
    def require_login() -> Any:
        if "user" not in request.args:
            return "login required", 401
        g.user = request.args["user"]
        return None

    @bp.get("/")
    def index() -> str:
        return f"hello {g.user}"

    app.register_blueprint(bp)
    assert await _text(app, "/private/") == (401, "login required")
    assert await _text(app, "/private/", query_string={"user": "ada"}) == (200, "hello ada")


async def test_blueprint_errorhandlers_before_app(app: Microframe) -> None:
    bp = Blueprint("bp", __name__, url_prefix="/bp")
    child = Blueprint("child", __name__, url_prefix="/child")

    @app.errorhandler(ValueError)
    async def app_value(error: ValueError) -> Any:
        return "app handled", 400

    @app.errorhandler(KeyError)
    async def app_key(error: KeyError) -> Any:
        return "app key", 400

    @bp.errorhandler(ValueError)
    def bp_value(error: ValueError) -> Any:
        return "bp handled", 422

    @bp.errorhandler(403)
    async def bp_forbidden(error: Any) -> Any:
        return "bp forbidden", 403

    @child.errorhandler(Exception)
    async def child_any(error: Exception) -> Any:
        return f"child {type(error).__name__}", 500

    @bp.get("/value")
    async def bp_raise() -> str:
        raise ValueError()

    @bp.get("/key")
    async def bp_key() -> str:
        raise KeyError()

    @bp.get("/forbidden")
    async def bp_403() -> str:
        from microframe import abort

        abort(403)

    @child.get("/value")
    async def child_raise() -> str:
        raise ValueError()

    @app.get("/value")
    async def app_raise() -> str:
        raise ValueError()

    bp.register_blueprint(child)
    app.register_blueprint(bp)
    assert await _text(app, "/value") == (400, "app handled")
    assert await _text(app, "/bp/value") == (422, "bp handled")
    assert await _text(app, "/bp/key") == (400, "app key")
    assert await _text(app, "/bp/forbidden") == (403, "bp forbidden")
    # The innermost blueprint's handler wins, even for a less specific class.
    assert await _text(app, "/bp/child/value") == (500, "child ValueError")


async def test_blueprint_404_handler_does_not_see_unrouted_requests(app: Microframe) -> None:
    bp = Blueprint("bp", __name__, url_prefix="/bp")

    @bp.errorhandler(404)
    async def bp_404(error: NotFound) -> Any:
        return "bp 404", 404

    @bp.get("/")
    async def index() -> str:
        from microframe import abort

        abort(404)

    app.register_blueprint(bp)
    assert await _text(app, "/bp/") == (404, "bp 404")
    # No rule matched, so no blueprint is known: the default 404.
    status, body = await _text(app, "/bp/missing")
    assert status == 404 and "bp 404" not in body


async def test_app_wide_registration_from_blueprint(app: Microframe) -> None:
    bp = Blueprint("ext", __name__, url_prefix="/ext")
    log: list[str] = []

    @bp.before_app_request
    def before() -> None:
        log.append(f"before {request.path}")

    @bp.after_app_request
    async def after(response: Response) -> Response:
        response.headers["X-Ext"] = "1"
        return response

    @bp.teardown_app_request
    def teardown(exc: BaseException | None) -> None:
        log.append(f"teardown {request.path}")

    @bp.app_errorhandler(404)
    async def not_found(error: NotFound) -> Any:
        return "ext 404", 404

    @bp.app_url_defaults
    def defaults(endpoint: str, values: dict[str, Any]) -> None:
        if app.url_map.is_endpoint_expecting(endpoint, "lang"):
            values.setdefault("lang", "en")

    @bp.app_url_value_preprocessor
    def preprocess(endpoint: str | None, values: dict[str, Any] | None) -> None:
        if values and "lang" in values:
            g.lang = values.pop("lang")

    @bp.app_context_processor
    def inject() -> dict[str, Any]:
        return {"ext": True}

    @app.get("/<lang>/page")
    async def page() -> str:
        return f"{g.lang} {url_for('page')}"

    app.register_blueprint(bp)
    client = app.test_client()
    response = await client.get("/fr/page")
    assert await response.get_data(as_text=True) == "fr /en/page"
    assert response.headers["X-Ext"] == "1"
    assert log == ["before /fr/page", "teardown /fr/page"]
    response = await client.get("/nowhere")
    assert (response.status_code, await response.get_data()) == (404, b"ext 404")
    assert inject in app.template_context_processors[None]


async def test_app_wide_hooks_registered_once_for_two_registrations(app: Microframe) -> None:
    bp = Blueprint("bp", __name__)
    calls: list[str] = []

    @bp.before_app_request
    def before() -> None:
        calls.append("before")

    @bp.get("/")
    async def index() -> str:
        return "x"

    app.register_blueprint(bp)
    app.register_blueprint(bp, name="bp2", url_prefix="/2")
    await app.test_client().get("/")
    assert calls == ["before"]


async def test_blueprint_url_value_preprocessor_and_url_defaults(app: Microframe) -> None:
    bp = Blueprint("shop", __name__, url_prefix="/<shop>")

    @bp.url_defaults
    def add_shop(endpoint: str, values: dict[str, Any]) -> None:
        values.setdefault("shop", g.shop)

    @bp.url_value_preprocessor
    def pull_shop(endpoint: str | None, values: dict[str, Any] | None) -> None:
        assert values is not None
        g.shop = values.pop("shop")

    @bp.get("/")
    async def index() -> str:
        return f"{g.shop} {url_for('.item', n=2)}"

    @bp.get("/item/<int:n>")
    async def item(n: int) -> str:
        return "item"

    app.register_blueprint(bp)
    assert await _text(app, "/acme/") == (200, "acme /acme/item/2")


async def test_blueprint_endpoint_serves_that_exact_endpoint(app: Microframe) -> None:
    # As in Flask: bp.endpoint(name) gives the app a view for ``name`` as it is,
    # for a rule added without a view (here straight on the URL map).
    app.url_map.add(Rule("/late", endpoint="late"))
    bp = Blueprint("bp", __name__)

    @bp.endpoint("late")
    async def late() -> str:
        return "late"

    app.register_blueprint(bp, url_prefix="/prefix")
    assert await _text(app, "/late") == (200, "late")
    assert app.view_functions["late"] is late
