"""The ``import flask`` shim and the Flask extensions that run on it.

Extensions are imported in a subprocess: once imported under the shim they
stay bound to microframe, and the real Flask must stay intact for the rest
of the suite.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import pytest

from microframe import Microframe, flask_compat
from microframe.globals import request
from microframe.testing import MicroframeClient


def _run(script: str) -> str:
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", _PRELUDE + textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_install_maps_flask_names_and_uninstall_restores() -> None:
    import flask as real_flask

    flask_compat.install()
    try:
        assert flask_compat.is_installed()
        import flask
        from flask.globals import _cv_request
        from flask.globals import request as flask_request
        from flask.json.provider import DefaultJSONProvider
        from flask.testing import FlaskClient

        assert flask is not real_flask
        assert flask.Flask is Microframe
        assert flask.request is request
        assert flask_request is request
        assert FlaskClient is MicroframeClient
        assert _cv_request is sys.modules["microframe.globals"]._cv_request
        assert DefaultJSONProvider.__module__ == "microframe.json.provider"
        assert "Flask" in dir(flask)
        with pytest.raises(AttributeError, match="no equivalent"):
            flask.not_a_flask_name  # noqa: B018
        # Flask 3's base classes, which extensions type against.
        from flask.sansio.app import App
        from flask.sansio.blueprints import Blueprint as SansioBlueprint
        from flask.sansio.blueprints import BlueprintSetupState
        from flask.sansio.scaffold import Scaffold, setupmethod

        assert App is Microframe
        assert isinstance(Microframe(__name__), App)
        assert SansioBlueprint is sys.modules["microframe.blueprints"].Blueprint
        assert BlueprintSetupState is sys.modules["microframe.blueprints"].BlueprintSetupState
        assert issubclass(Microframe, Scaffold)
        assert setupmethod is sys.modules["microframe.scaffold"].setupmethod
        flask_compat.install()  # a second call does nothing
    finally:
        flask_compat.uninstall()
    assert not flask_compat.is_installed()
    assert sys.modules["flask"] is real_flask


def test_installed_block_purges_modules() -> None:
    with flask_compat.installed(purge=["_microframe_test_ext"]):
        sys.modules["_microframe_test_ext"] = sys.modules["flask"]
        sys.modules["_microframe_test_ext.sub"] = sys.modules["flask.json"]
    assert "_microframe_test_ext" not in sys.modules
    assert "_microframe_test_ext.sub" not in sys.modules


def test_ensure_sync_runs_async_function_from_sync_code() -> None:
    app = Microframe(__name__)

    async def double(value: int) -> int:
        return value * 2

    def plain() -> int:
        return 1

    assert app.ensure_sync(plain) is plain
    assert app.ensure_sync(double)(21) == 42


async def test_ensure_sync_in_async_code_returns_awaitable() -> None:
    app = Microframe(__name__)

    async def double(value: int) -> int:
        return value * 2

    assert await app.ensure_sync(double)(2) == 4


async def test_ensure_async_runs_sync_function_off_the_loop() -> None:
    import threading

    app = Microframe(__name__)

    def where(value: int, *, times: int) -> tuple[int, int]:
        return value * times, threading.get_ident()

    async def fast() -> int:
        return 3

    assert app.ensure_async(fast) is fast
    result, thread = await app.ensure_async(where)(2, times=5)
    assert result == 10
    assert thread != threading.get_ident()


_PRELUDE = """
from microframe import flask_compat
flask_compat.install()
"""


def test_flask_login() -> None:
    out = _run("""
        from flask_login import (
            LoginManager, UserMixin, current_user, login_required, login_user, logout_user,
        )
        from microframe import Microframe, g, request, session

        app = Microframe(__name__)
        app.config.update(SECRET_KEY="s", TESTING=True)
        manager = LoginManager(app)
        manager.login_view = "login"

        class User(UserMixin):
            def __init__(self, id):
                self.id = id

        @manager.user_loader
        def load_user(user_id):
            return User(user_id)

        @app.post("/login")
        def login():
            login_user(User(request.form["name"]), remember=True)
            return "in"

        @app.get("/login")
        def login_page():
            return "please log in"

        @app.get("/me")
        @login_required
        def me():
            return f"sync {current_user.id}"

        @app.get("/ame")
        @login_required
        async def ame():
            return f"async {current_user.id}"

        @app.get("/logout")
        def logout():
            logout_user()
            return "out"

        client = app.test_client()
        response = client.get("/me")
        assert response.status_code == 302, response.status_code
        assert response.headers["Location"] == "/login?next=%2Fme"
        assert client.post("/login", data={"name": "ada"}).text == "in"
        assert client.get_cookie("remember_token") is not None
        assert client.get("/me").text == "sync ada"
        assert client.get("/ame").text == "async ada"
        with client:
            client.get("/me")
            assert current_user.id == "ada"
            assert session["_user_id"] == "ada"
        client.get("/logout")
        assert client.get("/me").status_code == 302
        print("ok")
    """)
    assert out.strip() == "ok"


def test_flask_wtf_forms_and_csrf() -> None:
    out = _run("""
        import re
        from flask_wtf import CSRFProtect, FlaskForm
        from flask_wtf.file import FileField
        from wtforms import StringField
        from wtforms.validators import DataRequired
        from microframe import Microframe, render_template_string

        app = Microframe(__name__)
        app.config.update(SECRET_KEY="s", TESTING=True)
        csrf = CSRFProtect(app)

        class NoteForm(FlaskForm):
            title = StringField("Title", validators=[DataRequired()])
            attachment = FileField("Attachment")

        @app.route("/notes", methods=["GET", "POST"])
        def notes():
            form = NoteForm()
            if form.validate_on_submit():
                name = form.attachment.data.filename if form.attachment.data else "-"
                return f"saved {form.title.data} {name}"
            return render_template_string(
                "<form>{{ form.csrf_token }}{{ form.title }}</form>{{ form.errors }}",
                form=form,
            )

        @app.post("/api")
        @csrf.exempt
        def api():
            return {"ok": True}

        client = app.test_client()
        page = client.get("/notes").text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        missing = client.post("/notes", data={"title": "x"})
        assert missing.status_code == 400 and "CSRF token is missing" in missing.text
        bad = client.post("/notes", data={"title": "x", "csrf_token": "nope"})
        assert bad.status_code == 400
        invalid = client.post("/notes", data={"title": "", "csrf_token": token})
        assert "This field is required." in invalid.text
        ok = client.post("/notes", data={"title": "Hi", "csrf_token": token})
        assert ok.text == "saved Hi -", ok.text
        import io
        upload = client.post(
            "/notes",
            data={"title": "F", "csrf_token": token, "attachment": (io.BytesIO(b"x"), "a.txt")},
        )
        assert upload.text == "saved F a.txt", upload.text
        header = client.post("/notes", data={"title": "H"}, headers={"X-CSRFToken": token})
        assert header.text == "saved H -"
        assert client.post("/api").get_json() == {"ok": True}
        print("ok")
    """)
    assert out.strip() == "ok"


def test_flask_cors() -> None:
    out = _run("""
        from flask_cors import CORS, cross_origin
        from microframe import Microframe

        app = Microframe(__name__)
        app.config.update(TESTING=True)
        # intercept_exceptions wraps Flask's sync handle_exception, which
        # microframe's async dispatch does not have; after_request (used
        # for every response, errors included) is enough.
        CORS(app, resources={r"/api/*": {"origins": "https://a.example"}},
             intercept_exceptions=False)

        @app.route("/api/items", methods=["GET", "POST"])
        def items():
            return {"items": []}

        @app.get("/open")
        @cross_origin()
        def open_():
            return "open"

        @app.get("/private")
        def private():
            return "private"

        client = app.test_client()
        origin = {"Origin": "https://a.example"}
        got = client.get("/api/items", headers=origin)
        assert got.headers["Access-Control-Allow-Origin"] == "https://a.example"
        preflight = client.options(
            "/api/items", headers={**origin, "Access-Control-Request-Method": "POST"}
        )
        assert preflight.status_code == 200
        assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
        missing = client.get("/api/missing", headers=origin)
        assert missing.status_code == 404
        assert missing.headers["Access-Control-Allow-Origin"] == "https://a.example"
        assert client.get("/open", headers=origin).headers["Access-Control-Allow-Origin"] == "https://a.example"
        assert "Access-Control-Allow-Origin" not in client.get("/private", headers=origin).headers
        print("ok")
    """)
    assert out.strip() == "ok"


def test_flask_version_is_the_api_the_shim_serves_with_flasks_warning() -> None:
    with flask_compat.installed():
        import flask

        with pytest.warns(DeprecationWarning, match="__version__"):
            assert flask.__version__ == flask_compat.FLASK_VERSION
        with pytest.raises(AttributeError):
            flask.__not_there__  # noqa: B018


FLASK_APP_SOURCE = """
import click
from flask import Flask, current_app

