from __future__ import annotations

import logging
import os
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import jinja2
import pytest
from jinja2 import Template, TemplateNotFound, TemplatesNotFound
from markupsafe import Markup

from microframe import (
    Blueprint,
    Microframe,
    before_render_template,
    g,
    get_template_attribute,
    render_template,
    render_template_string,
    request,
    session,
    stream_template,
    stream_template_string,
    template_rendered,
)
from microframe.templating import DispatchingJinjaLoader, Environment

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"


@pytest.fixture
def app() -> Microframe:
    app = Microframe(__name__, root_path=str(HERE))
    app.config.update(TESTING=True, SECRET_KEY="secret", GREETING="hi")

    @app.get("/")
    async def index() -> str:
        return "index"

    return app


def make_blueprint() -> Blueprint:
    return Blueprint(
        "admin",
        __name__,
        url_prefix="/admin",
        template_folder="templates/admin_bp",
        root_path=str(HERE),
    )


async def get_text(app: Microframe, path: str) -> str:
    response = await app.test_client().get(path)
    assert response.status_code == 200, await response.get_data(as_text=True)
    text: str = await response.get_data(as_text=True)
    return text


# -- rendering ---------------------------------------------------------------------


async def test_render_template_from_file(app: Microframe) -> None:
    async with app.app_context():
        assert await render_template("hello.html", name="Ada") == "Hello Ada!"


# Jinja's own sync render of the app's templates, as Flask code calls it
# (mail bodies, widgets rendering templates while a page renders).


def test_jinja_render_of_app_templates_nests_in_a_sync_view(app: Microframe) -> None:
    env = app.jinja_env

    @app.get("/nested")
    def nested() -> str:
        inner = env.from_string("({{ x }})")
        outer = env.from_string("[{{ f() }}|{{ g2() }}]")
        hello = env.get_template("hello.html")
        return outer.render(f=lambda: inner.render(x=1), g2=lambda: hello.render(name="Ada"))

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "coroutine ... never awaited"
        response = app.test_client().get("/nested")
    assert response.status_code == 200
    assert response.text == "[(1)|Hello Ada!]"


async def test_jinja_render_of_app_templates_in_async_code(app: Microframe) -> None:
    @app.get("/mail")
    async def mail() -> str:
        body = app.jinja_env.get_template("hello.html").render(name="Bo")
        chunks = list(app.jinja_env.from_string("{% for i in n %}{{ i }}{% endfor %}").generate(n=[1, 2]))
        streamed = "".join(app.jinja_env.get_template("hello.html").stream(name="Cy"))
        return f"{body} {''.join(chunks)} {streamed}"

    assert await get_text(app, "/mail") == "Hello Bo! 12 Hello Cy!"
    # Outside any request or loop (a script, a CLI command):
    assert app.jinja_env.get_template("hello.html").render(name="Di") == "Hello Di!"


async def test_jinja_render_of_a_template_calling_async_functions(app: Microframe) -> None:
    async def fetch() -> str:
        return "fetched"

    template = app.jinja_env.from_string("{{ fetch() }}")

    @app.get("/sync")
    def from_sync() -> str:
        return template.render(fetch=fetch)  # awaited on the request's loop

    @app.get("/async")
    async def from_async() -> str:
        try:
            return template.render(fetch=fetch)
        except RuntimeError as error:
            return str(error)

    assert await get_text(app, "/sync") == "fetched"
    said = await get_text(app, "/async")
    assert "await template.render_async" in said


async def test_render_template_list_uses_first_existing(app: Microframe) -> None:
    async with app.app_context():
        rv = await render_template(["missing.html", "hello.html"], name="Bo")
    assert rv == "Hello Bo!"


async def test_render_template_string(app: Microframe) -> None:
    async with app.app_context():
        assert await render_template_string("{{ a }}+{{ b }}", a=1, b=2) == "1+2"


