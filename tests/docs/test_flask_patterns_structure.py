"""Flask's patterns for laying out an app, as a user following them writes them:
application factories, blueprints, lazily loaded views, URL processors,
favicon, single-page apps and application dispatching."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from hypercorn.middleware import DispatcherMiddleware
from werkzeug.exceptions import NotFound
from werkzeug.utils import cached_property, import_string

from microframe import Blueprint, Microframe, g, jsonify, request, url_for

# -- application factories ------------------------------------------------------------


def create_app(config: dict[str, Any] | None = None) -> Microframe:
    """The factory of patterns/appfactories: config, a blueprint, an extension."""
    app = Microframe(__name__)
    app.config.from_mapping(SECRET_KEY="dev", GREETING="Hello")
    if config is not None:
        app.config.update(config)

    admin = Blueprint("admin", __name__, url_prefix="/admin")

    @admin.route("/")
    def admin_index() -> str:
        from microframe import current_app

        return f"{current_app.config['GREETING']} from {current_app.name}'s admin"

    app.register_blueprint(admin)
    return app


def test_each_factory_call_is_an_app_of_its_own() -> None:
    first = create_app({"GREETING": "Hi"})
    second = create_app()
    assert first.test_client().get("/admin/").text == "Hi from " + __name__ + "'s admin"
    assert second.test_client().get("/admin/").text.startswith("Hello")
    assert first.test_client().get("/admin/nope").status_code == 404


def test_an_extension_initialised_in_the_factory() -> None:
    class Counter:
        """An extension in the init_app style: state on app.extensions, no app kept."""

        def init_app(self, app: Microframe) -> None:
            app.extensions["counter"] = {"hits": 0}

            @app.before_request
            def count() -> None:
                app.extensions["counter"]["hits"] += 1

    counter = Counter()
    app = create_app()
    counter.init_app(app)
    client = app.test_client()
    client.get("/admin/")
    client.get("/missing")
    assert app.extensions["counter"]["hits"] == 2


def test_current_app_in_a_blueprint_view_is_the_factorys_app() -> None:
    from microframe import current_app

    app = create_app()

    @app.get("/name")
    async def name() -> str:
        return current_app.import_name

    assert app.test_client().get("/name").text == __name__


# -- packages and blueprints as packages ----------------------------------------------


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The yourapplication/ package of patterns/packages, with a views module
    imported at the bottom of __init__.py and a template."""
    pkg = tmp_path / "docs_pkg_app"
    (pkg / "templates").mkdir(parents=True)
    (pkg / "static").mkdir()
    (pkg / "__init__.py").write_text(
        "from microframe import Microframe\n"
        "app = Microframe(__name__)\n"
        "import docs_pkg_app.views  # noqa: E402,F401\n"
    )
    (pkg / "views.py").write_text(
        "from microframe import render_template\n"
        "from docs_pkg_app import app\n\n"
        "@app.route('/')\n"
        "async def index():\n"
        "    return await render_template('index.html', who='package')\n\n"
        "def lazy_index():\n"
        "    return 'lazy index'\n\n"
        "def lazy_user(username):\n"
        "    return f'user {username}'\n\n"
        "async def lazy_async(n):\n"
        "    return f'async {n}'\n"
    )
    (pkg / "templates" / "index.html").write_text("Hello from the {{ who }}!")
    (pkg / "static" / "favicon.ico").write_bytes(b"\x00\x00\x01\x00icon")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield pkg
    for name in [m for m in sys.modules if m == "docs_pkg_app" or m.startswith("docs_pkg_app.")]:
        del sys.modules[name]


def test_a_package_app_finds_its_views_and_templates(package: Path) -> None:
    app = import_string("docs_pkg_app:app")
    response = app.test_client().get("/")
    assert response.status_code == 200
    assert response.text == "Hello from the package!"


# -- lazily loading views -----------------------------------------------------------


