"""Quart's how-to guides about the app around the views, as a user following
them writes them: background tasks, startup and shutdown, testing, templates,
JSON encoding and blueprints."""

from __future__ import annotations

import asyncio
import os
import threading
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
import pytest

from microframe import (
    Blueprint,
    Microframe,
    current_app,
    g,
    has_app_context,
    render_template,
    render_template_string,
    request,
    stream_template_string,
)
from microframe.json.provider import DefaultJSONProvider

# -- background tasks ---------------------------------------------------------------------


def _jobs_app(app: Microframe, done: list[str]) -> Microframe:
    async def background_task(name: str) -> None:
        await asyncio.sleep(0.05)
        done.append(f"async {name} in {current_app.name}")

    def blocking_task(name: str) -> None:
        on_main = threading.current_thread() is threading.main_thread()
        done.append(f"sync {name} on {'main' if on_main else 'worker'}")

    @app.route("/jobs/", methods=["POST"])
    async def create_job() -> tuple[str, int]:
        app.add_background_task(background_task, (await request.get_json())["name"])
        app.add_background_task(blocking_task, name="b")
        return "Job created", 202

    return app


async def test_background_tasks_finish_when_the_test_app_ends(app: Microframe) -> None:
    done: list[str] = []
    _jobs_app(app, done)
    async with app.test_app() as test_app:
        response = await test_app.test_client().post("/jobs/", json={"name": "a"})
        assert response.status_code == 202
        assert await response.get_data() == b"Job created"
    assert sorted(done) == [f"async a in {app.name}", "sync b on worker"]
    # A bad body fails the request, and no task is started.
    async with app.test_app() as test_app:
        bad = await test_app.test_client().post("/jobs/", data="x", content_type="application/json")
        assert bad.status_code == 400
    assert len(done) == 2


def test_background_tasks_from_a_sync_view(app: Microframe) -> None:
    done: list[str] = []

    def work() -> None:
        done.append(f"had app context: {has_app_context()}")

    @app.post("/sync-job")
    def sync_job() -> tuple[str, int]:
        app.add_background_task(work)
        return "queued", 202

    async def run() -> None:
        async with app.test_app() as test_app:
            assert (await test_app.test_client().post("/sync-job")).status_code == 202

    asyncio.run(run())
    assert done == ["had app context: True"]


# -- startup and shutdown ------------------------------------------------------------------


async def test_before_while_and_after_serving(app: Microframe) -> None:
    events: list[str] = []

    class Pool:
        async def close(self) -> None:
            events.append("pool closed")

    @app.before_serving
    async def create_db_pool() -> None:
        app.db_pool = Pool()  # type: ignore[attr-defined]
        events.append("pool created")

    @app.while_serving
    async def lifespan() -> Any:
        events.append("lifespan start")
        yield
        events.append("lifespan end")

    @app.after_serving
    async def close_db_pool() -> None:
        await app.db_pool.close()  # type: ignore[attr-defined]

    @app.before_serving
    def sync_startup() -> None:
        events.append(f"sync startup, app context: {has_app_context()}")

    @app.route("/")
    async def index() -> str:
        return type(app.db_pool).__name__  # type: ignore[attr-defined]

    async with app.test_app() as test_app:
        # As Quart: the before_serving functions, then the while_serving generators.
        assert events == ["pool created", "sync startup, app context: True", "lifespan start"]
        assert await (await test_app.test_client().get("/")).get_data() == b"Pool"
    assert events[-2:] == ["lifespan end", "pool closed"]


async def test_a_failing_startup_fails_the_test_app(app: Microframe) -> None:
    @app.before_serving
    async def broken() -> None:
        raise RuntimeError("no database")

    with pytest.raises(RuntimeError, match="no database"):
        async with app.test_app():
            pass


# -- testing -------------------------------------------------------------------------------


async def test_the_test_client_with_quarts_arguments(app: Microframe) -> None:
    @app.route("/", methods=["GET", "POST"])
    async def index() -> Any:
        if request.method == "POST":
            form = await request.form
            files = await request.files
            return {
                "form": dict(form),
                "file": (files["f"].read().decode() if "f" in files else None),
                "json": await request.get_json(silent=True),
            }
        return {"args": request.args.to_dict()}

    client = app.test_client()
    response = await client.get("/", query_string={"a": "b"})
    assert await response.get_json() == {"args": {"a": "b"}}
    posted = await client.post("/", form={"x": "1"})
    assert (await posted.get_json())["form"] == {"x": "1"}
    posted = await client.post("/", json={"y": 2})
    assert (await posted.get_json())["json"] == {"y": 2}
    import io

    from microframe.datastructures import FileStorage

    posted = await client.post(
        "/", form={"x": "2"}, files={"f": FileStorage(io.BytesIO(b"data"), filename="f.txt")}
    )
    assert await posted.get_json() == {"form": {"x": "2"}, "file": "data", "json": None}
    assert (await client.put("/")).status_code == 405
    assert (await client.get("/missing")).status_code == 404


async def test_test_request_context_in_async_code(app: Microframe) -> None:
    @app.route("/")
    async def index() -> str:
        return request.args.get("name", "")

    async with app.test_request_context("/?name=ann", method="GET"):
        assert request.args["name"] == "ann"
        assert await current_app.dispatch_request() == "ann"
        g.thing = 1
        assert g.thing == 1