def test_render_in_plain_sync_code_returns_string(app: Microframe) -> None:
    with app.app_context():
        rv = render_template("hello.html", name="Cy")
        assert rv == "Hello Cy!"
        assert render_template_string("{{ 6 * 7 }}") == "42"


def test_render_outside_app_context_explains() -> None:
    with pytest.raises(RuntimeError, match="application context"):
        render_template_string("x")


async def test_sync_view_renders_directly(app: Microframe) -> None:
    seen: list[Any] = []

    @app.get("/sync")
    def sync_view() -> str:
        rv = render_template("hello.html", name="Sync")
        seen.append(rv)
        return rv + "|" + render_template_string("{{ request.path }}")

    assert await get_text(app, "/sync") == "Hello Sync!|/sync"
    assert isinstance(seen[0], str)


async def test_async_view_renders(app: Microframe) -> None:
    @app.get("/page")
    async def page() -> str:
        return await render_template("hello.html", name="Async")

    assert await get_text(app, "/page") == "Hello Async!"


# -- autoescape ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extension", "escaped"),
    [("html", True), ("htm", True), ("xml", True), ("xhtml", True), ("svg", True), ("txt", False)],
)
async def test_autoescape_by_extension(app: Microframe, extension: str, escaped: bool) -> None:
    async with app.app_context():
        rv = await render_template(f"autoescape/value.{extension}", value="<b>")
    assert rv == ("&lt;b&gt;" if escaped else "<b>")


async def test_string_templates_autoescape(app: Microframe) -> None:
    async with app.app_context():
        assert await render_template_string("{{ v }}", v="<i>") == "&lt;i&gt;"
        assert await render_template_string("{{ v }}", v=Markup("<i>")) == "<i>"
        assert await render_template_string("{{ v|safe }}", v="<i>") == "<i>"


def test_select_jinja_autoescape(app: Microframe) -> None:
    assert app.select_jinja_autoescape(None)
    assert app.select_jinja_autoescape("a/b.svg")
    assert not app.select_jinja_autoescape("mail.txt")


# -- the template context ------------------------------------------------------------


async def test_context_globals(app: Microframe) -> None:
    @app.before_request
    def remember() -> None:
        g.user = "ada"
        session["name"] = "Ada"

    @app.get("/ctx")
    async def ctx() -> str:
        return await render_template("context.html")

    assert await get_text(app, "/ctx") == "/ctx|ada|hi|/|Ada"


async def test_context_globals_in_sync_view(app: Microframe) -> None:
    @app.get("/ctx")
    def ctx() -> str:
        g.user = "sync"
        session["name"] = "Sy"
        return render_template("context.html")

    assert await get_text(app, "/ctx") == "/ctx|sync|hi|/|Sy"


async def test_globals_are_the_context_objects(app: Microframe) -> None:
    async with app.test_request_context("/x?q=1"):
        assert await render_template_string("{{ request.args.q }}") == "1"
        seen: dict[str, Any] = {}

        def receiver(sender: Any, template: Template, context: dict[str, Any]) -> None:
            seen.update(context)

        with template_rendered.connected_to(receiver):
            await render_template_string("{{ request.path }}")
        assert seen["request"] is request._get_current_object()  # type: ignore[attr-defined]
        assert seen["g"] is g._get_current_object()  # type: ignore[attr-defined]


async def test_get_flashed_messages_is_available(app: Microframe) -> None:
    async with app.test_request_context("/"):
        assert await render_template_string("{{ get_flashed_messages() | list }}") == "[]"


async def test_context_processors_sync_and_async(app: Microframe) -> None:
    @app.context_processor
    def sync_processor() -> dict[str, Any]:
        return {"a": "sync", "shadowed": "processor"}

    @app.context_processor
    async def async_processor() -> dict[str, Any]:
        return {"b": "async"}

    @app.get("/p")
    async def p() -> str:
        return await render_template_string("{{ a }} {{ b }} {{ shadowed }}", shadowed="view")

    @app.get("/sp")
    def sp() -> str:
        return render_template_string("{{ a }} {{ b }} {{ shadowed }}", shadowed="view")

    assert await get_text(app, "/p") == "sync async view"
    assert await get_text(app, "/sp") == "sync async view"