app = Flask(__name__)

@app.get("/")
def index():
    return "hi"

@app.cli.command("greet")
@click.argument("name")
def greet(name):
    click.echo(f"hello {name} from {current_app.name}")
"""


def _flask_command(args: list[str], cwd: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run microframe's ``flask`` command (what a ``flask`` console script would call)."""
    import os

    environ = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "MICROFRAME_"))}
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-c", "from microframe.flask_compat import main; main()", *args],
        cwd=cwd, env=environ, capture_output=True, text=True, timeout=60,
    )


def test_flask_command_reads_flask_app_and_flaskenv(tmp_path: Any) -> None:
    (tmp_path / "ported.py").write_text(FLASK_APP_SOURCE)
    done = _flask_command(["greet", "Ada"], str(tmp_path), FLASK_APP="ported.py")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "hello Ada from ported\n"
    (tmp_path / ".flaskenv").write_text("FLASK_APP=ported\n")
    done = _flask_command(["routes"], str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert ["index", "GET", "/"] in [line.split() for line in done.stdout.splitlines()]
    done = _flask_command(["--version"], str(tmp_path))
    assert "'import flask' is served by microframe" in done.stdout
    done = _flask_command(["nope"], str(tmp_path), FLASK_APP="missing_module")
    assert done.returncode == 2
    assert done.stderr.startswith("Error: Could not import 'missing_module'")
    assert "Usage: " in done.stderr
