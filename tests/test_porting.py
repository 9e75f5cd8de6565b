"""Flask-style code on microframe: sync views see everything, sync tests port as they are."""

from __future__ import annotations

import asyncio
import io
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import click
import pytest

from microframe import (
    Microframe,
    g,
    make_response,
    render_template,
    render_template_string,
    request,
    send_file,
    send_from_directory,
    session,
)
from microframe.globals import _cv_app, _cv_request
from microframe.sync import AwaitableValue

HERE = Path(__file__).parent


@pytest.fixture
def app() -> Microframe:
    app = Microframe(__name__, static_folder=str(HERE / "static"))
    app.config.update(TESTING=True, SECRET_KEY="porting")
    return app


def _body(name: str) -> dict[str, Any]:
    """Everything a sync view can read from the request body, read directly."""
    form, files, values = request.form, request.files, request.values
    upload = files.get("upload")
    return {
        "where": name,
        "form": form.to_dict(),
        "values": values.to_dict(),
        "files": upload.read().decode() if upload else None,
        "sync": not isinstance(form, AwaitableValue),
    }


# -- sync views see everything ---------------------------------------------------------


def test_sync_view_reads_form_files_values(app: Microframe) -> None:
    @app.post("/form")
    def form_view() -> Any:
        return _body("view")

    client = app.test_client()
    response = client.post(
        "/form?q=1", data={"name": "Ada", "upload": (io.BytesIO(b"file body"), "a.txt")}
    )
    assert response.json == {
        "where": "view",
        "form": {"name": "Ada"},
        "values": {"name": "Ada", "q": "1"},
        "files": "file body",
        "sync": True,
    }


def test_sync_view_reads_data_and_json(app: Microframe) -> None:
    @app.post("/raw")
    def raw() -> Any:
        assert request.data == b'{"a": 1}'
        assert request.get_data(as_text=True) == '{"a": 1}'
        return {"json": request.get_json(), "prop": request.json}

    client = app.test_client()
    response = client.post("/raw", data='{"a": 1}', headers={"Content-Type": "application/json"})
    assert response.json == {"json": {"a": 1}, "prop": {"a": 1}}


def test_sync_hooks_and_error_handlers_read_the_body(app: Microframe) -> None:
    seen: list[Any] = []

    @app.before_request
    def before() -> None:
        seen.append(("before", request.form.get("name")))

    @app.post("/fail")
    def fail() -> Any:
        raise LookupError()

    @app.errorhandler(LookupError)
    def handle(error: LookupError) -> Any:
        return _body("handler"), 409

    @app.after_request
    def after(response: Any) -> Any:
        seen.append(("after", request.values.get("name"), request.get_json(silent=True)))
        return response

    response = app.test_client().post("/fail", data={"name": "Ada"})
    assert response.status_code == 409
    assert response.json["form"] == {"name": "Ada"}
    assert seen == [("before", "Ada"), ("after", "Ada", None)]


async def test_async_view_awaits_the_same_names(app: Microframe) -> None:
    @app.post("/async")
    async def view() -> Any:
        form = await request.form
        files = await request.files
        values = await request.values
        return {
            "form": form.to_dict(),
            "values": values.to_dict(),
            "files": sorted(files),
            "data": (await request.get_data()).decode(),
        }

    @app.post("/json")
    async def json_view() -> Any:
        return {"json": await request.get_json(), "data": (await request.data).decode()}

    client = app.test_client()
    response = await client.post("/async?q=1", form={"a": "1"})
    assert await response.get_json() == {
        "form": {"a": "1"},
        "values": {"a": "1", "q": "1"},
        "files": [],
        "data": "",
    }
    response = await client.post("/json", json=[1])
    assert await response.get_json() == {"json": [1], "data": "[1]"}


@pytest.mark.parametrize(
    ("use", "message", "body"),
    [
        (
            lambda: request.form["x"],
            r"request.form must be awaited in async code: use \(await request.form\)\[...\]",
            "form",
        ),
        (lambda: request.form.get("x"), r"use \(await request.form\).get\(...\)", "form"),
        (lambda: "x" in request.files, r"request.files must be awaited", "form"),
        (lambda: list(request.values), r"request.values must be awaited", "form"),
        (lambda: bool(request.get_json()), r"request.get_json\(\) must be awaited", "json"),
        (lambda: request.json["a"], r"request.json must be awaited", "json"),
        (lambda: request.data.decode(), r"use \(await request.data\).decode", "json"),
        (lambda: len(request.get_data()), r"request.get_data\(\) must be awaited", "json"),
    ],
)
async def test_async_misuse_says_to_await(
    app: Microframe, use: Any, message: str, body: str
) -> None:
    @app.post("/")
    async def view() -> str:
        with pytest.raises(RuntimeError, match=message):
            use()
        return "checked"

    client = app.test_client()
    if body == "form":
        response = await client.post("/", form={"a": "1"})
    else:
        response = await client.post("/", json={"a": 1})
    assert await response.get_data(as_text=True) == "checked"