async def test_context_processors_are_listed_as_flask_lists_them(app: Microframe) -> None:
    # Flask's own processor (g and request) comes first; extensions append
    # theirs after it (Flask-Moment's tests index the list so).
    @app.context_processor
    def extension() -> dict[str, Any]:
        return {"ext": "yes"}

    default, added = app.template_context_processors[None]
    assert default.__name__ == "_default_template_ctx_processor"
    assert added is extension

    @app.get("/both")
    async def both() -> str:
        g.who = "g"
        return await render_template_string("{{ g.who }} {{ request.path }} {{ ext }}")

    assert await get_text(app, "/both") == "g /both yes"
    assert make_blueprint().template_context_processors[None] == []  # the app's alone


def test_context_processors_in_plain_sync_code(app: Microframe) -> None:
    @app.context_processor
    async def async_processor() -> dict[str, Any]:
        return {"b": "async"}

    with app.app_context():
        assert render_template_string("{{ b }}") == "async"


async def test_sync_context_processor_runs_on_request_thread(app: Microframe) -> None:
    import threading

    threads: list[int] = []

    @app.context_processor
    def processor() -> dict[str, Any]:
        threads.append(threading.get_ident())
        return {}

    @app.get("/t")
    def view() -> str:
        threads.append(threading.get_ident())
        return render_template_string("x")

    @app.get("/a")
    async def async_view() -> str:
        threads.append(threading.get_ident())
        return await render_template_string("x")

    await get_text(app, "/t")
    assert threads[0] == threads[1]
    threads.clear()
    await get_text(app, "/a")
    assert threads[0] != threads[1]  # the async view runs on the loop, the processor off it


async def test_blueprint_context_processors_are_scoped(app: Microframe) -> None:
    bp = make_blueprint()

    @bp.context_processor
    def bp_only() -> dict[str, Any]:
        return {"where": "admin"}

    @bp.app_context_processor
    def everywhere() -> dict[str, Any]:
        return {"all": "yes"}

    @bp.get("/")
    async def admin_index() -> str:
        return await render_template_string("{{ where }}/{{ all }}")

    @app.get("/plain")
    async def plain() -> str:
        return await render_template_string("{{ where }}/{{ all }}")

    app.register_blueprint(bp)
    assert await get_text(app, "/admin/") == "admin/yes"
    assert await get_text(app, "/plain") == "/yes"


async def test_context_processors_changed_while_serving_apply_at_once(app: Microframe) -> None:
    # The processors are taken once per blueprint chain; an extension may
    # still append one (or a test remove it) after the first request.
    @app.get("/v")
    async def view() -> str:
        return await render_template_string("[{{ late }}]")

    assert await get_text(app, "/v") == "[]"

    def late() -> dict[str, Any]:
        return {"late": "here"}

    app.template_context_processors[None].append(late)
    assert await get_text(app, "/v") == "[here]"
    app.template_context_processors[None].remove(late)
    assert await get_text(app, "/v") == "[]"
    async with app.app_context():  # outside a request: the app's own, as they are now
        app.template_context_processors[None].append(late)
        assert await render_template_string("[{{ late }}]") == "[here]"


# -- filters, tests and globals ------------------------------------------------------------


async def test_filters_tests_globals_by_decorator(app: Microframe) -> None:
    @app.template_filter()
    def shout(value: str) -> str:
        return value.upper()

    @app.template_filter("rev")
    def reverse(value: str) -> str:
        return value[::-1]

    @app.template_test()
    def even(value: int) -> bool:
        return value % 2 == 0

    @app.template_global()
    def answer() -> int:
        return 42

    async with app.app_context():
        rv = await render_template_string(
            "{{ 'ab'|shout }} {{ 'ab'|rev }} {{ 2 is even }} {{ 3 is even }} {{ answer() }}"
        )
    assert rv == "AB ba True False 42"


