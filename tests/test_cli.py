"""The ``microframe`` command line: finding the app, dotenv, and every command."""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

import microframe.serving
from microframe import Blueprint, Microframe, current_app, g
from microframe.cli import (
    AppGroup,
    AppImportError,
    MicroframeGroup,
    NoAppException,
    ScriptInfo,
    cli,
    find_best_app,
    get_debug_flag,
    load_dotenv,
    load_served_app,
    prepare_import,
    with_appcontext,
)
from microframe.ctx import has_app_context
from microframe.serving import SERVED_APP_ENV, ServingError

APP_SOURCE = """
from microframe import Microframe

app = Microframe(__name__)

@app.get("/")
async def index():
    return "hi"
"""


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run in an empty folder, and undo imports, sys.path and environment changes."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    saved_environ = dict(os.environ)
    for name in list(os.environ):
        if name.startswith(("MICROFRAME_", "FLASK_")):
            del os.environ[name]
    # The hello example is imported as ``app`` by its own tests; the default
    # file names must import afresh from the test's folder.
    saved_modules: dict[str, Any] = {
        name: sys.modules.pop(name) for name in ("app", "asgi", "wsgi") if name in sys.modules
    }
    before = set(sys.modules)
    try:
        yield
    finally:
        for name in set(sys.modules) - before:
            file = getattr(sys.modules[name], "__file__", None) or ""
            if file.startswith(str(tmp_path)) or name in {"app", "asgi", "wsgi"}:
                del sys.modules[name]
        sys.modules.update(saved_modules)
        os.environ.clear()
        os.environ.update(saved_environ)


