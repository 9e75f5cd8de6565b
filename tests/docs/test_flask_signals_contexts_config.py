"""Flask's pages on signals, the application and request contexts,
configuration, testing and async/await, as a user following them writes them."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any

import pytest
from blinker import Namespace

from microframe import (
    Microframe,
    appcontext_pushed,
    current_app,
    g,
    render_template_string,
    request,
    request_finished,
    request_started,
    session,
    template_rendered,
)

# -- signals ---------------------------------------------------------------------------------


@contextmanager
def captured_templates(app: Microframe) -> Iterator[list[tuple[Any, dict[str, Any]]]]:
    recorded: list[tuple[Any, dict[str, Any]]] = []

    def record(sender: Any, template: Any, context: dict[str, Any], **extra: Any) -> None:
        recorded.append((template, context))

    template_rendered.connect(record, app)
    try:
        yield recorded
    finally:
        template_rendered.disconnect(record, app)


@pytest.mark.parametrize("style", ["sync", "async"])
def test_captured_templates(style: str) -> None:
    app = Microframe(__name__)

    if style == "sync":

        @app.route("/")
        def index() -> str:
            return render_template_string("Hi {{ name }}", name="ann")

    else:

        @app.route("/")
        async def index() -> str:
            return await render_template_string("Hi {{ name }}", name="ann")

    with captured_templates(app) as templates:
        response = app.test_client().get("/")
        assert response.status_code == 200
        assert len(templates) == 1
        template, context = templates[0]
        assert template.name is None  # a template made from a string
        assert context["name"] == "ann"
    # Disconnected: nothing more is recorded.
    app.test_client().get("/")
    assert len(templates) == 1


def test_connected_to_and_connect_via() -> None:
    app = Microframe(__name__)
    other = Microframe("other")
    started: list[str] = []
    finished: list[int] = []

    @app.route("/")
    def index() -> str:
        return "x"

    def record(sender: Any, template: Any, context: dict[str, Any], **extra: Any) -> None:
        started.append("template")

    @request_started.connect_via(app)
    def when_request_started(sender: Microframe, **extra: Any) -> None:
        started.append(request.path)

    @request_finished.connect_via(app)
    def when_request_finished(sender: Microframe, response: Any, **extra: Any) -> None:
        finished.append(response.status_code)

    with template_rendered.connected_to(record, app):
        app.test_client().get("/")
        app.test_client().get("/missing")
    other.test_client().get("/")
    assert started == ["/", "/missing"]
    assert finished == [200, 404]
    request_started.disconnect(when_request_started, app)
    request_finished.disconnect(when_request_finished, app)


def test_custom_signals_and_appcontext_pushed() -> None:
    my_signals = Namespace()
    model_saved = my_signals.signal("model-saved")
    saved: list[Any] = []

    class Model:
        def save(self) -> None:
            model_saved.send(self, app=current_app._get_current_object())  # type: ignore[attr-defined]

    app = Microframe(__name__)

    @model_saved.connect
    def on_saved(sender: Model, app: Microframe) -> None:
        saved.append((type(sender).__name__, app.name))

    @contextmanager
    def user_set(app: Microframe, user: str) -> Iterator[None]:
        def handler(sender: Any, **kwargs: Any) -> None:
            g.user = user

        with appcontext_pushed.connected_to(handler, app):
            yield

    @app.route("/save")
    async def save() -> str:
        Model().save()
        return f"saved by {g.user}"

    with user_set(app, "john"):
        assert app.test_client().get("/save").text == "saved by john"
    assert saved == [("Model", app.name)]
    model_saved.disconnect(on_saved)


# -- the application and request contexts ---------------------------------------------------


def test_outside_an_app_context() -> None:
    with pytest.raises(RuntimeError, match="Working outside of application context"):
        current_app.config["DEBUG"]
    with pytest.raises(RuntimeError, match="Working outside of request context"):
        _ = request.path
    app = Microframe(__name__)
    with app.app_context():
        assert current_app.name == app.name
        with pytest.raises(RuntimeError, match="request context"):
            _ = request.args


def _db_app(tmp_path: Path) -> Microframe:
    app = Microframe(__name__)
    app.config["DATABASE"] = str(tmp_path / "db.sqlite")

    def get_db() -> sqlite3.Connection:
        if "db" not in g:
            g.db = sqlite3.connect(current_app.config["DATABASE"])
        return g.db

    @app.teardown_appcontext
    def teardown_db(exception: BaseException | None) -> None:
        db = g.pop("db", None)
        if db is not None:
            db.close()

    app.get_db = get_db  # type: ignore[attr-defined]

    @app.route("/count")
    def count() -> str:
        get_db().execute("create table if not exists hits (n)")
        get_db().execute("insert into hits values (1)")
        get_db().commit()
        return str(get_db().execute("select count(*) from hits").fetchone()[0])

    return app


def test_a_database_on_g_closed_at_teardown(tmp_path: Path) -> None:
    app = _db_app(tmp_path)
    client = app.test_client()
    assert client.get("/count").text == "1"
    assert client.get("/count").text == "2"
    with app.app_context():
        db = app.get_db()  # type: ignore[attr-defined]
        assert db.execute("select count(*) from hits").fetchone()[0] == 2
    with pytest.raises(sqlite3.ProgrammingError):
        db.execute("select 1")  # closed by the teardown


def test_request_context_and_teardown_order() -> None:
    app = Microframe(__name__)
    order: list[str] = []

    @app.route("/")
    def hello() -> str:
        order.append("during view")
        return "Hello, World!"

    @app.teardown_request
    def show_teardown(exception: BaseException | None) -> None:
        order.append(f"after with block ({exception!r})")

    with app.test_request_context("/?name=Peter"):
        assert request.path == "/"
        assert request.args["name"] == "Peter"
        order.append("in block")
    assert order == ["in block", "after with block (None)"]
    order.clear()
    with app.test_client() as client:
        client.get("/")
        # the request context is kept until the with block ends
        assert request.path == "/"
        # Flask 3.1 tears the request down as it ends, and the kept context
        # again when the block ends: the same calls here.
        assert order == ["during view", "after with block (None)"]
    assert order == ["during view"] + ["after with block (None)"] * 2


# -- configuration ------------------------------------------------------------------------------


def test_configuration_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Config:
        TESTING = False
        DATABASE_URI = "sqlite:///:memory:"
        lower_case_ignored = "x"

    class ProductionConfig(Config):
        DATABASE_URI = "mysql://user@localhost/foo"

    app = Microframe(__name__)
    app.config.from_object(ProductionConfig)
    assert app.config["DATABASE_URI"] == "mysql://user@localhost/foo"
    assert "lower_case_ignored" not in app.config

    (tmp_path / "settings.cfg").write_text("SECRET_KEY = 'from file'\nDEBUG = False\n")
    monkeypatch.setenv("YOURAPPLICATION_SETTINGS", str(tmp_path / "settings.cfg"))
    assert app.config.from_envvar("YOURAPPLICATION_SETTINGS")
    assert app.config["SECRET_KEY"] == "from file"
    assert app.secret_key == "from file"
    monkeypatch.delenv("YOURAPPLICATION_SETTINGS")
    with pytest.raises(RuntimeError):
        app.config.from_envvar("YOURAPPLICATION_SETTINGS")
    assert app.config.from_envvar("YOURAPPLICATION_SETTINGS", silent=True) is False

    (tmp_path / "config.json").write_text(json.dumps({"JSON_KEY": [1, 2]}))
    app.config.from_file(str(tmp_path / "config.json"), load=json.load)
    assert app.config["JSON_KEY"] == [1, 2]
    with pytest.raises(FileNotFoundError):
        app.config.from_file(str(tmp_path / "missing.json"), load=json.load)

    monkeypatch.setenv("FLASK_SECRET_KEY", "5f352379324c22463451387a0aec5d2f")
    monkeypatch.setenv("FLASK_MAIL_ENABLED", "false")
    monkeypatch.setenv("FLASK_MYAPI__credentials__username", "user123")
    app.config["MYAPI"] = {"credentials": {}}
    app.config.from_prefixed_env()
    assert app.config["SECRET_KEY"] == "5f352379324c22463451387a0aec5d2f"
    assert app.config["MAIL_ENABLED"] is False
    assert app.config["MYAPI"]["credentials"]["username"] == "user123"

    app.config.update(IMAGE_STORE_TYPE="fs", IMAGE_STORE_PATH="/var/app/images")
    assert app.config.get_namespace("IMAGE_STORE_") == {"type": "fs", "path": "/var/app/images"}


def test_instance_folder_config(tmp_path: Path) -> None:
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "application.cfg").write_text("GREETING = 'instance'\n")
    app = Microframe(__name__, instance_path=str(tmp_path / "instance"), instance_relative_config=True)
    app.config.from_pyfile("application.cfg", silent=True)
    assert app.config["GREETING"] == "instance"
    assert app.config.from_pyfile("missing.cfg", silent=True) is False


# -- testing -----------------------------------------------------------------------------------


def test_the_testing_page(tmp_path: Path) -> None:
    import io

    app = Microframe(__name__)
    app.config.update(TESTING=True, SECRET_KEY="dev")

    @app.route("/login", methods=["POST"])
    def login() -> Any:
        session["user_id"] = request.form["id"]
        from microframe import redirect

        return redirect("/")

    @app.route("/")
    def index() -> str:
        return f"user {session.get('user_id')}"

    @app.route("/upload", methods=["POST"])
    def upload() -> Any:
        file = request.files["picture"]
        return {"name": file.filename, "size": len(file.read())}

    @app.route("/json", methods=["POST"])
    def json_view() -> Any:
        return {"got": request.json}

    client = app.test_client()
    response = client.post("/login", data={"id": "7"}, follow_redirects=True)
    assert len(response.history) == 1
    assert response.request.path == "/"
    assert response.text == "user 7"
    with client:
        client.get("/")
        assert session["user_id"] == "7"
    with client.session_transaction() as sess:
        sess["user_id"] = "9"
    assert client.get("/").text == "user 9"
    uploaded = client.post("/upload", data={"picture": (io.BytesIO(b"png"), "picture.png")})
    assert uploaded.json == {"name": "picture.png", "size": 3}
    assert client.post("/json", json={"a": 1}).json == {"got": {"a": 1}}
    assert client.post("/upload", data={}).status_code == 400


# -- async and await ----------------------------------------------------------------------------


def test_an_async_view_and_an_extension_decorator() -> None:
    app = Microframe(__name__)

    def extension(func: Any) -> Any:
        @wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            g.extension_ran = True
            return current_app.ensure_sync(func)(*args, **kwargs)

        return wrapper

    @app.route("/get-data")
    async def get_data() -> str:
        await asyncio.sleep(0)
        return "data"

    @app.route("/wrapped/<int:n>")
    @extension
    async def wrapped(n: int) -> str:
        await asyncio.sleep(0)
        return f"wrapped {n} {g.extension_ran}"

    @app.before_request
    async def async_hook() -> None:
        g.hooked = True

    client = app.test_client()
    assert client.get("/get-data").text == "data"
    assert client.get("/wrapped/3").text == "wrapped 3 True"