async def test_filters_tests_globals_by_add_methods(app: Microframe) -> None:
    app.add_template_filter(lambda v: f"<{v}>", name="wrap")
    app.add_template_test(lambda v: v == 7, name="lucky")
    app.add_template_global(lambda: "hello", name="greet")
    async with app.app_context():
        rv = await render_template_string("{{ 'x'|wrap }} {{ 7 is lucky }} {{ greet() }}")
    assert rv == "&lt;x&gt; True hello"


async def test_blueprint_app_template_filters(app: Microframe) -> None:
    bp = make_blueprint()

    @bp.app_template_filter("double")
    def double(value: int) -> int:
        return value * 2

    @bp.app_template_global()
    def bp_global() -> str:
        return "bp"

    @bp.app_template_test("odd")
    def odd(value: int) -> bool:
        return value % 2 == 1

    app.register_blueprint(bp)
    async with app.app_context():
        assert await render_template_string("{{ 2|double }} {{ bp_global() }} {{ 3 is odd }}") == "4 bp True"


async def test_async_global_renders_async_in_async_and_sync_code(app: Microframe) -> None:
    @app.template_global()
    async def fetch() -> str:
        return "fetched"

    @app.get("/s")
    def sync_view() -> str:
        return render_template_string("{{ fetch() }}")

    @app.get("/a")
    async def async_view() -> str:
        return await render_template_string("{{ fetch() }}")

    assert await get_text(app, "/a") == "fetched"
    assert await get_text(app, "/s") == "fetched"


async def test_async_context_values_render_async(app: Microframe) -> None:
    async def numbers() -> AsyncIterator[int]:
        for n in range(3):
            yield n

    async def lookup() -> str:
        return "looked up"

    async with app.app_context():
        rv = await render_template_string(
            "{% for n in items %}{{ n }}{% endfor %} {{ lookup() }}", items=numbers(), lookup=lookup
        )
    assert rv == "012 looked up"


async def test_sync_templates_are_rendered_from_the_sync_twin(app: Microframe) -> None:
    used: list[Template] = []

    def receiver(sender: Any, template: Template, context: dict[str, Any]) -> None:
        used.append(template)

    async def coro_func() -> str:
        return "c"

    with before_render_template.connected_to(receiver):
        async with app.app_context():
            await render_template("hello.html", name="x")
            await render_template_string("{{ f() }}", f=coro_func)
    assert used[0].environment is app.jinja_env.sync_twin
    assert not used[0].environment.is_async
    assert used[1].environment is app.jinja_env
    assert app.jinja_env.is_async


@pytest.mark.parametrize("change", ["setitem", "update", "add_template_global", "assign"])
async def test_a_global_replaced_by_a_coroutine_function_renders_awaited(
    app: Microframe, change: str
) -> None:
    def plain() -> str:
        return "plain"

    async def awaited() -> str:
        return "awaited"

    app.add_template_global(plain, "value")
    async with app.app_context():
        assert await render_template_string("{{ value() }}") == "plain"
        env = app.jinja_env
        # The same name, so the count of globals does not change.
        if change == "setitem":
            env.globals["value"] = awaited
        elif change == "update":
            env.globals.update(value=awaited)
        elif change == "add_template_global":
            app.add_template_global(awaited, "value")
        else:
            env.globals = {**env.globals, "value": awaited}
        assert await render_template_string("{{ value() }}!") == "awaited!"
        # And back: sync rendering again.
        env.globals["value"] = plain
        assert await render_template_string("{{ value() }}?") == "plain?"