def write(path: Path, source: str) -> Path:
    """Write dedented ``source`` to ``path``, creating folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


def load(import_path: str | None = None) -> Microframe:
    return ScriptInfo(app_import_path=import_path).load_app()


# -- finding the app -----------------------------------------------------------------


def test_module_name(tmp_path: Path) -> None:
    write(tmp_path / "mod_plain.py", APP_SOURCE)
    app = load("mod_plain")
    assert app.import_name == "mod_plain"


def test_module_colon_name(tmp_path: Path) -> None:
    write(
        tmp_path / "mod_two.py",
        """
        from microframe import Microframe
        first = Microframe("first")
        second = Microframe("second")
        """,
    )
    assert load("mod_two:second").import_name == "second"
    assert load("mod_two:first").import_name == "first"


def test_factory_without_and_with_literal_args(tmp_path: Path) -> None:
    write(
        tmp_path / "mod_factory.py",
        """
        from microframe import Microframe

        def create_app(name="plain", *, debug=False, extra=()):
            app = Microframe(name)
            app.config["EXTRA"] = extra
            app.debug = debug
            return app
        """,
    )
    assert load("mod_factory:create_app()").import_name == "plain"
    assert load("mod_factory:create_app").import_name == "plain"
    info = ScriptInfo("mod_factory:create_app('named', debug=True, extra=(1, 'a:b'))", set_debug_flag=False)
    app = info.load_app()
    assert app.import_name == "named"
    assert app.debug is True
    assert app.config["EXTRA"] == (1, "a:b")


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("create_app(__import__('os').getcwd())", "must be Python literals"),
        ("create_app(**{})", "must be Python literals"),
        ("app.attr", "Cannot parse"),
        ("create_app(", "Cannot parse"),
        ("missing", "has no attribute 'missing'"),
        ("create_app(1, 2, 3)", "could not be called with these arguments"),
        ("value", "not a Microframe app"),
        ("value()", "not callable"),
    ],
)
def test_bad_app_strings(tmp_path: Path, expression: str, message: str) -> None:
    write(
        tmp_path / "mod_bad_expr.py",
        """
        from microframe import Microframe
        value = 3
        def create_app():
            return Microframe("x")
        """,
    )
    with pytest.raises(NoAppException, match=message):
        load(f"mod_bad_expr:{expression}")


def test_factory_raising_type_error_is_not_hidden(tmp_path: Path) -> None:
    write(
        tmp_path / "mod_type_error.py",
        """
        def create_app():
            raise TypeError("a bug inside the factory")
        """,
    )
    with pytest.raises(TypeError, match="a bug inside the factory"):
        load("mod_type_error")


def test_python_file_path(tmp_path: Path) -> None:
    write(tmp_path / "src" / "served.py", APP_SOURCE)
    assert load("src/served.py").import_name == "served"
    assert load(str(tmp_path / "src" / "served.py") + ":app").import_name == "served"


def test_file_inside_package_gets_dotted_name(tmp_path: Path) -> None:
    write(tmp_path / "proj" / "pkgx" / "__init__.py", "")
    write(tmp_path / "proj" / "pkgx" / "web.py", APP_SOURCE)
    assert prepare_import("proj/pkgx/web.py") == "pkgx.web"
    assert sys.path[0] == str((tmp_path / "proj").resolve())
    assert load("proj/pkgx/web.py").import_name == "pkgx.web"


def test_package_folder(tmp_path: Path) -> None:
    write(tmp_path / "pkgy" / "__init__.py", APP_SOURCE)
    assert load("pkgy").import_name == "pkgy"
    assert load("./pkgy").import_name == "pkgy"


def test_plain_folder_with_app_file(tmp_path: Path) -> None:
    write(tmp_path / "site" / "app.py", APP_SOURCE)
    assert load("site").import_name == "app"
    with pytest.raises(NoAppException, match="is a folder, not a module"):
        load("site:app")


def test_missing_path_and_module() -> None:
    with pytest.raises(NoAppException, match="no such file or folder"):
        load("nowhere/app.py")
    with pytest.raises(NoAppException, match="Could not import 'no_such_module_xyz'"):
        load("no_such_module_xyz")


@pytest.mark.parametrize("filename", ["app.py", "asgi.py", "wsgi.py"])
def test_discovers_default_files(tmp_path: Path, filename: str) -> None:
    write(tmp_path / filename, APP_SOURCE)
    info = ScriptInfo()
    app = info.load_app()
    assert app.import_name == filename[:-3]
    assert info.app_locator == str(tmp_path / filename)


def test_app_py_comes_before_asgi_py(tmp_path: Path) -> None:
    write(tmp_path / "app.py", "from microframe import Microframe\napp = Microframe('from_app')\n")
    write(tmp_path / "asgi.py", "from microframe import Microframe\napp = Microframe('from_asgi')\n")
    assert load().import_name == "from_app"


def test_discovery_skips_a_file_without_an_app(tmp_path: Path) -> None:
    write(tmp_path / "app.py", "VALUE = 1\n")
    write(tmp_path / "asgi.py", "from microframe import Microframe\napp = Microframe('from_asgi')\n")
    assert load().import_name == "from_asgi"


def test_no_app_found_lists_what_was_tried(tmp_path: Path) -> None:
    write(tmp_path / "app.py", "VALUE = 1\n")
    with pytest.raises(NoAppException) as info:
        load()
    message = info.value.format_message()
    assert "app.py (no microframe app found in module 'app')" in message
    assert "asgi.py (no such file)" in message
    assert "wsgi.py (no such file)" in message
    assert "MICROFRAME_APP" in message


def test_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "mod_env.py", APP_SOURCE)
    monkeypatch.setenv("MICROFRAME_APP", "mod_env")
    info = ScriptInfo()
    assert info.load_app().import_name == "mod_env"
    assert info.app_locator == "mod_env"


def test_create_app_must_return_an_app() -> None:
    with pytest.raises(NoAppException, match="not a Microframe app"):
        ScriptInfo(create_app=lambda: 42).load_app()


def test_load_app_is_cached(tmp_path: Path) -> None:
    calls: list[int] = []

    def create() -> Microframe:
        calls.append(1)
        return Microframe("cached")

    info = ScriptInfo(create_app=create)
    assert info.load_app() is info.load_app()
    assert calls == [1]


def _module(**attrs: Any) -> Any:
    module = type(sys)("fake_module")
    vars(module).update(attrs)
    return module


def test_find_best_app_search_order() -> None:
    app, other = Microframe("a"), Microframe("b")
    assert find_best_app(_module(application=app)) is app
    assert find_best_app(_module(app=app, application=other)) is app
    assert find_best_app(_module(anything=app)) is app
    with pytest.raises(NoAppException, match=r"several apps .*\(first, second\)"):
        find_best_app(_module(first=app, second=other))


def test_find_best_app_factories() -> None:
    app = Microframe("made")

    def make_app() -> Microframe:
        return app

    def create_app(config: str) -> Microframe:
        return app

    def returns_none() -> None:
        return None

    assert find_best_app(_module(make_app=make_app)) is app
    with pytest.raises(NoAppException, match="could not be called"):
        find_best_app(_module(create_app=create_app))
    with pytest.raises(NoAppException, match="returned None"):
        find_best_app(_module(create_app=returns_none))
    with pytest.raises(NoAppException, match="looked for the names app, application"):
        find_best_app(_module(value=1))


# -- broken apps -------------------------------------------------------------------


def test_import_error_inside_module_keeps_the_traceback(tmp_path: Path) -> None:
    write(
        tmp_path / "mod_broken.py",
        """
        from microframe import Microframe
        import a_module_that_is_not_there_xyz
        app = Microframe(__name__)
        """,
    )
    with pytest.raises(AppImportError) as info:
        load("mod_broken")
    assert "a_module_that_is_not_there_xyz" in info.value.traceback_text
    assert "mod_broken.py" in info.value.traceback_text
    result = CliRunner().invoke(cli, ["--app", "mod_broken", "routes"])
    assert result.exit_code != 0
    assert "Traceback (most recent call last)" in result.output
    assert 'mod_broken.py", line 3' in result.output
    assert result.output.rstrip().splitlines()[-1].startswith(
        "Error: While importing 'mod_broken', ModuleNotFoundError was raised"
    )


def test_other_errors_inside_module_keep_the_traceback(tmp_path: Path) -> None:
    write(tmp_path / "app.py", "raise RuntimeError('boom at import')\n")
    result = CliRunner().invoke(cli, ["routes"])
    assert result.exit_code != 0
    assert "RuntimeError: boom at import" in result.output
    assert "Traceback" in result.output


def test_cli_without_any_app(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["routes"])
    assert result.exit_code != 0
    assert "Error: Could not find a Microframe app in" in result.output
    assert "app.py (no such file)" in result.output
    # --help still works, listing the built-in commands; as with Flask, it
    # says on standard error why the app's commands are missing.
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "routes" in result.stdout
    assert "Error" not in result.stdout
    assert result.stderr.startswith("Error: Could not find a Microframe app in")
    # An unknown command: the reason, then click's usage error.
    result = CliRunner().invoke(cli, ["frobnicate"])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: Could not find a Microframe app in")
    assert "No such command 'frobnicate'" in result.stderr


def test_unknown_command_with_an_app(tmp_path: Path) -> None:
    write(tmp_path / "app.py", APP_SOURCE)
    result = CliRunner().invoke(cli, ["frobnicate"])
    assert result.exit_code == 2
    assert "No such command 'frobnicate'" in result.output


# -- dotenv and debug ----------------------------------------------------------------


def test_dotenv_files_are_loaded_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / ".microframeenv", "MF_A=from_microframeenv\nMF_B=from_microframeenv\n")
    write(tmp_path / ".env", "MF_B=from_env\nMF_C=from_env\n")
    write(tmp_path / "extra.env", "MF_C=from_extra\n")
    monkeypatch.setenv("MF_D", "preset")
    write(tmp_path / "more.env", "MF_D=from_file\n")
    assert load_dotenv(tmp_path / "extra.env") is True
    assert os.environ["MF_A"] == "from_microframeenv"
    assert os.environ["MF_B"] == "from_env"
    assert os.environ["MF_C"] == "from_extra"
    load_dotenv(tmp_path / "more.env", load_defaults=False)
    assert os.environ["MF_D"] == "preset"


def test_dotenv_names_the_app(tmp_path: Path) -> None:
    write(tmp_path / "mod_dotenv.py", APP_SOURCE)
    write(tmp_path / ".env", "MICROFRAME_APP=mod_dotenv\n")
    result = CliRunner().invoke(cli, ["routes"])
    assert result.exit_code == 0, result.output
    assert "index" in result.output


def test_env_file_option(tmp_path: Path) -> None:
    write(tmp_path / "mod_envfile.py", APP_SOURCE)
    write(tmp_path / "custom.env", "MICROFRAME_APP=mod_envfile\n")
    result = CliRunner().invoke(cli, ["--env-file", "custom.env", "routes"])
    assert result.exit_code == 0, result.output
    assert "index" in result.output


def test_skip_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "mod_skip.py", APP_SOURCE)
    write(tmp_path / ".env", "MICROFRAME_APP=mod_skip\n")
    monkeypatch.setenv("MICROFRAME_SKIP_DOTENV", "1")
    result = CliRunner().invoke(cli, ["routes"])
    assert result.exit_code != 0
    assert "Could not find a Microframe app" in result.output
    assert "MICROFRAME_APP" not in os.environ


def test_hint_without_python_dotenv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "dotenv", None)
    assert load_dotenv() is False
    assert capsys.readouterr().err == ""
    write(tmp_path / ".env", "MF_X=1\n")
    assert load_dotenv() is False
    assert "install python-dotenv" in capsys.readouterr().err
    assert "MF_X" not in os.environ
    write(tmp_path / "custom.env", "MF_X=1\n")
    result = CliRunner().invoke(cli, ["--env-file", "custom.env", "routes"])
    assert result.exit_code == 2
    assert "python-dotenv must be installed" in result.output


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("true", True), ("0", False), ("", False)])
def test_debug_flag_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, expected: bool
) -> None:
    write(tmp_path / "mod_debug.py", APP_SOURCE)
    monkeypatch.setenv("MICROFRAME_DEBUG", value)
    assert get_debug_flag() is expected
    assert load("mod_debug").debug is expected


def test_debug_option(tmp_path: Path) -> None:
    write(
        tmp_path / "app.py",
        APP_SOURCE
        + "\n@app.cli.command()\ndef show():\n    print('debug', app.debug)\n",
    )
    result = CliRunner().invoke(cli, ["--debug", "show"])
    assert result.output.strip() == "debug True"
    result = CliRunner().invoke(cli, ["--no-debug", "show"])
    assert result.output.strip() == "debug False"


# -- routes --------------------------------------------------------------------------


@pytest.fixture
def routed_app() -> Microframe:
    app = Microframe("routed", static_folder=None)

    @app.route("/zeta", methods=["POST", "GET"])
    async def alpha() -> str:
        return ""

    @app.route("/alpha", methods=["DELETE"])
    async def zulu() -> str:
        return ""

    @app.route("/ws", websocket=True)
    async def stream() -> None:
        return None

    return app


def _table_rows(output: str) -> list[list[str]]:
    return [line.split() for line in output.splitlines()[2:]]


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("endpoint", ["alpha", "stream", "zulu"]),
        ("methods", ["zulu", "alpha", "stream"]),
        ("rule", ["zulu", "stream", "alpha"]),
        ("match", ["alpha", "zulu", "stream"]),
    ],
)
def test_routes_sorting(routed_app: Microframe, sort: str, order: list[str]) -> None:
    result = routed_app.test_cli_runner().invoke(args=["routes", "--sort", sort])
    assert result.exit_code == 0, result.output
    assert [row[0] for row in _table_rows(result.output)] == order


def test_routes_table(routed_app: Microframe) -> None:
    result = routed_app.test_cli_runner().invoke(args=["routes"])
    lines = result.output.splitlines()
    assert lines[0].split() == ["Endpoint", "Methods", "Rule"]
    assert set(lines[1]) == {"-", " "}
    rows = {row[0]: row[1:] for row in _table_rows(result.output)}
    assert rows["alpha"] == ["GET,", "POST", "/zeta"]
    assert rows["stream"] == ["WEBSOCKET", "/ws"]
    result = routed_app.test_cli_runner().invoke(args=["routes", "--all-methods"])
    rows = {row[0]: row[1:] for row in _table_rows(result.output)}
    assert rows["alpha"] == ["GET,", "HEAD,", "OPTIONS,", "POST", "/zeta"]


def test_routes_with_subdomains_and_no_routes() -> None:
    app = Microframe("subs", static_folder=None)
    result = app.test_cli_runner().invoke(args=["routes"])
    assert result.output.strip() == "No routes were registered."

    @app.route("/", subdomain="api")
    async def api() -> str:
        return ""

    result = app.test_cli_runner().invoke(args=["routes", "--sort", "domain"])
    assert result.output.splitlines()[0].split() == ["Endpoint", "Methods", "Subdomain", "Rule"]
    assert _table_rows(result.output) == [["api", "GET", "api", "/"]]


# -- custom commands -------------------------------------------------------------------


def test_custom_commands_run_in_the_app_context(app: Microframe) -> None:
    @app.cli.command()
    @click.argument("name")
    def greet(name: str) -> None:
        click.echo(f"Hello {name} from {current_app.name}")

    @app.cli.command("bare", with_appcontext=False)
    def bare() -> None:
        click.echo(f"app context: {has_app_context()}")

    runner = app.test_cli_runner()
    result = runner.invoke(args=["greet", "Ada"])
    assert result.exit_code == 0, result.output
    assert result.output == f"Hello Ada from {app.name}\n"
    # As with Flask's group, the app's commands run with its context pushed;
    # with_appcontext=False only drops the decorator's own wrapping.
    assert runner.invoke(args=["bare"]).output == "app context: True\n"
    result = click.testing.CliRunner().invoke(app.cli, ["bare"])
    assert result.output == "app context: False\n"


def test_command_decorator_without_parentheses(app: Microframe) -> None:
    @app.cli.command
    def plain() -> None:
        click.echo(f"plain {has_app_context()}")

    assert app.test_cli_runner().invoke(args=["plain"]).output == "plain True\n"


def test_async_commands_are_awaited(app: Microframe) -> None:
    @app.cli.command()
    @click.option("--times", type=int, default=2)
    async def count(times: int) -> None:
        import asyncio

        await asyncio.sleep(0)
        g.seen = current_app.name
        click.echo(f"{g.seen} " * times)

    @app.cli.command(with_appcontext=False)
    @click.pass_context
    async def ctx_aware(ctx: click.Context) -> None:
        click.echo(f"{ctx.info_name} {has_app_context()}")

    runner = app.test_cli_runner()
    result = runner.invoke(args=["count", "--times", "3"])
    assert result.exit_code == 0, result.output
    assert result.output.split() == [app.name] * 3
    assert runner.invoke(args=["ctx-aware"]).output == "ctx-aware True\n"
    assert click.testing.CliRunner().invoke(app.cli, ["ctx-aware"]).output == "ctx-aware False\n"


def test_nested_groups_are_app_groups(app: Microframe) -> None:
    @app.cli.group()
    def db() -> None:
        """Database commands."""

    assert isinstance(db, AppGroup)

    @db.command()
    async def init() -> None:
        click.echo(f"init {current_app.name}")

    result = app.test_cli_runner().invoke(args=["db", "init"])
    assert result.output == f"init {app.name}\n"


def test_with_appcontext_on_a_plain_command(app: Microframe) -> None:
    @click.command()
    @with_appcontext
    def plain() -> None:
        click.echo(current_app.name)

    result = CliRunner().invoke(plain, obj=ScriptInfo(create_app=lambda: app))
    assert result.output == f"{app.name}\n"
    # Already inside an app context, it keeps that one.
    with app.app_context():
        result = CliRunner().invoke(plain, obj=ScriptInfo(create_app=lambda: 1 / 0))
    assert result.output == f"{app.name}\n"


def test_commands_from_the_command_line(tmp_path: Path) -> None:
    write(
        tmp_path / "mod_cmds.py",
        APP_SOURCE
        + """