def test_the_cli_runner(app: Microframe) -> None:
    @app.cli.command("hello")
    @click.option("--name", default="World")
    def hello_command(name: str) -> None:
        click.echo(f"Hello, {name}!")

    runner = app.test_cli_runner()
    before = dict(os.environ)
    assert runner.invoke(args=["hello"]).output == "Hello, World!\n"
    # The process's environment is left as it was (an app.run() later in
    # the tests, or a server they start, must not think the command serves it).
    assert dict(os.environ) == before
    assert runner.invoke(args=["hello", "--name", "Quart"]).output == "Hello, Quart!\n"
    assert runner.invoke(args=["hello", "--bad"]).exit_code == 2


# -- templates ------------------------------------------------------------------------------


async def test_templates_async_rendering_and_context(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "base.html").write_text(
        "<title>{% block title %}{% endblock %}</title>{% block body %}{% endblock %}"
    )
    (tmp_path / "templates" / "page.html").write_text(
        '{% extends "base.html" %}{% block title %}{{ title|shout }}{% endblock %}'
        "{% block body %}{{ user }} {{ request.path }}{% endblock %}"
    )
    app = Microframe(__name__, root_path=str(tmp_path))

    @app.context_processor
    async def inject_user() -> dict[str, str]:
        return {"user": "ann"}

    @app.template_filter()
    def shout(value: str) -> str:
        return value.upper()

    @app.route("/")
    async def index() -> str:
        return await render_template("page.html", title="home")

    @app.route("/string")
    async def string() -> str:
        return await render_template_string("{{ 1 + 2 }} <{{ user }}>")

    @app.route("/stream")
    async def stream() -> Any:
        return await stream_template_string("{% for i in items %}{{ i }}{% endfor %}", items=range(3))

    client = app.test_client()
    assert await (await client.get("/")).get_data(as_text=True) == "<title>HOME</title>ann /"
    assert await (await client.get("/string")).get_data(as_text=True) == "3 <ann>"
    assert await (await client.get("/stream")).get_data(as_text=True) == "012"


# -- JSON encoding ---------------------------------------------------------------------------


@dataclass
class Money:
    amount: Decimal
    currency: str


class MoneyJSONProvider(DefaultJSONProvider):
    """The guide's provider: extra types in ``default``."""

    @staticmethod
    def default(object_: Any) -> Any:
        if isinstance(object_, date):
            return object_.isoformat()
        if isinstance(object_, Money):
            return f"{object_.amount} {object_.currency}"
        return DefaultJSONProvider.default(object_)


@pytest.mark.parametrize("how", ["class", "instance"])
async def test_a_custom_json_provider(how: str) -> None:
    if how == "class":

        class App(Microframe):
            json_provider_class = MoneyJSONProvider

        app: Microframe = App(__name__)
    else:
        app = Microframe(__name__)
        app.json = MoneyJSONProvider(app)

    @app.route("/")
    async def index() -> Any:
        return {"price": Money(Decimal("9.99"), "EUR"), "day": date(2024, 1, 2)}

    @app.route("/bad")
    async def bad() -> Any:
        return {"set": {1, 2}}

    client = app.test_client()
    assert await (await client.get("/")).get_json() == {"price": "9.99 EUR", "day": "2024-01-02"}
    # Other types still fail, as the default provider's default() raises.
    assert (await client.get("/bad")).status_code == 500
    app.testing = True
    with pytest.raises(TypeError):
        await client.get("/bad")


async def test_json_provider_options(app: Microframe) -> None:
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.compact = True  # type: ignore[attr-defined]

    @app.route("/")
    async def index() -> Any:
        return {"b": 1, "a": 2}

    assert await (await app.test_client().get("/")).get_data() == b'{"b":1,"a":2}\n'


# -- blueprints -------------------------------------------------------------------------------


async def test_blueprints_with_prefix_hooks_errors_and_websockets(app: Microframe) -> None:
    from microframe import websocket

    blueprint = Blueprint("blog", __name__, url_prefix="/blog")
    calls: list[str] = []

    @blueprint.before_request
    async def before() -> None:
        calls.append("blog before")

    @blueprint.route("/")
    async def index() -> str:
        return "blog index"

    @blueprint.route("/<int:post>")
    async def post(post: int) -> str:
        if post > 10:
            from microframe import abort

            abort(404)
        return f"post {post}"

    @blueprint.errorhandler(404)
    async def not_found(error: Exception) -> tuple[str, int]:
        return "no such post", 404

    @blueprint.websocket("/live")
    async def live() -> None:
        await websocket.send("live")

    app.register_blueprint(blueprint)

    @app.route("/")
    async def home() -> str:
        return "home"

    client = app.test_client()
    assert await (await client.get("/blog/")).get_data() == b"blog index"
    assert await (await client.get("/blog/3")).get_data() == b"post 3"
    missing = await client.get("/blog/11")
    assert (missing.status_code, await missing.get_data()) == (404, b"no such post")
    assert await (await client.get("/")).get_data() == b"home"
    assert calls == ["blog before"] * 3
    async with client.websocket("/blog/live") as ws:
        assert await ws.receive() == "live"