async def test_the_render_path_follows_each_requests_context_values(app: Microframe) -> None:
    # The same template and name, given a plain function on one request and a
    # coroutine function on the next: each renders its value, never
    # "<coroutine object ...>", whichever render came first.
    async def awaited() -> str:
        return "awaited"

    def plain() -> str:
        return "plain"

    @app.context_processor
    def helper() -> dict[str, Any]:
        return {"helper": awaited if request.args.get("kind") == "async" else plain}

    @app.get("/page")
    async def page() -> str:
        return await render_template_string("<p>{{ helper() }}</p>")

    client = app.test_client()
    for kind, expected in [("sync", "plain"), ("async", "awaited"), ("sync", "plain"), ("async", "awaited")]:
        response = await client.get(f"/page?kind={kind}")
        assert response.status_code == 200
        assert await response.get_data(as_text=True) == f"<p>{expected}</p>"


async def test_an_async_filter_replacing_a_sync_one_is_awaited(app: Microframe) -> None:
    async def shout(value: str) -> str:
        return value.upper()

    app.add_template_filter(str.lower, "shout")
    async with app.app_context():
        assert await render_template_string("{{ 'Hi'|shout }}") == "hi"
        app.jinja_env.filters["shout"] = shout
        assert await render_template_string("{{ 'Hi'|shout }}.") == "HI."


def test_a_replaced_async_global_renders_in_sync_code(app: Microframe) -> None:
    async def awaited() -> str:
        return "awaited"

    app.add_template_global(lambda: "plain", "value")
    with app.app_context():
        assert render_template_string("{{ value() }}") == "plain"
        app.jinja_env.globals["value"] = awaited
        assert render_template_string("{{ value() }}") == "awaited"


def test_add_template_filter_after_first_request_is_refused(app: Microframe) -> None:
    app._got_first_request = True
    with pytest.raises(AssertionError, match="add_template_filter"):
        app.add_template_filter(str.upper, "up")


# -- loading -----------------------------------------------------------------------------


async def test_blueprint_template_folder_app_first(app: Microframe) -> None:
    bp = make_blueprint()

    @bp.get("/")
    async def admin_index() -> str:
        only = await render_template("admin_only.html", name="Ada")
        shared = await render_template("shared.html")
        return f"{only}|{shared}"

    app.register_blueprint(bp)
    assert await get_text(app, "/admin/") == "admin Ada|app"
    assert "admin_only.html" in app.jinja_env.list_templates()


async def test_template_not_found_lists_folders(app: Microframe) -> None:
    app.register_blueprint(make_blueprint())
    async with app.app_context():
        with pytest.raises(TemplateNotFound) as info:
            await render_template("nope.html")
    message = str(info.value)
    assert info.value.name == "nope.html"
    assert "'nope.html'" in message
    assert f"application folder {TEMPLATES}" in message
    assert f"blueprint 'admin' folder {TEMPLATES / 'admin_bp'}" in message


async def test_templates_not_found_lists_names_and_folders(app: Microframe) -> None:
    async with app.app_context():
        with pytest.raises(TemplatesNotFound) as info:
            await render_template(["a.html", "b.html"])
    message = str(info.value)
    assert "'a.html'" in message and "'b.html'" in message
    assert str(TEMPLATES) in message


def test_template_not_found_without_folders(tmp_path: Path) -> None:
    app = Microframe("bare", root_path=str(tmp_path), template_folder=None)
    with app.app_context(), pytest.raises(TemplateNotFound, match="no template folder"):
        render_template("x.html")


def test_missing_folder_is_marked(tmp_path: Path) -> None:
    app = Microframe("bare", root_path=str(tmp_path))
    with app.app_context(), pytest.raises(TemplateNotFound, match=r"templates \(missing\)"):
        render_template("x.html")


def test_explain_template_loading_logs(app: Microframe, caplog: pytest.LogCaptureFixture) -> None:
    app.config["EXPLAIN_TEMPLATE_LOADING"] = True
    app.logger.propagate = True
    app.register_blueprint(make_blueprint())
    with caplog.at_level(logging.INFO, logger=app.logger.name), app.app_context():
        render_template("admin_only.html", name="x")
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "Locating template 'admin_only.html'" in text
    assert f"1: trying loader of application {app.import_name!r}" in text
    assert "2: trying loader of blueprint 'admin'" in text
    assert "-> found (" in text and "admin_only.html')" in text
    assert "could not be found" not in text