import click

@app.cli.command()
@click.argument("who")
async def hello(who):
    click.echo(f"hello {who}")
""",
    )
    result = CliRunner().invoke(cli, ["--app", "mod_cmds", "hello", "you"])
    assert result.output == "hello you\n"
    help_text = CliRunner().invoke(cli, ["--app", "mod_cmds", "--help"]).output
    assert "hello" in help_text
    assert "run" in help_text


def test_blueprint_cli_groups(app: Microframe) -> None:
    grouped = Blueprint("grouped", __name__)
    merged = Blueprint("merged", __name__, cli_group=None)
    renamed = Blueprint("renamed", __name__, cli_group="other")

    @grouped.cli.command("one")
    def one() -> None:
        click.echo(f"one {current_app.name}")

    @merged.cli.command("two")
    async def two() -> None:
        click.echo("two")

    @renamed.cli.command("three")
    def three() -> None:
        click.echo("three")

    app.register_blueprint(grouped)
    app.register_blueprint(merged)
    app.register_blueprint(renamed)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["grouped", "one"]).output == f"one {app.name}\n"
    assert runner.invoke(args=["two"]).output == "two\n"
    assert runner.invoke(args=["other", "three"]).output == "three\n"


def test_microframe_group_with_a_factory() -> None:
    def create_app() -> Microframe:
        app = Microframe("factory_made", static_folder=None)

        @app.cli.command()
        def name() -> None:
            click.echo(current_app.name)

        return app

    @click.group(cls=MicroframeGroup, create_app=create_app)
    def manage() -> None:
        """Manage the project."""

    @manage.command(with_appcontext=False)
    def version() -> None:
        click.echo("1.0")

    runner = CliRunner()
    assert runner.invoke(manage, ["name"]).output == "factory_made\n"
    assert runner.invoke(manage, ["version"]).output == "1.0\n"
    help_text = runner.invoke(manage, ["--help"]).output
    assert "Manage the project." in help_text
    for command in ("name", "version", "routes", "run", "shell"):
        assert f"  {command} " in help_text or f"  {command}\n" in help_text
    bare = MicroframeGroup(create_app=create_app, add_default_commands=False, add_version_option=False)
    assert bare.list_commands(bare.make_context("bare", [], resilient_parsing=True)) == ["name"]


# -- shell, help, version, run ----------------------------------------------------------


def test_shell(app: Microframe, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "IPython", None)
    monkeypatch.delenv("PYTHONSTARTUP", raising=False)

    @app.shell_context_processor
    def numbers() -> dict[str, Any]:
        return {"answer": 42}

    @app.shell_context_processor
    async def more() -> dict[str, Any]:
        return {"more": "yes"}

    code = "print(app.name, answer, more)\ng.x = 41\nprint(g.x + 1, g.get('x'))\n"
    result = app.test_cli_runner().invoke(args=["shell"], input=code)
    assert result.exit_code == 0, result.output
    assert f"App: {app.name}" in result.output
    assert f"{app.name} 42 yes" in result.output
    assert "42 41" in result.output


def test_help_describes_environment_and_commands() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for text in ("MICROFRAME_APP", "MICROFRAME_DEBUG", ".env", "--app", "--env-file", "run", "shell"):
        assert text in result.output


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    # As Quart's: "Quart <version>" first, then Python, Werkzeug and Hypercorn.
    assert lines[0] == f"Microframe {microframe.__version__}"
    assert [line.split()[0] for line in lines] == ["Microframe", "Python", "Werkzeug", "Hypercorn"]
    assert lines[1] == f"Python {sys.version.split()[0]}"


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    calls: list[tuple[Any, ...]] = []

    def fake_run_simple(app: Microframe, host: str, port: int, **kwargs: Any) -> None:
        calls.append((app, host, port, kwargs))

    monkeypatch.setattr(microframe.serving, "run_simple", fake_run_simple)
    return calls


def test_run_command_options(tmp_path: Path, served: list[tuple[Any, ...]]) -> None:
    write(tmp_path / "app.py", APP_SOURCE)
    result = CliRunner().invoke(cli, ["run", "--host", "0.0.0.0", "--port", "8123", "--workers", "2"])
    assert result.exit_code == 0, result.output
    app, host, port, kwargs = served[-1]
    assert (app.import_name, host, port) == ("app", "0.0.0.0", 8123)
    assert kwargs["workers"] == 2
    assert kwargs["use_reloader"] is False
    assert kwargs["app_import_path"] == str(tmp_path / "app.py")
    assert app.debug is False


def test_run_debug_turns_the_reloader_on(tmp_path: Path, served: list[tuple[Any, ...]]) -> None:
    write(tmp_path / "mod_run.py", APP_SOURCE)
    CliRunner().invoke(cli, ["--app", "mod_run", "run", "--debug"])
    app, _, _, kwargs = served[-1]
    assert app.debug is True
    assert kwargs["use_reloader"] is True
    assert kwargs["app_import_path"] == "mod_run"
    CliRunner().invoke(cli, ["--app", "mod_run", "run", "--debug", "--no-reload"])
    assert served[-1][3]["use_reloader"] is False


def test_run_reports_serving_errors_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "app.py", APP_SOURCE)

    def taken(*args: Any, **kwargs: Any) -> None:
        raise ServingError("port 5000 on 127.0.0.1 is in use; choose another")

    monkeypatch.setattr(microframe.serving, "run_simple", taken)
    result = CliRunner().invoke(cli, ["run"])
    assert result.exit_code == 1
    assert result.output == "Error: port 5000 on 127.0.0.1 is in use; choose another\n"


def test_run_without_an_app_fails(tmp_path: Path, served: list[tuple[Any, ...]]) -> None:
    result = CliRunner().invoke(cli, ["--app", "no_such_module_xyz", "run"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: Could not import 'no_such_module_xyz'")
    assert served == []


def test_worker_loader_reads_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "mod_worker.py", APP_SOURCE)
    monkeypatch.setenv(SERVED_APP_ENV, "mod_worker:app")
    assert load_served_app().import_name == "mod_worker"


def test_app_run_is_ignored_inside_the_cli(
    app: Microframe, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MICROFRAME_RUN_FROM_CLI", "true")
    monkeypatch.setattr(microframe.serving, "run_simple", lambda *a, **k: pytest.fail("served"))
    app.run()
    assert "Ignoring app.run()" in capsys.readouterr().err


def test_run_options_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, served: list[tuple[Any, ...]]
) -> None:
    write(tmp_path / "app.py", APP_SOURCE)
    monkeypatch.setenv("MICROFRAME_RUN_PORT", "9123")
    result = CliRunner().invoke(cli, ["run"])
    assert result.exit_code == 0, result.output
    assert served[-1][2] == 9123


def test_plain_click_command_added_to_app_cli_runs_in_app_context() -> None:
    import click

    from microframe import Microframe, current_app

    app = Microframe("plain_click_app")

    @click.command("plain")
    def plain() -> None:
        click.echo(f"app={current_app.name}")

    app.cli.add_command(plain)
    from microframe.cli import MicroframeGroup

    group = MicroframeGroup(create_app=lambda: app)
    result = click.testing.CliRunner().invoke(group, ["plain"])
    assert result.exit_code == 0, result.output
    assert "app=plain_click_app" in result.output


# -- Flask's names ---------------------------------------------------------------------


def test_flask_app_names_the_app_and_microframe_app_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "mod_flask_named.py", APP_SOURCE)
    write(tmp_path / "mod_mf_named.py", APP_SOURCE)
    monkeypatch.setenv("FLASK_APP", "mod_flask_named.py")
    assert ScriptInfo().load_app().import_name == "mod_flask_named"
    monkeypatch.setenv("MICROFRAME_APP", "mod_mf_named")
    assert ScriptInfo().load_app().import_name == "mod_mf_named"
    # --app wins over both.
    result = CliRunner().invoke(cli, ["--app", "mod_flask_named", "routes"])
    assert result.exit_code == 0, result.output


def test_flask_debug_and_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "mod_flask_debug.py", APP_SOURCE)
    monkeypatch.setenv("FLASK_DEBUG", "1")
    assert load("mod_flask_debug").debug is True
    monkeypatch.setenv("MICROFRAME_DEBUG", "0")
    assert load("mod_flask_debug").debug is False


def test_set_debug_flag_resets_what_the_factory_set() -> None:
    # As Flask: the command line's debug flag (off when unset) is the app's.
    def create_app() -> Microframe:
        app = Microframe("debugging")
        app.debug = True
        return app

    assert ScriptInfo(create_app=create_app).load_app().debug is False
    assert ScriptInfo(create_app=create_app, set_debug_flag=False).load_app().debug is True


def test_flaskenv_is_loaded_weakest(tmp_path: Path) -> None:
    write(tmp_path / ".flaskenv", "MF_A=flaskenv\nMF_B=flaskenv\nMF_C=flaskenv\n")
    write(tmp_path / ".microframeenv", "MF_B=microframeenv\nMF_C=microframeenv\n")
    write(tmp_path / ".env", "MF_C=env\n")
    assert load_dotenv() is True
    assert (os.environ["MF_A"], os.environ["MF_B"], os.environ["MF_C"]) == (
        "flaskenv",
        "microframeenv",
        "env",
    )


def test_flaskenv_names_the_app_with_flask_app(tmp_path: Path) -> None:
    write(tmp_path / "mod_flaskenv.py", APP_SOURCE)
    write(tmp_path / ".flaskenv", "FLASK_APP=mod_flaskenv\n")
    result = CliRunner().invoke(cli, ["routes"])
    assert result.exit_code == 0, result.output
    assert "index" in result.output


def test_flask_skip_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / ".env", "MF_SKIPPED=1\n")
    monkeypatch.setenv("FLASK_SKIP_DOTENV", "1")
    CliRunner().invoke(MicroframeGroup(), [])
    assert "MF_SKIPPED" not in os.environ
    monkeypatch.setenv("MICROFRAME_SKIP_DOTENV", "0")
    CliRunner().invoke(MicroframeGroup(), [])
    assert os.environ["MF_SKIPPED"] == "1"


def test_help_alone_loads_the_env_file_first(tmp_path: Path) -> None:
    write(
        tmp_path / "mod_help_env.py",
        APP_SOURCE + "\n@app.cli.command()\ndef seed():\n    'Seed the database.'\n",
    )
    write(tmp_path / ".env", "MICROFRAME_APP=mod_help_env\n")
    result = CliRunner().invoke(MicroframeGroup(), ["--help"])
    assert result.exit_code == 0
    assert "Seed the database." in result.stdout


def test_flask_run_options_and_precedence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, served: list[tuple[Any, ...]]
) -> None:
    write(tmp_path / "app.py", APP_SOURCE)
    monkeypatch.setenv("FLASK_RUN_PORT", "9001")
    monkeypatch.setenv("FLASK_RUN_HOST", "0.0.0.0")
    assert CliRunner().invoke(cli, ["run"]).exit_code == 0
    assert served[-1][1:3] == ("0.0.0.0", 9001)
    monkeypatch.setenv("MICROFRAME_RUN_PORT", "9002")
    assert CliRunner().invoke(cli, ["run"]).exit_code == 0
    assert served[-1][2] == 9002
    assert CliRunner().invoke(cli, ["run", "--port", "9003"]).exit_code == 0
    assert served[-1][2] == 9003


def test_the_command_line_marks_the_environment(app: Microframe) -> None:
    # app.run() in an imported module must not serve while a command runs.
    CliRunner().invoke(MicroframeGroup(create_app=lambda: app), ["routes"])
    assert os.environ["MICROFRAME_RUN_FROM_CLI"] == "true"


def test_locate_app_can_return_none(tmp_path: Path) -> None:
    from microframe.cli import locate_app

    assert locate_app("no_such_module_xyz", None, raise_if_not_found=False) is None
    write(tmp_path / "mod_locate_broken.py", "import not_a_real_module_xyz\n")
    _ = prepare_import(str(tmp_path / "mod_locate_broken.py"))
    with pytest.raises(AppImportError):
        locate_app("mod_locate_broken", None, raise_if_not_found=False)


def test_help_with_a_failing_factory_shows_the_traceback() -> None:
    def create_app() -> Microframe:
        raise RuntimeError("the factory broke")

    result = CliRunner().invoke(MicroframeGroup(create_app=create_app), ["--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.stdout
    assert "RuntimeError: the factory broke" in result.stderr


def test_version_names_flask_while_the_shim_is_installed() -> None:
    from microframe import flask_compat

    with flask_compat.installed():
        result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    last = result.output.splitlines()[-1]
    assert last.startswith("Flask ") and "'import flask' is served by microframe" in last


def test_version_names_quart_while_its_shim_is_installed() -> None:
    from microframe import quart_compat

    with quart_compat.installed():
        result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    last = result.output.splitlines()[-1]
    assert last.startswith("Quart ") and "'import quart' is served by microframe" in last


# -- async commands added as plain click commands -------------------------------------------


def test_plain_async_click_command_added_to_app_cli(app: Microframe) -> None:
    calls: list[str] = []

    @click.command("init-db")
    async def init_db() -> None:
        calls.append(current_app.name)
        click.echo("Initialized")

    @click.group("tools")
    def tools() -> None:
        """Plain click group."""

    @tools.command("count")
    @click.pass_context
    async def count(ctx: click.Context) -> str:
        return f"{ctx.info_name} in {current_app.name}"

    app.cli.add_command(init_db)
    app.cli.add_command(tools)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert result.output == "Initialized\n"
    assert calls == [app.name]
    result = runner.invoke(args=["tools", "count"], standalone_mode=False)
    assert result.return_value == f"count in {app.name}"
    # Looking the command up again does not wrap it twice.
    runner.invoke(args=["init-db"])
    assert calls == [app.name, app.name]


# -- run: Flask's options ------------------------------------------------------------------


def _run_error(args: list[str]) -> str:
    from microframe.cli import run_command

    result = CliRunner().invoke(run_command, args)
    assert result.exit_code == 2, result.output
    return result.output.strip().splitlines()[-1]


def test_run_cert_and_key_pairing(tmp_path: Path) -> None:
    from microframe.cli import run_command

    cert = str(write(tmp_path / "cert.pem", "cert"))
    key = str(write(tmp_path / "key.pem", "key"))
    assert _run_error(["--cert", cert]) == (
        "Error: Invalid value for '--key' / '--keyfile': required when \"--cert\" is a certificate file."
    )
    assert _run_error(["--key", key]) == (
        "Error: Invalid value for '--key' / '--keyfile': \"--cert\" must be given too."
    )
    for args in (["--cert", cert, "--key", key], ["--key", key, "--cert", cert]):
        assert run_command.make_context("run", args).params["cert"] == (cert, key)
    # microframe's own names are the same options.
    ctx = run_command.make_context("run", ["--certfile", cert, "--keyfile", key])
    assert ctx.params["cert"] == (cert, key)


def test_run_cert_that_is_nothing_known(tmp_path: Path) -> None:
    assert _run_error(["--cert", "missing.pem"]) == (
        "Error: Invalid value for '--cert' / '--certfile': 'missing.pem' is not a certificate file,"
        " 'adhoc', or the import path of an ssl.SSLContext."
    )


def test_run_cert_adhoc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from microframe.cli import run_command

    monkeypatch.setitem(sys.modules, "cryptography", None)
    assert "needs the cryptography package" in _run_error(["--cert", "adhoc"])
    monkeypatch.setitem(sys.modules, "cryptography", type(sys)("cryptography"))
    assert run_command.make_context("run", ["--cert", "adhoc"]).params["cert"] == "adhoc"
    key = str(write(tmp_path / "key.pem", "key"))
    assert _run_error(["--cert", "adhoc", "--key", key]).endswith('not used when "--cert" is "adhoc".')


def test_run_cert_ssl_context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ssl

    from microframe.cli import run_command

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    module = type(sys)("mod_tls")
    module.context = context  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "mod_tls", module)
    assert run_command.make_context("run", ["--cert", "mod_tls:context"]).params["cert"] is context
    assert run_command.make_context("run", ["--cert", "mod_tls.context"]).params["cert"] is context
    key = str(write(tmp_path / "key.pem", "key"))
    assert _run_error(["--cert", "mod_tls:context", "--key", key]).endswith(
        'not used when "--cert" is an SSLContext.'
    )
    assert "not a certificate file" in _run_error(["--cert", "os:path"])


def test_run_passes_flask_options_on(
    tmp_path: Path, served: list[tuple[Any, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "app.py", APP_SOURCE)
    cert = str(write(tmp_path / "cert.pem", "cert"))
    key = str(write(tmp_path / "key.pem", "key"))
    extra = f"a.cfg{os.pathsep}b.cfg"
    result = CliRunner().invoke(
        cli,
        ["run", "--cert", cert, "--key", key, "--extra-files", extra, "--exclude-patterns", "*.tmp",
         "--no-reload", "--without-threads", "--no-debugger"],
    )
    assert result.exit_code == 0, result.output
    kwargs = served[-1][3]
    assert kwargs["ssl_context"] == (cert, key)
    assert kwargs["extra_files"] == ["a.cfg", "b.cfg"]
    assert kwargs["exclude_patterns"] == ["*.tmp"]
    assert kwargs["use_reloader"] is False
    assert kwargs["use_debugger"] is False
    result = CliRunner().invoke(cli, ["run", "--debugger"])
    assert result.exit_code == 0, result.output
    assert served[-1][3]["use_debugger"] is True
    assert served[-1][3]["ssl_context"] is None
    # Without the option the debugger follows debug mode, as in Flask.
    monkeypatch.setenv("MICROFRAME_DEBUG", "0")  # restored: run --debug sets it
    for flag, expected in (("--debug", True), ("--no-debug", False)):
        result = CliRunner().invoke(cli, ["run", flag])
        assert result.exit_code == 0, result.output
        assert served[-1][3]["use_debugger"] is expected


# -- commands of installed packages -------------------------------------------------------


def install_plugin(
    folder: Path, dist: str, group: str, commands: dict[str, str], source: str
) -> None:
    """Make a package with entry points importable from ``folder`` (put on sys.path)."""
    info = folder / f"{dist}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    lines = "".join(f"{name} = {target}\n" for name, target in commands.items())
    (info / "entry_points.txt").write_text(f"[{group}]\n{lines}")
    (folder / f"{dist}.py").write_text(textwrap.dedent(source))
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))


def test_flask_extension_commands_run_with_the_shim(tmp_path: Path, app: Microframe) -> None:
    from microframe import flask_compat

    install_plugin(
        tmp_path / "site",
        "mf_flask_ext",
        "flask.commands",
        {"ext-hello": "mf_flask_ext:hello", "shadowed": "mf_flask_ext:shadowed"},
        """
        import click
        from flask import current_app
        from flask.cli import with_appcontext

        @click.command()
        @with_appcontext
        def hello():
            click.echo(f"hello from {current_app.name}")

        @click.command()
        def shadowed():
            click.echo("flask's")
        """,
    )
    install_plugin(
        tmp_path / "site",
        "mf_own_ext",
        "microframe.commands",
        {"shadowed": "mf_own_ext:shadowed", "broken": "mf_own_ext:missing"},
        """
        import click

        @click.group()
        def shadowed():
            pass

        @shadowed.command()
        async def sub():
            click.echo("microframe's, awaited")
        """,
    )
    try:
        group = MicroframeGroup(create_app=lambda: app)
        result = CliRunner().invoke(group, ["ext-hello"])
        assert result.exit_code == 0, result.output
        assert result.stdout == f"hello from {app.name}\n"
        # Loading a flask.commands entry point installed the shim first.
        assert flask_compat.is_installed()
        assert " * Warning: cannot load the command 'broken' (mf_own_ext:missing): AttributeError" in (
            result.stderr
        )
        assert len(result.stderr.strip().splitlines()) == 1
        result = CliRunner().invoke(group, ["shadowed", "sub"])
        assert result.stdout == "microframe's, awaited\n"
        help_text = CliRunner().invoke(group, ["--help"]).stdout
        assert "ext-hello" in help_text and "shadowed" in help_text
    finally:
        flask_compat.uninstall(purge=["mf_flask_ext", "mf_own_ext"])