async def test_a_form_already_read_is_usable_without_await(app: Microframe) -> None:
    # Once read (or when the body is no form), request.form, .files and
    # .values may be used directly in async code too, as templates do.
    @app.route("/", methods=["GET", "POST"])
    async def view() -> Any:
        if request.method == "POST":
            form = await request.form
            assert request.form["a"] == form["a"] == "1"
            assert await request.form is form
            assert request.values["q"] == "2"
            assert "a" in request.values
            assert not request.files
        else:
            assert request.form.get("a") is None
            assert len(request.form) == 0
            assert await request.form == {}
        return await render_template_string("{{ request.form.get('a', 'none') }}")

    client = app.test_client()
    response = await client.post("/?q=2", form={"a": "1"})
    assert await response.get_data(as_text=True) == "1"
    response = await client.get("/")
    assert await response.get_data(as_text=True) == "none"


async def test_awaitable_value_works_with_asyncio(app: Microframe) -> None:
    @app.post("/")
    async def view() -> Any:
        pending = request.get_json()
        assert "await request.get_json()" in repr(pending)
        assert pending.cr_code is not None  # introspection passes through
        first, second = await asyncio.gather(pending, asyncio.create_task(request.form))
        return {"json": first, "form": second.to_dict()}

    response = await app.test_client().post("/", json={"a": 1})
    assert await response.get_json() == {"json": {"a": 1}, "form": {}}


def test_render_send_and_make_response_in_sync_views(app: Microframe) -> None:
    app.template_folder = str(HERE / "templates")

    @app.get("/string")
    def string() -> Any:
        response = make_response(render_template_string("Hi {{ name }}", name="Ada"), 201)
        response.headers["X-Sync"] = "yes"
        return response

    @app.get("/template")
    def template() -> Any:
        return render_template("hello.html", name="Ada")

    @app.get("/file")
    def file() -> Any:
        return send_file(HERE / "static" / "style.css")

    @app.get("/dir")
    def directory() -> Any:
        return send_from_directory(HERE / "static", "sub/data.txt")

    client = app.test_client()
    response = client.get("/string")
    assert (response.status_code, response.text, response.headers["X-Sync"]) == (201, "Hi Ada", "yes")
    assert "Ada" in client.get("/template").text
    assert client.get("/file").data == (HERE / "static" / "style.css").read_bytes()
    assert client.get("/dir").data == (HERE / "static" / "sub" / "data.txt").read_bytes()


def test_sqlite_on_g_shares_the_request_thread(app: Microframe, tmp_path: Path) -> None:
    threads: dict[str, int] = {}

    def get_db() -> sqlite3.Connection:
        if "db" not in g:
            g.db = sqlite3.connect(tmp_path / "db.sqlite")  # check_same_thread=True
        return g.db  # type: ignore[no-any-return]

    @app.before_request
    def before() -> None:
        threads["before"] = threading.get_ident()
        get_db().execute("create table if not exists t (x)")

    @app.get("/")
    def index() -> str:
        threads["view"] = threading.get_ident()
        get_db().execute("insert into t values (1)")
        return str(get_db().execute("select count(*) from t").fetchone()[0])

    @app.after_request
    def after(response: Any) -> Any:
        threads["after"] = threading.get_ident()
        get_db().commit()
        return response

    @app.teardown_request
    def teardown_request(exc: BaseException | None) -> None:
        threads["teardown_request"] = threading.get_ident()

    @app.teardown_appcontext
    def close_db(exc: BaseException | None) -> None:
        threads["teardown"] = threading.get_ident()
        db = g.pop("db", None)
        if db is not None:
            db.close()

    client = app.test_client()
    assert client.get("/").text == "1"
    assert client.get("/").text == "2"
    assert len(set(threads.values())) == 1
    assert threads["view"] != threading.get_ident()
    # A plain 'with' in a sync test tears down on the test's own thread.
    with app.app_context():
        assert get_db().execute("select count(*) from t").fetchone()[0] == 2
    assert threads["teardown"] == threading.get_ident()
    with app.test_request_context("/"):
        get_db().execute("select 1")
    assert threads["teardown_request"] == threading.get_ident()