def test_explain_template_loading_of_a_missing_template(
    app: Microframe, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["EXPLAIN_TEMPLATE_LOADING"] = True
    app.logger.propagate = True
    app.register_blueprint(make_blueprint())
    with (
        caplog.at_level(logging.INFO, logger=app.logger.name),
        app.app_context(),
        pytest.raises(TemplateNotFound) as info,
    ):
        render_template("nowhere.html")
    assert "nowhere.html" in str(info.value)
    (record,) = [record for record in caplog.records if "Locating" in record.getMessage()]
    text = record.getMessage()
    assert text.count("-> no match") == 2
    assert "Error: the template could not be found." in text


def test_jinja_loader(app: Microframe) -> None:
    assert isinstance(app.jinja_loader, jinja2.FileSystemLoader)
    assert app.jinja_loader.searchpath == [str(TEMPLATES)]
    assert isinstance(app.jinja_env.loader, DispatchingJinjaLoader)
    assert isinstance(app.jinja_env, Environment)


def _write(path: Path, text: str, mtime: int) -> None:
    path.write_text(text)
    os.utime(path, (mtime, mtime))


@pytest.mark.parametrize(("setting", "debug", "reloads"), [(True, False, True), (False, True, False),
                                                          (None, True, True), (None, False, False)])
def test_templates_auto_reload(
    tmp_path: Path, setting: bool | None, debug: bool, reloads: bool
) -> None:
    (tmp_path / "templates").mkdir()
    page = tmp_path / "templates" / "page.html"
    _write(page, "one", 1_000_000)
    app = Microframe("reload", root_path=str(tmp_path))
    app.config["TEMPLATES_AUTO_RELOAD"] = setting
    app.debug = debug
    assert app.templates_auto_reload is reloads
    with app.app_context():
        assert render_template("page.html") == "one"
        _write(page, "two", 2_000_000)
        assert render_template("page.html") == ("two" if reloads else "one")


def test_auto_reload_set_on_environment_wins(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    page = tmp_path / "templates" / "page.html"
    _write(page, "one", 1_000_000)
    app = Microframe("reload", root_path=str(tmp_path))
    app.jinja_env.auto_reload = True
    with app.app_context():
        assert render_template("page.html") == "one"
        _write(page, "two", 2_000_000)
        assert render_template("page.html") == "two"


# -- streaming -----------------------------------------------------------------------------


async def test_stream_template_through_client(app: Microframe) -> None:
    @app.get("/stream")
    async def stream() -> Any:
        return await stream_template("items.html", items=["a", "<b>"])

    @app.get("/stream-string")
    async def stream_string() -> Any:
        return await stream_template_string("{{ request.path }}{% for i in range(3) %}{{ i }}{% endfor %}")

    assert await get_text(app, "/stream") == "[a][&lt;b&gt;]"
    assert await get_text(app, "/stream-string") == "/stream-string012"


async def test_stream_template_yields_chunks(app: Microframe) -> None:
    async def items() -> AsyncIterator[str]:
        yield "x"
        yield "y"

    async with app.app_context():
        stream = await stream_template("items.html", items=items())
        chunks = [chunk async for chunk in stream]
    assert "".join(chunks) == "[x][y]"
    assert len(chunks) > 1


async def test_stream_template_in_sync_view(app: Microframe) -> None:
    @app.get("/stream")
    def stream() -> Any:
        chunks = stream_template("items.html", items=[1, 2])
        assert isinstance(chunks, Iterator)
        return chunks

    @app.get("/stream-async-global")
    def stream_async() -> Any:
        return stream_template_string("{{ request.path }}:{{ fetch() }}")

    @app.template_global()
    async def fetch() -> str:
        return "fetched"

    assert await get_text(app, "/stream") == "[1][2]"
    assert await get_text(app, "/stream-async-global") == "/stream-async-global:fetched"


async def test_stream_sends_signals_when_done(app: Microframe) -> None:
    events: list[str] = []

    def before(sender: Any, template: Template, context: dict[str, Any]) -> None:
        events.append("before")

    def after(sender: Any, template: Template, context: dict[str, Any]) -> None:
        events.append("rendered")

    with before_render_template.connected_to(before), template_rendered.connected_to(after):
        async with app.app_context():
            stream = await stream_template_string("{{ 1 }}")
            assert events == ["before"]
            assert [chunk async for chunk in stream] == ["1"]
    assert events == ["before", "rendered"]


# -- signals ----------------------------------------------------------------------------


async def test_signals_are_sent(app: Microframe) -> None:
    recorded: list[tuple[str, Any, str, dict[str, Any]]] = []

    def before(sender: Any, template: Template, context: dict[str, Any]) -> None:
        context["extra"] = "added"
        recorded.append(("before", sender, str(template.name), context))

    async def after(sender: Any, template: Template, context: dict[str, Any]) -> None:
        recorded.append(("after", sender, str(template.name), context))

    @app.get("/s")
    def sync_view() -> str:
        return render_template("hello.html", name="S")

    with before_render_template.connected_to(before, app), template_rendered.connected_to(after, app):
        async with app.app_context():
            assert await render_template_string("{{ extra }}") == "added"
            await render_template("hello.html", name="A")
        assert await get_text(app, "/s") == "Hello S!"

    assert [(kind, name) for kind, _, name, _ in recorded] == [
        ("before", "None"),
        ("after", "None"),
        ("before", "hello.html"),
        ("after", "hello.html"),
        ("before", "hello.html"),
        ("after", "hello.html"),
    ]
    assert all(sender is app for _, sender, _, _ in recorded)
    assert recorded[2][3]["name"] == "A"


# -- helpers and caching -----------------------------------------------------------------


async def test_get_template_attribute(app: Microframe) -> None:
    async with app.app_context():
        hello = get_template_attribute("macros.html", "hello")
        assert hello("World") == "Hello World!"
        assert get_template_attribute("macros.html", "answer") == 42


def test_get_template_attribute_in_sync_code(app: Microframe) -> None:
    with app.app_context():
        assert get_template_attribute("macros.html", "hello")("<x>") == "Hello &lt;x&gt;!"


async def test_string_templates_compile_once(app: Microframe, monkeypatch: pytest.MonkeyPatch) -> None:
    env = app.jinja_env
    source = "{{ n }} compiled once"
    assert env.from_string_cached(source) is env.from_string_cached(source)

    twin = env.sync_twin
    compiled: list[str] = []
    original = twin.from_string

    def counting(source: str, *args: Any, **kwargs: Any) -> Template:
        compiled.append(source)
        return original(source, *args, **kwargs)

    monkeypatch.setattr(twin, "from_string", counting)
    async with app.app_context():
        for n in range(3):
            assert await render_template_string("{{ n }}!", n=n) == f"{n}!"
    assert compiled == ["{{ n }}!"]


def test_string_cache_is_bounded(app: Microframe) -> None:
    env = app.jinja_env
    first = env.from_string_cached("first")
    for n in range(env.string_cache_size):
        env.from_string_cached(f"t{n}")
    assert env.from_string_cached("first") is not first


def test_jinja_options_and_settings_reach_the_sync_twin(app: Microframe) -> None:
    app.jinja_options = {"trim_blocks": True}
    env = app.jinja_env
    env.undefined = jinja2.StrictUndefined
    with app.app_context():
        assert render_template_string("{% if true %}\nx{% endif %}") == "x"
        with pytest.raises(jinja2.UndefinedError):
            render_template_string("{{ nothing_here }}")
    env.add_extension("jinja2.ext.loopcontrols")
    assert env.sync_twin.undefined is jinja2.StrictUndefined
    assert "jinja2.ext.LoopControlExtension" in env.sync_twin.extensions


def test_tojson_uses_app_json(app: Microframe) -> None:
    with app.app_context():
        assert render_template_string("{{ {'b': 1, 'a': '<'}|tojson }}") == '{"a": "\\u003c", "b": 1}'


def test_template_globals_are_live_and_layered(app: Microframe) -> None:
    # Templates read the environment's globals directly when they have none
    # of their own; globals added later and template-level globals still count.
    with app.app_context():
        env = app.jinja_env.sync_twin
        page = env.from_string("{{ site }}|{{ extra | default('none') }}")
        env.globals["site"] = "first"
        assert page.render() == "first|none"
        env.globals["site"] = "second"
        env.globals["extra"] = "added"
        assert page.render() == "second|added"
        own = env.from_string("{{ site }}|{{ extra }}", globals={"site": "own"})
        assert own.render() == "own|added"
        assert own.render(site="passed") == "passed|added"
        assert env.globals["site"] == "second"  # the template's own did not leak
        assert render_template_string("{{ site }}") == "second"


# -- a forgotten await ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ("render_template", "returned render_template(...) without awaiting it"),
        ("render_template_string", "returned render_template_string(...) without awaiting it"),
        ("stream_template", "returned stream_template(...) without awaiting it"),
        ("stream_template_string", "returned stream_template_string(...) without awaiting it"),
    ],
)
async def test_returning_a_render_without_await_says_to_await_it(
    app: Microframe, call: str, expected: str
) -> None:
    functions = {
        "render_template": lambda: render_template("hello.html", name="x"),
        "render_template_string": lambda: render_template_string("{{ 1 }}"),
        "stream_template": lambda: stream_template("hello.html", name="x"),
        "stream_template_string": lambda: stream_template_string("{{ 1 }}"),
    }

    @app.get("/forgot")
    async def forgot() -> Any:
        return functions[call]()

    with pytest.raises(TypeError) as caught:
        await app.test_client().get("/forgot")
    message = str(caught.value)
    assert message.startswith(f"The view function for 'forgot' {expected}")
    assert f"'return await {call}(...)'" in message