class LazyView:
    """patterns/lazyloading's helper: imports the view on first call."""

    def __init__(self, import_name: str) -> None:
        self.__module__, self.__name__ = import_name.rsplit(".", 1)
        self.import_name = import_name

    @cached_property
    def view(self) -> Any:
        """The real view function, imported on first use."""
        return import_string(self.import_name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.view(*args, **kwargs)


def test_lazy_views_are_imported_on_first_request(package: Path) -> None:
    app = Microframe(__name__)
    app.add_url_rule("/", view_func=LazyView("docs_pkg_app.views.lazy_index"))
    app.add_url_rule("/user/<username>", view_func=LazyView("docs_pkg_app.views.lazy_user"))

    def url(import_name: str, url_rules: list[str], **options: Any) -> None:
        view = LazyView(f"docs_pkg_app.{import_name}")
        for url_rule in url_rules:
            app.add_url_rule(url_rule, view_func=view, **options)

    url("views.lazy_user", ["/people/<username>"], endpoint="people")
    assert "docs_pkg_app" not in sys.modules
    client = app.test_client()
    assert client.get("/").text == "lazy index"
    assert client.get("/user/ann").text == "user ann"
    assert client.get("/people/bob").text == "user bob"
    # The endpoint is named from __name__, as the page says Flask does.
    assert set(app.view_functions) >= {"lazy_index", "lazy_user", "people"}
    with app.test_request_context():
        assert url_for("lazy_user", username="x") == "/user/x"


def test_a_lazy_async_view_needs_an_async_helper(package: Path) -> None:
    # The page's helper is a plain class; for async views its __call__ is async.
    class AsyncLazyView(LazyView):
        async def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return await self.view(*args, **kwargs)

    app = Microframe(__name__)
    app.add_url_rule("/n/<int:n>", view_func=AsyncLazyView("docs_pkg_app.views.lazy_async"))
    app.add_url_rule("/plain/<int:n>", "plain", LazyView("docs_pkg_app.views.lazy_async"))
    client = app.test_client()
    response = client.get("/n/3")
    assert response.status_code == 200
    assert response.text == "async 3"
    # The sync helper around an async view returns an unawaited coroutine: a
    # 500, as in Flask, and the log says what to do.
    assert client.get("/plain/3").status_code == 500


# -- URL processors -----------------------------------------------------------------


def _lang_app() -> Microframe:
    app = Microframe(__name__)

    @app.url_defaults
    def add_language_code(endpoint: str, values: dict[str, Any]) -> None:
        if "lang_code" in values or not g.lang_code:
            return
        if app.url_map.is_endpoint_expecting(endpoint, "lang_code"):
            values["lang_code"] = g.lang_code

    @app.url_value_preprocessor
    def pull_lang_code(endpoint: str | None, values: dict[str, Any] | None) -> None:
        g.lang_code = values.pop("lang_code", None) if values else None

    @app.route("/<lang_code>/")
    def index() -> str:
        return f"{g.lang_code}: " + url_for("about")

    @app.route("/<lang_code>/about")
    async def about() -> str:
        return f"about in {g.lang_code}, home at " + url_for("index")

    @app.route("/plain")
    def plain() -> str:
        return "plain " + url_for("plain")

    return app


def test_app_url_processors_pull_and_inject_the_language() -> None:
    client = _lang_app().test_client()
    assert client.get("/de/").text == "de: /de/about"
    assert client.get("/fr/about").text == "about in fr, home at /fr/"
    assert client.get("/plain").text == "plain /plain"
    assert client.get("/de/nope").status_code == 404


def test_blueprint_url_processors_with_the_language_in_the_prefix() -> None:
    bp = Blueprint("frontend", __name__, url_prefix="/<lang_code>")

    @bp.url_defaults
    def add_language_code(endpoint: str, values: dict[str, Any]) -> None:
        values.setdefault("lang_code", g.lang_code)

    @bp.url_value_preprocessor
    def pull_lang_code(endpoint: str | None, values: dict[str, Any]) -> None:
        g.lang_code = values.pop("lang_code")

    @bp.route("/")
    def index() -> str:
        return url_for(".about")

    @bp.route("/about")
    async def about() -> str:
        return f"about ({g.lang_code})"

    app = Microframe(__name__)

    @app.route("/")
    def root() -> str:
        return "root"

    app.register_blueprint(bp)
    client = app.test_client()
    assert client.get("/en/").text == "/en/about"
    assert client.get("/en/about").text == "about (en)"
    # The app's own views do not run the blueprint's processors.
    assert client.get("/").text == "root"


# -- favicon -------------------------------------------------------------------------


def test_favicon_by_redirect_and_by_view(package: Path) -> None:
    import os

    from microframe import send_from_directory

    app = import_string("docs_pkg_app:app")
    with app.test_request_context():
        target = url_for("static", filename="favicon.ico")
    app.add_url_rule("/favicon.ico", endpoint="favicon", redirect_to=target)

    @app.route("/favicon-view.ico")
    def favicon() -> Any:
        return send_from_directory(
            os.path.join(app.root_path, "static"), "favicon.ico", mimetype="image/vnd.microsoft.icon"
        )

    client = app.test_client()
    moved = client.get("/favicon.ico")
    assert moved.status_code == 308
    assert moved.headers["Location"] == "http://localhost/static/favicon.ico"
    assert client.get("/favicon.ico", follow_redirects=True).data == b"\x00\x00\x01\x00icon"
    direct = client.get("/favicon-view.ico")
    assert direct.status_code == 200
    assert direct.mimetype == "image/vnd.microsoft.icon"
    assert direct.data == b"\x00\x00\x01\x00icon"


# -- single-page applications ---------------------------------------------------------


def test_a_single_page_app_serves_index_for_every_path(tmp_path: Path) -> None:
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "index.html").write_text("<div id=app></div>")
    app = Microframe(__name__, root_path=str(tmp_path), static_folder="static")

    @app.route("/heartbeat")
    def heartbeat() -> Any:
        return jsonify({"status": "healthy"})

    @app.route("/", defaults={"path": ""})
    @app.route("/<path:path>")
    def catch_all(path: str) -> Any:
        return app.send_static_file("index.html")

    client = app.test_client()
    assert client.get("/heartbeat").json == {"status": "healthy"}
    for path in ("/", "/users/1/edit", "/deep/link?tab=2"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.text == "<div id=app></div>"
        assert response.mimetype == "text/html"
    assert client.post("/users").status_code == 405


# -- application dispatching ----------------------------------------------------------


def _frontend_and_backend() -> tuple[Microframe, Microframe]:
    frontend = Microframe("frontend")
    backend = Microframe("backend")

    @frontend.route("/")
    def hello_world() -> str:
        return "Hello World!"

    @backend.route("/")
    async def backend_index() -> str:
        return f"backend at {request.script_root!r}, index {url_for('backend_index')}"

    return frontend, backend


async def test_apps_combined_by_prefix_in_asgi(raw_request: Any) -> None:
    # The ASGI form of the page's DispatcherMiddleware(frontend, {"/backend": backend}).
    frontend, backend = _frontend_and_backend()
    application = DispatcherMiddleware({"/backend": backend, "": frontend})
    assert (await raw_request(application, path="/")).body == b"Hello World!"
    mounted = await raw_request(application, path="/backend/")
    assert mounted.status == 200
    assert mounted.body == b"backend at '/backend', index /backend/"
    assert (await raw_request(application, path="/backend/nope")).status == 404


def test_apps_combined_by_prefix_with_werkzeug_dispatcher() -> None:
    # The page's own line, mounted inside the frontend's wsgi_app.
    from werkzeug.middleware.dispatcher import DispatcherMiddleware as WSGIDispatcher

    frontend, backend = _frontend_and_backend()
    frontend.wsgi_app = WSGIDispatcher(frontend.wsgi_app, {"/backend": backend.wsgi_app})  # type: ignore[method-assign]
    client = frontend.test_client()
    assert client.get("/").text == "Hello World!"
    mounted = client.get("/backend/")
    assert mounted.status_code == 200
    assert mounted.text == "backend at '/backend', index /backend/"


def test_dispatch_by_subdomain_in_asgi(raw_request: Any) -> None:
    users = {"ann", "bob"}

    def create_user_app(user: str) -> Microframe:
        app = Microframe(f"site_{user}")

        @app.route("/")
        def home() -> str:
            return f"{user}'s site"

        return app

    class SubdomainDispatcher:
        """The page's dispatcher, at the ASGI level: one app per subdomain."""

        def __init__(self, domain: str, create_app: Any) -> None:
            self.domain = domain
            self.create_app = create_app
            self.instances: dict[str, Any] = {}

        def get_application(self, host: str) -> Any:
            host = host.split(":")[0]
            assert host.endswith(self.domain), "Configuration error"
            subdomain = host[: -len(self.domain)].rstrip(".")
            if subdomain not in self.instances:
                self.instances[subdomain] = self.create_app(subdomain)
            return self.instances[subdomain]

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            host = dict(scope["headers"])[b"host"].decode()
            await self.get_application(host)(scope, receive, send)

    def make_app(subdomain: str) -> Any:
        if subdomain not in users:
            return NotFound()
        return create_user_app(subdomain)

    import asyncio

    async def run() -> None:
        application = SubdomainDispatcher("example.com", make_app)
        ann = await raw_request(application, headers={"host": "ann.example.com"})
        assert ann.body == b"ann's site"
        assert application.instances["ann"] is application.get_application("ann.example.com")

    asyncio.run(run())


# -- subclassing ---------------------------------------------------------------------------


def test_a_subclass_with_its_own_request_class() -> None:
    from werkzeug.datastructures import ImmutableMultiDict

    from microframe import Request

    # The page's ImmutableOrderedMultiDict is deprecated by werkzeug 3.1 (its
    # MultiDict keeps the order now): a class of the user's own stands in.
    class ImmutableOrderedMultiDict(ImmutableMultiDict[str, str]):
        """The parameters, in the order they were sent."""

    class MyRequest(Request):
        """Request subclass to override request parameter storage"""

        parameter_storage_class = ImmutableOrderedMultiDict

    class MyFlask(Microframe):
        """Subclass using the custom request class"""

        request_class = MyRequest

    app = MyFlask(__name__)

    @app.route("/", methods=["GET", "POST"])
    async def index() -> Any:
        form = await request.form
        return {
            "request": type(request._get_current_object()).__name__,  # type: ignore[attr-defined]
            "args": type(request.args).__name__,
            "form": list(form.keys()),
        }

    form_type = "application/x-www-form-urlencoded"
    response = app.test_client().post("/?b=1&a=2", data="z=1&y=2", content_type=form_type)
    assert response.json == {
        "request": "MyRequest",
        "args": "ImmutableOrderedMultiDict",
        "form": ["z", "y"],
    }


# -- subdomains ---------------------------------------------------------------------------


def test_subdomain_routes_and_blueprints() -> None:
    app = Microframe(__name__, subdomain_matching=True)
    app.config["SERVER_NAME"] = "example.com"
    api = Blueprint("api", __name__, subdomain="api")

    @api.route("/users")
    async def users() -> Any:
        return {"host": request.host, "url": url_for("api.users", _external=True)}

    @app.route("/", subdomain="<user>")
    def user_home(user: str) -> str:
        return f"{user}'s home, www at {url_for('home', _external=True)}"

    @app.route("/")
    def home() -> str:
        return "home"

    app.register_blueprint(api)
    client = app.test_client()
    assert client.get("/", base_url="http://example.com").text == "home"
    assert client.get("/", base_url="http://ann.example.com").text == (
        "ann's home, www at http://example.com/"
    )
    assert client.get("/users", base_url="http://api.example.com").json == {
        "host": "api.example.com",
        "url": "http://api.example.com/users",
    }
    assert client.get("/users", base_url="http://example.com").status_code == 404
    # Another host: werkzeug warns and names its subdomain "<invalid>", as
    # under Flask (a subdomain variable then matches it).
    with pytest.warns(UserWarning, match="doesn't match configured server name"):
        other = client.get("/", base_url="http://other.org")
    assert other.text.startswith("<invalid>'s home")