async def test_blocking_sync_view_does_not_block_async_views(app: Microframe) -> None:
    app.config["SYNC_WORKERS"] = 1
    release = threading.Event()

    @app.get("/block")
    def block() -> str:
        release.wait(5)
        return "unblocked"

    @app.get("/fast")
    async def fast() -> str:
        return "fast"

    client = app.test_client()
    blocked = asyncio.ensure_future(client.get("/block"))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    fast_response = await asyncio.wait_for(client.get("/fast"), 2)
    assert await fast_response.get_data(as_text=True) == "fast"
    assert time.monotonic() - started < 1
    assert not blocked.done()
    release.set()
    assert await (await blocked).get_data(as_text=True) == "unblocked"
    assert app.sync_pool.max_workers == 1
    await app.shutdown()


# -- tests that port as they are ---------------------------------------------------------


def test_sync_client_returns_finished_responses(app: Microframe) -> None:
    @app.get("/json")
    def data() -> Any:
        return {"a": 1}, 201, {"X-Test": "t"}

    client = app.test_client()
    response = client.get("/json")
    assert response.status_code == 201
    assert response.status == "201 CREATED"
    assert response.headers["X-Test"] == "t"
    assert response.json == {"a": 1}
    assert response.get_json() == {"a": 1}
    assert response.data == b'{"a":1}\n'
    assert response.text == '{"a":1}\n'
    assert response.get_data(as_text=True) == response.text
    assert response.mimetype == "application/json"


def _login_app(app: Microframe) -> Microframe:
    @app.before_request
    def load_user() -> None:
        g.user = session.get("user")

    @app.post("/login")
    def login() -> str:
        session["user"] = request.form["name"]
        return "ok"

    @app.get("/whoami")
    def whoami() -> str:
        return g.user or "nobody"

    return app


def test_with_client_preserves_contexts(app: Microframe) -> None:
    client = _login_app(app).test_client()
    torn: list[str] = []

    @app.teardown_request
    def note(exc: BaseException | None) -> None:
        torn.append(request.path)

    with client:
        client.post("/login", data={"name": "ada"})
        assert request.path == "/login"
        assert session["user"] == "ada"
        client.get("/whoami?x=1")
        assert request.path == "/whoami"
        assert request.args["x"] == "1"
        assert g.user == "ada"
        # Flask runs teardown at the end of the request and again when the
        # preserved context is popped.
        assert torn == ["/login", "/login", "/whoami"]
    assert torn[-1] == "/whoami"
    assert _cv_request.get(None) is None
    assert _cv_app.get(None) is None
    # Outside the block nothing is kept.
    client.get("/whoami")
    assert _cv_request.get(None) is None


def test_with_client_cannot_nest(app: Microframe) -> None:
    client = app.test_client()
    with client, pytest.raises(RuntimeError, match="nest"):
        client.__enter__()


def test_with_client_keeps_the_last_context_after_an_error_handler(app: Microframe) -> None:
    @app.get("/missing")
    def missing() -> str:
        g.tried = True
        return "gone", 404

    client = app.test_client()
    with client:
        assert client.get("/missing").status_code == 404
        assert g.tried is True


async def test_async_with_client_preserves_contexts(app: Microframe) -> None:
    client = _login_app(app).test_client()
    async with client:
        await client.post("/login", form={"name": "bob"})
        response = await client.get("/whoami")
        assert await response.get_data(as_text=True) == "bob"
        assert g.user == "bob"
        assert request.path == "/whoami"
    assert _cv_request.get(None) is None


async def test_with_client_in_async_code_says_use_async_with(app: Microframe) -> None:
    with pytest.raises(RuntimeError, match="async with client"):
        app.test_client().__enter__()


def test_session_transaction_as_plain_with(app: Microframe) -> None:
    client = _login_app(app).test_client()
    with client.session_transaction() as sess:
        sess["user"] = "cy"
    assert client.get("/whoami").text == "cy"
    with client.session_transaction() as sess:
        assert sess["user"] == "cy"


def test_cli_runner_from_sync_test(app: Microframe) -> None:
    @app.cli.command("hello")
    @click.option("--name", default="World")
    def hello(name: str) -> None:
        click.echo(f"Hello, {name}!")

    result = app.test_cli_runner().invoke(args=["hello", "--name", "Ada"])
    assert result.exit_code == 0, result.output
    assert "Hello, Ada!" in result.output


def test_contexts_as_plain_with_blocks(app: Microframe) -> None:
    @app.route("/", methods=["GET", "POST"])
    def index() -> str:
        return "x"

    with app.app_context():
        g.value = 1
        assert g.value == 1
    with app.test_request_context("/?name=Ada", method="POST", data={"f": "1"}):
        assert request.args["name"] == "Ada"
        assert request.form["f"] == "1"
        assert request.endpoint == "index"
        session["k"] = "v"
        assert session["k"] == "v"
    assert _cv_app.get(None) is None