async def test_using_a_render_without_await_says_to_await_it(app: Microframe) -> None:
    async with app.test_request_context("/"):
        with pytest.raises(RuntimeError, match=r"use \(await render_template\(\.\.\.\)\)\.upper"):
            render_template("hello.html", name="x").upper()
        with pytest.raises(RuntimeError, match=r"render_template\(\.\.\.\) must be awaited"):
            render_template("hello.html", name="x") + "!"
        with pytest.raises(RuntimeError, match=r"render_template_string\(\.\.\.\) must be awaited"):
            "<p>" + render_template_string("{{ 1 }}")


async def test_a_forgotten_await_in_production_is_a_logged_500(
    app: Microframe, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["TESTING"] = False

    @app.get("/forgot")
    async def forgot() -> Any:
        return render_template("hello.html", name="x")

    with caplog.at_level(logging.ERROR):
        response = await app.test_client().get("/forgot")
    assert response.status_code == 500
    assert "Traceback" not in await response.get_data(as_text=True)
    assert "'return await render_template(...)'" in caplog.text


async def test_renders_still_await_gather_and_run_as_tasks(app: Microframe) -> None:
    import asyncio

    async with app.test_request_context("/"):
        first, second = await asyncio.gather(
            render_template_string("{{ 1 }}"), render_template_string("{{ 2 }}")
        )
        task = asyncio.create_task(render_template_string("{{ 3 }}"))
        chunks = [chunk async for chunk in await stream_template_string("{{ 4 }}")]
        assert (first, second, await task, chunks) == ("1", "2", "3", ["4"])
